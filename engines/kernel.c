/* kernel.c - a pv template's own kernel and initrd in the node's pool, and
 * the domain's paths to them (kernel.h). */
#include "config.h"
#include "engines/kernel.h"
#include "engines/domxml.h"
#include "engines/image.h"
#include "engines/rootfs.h"
#include "engines/storage.h"

#include <stdio.h>
#include <stdlib.h>

/* The job's two images, as the table the ensure and the variables walk. */
struct boot_image {
    const char *var;    /* the template variable, and the image's format */
    const char *sha256; /* "" for none */
    int64_t bytes;
};

static void boot_images(const struct sw_msg_node_job *job, struct boot_image out[2])
{
    out[0] = (struct boot_image){"kernel", job->kernel_sha256, job->kernel_bytes};
    out[1] = (struct boot_image){"initrd", job->initrd_sha256, job->initrd_bytes};
}

int sw_kernel_ensure(struct sw_engine *eng, const struct sw_msg_node_job *job,
                     const char *pool_name, struct sw_err *err)
{
    if (!job->kernel_sha256[0] || !eng->conn)
        return 0;
    struct boot_image img[2];
    boot_images(job, img);
    for (size_t i = 0; i < 2; i++) {
        struct sw_image_ref ref = {.bytes = img[i].bytes};
        snprintf(ref.sha256, sizeof ref.sha256, "%s", img[i].sha256);
        snprintf(ref.format, sizeof ref.format, "%s", img[i].var);
        if (sw_storage_image_ensure(eng, pool_name, &ref, "boot the server's kernel", err) < 0)
            return -1;
    }
    return 0;
}

void sw_kernel_vars(const struct sw_engine *eng, const struct sw_msg_node_job *job,
                    const struct sw_msg_disk *root, struct sw_domxml_vars *v)
{
    if (!job->kernel_sha256[0])
        return;
    const struct sw_engine_pool *p = sw_storage_pool_named(eng, root ? root->pool : NULL);
    const char *pool = p ? p->name : SW_STORAGE_DEFAULT_POOL;
    struct boot_image img[2];
    boot_images(job, img);
    for (size_t i = 0; i < 2; i++) {
        char vol[96];
        if (p)
            sw_storage_image_name(p, img[i].sha256, img[i].var, vol);
        else
            snprintf(vol, sizeof vol, "img-%s.%s", img[i].sha256, img[i].var);
        char *path = sw_rootfs_path(eng->conn, pool, vol); /* libvirt's path of a volume */
        if (path)
            sw_domxml_set(v, img[i].var, "%s", path);
        else if (!eng->conn)
            sw_domxml_set(v, img[i].var, "%s/pools/%s/%s", sw_domxml_get(v, "state_dir"), pool,
                          vol);
        else
            sw_domxml_set(v, img[i].var, "%s", "");
        free(path);
    }
}
