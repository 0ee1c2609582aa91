#include "config.h"
#include "engines/driver.h"
#include "engines/domxml.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/enums.h"
#include "core/err.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- hypervisors ---- */

static const struct sw_hypervisor hypervisors[] = {
    {"test", "test", "test", NULL, false},
    {"qemu", "qemu", "kvm", "qemu", true},
    {"xen", "xen", "xen", NULL, false},
    {"lxc", "lxc", "lxc", NULL, false},
};

const struct sw_hypervisor *sw_hypervisor_from_uri(const char *uri, struct sw_err *err)
{
    size_t n = strcspn(uri, "+:");
    for (size_t i = 0; i < sizeof hypervisors / sizeof hypervisors[0]; i++)
        if (strlen(hypervisors[i].scheme) == n && strncmp(uri, hypervisors[i].scheme, n) == 0)
            return &hypervisors[i];
    SW_ERR(err, SW_EUNSUPPORTED, "the engine does not support this hypervisor");
    sw_err_detail(err, "uri \"%s\": unknown scheme \"%.*s\"", uri, (int)n, uri);
    return NULL;
}

/* ---- drivers and operations ---- */

static const struct sw_engine_driver *(*const drivers[SW_KIND__COUNT])(void) = {
    [SW_KIND_CONTAINER] = sw_engine_container_driver,
    [SW_KIND_PV] = sw_engine_pv_driver,
    [SW_KIND_HVM] = sw_engine_hvm_driver,
};

const struct sw_engine_driver *sw_engine_driver_get(int kind)
{
    if (kind < 0 || kind >= SW_KIND__COUNT || !drivers[kind])
        return NULL;
    return drivers[kind]();
}

/* Where each job type's method sits in a driver table. */
static const size_t op_offsets[SW_JOB__COUNT] = {
    [SW_JOB_CREATE] = offsetof(struct sw_engine_driver, create),
    [SW_JOB_START] = offsetof(struct sw_engine_driver, start),
    [SW_JOB_STOP] = offsetof(struct sw_engine_driver, stop),
    [SW_JOB_REBOOT] = offsetof(struct sw_engine_driver, reboot),
    [SW_JOB_REINSTALL] = offsetof(struct sw_engine_driver, reinstall),
    [SW_JOB_RESIZE] = offsetof(struct sw_engine_driver, resize),
    [SW_JOB_SUSPEND] = offsetof(struct sw_engine_driver, suspend),
    [SW_JOB_UNSUSPEND] = offsetof(struct sw_engine_driver, unsuspend),
    [SW_JOB_TERMINATE] = offsetof(struct sw_engine_driver, terminate),
    [SW_JOB_RESET_PASSWORD] = offsetof(struct sw_engine_driver, reset_password),
};

static sw_engine_op_fn driver_op(const struct sw_engine_driver *drv, int type)
{
    sw_engine_op_fn fn;
    memcpy(&fn, (const char *)drv + op_offsets[type], sizeof fn);
    return fn;
}

const char *sw_engine_domain_name(const char *server_id, char out[64])
{
    snprintf(out, 64, "%s%s", SW_ENGINE_DOMAIN_PREFIX, server_id);
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p); /* libvirt prints UUIDs in lower case */
    return out;
}

/* The checks every operation passes first; 0 or -1 with err set. */
static const struct sw_engine_driver *checked_driver(const struct sw_engine *eng,
                                                     const struct sw_msg_node_job *job,
                                                     struct sw_err *err)
{
    const struct sw_engine_driver *drv = sw_engine_driver_get(job->kind);
    if (!drv) {
        SW_ERR(err, SW_EINVALID, "unknown plan kind");
        sw_err_detail(err, "kind %d", job->kind);
    } else if (job->type < 0 || job->type >= SW_JOB__COUNT) {
        SW_ERR(err, SW_EINVALID, "unknown job type");
        sw_err_detail(err, "type %d", job->type);
        drv = NULL;
    } else if (eng->kinds && !(eng->kinds & (1u << job->kind))) {
        SW_ERR(err, SW_EUNSUPPORTED, "this node does not host %s servers", drv->name);
        drv = NULL;
    }
    return drv;
}

static void fill_state(struct sw_engine *eng, const struct sw_msg_node_job *job,
                       struct sw_engine_outcome *out)
{
    if (eng->conn) {
        virDomainPtr dom = virDomainLookupByUUIDString(eng->conn, job->server_id);
        sw_virt_state_name(dom, out->domain_state);
        if (dom)
            virDomainFree(dom);
    }
}

int sw_engine_run(struct sw_engine *eng, const struct sw_msg_node_job *job,
                  struct sw_engine_outcome *out, struct sw_err *err)
{
    memset(out, 0, sizeof *out);
    const struct sw_engine_driver *drv = checked_driver(eng, job, err);
    int rc = -1;
    if (drv && !driver_op(drv, job->type)) {
        SW_ERR(err, SW_EUNSUPPORTED, "%s is not supported for %s servers",
               sw_job_type_name(job->type), drv->name);
    } else if (drv) {
        rc = driver_op(drv, job->type)(eng, job, out, err);
    }
    fill_state(eng, job, out);
    return rc;
}

