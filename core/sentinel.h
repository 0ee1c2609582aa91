/* sentinel.h - finding the Redis master of a redis-sentinel:// URL.
 *
 * Follows the Redis Sentinel clients' guide: ask the sentinels in turn
 * (SENTINEL get-master-addr-by-name MASTER, after AUTH with the URL's
 * sentinel_user/sentinel_password when given), with short timeouts; the
 * first that names an address wins and is moved to the front of the URL's
 * list, so the next resolution asks it first. The caller then connects to
 * that address, authenticates as the URL's user, and confirms with ROLE
 * that the server is a master (a sentinel may answer with an address that
 * is no longer one); anything else is a retryable failure, and the caller's
 * backoff resolves again.
 *
 * core/redis.c calls this on every (re)connect of a sentinel URL, so a
 * connection that broke (or met READONLY, MASTERDOWN, LOADING: see
 * redis.c) moves to whatever master the sentinels name at that moment.
 * TLS to the sentinels (tls=1) is refused here as SW_EUNSUPPORTED.
 */
#ifndef SW_SENTINEL_H
#define SW_SENTINEL_H

struct redisContext;
struct sw_err;
struct sw_redis_host;
struct sw_redis_url;

/* Fills *at with the master's address (at->host owned: free()); reorders
 * u->hosts (the sentinel that answered goes first). On failure fills err
 * (SW_EUNAVAILABLE, retryable, the detail naming each sentinel's answer;
 * never a password). */
int sw_sentinel_resolve(struct sw_redis_url *u, struct sw_redis_host *at, struct sw_err *err);

/* On c, an authenticated connection to at: 0 when ROLE says "master" (and
 * logs redis.master once per process and address change), else -1 with a
 * retryable SW_EUNAVAILABLE, and the sentinel that named at (u->hosts[0])
 * goes to the back of the list: it may not have heard of a failover the
 * others made, and the next resolution asks another first. c is borrowed. */
int sw_sentinel_confirm(struct redisContext *c, struct sw_redis_url *u,
                        const struct sw_redis_host *at, struct sw_err *err);

#endif
