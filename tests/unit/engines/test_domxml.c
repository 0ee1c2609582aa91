/* Tests of engines/domxml.c and the domain XML the drivers render: golden
 * files under tests/golden/domain/ (SW_TEST_REGENERATE_OUTPUT=1 rewrites
 * them, as libvirt's VIR_TEST_REGENERATE_OUTPUT), each validated with
 * virt-xml-validate. Without the validator (package libvirt-clients) the
 * other checks still run, and the test then reports SKIP (exit 77), not
 * PASS, since the golden files were not validated. */
#include "config.h"
#include "tests/lib/bootorder.h"
#include "engines/domdef.h"
#include "engines/domxml.h"
#include "engines/driver.h"
#include "core/alloc.h"
#include "core/enums.h"
#include "core/err.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define GOLDEN_DIR SW_TEST_SRCDIR "/tests/golden/domain"
#define SERVER_ID "5f0c6a7e-2b1d-4c3e-9a8b-7d6e5f4a3b2c"

static const char hostile_hostname[] =
    "x'/><devices><disk type='file'><source file='/etc/shadow'/></disk></devices>"
    "<description>&amp;\"\n";

static void job_for(struct sw_msg_node_job *job, int kind)
{
    memset(job, 0, sizeof *job);
    snprintf(job->job_id, sizeof job->job_id, "1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b");
    snprintf(job->server_id, sizeof job->server_id, SERVER_ID);
    snprintf(job->node_id, sizeof job->node_id, "00000000-0000-4000-8000-00000000000a");
    job->type = SW_JOB_CREATE;
    job->kind = kind;
    job->vcpus = 2;
    job->ram_mb = 1024;
    job->max_ram_mb = 2048;
    job->swap_mb = 512;
    job->disk_gb = 20;
    snprintf(job->hostname, sizeof job->hostname, "web-1.example.com");
    snprintf(job->os, sizeof job->os, "debian-12");
    snprintf(job->ipv4, sizeof job->ipv4, "192.0.2.10");
    snprintf(job->ipv6, sizeof job->ipv6, "2001:db8:5::");
}

static struct sw_engine engine_for(const char *uri)
{
    struct sw_engine eng;
    memset(&eng, 0, sizeof eng);
    eng.hv = sw_hypervisor_from_uri(uri, NULL);
    assert_non_null(eng.hv);
    eng.templates_dir = SW_TEST_SRCDIR "/templates";
    return eng;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *s = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            s = sw_realloc(s, cap);
        }
        memcpy(s + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!s)
        s = sw_strdup("");
    else
        s[len] = '\0';
    return s;
}

static bool regenerate(void)
{
    const char *v = getenv("SW_TEST_REGENERATE_OUTPUT");
    return v && strcmp(v, "1") == 0;
}

