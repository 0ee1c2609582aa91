/* admin_catalog.c - operator routes for what is sold: plans and templates.
 *
 * A plan that any server ever used keeps its sizes for good (servers,
 * orders, invoices and the ledger refer to it): it can be renamed,
 * repriced and retired, never resized or deleted. */
#include "config.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"
#include "panel/admin_util.h"
#include "panel/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define i64 sw_adm_i64

static const char *const catalog_states[] = {"active", "retired", NULL};

/* ---- plans ---- */

static const struct sw_jfield plan_fields[] = {
    {"name", SW_JT_STRING, true},
    {"kind", SW_JT_STRING, true},
    {"vcpus", SW_JT_INT, true},
    {"ram_mb", SW_JT_INT, true},
    {"burst_ram_mb", SW_JT_INT, false},
    {"swap_mb", SW_JT_INT, false},
    {"disk_gb", SW_JT_INT, true},
    {"bandwidth_gb", SW_JT_INT, false},
    {"price_hourly", SW_JT_OBJECT, true},
    {"price_monthly", SW_JT_OBJECT, true},
    {"price_bandwidth_gb", SW_JT_OBJECT, false},
    {NULL, 0, false},
};

static const struct sw_jfield plan_patch_fields[] = {
    {"name", SW_JT_STRING, false},         {"kind", SW_JT_STRING, false},
    {"vcpus", SW_JT_INT, false},           {"ram_mb", SW_JT_INT, false},
    {"burst_ram_mb", SW_JT_INT, false},    {"swap_mb", SW_JT_INT, false},
    {"disk_gb", SW_JT_INT, false},         {"bandwidth_gb", SW_JT_INT, false},
    {"price_hourly", SW_JT_OBJECT, false}, {"price_monthly", SW_JT_OBJECT, false},
    {"state", SW_JT_STRING, false},        {"price_bandwidth_gb", SW_JT_OBJECT, false},
    {NULL, 0, false},
};

static const struct sw_adm_int_rule plan_ints[] = {
    {"vcpus", 1, 256},
    {"ram_mb", 64, 4LL * 1024 * 1024},
    {"burst_ram_mb", 0, 4LL * 1024 * 1024},
    {"swap_mb", 0, 4LL * 1024 * 1024},
    {"disk_gb", 1, 100000},
    {"bandwidth_gb", 0, 10000000},
    {NULL, 0, 0},
};

static const struct sw_jfield money_fields[] = {
    {"amount", SW_JT_INT, true},
    {"currency", SW_JT_STRING, true},
    {NULL, 0, false},
};

