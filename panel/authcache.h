/* authcache.h - a cache of bearer-token lookups, kept correct by
 * PostgreSQL notifications.
 *
 * The bearer lookup was the second database round trip of every request.
 * Entries map a token's keyed hash to the principal it authenticates. They
 * are dropped when the database says the token or its account (or its
 * reseller) changed: triggers (migrations/0007) NOTIFY channel "sw_auth",
 * and a listener thread of every panel drops what they name. Besides that:
 *  - an entry lives at most SW_AUTHCACHE_TTL_S seconds, and never past the
 *    token's own expiry;
 *  - while the listener is not connected and listening, the cache is
 *    emptied and bypassed (a notification could be missed);
 *  - a lookup that started before an invalidation is not cached (an epoch
 *    counts invalidations), so a revocation racing a lookup cannot be
 *    undone by it;
 *  - routes that change authentication state (SW_RF_AUTH) empty this
 *    panel's cache synchronously once they succeed, so the panel that
 *    revoked a token refuses it on the very next request.
 */
#ifndef SW_PANEL_AUTHCACHE_H
#define SW_PANEL_AUTHCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "panel/api.h"

#define SW_AUTHCACHE_TTL_S 5

/* Starts the listener thread on its own connection; -1 with err. */
int sw_authcache_start(const char *db_url, struct sw_err *err);
void sw_authcache_stop(void);

/* The invalidation epoch; take it before a database lookup. */
uint64_t sw_authcache_epoch(void);
/* True and fills who when hash is cached and valid now. *refresh is set when
 * this panel should refresh the token's last_used_at (once a minute). */
bool sw_authcache_get(const char *hash, struct sw_principal *who, bool *refresh);
/* Caches a lookup made at epoch (ignored if anything was invalidated since,
 * or the listener is down). expires_at: unix seconds, 0 for none. */
void sw_authcache_put(const char *hash, const struct sw_principal *who, const char *reseller_id,
                      int64_t expires_at, uint64_t epoch);
/* Empties the cache (and moves the epoch). */
void sw_authcache_flush(void);

#endif
