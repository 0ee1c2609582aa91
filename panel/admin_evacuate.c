/* admin_evacuate.c - node evacuation, operators only (issue 15;
 * provisioner/README.md "Evacuation"): POST /v1/admin/nodes/{id}/evacuate
 * sets the node to maintenance and records the evacuation, which the
 * provisioner's evacuate thread then drives; GET /v1/admin/evacuations/{id}
 * shows its progress, GET /v1/admin/evacuations lists them, and a node's latest rides on GET /v1/admin/nodes/{id}
 * (sw_evac_attach_latest). */
#include "config.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/err.h"
#include "core/json.h"
#include "panel/admin_evacuate.h"
#include "panel/admin_util.h"
#include "panel/data.h"
#include "panel/handlers.h"

#include <stdio.h>
#include <string.h>

static const struct sw_jfield evacuate_fields[] = {
    {"parallel", SW_JT_INT, false},
    {"live", SW_JT_BOOL, false},
    {NULL, 0, false},
};

static const struct sw_adm_int_rule evacuate_ints[] = {
    {"parallel", 1, 32},
    {NULL, 0, 0},
};

struct evacuate {
    const char *node, *actor;
    char parallel[24];
    bool live;
    json_t *out; /* the evacuation; owned */
};

static int evacuate_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct evacuate *ev = ctx;
    json_decref(ev->out);
    ev->out = NULL;
    PGresult *res = sw_db_exec(db, err,
                               "SELECT (SELECT e.id FROM evacuations e WHERE e.node_id = n.id"
                               "         AND e.state = 'running')"
                               "  FROM nodes n WHERE n.id = $1 FOR UPDATE",
                               SW_PARAMS(ev->node));
    if (!res)
        return -1;
    int rc = PQntuples(res) == 1 ? 0 : -1;
    if (rc < 0)
        SW_ERR(err, SW_ENOTFOUND, "node not found");
    else if (sw_db_get(res, 0, 0)) {
        SW_ERR(err, SW_ECONFLICT, "the node is being evacuated already (evacuation %s)",
               sw_db_get(res, 0, 0));
        rc = -1;
    }
    PQclear(res);
    if (rc < 0)
        return -1;
    if (sw_db_run(db, err, "UPDATE nodes SET state = 'maintenance' WHERE id = $1",
                  SW_PARAMS(ev->node)) < 0)
        return -1;
    sw_uuid_t id;
    sw_uuid_new(id);
    ev->out = sw_data_json_row(db, err, "evacuation",
                               "INSERT INTO evacuations (id, node_id, actor_id, parallel, live)"
                               " VALUES ($1, $2, $3, $4::int, $5::boolean)"
                               " RETURNING sw_evacuation_json(evacuations)",
                               SW_PARAMS(id, ev->node, ev->actor, ev->parallel,
                                         ev->live ? "true" : "false"));
    return ev->out ? 0 : -1;
}

/* An empty body is {}: every field has a default. */
static json_t *evacuate_body(struct sw_req *req, struct sw_err *err)
{
    if (req->body_len == 0)
        return json_object();
    json_t *b = sw_api_body(req, evacuate_fields, err);
    if (b && sw_adm_check_ints(b, evacuate_ints, err) < 0) {
        json_decref(b);
        return NULL;
    }
    return b;
}

SW_HANDLER(sw_h_admin_node_evacuate)
{
    struct evacuate ev = {sw_api_param_uuid(req, 0, "node", err), req->who.account_id, "",
                          true, NULL};
    if (!ev.node)
        return -1;
    json_t *b = evacuate_body(req, err);
    if (!b)
        return -1;
    sw_adm_i64(ev.parallel, sw_json_int(b, "parallel", 1));
    ev.live = sw_json_bool(b, "live", true);
    json_decref(b);
    if (sw_db_tx(req->db, evacuate_tx, &ev, err) < 0) {
        json_decref(ev.out);
        return -1;
    }
    return sw_api_reply(resp, 202, json_pack("{s:o}", "evacuation", ev.out));
}

SW_HANDLER(sw_h_admin_evacuation_get)
{
    const char *id = sw_api_param_uuid(req, 0, "evacuation", err);
    if (!id)
        return -1;
    json_t *e = sw_data_json_row(req->db, err, "evacuation",
                                 "SELECT sw_evacuation_json(e) FROM evacuations e WHERE e.id = $1",
                                 SW_PARAMS(id));
    return e ? sw_api_reply(resp, 200, e) : -1;
}

SW_HANDLER(sw_h_admin_evacuations_list)
{
    static const char *const states[] = {"running", "completed", "cancelled", NULL};
    const char *node, *state;
    if (sw_adm_query_uuid(req, "node_id", &node, err) < 0 ||
        sw_adm_query_enum(req, "state", states, &state, err) < 0)
        return -1;
    return sw_api_list(req, resp, err, "sw_evacuation_json(t)", "evacuations",
                       "$1::uuid IS NOT NULL AND ($2::uuid IS NULL OR t.node_id = $2)"
                       " AND ($3::text IS NULL OR t.state = $3)",
                       SW_PARAMS(req->who.account_id, node, state));
}

int sw_evac_attach_latest(struct sw_db *db, const char *node_id, json_t *node, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT sw_evacuation_json(e) FROM evacuations e"
                               " WHERE e.node_id = $1 ORDER BY e.created_at DESC LIMIT 1",
                               SW_PARAMS(node_id));
    if (!res)
        return -1;
    json_t *e = PQntuples(res) == 1 ? json_loads(sw_db_get(res, 0, 0), 0, NULL) : json_null();
    PQclear(res);
    json_object_set_new(node, "evacuation", e ? e : json_null());
    return 0;
}

const struct sw_route sw_routes_admin_evacuate[] = {
    {"POST", "/v1/admin/nodes/{id}/evacuate", OP, SW_OWN_OPERATOR, sw_h_admin_node_evacuate,
     "set a node to maintenance and move its servers away, `parallel` at a time (1..32,"
     " default 1), live where they run", 0},
    {"GET", "/v1/admin/evacuations", OP, SW_OWN_NONE, sw_h_admin_evacuations_list,
     "every evacuation, oldest first (?node_id=, ?state=running|completed|cancelled), with"
     " its progress",
     0},
    {"GET", "/v1/admin/evacuations/{id}", OP, SW_OWN_OPERATOR, sw_h_admin_evacuation_get,
     "an evacuation's progress: total, moved, in flight, waiting, failed, the unmovable"
     " servers with their reasons", 0},
    SW_ROUTES_END,
};
