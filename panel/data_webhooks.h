/* data_webhooks.h - billing hooks for the panel: webhook endpoints, their
 * deliveries, and account hook secrets (the incoming hook's signing keys).
 * Endpoints are seen through sw_api_scope_who() of their account. */
#ifndef SW_PANEL_DATA_WEBHOOKS_H
#define SW_PANEL_DATA_WEBHOOKS_H

#include <stdint.h>

#include "panel/data.h"

struct sw_principal;

/* Room for a stored secret: "whsec_" and base64 of at most 64 bytes. */
#define SW_DATA_SECRET_MAX 128

/* Whether who may see endpoint id (not deleted): 1, 0, or -1. */
int sw_data_webhooks_visible(struct sw_db *db, const struct sw_principal *who, const char *id,
                             struct sw_err *err);

/* Locks account_id's row until commit (so two creates cannot both pass a
 * limit) and counts its endpoints that are not deleted. The count, or -1. */
int64_t sw_data_webhooks_lock_count(struct sw_db *db, const char *account_id, struct sw_err *err);

/* The fields of a new endpoint. */
struct sw_data_webhook_new {
    const char *id, *account_id, *url;
    const char *events; /* a JSON array of event type names */
    const char *secret; /* "whsec_..." */
};

/* Inserts the endpoint; returns its sw_webhook_json with its secret (new
 * reference; the only time the secret leaves the database) or NULL. */
json_t *sw_data_webhooks_insert(struct sw_db *db, const struct sw_data_webhook_new *w,
                                struct sw_err *err);

/* Marks endpoint id deleted when who may see it: rows changed (0: not
 * found), or -1. */
long sw_data_webhooks_delete(struct sw_db *db, const struct sw_principal *who, const char *id,
                             struct sw_err *err);

/* Locks delivery_id of endpoint webhook_id (who may see it, not deleted)
 * and reads the endpoint's state ("active", "disabled"): 1, 0 when not
 * found, -1 with err. */
int sw_data_webhooks_lock_delivery(struct sw_db *db, const struct sw_principal *who,
                                   const char *webhook_id, const char *delivery_id, char state[16],
                                   struct sw_err *err);

/* Asks for one more attempt of delivery_id now (manual when it was over),
 * waking the deliverers at commit. Its sw_webhook_delivery_json (new
 * reference) or NULL. */
json_t *sw_data_webhooks_redeliver(struct sw_db *db, const char *delivery_id, struct sw_err *err);

/* Sets account_id's hook secret (replacing any): {account_id, secret,
 * created_at}, a new reference, or NULL. */
json_t *sw_data_webhooks_set_secret(struct sw_db *db, const char *account_id, const char *secret,
                                    struct sw_err *err);

/* The hook secret of account_id when it is an active reseller or operator:
 * 1 with secret and kind filled (the caller wipes secret), 0 when none, -1
 * with err. */
int sw_data_webhooks_signer(struct sw_db *db, const char *account_id,
                            char secret[SW_DATA_SECRET_MAX], char kind[16], struct sw_err *err);

/* The endpoints who may see, not deleted: $1 the caller. */
extern const struct sw_data_list sw_data_webhooks_list;
/* Deliveries of endpoint $2 (who may see it, not deleted): $1 the caller;
 * the _in_state one also $3, a delivery state. */
extern const struct sw_data_list sw_data_webhooks_deliveries;
extern const struct sw_data_list sw_data_webhooks_deliveries_in_state;

#endif
