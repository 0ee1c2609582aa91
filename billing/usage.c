#include "config.h"

#include "billing/usage.h"
#include "core/alloc.h"
#include "core/db.h"
#include "core/err.h"
#include "core/msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool sw_usage_id_valid(const struct sw_msg_usage *m, struct sw_err *err)
{
    char want[sizeof m->sample_id];
    int n = snprintf(want, sizeof want, "%s:%lld", m->server_id, (long long)m->ts);
    if (n > 0 && (size_t)n < sizeof want && strcasecmp(want, m->sample_id) == 0)
        return true;
    SW_ERR(err, SW_EINVALID, "sample_id must be \"<server_id>:<ts>\"");
    sw_err_detail(err, "sample_id=%s want=%s", m->sample_id, want);
    return false;
}

int sw_usage_store(struct sw_db *db, const struct sw_msg_usage *m, struct sw_err *err)
{
    const int64_t nums[] = {m->ts,           m->period_s,      m->cpu_ns,
                            m->mem_mb,       m->mem_max_mb,    m->net_rx_bytes,
                            m->net_tx_bytes, m->disk_rd_bytes, m->disk_wr_bytes,
                            m->disk_bytes};
    char s[sizeof nums / sizeof nums[0]][24];
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        snprintf(s[i], sizeof s[i], "%lld", (long long)nums[i]);
    long rows = sw_db_run(
        db, err,
        "INSERT INTO usage_samples (sample_id, server_id, node_id, ts, period_s, cpu_ns,"
        " mem_mb, mem_max_mb, net_rx_bytes, net_tx_bytes, disk_rd_bytes, disk_wr_bytes,"
        " disk_bytes)"
        " VALUES ($1, $2, $3, to_timestamp($4::bigint), $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        " ON CONFLICT (sample_id) DO NOTHING",
        SW_PARAMS(m->sample_id, m->server_id, m->node_id, s[0], s[1], s[2], s[3], s[4], s[5], s[6],
                  s[7], s[8], s[9]));
    if (rows < 0)
        return -1;
    return rows > 0 ? 1 : 0;
}

static const struct {
    enum sw_errc code;
    enum sw_msg_outcome result;
} dispositions[] = {
    {SW_EINVALID, SW_MSG_POISON},
    {SW_ENOTFOUND, SW_MSG_POISON},
    {SW_ECONFLICT, SW_MSG_POISON},
    {SW_EUNPROCESSABLE, SW_MSG_POISON},
};

enum sw_msg_outcome sw_usage_disposition(const struct sw_err *err)
{
    for (size_t i = 0; i < sizeof dispositions / sizeof dispositions[0]; i++)
        if (dispositions[i].code == err->code)
            return dispositions[i].result;
    return SW_MSG_RETRY;
}

/* A growing text buffer for array literals. */
struct lit {
    char *p;
    size_t len, cap;
};

static void lit_put(struct lit *l, const char *s)
{
    size_t n = strlen(s);
    if (l->len + n + 2 > l->cap) {
        l->cap = (l->len + n + 2) * 2;
        l->p = sw_realloc(l->p, l->cap);
    }
    memcpy(l->p + l->len, s, n + 1);
    l->len += n;
}

/* Columns of the batch, as PostgreSQL array literals. Every element is a
 * UUID, a "<uuid>:<digits>" sample id or an integer: nothing to quote. */
enum { U_ID, U_SERVER, U_NODE, U_TS, U_PERIOD, U_CPU, U_MEM, U_MEMMAX, U_RX, U_TX, U_RD, U_WR,
       U_DISK, U__N };