/* Money: {"amount": integer minor units >= 0, "currency": "XYZ"}. */
static int parse_money(const json_t *b, const char *field, int64_t *amount, const char **cur,
                       struct sw_err *err)
{
    const json_t *m = json_object_get(b, field);
    struct sw_err sub = {0};
    if (sw_json_check(m, money_fields, &sub) < 0) {
        SW_ERR(err, SW_EINVALID, "%s: %s", field, sub.msg);
        return -1;
    }
    *amount = sw_json_int(m, "amount", -1);
    *cur = sw_json_str(m, "currency");
    if (*amount < 0 || *amount > 1000000000000LL) {
        SW_ERR(err, SW_EINVALID, "%s.amount must be from 0 to 10^12 minor units", field);
        return -1;
    }
    if (strlen(*cur) != 3 || strspn(*cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3) {
        SW_ERR(err, SW_EINVALID, "%s.currency must be an ISO 4217 code like \"EUR\"", field);
        return -1;
    }
    return 0;
}

/* Plans or templates, filtered by ?state= and ?kind=. */
static int catalog_list(struct sw_req *req, struct sw_resp *resp, struct sw_err *err,
                        const char *json_expr, const char *table)
{
    static const char *const kinds[] = {"container", "pv", "hvm", NULL};
    const char *state, *kind;
    if (sw_adm_query_enum(req, "state", catalog_states, &state, err) < 0 ||
        sw_adm_query_enum(req, "kind", kinds, &kind, err) < 0)
        return -1;
    return sw_api_list(req, resp, err, json_expr, table,
                       "$1::uuid IS NOT NULL AND ($2::text IS NULL OR t.state = $2)"
                       " AND ($3::text IS NULL OR t.kind = $3)",
                       SW_PARAMS(req->who.account_id, state, kind));
}

SW_HANDLER(sw_h_admin_plans_list)
{
    return catalog_list(req, resp, err, "sw_plan_json(t)", "plans");
}

SW_HANDLER(sw_h_admin_plans_create)
{
    json_t *b = sw_api_body(req, plan_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    int64_t ph, pm, pb = 0;
    const char *ch, *cm, *cb = NULL;
    if (sw_api_check_len(b, "name", 1, 64, err) < 0 ||
        sw_adm_check_kind(sw_json_str(b, "kind"), "kind", err) < 0 ||
        sw_adm_check_ints(b, plan_ints, err) < 0 ||
        parse_money(b, "price_hourly", &ph, &ch, err) < 0 ||
        parse_money(b, "price_monthly", &pm, &cm, err) < 0 ||
        (json_object_get(b, "price_bandwidth_gb") &&
         parse_money(b, "price_bandwidth_gb", &pb, &cb, err) < 0))
        goto out;
    if (strcmp(ch, cm) != 0 || (cb && strcmp(cb, ch) != 0)) {
        SW_ERR(err, SW_EINVALID, "a plan's prices must share a currency");
        goto out;
    }
    int64_t ram = sw_json_int(b, "ram_mb", 0), burst = sw_json_int(b, "burst_ram_mb", 0);
    if (burst != 0 && burst < ram) {
        SW_ERR(err, SW_EINVALID, "burst_ram_mb must be 0 or at least ram_mb");
        goto out;
    }
    sw_uuid_t id;
    char v[24], r[24], bu[24], sw[24], d[24], bw[24], h[24], m[24], pbw[24];
    sw_uuid_new(id);
    rc = sw_api_one(
        req, resp, err, 201, "plan",
        "INSERT INTO plans (id, name, kind, vcpus, ram_mb, burst_ram_mb, swap_mb, disk_gb,"
        " bandwidth_gb, price_hourly, price_monthly, currency, price_bandwidth_gb) VALUES ($1, $2,"
        " $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING sw_plan_json(plans)",
        SW_PARAMS(id, sw_json_str(b, "name"), sw_json_str(b, "kind"),
                  i64(v, sw_json_int(b, "vcpus", 0)), i64(r, ram), i64(bu, burst),
                  i64(sw, sw_json_int(b, "swap_mb", 0)), i64(d, sw_json_int(b, "disk_gb", 0)),
                  i64(bw, sw_json_int(b, "bandwidth_gb", 0)), i64(h, ph), i64(m, pm), ch,
                  i64(pbw, pb)));
    if (rc < 0 && err->code == SW_ECONFLICT)
        SW_ERR(err, SW_ECONFLICT, "a plan named \"%s\" exists", sw_json_str(b, "name"));
out:
    json_decref(b);
    return rc;
}

/* The columns that size a server: fixed once a plan is in use. Index i is
 * column i + 1 of PLAN_COLS. */
static const char *const plan_sizes[] = {"kind",    "vcpus",   "ram_mb",       "burst_ram_mb",
                                         "swap_mb", "disk_gb", "bandwidth_gb", NULL};
#define PLAN_COLS                                                                                  \
    "p.name, p.kind, p.vcpus, p.ram_mb, p.burst_ram_mb, p.swap_mb, p.disk_gb, p.bandwidth_gb,"     \
    " p.price_hourly, p.price_monthly, p.currency, p.state, p.price_bandwidth_gb"
#define PLAN_NSIZES 7

/* How many servers ever used the plan (or are being resized to it). */
#define PLAN_USE_SQL                                                                               \
    "SELECT (SELECT count(*) FROM servers s WHERE s.plan_id = $1::uuid)"                           \
    " + (SELECT count(DISTINCT j.server_id) FROM jobs j WHERE j.type = 'resize'"                   \
    "    AND j.params->>'plan_id' = $1::uuid::text AND j.server_id NOT IN"                         \
    "    (SELECT s.id FROM servers s WHERE s.plan_id = $1::uuid))"

static int plan_use(struct sw_db *db, const char *id, int64_t *n, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err, PLAN_USE_SQL, SW_PARAMS(id));
    if (!res)
        return -1;
    *n = sw_db_get_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

struct plan_patch {
    const char *id;
    const json_t *b;
    json_t *plan; /* out */
};

static int plan_patch_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct plan_patch *p = ctx;
    const json_t *b = p->b;
    json_decref(p->plan);
    p->plan = NULL;
    PGresult *res = sw_db_exec(
        db, err, "SELECT " PLAN_COLS " FROM plans p WHERE p.id = $1 FOR UPDATE", SW_PARAMS(p->id));
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        SW_ERR(err, SW_ENOTFOUND, "plan not found");
        return -1;
    }
    /* Current values as text, overlaid with the body's. */
    char cur[13][80];
    for (int c = 0; c < 13; c++)
        snprintf(cur[c], sizeof cur[c], "%s", sw_db_get(res, 0, c));
    PQclear(res);
    char plan_name[80];
    snprintf(plan_name, sizeof plan_name, "%s", cur[0]);

