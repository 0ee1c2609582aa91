/* test_antispoof - the engine's parts that tests/integration/antispoof.sh
 * puts a real guest together with, each through the engine's own code:
 *
 *   test_antispoof filters URI
 *       defines slipway's guest network filters on the node as the engine
 *       does at start (engines/nwfilter.c); exit 0 when enforced
 *   test_antispoof xml ID IPV4 IPV6_NET
 *       prints the hvm domain XML of server ID (engines/domdef.c,
 *       templates/domain/hvm-qemu.xml on QEMU, TCG) with the IPv4 address
 *       and the /64 (its first address) the nwfilter holds its NIC to
 *   test_antispoof seed FILE ID HOSTNAME IPV4 IPV6_ADDR
 *       writes the server's NoCloud seed (engines/seed.c) to FILE: the
 *       address IPV4/24 (gateway .1) and IPV6_ADDR/64 (gateway ::1) */
#include "config.h"
#include "engines/domdef.h"
#include "engines/driver.h"
#include "engines/kind.h"
#include "engines/nwfilter.h"
#include "engines/seed.h"
#include "engines/virt.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int filters(const char *uri)
{
    struct sw_err err;
    sw_err_clear(&err);
    virConnectPtr conn = sw_virt_init(&err) < 0 ? NULL : sw_virt_open(uri, &err);
    bool enforced = false;
    int rc = conn ? sw_nwfilter_define(conn, SW_TEST_SRCDIR "/templates", &enforced, &err) : -1;
    if (conn)
        virConnectClose(conn);
    if (rc < 0 || !enforced) {
        fprintf(stderr, "guest filters not defined: %s (%s)\n", rc < 0 ? err.msg : "no nwfilter driver",
                err.detail);
        return 1;
    }
    return 0;
}

static int xml(const char *id, const char *ipv4, const char *ipv6_net)
{
    struct sw_err err;
    sw_err_clear(&err);
    struct sw_engine eng = {.domain_type = "qemu", .templates_dir = SW_TEST_SRCDIR "/templates"};
    eng.hv = sw_hypervisor_from_uri("qemu:///system", &err);
    struct sw_msg_node_job j = {.type = SW_JOB_CREATE, .kind = SW_KIND_HVM, .vcpus = 1,
                                .ram_mb = 256, .max_ram_mb = 256, .disk_gb = 1};
    snprintf(j.server_id, sizeof j.server_id, "%s", id);
    snprintf(j.hostname, sizeof j.hostname, "antispoof.guest.example");
    snprintf(j.os, sizeof j.os, "tiny");
    snprintf(j.ipv4, sizeof j.ipv4, "%s", ipv4);
    snprintf(j.ipv6, sizeof j.ipv6, "%s", ipv6_net);
    char *x = eng.hv ? sw_domdef_xml(&eng, sw_engine_hvm_driver(), &j, &err) : NULL;
    if (!x) {
        fprintf(stderr, "domain XML: %s (%s)\n", err.msg, err.detail);
        return 1;
    }
    fputs(x, stdout);
    free(x);
    return 0;
}

static int seed(const char *file, const char *id, const char *hostname, const char *ipv4,
                const char *ipv6)
{
    static const char *const dns[] = {"192.0.2.53"};
    struct sw_seed s = {.instance_id = id, .hostname = hostname, .ipv4 = ipv4, .ipv4_prefix = 24,
                        .ipv4_gateway = "192.0.2.1", .ipv6 = ipv6, .ipv6_prefix = 64,
                        .ipv6_gateway = "2001:db8:1::1", .dns = dns, .n_dns = 1};
    struct sw_seed_iso iso;
    struct sw_err err;
    sw_err_clear(&err);
    if (sw_seed_iso(&s, &iso, &err) < 0) {
        fprintf(stderr, "seed: %s (%s)\n", err.msg, err.detail);
        return 1;
    }
    FILE *f = fopen(file, "wb");
    int ok = f && fwrite(iso.bytes, 1, iso.len, f) == iso.len;
    ok = f && fclose(f) == 0 && ok;
    sw_seed_iso_release(&iso);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    sw_log_init("test", "warn");
    if (argc == 3 && strcmp(argv[1], "filters") == 0)
        return filters(argv[2]);
    if (argc == 5 && strcmp(argv[1], "xml") == 0)
        return xml(argv[2], argv[3], argv[4]);
    if (argc == 7 && strcmp(argv[1], "seed") == 0)
        return seed(argv[2], argv[3], argv[4], argv[5], argv[6]);
    fprintf(stderr, "usage: test_antispoof filters URI | xml ID IPV4 IPV6_NET | "
                    "seed FILE ID HOSTNAME IPV4 IPV6_ADDR\n");
    return 2;
}
