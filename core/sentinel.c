#include "config.h"
#include "core/sentinel.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/redisurl.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A sentinel that does not answer within this is skipped. */
#define SENTINEL_TIMEOUT_MS 500

/* host:port, bracketing an IPv6 address. */
static void show_host(char *out, size_t n, const char *host, int port)
{
    snprintf(out, n, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

static redisContext *sentinel_open(const struct sw_redis_host *h, char *why, size_t n)
{
    struct timeval tv = {0, SENTINEL_TIMEOUT_MS * 1000};
    redisContext *c = redisConnectWithTimeout(h->host, h->port, tv);
    if (c && !c->err && redisSetTimeout(c, tv) == REDIS_OK)
        return c;
    snprintf(why, n, "%s", c ? c->errstr : "out of memory");
    if (c)
        redisFree(c);
    return NULL;
}

/* Runs one command; returns the reply (owned) or NULL with why filled
 * (the server's error text, never our arguments). */
static redisReply *ask(redisContext *c, int argc, const char **argv, char *why, size_t n)
{
    redisReply *rep = redisCommandArgv(c, argc, argv, NULL);
    if (!rep) {
        snprintf(why, n, "%s", c->errstr);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(why, n, "%s: %s", argv[0], rep->str);
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

static int sentinel_auth(redisContext *c, const struct sw_redis_url *u, char *why, size_t n)
{
    if (!u->sentinel_password)
        return 0;
    const char *argv[] = {"AUTH", u->sentinel_user ? u->sentinel_user : u->sentinel_password,
                          u->sentinel_password};
    redisReply *rep = ask(c, u->sentinel_user ? 3 : 2, argv, why, n);
    if (!rep)
        return -1;
    freeReplyObject(rep);
    return 0;
}

/* One sentinel's answer: 0 with *at filled, -1 with why. */
static int sentinel_ask(const struct sw_redis_url *u, const struct sw_redis_host *h,
                        struct sw_redis_host *at, char *why, size_t n)
{
    redisContext *c = sentinel_open(h, why, n);
    if (!c)
        return -1;
    int rc = -1;
    const char *argv[] = {"SENTINEL", "get-master-addr-by-name", u->master};
    redisReply *rep = sentinel_auth(c, u, why, n) == 0 ? ask(c, 3, argv, why, n) : NULL;
    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
        rep->element[0]->type == REDIS_REPLY_STRING &&
        rep->element[1]->type == REDIS_REPLY_STRING) {
        long port = strtol(rep->element[1]->str, NULL, 10);
        if (port > 0 && port <= 65535) {
            at->host = sw_strdup(rep->element[0]->str);
            at->port = (int)port;
            rc = 0;
        } else {
            snprintf(why, n, "bad port in its answer");
        }
    } else if (rep) {
        snprintf(why, n, "does not know master set %s", u->master);
    }
    if (rep)
        freeReplyObject(rep);
    redisFree(c);
    return rc;
}

/* Moves hosts[i] to the front, keeping the others' order. */
static void to_front(struct sw_redis_url *u, size_t i)
{
    struct sw_redis_host h = u->hosts[i];
    memmove(u->hosts + 1, u->hosts, i * sizeof *u->hosts);
    u->hosts[0] = h;
}

/* Moves hosts[0] to the back. */
static void to_back(struct sw_redis_url *u)
{
    if (u->nhosts < 2)
        return;
    struct sw_redis_host h = u->hosts[0];
    memmove(u->hosts, u->hosts + 1, (u->nhosts - 1) * sizeof *u->hosts);
    u->hosts[u->nhosts - 1] = h;
}

int sw_sentinel_resolve(struct sw_redis_url *u, struct sw_redis_host *at, struct sw_err *err)
{
    if (u->tls) {
        SW_ERR(err, SW_EUNSUPPORTED, "this build does not speak TLS to redis sentinels yet");
        return -1;
    }
    char detail[480] = "";
    size_t len = 0;
    for (size_t i = 0; i < u->nhosts; i++) {
        char why[160] = "", shown[300];
        if (sentinel_ask(u, &u->hosts[i], at, why, sizeof why) == 0) {
            to_front(u, i);
            return 0;
        }
        show_host(shown, sizeof shown, u->hosts[i].host, u->hosts[i].port);
        if (len < sizeof detail)
            len += (size_t)snprintf(detail + len, sizeof detail - len, "%s%s: %s",
                                    len ? "; " : "", shown, why);
    }
    SW_ERR_RETRY(err, SW_EUNAVAILABLE, "no redis sentinel named a master");
    sw_err_detail(err, "master set %s: %s", u->master, detail);
    return -1;
}

/* The address this process last confirmed, to log each move once. */
static pthread_mutex_t last_mu = PTHREAD_MUTEX_INITIALIZER;
static char last_addr[320];

static void note_master(const struct sw_redis_url *u, const char *addr)
{
    char was[sizeof last_addr];
    pthread_mutex_lock(&last_mu);
    snprintf(was, sizeof was, "%s", last_addr);
    bool moved = strcmp(was, addr) != 0;
    if (moved)
        snprintf(last_addr, sizeof last_addr, "%s", addr);
    pthread_mutex_unlock(&last_mu);
    if (moved)
        sw_info("redis.master", "master_set=%s addr=%s previous=%s", u->master, addr,
                was[0] ? was : "none");
}

int sw_sentinel_confirm(struct redisContext *c, struct sw_redis_url *u,
                        const struct sw_redis_host *at, struct sw_err *err)
{
    char addr[300], why[160] = "";
    show_host(addr, sizeof addr, at->host, at->port);
    const char *argv[] = {"ROLE"};
    redisReply *rep = ask(c, 1, argv, why, sizeof why);
    bool master = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
                  rep->element[0]->type == REDIS_REPLY_STRING &&
                  strcmp(rep->element[0]->str, "master") == 0;
    if (rep && !master)
        snprintf(why, sizeof why, "ROLE answered %s",
                 rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
                         rep->element[0]->type == REDIS_REPLY_STRING
                     ? rep->element[0]->str
                     : "something else");
    if (rep)
        freeReplyObject(rep);
    if (!master) {
        SW_ERR_RETRY(err, SW_EUNAVAILABLE, "the redis the sentinels named is not a master");
        sw_err_detail(err, "master set %s at %s: %s", u->master, addr, why);
        to_back(u); /* that sentinel may not have heard of the failover yet */
        return -1;
    }
    note_master(u, addr);
    return 0;
}
