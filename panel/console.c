/* console.c - console tickets and the console WebSocket (console.h). */
#include "config.h"
#include "panel/console.h"
#include "panel/handlers.h"
#include "core/alloc.h"
#include "core/conf.h"
#include "core/conlink.h"
#include "core/db.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/redis.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
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
#include <wslay/wslay.h>

#define TICKET_TTL "60" /* seconds */
#define CLOSE_WAIT_MS 3000

static const struct sw_jfield open_fields[] = {
    {"type", SW_JT_STRING, true},
    {NULL, 0, false},
};

/* The ticket's answer: where to connect, from the Host the client used. */
static json_t *ticket_body(struct sw_req *req, const char *ticket, const char *type,
                           const char *expires)
{
    const char *host = req->header ? req->header(req, "Host") : NULL;
    char url[300];
    snprintf(url, sizeof url, "ws://%s" SW_CONSOLE_WS_PATH, host ? host : "localhost");
    return json_pack("{s:s, s:s, s:s, s:s}", "ticket", ticket, "type", type, "url", url,
                     "expires_at", expires);
}

SW_HANDLER(sw_h_console_open)
{
    char ticket[SW_TOKEN_LEN + 1] = "", hash[SW_TOKEN_HASH_HEX + 1];
    const char *id = sw_api_param_uuid(req, 0, "server", err);
    json_t *body = id ? sw_api_body(req, open_fields, err) : NULL;
    if (!body)
        return -1;
    const char *type = sw_json_str(body, "type");
    int rc = -1;
    if (strcmp(type, "serial") != 0) {
        SW_ERR(err, strcmp(type, "vnc") == 0 ? SW_EUNSUPPORTED : SW_EINVALID,
               "type must be serial (vnc consoles are not served yet)");
        goto out;
    }
    sw_token_new(ticket);
    sw_token_hash(req->app->key, ticket, hash);
    PGresult *res = sw_db_exec(
        req->db, err,
        "WITH s AS (SELECT id, state FROM servers WHERE id = $2),"
        " t AS (INSERT INTO console_tickets (hash, server_id, account_id, type, expires_at)"
        "       SELECT $1, s.id, $3, $4, now() + make_interval(secs => $5) FROM s"
        "        WHERE s.state = 'running' RETURNING expires_at)"
        " SELECT s.state, to_char(t.expires_at AT TIME ZONE 'UTC',"
        " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM s LEFT JOIN t ON true",
        SW_PARAMS(hash, id, req->who.account_id, type, TICKET_TTL));
    sodium_memzero(hash, sizeof hash);
    if (!res)
        goto out;
    if (PQntuples(res) != 1)
        SW_ERR(err, SW_ENOTFOUND, "server not found");
    else if (PQgetisnull(res, 0, 1))
        SW_ERR(err, SW_ECONFLICT, "the server is %s; only a running server has a console",
               sw_db_get(res, 0, 0));
    else {
        rc = sw_api_reply(resp, 201, ticket_body(req, ticket, type, sw_db_get(res, 0, 1)));
        resp->secret_field = "ticket";
    }
    PQclear(res);
out:
    sodium_memzero(ticket, sizeof ticket);
    json_decref(body);
    return rc;
}

const struct sw_route sw_routes_console[] = {
    {"POST", "/v1/servers/{id}/console", ANY, SW_OWN_SERVER, sw_h_console_open,
     "a one-time ticket (60 s) for the server's console WebSocket", 0},
    SW_ROUTES_END,
};

/* ---- the WebSocket ---- */

struct sw_console {
    char server_id[SW_UUID_LEN + 1], node_id[SW_UUID_LEN + 1];
    char sid[SW_CONLINK_SID_LEN + 1];
    char in_key[SW_CONLINK_KEY_MAX], out_key[SW_CONLINK_KEY_MAX];
    char *redis_url;
    long idle_ms;
    int fd, wake[2];
    char *extra;
    size_t nextra, extra_off;
    void (*done)(void *);
    void *done_arg;
    pthread_mutex_t mu; /* the wslay context, shared with the reader */
    wslay_event_context_ptr ws;
    struct sw_redis *rin; /* the WebSocket thread's: keystrokes to the node */
    _Atomic long long last_ms;
    long long ping_ms; /* the last ping to the node (core/conlink.h) */
    atomic_bool over;
    long long closing_ms; /* when the closing message was queued; 0: not closing */
    char why[128];        /* its reason, for the close frame once the message is out */
};