    /* Sizes the body changes (the same value again is no change). */
    char changed[160] = "";
    for (int i = 0; i < PLAN_NSIZES; i++) {
        json_t *v = json_object_get(b, plan_sizes[i]);
        if (!v)
            continue;
        char val[80];
        if (json_is_string(v))
            snprintf(val, sizeof val, "%s", json_string_value(v));
        else
            i64(val, (int64_t)json_integer_value(v));
        if (strcmp(val, cur[i + 1]) != 0) {
            size_t l = strlen(changed);
            snprintf(changed + l, sizeof changed - l, "%s%s", l ? ", " : "", plan_sizes[i]);
            snprintf(cur[i + 1], sizeof cur[i + 1], "%s", val);
        }
    }
    if (changed[0]) {
        int64_t used;
        if (plan_use(db, p->id, &used, err) < 0)
            return -1;
        if (used > 0) {
            SW_ERR(err, SW_ECONFLICT,
                   "plan \"%s\" is in use by %lld server(s), so its sizes cannot change (%s);"
                   " create a new plan instead",
                   plan_name, (long long)used, changed);
            return -1;
        }
    }
    if (sw_json_str(b, "name"))
        snprintf(cur[0], sizeof cur[0], "%s", sw_json_str(b, "name"));
    if (sw_json_str(b, "state"))
        snprintf(cur[11], sizeof cur[11], "%s", sw_json_str(b, "state"));
    /* Prices: each given one sets its amount and the plan's currency; the
     * two must end up in one currency. */
    const char *ch = NULL, *cm = NULL, *cb = NULL;
    int64_t amount;
    if (json_object_get(b, "price_bandwidth_gb")) {
        if (parse_money(b, "price_bandwidth_gb", &amount, &cb, err) < 0)
            return -1;
        i64(cur[12], amount);
    }
    if (json_object_get(b, "price_hourly")) {
        if (parse_money(b, "price_hourly", &amount, &ch, err) < 0)
            return -1;
        i64(cur[8], amount);
    }
    if (json_object_get(b, "price_monthly")) {
        if (parse_money(b, "price_monthly", &amount, &cm, err) < 0)
            return -1;
        i64(cur[9], amount);
    }
    const char *currency = ch ? ch : cm ? cm : cb ? cb : cur[10];
    if ((ch && strcmp(ch, currency)) || (cm && strcmp(cm, currency)) ||
        (cb && strcmp(cb, currency)) ||
        (strcmp(currency, cur[10]) != 0 &&
         !(ch && cm && (cb || strcmp(cur[12], "0") == 0)))) {
        SW_ERR(err, SW_EINVALID,
               "a plan's prices must share a currency: to change the plan's currency (%s),"
               " give price_hourly, price_monthly and (when not 0) price_bandwidth_gb",
               cur[10]);
        return -1;
    }
    int64_t ram = strtoll(cur[3], NULL, 10), burst = strtoll(cur[4], NULL, 10);
    if (burst != 0 && burst < ram) {
        SW_ERR(err, SW_EINVALID, "burst_ram_mb must be 0 or at least ram_mb (%lld)",
               (long long)ram);
        return -1;
    }
    res = sw_db_exec(db, err,
                     "UPDATE plans SET name = $2, kind = $3, vcpus = $4, ram_mb = $5,"
                     " burst_ram_mb = $6, swap_mb = $7, disk_gb = $8, bandwidth_gb = $9,"
                     " price_hourly = $10, price_monthly = $11, currency = $12, state = $13,"
                     " price_bandwidth_gb = $14 WHERE id = $1 RETURNING sw_plan_json(plans)",
                     SW_PARAMS(p->id, cur[0], cur[1], cur[2], cur[3], cur[4], cur[5], cur[6],
                               cur[7], cur[8], cur[9], currency, cur[11], cur[12]));
    if (!res) {
        if (err->code == SW_ECONFLICT)
            SW_ERR(err, SW_ECONFLICT, "a plan named \"%s\" exists", cur[0]);
        return -1;
    }
    p->plan = sw_api_json_col(sw_db_get(res, 0, 0));
    PQclear(res);
    return 0;
}

