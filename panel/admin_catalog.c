/* admin_catalog.c - operator routes for what is sold: plans and templates.
 *
 * A plan that any server ever used keeps its sizes and limits for good
 * (servers, orders, invoices and the ledger refer to it, its servers'
 * domains were defined with them): it can be renamed, repriced and
 * retired, never resized, re-limited or deleted. */
#include "config.h"
#include "core/alloc.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"
#include "panel/admin_catalog.h"
#include "panel/admin_ha.h"
#include "panel/admin_util.h"
#include "panel/data_images.h"
#include "panel/data_plans.h"
#include "panel/data_templates.h"
#include "panel/handlers.h"
#include "panel/snapshots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    {"price_disk_gb_month", SW_JT_OBJECT, false},
    {"limits", SW_JT_OBJECT, false},
    {"max_snapshots", SW_JT_INT, false}, /* snapshots.c */
    {"price_snapshot_gb_month", SW_JT_OBJECT, false},
    {"price_backup_gb_month", SW_JT_OBJECT, false}, /* backups.c */
    {"ha", SW_JT_BOOL, false},                      /* admin_ha.c */
    {NULL, 0, false},
};

static const struct sw_jfield plan_patch_fields[] = {
    {"name", SW_JT_STRING, false},         {"kind", SW_JT_STRING, false},
    {"vcpus", SW_JT_INT, false},           {"ram_mb", SW_JT_INT, false},
    {"burst_ram_mb", SW_JT_INT, false},    {"swap_mb", SW_JT_INT, false},
    {"disk_gb", SW_JT_INT, false},         {"bandwidth_gb", SW_JT_INT, false},
    {"price_hourly", SW_JT_OBJECT, false}, {"price_monthly", SW_JT_OBJECT, false},
    {"state", SW_JT_STRING, false},        {"price_bandwidth_gb", SW_JT_OBJECT, false},
    {"price_disk_gb_month", SW_JT_OBJECT, false},
    {"limits", SW_JT_OBJECT, false},
    {"max_snapshots", SW_JT_INT, false}, /* snapshots.c */
    {"price_snapshot_gb_month", SW_JT_OBJECT, false},
    {"price_backup_gb_month", SW_JT_OBJECT, false}, /* backups.c */
    {"ha", SW_JT_BOOL, false},                      /* admin_ha.c */
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

/* The per-GB-month storage prices a plan may carry beside its own money
 * fields, each {amount >= 0, currency} in the plan's currency. */
static const char *const gb_prices[] = {"price_snapshot_gb_month", "price_backup_gb_month", NULL};

/* A plan body's per-GB-month prices, when given; a new plan's currency is
 * its price_hourly's, so a mismatch is refused before anything is written
 * (a patch's is checked by gb_prices_apply in its transaction). */
static int gb_prices_check(const json_t *body, struct sw_err *err)
{
    const char *plan_cur = sw_json_str(json_object_get(body, "price_hourly"), "currency");
    for (const char *const *f = gb_prices; *f; f++) {
        const json_t *p = json_object_get(body, *f);
        const json_t *amount = json_object_get(p, "amount");
        const char *cur = sw_json_str(p, "currency");
        if (!p)
            continue;
        if (!json_is_object(p) || json_object_size(p) != 2 || !json_is_integer(amount) ||
            json_integer_value(amount) < 0 || !cur || strlen(cur) != 3) {
            SW_ERR(err, SW_EINVALID, "%s must be {amount, currency}: minor units >= 0 and the "
                                     "plan's currency", *f);
            return -1;
        }
        if (plan_cur && strcmp(plan_cur, cur) != 0) {
            SW_ERR(err, SW_EINVALID, "%s must be in the plan's currency", *f);
            return -1;
        }
    }
    return 0;
}

/* After the plan's insert or update answered plan (owned; NULL passes
 * through): the body's per-GB-month prices set on plan_id, each in the
 * plan's currency. The plan as it is now (read again when a price was
 * set; plan released), or NULL with err. */
static json_t *gb_prices_apply(struct sw_db *db, const char *plan_id, const json_t *body,
                               json_t *plan, struct sw_err *err)
{
    bool set = false;
    for (const char *const *f = gb_prices; plan && *f; f++) {
        const json_t *p = json_object_get(body, *f);
        if (!p)
            continue;
        char n[24];
        snprintf(n, sizeof n, "%lld", (long long)json_integer_value(json_object_get(p, "amount")));
        SW_AUTOFREE char *sql =
            sw_asprintf("UPDATE plans SET %s = $2 WHERE id = $1 AND currency = $3", *f);
        long rows = sw_db_run(db, err, sql, SW_PARAMS(plan_id, n, sw_json_str(p, "currency")));
        if (rows == 0)
            SW_ERR(err, SW_EINVALID, "%s must be in the plan's currency", *f);
        if (rows <= 0) {
            json_decref(plan);
            return NULL;
        }
        set = true;
    }
    if (!set)
        return plan;
    json_decref(plan);
    return sw_data_json_row(db, err, "plan", "SELECT sw_plan_json(p) FROM plans p WHERE p.id = $1",
                            SW_PARAMS(plan_id));
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

/* ---- a plan's limits (0021_plan_limits): the body's "limits" object ---- */

/* Sets each limit body.limits gives into *out (the others are kept): each
 * a known name, an integer within its range (core/msg.c has the one table
 * of names and ranges, so what the panel accepts a node job carries). */
static int parse_limits(const json_t *body, struct sw_msg_limits *out, struct sw_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(body, "limits"), key, v) {
        const struct sw_msg_limit_field *f = sw_msg_limit_find(key);
        if (!f) {
            SW_ERR(err, SW_EINVALID,
                   "limits.%s is not a limit (disk_read_iops, disk_write_iops,"
                   " disk_read_bytes_sec, disk_write_bytes_sec, net_average_kbyte_s,"
                   " net_peak_kbyte_s, net_burst_kbyte, cpu_cap_pct)",
                   key);
            return -1;
        }
        int64_t n = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
        if (n < 0 || n > f->max) {
            SW_ERR(err, SW_EINVALID, "limits.%s must be an integer from 0 (no limit) to %lld",
                   key, (long long)f->max);
            return -1;
        }
        *sw_msg_limit_at(out, f) = n;
    }
    return 0;
}

/* The limits as a whole (peak and burst against the average), after a
 * create or a merge. */
static int check_limits(const struct sw_msg_limits *l, struct sw_err *err)
{
    struct sw_err sub = {0};
    if (sw_msg_limits_check(l, &sub) < 0) {
        SW_ERR(err, SW_EINVALID, "limits: %s", sub.msg);
        return -1;
    }
    return 0;
}

SW_HANDLER(sw_h_admin_plans_list)
{
    return catalog_list(req, resp, err, "sw_plan_json(t)", "plans");
}

/* The four prices of body into out (an absent price_bandwidth_gb or
 * price_disk_gb_month is 0): one currency. */
static int create_prices(const json_t *body, struct sw_plan_row *out, struct sw_err *err)
{
    const char *ch, *cm, *cb = NULL, *cd = NULL;
    if (parse_money(body, "price_hourly", &out->price_hourly, &ch, err) < 0 ||
        parse_money(body, "price_monthly", &out->price_monthly, &cm, err) < 0 ||
        (json_object_get(body, "price_bandwidth_gb") &&
         parse_money(body, "price_bandwidth_gb", &out->price_bandwidth_gb, &cb, err) < 0) ||
        (json_object_get(body, "price_disk_gb_month") &&
         parse_money(body, "price_disk_gb_month", &out->price_disk_gb_month, &cd, err) < 0))
        return -1;
    if (strcmp(ch, cm) != 0 || (cb && strcmp(cb, ch) != 0) || (cd && strcmp(cd, ch) != 0)) {
        SW_ERR(err, SW_EINVALID, "a plan's prices must share a currency");
        return -1;
    }
    snprintf(out->currency, sizeof out->currency, "%s", ch);
    return 0;
}

int sw_plan_create_check(const json_t *body, struct sw_plan_row *out, struct sw_err *err)
{
    memset(out, 0, sizeof *out);
    if (sw_api_check_len(body, "name", 1, 64, err) < 0 ||
        sw_adm_check_kind(sw_json_str(body, "kind"), "kind", err) < 0 ||
        sw_adm_check_ints(body, plan_ints, err) < 0 || create_prices(body, out, err) < 0)
        return -1;
    out->ram_mb = sw_json_int(body, "ram_mb", 0);
    out->burst_ram_mb = sw_json_int(body, "burst_ram_mb", 0);
    if (out->burst_ram_mb != 0 && out->burst_ram_mb < out->ram_mb) {
        SW_ERR(err, SW_EINVALID, "burst_ram_mb must be 0 or at least ram_mb");
        return -1;
    }
    snprintf(out->name, sizeof out->name, "%s", sw_json_str(body, "name"));
    snprintf(out->kind, sizeof out->kind, "%s", sw_json_str(body, "kind"));
    out->vcpus = sw_json_int(body, "vcpus", 0);
    out->swap_mb = sw_json_int(body, "swap_mb", 0);
    out->disk_gb = sw_json_int(body, "disk_gb", 0);
    out->bandwidth_gb = sw_json_int(body, "bandwidth_gb", 0);
    snprintf(out->state, sizeof out->state, "active");
    return parse_limits(body, &out->limits, err) < 0 ? -1 : check_limits(&out->limits, err);
}

SW_HANDLER(sw_h_admin_plans_create)
{
    json_t *b = sw_api_body(req, plan_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    struct sw_plan_row row;
    if (sw_plan_create_check(b, &row, err) < 0)
        goto out;
    sw_uuid_t id;
    sw_uuid_new(id);
    json_t *plan = sw_snapshots_plan_check(b, err) < 0 || gb_prices_check(b, err) < 0
                       ? NULL
                       : sw_snapshots_plan_apply(req->db, id, b,
                                                 sw_data_plans_insert(req->db, id, &row, err), err);
    plan = gb_prices_apply(req->db, id, b, plan, err);
    plan = sw_ha_plan_apply(req->db, id, b, plan, err);
    if (!plan) {
        if (err->code == SW_ECONFLICT)
            SW_ERR(err, SW_ECONFLICT, "a plan named \"%s\" exists", row.name);
        goto out;
    }
    rc = sw_api_reply(resp, 201, plan);
out:
    json_decref(b);
    return rc;
}

/* The sizes of a plan: fixed once it is in use. */
static const char *const plan_sizes[] = {"kind",    "vcpus",   "ram_mb",       "burst_ram_mb",
                                         "swap_mb", "disk_gb", "bandwidth_gb", NULL};

/* Where row keeps the integer sizes, in plan_sizes' order from "vcpus". */
static int64_t *size_at(struct sw_plan_row *row, int i)
{
    int64_t *const at[] = {&row->vcpus,   &row->ram_mb,  &row->burst_ram_mb,
                           &row->swap_mb, &row->disk_gb, &row->bandwidth_gb};
    return at[i - 1];
}

/* Sets size i of row to v (a string for "kind", else an integer); returns
 * whether that changed it. */
static bool set_size(struct sw_plan_row *row, int i, const json_t *v)
{
    if (i == 0) {
        bool same = strcmp(row->kind, json_string_value(v)) == 0;
        snprintf(row->kind, sizeof row->kind, "%s", json_string_value(v));
        return !same;
    }
    int64_t *at = size_at(row, i), was = *at;
    *at = (int64_t)json_integer_value(v);
    return *at != was;
}

int sw_plan_patch_sizes(const struct sw_plan_row *cur, const json_t *patch, char *changed,
                        size_t n)
{
    struct sw_plan_row row = *cur;
    int count = 0;
    changed[0] = '\0';
    for (int i = 0; plan_sizes[i]; i++) {
        const json_t *v = json_object_get(patch, plan_sizes[i]);
        if (!v || !set_size(&row, i, v))
            continue;
        size_t l = strlen(changed);
        snprintf(changed + l, n - l, "%s%s", count++ ? ", " : "", plan_sizes[i]);
    }
    return count;
}

int sw_plan_patch_check(const json_t *patch, struct sw_err *err)
{
    if (sw_api_check_len(patch, "name", 1, 64, err) < 0 ||
        (json_object_get(patch, "kind") &&
         sw_adm_check_kind(sw_json_str(patch, "kind"), "kind", err) < 0) ||
        sw_adm_check_ints(patch, plan_ints, err) < 0 ||
        sw_adm_check_enum(patch, "state", catalog_states, err) < 0 ||
        sw_snapshots_plan_check(patch, err) < 0 || gb_prices_check(patch, err) < 0)
        return -1;
    struct sw_msg_limits l = {0};
    return parse_limits(patch, &l, err);
}

/* A price field of patch, when given, into *amount, its currency into *cur. */
static int patch_price(const json_t *patch, const char *field, int64_t *amount, const char **cur,
                       struct sw_err *err)
{
    *cur = NULL;
    return json_object_get(patch, field) ? parse_money(patch, field, amount, cur, err) : 0;
}

/* Each price given sets its amount and the plan's currency; the prices
 * must end up in one. */
static int patch_prices(const json_t *patch, struct sw_plan_row *out, struct sw_err *err)
{
    const char *ch, *cm, *cb, *cd;
    char was[sizeof out->currency];
    snprintf(was, sizeof was, "%s", out->currency);
    if (patch_price(patch, "price_bandwidth_gb", &out->price_bandwidth_gb, &cb, err) < 0 ||
        patch_price(patch, "price_disk_gb_month", &out->price_disk_gb_month, &cd, err) < 0 ||
        patch_price(patch, "price_hourly", &out->price_hourly, &ch, err) < 0 ||
        patch_price(patch, "price_monthly", &out->price_monthly, &cm, err) < 0)
        return -1;
    const char *currency = ch ? ch : cm ? cm : cb ? cb : cd ? cd : was;
    if ((ch && strcmp(ch, currency)) || (cm && strcmp(cm, currency)) ||
        (cb && strcmp(cb, currency)) || (cd && strcmp(cd, currency)) ||
        (strcmp(currency, was) != 0 &&
         !(ch && cm && (cb || out->price_bandwidth_gb == 0) &&
           (cd || out->price_disk_gb_month == 0)))) {
        SW_ERR(err, SW_EINVALID,
               "a plan's prices must share a currency: to change the plan's currency (%s),"
               " give price_hourly, price_monthly and (when not 0) price_bandwidth_gb and"
               " price_disk_gb_month",
               was);
        return -1;
    }
    snprintf(out->currency, sizeof out->currency, "%s", currency);
    return 0;
}

int sw_plan_patch_merge(const struct sw_plan_row *cur, const json_t *patch,
                        struct sw_plan_row *out, struct sw_err *err)
{
    if (sw_plan_patch_check(patch, err) < 0)
        return -1;
    *out = *cur;
    for (int i = 0; plan_sizes[i]; i++) {
        const json_t *v = json_object_get(patch, plan_sizes[i]);
        if (v)
            set_size(out, i, v);
    }
    if (sw_json_str(patch, "name"))
        snprintf(out->name, sizeof out->name, "%s", sw_json_str(patch, "name"));
    if (sw_json_str(patch, "state"))
        snprintf(out->state, sizeof out->state, "%s", sw_json_str(patch, "state"));
    if (patch_prices(patch, out, err) < 0)
        return -1;
    if (out->burst_ram_mb != 0 && out->burst_ram_mb < out->ram_mb) {
        SW_ERR(err, SW_EINVALID, "burst_ram_mb must be 0 or at least ram_mb (%lld)",
               (long long)out->ram_mb);
        return -1;
    }
    return parse_limits(patch, &out->limits, err) < 0 ? -1 : check_limits(&out->limits, err);
}

/* Sizes may change only while no server used the plan. */
static int sizes_may_change(struct sw_db *db, const char *id, const struct sw_plan_row *cur,
                            const char *changed, struct sw_err *err)
{
    int64_t used;
    if (sw_data_plans_use(db, id, &used, err) < 0)
        return -1;
    if (used > 0) {
        SW_ERR(err, SW_ECONFLICT,
               "plan \"%s\" is in use by %lld server(s), so its sizes cannot change (%s);"
               " create a new plan instead",
               cur->name, (long long)used, changed);
        return -1;
    }
    return 0;
}

/* One transaction: lock the plan, refuse a change of sizes of a plan in
 * use, merge the body into the row and write it. */
static int plan_patch_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct sw_adm_patch *p = ctx;
    json_decref(SW_STEAL(&p->answer));
    struct sw_plan_row cur, row;
    char changed[160];
    if (sw_data_plans_lock(db, p->id, &cur, err) < 0 ||
        (sw_plan_patch_sizes(&cur, p->body, changed, sizeof changed) > 0 &&
         sizes_may_change(db, p->id, &cur, changed, err) < 0) ||
        sw_plan_patch_merge(&cur, p->body, &row, err) < 0)
        return -1;
    /* Limits are the plan's like its sizes: its servers' domains were
     * defined with them; a server gets others by a resize to another plan. */
    if (memcmp(&cur.limits, &row.limits, sizeof row.limits) != 0 &&
        sizes_may_change(db, p->id, &cur, "limits", err) < 0)
        return -1;
    p->answer = sw_snapshots_plan_apply(db, p->id, p->body,
                                        sw_data_plans_update(db, p->id, &row, err), err);
    p->answer = gb_prices_apply(db, p->id, p->body, p->answer, err);
    p->answer = sw_ha_plan_apply(db, p->id, p->body, p->answer, err);
    if (!p->answer && err->code == SW_ECONFLICT)
        SW_ERR(err, SW_ECONFLICT, "a plan named \"%s\" exists", row.name);
    return p->answer ? 0 : -1;
}

SW_HANDLER(sw_h_admin_plan_patch)
{
    return sw_adm_patch_run(req, resp, err, "plan", plan_patch_fields, sw_plan_patch_check,
                            plan_patch_tx);
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
    json_t *before = sw_data_plans_lock_json(db, d->id, err);
    if (!before)
        return -1;
    int64_t used;
    bool deleted = false;
    if (sw_data_plans_use(db, d->id, &used, err) < 0 ||
        (used == 0 && sw_data_plans_delete(db, d->id, &deleted, err) < 0)) {
        json_decref(before);
        return -1;
    }
    if (deleted) {
        d->answer = json_pack("{s:s, s:o, s:s}", "outcome", "deleted", "plan", before, "message",
                              "the plan was never used and is deleted");
        return 0;
    }
    json_decref(before);
    json_t *plan = sw_data_plans_retire(db, d->id, err);
    if (!plan)
        return -1;
    char msg[160];
    snprintf(msg, sizeof msg,
             "the plan is in use (%lld server(s)) and is retired instead of deleted: nobody can"
             " order it, its servers keep it",
             (long long)used);
    d->answer = json_pack("{s:s, s:o, s:s}", "outcome", "retired", "plan", plan, "message", msg);
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
    {"image_id", SW_JT_STRING, false},
    {"kernel_image_id", SW_JT_STRING, false},
    {"initrd_image_id", SW_JT_STRING, false},
    {NULL, 0, false},
};

static const struct sw_jfield template_patch_fields[] = {
    {"name", SW_JT_STRING, false},
    {"state", SW_JT_STRING, false},
    {"image_id", SW_JT_STRING, false},
    {"kernel_image_id", SW_JT_STRING, false},
    {"initrd_image_id", SW_JT_STRING, false},
    {NULL, 0, false},
};

/* What each image field of a template of each kind may name: the formats,
 * space-separated ("" : not for this kind). */
static const struct {
    const char *field, *hvm, *pv, *container;
} template_image_rules[] = {
    {"image_id", "qcow2 raw", "qcow2 raw", "tar"},
    {"kernel_image_id", "", "kernel", ""},
    {"initrd_image_id", "", "initrd", ""},
};

/* One image field of body against a template of kind: a UUID naming an
 * image of that kind, of a format the field takes, not failed. */
static int check_template_image(struct sw_req *req, const json_t *body, const char *kind,
                                size_t rule, struct sw_err *err)
{
    const char *field = template_image_rules[rule].field, *id = sw_json_str(body, field);
    const char *want = strcmp(kind, "hvm") == 0  ? template_image_rules[rule].hvm
                       : strcmp(kind, "pv") == 0 ? template_image_rules[rule].pv
                                                 : template_image_rules[rule].container;
    if (!id)
        return 0;
    struct sw_data_image_brief b;
    int found = sw_uuid_valid(id) ? sw_data_images_brief(req->db, id, &b, err) : 0;
    if (found < 0)
        return -1;
    if (!want[0]) {
        SW_ERR(err, SW_EUNPROCESSABLE, "a %s template has no %s", kind, field);
    } else if (found == 0) {
        SW_ERR(err, SW_EUNPROCESSABLE, "%s names no image", field);
    } else if (strcmp(b.kind, kind) != 0 || !strstr(want, b.format)) {
        SW_ERR(err, SW_EUNPROCESSABLE, "%s must name a %s image of format %s, not a %s %s image",
               field, kind, want, b.kind, b.format);
    } else if (strcmp(b.state, "failed") == 0) {
        SW_ERR(err, SW_EUNPROCESSABLE, "%s names image \"%s\", which failed", field, b.name);
    } else {
        return 0;
    }
    return -1;
}

/* Every image field of body for a template of kind, and the kernel and
 * initrd given together (or neither). Fills img. */
static int check_template_images(struct sw_req *req, const json_t *body, const char *kind,
                                 bool patch, struct sw_template_images *img, struct sw_err *err)
{
    for (size_t i = 0; i < sizeof template_image_rules / sizeof template_image_rules[0]; i++)
        if (check_template_image(req, body, kind, i, err) < 0)
            return -1;
    *img = (struct sw_template_images){sw_json_str(body, "image_id"),
                                       sw_json_str(body, "kernel_image_id"),
                                       sw_json_str(body, "initrd_image_id")};
    if (!patch && !img->kernel_image_id != !img->initrd_image_id) {
        SW_ERR(err, SW_EINVALID, "kernel_image_id and initrd_image_id go together");
        return -1;
    }
    return 0;
}

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
    struct sw_template_images img;
    if (check_template_images(req, b, sw_json_str(b, "kind"), false, &img, err) < 0)
        goto out;
    sw_uuid_t id;
    sw_uuid_new(id);
    json_t *tpl = sw_data_templates_insert(req->db, id, sw_json_str(b, "name"),
                                           sw_json_str(b, "kind"), os, &img, err);
    rc = tpl ? sw_api_reply(resp, 201, tpl) : -1;
    if (rc < 0 && err->code == SW_ECONFLICT)
        SW_ERR(err, SW_ECONFLICT, "a %s template named \"%s\" exists", sw_json_str(b, "kind"),
               sw_json_str(b, "name"));
out:
    json_decref(b);
    return rc;
}

/* Renames or retires a template, or gives it other images; what it
 * installs (kind, os) is fixed, since servers were built from it. A
 * retired template is not offered. */
SW_HANDLER(sw_h_admin_template_patch)
{
    const char *id;
    json_t *b = sw_adm_patch_body(req, "template", template_patch_fields, &id, err);
    if (!b)
        return -1;
    int rc = -1;
    char kind[16];
    struct sw_template_images img;
    if (sw_api_check_len(b, "name", 1, 64, err) < 0 ||
        sw_adm_check_enum(b, "state", catalog_states, err) < 0 ||
        sw_data_templates_kind(req->db, id, kind, err) < 0 ||
        check_template_images(req, b, kind, true, &img, err) < 0)
        goto out;
    json_t *tpl = sw_data_templates_update(req->db, id, sw_json_str(b, "name"),
                                           sw_json_str(b, "state"), &img, err);
    rc = tpl ? sw_api_reply(resp, 200, tpl) : -1;
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
     "rename, retire or reactivate a template, or give it other images", 0},
    SW_ROUTES_END,
};
