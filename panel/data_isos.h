/* data_isos.h - the SQL of ISO installs (iso_actions.c): the ISOs a
 * customer may mount, and a server's mounted ISO and boot order
 * (servers.iso_id, servers.boot; migration 0023). */
#ifndef SW_PANEL_DATA_ISOS_H
#define SW_PANEL_DATA_ISOS_H

#include "panel/data.h"

struct sw_db;
struct sw_err;

/* GET /v1/isos: every ready ISO of the library ($1: the caller). */
extern const struct sw_data_list sw_data_isos_list;

/* 1 when iso_id is a ready ISO (images.format iso), 0 when not, -1 with
 * err. */
int sw_data_isos_ready(struct sw_db *db, const char *iso_id, struct sw_err *err);

/* Whether server_id (locked by the caller) has an ISO mounted: 1, 0, or
 * -1 with err. */
int sw_data_isos_mounted(struct sw_db *db, const char *server_id, struct sw_err *err);

/* Records server_id's ISO (iso_id; NULL ejects it) and boot order ("disk"
 * or "cdrom"). 0, or -1 with err. */
int sw_data_isos_set(struct sw_db *db, const char *server_id, const char *iso_id,
                     const char *boot, struct sw_err *err);

/* 0 when no server (not terminated) has iso_id mounted; 1 with err set
 * (SW_ECONFLICT, "the iso is mounted on N server(s)...") when some have;
 * -1 with err. */
int sw_data_isos_in_use(struct sw_db *db, const char *iso_id, struct sw_err *err);

/* Sets server_id's boot order only. 0, or -1 with err. */
int sw_data_isos_set_boot(struct sw_db *db, const char *server_id, const char *boot,
                          struct sw_err *err);

#endif
