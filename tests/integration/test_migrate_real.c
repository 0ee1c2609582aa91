/* test_migrate_real - the C driver of tests/integration/migrate_real.sh:
 * runs engines/migrate.c's sw_migrate_run against the two real libvirtds
 * the script started (tests/lib/libvirtd.sh, sw_lv_peer_start).
 *
 *   test_migrate_real SOURCE_URI SERVER TARGET_URI [KEY=VALUE...]
 *
 * moves the domain sw-SERVER from SOURCE_URI's node to TARGET_URI (as the
 * source's libvirtd reaches it). Keys: migrate_uri=URI, xml=FILE (the
 * domain's XML on the target), bandwidth=MiB/s, downtime=ms, shared=0|1
 * (default 1), unsafe=0|1, live=0|1 (default 1), auto_converge=0|1
 * (default 1), cancel_after=N (another thread cancels once N progress
 * reports showed data moving, or after 60 s without). Prints "how=...
 * downtime_ms=... total_ms=... bytes=... seconds=... reports=...
 * last=PROCESSED/TOTAL" on success.
 * Exit 0; 1 failed otherwise; 3 conflict (cancelled, storage not shared);
 * 4 unavailable (target unreachable); 5 unsupported; 2 usage. */
#include "config.h"
#include "engines/driver.h"
#include "engines/migrate.h"
#include "engines/virt.h"
#include "core/err.h"
#include "core/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the progress reports showed, read by the cancelling thread. */
struct watch {
    atomic_int moving; /* reports with data processed */
    atomic_ullong processed, total;
    int cancel_after;  /* 0: never */
    struct sw_migrate_ctl *ctl;
    atomic_bool stop;
};

static void on_progress(void *ctx, uint64_t processed, uint64_t total, uint64_t remaining)
{
    struct watch *w = ctx;
    (void)remaining;
    if (processed > 0)
        atomic_fetch_add(&w->moving, 1);
    atomic_store(&w->processed, processed);
    atomic_store(&w->total, total);
}

/* The other thread: cancels once enough reports showed data moving, or
 * after 60 s without them (a loaded host can take seconds to start the
 * target's QEMU; a run whose reports never come must not wait for a whole
 * slowed transfer; the script sees "without"). */
static void *canceller(void *arg)
{
    struct watch *w = arg;
    for (int waited_ms = 0; !atomic_load(&w->stop); waited_ms += 20) {
        bool enough = atomic_load(&w->moving) >= w->cancel_after;
        if (enough || waited_ms >= 60000) {
            fprintf(stderr, "cancelling %s %d reports, %llu of %llu bytes\n",
                    enough ? "after" : "without", atomic_load(&w->moving),
                    (unsigned long long)atomic_load(&w->processed),
                    (unsigned long long)atomic_load(&w->total));
            sw_migrate_cancel(w->ctl);
            return NULL;
        }
        usleep(20000);
    }
    return NULL;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* One KEY=VALUE argument into req or w; -1 when unknown or unreadable. */
static int parse_opt(const char *k, const char *v, struct sw_migrate_req *req, struct watch *w)
{
    long x = strtol(v, NULL, 10);
    if (strcmp(k, "migrate_uri") == 0)
        req->migrate_uri = v;
    else if (strcmp(k, "xml") == 0)
        return (req->dest_xml = slurp(v)) ? 0 : -1;
    else if (strcmp(k, "bandwidth") == 0)
        req->bandwidth_mib = (unsigned long)x;
    else if (strcmp(k, "downtime") == 0)
        req->downtime_ms = (unsigned)x;
    else if (strcmp(k, "shared") == 0)
        req->shared_storage = x != 0;
    else if (strcmp(k, "unsafe") == 0)
        req->unsafe = x != 0;
    else if (strcmp(k, "live") == 0)
        req->live = x != 0;
    else if (strcmp(k, "auto_converge") == 0)
        req->auto_converge = x != 0;
    else if (strcmp(k, "cancel_after") == 0)
        w->cancel_after = (int)x;
    else
        return -1;
    return 0;
}

/* KEY=VALUE arguments into req and w; -1 on a bad one. */
static int parse_opts(int n, char **a, struct sw_migrate_req *req, struct watch *w)
{
    for (int i = 0; i < n; i++) {
        char *eq = strchr(a[i], '=');
        if (!eq)
            return -1;
        *eq = '\0';
        if (parse_opt(a[i], eq + 1, req, w) < 0)
            return -1;
    }
    return 0;
}

static int exit_code(const struct sw_err *err)
{
    switch (err->code) {
    case SW_ECONFLICT:
        return 3;
    case SW_EUNAVAILABLE:
        return 4;
    case SW_EUNSUPPORTED:
        return 5;
    default:
        return 1;
    }
}

int main(int argc, char **argv)
{
    sw_log_init("migrate", getenv("SW_LOG") ? getenv("SW_LOG") : "warn");
    if (argc < 4) {
        fprintf(stderr, "usage: see the head of tests/integration/test_migrate_real.c\n");
        return 2;
    }
    struct sw_migrate_req req = {.server_id = argv[2], .target_uri = argv[3], .live = true,
                                 .shared_storage = true, .auto_converge = true};
    struct watch w = {.cancel_after = 0};
    if (parse_opts(argc - 4, argv + 4, &req, &w) < 0) {
        fprintf(stderr, "bad option\n");
        return 2;
    }
    req.progress = on_progress;
    req.ctx = &w;
    struct sw_engine eng = {0};
    struct sw_err err;
    sw_err_clear(&err);
    if (sw_virt_init(&err) < 0 || !(eng.conn = sw_virt_open(argv[1], &err)) ||
        !(eng.hv = sw_hypervisor_from_uri(argv[1], &err))) {
        fprintf(stderr, "error: %s: %s (%s)\n", sw_errc_name(err.code), err.msg, err.detail);
        return 1;
    }
    w.ctl = sw_migrate_ctl_new();
    pthread_t th;
    bool cancelling = w.cancel_after > 0 && pthread_create(&th, NULL, canceller, &w) == 0;
    struct sw_migrate_result res;
    int rc = sw_migrate_run(&eng, &req, w.ctl, &res, &err);
    atomic_store(&w.stop, true);
    if (cancelling)
        pthread_join(th, NULL);
    sw_migrate_ctl_free(w.ctl);
    virConnectClose(eng.conn);
    if (rc < 0) {
        fprintf(stderr, "error: %s: %s (%s)\n", sw_errc_name(err.code), err.msg, err.detail);
        printf("failed seconds=%.3f reports=%d moving=%d\n", res.seconds, res.reports,
               atomic_load(&w.moving));
        return exit_code(&err);
    }
    printf("how=%s downtime_ms=%lld total_ms=%lld bytes=%lld seconds=%.3f reports=%d last=%llu/%llu\n",
           res.how == SW_MIGRATE_LIVE ? "live" : "offline", res.downtime_ms, res.total_ms,
           res.data_bytes, res.seconds, res.reports,
           (unsigned long long)atomic_load(&w.processed), (unsigned long long)atomic_load(&w.total));
    return 0;
}
