/* data_nodes.h - the SQL of the operator's node routes (admin.c): a node's
 * row, what the ledger holds on it, and its writes.
 *
 * Every function takes the connection and a caller-owned struct sw_err and
 * returns 0 (or an owned JSON answer, json_decref()) or -1 (NULL) with err
 * set. A node that does not exist is SW_ENOTFOUND "node not found".
 */
#ifndef SW_PANEL_DATA_NODES_H
#define SW_PANEL_DATA_NODES_H

#include <jansson.h>
#include <stdint.h>

#include "core/enums.h"
#include "core/resource.h"

struct sw_db;
struct sw_err;

/* The columns of a node that its inventory routes read and write. */
struct sw_node_row {
    struct sw_node_inv inv;
    char engine_uri[1100];
    char kinds[64]; /* a PostgreSQL array literal: "{container,hvm}" */
    unsigned mask;  /* the same kinds as bits, 1u << enum sw_plan_kind */
    char state[16]; /* active, draining, offline or maintenance */
};

/* Reads node id into *row; sw_data_nodes_lock also locks it (FOR UPDATE)
 * until the transaction ends, so no claim adds to its ledger meanwhile. */
int sw_data_nodes_read(struct sw_db *db, const char *id, struct sw_node_row *row,
                       struct sw_err *err);
int sw_data_nodes_lock(struct sw_db *db, const char *id, struct sw_node_row *row,
                       struct sw_err *err);

/* What the ledger holds on node id, per resource class. */
int sw_data_nodes_used(struct sw_db *db, const char *id, struct sw_amounts *used,
                       struct sw_err *err);

/* The DISK capacity of node id as placement counts it: its pools' reported
 * capacity x disk_ratio (sw_node_pool_figures, core/diskpool.h), or
 * *disk_gb (its disk_gb) while none has reported. Sets *disk_gb; 0 or -1. */
int sw_data_nodes_disk(struct sw_db *db, const char *id, int64_t *disk_gb, struct sw_err *err);

/* How many servers with an allocation on node id there are of each plan
 * kind (index enum sw_plan_kind). */
int sw_data_nodes_live(struct sw_db *db, const char *id, int64_t live[SW_KIND__COUNT],
                       struct sw_err *err);

/* Replaces node id's ballooning policy (a JSON object). */
int sw_data_nodes_set_balloon(struct sw_db *db, const char *id, const json_t *policy,
                              struct sw_err *err);

/* Writes row into node id and bumps its generation when anything changed
 * (so a claim that read the old inventory re-checks). Returns the node's
 * answer (sw_node_json), owned. */
json_t *sw_data_nodes_update(struct sw_db *db, const char *id, const struct sw_node_row *row,
                             struct sw_err *err);

/* Inserts a node with its public key (base64) and the SHA-256 (hex) of its
 * Redis password; its answer (sw_node_json), owned. A taken name is
 * SW_ECONFLICT. */
json_t *sw_data_nodes_insert(struct sw_db *db, const char *id, const char *name,
                             const char *location_id, const struct sw_node_row *row,
                             const char *public_key, const char *redis_sha256,
                             struct sw_err *err);

/* Replaces node id's public key and Redis password hash (a rekey); its
 * answer (sw_node_json), owned. */
json_t *sw_data_nodes_set_key(struct sw_db *db, const char *id, const char *public_key,
                              const char *redis_sha256, struct sw_err *err);

/* Creates node id's PostgreSQL login role, or gives it a new password
 * (slipway_node_role_set(), migrations/0018_engine_roles.sql); its name
 * into role. Only a SCRAM verifier of password leaves this process. */
int sw_data_nodes_set_role(struct sw_db *db, const char *id, const char *password,
                           char role[64], struct sw_err *err);

/* Replaces node id's storage pools with rows (sw_node_pools_rows()). A
 * pool that holds a disk of a server still on the node cannot go:
 * SW_ECONFLICT naming it. */
int sw_data_nodes_set_pools(struct sw_db *db, const char *id, const json_t *rows,
                            struct sw_err *err);

/* Node id's answer (sw_node_json) with its "pools" and their last report,
 * owned. */
json_t *sw_data_nodes_get(struct sw_db *db, const char *id, struct sw_err *err);

#endif
