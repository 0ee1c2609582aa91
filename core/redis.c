#include "config.h"
#include "core/redis.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redistls.h"
#include "core/redisurl.h"
#include "core/sentinel.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long a command's reply is waited for. Every BLOCK here waits at
 * most a second, so past this the peer is gone or partitioned: the command
 * fails as unavailable and the connection is broken (the worker
 * reconnects), and a stopping daemon is never stuck on a dead link. */
#define SW_REDIS_COMMAND_TIMEOUT_MS 15000

struct sw_redis {
    redisContext *c;        /* plain link, or */
    struct sw_redistls *tls; /* TLS link (rediss://) */
    struct sw_redis_url url;
    char shown[256]; /* the URL without passwords, for errors */
    bool broken;
};

long long sw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Error replies that mean "this server is not (or not yet) a usable
 * master": an old master demoted to replica (READONLY, and UNBLOCKED for a
 * blocked read it ended), a replica cut from its master (MASTERDOWN), a
 * server loading its data (LOADING). The connection is then treated as
 * broken, so the next use reconnects (through the sentinels, for a
 * sentinel URL). */
static bool failover_reply(const char *s)
{
    static const char *const prefixes[] = {"READONLY", "MASTERDOWN", "LOADING", "UNBLOCKED"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

/* Fills err for an error reply to argv[0] (and marks r broken when the
 * reply says the server is no master); frees rep. */
static void reply_error(struct sw_redis *r, const char *verb, redisReply *rep, struct sw_err *err)
{
    if (failover_reply(rep->str)) {
        r->broken = true;
        SW_ERR_RETRY(err, SW_EUNAVAILABLE, "redis is not a master now");
    } else {
        SW_ERR(err, SW_EINTERNAL, "redis command failed");
    }
    sw_err_detail(err, "%s: %s", verb, rep->str);
    freeReplyObject(rep);
}

static bool connected(const struct sw_redis *r)
{
    return r->c || r->tls;
}

/* One command over whichever link is open; NULL (err set, the connection
 * marked broken) when the link failed. Error replies are returned. */
static redisReply *link_command(struct sw_redis *r, int argc, const char **argv,
                                struct sw_err *err)
{
    redisReply *rep = r->tls ? sw_redistls_command(r->tls, argc, argv, err)
                             : redisCommandArgv(r->c, argc, argv, NULL);
    if (!rep) {
        r->broken = true;
        if (!r->tls) {
            SW_ERR_RETRY(err, SW_EUNAVAILABLE, "redis is unavailable");
            sw_err_detail(err, "%s", r->c->errstr);
        }
    }
    return rep;
}

static void *command_argv(struct sw_redis *r, int argc, const char **argv, struct sw_err *err)
{
    redisReply *rep = link_command(r, argc, argv, err);
    if (!rep)
        return NULL;
    if (rep->type == REDIS_REPLY_ERROR) {
        reply_error(r, argv[0], rep, err);
        return NULL;
    }
    return rep;
}

/* AUTH [user] password, then SELECT db, on a fresh connection. */
static int handshake(struct sw_redis *r, struct sw_err *err)
{
    const struct sw_redis_url *u = &r->url;
    if (u->password) {
        const char *argv[] = {"AUTH", u->user ? u->user : u->password, u->password};
        redisReply *rep = command_argv(r, u->user ? 3 : 2, argv, err);
        if (!rep) {
            if (!r->broken) { /* the server's answer, never the password */
                SW_ERR(err, SW_EUNAUTHENTICATED, "redis refused our credentials");
                sw_err_detail(err, "AUTH as %s at \"%s\"", u->user ? u->user : "default",
                              r->shown);
            }
            return -1;
        }
        freeReplyObject(rep);
    }
    if (u->db) {
        char dbs[16];
        snprintf(dbs, sizeof dbs, "%d", u->db);
        const char *argv[] = {"SELECT", dbs};
        redisReply *rep = command_argv(r, 2, argv, err);
        if (!rep)
            return -1;
        freeReplyObject(rep);
    }
    return 0;
}

static int tls_connect(struct sw_redis *r, struct sw_err *err)
{
    const struct sw_redis_url *u = &r->url;
    const struct sw_redistls_opts o = {.host = u->hosts[0].host,
                                       .port = u->hosts[0].port,
                                       .cacert = u->cacert,
                                       .cert = u->cert,
                                       .key = u->key,
                                       .servername = u->servername,
                                       .timeout_ms = 5000,
                                       .io_timeout_ms = SW_REDIS_COMMAND_TIMEOUT_MS};
    r->tls = sw_redistls_connect(&o, err);
    if (!r->tls) {
        r->broken = true;
        if (err) {
            char why[sizeof err->detail];
            memcpy(why, err->detail, sizeof why);
            sw_err_detail(err, "at \"%s\": %s", r->shown, why);
        }
        return -1;
    }
    r->broken = false;
    return handshake(r, err);
}

static int do_connect(struct sw_redis *r, struct sw_err *err)
{
    struct timeval tv = {5, 0};
    const struct sw_redis_url *u = &r->url;
    if (u->tls)
        return tls_connect(r, err);
    struct sw_redis_host at = u->hosts[0]; /* sentinel: the master they name (owned) */
    if (u->kind == SW_REDIS_URL_SENTINEL && sw_sentinel_resolve(&r->url, &at, err) < 0) {
        r->broken = true;
        return -1;
    }
    SW_AUTOFREE char *at_host = u->kind == SW_REDIS_URL_SENTINEL ? at.host : NULL;
    r->c = u->kind == SW_REDIS_URL_UNIX
               ? redisConnectUnixWithTimeout(u->path, tv)
               : redisConnectWithTimeout(at.host, at.port, tv);
    struct timeval io = {SW_REDIS_COMMAND_TIMEOUT_MS / 1000, 0};
    if (!r->c || r->c->err || redisSetTimeout(r->c, io) != REDIS_OK) {
        SW_ERR_RETRY(err, SW_EUNAVAILABLE, "could not connect to redis");
        char master[300] = "";
        if (at_host)
            snprintf(master, sizeof master, " (master %s port %d)", at.host, at.port);
        sw_err_detail(err, "at \"%s\"%s: %s", r->shown, master,
                      r->c ? r->c->errstr : "out of memory");
        if (r->c)
            redisFree(r->c);
        r->c = NULL;
        r->broken = true;
        return -1;
    }
    r->broken = false;
    if (handshake(r, err) < 0)
        return -1;
    if (u->kind == SW_REDIS_URL_SENTINEL && sw_sentinel_confirm(r->c, &r->url, &at, err) < 0) {
        redisFree(r->c); /* no master: the next use resolves again */
        r->c = NULL;
        r->broken = true;
        return -1;
    }
    return 0;
}

struct sw_redis *sw_redis_connect(const char *url, struct sw_err *err)
{
    struct sw_redis *r = sw_calloc(1, sizeof *r);
    if (sw_redis_url_parse(url, &r->url, err) < 0) {
        free(r);
        return NULL;
    }
    sw_redis_url_show(&r->url, r->shown, sizeof r->shown);
    if (r->url.kind == SW_REDIS_URL_SENTINEL && r->url.tls) {
        SW_ERR(err, SW_EUNSUPPORTED, "this build does not speak TLS to redis sentinels yet");
        sw_redis_free(r);
        return NULL;
    }
    if (do_connect(r, err) < 0) {
        sw_redis_free(r);
        return NULL;
    }
    return r;
}

void sw_redis_free(struct sw_redis *r)
{
    if (!r)
        return;
    if (r->c)
        redisFree(r->c);
    sw_redistls_free(r->tls);
    sw_redis_url_release(&r->url);
    free(r);
}

int sw_redis_reconnect(struct sw_redis *r, struct sw_err *err)
{
    if (r->c)
        redisFree(r->c);
    r->c = NULL;
    sw_redistls_free(r->tls);
    r->tls = NULL;
    return do_connect(r, err);
}

bool sw_redis_broken(const struct sw_redis *r)
{
    return r->broken || !connected(r);
}

static redisReply *cmd(struct sw_redis *r, int argc, const char **argv, struct sw_err *err)
{
    if (!connected(r) && sw_redis_reconnect(r, err) < 0)
        return NULL;
    return command_argv(r, argc, argv, err);
}

int sw_redis_exec(struct sw_redis *r, int argc, const char **argv, struct sw_err *err)
{
    redisReply *rep = cmd(r, argc, argv, err);
    if (!rep)
        return -1;
    freeReplyObject(rep);
    return 0;
}

int sw_redis_ping(struct sw_redis *r, struct sw_err *err)
{
    const char *argv[] = {"PING"};
    redisReply *rep = cmd(r, 1, argv, err);
    if (!rep)
        return -1;
    freeReplyObject(rep);
    return 0;
}

int sw_stream_group_create(struct sw_redis *r, const char *stream, const char *group,
                           struct sw_err *err)
{
    const char *argv[] = {"XGROUP", "CREATE", stream, group, "0", "MKSTREAM"};
    if (!connected(r) && sw_redis_reconnect(r, err) < 0)
        return -1;
    redisReply *rep = link_command(r, 6, argv, err);
    if (!rep)
        return -1;
    int rc = 0;
    if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "BUSYGROUP", 9) != 0) {
        SW_ERR(err, SW_EINTERNAL, "could not create a stream group");
        sw_err_detail(err, "%s/%s: %s", stream, group, rep->str);
        rc = -1;
    }
    freeReplyObject(rep);
    return rc;
}

