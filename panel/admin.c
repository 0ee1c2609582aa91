/* admin.c - operator routes: locations, nodes, plans, templates, accounts. */
#include "config.h"
#include "panel/handlers.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"
#include "core/resource.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- validation helpers ---- */

struct int_rule {
    const char *field;
    int64_t min, max;
};

/* Checks every present integer field against its bounds. */
static int check_ints(const json_t *b, const struct int_rule *rules, struct sw_err *err)
{
    for (const struct int_rule *r = rules; r->field; r++) {
        json_t *v = json_object_get(b, r->field);
        if (!v)
            continue;
        int64_t x = (int64_t)json_integer_value(v);
        if (x < r->min || x > r->max) {
            SW_ERR(err, SW_EINVALID, "%s must be from %lld to %lld", r->field,
                   (long long)r->min, (long long)r->max);
            return -1;
        }
    }
    return 0;
}

static int check_len(const json_t *b, const char *field, size_t min, size_t max,
                     struct sw_err *err)
{
    const char *s = sw_json_str(b, field);
    if (!s)
        return 0;
    size_t n = strlen(s);
    if (n < min || n > max) {
        SW_ERR(err, SW_EINVALID, "%s must be %zu to %zu bytes long", field, min, max);
        return -1;
    }
    return 0;
}

static const char *i64(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%lld", (long long)v);
    return buf;
}

static int check_kind(const char *s, const char *field, struct sw_err *err)
{
    if (sw_plan_kind_parse(s) < 0) {
        SW_ERR(err, SW_EINVALID, "%s must be container, pv or hvm", field);
        return -1;
    }
    return 0;
}

static int check_uuid_field(const json_t *b, const char *field, struct sw_err *err)
{
    const char *s = sw_json_str(b, field);
    if (s && !sw_uuid_valid(s)) {
        SW_ERR(err, SW_EINVALID, "%s must be a UUID", field);
        return -1;
    }
    return 0;
}

/* Inserts with RETURNING <json> and answers 201 with it. */
static int insert_reply(struct sw_req *req, struct sw_resp *resp, struct sw_err *err,
                        const char *what, const char *sql, int n, const char *const *params)
{
    return sw_api_one(req, resp, err, 201, what, sql, n, params);
}

/* ---- locations ---- */

static const struct sw_jfield location_fields[] = {
    {"code", SW_JT_STRING, true},
    {"name", SW_JT_STRING, true},
    {NULL, 0, false},
};

SW_HANDLER(sw_h_admin_locations_list)
{
    return sw_api_list(req, resp, err, "sw_location_json(t)", "locations", "$1::uuid IS NOT NULL",
                       SW_PARAMS(req->who.account_id));
}

