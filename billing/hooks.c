/* hooks.c - the webhook deliverer (billing/README.md "Webhooks").
 *
 * One thread, one PostgreSQL connection (LISTEN sw_events), one curl multi
 * handle. Each turn of its loop:
 *   1. fans out events not yet fanned out into webhook_deliveries, one per
 *      (endpoint, event) - the unique key makes that once, whoever does it;
 *   2. emits usage.hourly for completed hours (sw_hooks_usage_tick);
 *   3. claims due deliveries (FOR UPDATE SKIP LOCKED) under a lease, as many
 *      as there are free transfer slots, and starts their requests;
 *   4. drives the transfers, waiting for sockets, a notification or a
 *      second; each finished one records its attempt and the delivery's
 *      next state in one statement (hooks_policy.h decides).
 * Several daemons may run this at once: claims skip each other's locked
 * rows and respect each other's leases, so a delivery is never sent by two
 * at the same time; a daemon that dies mid-send leaves its lease to run
 * out, and the delivery is sent again later under the same webhook-id.
 *
 * Requests: POST, the event's JSON, Standard Webhooks headers signed with
 * the endpoint's secret and a fresh timestamp per attempt; http and https
 * only, no redirects, no proxies, 15 s in all (SLIPWAY_HOOKS_TIMEOUT). Every address curl is about
 * to connect to is checked in its open-socket callback, so private,
 * loopback and link-local destinations are refused (unless
 * SLIPWAY_HOOKS_ALLOW_PRIVATE) whatever a name resolves to at that moment.
 */
#include "config.h"
#include "billing/hooks.h"
#include "billing/hooks_policy.h"
#include "core/alloc.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/err.h"
#include "core/hookdest.h"
#include "core/hooksig.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FANOUT_BATCH 500
#define LEASE_MARGIN_S 5   /* lease = timeout + this: a live sender finishes first */
#define POLL_MS 1000        /* due retries are found within this */
#define USAGE_EVERY_S 2     /* how often the usage.hourly watermark is looked at */
#define USAGE_DELAY "5 minutes" /* an hour is emitted this long after it ends */
#define BODY_KEEP 65536     /* bytes of an answer read before hanging up */

struct sw_hooks {
    char *db_url;
    bool allow_private;
    struct sw_hooks_schedule sched;
    int concurrency;
    long timeout_s;
    atomic_bool stopping;
    pthread_t thread;
    CURLM *multi;
    struct transfer **live; /* [concurrency]: the requests in flight */
};

/* One request in flight. */
struct transfer {
    struct sw_hooks *h;
    CURL *easy;
    struct curl_slist *headers;
    char delivery_id[SW_UUID_LEN + 1];
    char lease[SW_UUID_LEN + 1];
    int attempts; /* automatic attempts before this one */
    bool manual;
    char *body;
    size_t received;
    bool overflow;
    char refused[INET6_ADDRSTRLEN + 1]; /* a private address curl was kept from */
    char errbuf[CURL_ERROR_SIZE];
    struct timespec t0;
};

static double since_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ---- the database side ---- */

struct conn {
    struct sw_db *db;
    int listen_pid;
    long long last_usage; /* CLOCK_MONOTONIC seconds */
};

static void conn_drop(struct conn *c, const struct sw_err *err)
{
    sw_log_err(SW_LOG_WARN, "hooks.db_lost", err);
    sw_db_free(c->db);
    c->db = NULL;
    c->listen_pid = 0;
}

static int conn_ensure(struct sw_hooks *h, struct conn *c, struct sw_err *err)
{
    if (!c->db) {
        c->db = sw_db_connect(h->db_url, err);
        if (!c->db)
            return -1;
    }
    PGconn *pc = sw_db_conn(c->db);
    int pid = PQbackendPID(pc);
    if (pid != 0 && pid == c->listen_pid)
        return 0;
    if (sw_db_run(c->db, err, "LISTEN sw_events", 0, NULL) < 0)
        return -1;
    c->listen_pid = PQbackendPID(pc);
    return 0;
}

static void drain_notifies(struct conn *c)
{
    PGconn *pc = sw_db_conn(c->db);
    PQconsumeInput(pc);
    PGnotify *n;
    while ((n = PQnotifies(pc)) != NULL)
        PQfreemem(n);
}

/* Gives every new event its deliveries: every active endpoint that wants
 * its type and may see it (an operator's: every event; a reseller's:
 * events about itself and its customers), made before the event. Returns
 * the number of events done, or -1. */
