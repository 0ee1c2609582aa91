/* redisurl.h - what a Redis URL names (pure; no I/O).
 *
 *   redis://[USER[:PASSWORD]@]HOST[:PORT][/DB][?OPTIONS]
 *   rediss://...                      the same over TLS (default port 6379)
 *   unix://[USER[:PASSWORD]@]/PATH[?db=N&OPTIONS]
 *   redis-sentinel://[USER[:PASSWORD]@]HOST[:PORT][,HOST[:PORT]...]/MASTER[/DB][?OPTIONS]
 *                                     sentinels' port defaults to 26379
 *
 * USER and PASSWORD may be percent-encoded. OPTIONS are key=value pairs
 * joined by '&': db (unix only), cacert, cert, key, servername (TLS),
 * tls=1 (sentinel: speak TLS to the sentinels and the master),
 * sentinel_user, sentinel_password (the sentinels' own credentials).
 * Unknown options, empty hosts and out-of-range numbers are refused, so a
 * typo never falls back to an unauthenticated or plain-text link.
 *
 * sw_redis_url_show() is the form for logs and errors: it never shows a
 * password. */
#ifndef SW_REDISURL_H
#define SW_REDISURL_H

#include <stdbool.h>
#include <stddef.h>

struct sw_err;

enum { SW_REDIS_URL_MAX_HOSTS = 8 };

enum sw_redis_url_kind { SW_REDIS_URL_TCP, SW_REDIS_URL_UNIX, SW_REDIS_URL_SENTINEL };

struct sw_redis_host {
    char *host; /* owned */
    int port;
};

struct sw_redis_url {
    enum sw_redis_url_kind kind;
    bool tls;
    char *user, *password;       /* owned, NULL when absent (decoded) */
    char *path;                  /* unix socket path */
    struct sw_redis_host hosts[SW_REDIS_URL_MAX_HOSTS]; /* TCP: one; sentinel: the sentinels */
    size_t nhosts;
    char *master;                /* sentinel: the master set's name */
    int db;
    char *cacert, *cert, *key, *servername;        /* TLS files and name, owned or NULL */
    char *sentinel_user, *sentinel_password;       /* owned or NULL */
};

/* Fills u (which the caller zeroes); on error fills err (SW_EINVALID,
 * the message never quotes the URL) and leaves nothing to release. */
int sw_redis_url_parse(const char *url, struct sw_redis_url *u, struct sw_err *err);
void sw_redis_url_release(struct sw_redis_url *u);
/* The URL without its passwords, into out (truncated to n). */
void sw_redis_url_show(const struct sw_redis_url *u, char *out, size_t n);

#endif