SW_HANDLER(sw_h_admin_locations_create)
{
    json_t *b = sw_api_body(req, location_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    if (check_len(b, "code", 1, 32, err) < 0 || check_len(b, "name", 1, 100, err) < 0)
        goto out;
    sw_uuid_t id;
    sw_uuid_new(id);
    rc = insert_reply(req, resp, err, "location",
                      "INSERT INTO locations (id, code, name) VALUES ($1, $2, $3)"
                      " RETURNING sw_location_json(locations)",
                      SW_PARAMS(id, sw_json_str(b, "code"), sw_json_str(b, "name")));
    if (rc < 0 && err->code == SW_ECONFLICT)
        SW_ERR(err, SW_ECONFLICT, "a location with code \"%s\" exists", sw_json_str(b, "code"));
out:
    json_decref(b);
    return rc;
}

/* ---- nodes ---- */

static const struct sw_jfield node_fields[] = {
    {"name", SW_JT_STRING, true},         {"location_id", SW_JT_STRING, true},
    {"engine_uri", SW_JT_STRING, true},   {"kinds", SW_JT_ARRAY, true},
    {"cpus", SW_JT_INT, true},            {"ram_mb", SW_JT_INT, true},
    {"disk_gb", SW_JT_INT, true},         {"reserved_ram_mb", SW_JT_INT, false},
    {"cpu_ratio", SW_JT_NUMBER, false},   {"ram_ratio", SW_JT_NUMBER, false},
    {"state", SW_JT_STRING, false},
    {NULL, 0, false},
};

static const struct int_rule node_ints[] = {
    {"cpus", 1, 4096},
    {"ram_mb", 256, 64LL * 1024 * 1024},
    {"disk_gb", 1, 1000000},
    {"reserved_ram_mb", 0, 64LL * 1024 * 1024},
    {NULL, 0, 0},
};

/* Hypervisor URI schemes an engine can drive. */
static const char *const engine_schemes[] = {"test:///", "qemu://", "qemu+ssh://", "xen://",
                                             "xen+ssh://", "lxc://", "openvz://", NULL};

static int parse_ratio_field(const json_t *b, const char *field, int64_t dflt, char out[24],
                             struct sw_err *err)
{
    json_t *v = json_object_get(b, field);
    int64_t milli = dflt;
    if (v) {
        double d = json_number_value(v);
        double m = d * 1000.0;
        if (!(d > 0 && d <= 1000) || fabs(m - round(m)) > 1e-6) {
            SW_ERR(err, SW_EINVALID, "%s must be above 0, at most 1000, with up to 3 decimals",
                   field);
            return -1;
        }
        milli = (int64_t)llround(m);
    }
    sw_ratio_format(milli, out);
    return 0;
}

/* kinds: a non-empty array of distinct plan kinds, written as a PostgreSQL
 * array literal into out (at most "{container,pv,hvm}"). */
static int parse_kinds(const json_t *arr, char out[64], unsigned *mask, struct sw_err *err)
{
    size_t n = json_array_size(arr);
    *mask = 0;
    strcpy(out, "{");
    for (size_t i = 0; i < n; i++) {
        const char *k = json_string_value(json_array_get(arr, i));
        int kind = sw_plan_kind_parse(k);
        if (kind < 0 || (*mask & (1u << kind))) {
            SW_ERR(err, SW_EINVALID, "kinds must list distinct values of container, pv, hvm");
            return -1;
        }
        *mask |= 1u << kind;
        strcat(out, i ? "," : "");
        strcat(out, k);
    }
    if (n == 0) {
        SW_ERR(err, SW_EINVALID, "kinds must not be empty");
        return -1;
    }
    strcat(out, "}");
    return 0;
}

SW_HANDLER(sw_h_admin_nodes_list)
{
    return sw_api_list(req, resp, err, "sw_node_json(t)", "nodes", "$1::uuid IS NOT NULL",
                       SW_PARAMS(req->who.account_id));
}

SW_HANDLER(sw_h_admin_nodes_create)
{
    json_t *b = sw_api_body(req, node_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    char kinds[64], cpu_ratio[24], ram_ratio[24], c[24], r[24], d[24], rr[24];
    unsigned mask;
    const char *uri = sw_json_str(b, "engine_uri");
    const char *state = sw_json_str(b, "state");
    if (check_len(b, "name", 1, 64, err) < 0 || check_uuid_field(b, "location_id", err) < 0 ||
        check_len(b, "engine_uri", 1, 1024, err) < 0 || check_ints(b, node_ints, err) < 0 ||
        parse_kinds(json_object_get(b, "kinds"), kinds, &mask, err) < 0)
        goto out;
    const char *const *sch = engine_schemes;
    while (*sch && strncmp(uri, *sch, strlen(*sch)) != 0)
        sch++;
    if (!*sch) {
        SW_ERR(err, SW_EINVALID,
               "engine_uri must be a libvirt URI (test:///, qemu://, xen://, lxc://, openvz://)");
        goto out;
    }
    if (state && strcmp(state, "active") && strcmp(state, "draining") && strcmp(state, "offline")) {
        SW_ERR(err, SW_EINVALID, "state must be active, draining or offline");
        goto out;
    }
    /* Default ratios by what the node hosts: CPU 16 for container-only
     * nodes, else 4; memory 1.0 when it hosts pv (never overcommitted),
     * else 1.5. */
    int64_t dcpu = mask == (1u << SW_KIND_CONTAINER) ? 16000 : 4000;
    int64_t dram = (mask & (1u << SW_KIND_PV)) ? 1000 : 1500;
    if (parse_ratio_field(b, "cpu_ratio", dcpu, cpu_ratio, err) < 0 ||
        parse_ratio_field(b, "ram_ratio", dram, ram_ratio, err) < 0)
        goto out;
    int64_t ram = sw_json_int(b, "ram_mb", 0), reserved = sw_json_int(b, "reserved_ram_mb", 0);
    if (reserved >= ram) {
        SW_ERR(err, SW_EINVALID, "reserved_ram_mb must be below ram_mb");
        goto out;
    }
    PGresult *lr = sw_db_exec(req->db, err, "SELECT 1 FROM locations WHERE id = $1",
                              SW_PARAMS(sw_json_str(b, "location_id")));
    if (!lr)
        goto out;
    int have = PQntuples(lr);
    PQclear(lr);
    if (!have) {
        SW_ERR(err, SW_EINVALID, "location_id names no location");
        goto out;
    }
    sw_uuid_t id;
    sw_uuid_new(id);
    rc = insert_reply(
        req, resp, err, "node",
        "INSERT INTO nodes (id, name, location_id, engine_uri, kinds, cpus, ram_mb, disk_gb,"
        " reserved_ram_mb, cpu_ratio, ram_ratio, state) VALUES ($1, $2, $3, $4, $5::text[], $6,"
        " $7, $8, $9, $10::numeric, $11::numeric, $12) RETURNING sw_node_json(nodes)",
        SW_PARAMS(id, sw_json_str(b, "name"), sw_json_str(b, "location_id"), uri, kinds,
                  i64(c, sw_json_int(b, "cpus", 0)), i64(r, ram),
                  i64(d, sw_json_int(b, "disk_gb", 0)), i64(rr, reserved), cpu_ratio, ram_ratio,
                  state ? state : "active"));
    if (rc < 0 && err->code == SW_ECONFLICT)
        SW_ERR(err, SW_ECONFLICT, "a node named \"%s\" exists", sw_json_str(b, "name"));
out:
    json_decref(b);
    return rc;
}

SW_HANDLER(sw_h_admin_node_get)
{
    const char *id = sw_api_param_uuid(req, 0, "node", err);
    if (!id)
        return -1;
    return sw_api_one(req, resp, err, 200, "node", "SELECT sw_node_json(n) FROM nodes n WHERE n.id = $1",
                      SW_PARAMS(id));
}

SW_HANDLER(sw_h_admin_node_capacity)
{
    const char *id = sw_api_param_uuid(req, 0, "node", err);
    if (!id)
        return -1;
    PGresult *res = sw_db_exec(
        req->db, err,
        "SELECT n.cpus, n.ram_mb, n.reserved_ram_mb, n.disk_gb, n.cpu_ratio::text,"
        " n.ram_ratio::text, coalesce(sum(a.vcpus), 0), coalesce(sum(a.mem_guar_mb), 0),"
        " coalesce(sum(a.mem_max_mb), 0), coalesce(sum(a.disk_gb), 0)"
        " FROM nodes n LEFT JOIN allocations a ON a.node_id = n.id WHERE n.id = $1"
        " GROUP BY n.id",
        SW_PARAMS(id));
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        SW_ERR(err, SW_ENOTFOUND, "node not found");
        return -1;
    }
    struct sw_node_inv inv = {
        .cpus = sw_db_get_i64(res, 0, 0), .ram_mb = sw_db_get_i64(res, 0, 1),
        .reserved_ram_mb = sw_db_get_i64(res, 0, 2), .disk_gb = sw_db_get_i64(res, 0, 3)};
    if (sw_ratio_parse(sw_db_get(res, 0, 4), &inv.cpu_ratio_milli) < 0 ||
        sw_ratio_parse(sw_db_get(res, 0, 5), &inv.ram_ratio_milli) < 0) {
        PQclear(res);
        SW_ERR(err, SW_EINTERNAL, "node has a malformed ratio");
        return -1;
    }
    struct sw_amounts cap, used;
    sw_node_capacity(&inv, &cap);
    for (int c = 0; c < SW_RC__COUNT; c++)
        used.v[c] = sw_db_get_i64(res, 0, 6 + c);
    PQclear(res);
    const int64_t total[SW_RC__COUNT] = {inv.cpus, inv.ram_mb, inv.ram_mb, inv.disk_gb};
    const int64_t reserved[SW_RC__COUNT] = {0, inv.reserved_ram_mb, inv.reserved_ram_mb, 0};
    const int64_t ratio[SW_RC__COUNT] = {inv.cpu_ratio_milli, 1000, inv.ram_ratio_milli, 1000};
    json_t *classes = json_object();
    for (int c = 0; c < SW_RC__COUNT; c++)
        json_object_set_new(classes, sw_res_class_name(c),
                            json_pack("{s:I, s:I, s:f, s:I, s:I, s:I}", "total",
                                      (json_int_t)total[c], "reserved", (json_int_t)reserved[c],
                                      "ratio", (double)ratio[c] / 1000.0, "capacity",
                                      (json_int_t)cap.v[c], "used", (json_int_t)used.v[c],
                                      "free", (json_int_t)(cap.v[c] - used.v[c])));
    return sw_api_reply(resp, 200, json_pack("{s:s, s:o}", "node_id", id, "classes", classes));
}

/* ---- plans ---- */

static const struct sw_jfield plan_fields[] = {
    {"name", SW_JT_STRING, true},         {"kind", SW_JT_STRING, true},
    {"vcpus", SW_JT_INT, true},           {"ram_mb", SW_JT_INT, true},
    {"burst_ram_mb", SW_JT_INT, false},   {"swap_mb", SW_JT_INT, false},
    {"disk_gb", SW_JT_INT, true},         {"bandwidth_gb", SW_JT_INT, false},
    {"price_hourly", SW_JT_OBJECT, true}, {"price_monthly", SW_JT_OBJECT, true},
    {NULL, 0, false},
};

static const struct int_rule plan_ints[] = {
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

SW_HANDLER(sw_h_admin_plans_list)
{
    return sw_api_list(req, resp, err, "sw_plan_json(t)", "plans", "$1::uuid IS NOT NULL",
                       SW_PARAMS(req->who.account_id));
}

SW_HANDLER(sw_h_admin_plans_create)
{
    json_t *b = sw_api_body(req, plan_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    int64_t ph, pm;
    const char *ch, *cm;
    if (check_len(b, "name", 1, 64, err) < 0 || check_kind(sw_json_str(b, "kind"), "kind", err) < 0 ||
        check_ints(b, plan_ints, err) < 0 || parse_money(b, "price_hourly", &ph, &ch, err) < 0 ||
        parse_money(b, "price_monthly", &pm, &cm, err) < 0)
        goto out;
    if (strcmp(ch, cm) != 0) {
        SW_ERR(err, SW_EINVALID, "price_hourly and price_monthly must share a currency");
        goto out;
    }
    int64_t ram = sw_json_int(b, "ram_mb", 0), burst = sw_json_int(b, "burst_ram_mb", 0);
    if (burst != 0 && burst < ram) {
        SW_ERR(err, SW_EINVALID, "burst_ram_mb must be 0 or at least ram_mb");
        goto out;
    }
    sw_uuid_t id;
    char v[24], r[24], bu[24], sw[24], d[24], bw[24], h[24], m[24];
    sw_uuid_new(id);
    rc = insert_reply(
        req, resp, err, "plan",
        "INSERT INTO plans (id, name, kind, vcpus, ram_mb, burst_ram_mb, swap_mb, disk_gb,"
        " bandwidth_gb, price_hourly, price_monthly, currency) VALUES ($1, $2, $3, $4, $5, $6,"
        " $7, $8, $9, $10, $11, $12) RETURNING sw_plan_json(plans)",
        SW_PARAMS(id, sw_json_str(b, "name"), sw_json_str(b, "kind"),
                  i64(v, sw_json_int(b, "vcpus", 0)), i64(r, ram), i64(bu, burst),
                  i64(sw, sw_json_int(b, "swap_mb", 0)), i64(d, sw_json_int(b, "disk_gb", 0)),
                  i64(bw, sw_json_int(b, "bandwidth_gb", 0)), i64(h, ph), i64(m, pm), ch));
    if (rc < 0 && err->code == SW_ECONFLICT)
        SW_ERR(err, SW_ECONFLICT, "a plan named \"%s\" exists", sw_json_str(b, "name"));
out:
    json_decref(b);
    return rc;
}

/* ---- templates ---- */

static const struct sw_jfield template_fields[] = {
    {"name", SW_JT_STRING, true},
    {"kind", SW_JT_STRING, true},
    {"os", SW_JT_STRING, true},
    {NULL, 0, false},
};

SW_HANDLER(sw_h_admin_templates_list)
{
    return sw_api_list(req, resp, err, "sw_template_json(t)", "templates",
                       "$1::uuid IS NOT NULL", SW_PARAMS(req->who.account_id));
}

SW_HANDLER(sw_h_admin_templates_create)
{
    json_t *b = sw_api_body(req, template_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    const char *os = sw_json_str(b, "os");
    if (check_len(b, "name", 1, 64, err) < 0 || check_len(b, "os", 1, 63, err) < 0 ||
        check_kind(sw_json_str(b, "kind"), "kind", err) < 0)
        goto out;
    if (strspn(os, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != strlen(os)) {
        SW_ERR(err, SW_EINVALID, "os must use only a-z, 0-9, '.', '-' and '_'");
        goto out;
    }
    sw_uuid_t id;
    sw_uuid_new(id);
    rc = insert_reply(req, resp, err, "template",
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

/* ---- accounts ---- */

static const struct sw_jfield account_fields[] = {
    {"kind", SW_JT_STRING, true},      {"email", SW_JT_STRING, true},
    {"name", SW_JT_STRING, true},      {"password", SW_JT_STRING, false},
    {"reseller_id", SW_JT_STRING, false},
    {NULL, 0, false},
};

static bool email_valid(const char *e)
{
    const char *at = strchr(e, '@');
    return at && at != e && at[1] && !strchr(at + 1, '@') && strlen(e) <= 254 &&
           !strpbrk(e, " \t\r\n\"<>,;");
}

SW_HANDLER(sw_h_admin_accounts_list)
{
    return sw_api_list(req, resp, err, "sw_account_json(t)", "accounts", "$1::uuid IS NOT NULL",
                       SW_PARAMS(req->who.account_id));
}

SW_HANDLER(sw_h_admin_accounts_create)
{
    json_t *b = sw_api_body(req, account_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    const char *kind = sw_json_str(b, "kind"), *email = sw_json_str(b, "email");
    const char *password = sw_json_str(b, "password"), *reseller = sw_json_str(b, "reseller_id");
    char hash[SW_PASSWORD_HASH_MAX];
    if (strcmp(kind, "customer") != 0 && strcmp(kind, "reseller") != 0) {
        SW_ERR(err, SW_EINVALID, "kind must be customer or reseller");
        goto out;
    }
    if (!email_valid(email)) {
        SW_ERR(err, SW_EINVALID, "email is not a valid address");
        goto out;
    }
    if (check_len(b, "name", 1, 100, err) < 0 || check_len(b, "password", 8, 1024, err) < 0 ||
        check_uuid_field(b, "reseller_id", err) < 0)
        goto out;
    if (reseller && strcmp(kind, "customer") != 0) {
        SW_ERR(err, SW_EINVALID, "only a customer has a reseller_id");
        goto out;
    }
    if (reseller) {
        PGresult *r = sw_db_exec(req->db, err,
                                 "SELECT 1 FROM accounts WHERE id = $1 AND kind = 'reseller'",
                                 SW_PARAMS(reseller));
        if (!r)
            goto out;
        int ok = PQntuples(r);
        PQclear(r);
        if (!ok) {
            SW_ERR(err, SW_EINVALID, "reseller_id names no reseller");
            goto out;
        }
    }
    if (password && sw_password_hash(password, hash, err) < 0)
        goto out;
    sw_uuid_t id;
    sw_uuid_new(id);
    rc = insert_reply(req, resp, err, "account",
                      "INSERT INTO accounts (id, kind, email, name, password_hash, reseller_id)"
                      " VALUES ($1, $2, $3, $4, $5, $6) RETURNING sw_account_json(accounts)",
                      SW_PARAMS(id, kind, email, sw_json_str(b, "name"), password ? hash : NULL,
                                reseller));
    if (rc < 0 && err->code == SW_ECONFLICT)
        SW_ERR(err, SW_ECONFLICT, "an account with that email exists");
out:
    json_decref(b);
    return rc;
}

const struct sw_route sw_routes_admin[] = {
    {"GET", "/v1/admin/locations", OP, SW_OWN_NONE, sw_h_admin_locations_list, "locations"},
    {"POST", "/v1/admin/locations", OP, SW_OWN_NONE, sw_h_admin_locations_create,
     "create a location"},
    {"GET", "/v1/admin/nodes", OP, SW_OWN_NONE, sw_h_admin_nodes_list, "nodes"},
    {"POST", "/v1/admin/nodes", OP, SW_OWN_NONE, sw_h_admin_nodes_create, "register a node"},
    {"GET", "/v1/admin/nodes/{id}", OP, SW_OWN_OPERATOR, sw_h_admin_node_get, "one node"},
    {"GET", "/v1/admin/nodes/{id}/capacity", OP, SW_OWN_OPERATOR, sw_h_admin_node_capacity,
     "a node's capacity per resource class"},
    {"GET", "/v1/admin/plans", OP, SW_OWN_NONE, sw_h_admin_plans_list, "all plans"},
    {"POST", "/v1/admin/plans", OP, SW_OWN_NONE, sw_h_admin_plans_create, "create a plan"},
    {"GET", "/v1/admin/templates", OP, SW_OWN_NONE, sw_h_admin_templates_list, "all templates"},
    {"POST", "/v1/admin/templates", OP, SW_OWN_NONE, sw_h_admin_templates_create,
     "create a template"},
    {"GET", "/v1/admin/accounts", OP, SW_OWN_NONE, sw_h_admin_accounts_list, "accounts"},
    {"POST", "/v1/admin/accounts", OP, SW_OWN_NONE, sw_h_admin_accounts_create,
     "create an account"},
    SW_ROUTES_END,
};
