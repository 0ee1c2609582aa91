/* redis.h - Redis connection and stream helpers, and the consumer step
 * every daemon's stream loop is built from.
 *
 * Stream entries carry one field, "m", whose value is a JSON message
 * (see msg.h). Redis only carries messages; PostgreSQL is the truth.
 *
 * Delivery contract of sw_consumer_step():
 *  - new entries are read with XREADGROUP; entries pending longer than
 *    min_idle_ms (a crashed consumer's) are taken over with XAUTOCLAIM;
 *  - the handler returns SW_MSG_DONE after its effect is committed (the
 *    entry is then XACKed), SW_MSG_RETRY to leave it pending (it comes
 *    back after min_idle_ms), or SW_MSG_POISON to dead-letter it now;
 *  - entries of a batch still waiting their turn have their idle time
 *    reset (XCLAIM JUSTID, no new delivery) every min_idle_ms/4 while the
 *    consumer works through the batch, so a slow batch is not taken over
 *    by another consumer as a crashed one's would be;
 *  - an entry delivered more than max_deliveries times is moved to the
 *    stream "dead:<stream>" with its id and the last error, and XACKed,
 *    without calling the handler again.
 */
#ifndef SW_REDIS_H
#define SW_REDIS_H

#include <stdbool.h>
#include <stddef.h>

struct sw_err;
struct sw_redis;

/* Returns owned; free with sw_redis_free(). URL: see redisurl.h; with a
 * password the connection AUTHenticates (as USER when given) before any
 * command, and a refusal is SW_EUNAUTHENTICATED. Errors never show the
 * password. rediss:// speaks TLS (redistls.h: the server's certificate
 * and name always verified). redis-sentinel:// asks the sentinels for the
 * master on every (re)connect and checks it with ROLE (sentinel.h); TLS to
 * the sentinels (tls=1) is refused as SW_EUNSUPPORTED for now. */
struct sw_redis *sw_redis_connect(const char *url, struct sw_err *err);
void sw_redis_free(struct sw_redis *r);
/* Drops and re-opens the connection (after an error). */
int sw_redis_reconnect(struct sw_redis *r, struct sw_err *err);
int sw_redis_ping(struct sw_redis *r, struct sw_err *err);
/* Runs one command whose reply only matters as success or error (ACL
 * SETUSER, CONFIG SET); argv[] is borrowed. */
int sw_redis_exec(struct sw_redis *r, int argc, const char **argv, struct sw_err *err);
/* Runs one command whose reply is an array of strings (ACL USERS): an
 * owned array of *n owned strings (free each and the array). */
int sw_redis_strings(struct sw_redis *r, int argc, const char **argv, char ***out, size_t *n,
                     struct sw_err *err);
/* True when the last command failed at the connection level, or was
 * answered READONLY, MASTERDOWN, LOADING or UNBLOCKED (the server is no
 * usable master: a failover): the caller reconnects. */
bool sw_redis_broken(const struct sw_redis *r);

/* XGROUP CREATE stream group 0 MKSTREAM; an existing group is fine. */
int sw_stream_group_create(struct sw_redis *r, const char *stream, const char *group,
                           struct sw_err *err);
/* XADD stream * m payload. Returns the owned entry id (free()), or NULL. */
char *sw_stream_add(struct sw_redis *r, const char *stream, const char *payload,
                    struct sw_err *err);
int sw_stream_ack(struct sw_redis *r, const char *stream, const char *group, const char *id,
                  struct sw_err *err);
/* XACK of n ids in one command (n may be 0: nothing is sent). */
int sw_stream_ack_many(struct sw_redis *r, const char *stream, const char *group,
                       const char *const *ids, size_t n, struct sw_err *err);
/* XDEL of n ids in one command (n may be 0: nothing is sent). */
int sw_stream_del_many(struct sw_redis *r, const char *stream, const char *const *ids, size_t n,
                       struct sw_err *err);
/* INCR key, and on the first increment EXPIRE it after ttl_s; returns the
 * new count or -1. For fixed-window rate limits. */
long long sw_redis_incr(struct sw_redis *r, const char *key, long ttl_s, struct sw_err *err);

/* The server's run_id (INFO server) into out[41]: it changes when Redis
 * restarts, which without persistence means every stream was lost. */
int sw_redis_run_id(struct sw_redis *r, char out[41], struct sw_err *err);

/* GET key as an integer; 0 when absent, -1 on error. */
long long sw_redis_get_int(struct sw_redis *r, const char *key, struct sw_err *err);

/* XLEN; -1 on error. */
long long sw_stream_len(struct sw_redis *r, const char *stream, struct sw_err *err);

struct sw_stream_entry {
    char *id;
    char *stream;  /* the stream it was read from */
    char *payload; /* NULL when the entry has no "m" field (poison) */
    long deliveries;
};