static long fanout(struct sw_hooks *h, struct conn *c, struct sw_err *err)
{
    char limit[16], delay[24];
    snprintf(limit, sizeof limit, "%d", FANOUT_BATCH);
    snprintf(delay, sizeof delay, "%ld", h->sched.delay[0]);
    PGresult *res = sw_db_exec(
        c->db, err,
        "WITH ev AS (SELECT e.id, e.type, e.account_id, e.created_at FROM events e"
        "  WHERE e.fanned_out_at IS NULL ORDER BY e.seq LIMIT $1 FOR UPDATE SKIP LOCKED),"
        " ins AS (INSERT INTO webhook_deliveries (webhook_id, event_id, next_at)"
        "  SELECT w.id, ev.id, now() + make_interval(secs => $2::int)"
        "  FROM ev JOIN webhook_endpoints w ON w.state = 'active' AND ev.type = ANY (w.events)"
        "   AND w.created_at <= ev.created_at"
        "  JOIN accounts o ON o.id = w.account_id"
        "  WHERE o.kind = 'operator' OR w.account_id = ev.account_id"
        "   OR w.account_id = (SELECT a.reseller_id FROM accounts a WHERE a.id = ev.account_id)"
        "  ON CONFLICT (webhook_id, event_id) DO NOTHING RETURNING 1),"
        " up AS (UPDATE events SET fanned_out_at = now() WHERE id IN (SELECT id FROM ev))"
        " SELECT (SELECT count(*) FROM ev), (SELECT count(*) FROM ins)",
        SW_PARAMS(limit, delay));
    if (!res)
        return -1;
    long n = (long)sw_db_get_i64(res, 0, 0), made = (long)sw_db_get_i64(res, 0, 1);
    PQclear(res);
    if (n)
        sw_debug("hooks.fanout", "events=%ld deliveries=%ld", n, made);
    return n;
}

static int usage_tick(struct conn *c, struct sw_err *err)
{
    PGresult *res = sw_db_exec(c->db, err, "SELECT sw_hooks_usage_tick($1::interval)",
                               SW_PARAMS(USAGE_DELAY));
    if (!res)
        return -1;
    long n = (long)sw_db_get_i64(res, 0, 0);
    PQclear(res);
    if (n)
        sw_info("hooks.usage_hourly", "events=%ld", n);
    return 0;
}

/* ---- requests ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    struct transfer *t = ud;
    t->received += size * n;
    if (t->received > BODY_KEEP) {
        t->overflow = true;
        return 0; /* enough: hang up (the status is known) */
    }
    return size * n;
}

/* Every address curl is about to connect to, after resolving, on every
 * attempt: the one place the private-address rule is enforced. */
static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct transfer *t = ud;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    if (!t->h->allow_private) {
        const void *addr = NULL;
        if (a->family == AF_INET)
            addr = &((const struct sockaddr_in *)(const void *)&a->addr)->sin_addr;
        else if (a->family == AF_INET6)
            addr = &((const struct sockaddr_in6 *)(const void *)&a->addr)->sin6_addr;
        if (!addr || sw_hookdest_addr_private(a->family, addr)) {
            if (!addr || !inet_ntop(a->family, addr, t->refused, sizeof t->refused))
                snprintf(t->refused, sizeof t->refused, "?");
            return CURL_SOCKET_BAD;
        }
    }
    return socket(a->family, a->socktype, a->protocol);
}

static void live_put(struct sw_hooks *h, struct transfer *t, struct transfer *with)
{
    for (int i = 0; i < h->concurrency; i++) {
        if (h->live[i] == t) {
            h->live[i] = with;
            return;
        }
    }
}

static void transfer_free(struct transfer *t)
{
    if (!t)
        return;
    live_put(t->h, t, NULL);
    if (t->easy) {
        curl_multi_remove_handle(t->h->multi, t->easy);
        curl_easy_cleanup(t->easy);
    }
    curl_slist_free_all(t->headers);
    free(t->body);
    free(t);
}

/* Starts one claimed delivery's request; on a local failure (bad stored
 * secret or URL), the failed attempt is recorded right away by the caller. */