char *sw_stream_add(struct sw_redis *r, const char *stream, const char *payload,
                    struct sw_err *err)
{
    const char *argv[] = {"XADD", stream, "*", "m", payload};
    redisReply *rep = cmd(r, 5, argv, err);
    if (!rep)
        return NULL;
    char *id = rep->type == REDIS_REPLY_STRING ? sw_strdup(rep->str) : NULL;
    freeReplyObject(rep);
    if (!id)
        SW_ERR(err, SW_EINTERNAL, "unexpected reply to XADD");
    return id;
}

int sw_stream_ack(struct sw_redis *r, const char *stream, const char *group, const char *id,
                  struct sw_err *err)
{
    const char *argv[] = {"XACK", stream, group, id};
    redisReply *rep = cmd(r, 4, argv, err);
    if (!rep)
        return -1;
    freeReplyObject(rep);
    return 0;
}

/* verb key [group] id...: one command for n ids (n may be 0: none sent). */
static int ids_cmd(struct sw_redis *r, const char *verb, const char *stream, const char *group,
                   const char *const *ids, size_t n, struct sw_err *err)
{
    if (n == 0)
        return 0;
    const char **argv = sw_calloc(n + 3, sizeof *argv);
    size_t k = 0;
    argv[k++] = verb;
    argv[k++] = stream;
    if (group)
        argv[k++] = group;
    memcpy(argv + k, ids, n * sizeof *ids);
    redisReply *rep = cmd(r, (int)(n + k), argv, err);
    free(argv);
    if (!rep)
        return -1;
    freeReplyObject(rep);
    return 0;
}