int sw_engine_define(struct sw_engine *eng, const struct sw_msg_node_job *job,
                     struct sw_engine_outcome *out, struct sw_err *err)
{
    memset(out, 0, sizeof *out);
    const struct sw_engine_driver *drv = checked_driver(eng, job, err);
    int rc = -1;
    if (drv && !drv->define)
        SW_ERR(err, SW_EUNSUPPORTED, "%s servers cannot be defined here", drv->name);
    else if (drv)
        rc = drv->define(eng, job, out, err);
    fill_state(eng, job, out);
    return rc;
}

/* ---- domain XML ---- */

#define MAX_VCPUS 1024
#define MAX_MB (16LL * 1024 * 1024) /* 16 TiB */
#define MAX_DISK_GB (1024LL * 1024)

/* Template os names become path components: [a-z0-9][a-z0-9._-]*. */
static bool os_name_valid(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' ||
              *s == '_'))
            return false;
    return true;
}

static int check_sizes(const struct sw_msg_node_job *job, struct sw_err *err)
{
    if (job->vcpus < 1 || job->vcpus > MAX_VCPUS || job->ram_mb < 1 ||
        job->max_ram_mb < job->ram_mb || job->max_ram_mb > MAX_MB || job->swap_mb > MAX_MB ||
        job->disk_gb < 1 || job->disk_gb > MAX_DISK_GB) {
        SW_ERR(err, SW_EINVALID, "server sizes are out of range");
        sw_err_detail(err, "vcpus=%lld ram_mb=%lld max_ram_mb=%lld swap_mb=%lld disk_gb=%lld",
                      (long long)job->vcpus, (long long)job->ram_mb, (long long)job->max_ram_mb,
                      (long long)job->swap_mb, (long long)job->disk_gb);
        return -1;
    }
    if (!os_name_valid(job->os)) {
        SW_ERR(err, SW_EINVALID, "the os template name is not valid");
        return -1;
    }
    return 0;
}

/* Variables every kind's templates may use; see engines/README.md. */
static void common_vars(const struct sw_engine *eng, const struct sw_msg_node_job *job,
                        struct sw_domxml_vars *v)
{
    const char *state = eng->state_dir ? eng->state_dir : SW_ENGINE_STATE_DIR;
    char name[64];
    sw_engine_domain_name(job->server_id, name);
    sw_domxml_set(v, "name", "%s", name);
    sw_domxml_set(v, "uuid", "%s", name + strlen(SW_ENGINE_DOMAIN_PREFIX));
    sw_domxml_set(v, "hostname", "%s", job->hostname);
    sw_domxml_set(v, "os", "%s", job->os);
    sw_domxml_set(v, "kind", "%s", sw_plan_kind_name(job->kind));
    sw_domxml_set(v, "domain_type", "%s",
                  eng->domain_type ? eng->domain_type : eng->hv->domain_type);
    sw_domxml_set(v, "vcpus", "%lld", (long long)job->vcpus);
    sw_domxml_set(v, "ram_mb", "%lld", (long long)job->ram_mb);
    sw_domxml_set(v, "max_ram_mb", "%lld", (long long)job->max_ram_mb);
    sw_domxml_set(v, "swap_mb", "%lld", (long long)job->swap_mb);
    sw_domxml_set(v, "disk_gb", "%lld", (long long)job->disk_gb);
    sw_domxml_set(v, "ram_kib", "%lld", (long long)job->ram_mb * 1024);
    sw_domxml_set(v, "max_ram_kib", "%lld", (long long)job->max_ram_mb * 1024);
    sw_domxml_set(v, "swap_kib", "%lld", (long long)job->swap_mb * 1024);
    /* <memory> is the ceiling; <currentMemory> what the domain boots with. */
    sw_domxml_set(v, "memory_kib", "%lld", (long long)job->max_ram_mb * 1024);
    sw_domxml_set(v, "current_memory_kib", "%lld", (long long)job->max_ram_mb * 1024);
    sw_domxml_set(v, "cpu_shares", "%lld", (long long)job->vcpus * 1024);
    sw_domxml_set(v, "state_dir", "%s", state);
    sw_domxml_set(v, "disk_path", "%s/images/%s.qcow2", state, name);
}

char *sw_engine_domain_xml(const struct sw_engine *eng, const struct sw_msg_node_job *job,
                           struct sw_err *err)
{
    const struct sw_engine_driver *drv = sw_engine_driver_get(job->kind);
    if (!drv) {
        SW_ERR(err, SW_EINVALID, "unknown plan kind");
        return NULL;
    }
    if (check_sizes(job, err) < 0)
        return NULL;
    SW_AUTOFREE char *tmpl = sw_domxml_load(eng->templates_dir, drv->name, eng->hv->name, err);
    if (!tmpl)
        return NULL;
    struct sw_domxml_vars vars;
    sw_domxml_vars_init(&vars);
    common_vars(eng, job, &vars);
    if (drv->domain_vars)
        drv->domain_vars(eng, job, &vars);
    char *xml = sw_domxml_render(tmpl, &vars, err);
    sw_domxml_vars_release(&vars);
    return xml;
}
