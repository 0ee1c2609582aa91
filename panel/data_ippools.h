/* data_ippools.h - the SQL of the operator's IP pool routes (admin.c).
 * Functions return 0 (or an owned JSON answer, json_decref()) or -1 (NULL)
 * with err set. */
#ifndef SW_PANEL_DATA_IPPOOLS_H
#define SW_PANEL_DATA_IPPOOLS_H

#include <jansson.h>

#include "core/crypto.h"

struct sw_db;
struct sw_err;

/* The first pool (by network) that overlaps network (a CIDR prefix): 1 with
 * its network into net[64] and its id into id, 0 when none, -1 on error. */
int sw_data_ippools_overlapping(struct sw_db *db, const char *network, char net[64],
                                char id[SW_UUID_LEN + 1], struct sw_err *err);

/* Inserts a pool (gateway may be NULL; dns_json a JSON array of resolver
 * addresses, or NULL for none); its answer (sw_ip_pool_json),
 * owned. An overlap that a concurrent insert made is SW_ECONFLICT (the
 * exclusion constraint of 0005). */
json_t *sw_data_ippools_insert(struct sw_db *db, const char *id, const char *location_id,
                               int family, const char *network, const char *gateway,
                               const char *dns_json, struct sw_err *err);

#endif
