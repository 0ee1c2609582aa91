#include "config.h"
#include "core/redisurl.h"
#include "core/alloc.h"
#include "core/err.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The decimal number in [s, e), or -1 unless it is digits only and <= max. */
static long num(const char *s, const char *e, long max)
{
    if (s == e || e - s > 10)
        return -1;
    long v = 0;
    for (const char *p = s; p < e; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v <= max ? v : -1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* [s, e) percent-decoded; NULL for a bad escape or an encoded NUL. */
static char *decode(const char *s, const char *e)
{
    char *out = sw_malloc((size_t)(e - s) + 1), *o = out;
    for (const char *p = s; p < e; p++) {
        if (*p != '%') {
            *o++ = *p;
            continue;
        }
        int hi = p + 2 < e ? hexval(p[1]) : -1, lo = hi >= 0 ? hexval(p[2]) : -1;
        if (lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            return NULL;
        }
        *o++ = (char)(hi * 16 + lo);
        p += 2;
    }
    *o = '\0';
    return out;
}

static int bad(struct sw_err *err, const char *why)
{
    SW_ERR(err, SW_EINVALID, "malformed redis URL: %s", why);
    return -1;
}

/* USER[:PASSWORD] in [s, e). */
static int parse_userinfo(struct sw_redis_url *u, const char *s, const char *e, struct sw_err *err)
{
    const char *colon = memchr(s, ':', (size_t)(e - s));
    u->user = decode(s, colon ? colon : e);
    u->password = colon ? decode(colon + 1, e) : NULL;
    if (!u->user || (colon && !u->password))
        return bad(err, "bad percent-encoding in its credentials");
    if (!*u->user) { /* ":PASSWORD@": the default user, as redis-cli reads it */
        free(u->user);
        u->user = NULL;
    }
    return 0;
}

/* HOST[:PORT] or [V6]:PORT in [s, e). */
static int parse_host(struct sw_redis_url *u, const char *s, const char *e, struct sw_err *err)
{
    if (u->nhosts == SW_REDIS_URL_MAX_HOSTS)
        return bad(err, "too many hosts");
    const char *hs = s, *he, *port = NULL;
    if (*s == '[') {
        hs = s + 1;
        he = memchr(hs, ']', (size_t)(e - hs));
        if (!he || (he + 1 < e && he[1] != ':'))
            return bad(err, "bad bracketed address");
        port = he + 1 < e ? he + 2 : NULL;
    } else {
        const char *colon = memchr(s, ':', (size_t)(e - s));
        he = colon ? colon : e;
        port = colon ? colon + 1 : NULL;
    }
    long p = port ? num(port, e, 65535) : u->kind == SW_REDIS_URL_SENTINEL ? 26379 : 6379;
    if (he == hs)
        return bad(err, "no host");
    if (p <= 0)
        return bad(err, "bad port");
    struct sw_redis_host *h = &u->hosts[u->nhosts++];
    h->host = sw_strndup(hs, (size_t)(he - hs));
    h->port = (int)p;
    return 0;
}

struct opt {
    const char *name;
    size_t off; /* of a char * in struct sw_redis_url */
};

static const struct opt opts[] = {
    {"cacert", offsetof(struct sw_redis_url, cacert)},
    {"cert", offsetof(struct sw_redis_url, cert)},
    {"key", offsetof(struct sw_redis_url, key)},
    {"servername", offsetof(struct sw_redis_url, servername)},
    {"sentinel_user", offsetof(struct sw_redis_url, sentinel_user)},
    {"sentinel_password", offsetof(struct sw_redis_url, sentinel_password)},
};

static int parse_option(struct sw_redis_url *u, const char *s, const char *e, struct sw_err *err)
{
    const char *eq = memchr(s, '=', (size_t)(e - s));
    if (!eq)
        return bad(err, "an option without a value");
    size_t klen = (size_t)(eq - s);
    if (klen == 2 && strncmp(s, "db", 2) == 0 && u->kind == SW_REDIS_URL_UNIX) {
        long db = num(eq + 1, e, INT_MAX);
        if (db < 0)
            return bad(err, "bad db");
        u->db = (int)db;
        return 0;
    }
    if (klen == 3 && strncmp(s, "tls", 3) == 0 && u->kind == SW_REDIS_URL_SENTINEL) {
        long t = num(eq + 1, e, 1);
        if (t < 0)
            return bad(err, "tls must be 0 or 1");
        u->tls = t == 1;
        return 0;
    }
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        if (strlen(opts[i].name) != klen || strncmp(s, opts[i].name, klen) != 0)
            continue;
        char **slot = (char **)((char *)u + opts[i].off);
        free(*slot);
        if (!(*slot = decode(eq + 1, e)) || !**slot)
            return bad(err, "bad option value");
        return 0;
    }
    return bad(err, "unknown option");
}

static int parse_query(struct sw_redis_url *u, const char *q, struct sw_err *err)
{
    while (q && *q) {
        const char *amp = strchr(q, '&');
        const char *e = amp ? amp : q + strlen(q);
        if (parse_option(u, q, e, err) < 0)
            return -1;
        q = amp ? amp + 1 : NULL;
    }
    return 0;
}

/* The part after the authority: "" or "/DB" (TCP), "/MASTER[/DB]" (sentinel). */
static int parse_path(struct sw_redis_url *u, const char *s, const char *e, struct sw_err *err)
{
    if (u->kind == SW_REDIS_URL_SENTINEL) {
        if (s == e || e - s < 2)
            return bad(err, "a sentinel URL names its master set");
        const char *slash = memchr(s + 1, '/', (size_t)(e - s - 1));
        u->master = sw_strndup(s + 1, (size_t)((slash ? slash : e) - s - 1));
        s = slash ? slash : e;
    }
    if (s == e)
        return 0;
    long db = num(s + 1, e, INT_MAX);
    if (db < 0)
        return bad(err, "bad db");
    u->db = (int)db;
    return 0;
}

static int parse_network(struct sw_redis_url *u, const char *s, const char *e, struct sw_err *err)
{
    const char *slash = memchr(s, '/', (size_t)(e - s));
    const char *ae = slash ? slash : e; /* authority end */
    const char *at = NULL;
    for (const char *p = s; p < ae; p++)
        if (*p == '@')
            at = p; /* the last one: a password may hold '@' unencoded */
    if (at && parse_userinfo(u, s, at, err) < 0)
        return -1;
    for (const char *h = at ? at + 1 : s; h <= ae;) {
        const char *comma = memchr(h, ',', (size_t)(ae - h));
        const char *he = comma ? comma : ae;
        if (u->kind != SW_REDIS_URL_SENTINEL && comma)
            return bad(err, "several hosts are for redis-sentinel:// only");
        if (parse_host(u, h, he, err) < 0)
            return -1;
        h = he + 1;
    }
    return parse_path(u, ae, e, err);
}

static int parse_unix(struct sw_redis_url *u, const char *s, const char *e, struct sw_err *err)
{
    if (*s != '/') {
        const char *at = NULL;
        for (const char *p = s; p < e && *p != '/'; p++)
            if (*p == '@')
                at = p;
        if (!at || parse_userinfo(u, s, at, err) < 0)
            return at ? -1 : bad(err, "a unix socket path is absolute");
        s = at + 1;
    }
    if (*s != '/' || s + 1 >= e)
        return bad(err, "a unix socket path is absolute");
    u->path = sw_strndup(s, (size_t)(e - s));
    return 0;
}

static const struct scheme {
    const char *prefix;
    enum sw_redis_url_kind kind;
    bool tls;
} schemes[] = {
    {"redis://", SW_REDIS_URL_TCP, false},
    {"rediss://", SW_REDIS_URL_TCP, true},
    {"unix://", SW_REDIS_URL_UNIX, false},
    {"redis-sentinel://", SW_REDIS_URL_SENTINEL, false},
};

int sw_redis_url_parse(const char *url, struct sw_redis_url *u, struct sw_err *err)
{
    const struct scheme *sc = NULL;
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (strncmp(url, schemes[i].prefix, strlen(schemes[i].prefix)) == 0)
            sc = &schemes[i];
    if (!sc) {
        SW_ERR(err, SW_EINVALID,
               "redis URL must start with redis://, rediss://, unix:// or redis-sentinel://");
        return -1;
    }
    u->kind = sc->kind;
    u->tls = sc->tls;
    const char *s = url + strlen(sc->prefix);
    const char *q = strchr(s, '?');
    const char *e = q ? q : s + strlen(s);
    int rc = u->kind == SW_REDIS_URL_UNIX ? parse_unix(u, s, e, err) : parse_network(u, s, e, err);
    if (rc == 0)
        rc = parse_query(u, q ? q + 1 : NULL, err);
    if (rc == 0 && !u->tls && (u->cacert || u->cert || u->key || u->servername))
        rc = bad(err, "TLS options on a plain-text URL");
    if (rc == 0 && (!u->cert) != (!u->key))
        rc = bad(err, "a client certificate needs its key, and a key its certificate");
    if (rc < 0)
        sw_redis_url_release(u);
    return rc;
}

void sw_redis_url_release(struct sw_redis_url *u)
{
    free(u->user);
    free(u->password);
    free(u->path);
    for (size_t i = 0; i < u->nhosts; i++)
        free(u->hosts[i].host);
    free(u->master);
    free(u->cacert);
    free(u->cert);
    free(u->key);
    free(u->servername);
    free(u->sentinel_user);
    free(u->sentinel_password);
    memset(u, 0, sizeof *u);
}

void sw_redis_url_show(const struct sw_redis_url *u, char *out, size_t n)
{
    size_t len = 0;
#define PUT(...) (len += (size_t)snprintf(out + (len < n ? len : n), len < n ? n - len : 0, __VA_ARGS__))
    static const char *const names[] = {"redis", "unix", "redis-sentinel"};
    PUT("%s%s://", names[u->kind], u->kind == SW_REDIS_URL_TCP && u->tls ? "s" : "");
    if (u->user || u->password)
        PUT("%s%s@", u->user ? u->user : "", u->password ? ":***" : "");
    if (u->kind == SW_REDIS_URL_UNIX)
        PUT("%s", u->path);
    for (size_t i = 0; i < u->nhosts; i++)
        PUT(strchr(u->hosts[i].host, ':') ? "%s[%s]:%d" : "%s%s:%d", i ? "," : "",
            u->hosts[i].host, u->hosts[i].port);
    if (u->master)
        PUT("/%s", u->master);
    if (u->db)
        PUT(u->kind == SW_REDIS_URL_UNIX ? "?db=%d" : "/%d", u->db);
#undef PUT
}