int sw_stream_touch(struct sw_redis *r, const char *stream, const char *group,
                    const char *consumer, const char *const *ids, size_t n, struct sw_err *err)
{
    if (n == 0)
        return 0;
    const char **argv = sw_calloc(n + 6, sizeof *argv);
    const char *head[] = {"XCLAIM", stream, group, consumer, "0"};
    memcpy(argv, head, sizeof head);
    memcpy(argv + 5, ids, n * sizeof *ids);
    argv[n + 5] = "JUSTID"; /* JUSTID: the delivery count stays as it is */
    redisReply *rep = cmd(r, (int)(n + 6), argv, err);
    free(argv);
    if (!rep)
        return -1;
    freeReplyObject(rep);
    return 0;
}

int sw_stream_ack_many(struct sw_redis *r, const char *stream, const char *group,
                       const char *const *ids, size_t n, struct sw_err *err)
{
    return ids_cmd(r, "XACK", stream, group, ids, n, err);
}

int sw_stream_del_many(struct sw_redis *r, const char *stream, const char *const *ids, size_t n,
                       struct sw_err *err)
{
    return ids_cmd(r, "XDEL", stream, NULL, ids, n, err);
}

long long sw_redis_incr(struct sw_redis *r, const char *key, long ttl_s, struct sw_err *err)
{
    const char *argv[] = {"INCR", key};
    redisReply *rep = cmd(r, 2, argv, err);
    if (!rep)
        return -1;
    long long n = rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
    freeReplyObject(rep);
    if (n == 1) {
        char ttl[24];
        snprintf(ttl, sizeof ttl, "%ld", ttl_s);
        const char *ex[] = {"EXPIRE", key, ttl};
        rep = cmd(r, 3, ex, err);
        if (!rep)
            return -1;
        freeReplyObject(rep);
    }
    return n;
}