static struct transfer *transfer_start(struct sw_hooks *h, const PGresult *res, int row,
                                       const char *lease, const char **why)
{
    struct transfer *t = sw_calloc(1, sizeof *t);
    t->h = h;
    snprintf(t->delivery_id, sizeof t->delivery_id, "%s", sw_db_get(res, row, 0));
    snprintf(t->lease, sizeof t->lease, "%s", lease);
    const char *event_id = sw_db_get(res, row, 1), *url = sw_db_get(res, row, 2),
               *secret = sw_db_get(res, row, 3);
    t->attempts = (int)sw_db_get_i64(res, row, 4);
    t->manual = sw_db_get_bool(res, row, 5);
    t->body = sw_strdup(sw_db_get(res, row, 6));
    clock_gettime(CLOCK_MONOTONIC, &t->t0);

    struct sw_err err = {0};
    struct sw_hookdest d;
    unsigned char key[SW_HOOKSIG_KEY_MAX];
    size_t key_len = 0;
    if (sw_hookdest_parse(url, &d, &err) < 0) {
        *why = "the endpoint's url is not valid";
        return t;
    }
    if (sw_hooksig_secret_parse(secret, key, &key_len, &err) < 0) {
        *why = "the endpoint's secret does not parse";
        return t;
    }
    char ts[24], sig[SW_HOOKSIG_SIG_LEN + 1], line[400];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    sw_hooksig_sign(key, key_len, event_id, ts, t->body, strlen(t->body), sig);
    sodium_memzero(key, sizeof key);
    snprintf(line, sizeof line, "webhook-id: %s", event_id);
    t->headers = curl_slist_append(t->headers, line);
    snprintf(line, sizeof line, "webhook-timestamp: %s", ts);
    t->headers = curl_slist_append(t->headers, line);
    snprintf(line, sizeof line, "webhook-signature: %s", sig);
    t->headers = curl_slist_append(t->headers, line);
    t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
    t->headers = curl_slist_append(t->headers, "User-Agent: slipway-webhooks/1");
    t->headers = curl_slist_append(t->headers, "Expect:");
    if (!t->headers)
        abort(); /* out of memory */

    CURL *e = curl_easy_init();
    if (!e)
        abort();
    t->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROXY, ""); /* never through a proxy from the environment */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->timeout_s * 1000L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (h->timeout_s < 10 ? h->timeout_s : 10) * 1000L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(t->body));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        *why = "could not start the request";
        return t;
    }
    *why = NULL;
    return t;
}

/* Records an attempt and the delivery's next state, in one statement. The
 * delivery moves only while this sender still holds its lease; the attempt
 * is recorded in any case (it happened). */
static int record(struct sw_hooks *h, struct conn *c, const struct transfer *t, int status,
                  const char *error, struct sw_err *err)
{
    int attempts = t->attempts + (t->manual ? 0 : 1);
    struct sw_hooks_outcome o = sw_hooks_outcome(status, attempts, t->manual, &h->sched);
    char st[8], ms[24], retry[24];
    snprintf(st, sizeof st, "%d", status);
    snprintf(ms, sizeof ms, "%ld", (long)since_ms(&t->t0));
    snprintf(retry, sizeof retry, "%ld", o.retry_in_s);
    PGresult *res = sw_db_exec(
        c->db, err,
        "WITH a AS (INSERT INTO webhook_attempts (delivery_id, n, manual, status_code, error,"
        "  duration_ms) SELECT $1, coalesce((SELECT max(n) FROM webhook_attempts"
        "  WHERE delivery_id = $1), 0) + 1, $2, nullif($3::int, 0), $4, $5),"
        " d AS (UPDATE webhook_deliveries SET state = $6,"
        "  attempts = attempts + CASE WHEN $2 THEN 0 ELSE 1 END, manual = false,"
        "  next_at = CASE WHEN $6 = 'pending' THEN now() + make_interval(secs => $7::int)"
        "   ELSE next_at END,"
        "  last_status = nullif($3::int, 0), last_error = $4,"
        "  delivered_at = CASE WHEN $6 = 'delivered' THEN now() ELSE delivered_at END,"
        "  lease_token = NULL, lease_until = NULL, updated_at = now()"
        "  WHERE id = $1 AND lease_token = $8 RETURNING webhook_id),"
        " w AS (UPDATE webhook_endpoints SET state = 'disabled', updated_at = now(),"
        "  disabled_reason = 'the receiver answered 410 Gone'"
        "  WHERE $9 AND state = 'active' AND id IN (SELECT webhook_id FROM d) RETURNING id)"
        " SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM w)",
        SW_PARAMS(t->delivery_id, t->manual ? "true" : "false", st, error, ms,
                  sw_hooks_state_name(o.state), retry, t->lease,
                  o.disable_endpoint ? "true" : "false"));
    if (!res)
        return -1;
    bool held = sw_db_get_i64(res, 0, 0) == 1, disabled = sw_db_get_i64(res, 0, 1) == 1;
    PQclear(res);
    sw_info("hooks.attempt", "delivery=%s status=%d outcome=%s ms=%s%s%s", t->delivery_id,
            status, sw_hooks_state_name(o.state), ms, held ? "" : " lease=lost",
            disabled ? " endpoint=disabled" : "");
    return 0;
}

