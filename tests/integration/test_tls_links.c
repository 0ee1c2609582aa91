/* Core's Redis client over the link tls_links.sh gives it (rediss:// or
 * plain), one mode per run:
 *
 *   test_tls_links ping URL           connect and PING
 *   test_tls_links stream URL         a stream round trip: group, XADD of a
 *                                     small and a 1 MiB entry, XREADGROUP,
 *                                     XACK, payloads compared
 *   test_tls_links broken URL ADMIN   the server drops the link (CLIENT KILL
 *                                     sent on the unix URL ADMIN): the next
 *                                     command fails as unavailable, the
 *                                     connection reads broken, a reconnect
 *                                     works
 *   test_tls_links silent URL ADMIN   the server stops answering (CLIENT
 *                                     PAUSE sent on ADMIN): PING fails as
 *                                     unavailable after the command
 *                                     timeout (prints the seconds), the
 *                                     link reads broken, and once the
 *                                     server answers again a reconnect works
 *   test_tls_links bench URL SECONDS  PINGs, then XADD+XREADGROUP pairs, for
 *                                     SECONDS each; prints the rates
 *
 * Exit 0 when the mode succeeded; otherwise 1 and the error (code, message,
 * detail) on stdout, which the script checks for the reason and for the
 * absence of the password. */
#include "config.h"
#include "core/err.h"
#include "core/redis.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, const struct sw_err *err)
{
    printf("%s: code=%s msg=%s detail=%s\n", what, sw_errc_name(err->code), err->msg,
           err->detail);
    return 1;
}

static int mode_ping(struct sw_redis *r, struct sw_err *err)
{
    if (sw_redis_ping(r, err) < 0)
        return fail("ping", err);
    printf("ping ok\n");
    return 0;
}

/* XADD payload, read it back through the group, compare, ack. */
static int round_trip(struct sw_redis *r, const char *payload, struct sw_err *err)
{
    char *id = sw_stream_add(r, "tls:t", payload, err);
    if (!id)
        return fail("xadd", err);
    struct sw_stream_batch b = {0, NULL};
    int rc = sw_stream_read_group(r, "tls:t", "g", "c1", 10, 1000, &b, err);
    if (rc < 0)
        rc = fail("xreadgroup", err);
    else if (b.n != 1 || strcmp(b.v[0].id, id) != 0 || !b.v[0].payload ||
             strcmp(b.v[0].payload, payload) != 0)
        rc = printf("round trip: read %zu entries, not the one written\n", b.n) > 0;
    else if (sw_stream_ack(r, "tls:t", "g", id, err) < 0)
        rc = fail("xack", err);
    sw_stream_batch_release(&b);
    free(id);
    return rc;
}

static int mode_stream(struct sw_redis *r, struct sw_err *err)
{
    if (sw_stream_group_create(r, "tls:t", "g", err) < 0)
        return fail("group", err);
    size_t big = 1 << 20;
    char *p = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        p[i] = (char)('a' + i % 26);
    p[big] = '\0';
    int rc = round_trip(r, "{\"hello\":\"over tls\"}", err);
    if (rc == 0)
        rc = round_trip(r, p, err);
    free(p);
    if (rc == 0)
        printf("stream round trip ok\n");
    return rc;
}

static int admin_exec(const char *admin_url, int argc, const char **argv, struct sw_err *err)
{
    struct sw_redis *admin = sw_redis_connect(admin_url, err);
    if (!admin)
        return -1;
    int rc = sw_redis_exec(admin, argc, argv, err);
    sw_redis_free(admin);
    return rc;
}

static int mode_broken(struct sw_redis *r, const char *admin_url, struct sw_err *err)
{
    const char *kill[] = {"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"};
    if (admin_exec(admin_url, 6, kill, err) < 0)
        return fail("client kill", err);
    if (sw_redis_ping(r, err) == 0) {
        printf("a killed link still answered\n");
        return 1;
    }
    printf("after kill: code=%s retryable=%d broken=%d\n", sw_errc_name(err->code),
           err->retryable, sw_redis_broken(r));
    if (sw_redis_reconnect(r, err) < 0 || sw_redis_ping(r, err) < 0)
        return fail("reconnect", err);
    printf("reconnected broken=%d\n", sw_redis_broken(r));
    return 0;
}

static int mode_silent(struct sw_redis *r, const char *admin_url, struct sw_err *err)
{
    /* a pause just past the command timeout; every client waits it out,
     * CLIENT UNPAUSE included, so the reconnect below ends it */
    const char *pause[] = {"CLIENT", "PAUSE", "16500", "ALL"};
    if (admin_exec(admin_url, 4, pause, err) < 0)
        return fail("client pause", err);
    long long t0 = sw_now_ms();
    int rc = sw_redis_ping(r, err);
    long long ms = sw_now_ms() - t0;
    if (rc == 0) {
        printf("a paused server answered\n");
        return 1;
    }
    printf("silent: code=%s broken=%d after_s=%lld\n", sw_errc_name(err->code), sw_redis_broken(r),
           ms / 1000);
    printf("silent detail: %s\n", err->detail);
    if (sw_redis_reconnect(r, err) < 0 || sw_redis_ping(r, err) < 0)
        return fail("reconnect", err);
    printf("reconnected broken=%d\n", sw_redis_broken(r));
    return 0;
}

static double rate(long n, long long ms)
{
    return ms > 0 ? (double)n * 1000.0 / (double)ms : 0;
}

static int mode_bench(struct sw_redis *r, long secs, struct sw_err *err)
{
    if (sw_stream_group_create(r, "tls:b", "g", err) < 0)
        return fail("group", err);
    long n = 0;
    long long t0 = sw_now_ms(), end = t0 + secs * 1000;
    while (sw_now_ms() < end && ++n)
        if (sw_redis_ping(r, err) < 0)
            return fail("ping", err);
    printf("ping_per_s=%.0f\n", rate(n, sw_now_ms() - t0));
    n = 0;
    t0 = sw_now_ms(), end = t0 + secs * 1000;
    while (sw_now_ms() < end && ++n) {
        struct sw_stream_batch b = {0, NULL};
        char *id = sw_stream_add(r, "tls:b", "{\"k\":\"a short job message\"}", err);
        int rc = id ? sw_stream_read_group(r, "tls:b", "g", "c", 1, 100, &b, err) : -1;
        if (rc == 0 && b.n == 1)
            rc = sw_stream_ack(r, "tls:b", "g", id, err);
        free(id);
        sw_stream_batch_release(&b);
        if (rc < 0)
            return fail("xadd+xreadgroup", err);
    }
    printf("xadd_xread_per_s=%.0f\n", rate(n, sw_now_ms() - t0));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s ping|stream|broken|silent|bench URL [ADMIN_URL|SECONDS]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* as every daemon (core/daemon.c) */
    struct sw_err err = {0};
    struct sw_redis *r = sw_redis_connect(argv[2], &err);
    if (!r)
        return fail("connect", &err);
    int rc = 2;
    if (strcmp(argv[1], "ping") == 0)
        rc = mode_ping(r, &err);
    else if (strcmp(argv[1], "stream") == 0)
        rc = mode_stream(r, &err);
    else if (strcmp(argv[1], "broken") == 0 && argc > 3)
        rc = mode_broken(r, argv[3], &err);
    else if (strcmp(argv[1], "silent") == 0 && argc > 3)
        rc = mode_silent(r, argv[3], &err);
    else if (strcmp(argv[1], "bench") == 0 && argc > 3)
        rc = mode_bench(r, atol(argv[3]), &err);
    sw_redis_free(r);
    return rc;
}
