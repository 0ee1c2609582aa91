/* Core's PostgreSQL and Redis helpers against the real servers that
 * tests/integration/core_services.sh starts (SLIPWAY_DATABASE_URL,
 * SLIPWAY_REDIS_URL). */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redis.h"

static const char *db_url, *redis_url;

static struct sw_db *db_open(void)
{
    struct sw_err err = {0};
    struct sw_db *db = sw_db_connect(db_url, &err);
    assert_non_null(db);
    return db;
}

static void test_sqlstate_mapping(void **state)
{
    (void)state;
    struct sw_db *db = db_open();
    struct sw_err err = {0};
    assert_true(sw_db_run(db, &err, "CREATE TABLE IF NOT EXISTS p (id int PRIMARY KEY, v text)",
                          0, NULL) >= 0);
    assert_true(sw_db_run(db, &err, "CREATE TABLE IF NOT EXISTS c (p int REFERENCES p (id))", 0,
                          NULL) >= 0);
    assert_int_equal(sw_db_run(db, &err, "INSERT INTO p VALUES ($1, $2)", SW_PARAMS("1", NULL)),
                     1);
    PGresult *r = sw_db_exec(db, &err, "SELECT v IS NULL FROM p WHERE id = $1", SW_PARAMS("1"));
    assert_non_null(r);
    assert_true(sw_db_get_bool(r, 0, 0)); /* a NULL parameter is SQL NULL */
    assert_null(sw_db_get(r, 5, 0));      /* out of range is NULL, not a crash */
    PQclear(r);

    assert_int_equal(sw_db_run(db, &err, "INSERT INTO p VALUES ($1, 'x')", SW_PARAMS("1")), -1);
    assert_int_equal(err.code, SW_ECONFLICT);
    assert_non_null(strstr(err.detail, "23505"));
    assert_int_equal(sw_db_run(db, &err, "INSERT INTO c VALUES ($1)", SW_PARAMS("42")), -1);
    assert_int_equal(err.code, SW_EINVALID);
    assert_int_equal(sw_db_run(db, &err, "SELECT $1::uuid", SW_PARAMS("not-a-uuid")), -1);
    assert_int_equal(err.code, SW_EINVALID);
    assert_int_equal(sw_db_run(db, &err, "SELEC 1", 0, NULL), -1);
    assert_int_equal(err.code, SW_EINTERNAL);
    assert_false(err.retryable);
    sw_db_free(db);
}

/* Fails with a serialization failure until the sequence reaches 3. */
static int flaky_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    int *calls = ctx;
    (*calls)++;
    return sw_db_run(db, err,
                     "DO $$ BEGIN IF nextval('flaky') < 3 THEN RAISE EXCEPTION 'conflict'"
                     " USING ERRCODE = 'serialization_failure'; END IF;"
                     " INSERT INTO p VALUES (100, 'committed'); END $$",
                     0, NULL) < 0
               ? -1
               : 0;
}

static int failing_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    (void)ctx;
    sw_db_run(db, err, "INSERT INTO p VALUES (200, 'rolled back')", 0, NULL);
    SW_ERR(err, SW_EUNPROCESSABLE, "changed my mind");
    return -1;
}

static void test_tx_retry_and_rollback(void **state)
{
    (void)state;
    struct sw_db *db = db_open();
    struct sw_err err = {0};
    assert_true(sw_db_run(db, &err, "CREATE SEQUENCE IF NOT EXISTS flaky", 0, NULL) >= 0);
    int calls = 0;
    assert_int_equal(sw_db_tx(db, flaky_tx, &calls, &err), 0);
    assert_int_equal(calls, 3); /* two serialization failures retried, third commits */
    PGresult *r = sw_db_exec(db, &err, "SELECT count(*) FROM p WHERE id = 100", 0, NULL);
    assert_int_equal(sw_db_get_i64(r, 0, 0), 1);
    PQclear(r);

    assert_int_equal(sw_db_tx(db, failing_tx, NULL, &err), -1);
    assert_int_equal(err.code, SW_EUNPROCESSABLE);
    r = sw_db_exec(db, &err, "SELECT count(*) FROM p WHERE id = 200", 0, NULL);
    assert_int_equal(sw_db_get_i64(r, 0, 0), 0);
    PQclear(r);
    sw_db_free(db);
}