/* What went wrong with a finished transfer, or NULL for an answer. */
static const char *transfer_error(struct transfer *t, CURLcode rc, long status, char *buf,
                                  size_t n)
{
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && t->overflow)) {
        if (status >= 200 && status < 300)
            return NULL;
        if (status >= 300 && status < 400)
            snprintf(buf, n, "the receiver answered %ld; redirects are not followed", status);
        else
            snprintf(buf, n, "the receiver answered %ld", status);
        return buf;
    }
    if (t->refused[0])
        snprintf(buf, n,
                 "refused to connect to %s: a loopback, private or link-local address "
                 "(SLIPWAY_HOOKS_ALLOW_PRIVATE is off)",
                 t->refused);
    else
        snprintf(buf, n, "%s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
    return buf;
}

/* Claims up to `room` due deliveries and starts them. */
static int claim(struct sw_hooks *h, struct conn *c, int room, int *inflight, struct sw_err *err)
{
    sw_uuid_t lease;
    sw_uuid_new(lease);
    char lim[16], secs[24];
    snprintf(lim, sizeof lim, "%d", room);
    snprintf(secs, sizeof secs, "%ld", h->timeout_s + LEASE_MARGIN_S);
    PGresult *res = sw_db_exec(
        c->db, err,
        "WITH due AS (SELECT d.id FROM webhook_deliveries d"
        "  JOIN webhook_endpoints w ON w.id = d.webhook_id"
        "  WHERE d.state = 'pending' AND d.next_at <= now() AND w.state = 'active'"
        "   AND (d.lease_until IS NULL OR d.lease_until < now())"
        "  ORDER BY d.next_at LIMIT $1 FOR UPDATE OF d SKIP LOCKED)"
        " UPDATE webhook_deliveries d SET lease_token = $2,"
        "  lease_until = now() + make_interval(secs => $3::int)"
        " FROM due, webhook_endpoints w, events e"
        " WHERE d.id = due.id AND w.id = d.webhook_id AND e.id = d.event_id"
        " RETURNING d.id, e.id, w.url, w.secret, d.attempts, d.manual,"
        "  json_build_object('type', e.type, 'timestamp', sw_ts(e.created_at),"
        "  'data', e.data)::text",
        SW_PARAMS(lim, lease, secs));
    if (!res)
        return -1;
    int n = PQntuples(res), rc = 0;
    for (int i = 0; i < n; i++) {
        const char *why = NULL;
        struct transfer *t = transfer_start(h, res, i, lease, &why);
        if (why) {
            sw_warn("hooks.not_sent", "delivery=%s why=\"%s\"", t->delivery_id, why);
            if (rc == 0 && record(h, c, t, 0, why, err) < 0)
                rc = -1;
            transfer_free(t);
            continue;
        }
        live_put(h, NULL, t);
        (*inflight)++;
    }
    PQclear(res);
    return rc;
}

/* Records every finished transfer. */
static int reap(struct sw_hooks *h, struct conn *c, int *inflight, struct sw_err *err)
{
    CURLMsg *m;
    int left, rc = 0;
    while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct transfer *t = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        CURLcode code = m->data.result;
        long status = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        char buf[CURL_ERROR_SIZE + 200];
        const char *error = transfer_error(t, code, status, buf, sizeof buf);
        if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && t->overflow))
            status = 0;
        (*inflight)--;
        /* Without the database the attempt goes unrecorded; the lease runs
         * out and the delivery is sent again, with the same webhook-id. */
        if (c->db && rc == 0 && record(h, c, t, (int)status, error, err) < 0)
            rc = -1;
        transfer_free(t);
    }
    return rc;
}