/* The validator, or NULL when it is not installed. */
static const char *validator(void)
{
    static const char *const paths[] = {"/usr/bin/virt-xml-validate",
                                        "/usr/local/bin/virt-xml-validate"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

static void validate(const char *path)
{
    const char *tool = validator();
    if (!tool)
        return; /* main() reports the whole test as skipped */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        execl(tool, tool, path, "domain", (char *)NULL);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("virt-xml-validate %s domain failed", path);
}

/* Renders job on eng, compares with (or rewrites) the golden file,
 * validates it. */
static void check_golden_job(const struct sw_engine *eng, const struct sw_msg_node_job *job,
                             const char *golden)
{
    struct sw_err err;
    sw_err_clear(&err);
    char *xml = sw_domdef_xml(eng, sw_engine_driver_get(job->kind), job, &err);
    if (!xml)
        fail_msg("render %s: %s (%s)", golden, err.msg, err.detail);
    SW_AUTOFREE char *path = sw_asprintf("%s/%s", GOLDEN_DIR, golden);
    if (regenerate()) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(xml, f);
        assert_int_equal(fclose(f), 0);
    }
    SW_AUTOFREE char *want = read_file(path);
    if (!want)
        fail_msg("missing golden file %s (run with SW_TEST_REGENERATE_OUTPUT=1)", path);
    if (strcmp(want, xml) != 0)
        fail_msg("%s differs from the rendered XML:\n%s", path, xml);
    assert_null(strstr(xml, "{{"));
    validate(path);
    free(xml);
}

static void check_golden(const char *uri, int kind, const char *hostname, const char *golden)
{
    struct sw_engine eng = engine_for(uri);
    struct sw_msg_node_job job;
    job_for(&job, kind);
    if (hostname)
        snprintf(job.hostname, sizeof job.hostname, "%s", hostname);
    check_golden_job(&eng, &job, golden);
    /* every kind's NIC: its derived MAC, slipway's filter, both addresses */
    SW_AUTOFREE char *path = sw_asprintf("%s/%s", GOLDEN_DIR, golden);
    SW_AUTOFREE char *got = read_file(path);
    char mac[18], want[64];
    snprintf(want, sizeof want, "<mac address='%s'/>", sw_domdef_mac(SERVER_ID, mac));
    assert_non_null(strstr(got, want));
    assert_non_null(strstr(got, "<source network='default'/>"));
    assert_non_null(strstr(got, "<filterref filter='slipway-guest'>"));
    snprintf(want, sizeof want, "<parameter name='MAC' value='%s'/>", mac);
    assert_non_null(strstr(got, want));
    assert_non_null(strstr(got, "<parameter name='IP' value='192.0.2.10'/>"));
    /* IPv6 goes to its own parameters: as an IP, libvirt would refuse the NIC */
    assert_non_null(strstr(got, "<parameter name='IPV6' value='2001:db8:5::'/>"));
    assert_non_null(strstr(got, "<parameter name='IPV6_PREFIX' value='64'/>"));
    assert_null(strstr(got, "<parameter name='IP' value='2001"));
}

/* A plan with every limit (issue 13): rendered per template, where the
 * hypervisor has each element; the unlimited goldens above have none. */
static void limited_job(struct sw_msg_node_job *job, int kind)
{
    job_for(job, kind);
    job->limits = (struct sw_msg_limits){
        .disk_read_iops = 2000, .disk_write_iops = 1000, .disk_read_bytes_sec = 104857600,
        .disk_write_bytes_sec = 52428800, .net_average_kbyte_s = 12500,
        .net_peak_kbyte_s = 25000, .net_burst_kbyte = 4096, .cpu_cap_pct = 50};
}

static int count(const char *hay, const char *needle);

static void test_golden_limits(void **state)
{
    (void)state;
    static const struct {
        const char *uri;
        int kind;
        const char *golden;
        bool iotune, bandwidth, quota;
    } cases[] = {
        {"qemu:///system", SW_KIND_HVM, "hvm-qemu-limits.xml", true, true, true},
        {"test:///default", SW_KIND_HVM, "hvm-test-limits.xml", true, true, true},
        {"test:///default", SW_KIND_PV, "pv-test-limits.xml", true, true, true},
        /* LXC has no <iotune>; Xen's bandwidth and cap differ (engines/README.md) */
        {"lxc:///system", SW_KIND_CONTAINER, "container-lxc-limits.xml", false, true, true},
        {"xen:///system", SW_KIND_PV, "pv-xen-limits.xml", false, false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sw_engine eng = engine_for(cases[i].uri);
        struct sw_msg_node_job job;
        limited_job(&job, cases[i].kind);
        check_golden_job(&eng, &job, cases[i].golden);
        SW_AUTOFREE char *path = sw_asprintf("%s/%s", GOLDEN_DIR, cases[i].golden);
        SW_AUTOFREE char *x = read_file(path);
        assert_int_equal(count(x, "<read_iops_sec>2000</read_iops_sec>"), cases[i].iotune);
        assert_int_equal(count(x, "<write_bytes_sec>52428800</write_bytes_sec>"),
                         cases[i].iotune);
        assert_int_equal(count(x, "<inbound average='12500' peak='25000' burst='4096'/>"),
                         cases[i].bandwidth);
        assert_int_equal(count(x, "<outbound average='12500' peak='25000' burst='4096'/>"),
                         cases[i].bandwidth);
        /* quota is per vCPU thread: 50 % of each of 2 vCPUs */
        assert_int_equal(count(x, "<quota>50000</quota>"), cases[i].quota);
        assert_int_equal(count(x, "<period>100000</period>"), cases[i].quota);
    }
    /* a 0 leaves its element out: one IOPS limit, an average without burst */
    struct sw_engine eng = engine_for("test:///default");
    struct sw_msg_node_job job;
    job_for(&job, SW_KIND_HVM);
    job.limits.disk_write_iops = 300;
    job.limits.net_average_kbyte_s = 1000;
    struct sw_err err;
    sw_err_clear(&err);
    SW_AUTOFREE char *x = sw_domdef_xml(&eng, sw_engine_driver_get(job.kind), &job, &err);
    assert_non_null(x);
    assert_int_equal(count(x, "<iotune>"), 1);
    assert_int_equal(count(x, "_sec>"), 2); /* write_iops_sec's open and close */
    assert_int_equal(count(x, "<inbound average='1000' peak='1000'/>"), 1);
    assert_int_equal(count(x, "burst"), 0);
    assert_int_equal(count(x, "<quota>"), 0);
    /* a limit out of range is refused before any XML */
    job.limits.net_peak_kbyte_s = 10;
    assert_null(sw_domdef_xml(&eng, sw_engine_driver_get(job.kind), &job, &err));
    assert_int_equal(err.code, SW_EINVALID);
}

/* Counts needle in hay. */
static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* A node on a host bridge: the bridge, and the one IPv4 address. */
static void test_golden_bridge(void **state)
{
    (void)state;
    struct sw_engine eng = engine_for("qemu:///system");
    struct sw_engine_net net;
    struct sw_err err;
    assert_int_equal(sw_domdef_net_parse("bridge:br-guests", &net, &err), 0);
    eng.net = &net;
    struct sw_msg_node_job job;
    job_for(&job, SW_KIND_HVM);
    check_golden_job(&eng, &job, "hvm-qemu-bridge.xml");
    SW_AUTOFREE char *xml = read_file(GOLDEN_DIR "/hvm-qemu-bridge.xml");
    assert_non_null(strstr(xml, "<interface type='bridge'>"));
    assert_non_null(strstr(xml, "<source bridge='br-guests'/>"));
    assert_int_equal(count(xml, "<parameter name='IP'"), 1);
}

/* A server without addresses: the filter gets values no guest can send
 * from (an absent IP would make libvirt learn the guest's first one). */
static void test_no_addresses(void **state)
{
    (void)state;
    struct sw_engine eng = engine_for("test:///default");
    struct sw_msg_node_job job;
    job_for(&job, SW_KIND_CONTAINER);
    job.ipv4[0] = job.ipv6[0] = '\0';
    struct sw_err err;
    sw_err_clear(&err);
    SW_AUTOFREE char *xml = sw_domdef_xml(&eng, sw_engine_driver_get(job.kind), &job, &err);
    assert_non_null(xml);
    assert_int_equal(count(xml, "<parameter name='IP' value='0.0.0.0'/>"), 1);
    assert_int_equal(count(xml, "<parameter name='IP' "), 1);
    assert_int_equal(count(xml, "<parameter name='IPV6' value='::'/>"), 1);
    assert_int_equal(count(xml, "<parameter name='IPV6_PREFIX' value='128'/>"), 1);
    assert_int_equal(count(xml, "<parameter name='MAC'"), 1);
}

/* The MAC: from the id alone (any case), locally administered unicast,
 * different for another id. */
static void test_mac(void **state)
{
    (void)state;
    char a[18], b[18], c[18];
    sw_domdef_mac(SERVER_ID, a);
    sw_domdef_mac("5F0C6A7E-2B1D-4C3E-9A8B-7D6E5F4A3B2C", b);
    sw_domdef_mac("5f0c6a7e-2b1d-4c3e-9a8b-7d6e5f4a3b2d", c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(a), 17);
    unsigned first = (unsigned)strtoul(a, NULL, 16);
    assert_int_equal(first & 0x03, 0x02);
    first = (unsigned)strtoul(c, NULL, 16);
    assert_int_equal(first & 0x03, 0x02);
}

static void test_net_parse(void **state)
{
    (void)state;
    struct sw_engine_net net;
    struct sw_err err;
    assert_int_equal(sw_domdef_net_parse("default", &net, &err), 0);
    assert_string_equal(net.type, "network");
    assert_string_equal(net.source, "default");
    assert_int_equal(sw_domdef_net_parse("bridge:br0", &net, &err), 0);
    assert_string_equal(net.type, "bridge");
    assert_string_equal(net.source, "br0");
    static const char *const bad[] = {"", "bridge:", "bridge:a-name-of-16-chr", "a b",
                                      "x'/>", "n/1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sw_err_clear(&err);
        assert_int_equal(sw_domdef_net_parse(bad[i], &net, &err), -1);
        assert_int_equal(err.code, SW_EINVALID);
    }
}

static void test_golden_container_test(void **state)
{
    (void)state;
    check_golden("test:///default", SW_KIND_CONTAINER, NULL, "container-test.xml");
}

static void test_golden_container_lxc(void **state)
{
    (void)state;
    check_golden("lxc:///system", SW_KIND_CONTAINER, NULL, "container-lxc.xml");
}

static void test_golden_pv_test(void **state)
{
    (void)state;
    check_golden("test:///default", SW_KIND_PV, NULL, "pv-test.xml");
}

static void test_golden_pv_xen(void **state)
{
    (void)state;
    check_golden("xen:///system", SW_KIND_PV, NULL, "pv-xen.xml");
}

static void test_golden_pv_qemu(void **state)
{
    (void)state;
    check_golden("qemu:///system", SW_KIND_PV, NULL, "pv-qemu.xml");
}

static void test_golden_hvm_test(void **state)
{
    (void)state;
    check_golden("test:///default", SW_KIND_HVM, NULL, "hvm-test.xml");
}

static void test_golden_hvm_qemu(void **state)
{
    (void)state;
    check_golden("qemu:///system", SW_KIND_HVM, NULL, "hvm-qemu.xml");
}

/* Xen HVM, beside pv guests on one Xen node: the same CPU weight scale. */
static void test_golden_hvm_xen(void **state)
{
    (void)state;
    check_golden("xen:///system", SW_KIND_HVM, NULL, "hvm-xen.xml");
    SW_AUTOFREE char *hvm = read_file(GOLDEN_DIR "/hvm-xen.xml");
    SW_AUTOFREE char *pv = read_file(GOLDEN_DIR "/pv-xen.xml");
    assert_non_null(strstr(hvm, "<shares>512</shares>"));
    assert_non_null(strstr(pv, "<shares>512</shares>"));
}

/* The boot order job's XML x says: the ISO (hdd) first, then the disk, or
 * the disk alone. QEMU and the test driver give each device its index
 * (SeaBIOS would boot the first cdrom, the seed, for <boot dev='cdrom'/>);
 * Xen has <os>'s lines. */
static void assert_boots(const char *x, bool per_device, bool iso_first)
{
    const char *cd = strstr(x, "<boot dev='cdrom'/>"), *hd = strstr(x, "<boot dev='hd'/>");
    if (per_device) {
        assert_int_equal(count(x, "<boot dev="), 0);
        assert_int_equal(sw_test_boot_order(x, "hdd"), iso_first ? 1 : 0);
        assert_int_equal(sw_test_boot_order(x, "vda"), iso_first ? 2 : 1);
        assert_int_equal(sw_test_boot_order(x, "hdc"), 0);
        return;
    }
    assert_non_null(hd);
    assert_int_equal(count(x, "<boot dev="), iso_first ? 2 : 1);
    if (iso_first)
        assert_true(cd && cd < hd);
}

/* A pv template's own kernel and initrd (engines/kernel.h): volumes of the
 * root's pool (without a connection, where the default dir pool keeps
 * them), never the node's kernel for the os. */
#define KERNEL_SHA "1111111111111111111111111111111111111111111111111111111111111111"
#define INITRD_SHA "2222222222222222222222222222222222222222222222222222222222222222"
#define POOL_DIR "/var/lib/slipway/pools/slipway"
static void test_golden_own_kernel(void **state)
{
    (void)state;
    struct sw_engine eng = engine_for("qemu:///system");
    struct sw_msg_node_job job;
    job_for(&job, SW_KIND_PV);
    snprintf(job.kernel_sha256, sizeof job.kernel_sha256, "%s", KERNEL_SHA);
    job.kernel_bytes = 5 << 20;
    snprintf(job.initrd_sha256, sizeof job.initrd_sha256, "%s", INITRD_SHA);
    job.initrd_bytes = 1 << 20;
    check_golden_job(&eng, &job, "pv-qemu-kernel.xml");
    SW_AUTOFREE char *path = sw_asprintf("%s/%s", GOLDEN_DIR, "pv-qemu-kernel.xml");
    SW_AUTOFREE char *x = read_file(path);
    assert_int_equal(count(x, "<kernel>" POOL_DIR "/img-" KERNEL_SHA ".kernel</kernel>"), 1);
    assert_int_equal(count(x, "<initrd>" POOL_DIR "/img-" INITRD_SHA ".initrd</initrd>"), 1);
    assert_int_equal(count(x, "/kernels/"), 0);
}

/* A customer's ISO (engines/iso.h): the {{iso}} section (a read-only IDE
 * cdrom hdd on img-<sha256>.iso in the root's pool) and the boot order,
 * the ISO first; without boot cdrom the disk stays first; pv
 * templates have no cdrom whatever the job says. */
#define ISO_SHA "5f3b6e4d2c1a09f8e7d6c5b4a392817160f5e4d3c2b1a0f9e8d7c6b5a4938271"
static void test_golden_iso(void **state)
{
    (void)state;
    static const struct {
        const char *uri, *golden;
        bool per_device;
    } cases[] = {
        {"qemu:///system", "hvm-qemu-iso.xml", true},
        {"test:///default", "hvm-test-iso.xml", true},
        {"xen:///system", "hvm-xen-iso.xml", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sw_engine eng = engine_for(cases[i].uri);
        struct sw_msg_node_job job;
        job_for(&job, SW_KIND_HVM);
        snprintf(job.iso_sha256, sizeof job.iso_sha256, "%s", ISO_SHA);
        job.iso_bytes = 2048;
        snprintf(job.boot, sizeof job.boot, "cdrom");
        check_golden_job(&eng, &job, cases[i].golden);
        SW_AUTOFREE char *path = sw_asprintf("%s/%s", GOLDEN_DIR, cases[i].golden);
        SW_AUTOFREE char *x = read_file(path);
        assert_boots(x, cases[i].per_device, true);
        /* the customer's ISO on hdd beside the NoCloud seed on hdc */
        assert_int_equal(count(x, "<disk type='volume' device='cdrom'>"), 2);
        assert_int_equal(count(x, "<target dev='hdd' bus='ide'/>"), 1);
        assert_int_equal(count(x, "<target dev='hdc' bus='ide'/>"), 1);
        assert_int_equal(count(x, "<readonly/>"), 2);
        assert_int_equal(count(x, "volume='img-" ISO_SHA ".iso'/>"), 1);
        /* mounted, booting from the disk: the cdrom stays, the disk boots */
        snprintf(job.boot, sizeof job.boot, "disk");
        struct sw_err err;
        sw_err_clear(&err);
        SW_AUTOFREE char *d = sw_domdef_xml(&eng, sw_engine_driver_get(job.kind), &job, &err);
        assert_non_null(d);
        assert_boots(d, cases[i].per_device, false);
        assert_int_equal(count(d, "device='cdrom'"), 2);
        /* no ISO: the template's own goldens, the seed's cdrom only */
        job.iso_sha256[0] = '\0';
        job.iso_bytes = 0;
        SW_AUTOFREE char *n = sw_domdef_xml(&eng, sw_engine_driver_get(job.kind), &job, &err);
        assert_non_null(n);
        assert_int_equal(count(n, "device='cdrom'"), 1);
        assert_int_equal(count(n, "<target dev='hdd' bus='ide'/>"), 0);
        assert_boots(n, cases[i].per_device, false);
    }
    struct sw_engine eng = engine_for("qemu:///system");
    struct sw_msg_node_job job;
    job_for(&job, SW_KIND_PV);
    snprintf(job.iso_sha256, sizeof job.iso_sha256, "%s", ISO_SHA);
    job.iso_bytes = 2048;
    snprintf(job.boot, sizeof job.boot, "cdrom");
    struct sw_err err;
    sw_err_clear(&err);
    SW_AUTOFREE char *pv = sw_domdef_xml(&eng, sw_engine_driver_get(job.kind), &job, &err);
    assert_non_null(pv);
    assert_null(strstr(pv, ISO_SHA));
}

/* A hostile hostname stays text: no new element, attribute or comment. */
static void test_golden_hostile_hostname(void **state)
{
    (void)state;
    check_golden("test:///default", SW_KIND_HVM, hostile_hostname, "hvm-test-hostile.xml");
    SW_AUTOFREE char *xml = read_file(GOLDEN_DIR "/hvm-test-hostile.xml");
    assert_null(strstr(xml, "/etc/shadow'"));
    assert_non_null(strstr(xml, "x&apos;/&gt;&lt;devices&gt;"));
    /* two <disk> (root and NoCloud seed) and one <devices>, as in the template */
    const char *p = xml;
    int disks = 0, devices = 0;
    while ((p = strstr(p, "<disk ")) != NULL && ++disks)
        p++;
    for (p = xml; (p = strstr(p, "<devices>")) != NULL && ++devices;)
        p++;
    assert_int_equal(disks, 2);
    assert_int_equal(devices, 1);
}

static void test_escape(void **state)
{
    (void)state;
    SW_AUTOFREE char *a = sw_domxml_escape("a<b>&\"'\n\t\x7f" "z");
    assert_string_equal(a, "a&lt;b&gt;&amp;&quot;&apos;???z");
    SW_AUTOFREE char *b = sw_domxml_escape("");
    assert_string_equal(b, "");
    SW_AUTOFREE char *c = sw_domxml_escape("d\xc3\xa9j\xc3\xa0"); /* UTF-8 passes */
    assert_string_equal(c, "d\xc3\xa9j\xc3\xa0");
}

static void test_render(void **state)
{
    (void)state;
    struct sw_domxml_vars v;
    sw_domxml_vars_init(&v);
    sw_domxml_set(&v, "a", "%d", 1);
    sw_domxml_set(&v, "b_2", "<%s>", "x");
    sw_domxml_set(&v, "a", "%d", 2); /* replaces */
    struct sw_err err;
    sw_err_clear(&err);
    SW_AUTOFREE char *out = sw_domxml_render("<x a='{{a}}'>{{b_2}}{{a}}</x>{", &v, &err);
    assert_non_null(out);
    assert_string_equal(out, "<x a='2'>&lt;x&gt;2</x>{");

    assert_null(sw_domxml_render("{{nope}}", &v, &err));
    assert_int_equal(err.code, SW_EINTERNAL);
    assert_non_null(strstr(err.detail, "nope"));
    assert_null(sw_domxml_render("{{a", &v, &err));
    assert_null(sw_domxml_render("{{A}}", &v, &err));
    assert_null(sw_domxml_render("{{}}", &v, &err));

    /* a list: its line once per item, none dropped; one list a line */
    static const char *const two[] = {"p", "<q>"};
    sw_domxml_set_list(&v, "l", two, 2);
    SW_AUTOFREE char *lines = sw_domxml_render("<a>\n <i v='{{l}}' a='{{a}}'/>\n</a>", &v, &err);
    assert_non_null(lines);
    assert_string_equal(lines, "<a>\n <i v='p' a='2'/>\n <i v='&lt;q&gt;' a='2'/>\n</a>");
    sw_domxml_set_list(&v, "l", two, 0);
    SW_AUTOFREE char *none = sw_domxml_render("<a>\n <i v='{{l}}'/>\n</a>", &v, &err);
    assert_string_equal(none, "<a>\n</a>");
    sw_domxml_set_list(&v, "m", two, 1);
    assert_null(sw_domxml_render("<i v='{{l}}' w='{{m}}'/>", &v, &err));
    assert_int_equal(err.code, SW_EINTERNAL);
    sw_domxml_vars_release(&v);
}

static void test_load_missing(void **state)
{
    (void)state;
    struct sw_err err;
    sw_err_clear(&err);
    assert_null(sw_domxml_load(SW_TEST_SRCDIR "/templates", "container", "qemu", &err));
    assert_int_equal(err.code, SW_EUNSUPPORTED);
    assert_string_equal(err.msg, "container servers are not supported on qemu nodes");

    /* so a create of that kind there is unsupported, before libvirt is touched */
    struct sw_engine eng = engine_for("qemu:///system");
    struct sw_msg_node_job job;
    job_for(&job, SW_KIND_CONTAINER);
    sw_err_clear(&err);
    assert_null(sw_domdef_xml(&eng, sw_engine_driver_get(job.kind), &job, &err));
    assert_int_equal(err.code, SW_EUNSUPPORTED);
}

static void test_bad_job(void **state)
{
    (void)state;
    struct sw_engine eng = engine_for("test:///default");
    struct sw_msg_node_job job;
    struct sw_err err;
    static const char *const bad_os[] = {"", "../etc", "Debian", "a/b", ".hidden", "x y"};
    for (size_t i = 0; i < sizeof bad_os / sizeof bad_os[0]; i++) {
        job_for(&job, SW_KIND_HVM);
        snprintf(job.os, sizeof job.os, "%s", bad_os[i]);
        sw_err_clear(&err);
        assert_null(sw_domdef_xml(&eng, sw_engine_driver_get(job.kind), &job, &err));
        assert_int_equal(err.code, SW_EINVALID);
    }
    job_for(&job, SW_KIND_HVM);
    job.vcpus = 0;
    assert_null(sw_domdef_xml(&eng, sw_engine_driver_get(job.kind), &job, &err));
    assert_int_equal(err.code, SW_EINVALID);
    job_for(&job, SW_KIND_HVM);
    job.max_ram_mb = 100;
    assert_null(sw_domdef_xml(&eng, sw_engine_driver_get(job.kind), &job, &err));
    job_for(&job, SW_KIND_HVM);
    job.ram_mb = job.max_ram_mb = 1LL << 40;
    assert_null(sw_domdef_xml(&eng, sw_engine_driver_get(job.kind), &job, &err));
    assert_int_equal(err.code, SW_EINVALID);
}

static void test_targets(void **state)
{
    (void)state;
    static const char xml[] =
        "<domain type='test'><devices>\n"
        "  <disk type='file' device='disk'>\n"
        "    <source file='/a.qcow2'/>\n"
        "    <target dev='vda' bus='virtio'/>\n"
        "  </disk>\n"
        "  <disk type='file' device='cdrom'><target dev=\"sdb\" bus='sata'/></disk>\n"
        "  <interface type='network'>\n"
        "    <mac address='52:54:00:00:00:01'/>\n"
        "    <target dev='vnet0'/>\n"
        "  </interface>\n"
        "  <interface type='network'><source network='default'/></interface>\n"
        "  <interface type='bridge'><target dev='vnet7'/></interface>\n"
        "</devices></domain>";
    char out[4][64];
    assert_int_equal(sw_domxml_targets(xml, "disk", out, 4), 2);
    assert_string_equal(out[0], "vda");
    assert_string_equal(out[1], "sdb");
    assert_int_equal(sw_domxml_targets(xml, "interface", out, 4), 2);
    assert_string_equal(out[0], "vnet0");
    assert_string_equal(out[1], "vnet7");
    assert_int_equal(sw_domxml_targets(xml, "interface", out, 1), 1);
    assert_int_equal(sw_domxml_targets("<domain/>", "disk", out, 4), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_container_test),
        cmocka_unit_test(test_golden_container_lxc),
        cmocka_unit_test(test_golden_pv_test),
        cmocka_unit_test(test_golden_pv_xen),
        cmocka_unit_test(test_golden_pv_qemu),
        cmocka_unit_test(test_golden_hvm_test),
        cmocka_unit_test(test_golden_hvm_qemu),
        cmocka_unit_test(test_golden_hvm_xen),
        cmocka_unit_test(test_golden_limits),
        cmocka_unit_test(test_golden_hostile_hostname),
        cmocka_unit_test(test_golden_iso),
        cmocka_unit_test(test_golden_own_kernel),
        cmocka_unit_test(test_golden_bridge),
        cmocka_unit_test(test_no_addresses),
        cmocka_unit_test(test_mac),
        cmocka_unit_test(test_net_parse),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_load_missing),
        cmocka_unit_test(test_bad_job),
        cmocka_unit_test(test_targets),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (rc == 0 && !validator()) {
        fprintf(stderr, "# SKIP: virt-xml-validate is not installed (package libvirt-clients),"
                        " so the golden domain XML was not validated\n");
        return 77; /* automake's SKIP */
    }
    return rc;
}