struct sw_console *sw_console_take(struct sw_panel *app, const char *ticket, struct sw_err *err)
{
    if (!ticket || strlen(ticket) != SW_TOKEN_LEN) {
        SW_ERR(err, SW_ENOTFOUND, "the console ticket is unknown, used or expired");
        return NULL;
    }
    char hash[SW_TOKEN_HASH_HEX + 1];
    sw_token_hash(app->key, ticket, hash);
    struct sw_db *db = sw_db_pool_get(app->pool);
    PGresult *res = sw_db_exec(
        db, err,
        "UPDATE console_tickets t SET used_at = now() FROM servers s"
        " WHERE t.hash = $1 AND t.used_at IS NULL AND t.expires_at > now()"
        "   AND s.id = t.server_id"
        " RETURNING s.id, s.node_id, s.state",
        SW_PARAMS(hash));
    sw_db_pool_put(app->pool, db);
    if (!res)
        return NULL;
    struct sw_console *c = NULL;
    long idle_s = 600;
    if (PQntuples(res) != 1)
        SW_ERR(err, SW_ENOTFOUND, "the console ticket is unknown, used or expired");
    else if (strcmp(sw_db_get(res, 0, 2), "running") != 0 || PQgetisnull(res, 0, 1))
        SW_ERR(err, SW_ECONFLICT, "the server is %s; only a running server has a console",
               sw_db_get(res, 0, 2));
    else if (sw_conf_long("SLIPWAY_CONSOLE_IDLE_S", 1, 86400, &idle_s, err) == 0) {
        c = sw_calloc(1, sizeof *c);
        snprintf(c->server_id, sizeof c->server_id, "%s", sw_db_get(res, 0, 0));
        snprintf(c->node_id, sizeof c->node_id, "%s", sw_db_get(res, 0, 1));
        c->redis_url = sw_strdup(app->redis_url);
        c->idle_ms = idle_s * 1000;
        c->fd = c->wake[0] = c->wake[1] = -1;
    }
    PQclear(res);
    return c;
}

void sw_console_free(struct sw_console *c)
{
    if (!c)
        return;
    free(c->redis_url);
    free(c->extra);
    free(c);
}

int sw_console_accept(const char *key, char out[SW_CONSOLE_ACCEPT_LEN + 1])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char buf[128];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!key || strlen(key) != 24)
        return -1;
    int n = snprintf(buf, sizeof buf, "%s%s", key, guid);
    if (EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
        return -1;
    sodium_bin2base64(out, SW_CONSOLE_ACCEPT_LEN + 1, md, mdlen, sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *arg)
{
    (void)flags;
    struct sw_console *c = arg;
    if (c->extra_off < c->nextra) {
        size_t n = c->nextra - c->extra_off < len ? c->nextra - c->extra_off : len;
        memcpy(buf, c->extra + c->extra_off, n);
        c->extra_off += n;
        return (ssize_t)n;
    }
    ssize_t n = recv(c->fd, buf, len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    else if (n <= 0)
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return n > 0 ? n : -1;
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *arg)
{
    (void)flags;
    struct sw_console *c = arg;
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    else if (n < 0)
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return n >= 0 ? n : -1;
}

static int ws_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *arg)
{
    (void)ctx;
    (void)arg;
    randombytes_buf(buf, len);
    return 0;
}

/* A message from the browser: its bytes are keystrokes for the guest. */
static void ws_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *m,
                   void *arg)
{
    (void)ctx;
    struct sw_console *c = arg;
    if (m->opcode != WSLAY_TEXT_FRAME && m->opcode != WSLAY_BINARY_FRAME)
        return;
    atomic_store(&c->last_ms, now_ms());
    struct sw_err err = {0};
    if (sw_conlink_push(c->rin, c->in_key, SW_CONLINK_DATA, m->msg, m->msg_length, &err) < 0)
        sw_log_err(SW_LOG_WARN, "panel.console_link_failed", &err);
}