static void test_reconnect_and_pool(void **state)
{
    (void)state;
    struct sw_err err = {0};
    struct sw_db *db = db_open(), *killer = db_open();
    PGresult *r = sw_db_exec(db, &err, "SELECT pg_backend_pid()", 0, NULL);
    char pid[24];
    snprintf(pid, sizeof pid, "%s", sw_db_get(r, 0, 0));
    PQclear(r);
    assert_int_equal(sw_db_run(killer, &err, "SELECT pg_terminate_backend($1::int)",
                               SW_PARAMS(pid)), 1);
    /* The next statement finds the connection dead, resets it and runs. */
    r = sw_db_exec(db, &err, "SELECT 7", 0, NULL);
    assert_non_null(r);
    assert_int_equal(sw_db_get_i64(r, 0, 0), 7);
    PQclear(r);
    sw_db_free(killer);
    sw_db_free(db);

    struct sw_db_pool *pool = sw_db_pool_new(db_url, 2, &err);
    assert_non_null(pool);
    struct sw_db *a = sw_db_pool_get(pool);
    assert_int_equal(sw_db_begin(a, &err), 0);
    assert_int_equal(sw_db_run(a, &err, "INSERT INTO p VALUES (300, 'left open')", 0, NULL), 1);
    sw_db_pool_put(pool, a); /* left inside a transaction: rolled back */
    struct sw_db *b = sw_db_pool_get(pool), *c = sw_db_pool_get(pool);
    r = sw_db_exec(b, &err, "SELECT count(*) FROM p WHERE id = 300", 0, NULL);
    assert_int_equal(sw_db_get_i64(r, 0, 0), 0);
    PQclear(r);
    sw_db_pool_put(pool, b);
    sw_db_pool_put(pool, c);
    sw_db_pool_free(pool);

    assert_null(sw_db_connect("postgresql:///nonexistent?host=/nonexistent", &err));
    assert_int_equal(err.code, SW_EUNAVAILABLE);
    assert_true(err.retryable);
}

/* ---- streams ---- */

struct seen {
    int calls;
    int null_payloads;
    enum sw_msg_outcome answer;
};

static enum sw_msg_outcome handler(void *ctx, const struct sw_stream_entry *e, struct sw_err *err)
{
    struct seen *s = ctx;
    s->calls++;
    if (!e->payload)
        s->null_payloads++;
    if (s->answer != SW_MSG_DONE)
        SW_ERR(err, SW_EINVALID, "handler said no");
    return s->answer;
}

static struct sw_redis *redis_open(void)
{
    struct sw_err err = {0};
    struct sw_redis *r = sw_redis_connect(redis_url, &err);
    assert_non_null(r);
    return r;
}

static void run_steps(struct sw_redis *r, struct sw_consumer *c, int n)
{
    struct sw_err err = {0};
    for (int i = 0; i < n; i++) {
        int got = sw_consumer_step(r, c, &err);
        if (got < 0)
            fprintf(stderr, "step failed: %s (%s)\n", err.msg, err.detail);
        assert_true(got >= 0);
        c->last_claim_ms = 0; /* reclaim on every step */
    }
}

static void test_stream_ack_and_poison(void **state)
{
    (void)state;
    struct sw_redis *r = redis_open();
    struct sw_err err = {0};
    struct seen s = {0, 0, SW_MSG_DONE};
    struct sw_consumer c = {.stream = "t1", .group = "g", .consumer = "c1", .block_ms = 10,
                            .min_idle_ms = 20, .handle = handler, .ctx = &s};
    assert_int_equal(sw_consumer_setup(r, &c, &err), 0);
    assert_int_equal(sw_consumer_setup(r, &c, &err), 0); /* existing group is fine */
    for (int i = 0; i < 3; i++) {
        char *id = sw_stream_add(r, "t1", "{\"n\":1}", &err);
        assert_non_null(id);
        free(id);
    }
    run_steps(r, &c, 3);
    assert_int_equal(s.calls, 3);
    /* acked: nothing comes back, however long we wait */
    struct sw_stream_batch b = {0, NULL};
    assert_int_equal(sw_stream_autoclaim(r, "t1", "g", "c2", 0, 10, &b, &err), 0);
    assert_int_equal(b.n, 0);
    sw_stream_batch_release(&b);

    s.answer = SW_MSG_POISON;
    char *id = sw_stream_add(r, "t1", "poison", &err);
    free(id);
    run_steps(r, &c, 2);
    assert_int_equal(s.calls, 4); /* handled once, then dead-lettered */
    assert_int_equal(sw_stream_len(r, "dead:t1", &err), 1);
    sw_redis_free(r);
}

