/* http.c - libmicrohttpd adapter: collects a request (method, path, query,
 * headers, body up to SW_HTTP_MAX_BODY), hands it to the router, and sends
 * the JSON answer. Per-request memory is released when MHD reports the
 * request completed. */
#include "config.h"
#include "panel/http.h"
#include "panel/api.h"
#include "panel/console.h"
#include "panel/image_store.h"
#include "panel/router.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "panel/errmap.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct sw_http {
    struct MHD_Daemon *d;
    struct sw_panel *app;
};

struct req_ctx {
    char *body;
    size_t len, cap;
    bool too_large;
    bool answered;
    /* a multipart/form-data upload, parsed by MHD's post processor */
    struct MHD_PostProcessor *pp;
    struct sw_upload *up;
    uint64_t discarded; /* bytes read after the upload failed */
};

/* A failed upload's body is read on (MHD 0.9.75 answers only once it has
 * it) up to this much, then the connection is closed without an answer. */
#define SW_HTTP_DISCARD_MAX (64ull * 1024 * 1024)

static const char *query_lookup(const struct sw_req *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

static const char *header_lookup(const struct sw_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result send_json(struct MHD_Connection *conn, int status, json_t *body,
                                 const char *replayed)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !text)
        abort();
    size_t len = text ? strlen(text) : 0;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, text ? text : (char *)"", text ? MHD_RESPMEM_MUST_FREE
                                                                              : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    if (text)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (replayed)
        MHD_add_response_header(r, "Idempotent-Replayed", replayed);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, int status, const char *code,
                                  const char *msg)
{
    json_t *b = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
    enum MHD_Result r = send_json(conn, status, b, NULL);
    json_decref(b);
    return r;
}

static void remote_addr(struct MHD_Connection *conn, char *buf, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(buf, n, "unknown");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                  (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
                  (socklen_t)n);
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, struct sw_resp *resp)
{
    enum MHD_Result r;
    struct MHD_Response *mr = NULL;
    if (resp->send_fd) {
        mr = MHD_create_response_from_fd64(resp->fd_size, resp->fd);
        if (mr)
            MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
        else
            close(resp->fd);
    } else if (resp->text) {
        mr = MHD_create_response_from_buffer(strlen(resp->text), resp->text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
                                resp->content_type ? resp->content_type : "text/plain");
    } else {
        r = send_json(conn, resp->status, resp->body, resp->replayed);
        json_decref(resp->body);
        return r;
    }
    r = mr ? MHD_queue_response(conn, (unsigned)resp->status, mr) : MHD_NO;
    if (mr)
        MHD_destroy_response(mr);
    json_decref(resp->body);
    return r;
}

/* Each piece of a multipart/form-data body, as MHD's post processor
 * parses it: handed to the upload (image_store.h). */
static enum MHD_Result on_form(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size)
{
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    struct req_ctx *c = cls;
    sw_upload_piece(c->up, key, filename, data, off, size);
    return MHD_YES; /* a failed upload reads on (discarding) to answer why */
}

static void request_init(struct sw_req *req, struct sw_http *h, struct MHD_Connection *conn,
                         const char *method, const char *url, char *addr, size_t n)
{
    remote_addr(conn, addr, n);
    *req = (struct sw_req){
        .app = h->app,
        .method = method,
        .path = url,
        .remote = addr,
        .authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_AUTHORIZATION),
        .idempotency_key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key"),
        .query = query_lookup,
        .header = header_lookup,
        .conn = conn,
    };
}

/* A multipart/form-data POST: the router says first whether the route
 * takes uploads and the caller may make one (so nobody unauthenticated
 * streams a file to disk), then MHD's post processor parses the body into
 * an upload. MHD_YES with c->up set, or the refusal queued. */
