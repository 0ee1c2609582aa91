#include "config.h"
#include "core/invoice.h"
#include "core/alloc.h"
#include "core/db.h"
#include "core/err.h"
#include "core/json.h"
#include "core/rate.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every billable period overlapping the month [$1, $2) (unix seconds),
 * grouped by billed account, currency and server, with the server's
 * traffic, disk, snapshot and backup byte-seconds in the month; then the
 * servers billed for their backups alone (terminated before the month,
 * backups kept: migration 0028's sw_backup_carried_periods), each with its
 * last period, which ended before the month (rate_server bills only their
 * backup line). */
#define LOAD_COLS(sp, u_bytes, u_disk, snap_bs)                                                \
    "SELECT coalesce(o.reseller_id, o.id), " sp ".currency, " sp ".server_id, v.owner_id,"     \
    " " sp ".plan_id, extract(epoch FROM " sp ".started_at)::bigint,"                         \
    " extract(epoch FROM " sp ".ended_at)::bigint, " sp ".price_hourly, " sp                   \
    ".price_monthly, " sp ".price_bandwidth_gb, " sp ".bandwidth_gb, b.tax_rate_bp, " u_bytes \
    ", v.hostname, pl.name, " sp ".price_disk_gb_month, " u_disk ", " sp                       \
    ".price_snapshot_gb_month, " snap_bs ", " sp ".price_backup_gb_month,"                    \
    " sw_backup_byte_s(" sp ".server_id, $1::bigint, $2::bigint), " sp ".id"
#define LOAD_JOINS(sp)                                                                         \
    " JOIN servers v ON v.id = " sp ".server_id JOIN accounts o ON o.id = v.owner_id"          \
    " JOIN accounts b ON b.id = coalesce(o.reseller_id, o.id)"                                 \
    " JOIN plans pl ON pl.id = " sp ".plan_id"
static const char load_sql[] =
    LOAD_COLS("sp", "coalesce(u.bytes, 0)", "coalesce(u.disk_byte_s, 0)",
              "sw_snapshot_byte_s(sp.server_id, $1::bigint, $2::bigint)")
    " FROM server_periods sp" LOAD_JOINS("sp")
    " LEFT JOIN LATERAL (SELECT sum(h.net_rx_bytes + h.net_tx_bytes) AS bytes,"
    "  sum(h.disk_byte_s) AS disk_byte_s"
    "  FROM usage_hourly h WHERE h.server_id = sp.server_id"
    "  AND h.hour >= to_timestamp($1::bigint) AND h.hour < to_timestamp($2::bigint)) u ON true"
    " WHERE sp.started_at < to_timestamp($2::bigint)"
    " AND (sp.ended_at IS NULL OR sp.ended_at > to_timestamp($1::bigint))"
    " AND b.kind IN ('customer', 'reseller')"
    " UNION ALL "
    LOAD_COLS("c", "0", "0", "0")
    " FROM sw_backup_carried_periods($1::bigint, $2::bigint) c" LOAD_JOINS("c")
    " WHERE b.kind IN ('customer', 'reseller')"
    " ORDER BY 1, 2, 3, 6, 22";

enum { C_BILLED, C_CUR, C_SERVER, C_OWNER, C_PLAN, C_START, C_END, C_PH, C_PM, C_PBW, C_BW,
       C_TAX, C_BYTES, C_HOST, C_PLAN_NAME, C_PDISK, C_DISK_BS, C_PSNAP, C_SNAP_BS, C_PBK,
       C_BK_BS };

struct month {
    char period[8];
    int64_t from, to, now;
};

static int month_load(struct sw_db *db, const char *period, struct month *m, struct sw_err *err)
{
    if (sw_rate_month(period, &m->from, &m->to) < 0) {
        SW_ERR(err, SW_EINVALID, "period must be YYYY-MM");
        return -1;
    }
    snprintf(m->period, sizeof m->period, "%s", period);
    PGresult *res = sw_db_exec(db, err, "SELECT extract(epoch FROM now())::bigint", 0, NULL);
    if (!res)
        return -1;
    m->now = sw_db_get_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

static bool same(const PGresult *r, int a, int b, int col)
{
    return strcmp(sw_db_get(r, a, col), sw_db_get(r, b, col)) == 0;
}

/* One invoice's worth of rows: [first, last) of the result. */
struct group {
    int first, last;
    json_t *lines;
    int64_t subtotal, tax;
    int tax_bp;
};

static json_t *line_json(const PGresult *r, int row, const char *kind, int64_t start, int64_t end,
                         int64_t quantity, int64_t unit_price, const int64_t *cap, int64_t amount,
                         const char *description)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:I, s:s}", "kind", kind,
                     "server_id", sw_db_get(r, row, C_SERVER), "owner_id",
                     sw_db_get(r, row, C_OWNER), "plan_id", sw_db_get(r, row, C_PLAN),
                     "started_at", (json_int_t)start, "ended_at", (json_int_t)end, "quantity",
                     (json_int_t)quantity, "unit_price", (json_int_t)unit_price, "cap",
                     cap ? json_integer(*cap) : json_null(), "amount", (json_int_t)amount,
                     "description", description);
}