struct sw_stream_batch {
    size_t n;
    struct sw_stream_entry *v;
};

void sw_stream_batch_release(struct sw_stream_batch *b);

/* XREADGROUP GROUP group consumer COUNT count BLOCK block_ms STREAMS stream >
 * Fills b (empty on timeout). deliveries is 1 for new entries. */
int sw_stream_read_group(struct sw_redis *r, const char *stream, const char *group,
                         const char *consumer, long count, long block_ms,
                         struct sw_stream_batch *b, struct sw_err *err);
/* The same on n streams at once (XREADGROUP ... STREAMS s1 .. sn > .. >);
 * each entry names its stream. */
int sw_stream_read_groups(struct sw_redis *r, const char *const *streams, size_t n,
                          const char *group, const char *consumer, long count, long block_ms,
                          struct sw_stream_batch *b, struct sw_err *err);
/* XCLAIM ... JUSTID of n entries the consumer holds: their idle time
 * starts again, their delivery count stays. */
int sw_stream_touch(struct sw_redis *r, const char *stream, const char *group,
                    const char *consumer, const char *const *ids, size_t n, struct sw_err *err);

/* XAUTOCLAIM of entries idle >= min_idle_ms, with their delivery counts. */
int sw_stream_autoclaim(struct sw_redis *r, const char *stream, const char *group,
                        const char *consumer, long min_idle_ms, long count,
                        struct sw_stream_batch *b, struct sw_err *err);

enum sw_msg_outcome { SW_MSG_DONE = 0, SW_MSG_RETRY, SW_MSG_POISON };

struct sw_consumer {
    const char *stream; /* the one stream read, unless list_streams is set */
    const char *group;
    const char *consumer;
    long block_ms;       /* default 1000 */
    long min_idle_ms;    /* default 60000 */
    int max_deliveries;  /* default 5 */
    long count;          /* default 16 */
    /* Called once per delivered entry. payload may be NULL (malformed
     * entry); err carries the reason for RETRY and POISON. */
    enum sw_msg_outcome (*handle)(void *ctx, const struct sw_stream_entry *e, struct sw_err *err);
    /* Optional, instead of handle: called once per read with every entry
     * to hand (those past max_deliveries are dead-lettered first and left
     * out), filling out[i] and, for RETRY and POISON, errs[i] (cleared by
     * the caller). The DONE ones are then XACKed in one command, the
     * POISON ones dead-lettered one by one: so a handler can store a
     * batch in one statement and still single out a bad entry. */
    void (*handle_batch)(void *ctx, const struct sw_stream_entry *const *v, size_t n,
                         enum sw_msg_outcome *out, struct sw_err *errs);
    void *ctx;
    /* Optional (NULL: none): called after an entry was dead-lettered for
     * too many deliveries (not for poison), so the owner can give up on
     * what it stood for. Best effort: nothing retries it. */
    void (*on_dead)(void *ctx, const struct sw_stream_entry *e, const char *why);
    /* When true, an entry is deleted (XDEL) right after its XACK (done,
     * poison or dead-lettered), so the stream keeps only entries still to
     * handle. For streams with one group whose entries hold what should
     * not linger (a node's jobs: sealed secrets). A pending entry (RETRY)
     * stays. */
    bool delete_done;
    /* Optional, instead of stream: lists the streams to read (one per
     * node: "results:<id>"), as an owned array of n owned strings, at
     * every setup and then every refresh_ms (default 5000). The group is
     * created on each new one; reclaim and dead letters ("dead:<stream>")
     * work per stream, and each entry names its stream (e->stream). An
     * empty list reads nothing (the step waits block_ms). */
    int (*list_streams)(void *ctx, char ***out, size_t *n, struct sw_err *err);
    long refresh_ms;
    /* Internal: when the last XAUTOCLAIM ran (monotonic ms); the streams
     * read and when they were listed (sw_consumer_release() frees them). */
    long long last_claim_ms;
    char **streams;
    size_t nstreams;
    long long listed_ms;
};

/* One step: reclaim idle entries (at most every min_idle_ms/4), then read
 * and handle new ones. Returns the number handled, or -1 on a Redis error
 * (the caller reconnects and calls sw_consumer_setup again). */
int sw_consumer_step(struct sw_redis *r, struct sw_consumer *c, struct sw_err *err);
/* Lists the streams and creates the group on each (idempotent); call
 * after every (re)connect. */
int sw_consumer_setup(struct sw_redis *r, struct sw_consumer *c, struct sw_err *err);
/* Frees the stream list the consumer keeps (c itself is the caller's). */
void sw_consumer_release(struct sw_consumer *c);

/* Monotonic milliseconds. */
long long sw_now_ms(void);

#endif
