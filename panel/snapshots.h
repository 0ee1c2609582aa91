/* snapshots.h - customers' snapshots of a server (issue 14; panel/README.md
 * "API notes: snapshots"): POST/GET /v1/servers/{id}/snapshots, GET and
 * DELETE .../snapshots/{sid}, POST .../snapshots/{sid}/revert. Each change
 * is a job on the server's node (engines/snapshot.c); the snapshots row
 * follows its job (migration 0025). The routes are sw_routes_snapshots
 * (handlers.h). */
#ifndef SW_PANEL_SNAPSHOTS_H
#define SW_PANEL_SNAPSHOTS_H

#include <jansson.h>
#include <stdbool.h>

struct sw_db;
struct sw_err;

/* A create's body checked: name 1..64 bytes, no control characters;
 * memory a boolean when given (*memory, default false). 0, or -1 with
 * SW_EINVALID. Pure. */
int sw_snapshots_check(const json_t *body, bool *memory, struct sw_err *err);

/* Inside the create's transaction, server_id locked and kind its plan
 * kind: refuses a server that cannot hold snapshots (SW_EUNSUPPORTED: a
 * container, or a root volume recorded as other than qcow2) and one at its
 * plan's max_snapshots (SW_EUNPROCESSABLE). 0, or -1 with err. */
int sw_snapshots_admit(struct sw_db *db, const char *server_id, const char *kind,
                       struct sw_err *err);

/* An admin plan body's max_snapshots (an integer 0..100), when given. 0,
 * or -1 with SW_EINVALID. Pure. (Its price_snapshot_gb_month is
 * admin_catalog.c's, as every per-GB-month price.) */
int sw_snapshots_plan_check(const json_t *body, struct sw_err *err);

/* After the plan's insert or update (admin_catalog.c): the body's
 * max_snapshots, when given, set on plan_id. Returns plan, or
 * when it changed the plan read again (sw_plan_json); NULL with err (plan
 * released). */
json_t *sw_snapshots_plan_apply(struct sw_db *db, const char *plan_id, const json_t *body,
                                json_t *plan, struct sw_err *err);

#endif
