/* limits.c - a plan's limits on a running domain (limits.h). */
#include "config.h"
#include "engines/limits.h"
#include "engines/domdef.h"
#include "engines/domxml.h"

#include <libvirt/virterror.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { G_DISK, G_NET, G_CPU, G__COUNT };

/* Each group: the element that shows the domain has it, and its name in
 * the note. */
static const struct {
    const char *element, *name;
} groups[G__COUNT] = {
    [G_DISK] = {"<iotune>", "disk"},
    [G_NET] = {"<bandwidth>", "network"},
    [G_CPU] = {"<quota>", "CPU"},
};

static int set_disk(virDomainPtr dom, const char *live_xml, const struct sw_msg_limits *l)
{
    char dev[1][64];
    if (sw_domxml_targets(live_xml, "disk", dev, 1) != 1)
        return -1;
    virTypedParameter p[4];
    memset(p, 0, sizeof p);
    const char *names[4] = {VIR_DOMAIN_BLOCK_IOTUNE_READ_IOPS_SEC,
                            VIR_DOMAIN_BLOCK_IOTUNE_WRITE_IOPS_SEC,
                            VIR_DOMAIN_BLOCK_IOTUNE_READ_BYTES_SEC,
                            VIR_DOMAIN_BLOCK_IOTUNE_WRITE_BYTES_SEC};
    const int64_t v[4] = {l->disk_read_iops, l->disk_write_iops, l->disk_read_bytes_sec,
                          l->disk_write_bytes_sec};
    for (int i = 0; i < 4; i++) {
        snprintf(p[i].field, sizeof p[i].field, "%s", names[i]);
        p[i].type = VIR_TYPED_PARAM_ULLONG;
        p[i].value.ul = (unsigned long long)v[i]; /* 0: no limit */
    }
    return virDomainSetBlockIoTune(dom, dev[0], p, 4, VIR_DOMAIN_AFFECT_LIVE);
}

static int set_net(virDomainPtr dom, const struct sw_msg_node_job *job)
{
    const struct sw_msg_limits *l = &job->limits;
    unsigned avg = (unsigned)l->net_average_kbyte_s;
    unsigned peak = (unsigned)(l->net_peak_kbyte_s ? l->net_peak_kbyte_s : avg);
    const char *names[6] = {VIR_DOMAIN_BANDWIDTH_IN_AVERAGE,  VIR_DOMAIN_BANDWIDTH_IN_PEAK,
                            VIR_DOMAIN_BANDWIDTH_IN_BURST,    VIR_DOMAIN_BANDWIDTH_OUT_AVERAGE,
                            VIR_DOMAIN_BANDWIDTH_OUT_PEAK,    VIR_DOMAIN_BANDWIDTH_OUT_BURST};
    const unsigned v[3] = {avg, peak, (unsigned)l->net_burst_kbyte};
    virTypedParameter p[6];
    memset(p, 0, sizeof p);
    for (int i = 0; i < 6; i++) {
        snprintf(p[i].field, sizeof p[i].field, "%s", names[i]);
        p[i].type = VIR_TYPED_PARAM_UINT;
        p[i].value.ui = v[i % 3]; /* an average of 0 lifts the shaping */
    }
    char mac[18];
    return virDomainSetInterfaceParameters(dom, sw_domdef_mac(job->server_id, mac), p, 6,
                                           VIR_DOMAIN_AFFECT_LIVE);
}

/* The cap as domdef.c writes it: quota per vCPU = period x cap / 100; no
 * cap is an unlimited quota (-1). */
static int set_cpu(virDomainPtr dom, const struct sw_msg_limits *l)
{
    virTypedParameter p[2];
    memset(p, 0, sizeof p);
    snprintf(p[0].field, sizeof p[0].field, "%s", VIR_DOMAIN_SCHEDULER_VCPU_PERIOD);
    p[0].type = VIR_TYPED_PARAM_ULLONG;
    p[0].value.ul = 100000;
    snprintf(p[1].field, sizeof p[1].field, "%s", VIR_DOMAIN_SCHEDULER_VCPU_QUOTA);
    p[1].type = VIR_TYPED_PARAM_LLONG;
    p[1].value.l = l->cpu_cap_pct ? l->cpu_cap_pct * 1000 : -1;
    return virDomainSetSchedulerParametersFlags(dom, p, 2, VIR_DOMAIN_AFFECT_LIVE);
}

/* "disk and network" from the groups in mask; "" for none. */
static void names(unsigned mask, char *out, size_t n)
{
    out[0] = '\0';
    for (int g = 0; g < G__COUNT; g++) {
        if (!(mask & (1u << g)))
            continue;
        size_t l = strlen(out);
        snprintf(out + l, n - l, "%s%s", l ? " and " : "", groups[g].name);
    }
}

void sw_limits_apply_live(virDomainPtr dom, const struct sw_msg_node_job *job, char *note,
                          size_t n)
{
    note[0] = '\0';
    char *config = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    char *live = virDomainGetXMLDesc(dom, 0);
    unsigned has = 0, ok = 0;
    for (int g = 0; g < G__COUNT; g++)
        if ((config && strstr(config, groups[g].element)) ||
            (live && strstr(live, groups[g].element)))
            has |= 1u << g;
    if ((has & (1u << G_DISK)) && live && set_disk(dom, live, &job->limits) == 0)
        ok |= 1u << G_DISK;
    if ((has & (1u << G_NET)) && set_net(dom, job) == 0)
        ok |= 1u << G_NET;
    if ((has & (1u << G_CPU)) && set_cpu(dom, &job->limits) == 0)
        ok |= 1u << G_CPU;
    virResetLastError();
    free(config);
    free(live);
    char done[48], later[48];
    names(ok, done, sizeof done);
    names(has & ~ok, later, sizeof later);
    if (!has)
        return;
    if (ok == has)
        snprintf(note, n, "limits applied live");
    else if (!ok)
        snprintf(note, n, "limits apply at next boot");
    else
        snprintf(note, n, "%s limits applied live; %s limits apply at next boot", done, later);
}