int sw_redis_run_id(struct sw_redis *r, char out[41], struct sw_err *err)
{
    const char *argv[] = {"INFO", "server"};
    redisReply *rep = cmd(r, 2, argv, err);
    if (!rep)
        return -1;
    const char *p = rep->type == REDIS_REPLY_STRING ? strstr(rep->str, "run_id:") : NULL;
    int rc = -1;
    if (p) {
        p += 7;
        size_t n = strcspn(p, "\r\n");
        if (n > 0 && n <= 40) {
            memcpy(out, p, n);
            out[n] = '\0';
            rc = 0;
        }
    }
    freeReplyObject(rep);
    if (rc < 0)
        SW_ERR(err, SW_EINTERNAL, "redis did not report its run_id");
    return rc;
}

long long sw_redis_get_int(struct sw_redis *r, const char *key, struct sw_err *err)
{
    const char *argv[] = {"GET", key};
    redisReply *rep = cmd(r, 2, argv, err);
    if (!rep)
        return -1;
    long long n = rep->type == REDIS_REPLY_STRING ? strtoll(rep->str, NULL, 10) : 0;
    freeReplyObject(rep);
    return n;
}

long long sw_stream_len(struct sw_redis *r, const char *stream, struct sw_err *err)
{
    const char *argv[] = {"XLEN", stream};
    redisReply *rep = cmd(r, 2, argv, err);
    if (!rep)
        return -1;
    long long n = rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
    freeReplyObject(rep);
    return n;
}

void sw_stream_batch_release(struct sw_stream_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->v[i].id);
        free(b->v[i].payload);
        free(b->v[i].stream);
    }
    free(b->v);
    b->v = NULL;
    b->n = 0;
}

/* Parses an array of [id, [field, value, ...]] entries of stream into b. */
static void parse_entries(const redisReply *arr, const char *stream, struct sw_stream_batch *b)
{
    if (!arr || arr->type != REDIS_REPLY_ARRAY || arr->elements == 0)
        return;
    b->v = sw_realloc(b->v, (b->n + arr->elements) * sizeof *b->v);
    for (size_t i = 0; i < arr->elements; i++) {
        const redisReply *e = arr->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            continue; /* a deleted entry (nil) */
        struct sw_stream_entry *out = &b->v[b->n++];
        out->id = sw_strdup(e->element[0]->str);
        out->payload = NULL;
        out->stream = sw_strdup(stream);
        out->deliveries = 1;
        if (e->elements >= 2 && e->element[1]->type == REDIS_REPLY_ARRAY) {
            const redisReply *kv = e->element[1];
            for (size_t k = 0; k + 1 < kv->elements; k += 2) {
                if (kv->element[k]->type == REDIS_REPLY_STRING &&
                    strcmp(kv->element[k]->str, "m") == 0 &&
                    kv->element[k + 1]->type == REDIS_REPLY_STRING) {
                    out->payload = sw_strndup(kv->element[k + 1]->str,
                                              kv->element[k + 1]->len);
                    break;
                }
            }
        }
    }
}

int sw_stream_read_groups(struct sw_redis *r, const char *const *streams, size_t n,
                          const char *group, const char *consumer, long count, long block_ms,
                          struct sw_stream_batch *b, struct sw_err *err)
{
    char cs[24], bs[24];
    snprintf(cs, sizeof cs, "%ld", count);
    snprintf(bs, sizeof bs, "%ld", block_ms);
    const char **argv = sw_calloc(9 + 2 * n, sizeof *argv);
    const char *head[] = {"XREADGROUP", "GROUP", group, consumer, "COUNT", cs,
                          "BLOCK", bs, "STREAMS"};
    memcpy(argv, head, sizeof head);
    for (size_t i = 0; i < n; i++) {
        argv[9 + i] = streams[i];
        argv[9 + n + i] = ">";
    }
    redisReply *rep = cmd(r, (int)(9 + 2 * n), argv, err);
    free(argv);
    if (!rep)
        return -1;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        const redisReply *s = rep->element[i];
        if (s->type == REDIS_REPLY_ARRAY && s->elements == 2 &&
            s->element[0]->type == REDIS_REPLY_STRING)
            parse_entries(s->element[1], s->element[0]->str, b);
    }
    freeReplyObject(rep);
    return 0;
}