static void *run(void *arg)
{
    struct sw_hooks *h = arg;
    struct conn c = {0};
    int inflight = 0;
    unsigned backoff_ms = 0;
    bool warned = false;
    sw_info("hooks.started", "concurrency=%d attempts=%d allow_private=%d", h->concurrency,
            h->sched.n, h->allow_private);
    while (!atomic_load(&h->stopping)) {
        struct sw_err err = {0};
        int rc = conn_ensure(h, &c, &err);
        if (rc == 0) {
            drain_notifies(&c);
            long n;
            do
                n = fanout(h, &c, &err);
            while (n == FANOUT_BATCH && !atomic_load(&h->stopping));
            rc = n < 0 ? -1 : 0;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (rc == 0 && now.tv_sec - c.last_usage >= USAGE_EVERY_S) {
            rc = usage_tick(&c, &err);
            c.last_usage = now.tv_sec;
        }
        if (rc == 0 && inflight < h->concurrency)
            rc = claim(h, &c, h->concurrency - inflight, &inflight, &err);
        int running = 0;
        curl_multi_perform(h->multi, &running);
        struct sw_err rerr = {0};
        if (reap(h, &c, &inflight, &rerr) < 0 && rc == 0) {
            rc = -1;
            err = rerr;
        }
        if (rc < 0) {
            if (!warned || err.code != SW_EUNAVAILABLE)
                sw_log_err(err.code == SW_EUNAVAILABLE ? SW_LOG_WARN : SW_LOG_ERROR,
                           "hooks.step_failed", &err);
            warned = true;
            if (c.db && PQstatus(sw_db_conn(c.db)) != CONNECTION_OK)
                conn_drop(&c, &err);
            backoff_ms = backoff_ms ? (backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2) : 200;
        } else {
            if (warned)
                sw_info("hooks.recovered", "inflight=%d", inflight);
            warned = false;
            backoff_ms = 0;
        }
        /* Sleep until a socket moves, a notification comes, or the poll. */
        struct curl_waitfd pg = {.fd = c.db ? PQsocket(sw_db_conn(c.db)) : -1,
                                 .events = CURL_WAIT_POLLIN};
        int wait_ms = backoff_ms ? (int)backoff_ms : POLL_MS;
        curl_multi_poll(h->multi, pg.fd >= 0 ? &pg : NULL, pg.fd >= 0 ? 1 : 0, wait_ms, NULL);
    }
    /* Abandon what is in flight: the leases run out, others send them. */
    for (int i = 0; i < h->concurrency; i++)
        transfer_free(h->live[i]);
    sw_db_free(c.db);
    sw_info("hooks.stopped", "inflight=%d", inflight);
    return NULL;
}

struct sw_hooks *sw_hooks_start(const char *db_url, struct sw_err *err)
{
    struct sw_hooks h0 = {0};
    long conc = 0;
    if (sw_conf_bool("SLIPWAY_HOOKS_ALLOW_PRIVATE", &h0.allow_private, err) < 0 ||
        sw_conf_long("SLIPWAY_HOOKS_TIMEOUT", 1, 60, &h0.timeout_s, err) < 0 ||
        sw_hooks_schedule_parse(sw_conf_get("SLIPWAY_HOOKS_RETRY_SCHEDULE"), &h0.sched, err) < 0 ||
        sw_conf_long("SLIPWAY_HOOKS_CONCURRENCY", 1, 256, &conc, err) < 0)
        return NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        SW_ERR(err, SW_EINTERNAL, "could not initialise libcurl");
        return NULL;
    }
    struct sw_hooks *h = sw_calloc(1, sizeof *h);
    *h = h0;
    h->concurrency = (int)conc;
    h->db_url = sw_strdup(db_url);
    h->live = sw_calloc((size_t)h->concurrency, sizeof *h->live);
    atomic_init(&h->stopping, false);
    h->multi = curl_multi_init();
    if (!h->multi || pthread_create(&h->thread, NULL, run, h) != 0) {
        SW_ERR(err, SW_EINTERNAL, "could not start the webhook thread");
        if (h->multi)
            curl_multi_cleanup(h->multi);
        free(h->live);
        free(h->db_url);
        free(h);
        curl_global_cleanup();
        return NULL;
    }
    return h;
}

void sw_hooks_stop(struct sw_hooks *h)
{
    if (!h)
        return;
    atomic_store(&h->stopping, true);
    curl_multi_wakeup(h->multi);
    pthread_join(h->thread, NULL);
    curl_multi_cleanup(h->multi);
    free(h->live);
    free(h->db_url);
    free(h);
    curl_global_cleanup();
}
