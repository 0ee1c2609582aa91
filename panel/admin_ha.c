/* admin_ha.c - operator routes of high availability (issue 15;
 * provisioner/README.md "High availability"): a node's fence agent, an
 * operator's fence confirmation, a server's own ha setting; and a plan's
 * ha (admin_ha.h). The fence secret is written, never read back: answers
 * say only whether one is set (sw_node_json, migrations/0033). */
#include "config.h"
#include "panel/admin_ha.h"
#include "core/alloc.h"
#include "core/bkkey.h"
#include "core/db.h"
#include "core/err.h"
#include "core/json.h"
#include "panel/data.h"
#include "panel/handlers.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

json_t *sw_ha_plan_apply(struct sw_db *db, const char *plan_id, const json_t *body, json_t *plan,
                         struct sw_err *err)
{
    const json_t *v = json_object_get(body, "ha");
    if (!plan || !v)
        return plan;
    json_decref(plan);
    return sw_data_json_row(db, err, "plan",
                            "UPDATE plans p SET ha = $2 WHERE p.id = $1 RETURNING sw_plan_json(p)",
                            SW_PARAMS(plan_id, json_is_true(v) ? "true" : "false"));
}

/* ---- a node's fence agent ---- */

static const struct sw_jfield fence_fields[] = {
    {"agent", SW_JT_STRING_OR_NULL, true},
    {"config", SW_JT_OBJECT, false},
    {"secret", SW_JT_STRING_OR_NULL, false},
    {NULL, 0, false},
};

static const char *const agents[] = {"ipmi", "ssh", "libvirt", "manual", NULL};

/* config: known keys only, strings of printable text, port and cipher
 * integers in their ranges (max 0: a string). */
static int fence_config_check(const json_t *cfg, struct sw_err *err)
{
    static const struct {
        const char *key;
        long min, max;
    } keys[] = {{"host", 0, 0},       {"user", 0, 0}, {"uri", 0, 0},       {"command", 0, 0},
                {"known_host", 0, 0}, {"port", 1, 65535}, {"cipher", 0, 17}, {NULL, 0, 0}};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)cfg, key, v) {
        int k = 0;
        while (keys[k].key && strcmp(key, keys[k].key) != 0)
            k++;
        if (!keys[k].key) {
            SW_ERR(err, SW_EINVALID, "fence config has an unknown field \"%.40s\"", key);
            return -1;
        }
        if (keys[k].max
                ? !json_is_integer(v) || json_integer_value(v) < keys[k].min ||
                      json_integer_value(v) > keys[k].max
                : !json_is_string(v) || json_string_length(v) == 0 ||
                      json_string_length(v) > 1000 || json_string_value(v)[0] == '-') {
            SW_ERR(err, SW_EINVALID, "fence config.%s is not valid", key);
            return -1;
        }
    }
    return 0;
}

static int fence_check(const json_t *b, struct sw_err *err)
{
    const char *agent = sw_json_str(b, "agent"), *secret = sw_json_str(b, "secret");
    bool known = !agent;
    for (int i = 0; agents[i] && !known; i++)
        known = strcmp(agent, agents[i]) == 0;
    if (!known) {
        SW_ERR(err, SW_EINVALID, "agent must be one of ipmi, ssh, libvirt, manual, or null");
        return -1;
    }
    if (secret && (strlen(secret) == 0 || strlen(secret) > 16384)) {
        SW_ERR(err, SW_EINVALID, "secret must be 1 to 16384 bytes");
        return -1;
    }
    const json_t *cfg = json_object_get(b, "config");
    return cfg ? fence_config_check(cfg, err) : 0;
}

/* PUT: the whole setting. A secret absent keeps the one set; null removes
 * it; a new one is stored wrapped with the control plane's master key
 * (core/bkkey.h; migration 0039), which only the provisioner's fence
 * runner unwraps. */
