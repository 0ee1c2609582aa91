/* bench/engine - the engine's per-node costs, on libvirt's test driver
 * (run by bench/engine.sh; built by make, not installed):
 *
 *   bench/engine N TEMPLATES_DIR
 *
 * 1. creates N hvm servers through the driver table (sw_engine_run:
 *    template, validated define, boot) and, as the reference, N bare
 *    domains with virDomainDefineXML + virDomainCreate on another node:
 *    domains/s for each;
 * 2. one stats pass of the libvirt source over the N domains (bulk balloon
 *    stats, metadata, the per-domain fallback) and one ballooning tick
 *    (controller + the targets applied with SetMemoryFlags(LIVE));
 * 3. one sample and one tick of the same loop over N simulated guests (a
 *    scenario file, the sim source): the controller's own cost.
 * Prints one line of key=value figures. */
#include "config.h"
#include "engines/balloon.h"
#include "engines/driver.h"
#include "engines/stats.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/balloon_conf.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static virConnectPtr open_node(const char *dir, const char *name, long ram_kib)
{
    char path[512], uri[600];
    snprintf(path, sizeof path, "%s/%s.xml", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fprintf(f,
            "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>64</cores><threads>1</threads>"
            "<active>64</active><mhz>2400</mhz><model>x86_64</model></cpu>"
            "<memory>%ld</memory></node>\n",
            ram_kib);
    fclose(f);
    snprintf(uri, sizeof uri, "test://%s", path);
    struct sw_err err;
    return sw_virt_open(uri, &err);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench/engine N TEMPLATES_DIR\n");
        return 2;
    }
    int n = atoi(argv[1]);
    if (n < 1 || n > 100000)
        return 2;
    sw_log_init("bench", "error");
    struct sw_err err;
    sw_err_clear(&err);
    if (sw_virt_init(&err) < 0)
        return 1;
    char dir[] = "/tmp/sw-bench-engine.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    /* 1 GiB guarantee, 2 GiB ceiling each: a node big enough for all */
    virConnectPtr conn = open_node(dir, "node", (long)n * 2 * 1024 * 1024 + 16777216);
    virConnectPtr ref = open_node(dir, "ref", (long)n * 4 * 1024 * 1024 + 16777216);
    if (!conn || !ref)
        return 1;
    struct sw_engine eng;
    memset(&eng, 0, sizeof eng);
    eng.conn = conn;
    eng.hv = sw_hypervisor_from_uri("test:///default", &err);
    eng.domain_type = "test";
    eng.templates_dir = argv[2];
    eng.node_id = "00000000-0000-4000-8000-0000000000b0";

    /* 1. creates */
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        struct sw_msg_node_job j;
        memset(&j, 0, sizeof j);
        snprintf(j.job_id, sizeof j.job_id, "10000000-0000-4000-8000-%012d", i);
        snprintf(j.server_id, sizeof j.server_id, "b0000000-0000-4000-8000-%012d", i);
        snprintf(j.node_id, sizeof j.node_id, "%s", eng.node_id);
        j.type = SW_JOB_CREATE;
        j.kind = SW_KIND_HVM;
        j.vcpus = 1;
        j.ram_mb = 1024;
        j.max_ram_mb = 2048;
        j.disk_gb = 10;
        snprintf(j.hostname, sizeof j.hostname, "b%d.example.com", i);
        snprintf(j.os, sizeof j.os, "debian-12");
        struct sw_engine_outcome out;
        if (sw_engine_run(&eng, &j, &out, &err) < 0) {
            fprintf(stderr, "create %d: %s (%s)\n", i, err.msg, err.detail);
            return 1;
        }
    }
    double create_s = now_s() - t0;
    t0 = now_s();
    for (int i = 0; i < n; i++) {
        char xml[512];
        snprintf(xml, sizeof xml,
                 "<domain type='test'><name>r%d</name><memory unit='MiB'>2048</memory>"
                 "<currentMemory unit='MiB'>1024</currentMemory><vcpu>1</vcpu>"
                 "<os><type>hvm</type></os></domain>",
                 i);
        virDomainPtr d = virDomainDefineXML(ref, xml);
        if (!d || virDomainCreate(d) < 0)
            return 1;
        virDomainFree(d);
    }
    double ref_s = now_s() - t0;
    /* the same with libvirt's schema validation, as the driver defines */
    t0 = now_s();
    for (int i = 0; i < n; i++) {
        char xml[512];
        snprintf(xml, sizeof xml,
                 "<domain type='test'><name>v%d</name><memory unit='MiB'>2048</memory>"
                 "<currentMemory unit='MiB'>1024</currentMemory><vcpu>1</vcpu>"
                 "<os><type>hvm</type></os></domain>",
                 i);
        virDomainPtr d = virDomainDefineXMLFlags(ref, xml, VIR_DOMAIN_DEFINE_VALIDATE);
        if (!d || virDomainCreate(d) < 0)
            return 1;
        virDomainFree(d);
    }
    double val_s = now_s() - t0;

    /* 2. the libvirt source over the N domains */
    struct sw_balloon_conf *conf = sw_malloc(sizeof *conf);
    sw_balloon_conf_default(conf);
    conf->enabled = true;
    struct sw_stats_source src;
    sw_stats_open("libvirt", conn, &src, &err);
    struct sw_ballooner *b = sw_ballooner_new(src);
    sw_ballooner_configure(b, conf, false);
    t0 = now_s();
    if (sw_ballooner_sample(b, &err) < 0)
        return 1;
    double lv_sample_s = now_s() - t0;
    struct sw_balloon_report rep;
    t0 = now_s();
    if (sw_ballooner_tick(b, &rep, &err) < 0)
        return 1;
    double lv_tick_s = now_s() - t0;
    size_t lv_guests = rep.guests, lv_moved = rep.moved;
    sw_ballooner_free(b);

    /* 3. the sim source over N guests */
    char scen[600];
    snprintf(scen, sizeof scen, "%s/scenario.json", dir);
    FILE *f = fopen(scen, "w");
    fprintf(f, "{\"host\":{\"ram_mb\":%d,\"other_used_mb\":4096},\"duration_s\":60,\"guests\":[",
            n * 1024);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s{\"name\":\"g%d\",\"min_mb\":512,\"max_mb\":4096,\"current_mb\":2048,"
                   "\"shares\":%d,\"demand\":[[0,%d],[30,%d]]}",
                i ? "," : "", i, 500 + (i % 4) * 500, 256 + (i * 37) % 2048,
                256 + (i * 53) % 3000);
    fputs("]}\n", f);
    fclose(f);
    char spec[700];
    snprintf(spec, sizeof spec, "sim:%s", scen);
    if (sw_stats_open(spec, NULL, &src, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    b = sw_ballooner_new(src);
    sw_ballooner_configure(b, conf, false);
    sw_ballooner_sample(b, &err);
    t0 = now_s();
    sw_ballooner_sample(b, &err);
    double sim_sample_s = now_s() - t0;
    t0 = now_s();
    sw_ballooner_tick(b, &rep, &err);
    double sim_tick_s = now_s() - t0;
    sw_ballooner_free(b);
    free(conf);

    printf("guests=%d create_per_s=%.1f ref_create_per_s=%.1f ref_validated_per_s=%.1f libvirt_sample_ms=%.2f "
           "libvirt_tick_ms=%.2f libvirt_guests=%zu libvirt_moved=%zu sim_sample_ms=%.3f "
           "sim_tick_ms=%.3f sim_moved=%zu\n",
           n, n / create_s, n / ref_s, n / val_s, lv_sample_s * 1e3, lv_tick_s * 1e3, lv_guests, lv_moved,
           sim_sample_s * 1e3, sim_tick_s * 1e3, rep.moved);
    virConnectClose(conn);
    virConnectClose(ref);
    char p[700];
    snprintf(p, sizeof p, "%s/node.xml", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/ref.xml", dir);
    unlink(p);
    unlink(scen);
    rmdir(dir);
    return 0;
}