int sw_stream_read_group(struct sw_redis *r, const char *stream, const char *group,
                         const char *consumer, long count, long block_ms,
                         struct sw_stream_batch *b, struct sw_err *err)
{
    return sw_stream_read_groups(r, &stream, 1, group, consumer, count, block_ms, b, err);
}

static long pending_deliveries(struct sw_redis *r, const char *stream, const char *group,
                               const char *id, struct sw_err *err)
{
    const char *argv[] = {"XPENDING", stream, group, id, id, "1"};
    redisReply *rep = cmd(r, 6, argv, err);
    if (!rep)
        return -1;
    long n = 1;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1) {
        const redisReply *e = rep->element[0];
        if (e->type == REDIS_REPLY_ARRAY && e->elements == 4 &&
            e->element[3]->type == REDIS_REPLY_INTEGER)
            n = (long)e->element[3]->integer;
    }
    freeReplyObject(rep);
    return n;
}

int sw_stream_autoclaim(struct sw_redis *r, const char *stream, const char *group,
                        const char *consumer, long min_idle_ms, long count,
                        struct sw_stream_batch *b, struct sw_err *err)
{
    char is[24], cs[24];
    snprintf(is, sizeof is, "%ld", min_idle_ms);
    snprintf(cs, sizeof cs, "%ld", count);
    const char *argv[] = {"XAUTOCLAIM", stream, group, consumer, is, "0-0", "COUNT", cs};
    redisReply *rep = cmd(r, 8, argv, err);
    if (!rep)
        return -1;
    size_t before = b->n;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2)
        parse_entries(rep->element[1], stream, b);
    freeReplyObject(rep);
    for (size_t i = before; i < b->n; i++) {
        long d = pending_deliveries(r, stream, group, b->v[i].id, err);
        if (d < 0)
            return -1;
        b->v[i].deliveries = d;
    }
    return 0;
}

/* Zero fields take their documented defaults. */
static void consumer_defaults(struct sw_consumer *c)
{
    if (c->block_ms <= 0)
        c->block_ms = 1000;
    if (c->min_idle_ms <= 0)
        c->min_idle_ms = 60000;
    if (c->max_deliveries <= 0)
        c->max_deliveries = 5;
    if (c->count <= 0)
        c->count = 16;
    if (c->refresh_ms <= 0)
        c->refresh_ms = 5000;
}

