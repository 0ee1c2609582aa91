/* errmap.h - the one table mapping struct sw_err codes to HTTP statuses and
 * API error codes (API.md), and the error body built from it. Depends on
 * nothing else in the panel, so the router, idempotency and handlers can
 * all use it without depending on each other.
 */
#ifndef SW_PANEL_ERRMAP_H
#define SW_PANEL_ERRMAP_H

#include <jansson.h>

struct sw_err;

/* HTTP status for an error code (enum sw_errc); *api_code gets the API's
 * code ("not_found", ...; static storage). Unknown codes are 500 internal. */
int sw_errmap_status(int errc, const char **api_code);

/* The answer for err: {"error": {"code", "message"}} with the status in
 * *status. The message is err's (a tenant-safe text), the API code when err
 * has none, and "internal error" for SW_EINTERNAL (details stay in the
 * log). Returns a new reference. */
json_t *sw_errmap_body(const struct sw_err *err, int *status);

#endif