SW_HANDLER(sw_h_admin_plan_patch)
{
    const char *id;
    json_t *b = sw_adm_patch_body(req, "plan", plan_patch_fields, &id, err);
    if (!b)
        return -1;
    int rc = -1;
    struct plan_patch p = {id, b, NULL};
    if (sw_api_check_len(b, "name", 1, 64, err) < 0 ||
        (json_object_get(b, "kind") &&
         sw_adm_check_kind(sw_json_str(b, "kind"), "kind", err) < 0) ||
        sw_adm_check_ints(b, plan_ints, err) < 0 ||
        sw_adm_check_enum(b, "state", catalog_states, err) < 0)
        goto out;
    if (sw_db_tx(req->db, plan_patch_tx, &p, err) < 0)
        goto out;
    rc = sw_api_reply(resp, 200, p.plan);
    p.plan = NULL;
out:
    json_decref(p.plan);
    json_decref(b);
    return rc;
}

struct plan_delete {
    const char *id;
    json_t *answer; /* out */
};

/* A plan nothing refers to is deleted; one in use (or referred to by
 * anything else: the delete's foreign-key failure is caught at a
 * savepoint) is retired instead, and the answer says which. */
static int plan_delete_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct plan_delete *d = ctx;
    json_decref(d->answer);
    d->answer = NULL;
    PGresult *res =
        sw_db_exec(db, err, "SELECT sw_plan_json(p) FROM plans p WHERE p.id = $1 FOR UPDATE",
                   SW_PARAMS(d->id));
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        SW_ERR(err, SW_ENOTFOUND, "plan not found");
        return -1;
    }
    json_t *before = sw_api_json_col(sw_db_get(res, 0, 0));
    PQclear(res);
    int64_t used;
    if (plan_use(db, d->id, &used, err) < 0) {
        json_decref(before);
        return -1;
    }
    if (used == 0) {
        if (sw_db_run(db, err, "SAVEPOINT plan_delete", 0, NULL) < 0) {
            json_decref(before);
            return -1;
        }
        struct sw_err derr = {0};
        if (sw_db_run(db, &derr, "DELETE FROM plans WHERE id = $1", SW_PARAMS(d->id)) == 1) {
            d->answer = json_pack("{s:s, s:o, s:s}", "outcome", "deleted", "plan", before,
                                  "message", "the plan was never used and is deleted");
            return 0;
        }
        if (derr.code == SW_EUNAVAILABLE) {
            *err = derr;
            json_decref(before);
            return -1;
        }
        if (sw_db_run(db, err, "ROLLBACK TO SAVEPOINT plan_delete", 0, NULL) < 0) {
            json_decref(before);
            return -1;
        }
    }
    json_decref(before);
    res = sw_db_exec(
        db, err, "UPDATE plans SET state = 'retired' WHERE id = $1 RETURNING sw_plan_json(plans)",
        SW_PARAMS(d->id));
    if (!res)
        return -1;
    char msg[160];
    snprintf(msg, sizeof msg,
             "the plan is in use (%lld server(s)) and is retired instead of deleted: nobody can"
             " order it, its servers keep it",
             (long long)used);
    d->answer = json_pack("{s:s, s:o, s:s}", "outcome", "retired", "plan",
                          sw_api_json_col(sw_db_get(res, 0, 0)), "message", msg);
    PQclear(res);
    return 0;
}

SW_HANDLER(sw_h_admin_plan_delete)
{
    struct plan_delete d = {sw_api_param_uuid(req, 0, "plan", err), NULL};
    if (!d.id)
        return -1;
    if (sw_db_tx(req->db, plan_delete_tx, &d, err) < 0) {
        json_decref(d.answer);
        return -1;
    }
    return sw_api_reply(resp, 200, d.answer);
}

