/* domfile.c - the node's domains written to a file; see domfile.h. */
#include "config.h"
#include "engines/domfile.h"
#include "engines/storage.h"
#include "engines/virt.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct vol_lines {
    FILE *f;
    int n;
};

static void vol_line(void *ctx, const char *pool, const char *volume)
{
    struct vol_lines *v = ctx;
    fprintf(v->f, "vol %s %s\n", pool, volume);
    v->n++;
}

int sw_engine_domains_write(struct sw_engine *eng, const char *path, struct sw_err *err)
{
    virConnectPtr conn = eng->conn;
    virDomainPtr *doms = NULL;
    int k = virConnectListAllDomains(conn, &doms, 0);
    if (k < 0) {
        sw_virt_error(err, "list the node's domains");
        return -1;
    }
    SW_AUTOFREE char *tmp = sw_asprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        SW_ERR(err, SW_EINTERNAL, "could not write the domains file %s", tmp);
        for (int i = 0; i < k; i++)
            virDomainFree(doms[i]);
        free(doms);
        return -1;
    }
    for (int i = 0; i < k; i++) {
        const char *name = virDomainGetName(doms[i]);
        char uuid[VIR_UUID_STRING_BUFLEN] = "-";
        char state[24];
        if (virDomainGetUUIDString(doms[i], uuid) < 0)
            snprintf(uuid, sizeof uuid, "-");
        sw_virt_state_name(doms[i], state);
        fprintf(f, "%s %s %s\n", name ? name : "-", uuid, state[0] ? state : "-");
        virDomainFree(doms[i]);
    }
    free(doms);
    /* The volumes too: a list that could not be read is no list at all. */
    struct vol_lines v = {f, 0};
    if (sw_storage_each_volume(eng, vol_line, &v, err) < 0) {
        fclose(f);
        unlink(tmp);
        return -1;
    }
    fprintf(f, "# pid=%ld at=%lld domains=%d volumes=%d\n", (long)getpid(), (long long)time(NULL),
            k, v.n);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        SW_ERR(err, SW_EINTERNAL, "could not write the domains file %s", path);
        unlink(tmp);
        return -1;
    }
    return 0;
}