/* delete_done: an entry is gone from the stream once acked (done or
 * poison); one left pending (retry) stays; without it entries stay. */
static void test_stream_delete_done(void **state)
{
    (void)state;
    struct sw_redis *r = redis_open();
    struct sw_err err = {0};
    struct seen s = {0, 0, SW_MSG_DONE};
    struct sw_consumer c = {.stream = "t4", .group = "g", .consumer = "c1", .block_ms = 10,
                            .min_idle_ms = 60000, .handle = handler, .ctx = &s,
                            .delete_done = true};
    assert_int_equal(sw_consumer_setup(r, &c, &err), 0);
    static const enum sw_msg_outcome answers[] = {SW_MSG_DONE, SW_MSG_POISON, SW_MSG_RETRY};
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
        free(sw_stream_add(r, "t4", "{\"n\":1}", &err));
        s.answer = answers[i];
        run_steps(r, &c, 1);
        c.last_claim_ms = sw_now_ms(); /* no reclaim: the retried one stays pending */
    }
    assert_int_equal(s.calls, 3);
    assert_int_equal(sw_stream_len(r, "t4", &err), 1); /* only the pending one */
    assert_int_equal(sw_stream_len(r, "dead:t4", &err), 1);

    struct seen k = {0, 0, SW_MSG_DONE};
    struct sw_consumer keep = {.stream = "t5", .group = "g", .consumer = "c1", .block_ms = 10,
                               .min_idle_ms = 60000, .handle = handler, .ctx = &k};
    assert_int_equal(sw_consumer_setup(r, &keep, &err), 0);
    free(sw_stream_add(r, "t5", "{\"n\":1}", &err));
    run_steps(r, &keep, 1);
    assert_int_equal(k.calls, 1);
    assert_int_equal(sw_stream_len(r, "t5", &err), 1); /* acked, kept */
    sw_redis_free(r);
}

static void test_stream_redelivery_and_dead_letter(void **state)
{
    (void)state;
    struct sw_redis *r = redis_open();
    struct sw_err err = {0};
    struct seen s = {0, 0, SW_MSG_RETRY};
    struct sw_consumer c = {.stream = "t2", .group = "g", .consumer = "c1", .block_ms = 10,
                            .min_idle_ms = 20, .handle = handler, .ctx = &s};
    assert_int_equal(sw_consumer_setup(r, &c, &err), 0);
    char *id = sw_stream_add(r, "t2", "{\"always\":\"fails\"}", &err);
    free(id);
    sw_log_init("test", "off");
    for (int i = 0; i < 12; i++) {
        run_steps(r, &c, 1);
        struct timespec ts = {0, 30 * 1000000L}; /* past min_idle_ms */
        nanosleep(&ts, NULL);
    }
    /* 1 delivery by XREADGROUP + 4 by XAUTOCLAIM = 5 handler calls; the
     * 6th delivery goes to the dead-letter stream without the handler. */
    assert_int_equal(s.calls, 5);
    assert_int_equal(sw_stream_len(r, "dead:t2", &err), 1);
    struct sw_stream_batch b = {0, NULL};
    assert_int_equal(sw_stream_autoclaim(r, "t2", "g", "c2", 0, 10, &b, &err), 0);
    assert_int_equal(b.n, 0); /* acked once dead-lettered: the stream moved on */
    sw_stream_batch_release(&b);

    /* core_services.sh put an entry without the "m" field on t3 (group g
     * made there, from the start): it reaches the handler with no payload. */
    struct seen s3 = {0, 0, SW_MSG_DONE};
    struct sw_consumer c3 = {.stream = "t3", .group = "g", .consumer = "c1", .block_ms = 10,
                             .min_idle_ms = 1000, .handle = handler, .ctx = &s3};
    run_steps(r, &c3, 1);
    assert_int_equal(s3.calls, 1);
    assert_int_equal(s3.null_payloads, 1);
    sw_redis_free(r);

    assert_null(sw_redis_connect("unix:///nonexistent.sock", &err));
    assert_int_equal(err.code, SW_EUNAVAILABLE);
    assert_null(sw_redis_connect("http://x", &err));
    assert_int_equal(err.code, SW_EINVALID);
}

