/* data_reseller.h - what the reseller API reads and writes beyond its
 * customers (data_customers.h): the servers of its customers, its quota
 * with its use, and its usage per month. Every function takes the
 * reseller's id and sees only its customers' servers. */
#ifndef SW_PANEL_DATA_RESELLER_H
#define SW_PANEL_DATA_RESELLER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/crypto.h"
#include "panel/data.h"

/* The reseller's customers' servers: $1 the reseller. */
extern const struct sw_data_list sw_data_reseller_servers;
/* The same of one customer: $1 the reseller, $2 the customer. */
extern const struct sw_data_list sw_data_reseller_customer_servers;

/* One of the reseller's customers' servers, as its provider verbs see it. */
struct sw_data_rs_server {
    char state[24];
    char owner_state[24]; /* its customer account's */
    char plan_id[SW_UUID_LEN + 1];
    char kind[16];       /* its plan's */
    int64_t size[3];     /* its plan's vcpus, ram_mb, disk_gb */
    bool resize_pending; /* a resize job is queued or running */
};

/* Locks server id FOR UPDATE and reads it: 1, 0 when not the reseller's,
 * -1 with err. */
int sw_data_reseller_lock_server(struct sw_db *db, const char *reseller_id, const char *id,
                                 struct sw_data_rs_server *out, struct sw_err *err);

/* Sets server id's state; its sw_server_json (new reference) or NULL. The
 * caller has locked it. */
json_t *sw_data_reseller_set_state(struct sw_db *db, const char *id, const char *state,
                                   struct sw_err *err);

/* The size (vcpus, ram_mb, disk_gb) of plan_id when it is active and of
 * kind: 1, 0 when not, -1 with err. */
int sw_data_reseller_plan_size(struct sw_db *db, const char *plan_id, const char *kind,
                               int64_t size[3], struct sw_err *err);

/* The quota: per resource its limit (null: none), use and what is left,
 * the allowed kinds. New reference or NULL. */
json_t *sw_data_reseller_quota(struct sw_db *db, const char *reseller_id, struct sw_err *err);

/* Usage in month ("YYYY-MM") per customer and server, with totals. New
 * reference or NULL. */
json_t *sw_data_reseller_usage(struct sw_db *db, const char *reseller_id, const char *month,
                               struct sw_err *err);

#endif
