/* hooks.h - the webhook deliverer of slipway-billing (billing/README.md
 * "Webhooks"): one thread that fans new events out into deliveries, emits
 * usage.hourly, and sends due deliveries with libcurl, several at once.
 */
#ifndef SW_BILLING_HOOKS_H
#define SW_BILLING_HOOKS_H

struct sw_err;
struct sw_hooks;

/* Reads its configuration (SLIPWAY_HOOKS_*), initialises libcurl and
 * starts the thread, which connects to db_url on its own (and keeps
 * reconnecting). Call from the main thread before any other thread uses
 * libcurl. Returns owned; stop with sw_hooks_stop(). NULL with err when the
 * configuration is bad or the thread cannot start. */
struct sw_hooks *sw_hooks_start(const char *db_url, struct sw_err *err);

/* Stops the thread after the step in hand (transfers in flight are
 * abandoned: their leases run out and they are sent again later, with the
 * same webhook-id) and frees everything. Accepts NULL. */
void sw_hooks_stop(struct sw_hooks *h);

#endif