/* The disk line of one server (rule 6), from its samples in the month, at
 * the price of its last period (row): none when nothing is charged. The
 * snapshot line (kind "snapshot", migration 0025) and the backup line
 * (kind "backup", migration 0028) are rated the same way from their
 * byte-seconds and price columns. */
static int rate_disk(const PGresult *r, int row, int64_t start, int64_t end,
                     const struct month *m, struct group *g, const char *kind, int c_price,
                     int c_byte_s, struct sw_err *err)
{
    unsigned __int128 byte_s;
    if (sw_rate_parse_u128(sw_db_get(r, row, c_byte_s), &byte_s) < 0) {
        SW_ERR(err, SW_EINTERNAL, "rating: %s byte-seconds are not a whole number", kind);
        return -1;
    }
    struct sw_rate_disk d;
    if (sw_rate_disk(byte_s, m->from, m->to, sw_db_get_i64(r, row, c_price), &d, err) < 0)
        return -1;
    if (d.amount == 0)
        return 0;
    char desc[400];
    snprintf(desc, sizeof desc, "%s %s, %" PRId64 " bytes on average over %s",
             sw_db_get(r, row, C_HOST),
             strcmp(kind, "disk") == 0 ? "disk" : strcmp(kind, "backup") == 0 ? "backups"
                                                                              : "snapshots",
             d.avg_bytes, m->period);
    json_array_append_new(g->lines, line_json(r, row, kind, start, end, d.avg_bytes,
                                              d.unit_price, NULL, d.amount, desc));
    g->subtotal += d.amount;
    return 0;
}

/* Rates the rows of one server [a, b) into g. */
static int rate_server(const PGresult *r, int a, int b, const struct month *m, struct group *g,
                       struct sw_err *err)
{
    if (sw_db_get(r, a, C_END) && sw_db_get_i64(r, a, C_END) <= m->from)
        /* terminated before the month, its backups kept: billed for them alone */
        return rate_disk(r, a, m->from, m->to, m, g, "backup", C_PBK, C_BK_BS, err);
    size_t n = (size_t)(b - a);
    struct sw_rate_period *p = sw_calloc(n, sizeof *p);
    struct sw_rate_line *lines = sw_calloc(n, sizeof *lines);
    for (size_t i = 0; i < n; i++) {
        int row = a + (int)i;
        p[i] = (struct sw_rate_period){
            .start = sw_db_get_i64(r, row, C_START),
            .end = sw_db_get(r, row, C_END) ? sw_db_get_i64(r, row, C_END) : -1,
            .price_hourly = sw_db_get_i64(r, row, C_PH),
            .price_monthly = sw_db_get_i64(r, row, C_PM),
            .price_bandwidth_gb = sw_db_get_i64(r, row, C_PBW),
            .bandwidth_gb = sw_db_get_i64(r, row, C_BW),
        };
    }
    size_t nl;
    struct sw_rate_bandwidth bw;
    int rc = sw_rate_server(p, n, m->from, m->to, m->now, sw_db_get_i64(r, a, C_BYTES), lines,
                            &nl, &bw, err);
    for (size_t k = 0; rc == 0 && k < nl; k++) {
        int row = a + (int)lines[k].period;
        char desc[400];
        snprintf(desc, sizeof desc, "%s on %s, %" PRId64 " s", sw_db_get(r, row, C_HOST),
                 sw_db_get(r, row, C_PLAN_NAME), lines[k].seconds);
        json_array_append_new(g->lines, line_json(r, row, "server", lines[k].start, lines[k].end,
                                                  lines[k].seconds, p[lines[k].period].price_hourly,
                                                  &lines[k].cap, lines[k].amount, desc));
        g->subtotal += lines[k].amount;
    }
    if (rc == 0 && bw.over > 0) {
        int row = a + (int)lines[nl - 1].period;
        char desc[400];
        snprintf(desc, sizeof desc,
                 "%s traffic %" PRId64 " bytes, %" PRId64 " over the allowance of %" PRId64,
                 sw_db_get(r, row, C_HOST), bw.traffic, bw.over, bw.allowance);
        /* the last period by start is the last line (rows are by start) */
        json_array_append_new(g->lines, line_json(r, row, "bandwidth", lines[0].start,
                                                  lines[nl - 1].end, bw.over, bw.unit_price, NULL,
                                                  bw.amount, desc));
        g->subtotal += bw.amount;
    }
    if (rc == 0 && nl > 0)
        rc = rate_disk(r, a + (int)lines[nl - 1].period, lines[0].start, lines[nl - 1].end, m, g,
                       "disk", C_PDISK, C_DISK_BS, err);
    if (rc == 0 && nl > 0)
        rc = rate_disk(r, a + (int)lines[nl - 1].period, lines[0].start, lines[nl - 1].end, m, g,
                       "snapshot", C_PSNAP, C_SNAP_BS, err);
    if (rc == 0 && nl > 0)
        rc = rate_disk(r, a + (int)lines[nl - 1].period, lines[0].start, lines[nl - 1].end, m, g,
                       "backup", C_PBK, C_BK_BS, err);
    free(p);
    free(lines);
    return rc;
}