static enum MHD_Result upload_begin(struct sw_http *h, struct MHD_Connection *conn,
                                    struct req_ctx *c, const char *method, const char *url)
{
    char addr[INET6_ADDRSTRLEN + 1];
    struct sw_req req;
    request_init(&req, h, conn, method, url, addr, sizeof addr);
    struct sw_resp resp = {0};
    c->answered = true;
    if (sw_router_upload_begin(&req, &resp) < 0)
        return send_resp(conn, &resp);
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > (uint64_t)sw_image_store_max_bytes() + SW_HTTP_MAX_BODY)
        return send_error(conn, 413, "payload_too_large",
                          "the upload is larger than SLIPWAY_IMAGE_MAX_BYTES");
    c->up = sw_upload_new();
    c->pp = MHD_create_post_processor(conn, 64 * 1024, on_form, c);
    if (!c->pp)
        return send_error(conn, 400, "invalid_request", "the multipart/form-data body is malformed");
    c->answered = false;
    return MHD_YES;
}

static bool is_multipart(struct MHD_Connection *conn, const char *method)
{
    const char *ct =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    return strcmp(method, "POST") == 0 && ct &&
           strncasecmp(ct, "multipart/form-data", strlen("multipart/form-data")) == 0;
}

/* A piece of a JSON body: kept up to SW_HTTP_MAX_BODY. */
static void body_piece(struct req_ctx *c, const char *data, size_t n)
{
    if (!c->too_large && c->len + n > SW_HTTP_MAX_BODY)
        c->too_large = true;
    if (c->too_large)
        return;
    if (c->len + n + 1 > c->cap) {
        c->cap = (c->len + n + 1) * 2;
        if (c->cap > SW_HTTP_MAX_BODY + 1)
            c->cap = SW_HTTP_MAX_BODY + 1;
        c->body = sw_realloc(c->body, c->cap);
    }
    memcpy(c->body + c->len, data, n);
    c->len += n;
    c->body[c->len] = '\0';
}

/* A piece of a multipart/form-data body, through MHD's post processor;
 * false once a failed upload sent more than SW_HTTP_DISCARD_MAX since. */
static bool form_piece(struct req_ctx *c, const char *data, size_t n)
{
    if (c->up->failed) {
        c->discarded += n;
        return c->discarded <= SW_HTTP_DISCARD_MAX;
    }
    if (MHD_post_process(c->pp, data, n) != MHD_YES) {
        struct sw_err e = {0};
        SW_ERR(&e, SW_EINVALID, "the multipart/form-data body is malformed");
        sw_upload_fail(c->up, &e);
    }
    return true;
}

/* The form has arrived: its fields (with the file's sha256) become the
 * request body and req carries the upload. -1 when it failed
 * (c->up->failure says why). */
static int form_end(struct req_ctx *c, struct sw_req *req)
{
    MHD_destroy_post_processor(c->pp);
    c->pp = NULL;
    free(c->body);
    c->body = sw_upload_finish(c->up);
    if (!c->body)
        return -1;
    c->len = strlen(c->body);
    req->upload = c->up;
    return 0;
}

static void upgrade_done(void *urh)
{
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *req_cls,
                       const char *extra_in, size_t extra_in_size, MHD_socket sock,
                       struct MHD_UpgradeResponseHandle *urh)
{
    (void)conn;
    (void)req_cls;
    sw_console_run(cls, sock, extra_in, extra_in_size, upgrade_done, urh);
}

/* GET /v1/console/ws?ticket=T (console.h): the ticket taken, 101 and the
 * socket handed to the console's relay. */