/* ---- templates ---- */

static const struct sw_jfield template_fields[] = {
    {"name", SW_JT_STRING, true},
    {"kind", SW_JT_STRING, true},
    {"os", SW_JT_STRING, true},
    {NULL, 0, false},
};

static const struct sw_jfield template_patch_fields[] = {
    {"name", SW_JT_STRING, false},
    {"state", SW_JT_STRING, false},
    {NULL, 0, false},
};

SW_HANDLER(sw_h_admin_templates_list)
{
    return catalog_list(req, resp, err, "sw_template_json(t)", "templates");
}

SW_HANDLER(sw_h_admin_templates_create)
{
    json_t *b = sw_api_body(req, template_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    const char *os = sw_json_str(b, "os");
    if (sw_api_check_len(b, "name", 1, 64, err) < 0 || sw_api_check_len(b, "os", 1, 63, err) < 0 ||
        sw_adm_check_kind(sw_json_str(b, "kind"), "kind", err) < 0)
        goto out;
    if (strspn(os, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != strlen(os)) {
        SW_ERR(err, SW_EINVALID, "os must use only a-z, 0-9, '.', '-' and '_'");
        goto out;
    }
    sw_uuid_t id;
    sw_uuid_new(id);
    rc = sw_api_one(req, resp, err, 201, "template",
                    "INSERT INTO templates (id, name, kind, os) VALUES ($1, $2, $3, $4)"
                    " RETURNING sw_template_json(templates)",
                    SW_PARAMS(id, sw_json_str(b, "name"), sw_json_str(b, "kind"), os));
    if (rc < 0 && err->code == SW_ECONFLICT)
        SW_ERR(err, SW_ECONFLICT, "a %s template named \"%s\" exists", sw_json_str(b, "kind"),
               sw_json_str(b, "name"));
out:
    json_decref(b);
    return rc;
}

/* Renames or retires a template; what it installs (kind, os) is fixed,
 * since servers were built from it. A retired template is not offered. */
SW_HANDLER(sw_h_admin_template_patch)
{
    const char *id;
    json_t *b = sw_adm_patch_body(req, "template", template_patch_fields, &id, err);
    if (!b)
        return -1;
    int rc = -1;
    if (sw_api_check_len(b, "name", 1, 64, err) < 0 ||
        sw_adm_check_enum(b, "state", catalog_states, err) < 0)
        goto out;
    rc = sw_api_one(req, resp, err, 200, "template",
                    "UPDATE templates SET name = coalesce($2, name), state = coalesce($3, state)"
                    " WHERE id = $1 RETURNING sw_template_json(templates)",
                    SW_PARAMS(id, sw_json_str(b, "name"), sw_json_str(b, "state")));
    if (rc < 0 && err->code == SW_ECONFLICT)
        SW_ERR(err, SW_ECONFLICT, "a template of that kind named \"%s\" exists",
               sw_json_str(b, "name"));
out:
    json_decref(b);
    return rc;
}

const struct sw_route sw_routes_admin_catalog[] = {
    {"GET", "/v1/admin/plans", OP, SW_OWN_NONE, sw_h_admin_plans_list,
     "all plans, retired ones too (?state=, ?kind=)", 0},
    {"POST", "/v1/admin/plans", OP, SW_OWN_NONE, sw_h_admin_plans_create, "create a plan", 0},
    {"PATCH", "/v1/admin/plans/{id}", OP, SW_OWN_OPERATOR, sw_h_admin_plan_patch,
     "rename, reprice, retire or reactivate a plan; sizes only while no server used it", 0},
    {"DELETE", "/v1/admin/plans/{id}", OP, SW_OWN_OPERATOR, sw_h_admin_plan_delete,
     "delete a plan never used; a plan in use is retired instead (the answer says which)", 0},
    {"GET", "/v1/admin/templates", OP, SW_OWN_NONE, sw_h_admin_templates_list,
     "all templates, retired ones too (?state=, ?kind=)", 0},
    {"POST", "/v1/admin/templates", OP, SW_OWN_NONE, sw_h_admin_templates_create,
     "create a template", 0},
    {"PATCH", "/v1/admin/templates/{id}", OP, SW_OWN_OPERATOR, sw_h_admin_template_patch,
     "rename, retire or reactivate a template", 0},
    SW_ROUTES_END,
};