/* Rates one group (billed account and currency) into g. */
static int rate_group(const PGresult *r, const struct month *m, struct group *g,
                      struct sw_err *err)
{
    g->lines = json_array();
    g->subtotal = 0;
    g->tax_bp = (int)sw_db_get_i64(r, g->first, C_TAX);
    for (int a = g->first; a < g->last;) {
        int b = a + 1;
        while (b < g->last && same(r, a, b, C_SERVER))
            b++;
        if (rate_server(r, a, b, m, g, err) < 0)
            return -1;
        a = b;
    }
    return sw_rate_tax(g->subtotal, g->tax_bp, &g->tax, err);
}

/* Stores g's draft; id gets the invoice id, or "" when it is finalized. */
static int store(struct sw_db *db, const PGresult *r, const struct month *m,
                 const struct group *g, char id[40], struct sw_err *err)
{
    char bp[16], sub[24], tax[24];
    snprintf(bp, sizeof bp, "%d", g->tax_bp);
    snprintf(sub, sizeof sub, "%" PRId64, g->subtotal);
    snprintf(tax, sizeof tax, "%" PRId64, g->tax);
    char *lines = sw_json_dump(g->lines);
    PGresult *res = sw_db_exec(
        db, err, "SELECT sw_invoice_store_draft($1, $2, $3, $4, $5, $6, $7)",
        SW_PARAMS(sw_db_get(r, g->first, C_BILLED), m->period, sw_db_get(r, g->first, C_CUR), bp,
                  sub, tax, lines));
    free(lines);
    if (!res)
        return -1;
    snprintf(id, 40, "%s", sw_db_get(res, 0, 0) ? sw_db_get(res, 0, 0) : "");
    PQclear(res);
    return 0;
}

typedef int (*group_fn)(struct sw_db *db, const PGresult *r, const struct month *m,
                        struct group *g, void *ctx, struct sw_err *err);

/* Loads the month and calls fn for each group, in order. */
static int each_group(struct sw_db *db, const struct month *m, group_fn fn, void *ctx,
                      struct sw_err *err)
{
    char from[24], to[24];
    snprintf(from, sizeof from, "%" PRId64, m->from);
    snprintf(to, sizeof to, "%" PRId64, m->to);
    PGresult *r = sw_db_exec(db, err, load_sql, SW_PARAMS(from, to));
    if (!r)
        return -1;
    int rc = 0, n = PQntuples(r);
    for (int a = 0; rc == 0 && a < n;) {
        int b = a + 1;
        while (b < n && same(r, a, b, C_BILLED) && same(r, a, b, C_CUR))
            b++;
        struct group g = {a, b, NULL, 0, 0, 0};
        rc = fn(db, r, m, &g, ctx, err);
        json_decref(g.lines);
        a = b;
    }
    PQclear(r);
    return rc;
}

struct drafts {
    json_t *ids; /* drafts stored */
};

static int draft_one(struct sw_db *db, const PGresult *r, const struct month *m, struct group *g,
                     void *ctx, struct sw_err *err)
{
    struct drafts *d = ctx;
    char id[40];
    if (rate_group(r, m, g, err) < 0 || store(db, r, m, g, id, err) < 0)
        return -1;
    if (id[0])
        json_array_append_new(d->ids, json_string(id));
    return 0;
}

/* One pass over a month at a time, whoever runs it (the billing daemon's
 * cycle, slipwayctl invoice run): a pass rates what it loaded at its start,
 * so two at once let the older store last, and its "no longer billed"
 * sweep delete a draft the newer one had just made (seen: a customer's
 * draft gone right after `invoice run --draft` made it). A session lock
 * keyed by the period, released on every return and with the connection. */
static int month_lock(struct sw_db *db, const char *period, bool take, struct sw_err *err)
{
    return sw_db_run(db, err,
                     take ? "SELECT pg_advisory_lock(hashtextextended('sw-invoice-' || $1, 0))"
                          : "SELECT pg_advisory_unlock(hashtextextended('sw-invoice-' || $1, 0))",
                     SW_PARAMS(period)) < 0
               ? -1
               : 0;
}