/* Says why the console closes: a text message now, the close frame once
 * every message is out (ws_close_when_sent: wslay sends control frames
 * ahead of queued messages). Called with c->mu held. */
static void ws_closing(struct sw_console *c, const char *why)
{
    if (c->closing_ms)
        return;
    c->closing_ms = now_ms();
    snprintf(c->why, sizeof c->why, "%s", why);
    char text[300];
    int n = snprintf(text, sizeof text, "\r\n[slipway: console closed: %s]\r\n", c->why);
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, (size_t)n};
    wslay_event_queue_msg(c->ws, &m);
}

/* Called with c->mu held, after a send. */
static void ws_close_when_sent(struct sw_console *c)
{
    if (c->closing_ms && c->why[0] && wslay_event_get_queued_msg_count(c->ws) == 0) {
        wslay_event_queue_close(c->ws, WSLAY_CODE_NORMAL_CLOSURE, (const uint8_t *)c->why,
                                strnlen(c->why, 120)); /* a close reason: 123 bytes at most */
        c->why[0] = '\0';
    }
}

static void wake(struct sw_console *c)
{
    char b = 1;
    ssize_t w = write(c->wake[1], &b, 1);
    (void)w; /* a full pipe already wakes the loop */
}

/* The guest's bytes from the node, queued on the WebSocket, until the
 * node's end or the session is over. */
static void *reader_main(void *arg)
{
    struct sw_console *c = arg;
    struct sw_err err = {0};
    struct sw_redis *r = sw_redis_connect(c->redis_url, &err);
    while (r && !atomic_load(&c->over)) {
        int kind = 0;
        char *data = NULL;
        size_t n = 0;
        int got = sw_conlink_pop(r, c->out_key, 1, &kind, &data, &n, &err);
        if (got < 0)
            break;
        pthread_mutex_lock(&c->mu);
        if (got == 1 && kind == SW_CONLINK_DATA) {
            struct wslay_event_msg m = {WSLAY_BINARY_FRAME, (const uint8_t *)data, n};
            wslay_event_queue_msg(c->ws, &m); /* wslay copies the message */
            atomic_store(&c->last_ms, now_ms());
        } else if (got == 1 && kind == SW_CONLINK_END)
            ws_closing(c, data);
        pthread_mutex_unlock(&c->mu);
        free(data);
        if (got == 1) {
            wake(c);
            if (kind == SW_CONLINK_END)
                break;
        }
    }
    if (err.code) {
        sw_log_err(SW_LOG_WARN, "panel.console_link_failed", &err);
        pthread_mutex_lock(&c->mu);
        ws_closing(c, "the link to the node failed");
        pthread_mutex_unlock(&c->mu);
        wake(c);
    }
    sw_redis_free(r);
    return NULL;
}

/* One turn of the WebSocket: read and write what the socket allows; false
 * once the WebSocket is over. */
static bool ws_turn(struct sw_console *c)
{
    bool more = c->extra_off < c->nextra;
    struct pollfd p[2] = {{c->fd, 0, 0}, {c->wake[0], POLLIN, 0}};
    pthread_mutex_lock(&c->mu);
    p[0].events = (short)((wslay_event_want_read(c->ws) ? POLLIN : 0) |
                          (wslay_event_want_write(c->ws) ? POLLOUT : 0));
    bool live = p[0].events != 0;
    pthread_mutex_unlock(&c->mu);
    if (!live)
        return false;
    if (!more && poll(p, 2, 1000) < 0 && errno != EINTR)
        return false;
    char drain[64];
    if (p[1].revents & POLLIN && read(c->wake[0], drain, sizeof drain) < 0)
        return false;
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    if (more || p[0].revents & (POLLIN | POLLHUP | POLLERR))
        rc = wslay_event_recv(c->ws);
    if (rc == 0)
        rc = wslay_event_send(c->ws);
    ws_close_when_sent(c);
    if (rc == 0)
        rc = wslay_event_send(c->ws);
    if (rc == 0 && now_ms() - atomic_load(&c->last_ms) > c->idle_ms) {
        char why[64];
        snprintf(why, sizeof why, "idle for %ld s", c->idle_ms / 1000);
        ws_closing(c, why);
    }
    /* a client that never answers the close frame */
    bool gone = c->closing_ms && now_ms() - c->closing_ms > CLOSE_WAIT_MS;
    pthread_mutex_unlock(&c->mu);
    return rc == 0 && !gone;
}

