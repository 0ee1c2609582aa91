/* domdef.c - a server's domain definition: name, template variables every
 * kind gets, size checks, and the rendered domain XML (domdef.h). */
#include "config.h"
#include "engines/domdef.h"
#include "engines/domxml.h"
#include "engines/iso.h"
#include "engines/kernel.h"
#include "engines/seedvol.h"
#include "core/alloc.h"
#include "core/enums.h"
#include "core/err.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sw_domdef_name(const char *server_id, char out[64])
{
    snprintf(out, 64, "%s%s", SW_ENGINE_DOMAIN_PREFIX, server_id);
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p); /* libvirt prints UUIDs in lower case */
    return out;
}

const char *sw_domdef_mac(const char *server_id, char out[18])
{
    char id[SW_UUID_LEN + 1];
    size_t n = strnlen(server_id, SW_UUID_LEN);
    for (size_t i = 0; i < n; i++)
        id[i] = (char)tolower((unsigned char)server_id[i]);
    unsigned char h[6];
    crypto_generichash(h, sizeof h, (const unsigned char *)id, n, NULL, 0);
    h[0] = (unsigned char)((h[0] & 0xfc) | 0x02); /* locally administered, unicast */
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", h[0], h[1], h[2], h[3], h[4], h[5]);
    return out;
}

#define BRIDGE_PREFIX "bridge:"
#define IFNAME_MAX 15 /* IFNAMSIZ - 1 */

static bool net_name_valid(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_.:-", *s))
            return false;
    return true;
}

int sw_domdef_net_parse(const char *spec, struct sw_engine_net *out, struct sw_err *err)
{
    bool bridge = strncmp(spec, BRIDGE_PREFIX, strlen(BRIDGE_PREFIX)) == 0;
    const char *name = bridge ? spec + strlen(BRIDGE_PREFIX) : spec;
    if (!net_name_valid(name, bridge ? IFNAME_MAX : sizeof out->source - 1)) {
        SW_ERR(err, SW_EINVALID,
               "SLIPWAY_NETWORK must be a libvirt network name or bridge:NAME, not \"%s\"", spec);
        return -1;
    }
    snprintf(out->type, sizeof out->type, "%s", bridge ? "bridge" : "network");
    snprintf(out->source, sizeof out->source, "%s", name);
    return 0;
}

/* The guest's NIC: where it attaches, its MAC, and what slipway-guest
 * (templates/nwfilter/) holds it to: "ip", one line per IPv4 address, and
 * the IPv6 prefix. A server without one gets values that match nothing a
 * guest could use (0.0.0.0, ::/128): an absent IP would make libvirt learn
 * the first address the guest sends from. */
static void nic_vars(const struct sw_engine *eng, const struct sw_msg_node_job *job,
                     struct sw_domxml_vars *v)
{
    static const struct sw_engine_net default_net = {"network", "default"};
    const struct sw_engine_net *net = eng->net ? eng->net : &default_net;
    char mac[18];
    sw_domxml_set(v, "net_type", "%s", net->type);
    sw_domxml_set(v, "net_source", "%s", net->source);
    sw_domxml_set(v, "mac", "%s", sw_domdef_mac(job->server_id, mac));
    const char *ips[1] = {job->ipv4[0] ? job->ipv4 : "0.0.0.0"};
    sw_domxml_set_list(v, "ip", ips, 1);
    sw_domxml_set(v, "ipv6", "%s", job->ipv6[0] ? job->ipv6 : "::");
    sw_domxml_set(v, "ipv6_prefix", "%s", job->ipv6[0] ? "64" : "128");
}

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
    if (sw_msg_limits_check(&job->limits, err) < 0)
        return -1;
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
    sw_domdef_name(job->server_id, name);
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
    sw_domxml_set(v, "cpu_shares", "%lld", (long long)job->vcpus * eng->hv->cpu_weight);
    sw_domxml_set(v, "state_dir", "%s", state);
    /* the placement's epoch (issue 15): a job from before epochs is 1 */
    sw_domxml_set(v, "epoch", "%lld", (long long)(job->epoch > 0 ? job->epoch : 1));
}

/* The root volume the domain boots from (storage.h names it); NULL: the
 * one a create makes in the default dir pool. */
static void disk_vars(const struct sw_msg_node_job *job, const struct sw_msg_disk *root,
                      struct sw_domxml_vars *v)
{
    char name[64];
    if (root) {
        sw_domxml_set(v, "disk_pool", "%s", root->pool);
        sw_domxml_set(v, "disk_volume", "%s", root->volume);
        sw_domxml_set(v, "disk_format", "%s", root->format);
        return;
    }
    bool raw = job->kind == SW_KIND_CONTAINER; /* a raw ext4 (rootfs.h) */
    sw_domxml_set(v, "disk_pool", "%s", "slipway");
    sw_domxml_set(v, "disk_volume", "%s-root-0.%s", sw_domdef_name(job->server_id, name),
                  raw ? "raw" : "qcow2");
    sw_domxml_set(v, "disk_format", "%s", raw ? "raw" : "qcow2");
}

