/* console.c - relays a domain's serial console over the console link
 * (console.h, core/conlink.h). */
#include "config.h"
#include "engines/console.h"
#include "engines/kind.h"
#include "core/alloc.h"
#include "core/conlink.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redis.h"

#include <libvirt/libvirt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct session {
    const struct sw_engine *eng;
    const char *redis_url;
    char sid[SW_CONLINK_SID_LEN + 1];
    char server_id[64];
    char in_key[SW_CONLINK_KEY_MAX], out_key[SW_CONLINK_KEY_MAX];
    virDomainPtr dom;
    virStreamPtr st;
    atomic_bool over;
};

/* Pushes the end of the session, saying why, on its own connection. */
static void push_end(struct session *s, struct sw_redis *r, const char *why)
{
    struct sw_err err = {0};
    if (sw_conlink_push(r, s->out_key, SW_CONLINK_END, why, strlen(why), &err) < 0)
        sw_log_err(SW_LOG_WARN, "engine.console_link_failed", &err);
}

/* After the stream ended: whether the domain still runs, given up to 2 s
 * to be seen stopped (the console's end can come before libvirt has
 * handled QEMU's exit). */
static bool still_running(struct session *s)
{
    for (int i = 0; i < 20; i++) {
        if (virDomainIsActive(s->dom) != 1)
            return false;
        usleep(100 * 1000);
    }
    return true;
}

/* The guest's bytes to the panel until the stream ends. */
static void *reader_main(void *arg)
{
    struct session *s = arg;
    struct sw_err err = {0};
    struct sw_redis *r = sw_redis_connect(s->redis_url, &err);
    char buf[4096];
    int n = 0;
    while (r && (n = virStreamRecv(s->st, buf, sizeof buf)) > 0)
        if (sw_conlink_push(r, s->out_key, SW_CONLINK_DATA, buf, (size_t)n, &err) < 0)
            break;
    if (r && !atomic_load(&s->over))
        push_end(s, r, still_running(s) ? "the console closed" : "the server stopped");
    if (err.code)
        sw_log_err(SW_LOG_WARN, "engine.console_link_failed", &err);
    atomic_store(&s->over, true);
    sw_redis_free(r);
    return NULL;
}

/* Keystrokes from the panel to the guest until a close, the stream's end,
 * or the link going quiet for SW_CONLINK_TTL_S (the panel pings every
 * SW_CONLINK_PING_S: a quiet link is a panel gone). */
static void relay_in(struct session *s, struct sw_redis *r)
{
    long quiet = 0;
    while (!atomic_load(&s->over) && quiet < SW_CONLINK_TTL_S) {
        struct sw_err err = {0};
        int kind = 0;
        char *data = NULL;
        size_t n = 0;
        int got = sw_conlink_pop(r, s->in_key, 1, &kind, &data, &n, &err);
        quiet = got == 0 ? quiet + 1 : 0;
        if (got < 0) {
            sw_log_err(SW_LOG_WARN, "engine.console_link_failed", &err);
            break;
        }
        for (size_t off = 0; got == 1 && kind == SW_CONLINK_DATA && off < n;) {
            int w = virStreamSend(s->st, data + off, n - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        free(data);
        if (got == 1 && kind == SW_CONLINK_CLOSE)
            break;
    }
}

static int open_console(struct session *s, struct sw_err *err)
{
    char name[128];
    snprintf(name, sizeof name, SW_ENGINE_DOMAIN_PREFIX "%s", s->server_id);
    s->dom = virDomainLookupByName(s->eng->conn, name);
    if (!s->dom || virDomainIsActive(s->dom) != 1) {
        SW_ERR(err, SW_ECONFLICT, "the server is not running on this node");
        return -1;
    }
    s->st = virStreamNew(s->eng->conn, 0);
    if (!s->st || virDomainOpenConsole(s->dom, NULL, s->st, VIR_DOMAIN_CONSOLE_FORCE) < 0) {
        SW_ERR(err, SW_EUNAVAILABLE, "could not open the serial console");
        return -1;
    }
    return 0;
}

static void *session_main(void *arg)
{
    struct session *s = arg;
    struct sw_err err = {0};
    struct sw_redis *r = sw_redis_connect(s->redis_url, &err);
    pthread_t reader;
    if (r && open_console(s, &err) == 0 && pthread_create(&reader, NULL, reader_main, s) == 0) {
        sw_info("engine.console_opened", "server=%s", s->server_id);
        relay_in(s, r);
        atomic_store(&s->over, true);
        virStreamAbort(s->st);
        pthread_join(reader, NULL);
        sw_info("engine.console_closed", "server=%s", s->server_id);
    } else if (r) {
        push_end(s, r, err.msg[0] ? err.msg : "could not open the serial console");
    }
    if (err.code)
        sw_log_err(SW_LOG_WARN, "engine.console_failed", &err);
    if (s->st)
        virStreamFree(s->st);
    if (s->dom)
        virDomainFree(s->dom);
    sw_redis_free(r);
    free(s);
    return NULL;
}

/* "<sid> <server id>" into a new session; NULL when malformed. */
static struct session *session_new(const struct sw_engine *eng, const char *redis_url,
                                   const char *req)
{
    struct session *s = sw_calloc(1, sizeof *s);
    s->eng = eng;
    s->redis_url = redis_url;
    if (sscanf(req, "%32[0-9a-f] %63[0-9a-f-]", s->sid, s->server_id) != 2 ||
        strlen(s->sid) != SW_CONLINK_SID_LEN) {
        free(s);
        return NULL;
    }
    char which[SW_CONLINK_KEY_MAX];
    snprintf(which, sizeof which, "%s:in", s->sid);
    sw_conlink_key(s->in_key, eng->node_id, which);
    snprintf(which, sizeof which, "%s:out", s->sid);
    sw_conlink_key(s->out_key, eng->node_id, which);
    return s;
}

static void start_session(const struct sw_engine *eng, const char *redis_url, const char *req)
{
    struct session *s = session_new(eng, redis_url, req);
    pthread_t t;
    pthread_attr_t a;
    if (!s) {
        sw_warn("engine.console_refused", "why=malformed_request");
        return;
    }
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, session_main, s) != 0) {
        sw_error("engine.console_failed", "what=thread");
        free(s);
    }
    pthread_attr_destroy(&a);
}

void sw_engine_console_serve(const struct sw_engine *eng, const char *redis_url,
                             bool (*stopping)(void *), void *arg)
{
    char key[SW_CONLINK_KEY_MAX];
    sw_conlink_key(key, eng->node_id, "open");
    struct sw_err err = {0};
    struct sw_redis *r = NULL;
    while (!stopping(arg)) {
        if (!r && !(r = sw_redis_connect(redis_url, &err))) {
            sw_log_err(SW_LOG_WARN, "engine.console_link_failed", &err);
            sleep(1);
            continue;
        }
        int kind = 0;
        char *req = NULL;
        size_t n = 0;
        int got = sw_conlink_pop(r, key, 1, &kind, &req, &n, &err);
        if (got < 0) {
            sw_log_err(SW_LOG_WARN, "engine.console_link_failed", &err);
            sw_redis_free(r);
            r = NULL;
            sleep(1);
        } else if (got == 1 && kind == SW_CONLINK_DATA)
            start_session(eng, redis_url, req);
        free(req);
    }
    sw_redis_free(r);
}