static int draft_period(struct sw_db *db, const char *period, struct sw_err *err);
static int finalize_period(struct sw_db *db, const char *period, int due_days,
                           struct sw_err *err);

int sw_invoice_draft_period(struct sw_db *db, const char *period, struct sw_err *err)
{
    if (month_lock(db, period, true, err) < 0)
        return -1;
    int rc = draft_period(db, period, err);
    if (month_lock(db, period, false, rc < 0 ? NULL : err) < 0)
        rc = -1;
    return rc;
}

int sw_invoice_finalize_period(struct sw_db *db, const char *period, int due_days,
                               struct sw_err *err)
{
    if (month_lock(db, period, true, err) < 0)
        return -1;
    int rc = finalize_period(db, period, due_days, err);
    if (month_lock(db, period, false, rc < 0 ? NULL : err) < 0)
        rc = -1;
    return rc;
}

static int draft_period(struct sw_db *db, const char *period, struct sw_err *err)
{
    struct month m;
    if (month_load(db, period, &m, err) < 0)
        return -1;
    struct drafts d = {json_array()};
    int rc = each_group(db, &m, draft_one, &d, err);
    if (rc == 0) {
        /* Drafts of the month that bill nothing any more. */
        char *ids = sw_json_dump(d.ids);
        rc = sw_db_run(db, err,
                       "WITH gone AS (SELECT id FROM invoices WHERE period = $1 AND state = 'draft'"
                       "  AND id NOT IN (SELECT value::uuid FROM json_array_elements_text($2::json))"
                       "  FOR UPDATE),"
                       " l AS (DELETE FROM invoice_lines WHERE invoice_id IN (SELECT id FROM gone))"
                       " DELETE FROM invoices WHERE id IN (SELECT id FROM gone)",
                       SW_PARAMS(m.period, ids)) < 0
                 ? -1
                 : (int)json_array_size(d.ids);
        free(ids);
    }
    json_decref(d.ids);
    return rc;
}

struct finals {
    int due_days;
    int done;
    bool finalized; /* by the last transaction (counted once it committed) */
    const PGresult *r;
    const struct month *m;
    struct group *g;
};

static int finalize_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct finals *f = ctx;
    char id[40], due[16];
    if (store(db, f->r, f->m, f->g, id, err) < 0)
        return -1;
    if (!id[0])
        return 0; /* finalized already */
    snprintf(due, sizeof due, "%d", f->due_days);
    PGresult *res =
        sw_db_exec(db, err, "SELECT sw_invoice_finalize($1, $2)", SW_PARAMS(id, due));
    if (!res)
        return -1;
    bool now = sw_db_get(res, 0, 0) != NULL;
    PQclear(res);
    return now ? 1 : 0;
}

static int count_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct finals *f = ctx;
    int rc = finalize_tx(db, ctx, err);
    f->finalized = rc > 0;
    return rc < 0 ? -1 : 0;
}

/* Rates one group, then recomputes and finalizes it in one transaction. */
static int finalize_group(struct sw_db *db, const PGresult *r, const struct month *m,
                          struct group *g, void *ctx, struct sw_err *err)
{
    (void)m;
    struct finals *f = ctx;
    if (rate_group(r, f->m, g, err) < 0)
        return -1;
    f->r = r;
    f->g = g;
    if (sw_db_tx(db, count_tx, f, err) < 0)
        return -1;
    f->done += f->finalized;
    return 0;
}

static int finalize_period(struct sw_db *db, const char *period, int due_days,
                           struct sw_err *err)
{
    struct month m;
    if (month_load(db, period, &m, err) < 0)
        return -1;
    if (m.now < m.to) {
        SW_ERR(err, SW_ECONFLICT, "month %s is not over yet", m.period);
        return -1;
    }
    struct finals f = {due_days, 0, false, NULL, &m, NULL};
    if (each_group(db, &m, finalize_group, &f, err) < 0)
        return -1;
    /* Drafts of the month left without any billable period: removed. */
    if (sw_db_run(db, err,
                  "WITH gone AS (SELECT id FROM invoices WHERE period = $1 AND state = 'draft'"
                  "  FOR UPDATE SKIP LOCKED),"
                  " l AS (DELETE FROM invoice_lines WHERE invoice_id IN (SELECT id FROM gone))"
                  " DELETE FROM invoices WHERE id IN (SELECT id FROM gone)",
                  SW_PARAMS(m.period)) < 0)
        return -1;
    return f.done;
}

int sw_invoice_current_period(struct sw_db *db, char out[8], struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err, "SELECT extract(epoch FROM now())::bigint", 0, NULL);
    if (!res)
        return -1;
    sw_rate_month_of(sw_db_get_i64(res, 0, 0), out);
    PQclear(res);
    return 0;
}
