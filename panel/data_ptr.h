/* data_ptr.h - the SQL of reverse DNS (issue 16, migration 0043): pools'
 * PowerDNS zones, the PTR intents of servers' addresses, and the PTR
 * thread's claims and outcomes (ptr_sync.c). */
#ifndef SW_PANEL_DATA_PTR_H
#define SW_PANEL_DATA_PTR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/bkkey.h"
#include "core/crypto.h"
#include "core/rdns.h"
#include "panel/data.h"

/* An address of a server, as a PTR route needs it. */
struct sw_data_ptr_addr {
    char pool_id[SW_UUID_LEN + 1];
    char address[48];   /* canonical text */
    bool offered;       /* the pool has a reverse zone */
    char zone[256];     /* when offered */
    bool forward_confirm;
};

/* Finds addr (IPv4 or IPv6 text, checked by the caller) among server_id's
 * addresses (its IPv4 address, or inside its IPv6 /64): 1, 0 when the
 * server has no such address, -1 with err. */
int sw_data_ptr_address(struct sw_db *db, const char *server_id, const char *addr,
                        struct sw_data_ptr_addr *out, struct sw_err *err);

/* Wants ptr (NULL: none) on address of server_id in pool_id: the intent
 * row made or changed, pending for the PTR thread. Its sw_ptr_json (new
 * reference) or NULL. With ptr NULL only an existing PTR changes
 * (SW_ENOTFOUND when there is none). */
json_t *sw_data_ptr_want(struct sw_db *db, const char *server_id, const char *pool_id,
                         const char *address, const char *ptr, struct sw_err *err);

/* sw_ptr_json of address's PTR on server_id, or NULL (SW_ENOTFOUND). */
json_t *sw_data_ptr_get(struct sw_db *db, const char *server_id, const char *address,
                        struct sw_err *err);

/* A pool's reverse zone as an operator sets it. */
struct sw_data_ptr_pool {
    const char *pool_id, *api_url, *api_server, *zone, *api_key_wrapped;
    bool forward_confirm;
    const char *ttl; /* integer as text */
};

/* The first address of pool_id's network (text) into first: 1, 0 when no
 * such pool, -1. */
int sw_data_ptr_pool_first(struct sw_db *db, const char *pool_id, char first[48],
                           struct sw_err *err);

/* Sets pool p's reverse zone, and makes its PTRs pending again (written
 * anew to the server and zone now named); its answer (never the key), new
 * reference, or NULL. */
json_t *sw_data_ptr_pool_set(struct sw_db *db, const struct sw_data_ptr_pool *p,
                             struct sw_err *err);

/* One PTR write the thread claimed (leased for 60 s). */
struct sw_data_ptr_work {
    char id[SW_UUID_LEN + 1];
    char address[48];
    bool remove;      /* no PTR wanted: delete the rrset */
    char ptr[256];    /* when !remove */
    char version[24]; /* the row's version when claimed */
    char api_url[520];
    char api_server[72];
    char zone[256];
    char api_key_wrapped[SW_BKKEY_WRAPPED_MAX];
    long ttl;
};

/* Claims the most overdue pending PTR: 1, 0 when none is due, -1. */
int sw_data_ptr_claim(struct sw_db *db, struct sw_data_ptr_work *w, struct sw_err *err);

/* PowerDNS did w: the row synced (or gone, when it was a removal) unless
 * changed since the claim; the lease released. 0 or -1. */
int sw_data_ptr_done(struct sw_db *db, const struct sw_data_ptr_work *w, struct sw_err *err);

/* PowerDNS did not: why, and the next attempt after a backoff (2^attempts
 * s, at most 10 min); the lease released. 0 or -1. */
int sw_data_ptr_failed(struct sw_db *db, const struct sw_data_ptr_work *w, const char *why,
                       struct sw_err *err);

#endif