long sw_usage_store_batch(struct sw_db *db, const struct sw_msg_usage *m, size_t n,
                          enum sw_msg_outcome *out, struct sw_err *errs)
{
    if (n == 0)
        return 0;
    struct lit cols[U__N] = {{0}};
    for (int c = 0; c < U__N; c++)
        lit_put(&cols[c], "{");
    for (size_t i = 0; i < n; i++) {
        const int64_t nums[] = {m[i].ts,           m[i].period_s,      m[i].cpu_ns,
                                m[i].mem_mb,       m[i].mem_max_mb,    m[i].net_rx_bytes,
                                m[i].net_tx_bytes, m[i].disk_rd_bytes, m[i].disk_wr_bytes,
                                m[i].disk_bytes};
        const char *sep = i ? "," : "";
        lit_put(&cols[U_ID], sep);
        lit_put(&cols[U_ID], m[i].sample_id);
        lit_put(&cols[U_SERVER], sep);
        lit_put(&cols[U_SERVER], m[i].server_id);
        lit_put(&cols[U_NODE], sep);
        lit_put(&cols[U_NODE], m[i].node_id);
        for (int c = U_TS; c < U__N; c++) {
            char v[24];
            snprintf(v, sizeof v, "%s%lld", sep, (long long)nums[c - U_TS]);
            lit_put(&cols[c], v);
        }
    }
    for (int c = 0; c < U__N; c++)
        lit_put(&cols[c], "}");
    struct sw_err err = {0};
    long rows = sw_db_run(
        db, &err,
        "INSERT INTO usage_samples (sample_id, server_id, node_id, ts, period_s, cpu_ns,"
        " mem_mb, mem_max_mb, net_rx_bytes, net_tx_bytes, disk_rd_bytes, disk_wr_bytes,"
        " disk_bytes)"
        " SELECT i, s, n, to_timestamp(t), p, c, m, mm, rx, tx, rd, wr, d"
        " FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::bigint[], $5::integer[],"
        "  $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[],"
        "  $12::bigint[], $13::bigint[]) AS u(i, s, n, t, p, c, m, mm, rx, tx, rd, wr, d)"
        " ON CONFLICT (sample_id) DO NOTHING",
        SW_PARAMS(cols[0].p, cols[1].p, cols[2].p, cols[3].p, cols[4].p, cols[5].p, cols[6].p,
                  cols[7].p, cols[8].p, cols[9].p, cols[10].p, cols[11].p, cols[12].p));
    for (int c = 0; c < U__N; c++)
        free(cols[c].p);
    if (rows >= 0) {
        for (size_t i = 0; i < n; i++)
            out[i] = SW_MSG_DONE;
        return rows;
    }
    if (sw_usage_disposition(&err) == SW_MSG_RETRY) {
        for (size_t i = 0; i < n; i++) {
            out[i] = SW_MSG_RETRY;
            errs[i] = err;
        }
        return -1;
    }
    /* Bad data somewhere in the batch: one by one, so only it is refused. */
    long stored = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = sw_usage_store(db, &m[i], &errs[i]);
        out[i] = rc >= 0 ? SW_MSG_DONE : sw_usage_disposition(&errs[i]);
        stored += rc > 0;
    }
    return stored;
}

int sw_usage_check_placed(struct sw_db *db, const struct sw_msg_usage *m, size_t n, bool *placed,
                          struct sw_err *err)
{
    struct lit cols[4] = {{0}};
    for (int c = 0; c < 4; c++)
        lit_put(&cols[c], "{");
    for (size_t i = 0; i < n; i++) {
        char v[48];
        const char *sep = i ? "," : "";
        snprintf(v, sizeof v, "%s%s", sep, m[i].server_id);
        lit_put(&cols[0], v);
        snprintf(v, sizeof v, "%s%s", sep, m[i].node_id);
        lit_put(&cols[1], v);
        snprintf(v, sizeof v, "%s%lld", sep, (long long)m[i].ts);
        lit_put(&cols[2], v);
        snprintf(v, sizeof v, "%s%lld", sep, (long long)m[i].period_s);
        lit_put(&cols[3], v);
    }
    for (int c = 0; c < 4; c++)
        lit_put(&cols[c], "}");
    PGresult *res = sw_db_exec(
        db, err,
        "SELECT u.o FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::bigint[])"
        "  WITH ORDINALITY AS u(s, n, t, p, o)"
        " WHERE EXISTS (SELECT 1 FROM server_placements sp WHERE sp.server_id = u.s"
        "  AND sp.node_id = u.n AND sp.since <= to_timestamp(u.t)"
        "  AND (sp.until IS NULL OR sp.until >= to_timestamp(u.t - u.p)))",
        SW_PARAMS(cols[0].p, cols[1].p, cols[2].p, cols[3].p));
    for (int c = 0; c < 4; c++)
        free(cols[c].p);
    if (!res)
        return -1;
    memset(placed, 0, n * sizeof *placed);
    for (int r = 0; r < PQntuples(res); r++) {
        int64_t o = sw_db_get_i64(res, r, 0);
        if (o >= 1 && (size_t)o <= n)
            placed[o - 1] = true;
    }
    PQclear(res);
    return 0;
}