static void free_streams(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void sw_consumer_release(struct sw_consumer *c)
{
    if (c->list_streams) /* else streams borrows &c->stream */
        free_streams(c->streams, c->nstreams);
    c->streams = NULL;
    c->nstreams = 0;
}

static bool listed(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

/* (Re)lists the streams to read and creates the group on each; all of them
 * when all is set (a fresh connection), else the new ones. One stream
 * (no list_streams): c->stream, borrowed. */
static int list_streams(struct sw_redis *r, struct sw_consumer *c, bool all, struct sw_err *err)
{
    if (!c->list_streams) {
        c->streams = (char **)&c->stream;
        c->nstreams = 1;
        return all ? sw_stream_group_create(r, c->stream, c->group, err) : 0;
    }
    char **v = NULL;
    size_t n = 0;
    if (c->list_streams(c->ctx, &v, &n, err) < 0)
        return -1;
    c->listed_ms = sw_now_ms();
    for (size_t i = 0; i < n; i++) {
        if ((all || !listed(c->streams, c->nstreams, v[i])) &&
            sw_stream_group_create(r, v[i], c->group, err) < 0) {
            free_streams(v, n);
            return -1;
        }
    }
    sw_consumer_release(c);
    c->streams = v;
    c->nstreams = n;
    return 0;
}

int sw_consumer_setup(struct sw_redis *r, struct sw_consumer *c, struct sw_err *err)
{
    consumer_defaults(c);
    return list_streams(r, c, true, err);
}

/* XACKs n entries of one stream the group is done with, and XDELs them
 * when the consumer asks (delete_done). */
static int settle(struct sw_redis *r, const struct sw_consumer *c, const char *stream,
                  const char *const *ids, size_t n, struct sw_err *err)
{
    if (sw_stream_ack_many(r, stream, c->group, ids, n, err) < 0)
        return -1;
    return c->delete_done ? sw_stream_del_many(r, stream, ids, n, err) : 0;
}

static int dead_letter(struct sw_redis *r, struct sw_consumer *c,
                       const struct sw_stream_entry *e, const char *why, struct sw_err *err)
{
    char *dead = sw_asprintf("dead:%s", e->stream);
    const char *argv[] = {"XADD", dead, "*", "id", e->id, "m", e->payload ? e->payload : "",
                          "why", why};
    redisReply *rep = cmd(r, 9, argv, err);
    free(dead);
    if (!rep)
        return -1;
    freeReplyObject(rep);
    char q[600];
    sw_warn("stream.dead_letter", "stream=%s id=%s deliveries=%ld why=%s", e->stream, e->id,
            e->deliveries, sw_log_quote(q, sizeof q, why));
    const char *id = e->id;
    return settle(r, c, e->stream, &id, 1, err);
}

/* Settles the done entries of v (out[i] == SW_MSG_DONE), one XACK per
 * stream they came from. */
static int settle_done(struct sw_redis *r, const struct sw_consumer *c,
                       const struct sw_stream_entry *const *v, const enum sw_msg_outcome *out,
                       size_t n, struct sw_err *err)
{
    const char **ids = sw_calloc(n + 1, sizeof *ids);
    int rc = 0;
    for (size_t s = 0; rc == 0 && s < c->nstreams; s++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (out[i] == SW_MSG_DONE && strcmp(v[i]->stream, c->streams[s]) == 0)
                ids[k++] = v[i]->id;
        rc = settle(r, c, c->streams[s], ids, k, err);
    }
    free(ids);
    return rc;
}

/* The batch handler's way: one call, one XACK per stream for the done ones. */
static int handle_batch_at_once(struct sw_redis *r, struct sw_consumer *c,
                                struct sw_stream_batch *b, struct sw_err *err)
{
    const struct sw_stream_entry **v = sw_calloc(b->n + 1, sizeof *v);
    enum sw_msg_outcome *out = sw_calloc(b->n + 1, sizeof *out);
    struct sw_err *errs = sw_calloc(b->n + 1, sizeof *errs);
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < b->n; i++) {
        const struct sw_stream_entry *e = &b->v[i];
        if (e->deliveries > c->max_deliveries) {
            rc = dead_letter(r, c, e, "too many deliveries", err);
            if (rc == 0 && c->on_dead)
                c->on_dead(c->ctx, e, "too many deliveries");
        } else {
            v[n++] = e;
        }
    }
    if (rc == 0 && n > 0) {
        for (size_t i = 0; i < n; i++)
            out[i] = SW_MSG_RETRY;
        c->handle_batch(c->ctx, v, n, out, errs);
        size_t retry = n;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            if (out[i] == SW_MSG_POISON)
                rc = dead_letter(r, c, v[i], errs[i].msg[0] ? errs[i].msg : "poison message", err);
            else if (out[i] == SW_MSG_RETRY && retry == n)
                retry = i;
        }
        if (retry < n) /* once per batch: an outage fails them all alike */
            sw_log_err(SW_LOG_WARN, "stream.retry_later", &errs[retry]);
        if (rc == 0)
            rc = settle_done(r, c, v, out, n, err);
    }
    free(v);
    free(out);
    free(errs);
    return rc < 0 ? -1 : (int)n;
}

/* Resets the idle time of the batch's entries from..n-1, still waiting
 * their turn, one XCLAIM JUSTID per run of one stream: so a slow batch's
 * tail is not taken over (and its delivery count raised, towards the dead
 * letters) by another consumer while this one is working through it. */
static int keep_rest(struct sw_redis *r, const struct sw_consumer *c,
                     const struct sw_stream_batch *b, size_t from, struct sw_err *err)
{
    const char **ids = sw_calloc(b->n - from + 1, sizeof *ids);
    int rc = 0;
    for (size_t i = from; rc == 0 && i < b->n;) {
        size_t k = 0, j = i;
        for (; j < b->n && strcmp(b->v[j].stream, b->v[i].stream) == 0; j++)
            ids[k++] = b->v[j].id;
        rc = sw_stream_touch(r, b->v[i].stream, c->group, c->consumer, ids, k, err);
        i = j;
    }
    free(ids);
    return rc;
}

