/* conlink.h - the link that carries a serial console between a node's
 * engine and the panel (issue 16): Redis lists of one node, so a node's ACL
 * user ("console:<node>:*", provisioner/acl.c) reaches its own consoles only.
 *
 *   console:<node>:open      the panel asks: "<session> <server id>"
 *   console:<node>:<S>:out   engine -> panel: the guest's bytes, then an end
 *   console:<node>:<S>:in    panel -> engine: keystrokes, then a close
 *
 * Every item is one kind byte, ':', and a payload: 'd' data (base64 of the
 * bytes), 'e' end (why the console closed, text), 'c' close (no payload),
 * 'p' the panel still there (every SW_CONLINK_PING_S; no payload): an
 * engine ends a session whose in list stays empty for SW_CONLINK_TTL_S (a
 * panel gone without its close).
 * Every push renews the list's expiry (SW_CONLINK_TTL_S), so nothing of a
 * dead session stays in Redis. The session id is 32 random hex digits.
 */
#ifndef SW_CONLINK_H
#define SW_CONLINK_H

#include <stddef.h>

struct sw_redis;
struct sw_err;

#define SW_CONLINK_TTL_S 120
#define SW_CONLINK_PING_S 30
#define SW_CONLINK_SID_LEN 32
#define SW_CONLINK_KEY_MAX 128

enum { SW_CONLINK_DATA = 'd', SW_CONLINK_END = 'e', SW_CONLINK_CLOSE = 'c', SW_CONLINK_PING = 'p' };

/* A new random session id into out[SW_CONLINK_SID_LEN + 1]. */
void sw_conlink_sid(char out[SW_CONLINK_SID_LEN + 1]);
/* The key of node's list `which` ("open", or "<sid>:in", "<sid>:out"). */
void sw_conlink_key(char out[SW_CONLINK_KEY_MAX], const char *node, const char *which);

/* RPUSH kind:payload (data base64-encoded for SW_CONLINK_DATA) and EXPIRE. */
int sw_conlink_push(struct sw_redis *r, const char *key, int kind, const void *data, size_t n,
                    struct sw_err *err);
/* BLPOP key timeout_s: 1 with *kind and *data (owned, free(); decoded,
 * NUL-terminated) of *n bytes; 0 when nothing came; -1 with err (also for
 * an item that is not kind:payload). */
int sw_conlink_pop(struct sw_redis *r, const char *key, int timeout_s, int *kind, char **data,
                   size_t *n, struct sw_err *err);

#endif
