/* orders.h - placing an order, terminating a server and a reseller's quota,
 * shared by orders.c (a customer ordering for itself) and reseller.c (a
 * reseller ordering for its customers, and its provisioning verbs).
 *
 * Quota admission: every transaction that adds to a reseller's use (an
 * order by the reseller or by one of its customers, a change of plan)
 * first locks the reseller's reseller_quotas row (FOR UPDATE), then counts
 * the use (sw_reseller_use(), migrations/0004) with a fresh snapshot, then
 * writes. Admissions of one reseller are thereby serialised, so parallel
 * orders can never overshoot a limit; a reseller without a quota row has no
 * limits and takes no lock.
 */
#ifndef SW_PANEL_ORDERS_H
#define SW_PANEL_ORDERS_H

#include <stdint.h>

#include "core/crypto.h"
#include "panel/api.h"

/* Places an order for owner_id, a customer account, from the request body
 * {plan_id, template_id, hostname, location_id?, ssh_keys?}: checks the
 * body, the caller's order rate, then in one transaction the customer
 * (404 if deleted, 422 if suspended), the plan and template, the location
 * and the quota of the customer's reseller, and writes server + order +
 * create job + outbox row. The job is asked by the caller. Answers 202
 * {order, server, job}. */
int sw_order_place(struct sw_req *req, struct sw_resp *resp, const char *owner_id,
                   struct sw_err *err);

/* An order another route places (a backup restored as a new server,
 * panel/backups.c): what sw_order_place reads from its body, checked by
 * the caller (UUIDs, host name, rate). */
struct sw_order_spec {
    const char *owner_id; /* a customer account */
    const char *plan_id, *template_id, *hostname;
    const char *location_id; /* NULL: any */
    json_t *ssh_keys;        /* borrowed; NULL: none */
};

/* Inside the caller's transaction, sw_order_place's checks and rows: the
 * customer, the plan and template, the location, the reseller's quota,
 * then server + order + create job + outbox row. Returns {order, server,
 * job} (new reference), or NULL with err. */
json_t *sw_order_write(struct sw_db *db, const struct sw_req *req, const struct sw_order_spec *spec,
                       struct sw_err *err);

/* The guest's root password and SSH keys a body may give (an order, a
 * reinstall): ssh_keys at most 16 OpenSSH key lines of at most 16383 bytes
 * in all; password 10..128 bytes, hashed with crypt(3) SHA-512 into hash
 * ("" when none; the caller wipes it) and wiped from body at once. 400s
 * name the field. */
int sw_order_guest_secrets(json_t *body, char hash[SW_CRYPT_HASH_MAX], struct sw_err *err);

/* Terminates server_id, which the caller may see (sw_api_scope()): marks it
 * terminating and queues a terminate job; asked twice, answers the job under
 * way; a terminated server is 409. Answers 202 {job}. */
int sw_order_terminate(struct sw_req *req, struct sw_resp *resp, const char *server_id,
                       struct sw_err *err);

/* What an admission adds to a reseller's use. */
enum sw_quota_res {
    SW_QUOTA_SERVERS = 0,
    SW_QUOTA_VCPUS,
    SW_QUOTA_RAM_MB,
    SW_QUOTA_DISK_GB,
    SW_QUOTA_IPV4,
    SW_QUOTA__COUNT
};

/* Name of a quota resource ("servers", "ram_mb", ...); static storage. */
const char *sw_quota_res_name(int res);

struct sw_quota_add {
    int64_t v[SW_QUOTA__COUNT];
    const char *kind; /* plan kind being added, checked against the allowed kinds; NULL: none */
};

/* Inside the caller's transaction: locks reseller_id's quota and checks
 * that its use plus add stays within every limit. A resource whose add is 0
 * is never refused, so a reseller over a lowered limit can still shrink.
 * -1 with SW_EUNPROCESSABLE naming what is past the limit (with figures
 * when detailed, i.e. the caller is the reseller itself). */
int sw_quota_admit(struct sw_db *db, const char *reseller_id, const struct sw_quota_add *add,
                   bool detailed, struct sw_err *err);

#endif