/* ---- plan limits (issue 13) ---- */

/* A list variable of one decimal item, or none when v is 0 (its template
 * line is dropped: engines/README.md "Plan limits"). */
static void set_limit(struct sw_domxml_vars *v, const char *name, int64_t n)
{
    char item[24];
    snprintf(item, sizeof item, "%lld", (long long)n);
    const char *items[1] = {item};
    sw_domxml_set_list(v, name, items, n > 0 ? 1 : 0);
}

/* A list variable that keeps a line (an element's opening or closing tag
 * with the comment <!-- plan limit -->) when on, drops it when off. */
static void set_marker(struct sw_domxml_vars *v, const char *name, bool on)
{
    const char *items[1] = {"plan limit"};
    sw_domxml_set_list(v, name, items, on ? 1 : 0);
}

/* The CPU cap's <cputune> period in microseconds (libvirt's and the
 * kernel's default CFS period). */
#define CPU_PERIOD_US 100000

/* <iotune> in the root disk, <bandwidth> on the NIC (both directions),
 * <cputune> period and quota. libvirt's quota is per vCPU thread, so a cap
 * of c% of each of the plan's vCPUs is quota = period x c / 100 (1 % is
 * 1000 us, libvirt's least quota). A peak of 0 is written as the average:
 * tc's ceil defaults to the rate, so that is the same shaping, and one
 * line form fewer. The burst needs its own line form: a burst of 0 has no
 * value libvirt accepts. */
static void limit_vars(const struct sw_msg_node_job *job, struct sw_domxml_vars *v)
{
    const struct sw_msg_limits *l = &job->limits;
    set_marker(v, "iotune", l->disk_read_iops || l->disk_write_iops || l->disk_read_bytes_sec ||
                                l->disk_write_bytes_sec);
    set_limit(v, "read_iops_sec", l->disk_read_iops);
    set_limit(v, "write_iops_sec", l->disk_write_iops);
    set_limit(v, "read_bytes_sec", l->disk_read_bytes_sec);
    set_limit(v, "write_bytes_sec", l->disk_write_bytes_sec);
    int64_t avg = l->net_average_kbyte_s;
    set_marker(v, "bandwidth", avg > 0);
    set_limit(v, "net_average", l->net_burst_kbyte ? 0 : avg);
    set_limit(v, "net_average_burst", l->net_burst_kbyte ? avg : 0);
    sw_domxml_set(v, "net_peak", "%lld", (long long)(l->net_peak_kbyte_s ? l->net_peak_kbyte_s : avg));
    sw_domxml_set(v, "net_burst", "%lld", (long long)l->net_burst_kbyte);
    set_limit(v, "cpu_period", l->cpu_cap_pct ? CPU_PERIOD_US : 0);
    set_limit(v, "cpu_quota", l->cpu_cap_pct * CPU_PERIOD_US / 100);
}

char *sw_domdef_xml(const struct sw_engine *eng, const struct sw_engine_driver *drv,
                    const struct sw_msg_node_job *job, struct sw_err *err)
{
    return sw_domdef_xml_disk(eng, drv, job, NULL, err);
}

char *sw_domdef_xml_disk(const struct sw_engine *eng, const struct sw_engine_driver *drv,
                         const struct sw_msg_node_job *job, const struct sw_msg_disk *root,
                         struct sw_err *err)
{
    if (check_sizes(job, err) < 0)
        return NULL;
    SW_AUTOFREE char *tmpl = sw_domxml_load(eng->templates_dir, drv->name, eng->hv->name, err);
    if (!tmpl)
        return NULL;
    struct sw_domxml_vars vars;
    sw_domxml_vars_init(&vars);
    common_vars(eng, job, &vars);
    nic_vars(eng, job, &vars);
    limit_vars(job, &vars);
    disk_vars(job, root, &vars);
    sw_iso_vars(eng, job, root, &vars); /* the cdrom and boot order (iso.h) */
    sw_kernel_vars(eng, job, root, &vars); /* a pv template's own kernel (kernel.h) */
    sw_seedvol_vars(job->server_id, drv->root_volume, &vars); /* beside the root, its pool */
    if (drv->domain_vars)
        drv->domain_vars(eng, job, &vars);
    char *xml = sw_domxml_render(tmpl, &vars, err);
    sw_domxml_vars_release(&vars);
    return xml;
}