/* A slow batch (16 entries, 30 ms each, against min_idle_ms 100) is kept
 * by its consumer: when the handler is halfway through, a second consumer's
 * XAUTOCLAIM finds nothing idle to take (the race dead-lettered such tails
 * under load before), and each entry was delivered once. */
struct slow {
    struct sw_redis *other;
    int calls;
    size_t stolen;
    long deliveries;
};

static enum sw_msg_outcome slow_handler(void *ctx, const struct sw_stream_entry *e,
                                        struct sw_err *err)
{
    (void)err;
    struct slow *s = ctx;
    struct timespec ts = {0, 30 * 1000000L};
    nanosleep(&ts, NULL);
    s->deliveries += e->deliveries;
    if (++s->calls == 8) {
        struct sw_stream_batch b = {0, NULL};
        struct sw_err e2 = {0};
        assert_int_equal(sw_stream_autoclaim(s->other, "t6", "g", "c2", 100, 16, &b, &e2), 0);
        s->stolen = b.n;
        sw_stream_batch_release(&b);
    }
    return SW_MSG_DONE;
}

static void test_stream_slow_batch_kept(void **state)
{
    (void)state;
    struct sw_redis *r = redis_open();
    struct sw_err err = {0};
    struct slow s = {redis_open(), 0, 0, 0};
    struct sw_consumer c = {.stream = "t6", .group = "g", .consumer = "c1", .block_ms = 10,
                            .min_idle_ms = 100, .count = 16, .handle = slow_handler, .ctx = &s};
    assert_int_equal(sw_consumer_setup(r, &c, &err), 0);
    for (int i = 0; i < 16; i++)
        free(sw_stream_add(r, "t6", "{\"n\":1}", &err));
    c.last_claim_ms = sw_now_ms(); /* read, not reclaim */
    assert_int_equal(sw_consumer_step(r, &c, &err), 16);
    assert_int_equal(s.calls, 16);
    assert_int_equal(s.stolen, 0);
    assert_int_equal(s.deliveries, 16); /* each read once by XREADGROUP */
    sw_redis_free(s.other);
    sw_redis_free(r);
}

/* Two streams in one consumer (list_streams, as one per node): the listed
 * streams get the group, one read takes entries of both, each names its
 * stream, the poison one goes to its own stream's dead letters, and a
 * stream added to the list is read after the next refresh. */
static int listed_n = 2;
static int list_two(void *ctx, char ***out, size_t *n, struct sw_err *err)
{
    (void)ctx;
    (void)err;
    static const char *names[] = {"m:1", "m:2", "m:3"};
    *n = (size_t)listed_n;
    *out = calloc(*n + 1, sizeof **out);
    for (size_t i = 0; i < *n; i++)
        (*out)[i] = strdup(names[i]);
    return 0;
}

struct by_stream {
    int m1, m2, m3;
};

static enum sw_msg_outcome by_stream_handler(void *ctx, const struct sw_stream_entry *e,
                                             struct sw_err *err)
{
    struct by_stream *s = ctx;
    s->m1 += strcmp(e->stream, "m:1") == 0;
    s->m2 += strcmp(e->stream, "m:2") == 0;
    s->m3 += strcmp(e->stream, "m:3") == 0;
    if (strcmp(e->stream, "m:2") != 0)
        return SW_MSG_DONE;
    SW_ERR(err, SW_EINVALID, "refused on m:2");
    return SW_MSG_POISON;
}