/* Asks the node to open the console for this session. */
static int ask_node(struct sw_console *c, struct sw_err *err)
{
    char key[SW_CONLINK_KEY_MAX], req[128];
    sw_conlink_key(key, c->node_id, "open");
    int n = snprintf(req, sizeof req, "%s %s", c->sid, c->server_id);
    return sw_conlink_push(c->rin, key, SW_CONLINK_DATA, req, (size_t)n, err);
}

/* Tells the node the panel is still there, every SW_CONLINK_PING_S. */
static void ping_node(struct sw_console *c)
{
    struct sw_err err = {0};
    if (now_ms() - c->ping_ms < SW_CONLINK_PING_S * 1000)
        return;
    c->ping_ms = now_ms();
    if (sw_conlink_push(c->rin, c->in_key, SW_CONLINK_PING, "", 0, &err) < 0)
        sw_log_err(SW_LOG_WARN, "panel.console_link_failed", &err);
}

static void *ws_main(void *arg)
{
    struct sw_console *c = arg;
    struct sw_err err = {0};
    struct wslay_event_callbacks cb = {ws_recv, ws_send, ws_genmask, NULL, NULL, NULL, ws_msg};
    pthread_t reader;
    bool reading = false;
    atomic_store(&c->last_ms, now_ms());
    if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) == 0 &&
        wslay_event_context_server_init(&c->ws, &cb, c) == 0 &&
        (c->rin = sw_redis_connect(c->redis_url, &err)) && ask_node(c, &err) == 0 &&
        pthread_create(&reader, NULL, reader_main, c) == 0) {
        reading = true;
        sw_info("panel.console_opened", "server=%s node=%s", c->server_id, c->node_id);
        c->ping_ms = now_ms();
        while (ws_turn(c))
            ping_node(c);
    }
    if (err.code)
        sw_log_err(SW_LOG_WARN, "panel.console_failed", &err);
    atomic_store(&c->over, true);
    if (c->rin && sw_conlink_push(c->rin, c->in_key, SW_CONLINK_CLOSE, "", 0, &err) < 0)
        sw_log_err(SW_LOG_WARN, "panel.console_link_failed", &err);
    if (reading)
        pthread_join(reader, NULL);
    sw_info("panel.console_closed", "server=%s", c->server_id);
    sw_redis_free(c->rin);
    if (c->ws)
        wslay_event_context_free(c->ws);
    for (int i = 0; i < 2; i++)
        if (c->wake[i] >= 0)
            close(c->wake[i]);
    pthread_mutex_destroy(&c->mu);
    c->done(c->done_arg);
    sw_console_free(c);
    return NULL;
}

void sw_console_run(struct sw_console *c, int fd, const char *extra, size_t nextra,
                    void (*done)(void *), void *arg)
{
    c->fd = fd;
    c->extra = nextra ? sw_malloc(nextra) : NULL;
    if (nextra)
        memcpy(c->extra, extra, nextra);
    c->nextra = nextra;
    c->done = done;
    c->done_arg = arg;
    pthread_mutex_init(&c->mu, NULL);
    sw_conlink_sid(c->sid);
    char which[SW_CONLINK_KEY_MAX];
    snprintf(which, sizeof which, "%s:in", c->sid);
    sw_conlink_key(c->in_key, c->node_id, which);
    snprintf(which, sizeof which, "%s:out", c->sid);
    sw_conlink_key(c->out_key, c->node_id, which);
    int fl = fcntl(fd, F_GETFL), one = 1;
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    /* a keystroke's echo is a frame of a few bytes: no Nagle delay */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, ws_main, c) != 0) {
        sw_error("panel.console_failed", "what=thread");
        pthread_mutex_destroy(&c->mu);
        done(arg);
        sw_console_free(c);
    }
    pthread_attr_destroy(&a);
}