static enum MHD_Result console_upgrade(struct sw_http *h, struct MHD_Connection *conn)
{
    const char *up = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_UPGRADE);
    char accept[SW_CONSOLE_ACCEPT_LEN + 1];
    if (!up || strcasecmp(up, "websocket") != 0 ||
        sw_console_accept(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Key"),
                          accept) < 0)
        return send_error(conn, 400, "invalid_request", "the console needs a WebSocket upgrade");
    struct sw_err err = {0};
    struct sw_console *c = sw_console_take(
        h->app, MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "ticket"), &err);
    if (!c) {
        int status;
        json_t *b = sw_errmap_body(&err, &status);
        enum MHD_Result r = send_json(conn, status, b, NULL);
        json_decref(b);
        return r;
    }
    struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgrade, c);
    if (!r) {
        sw_console_free(c);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "websocket");
    MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct sw_http *h = cls;
    struct req_ctx *c = *con_cls;
    if (!c) {
        c = sw_calloc(1, sizeof *c);
        *con_cls = c;
        if (is_multipart(conn, method))
            return upload_begin(h, conn, c, method, url);
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > SW_HTTP_MAX_BODY) {
            /* Refuse before reading the body; MHD closes the connection. */
            c->answered = true;
            return send_error(conn, 413, "payload_too_large",
                              "request body is larger than 1 MiB");
        }
        return MHD_YES;
    }
    if (c->answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (c->pp && !form_piece(c, upload_data, *upload_data_size))
            return MHD_NO; /* closes the connection */
        if (!c->pp)
            body_piece(c, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    c->answered = true;
    if (c->too_large)
        return send_error(conn, 413, "payload_too_large", "request body is larger than 1 MiB");
    if (strcmp(method, "GET") == 0 && strcmp(url, SW_CONSOLE_WS_PATH) == 0)
        return console_upgrade(h, conn);

    char addr[INET6_ADDRSTRLEN + 1];
    struct sw_req req;
    request_init(&req, h, conn, method, url, addr, sizeof addr);
    struct sw_resp resp = {0};
    if (c->pp && form_end(c, &req) < 0) {
        json_t *b = sw_errmap_body(c->up->failure, &resp.status);
        enum MHD_Result r = send_json(conn, resp.status, b, NULL);
        json_decref(b);
        return r;
    }
    req.body = c->body;
    req.body_len = c->len;
    sw_router_dispatch(&req, &resp);
    return send_resp(conn, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct req_ctx *c = *con_cls;
    if (!c)
        return;
    if (c->pp)
        MHD_destroy_post_processor(c->pp);
    sw_upload_free(c->up); /* an image not kept is removed */
    free(c->body);
    free(c);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512], q[600];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    sw_warn("http.mhd", "msg=%s", sw_log_quote(q, sizeof q, buf));
}

struct sw_http *sw_http_start(struct sw_panel *app, const char *listen, unsigned threads,
                              const struct sw_http_limits *limits, unsigned *port,
                              struct sw_err *err)
{
    const char *colon = strrchr(listen, ':');
    if (!colon) {
        SW_ERR(err, SW_EINVALID, "SLIPWAY_LISTEN must be HOST:PORT, not \"%s\"", listen);
        return NULL;
    }
    char host[64];
    size_t hl = (size_t)(colon - listen);
    if (hl >= sizeof host) {
        SW_ERR(err, SW_EINVALID, "SLIPWAY_LISTEN host is too long");
        return NULL;
    }
    memcpy(host, listen, hl);
    host[hl] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)p);
    if (*end || p < 0 || p > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        SW_ERR(err, SW_EINVALID, "SLIPWAY_LISTEN must be IPV4:PORT, not \"%s\"", listen);
        return NULL;
    }
    struct sw_http *h = sw_calloc(1, sizeof *h);
    h->app = app;
    h->d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE, 0, NULL, NULL, on_request, h,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, so every message goes through it */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        /* MHD splits the limit among the pool's threads: at least one each */
        MHD_OPTION_CONNECTION_LIMIT, limits->max_conns < threads ? threads : limits->max_conns,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, limits->per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, limits->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_END);
    if (!h->d) {
        SW_ERR(err, SW_EUNAVAILABLE, "could not listen on %s", listen);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    *port = di ? di->port : (unsigned)p;
    return h;
}

void sw_http_stop(struct sw_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    free(h);
}