static void test_stream_many(void **state)
{
    (void)state;
    struct sw_redis *r = redis_open();
    struct sw_err err = {0};
    struct by_stream s = {0, 0, 0};
    struct sw_consumer c = {.list_streams = list_two, .group = "g", .consumer = "c1",
                            .block_ms = 10, .refresh_ms = 50, .handle = by_stream_handler,
                            .ctx = &s};
    assert_int_equal(sw_consumer_setup(r, &c, &err), 0);
    assert_int_equal(c.nstreams, 2);
    free(sw_stream_add(r, "m:1", "{}", &err));
    free(sw_stream_add(r, "m:2", "{}", &err));
    free(sw_stream_add(r, "m:3", "{}", &err)); /* not listed yet */
    run_steps(r, &c, 2);
    assert_int_equal(s.m1, 1);
    assert_int_equal(s.m2, 1);
    assert_int_equal(s.m3, 0);
    assert_int_equal(sw_stream_len(r, "dead:m:2", &err), 1);
    assert_int_equal(sw_stream_len(r, "dead:m:1", &err), 0);
    listed_n = 3;
    struct timespec ts = {0, 60 * 1000000L}; /* past refresh_ms */
    nanosleep(&ts, NULL);
    run_steps(r, &c, 2);
    assert_int_equal(c.nstreams, 3);
    assert_int_equal(s.m3, 1); /* its group starts at 0: what came before the listing is read */
    sw_consumer_release(&c);
    sw_redis_free(r);
}

/* A URL's credentials reach Redis as AUTH: an ACL user made here can
 * connect, the wrong password is SW_EUNAUTHENTICATED, and no error shows
 * the password. */
static void test_redis_auth(void **state)
{
    (void)state;
    struct sw_err err = {0};
    struct sw_redis *admin = redis_open();
    const char *setuser[] = {"ACL", "SETUSER", "sw-test", "reset", "on", ">pw-right",
                             "~t-auth:*", "+ping", "+xadd"};
    assert_int_equal(sw_redis_exec(admin, 9, setuser, &err), 0);
    const char *path = getenv("SW_REDIS_SOCK"); /* the harness's socket */
    assert_non_null(path);
    char url[512];
    snprintf(url, sizeof url, "unix://sw-test:pw-right@%s", path);
    struct sw_redis *r = sw_redis_connect(url, &err);
    assert_non_null(r);
    assert_int_equal(sw_redis_ping(r, &err), 0);
    char *id = sw_stream_add(r, "t-auth:1", "{}", &err);
    assert_non_null(id);
    free(id);
    assert_null(sw_stream_add(r, "other", "{}", &err)); /* outside its keys */
    sw_redis_free(r);

    snprintf(url, sizeof url, "unix://sw-test:pw-wrong@%s", path);
    memset(&err, 0, sizeof err);
    assert_null(sw_redis_connect(url, &err));
    assert_int_equal(err.code, SW_EUNAUTHENTICATED);
    assert_null(strstr(err.msg, "pw-wrong"));
    assert_null(strstr(err.detail, "pw-wrong"));
    assert_non_null(strstr(err.detail, "sw-test:***"));
    const char *deluser[] = {"ACL", "DELUSER", "sw-test"};
    assert_int_equal(sw_redis_exec(admin, 3, deluser, &err), 0);
    sw_redis_free(admin);
}

int main(void)
{
    db_url = getenv("SLIPWAY_DATABASE_URL");
    redis_url = getenv("SLIPWAY_REDIS_URL");
    if (!db_url || !redis_url)
        return 77; /* run by core_services.sh */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlstate_mapping),
        cmocka_unit_test(test_tx_retry_and_rollback),
        cmocka_unit_test(test_reconnect_and_pool),
        cmocka_unit_test(test_stream_ack_and_poison),
        cmocka_unit_test(test_stream_delete_done),
        cmocka_unit_test(test_stream_redelivery_and_dead_letter),
        cmocka_unit_test(test_stream_many),
        cmocka_unit_test(test_stream_slow_batch_kept),
        cmocka_unit_test(test_redis_auth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