static int handle_batch(struct sw_redis *r, struct sw_consumer *c, struct sw_stream_batch *b,
                        struct sw_err *err)
{
    if (c->handle_batch)
        return handle_batch_at_once(r, c, b, err);
    int handled = 0;
    long long kept = sw_now_ms();
    for (size_t i = 0; i < b->n; i++) {
        const struct sw_stream_entry *e = &b->v[i];
        if (i > 0 && sw_now_ms() - kept >= c->min_idle_ms / 4) {
            if (keep_rest(r, c, b, i, err) < 0)
                return -1;
            kept = sw_now_ms();
        }
        if (e->deliveries > c->max_deliveries) {
            if (dead_letter(r, c, e, "too many deliveries", err) < 0)
                return -1;
            if (c->on_dead)
                c->on_dead(c->ctx, e, "too many deliveries");
            continue;
        }
        struct sw_err herr;
        sw_err_clear(&herr);
        enum sw_msg_outcome res = c->handle(c->ctx, e, &herr);
        handled++;
        if (res == SW_MSG_DONE) {
            const char *id = e->id;
            if (settle(r, c, e->stream, &id, 1, err) < 0)
                return -1;
        } else if (res == SW_MSG_POISON) {
            if (dead_letter(r, c, e, herr.msg[0] ? herr.msg : "poison message", err) < 0)
                return -1;
        } else {
            sw_log_err(SW_LOG_WARN, "stream.retry_later", &herr);
        }
    }
    return handled;
}

/* Takes over idle entries of every stream and handles them. */
static int reclaim(struct sw_redis *r, struct sw_consumer *c, struct sw_err *err)
{
    int total = 0;
    for (size_t s = 0; s < c->nstreams; s++) {
        struct sw_stream_batch b = {0, NULL};
        int n = sw_stream_autoclaim(r, c->streams[s], c->group, c->consumer, c->min_idle_ms,
                                    c->count, &b, err);
        if (n == 0)
            n = handle_batch(r, c, &b, err);
        sw_stream_batch_release(&b);
        if (n < 0)
            return -1;
        total += n;
    }
    return total;
}

/* Nothing to read yet (no node has a stream): wait as a read would. */
static void idle(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int sw_consumer_step(struct sw_redis *r, struct sw_consumer *c, struct sw_err *err)
{
    struct sw_stream_batch b = {0, NULL};
    int total = 0;
    consumer_defaults(c);
    long long now = sw_now_ms();
    if ((c->list_streams ? now - c->listed_ms >= c->refresh_ms : c->nstreams == 0) &&
        list_streams(r, c, false, err) < 0)
        return -1;
    if (now - c->last_claim_ms >= c->min_idle_ms / 4) {
        c->last_claim_ms = now;
        if ((total = reclaim(r, c, err)) < 0)
            return -1;
    }
    if (c->nstreams == 0) {
        idle(c->block_ms);
        return total;
    }
    if (sw_stream_read_groups(r, (const char *const *)c->streams, c->nstreams, c->group,
                              c->consumer, c->count, c->block_ms, &b, err) < 0) {
        /* NOGROUP after a Redis restart without persistence: recreate. */
        if (err && !sw_redis_broken(r) && strstr(err->detail, "NOGROUP"))
            sw_consumer_setup(r, c, NULL);
        goto fail;
    }
    int n = handle_batch(r, c, &b, err);
    if (n < 0)
        goto fail;
    total += n;
    sw_stream_batch_release(&b);
    return total;
fail:
    sw_stream_batch_release(&b);
    return -1;
}

int sw_redis_strings(struct sw_redis *r, int argc, const char **argv, char ***out, size_t *n,
                     struct sw_err *err)
{
    redisReply *rep = cmd(r, argc, argv, err);
    if (!rep)
        return -1;
    *n = 0;
    *out = sw_calloc(rep->type == REDIS_REPLY_ARRAY ? rep->elements + 1 : 1, sizeof **out);
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++)
        if (rep->element[i]->type == REDIS_REPLY_STRING)
            (*out)[(*n)++] = sw_strndup(rep->element[i]->str, rep->element[i]->len);
    freeReplyObject(rep);
    return 0;
}
