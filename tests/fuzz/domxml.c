/* domxml.c - fuzz target: the domain XML an engine renders for a create
 * (sw_domdef_xml: engines/domdef.c, domxml.c and each kind's
 * domain_vars) from a hostile node job, on every hypervisor's templates.
 * Input: the node stream's message, decoded as the engine decodes it
 * (sw_msg_node_job_decode), so every string is what a message can carry.
 * Oracles: nothing from the job can add markup: the XML has exactly the
 * template's '<', '>' and quote characters (its {{ip}} line counted once
 * per IPv4 address the job carries), and libxml2 finds it
 * well-formed (a value holding "{{name}}" stays text: rendering is one
 * pass); the hostname appears, escaped; a refusal
 * is SW_EINVALID (or SW_EUNSUPPORTED for a kind without a template). The
 * engine struct is test-driver free: no libvirt connection is needed. */
#include "config.h"
#include "tests/fuzz/fuzz.h"
#include "engines/domdef.h"
#include "engines/domxml.h"
#include "engines/driver.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/msg.h"

#include <libxml/parser.h>

static const char *const uris[] = {"test:///default", "qemu:///system", "xen:///system",
                                   "lxc:///system"};

static void count_markup(const char *s, size_t n[4])
{
    memset(n, 0, 4 * sizeof n[0]);
    for (; *s; s++) {
        n[0] += *s == '<';
        n[1] += *s == '>';
        n[2] += *s == '\'';
        n[3] += *s == '"';
    }
}

/* How many times a template line renders for job: a plan limit's list
 * placeholder once (one item) or not at all (none), engines/README.md "Plan
 * limits"; the customer's ISO section only with an ISO, its boot index only
 * when it boots first, and Xen's <os> boot line once per device ("ISO
 * installs"), restated here as the oracle. Other lines render once. */
static int line_renders(const char *line, const struct sw_msg_node_job *job)
{
    const struct sw_msg_limits *l = &job->limits;
    bool disk = l->disk_read_iops || l->disk_write_iops || l->disk_read_bytes_sec ||
                l->disk_write_bytes_sec;
    bool net = l->net_average_kbyte_s > 0;
    bool iso = job->iso_sha256[0] != '\0', cdrom = iso && strcmp(job->boot, "cdrom") == 0;
    const struct {
        const char *placeholder;
        int renders;
    } lines[] = {
        {"{{iotune}}", disk},
        {"{{read_iops_sec}}", l->disk_read_iops > 0},
        {"{{write_iops_sec}}", l->disk_write_iops > 0},
        {"{{read_bytes_sec}}", l->disk_read_bytes_sec > 0},
        {"{{write_bytes_sec}}", l->disk_write_bytes_sec > 0},
        {"{{bandwidth}}", net},
        {"{{net_average}}", net && l->net_burst_kbyte == 0},
        {"{{net_average_burst}}", net && l->net_burst_kbyte > 0},
        {"{{cpu_period}}", l->cpu_cap_pct > 0},
        {"{{cpu_quota}}", l->cpu_cap_pct > 0},
        {"{{iso}}", iso},
        {"{{iso_boot_order}}", cdrom},
        {"{{boot_dev}}", cdrom ? 2 : 1},
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (strstr(line, lines[i].placeholder))
            return lines[i].renders;
    return 1;
}

/* The template's own markup: values are escaped; its address list line
 * ({{ip}}) renders once whatever the job holds (0.0.0.0 without IPv4:
 * engines/README.md "Guest network"), the other lines as line_renders says. */
static void want_markup(const char *tmpl, const struct sw_msg_node_job *job, size_t n[4])
{
    memset(n, 0, 4 * sizeof n[0]);
    for (const char *p = tmpl; *p;) {
        size_t len = strcspn(p, "\n");
        char *line = sw_strndup(p, len);
        size_t c[4], times = (size_t)line_renders(line, job);
        count_markup(line, c);
        for (int i = 0; i < 4; i++)
            n[i] += times * c[i];
        free(line);
        p += len + (p[len] == '\n');
    }
}

static void quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    xmlInitParser();
    xmlSetGenericErrorFunc(NULL, quiet);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = sw_fuzz_str(data, size);
    struct sw_msg_node_job job;
    struct sw_err err = {0};
    if (sw_msg_node_job_decode(s, &job, &err) < 0) {
        free(s);
        return 0;
    }
    free(s);
    for (size_t u = 0; u < sizeof uris / sizeof uris[0]; u++) {
        struct sw_engine eng = {0};
        eng.hv = sw_hypervisor_from_uri(uris[u], &err);
        SW_FUZZ_ASSERT(eng.hv);
        eng.templates_dir = SW_FUZZ_SRCDIR "/templates";
        eng.node_id = job.node_id;
        struct sw_err e = {0};
        const struct sw_engine_driver *drv = sw_engine_driver_get(job.kind);
        SW_FUZZ_ASSERT(drv);
        char *xml = sw_domdef_xml(&eng, drv, &job, &e);
        if (!xml) {
            SW_FUZZ_ASSERT(e.code == SW_EINVALID || e.code == SW_EUNSUPPORTED);
            continue;
        }
        struct sw_err te = {0};
        char *tmpl = sw_domxml_load(eng.templates_dir, drv->name,
                                    eng.hv->name, &te);
        SW_FUZZ_ASSERT(tmpl);
        size_t want[4], got[4];
        want_markup(tmpl, &job, want);
        count_markup(xml, got);
        SW_FUZZ_ASSERT(memcmp(want, got, sizeof want) == 0);
        char *host = sw_domxml_escape(job.hostname);
        SW_FUZZ_ASSERT(!strstr(tmpl, "{{hostname}}") || strstr(xml, host));
        free(host);
        xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc)
            fprintf(stderr, "not well-formed XML for %s:\n%s\n", uris[u], xml);
        SW_FUZZ_ASSERT(doc);
        xmlFreeDoc(doc);
        free(tmpl);
        free(xml);
    }
    return 0;
}