SW_HANDLER(sw_h_admin_node_fence_put)
{
    const char *id = sw_api_param_uuid(req, 0, "node", err);
    json_t *b = id ? sw_api_body(req, fence_fields, err) : NULL;
    if (!b)
        return -1;
    int rc = -1;
    if (fence_check(b, err) < 0)
        goto out;
    const json_t *sec = json_object_get(b, "secret");
    const char *secret = sw_json_str(b, "secret");
    char *wrapped = secret ? sw_bkkey_wrap_new(secret, strlen(secret), err) : NULL;
    if (secret && !wrapped)
        goto out;
    const json_t *cfg = json_object_get(b, "config");
    /* no config: none (a json_object() here was never released: ASan's leak report) */
    char *cfg_text = cfg ? json_dumps(cfg, JSON_COMPACT) : sw_strdup("{}");
    json_t *node = sw_data_json_row(
        req->db, err, "node",
        "UPDATE nodes n SET fence_agent = $2, fence_config = $3::jsonb,"
        " fence_secret = CASE WHEN $4::boolean THEN $5::text ELSE n.fence_secret END,"
        " fence_secret_wrapped = CASE WHEN $4::boolean THEN $5::text IS NOT NULL"
        "   ELSE n.fence_secret_wrapped END,"
        " fence_error = NULL WHERE n.id = $1 RETURNING sw_node_json(n)",
        SW_PARAMS(id, sw_json_str(b, "agent"), cfg_text, sec ? "true" : "false", wrapped));
    free(cfg_text);
    free(wrapped);
    if (node)
        rc = sw_api_reply(resp, 200, node);
out:
    if (json_object_get(b, "secret") && json_is_string(json_object_get(b, "secret"))) {
        json_t *s = json_object_get(b, "secret");
        sodium_memzero((char *)json_string_value(s), json_string_length(s));
    }
    json_decref(b);
    return rc;
}

/* An operator's word that the suspect node is off: it becomes fenced, and
 * its ha servers are recovered (the provisioner's health thread). */
SW_HANDLER(sw_h_admin_node_fence_confirm)
{
    const char *id = sw_api_param_uuid(req, 0, "node", err);
    if (!id || sw_api_no_body(req, err) < 0)
        return -1;
    char by[64];
    snprintf(by, sizeof by, "operator:%s", req->who.account_id);
    PGresult *res = sw_db_exec(req->db, err,
                               "SELECT sw_node_fence_confirm(n.id, $2), n.health FROM nodes n"
                               " WHERE n.id = $1",
                               SW_PARAMS(id, by));
    if (!res)
        return -1;
    bool found = PQntuples(res) == 1, done = found && strcmp(sw_db_get(res, 0, 0), "t") == 0;
    char health[16];
    snprintf(health, sizeof health, "%s", found ? sw_db_get(res, 0, 1) : "");
    PQclear(res);
    if (!found) {
        SW_ERR(err, SW_ENOTFOUND, "node not found");
        return -1;
    }
    if (!done) {
        SW_ERR(err, SW_ECONFLICT, "the node is %s; only a suspect node's fence can be confirmed",
               health);
        return -1;
    }
    return sw_api_one(req, resp, err, 200, "node",
                      "SELECT sw_node_json(n) FROM nodes n WHERE n.id = $1", SW_PARAMS(id));
}

/* ---- a server's own ha ---- */

static const struct sw_jfield server_ha_fields[] = {
    {"ha", SW_JT_BOOL, false},
    {NULL, 0, false},
};

/* PUT {ha: true|false|null}: null (or absent) follows the plan again. */
SW_HANDLER(sw_h_admin_server_ha_put)
{
    const char *id = sw_api_param_uuid(req, 0, "server", err);
    json_t *b = id ? sw_api_body(req, server_ha_fields, err) : NULL;
    if (!b)
        return -1;
    const json_t *v = json_object_get(b, "ha");
    const char *ha = !v || json_is_null(v) ? NULL : json_is_true(v) ? "true" : "false";
    json_t *srv = sw_data_json_row(req->db, err, "server",
                                   "UPDATE servers s SET ha = $2::boolean WHERE s.id = $1"
                                   " RETURNING sw_server_json(s)",
                                   SW_PARAMS(id, ha));
    json_decref(b);
    return srv ? sw_api_reply(resp, 200, srv) : -1;
}

const struct sw_route sw_routes_admin_ha[] = {
    {"PUT", "/v1/admin/nodes/{id}/fence", OP, SW_OWN_OPERATOR, sw_h_admin_node_fence_put,
     "a node's fence agent (ipmi, ssh, libvirt, manual or null), its settings and secret"
     " (never shown)",
     0},
    {"POST", "/v1/admin/nodes/{id}/fence-confirm", OP, SW_OWN_OPERATOR,
     sw_h_admin_node_fence_confirm,
     "an operator's confirmation that a suspect node is off: fenced, then its ha servers"
     " restart elsewhere",
     0},
    {"PUT", "/v1/admin/servers/{id}/ha", OP, SW_OWN_OPERATOR, sw_h_admin_server_ha_put,
     "a server's own high availability (true, false, or null: its plan's)", 0},
    SW_ROUTES_END,
};