/* ---- the fast path of decoding ---- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* A JSON string without escapes or control characters: [*b, *e). */
static const char *scan_plain_string(const char *p, const char **b, const char **e)
{
    if (*p != '"')
        return NULL;
    *b = ++p;
    while (*p && *p != '"') {
        if (*p == '\\' || (unsigned char)*p < 0x20)
            return NULL;
        p++;
    }
    if (*p != '"')
        return NULL;
    *e = p;
    return p + 1;
}

/* A non-negative JSON integer of at most 18 digits (no fraction or
 * exponent, no leading zero). */
static const char *scan_count(const char *p, int64_t *out)
{
    const char *b = p;
    int64_t v = 0;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (*p++ - '0');
    size_t n = (size_t)(p - b);
    if (n == 0 || n > 18 || (n > 1 && *b == '0') || *p == '.' || *p == 'e' || *p == 'E')
        return NULL;
    *out = v;
    return p;
}

static const char *const usage_keys[] = {
    "sample_id",    "server_id",    "node_id",       "ts",           "period_s",   "cpu_ns",
    "mem_mb",       "mem_max_mb",   "net_rx_bytes",  "net_tx_bytes", "disk_rd_bytes",
    "disk_wr_bytes", "disk_bytes",
};
#define USAGE_KEYS (sizeof usage_keys / sizeof usage_keys[0])
/* Every key but disk_bytes (optional: 0 when absent) must be there. */
#define USAGE_REQUIRED ((1u << (USAGE_KEYS - 1)) - 1)

int sw_usage_decode_fast(const char *s, struct sw_msg_usage *m)
{
    if (!s)
        return -1;
    unsigned seen = 0;
    m->disk_bytes = 0;
    int64_t *nums[] = {NULL,        NULL,          NULL,           &m->ts,
                       &m->period_s, &m->cpu_ns,   &m->mem_mb,     &m->mem_max_mb,
                       &m->net_rx_bytes, &m->net_tx_bytes, &m->disk_rd_bytes,
                       &m->disk_wr_bytes, &m->disk_bytes};
    const char *p = skip_ws(s);
    if (*p++ != '{')
        return -1;
    for (;;) {
        const char *kb, *ke, *vb, *ve;
        p = scan_plain_string(skip_ws(p), &kb, &ke);
        if (!p)
            return -1;
        p = skip_ws(p);
        if (*p++ != ':')
            return -1;
        p = skip_ws(p);
        size_t k = 0, kl = (size_t)(ke - kb);
        while (k < USAGE_KEYS && !(strlen(usage_keys[k]) == kl && memcmp(usage_keys[k], kb, kl) == 0))
            k++;
        if (k == USAGE_KEYS || (seen & (1u << k)))
            return -1; /* unknown or repeated: the strict decoder says why */
        seen |= 1u << k;
        if (k < 3) {
            p = scan_plain_string(p, &vb, &ve);
            size_t vl = p ? (size_t)(ve - vb) : 0;
            if (!p || (k == 0 && (vl == 0 || vl >= sizeof m->sample_id)) ||
                (k > 0 && vl != SW_UUID_LEN))
                return -1;
            char *dst = k == 0 ? m->sample_id : k == 1 ? m->server_id : m->node_id;
            memcpy(dst, vb, vl);
            dst[vl] = '\0';
            if (k > 0 && !sw_uuid_valid(dst))
                return -1;
        } else if (!(p = scan_count(p, nums[k]))) {
            return -1;
        }
        p = skip_ws(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p++ != '}')
            return -1;
        break;
    }
    if (*skip_ws(p) != '\0' || (seen & USAGE_REQUIRED) != USAGE_REQUIRED || m->period_s <= 0 || m->period_s > 86400)
        return -1;
    return 0;
}
