#include "config.h"

#include "billing/usage.h"
#include "core/db.h"
#include "core/err.h"
#include "core/msg.h"

#include <stdio.h>
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
                            m->net_tx_bytes, m->disk_rd_bytes, m->disk_wr_bytes};
    char s[sizeof nums / sizeof nums[0]][24];
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        snprintf(s[i], sizeof s[i], "%lld", (long long)nums[i]);
    long rows = sw_db_run(
        db, err,
        "INSERT INTO usage_samples (sample_id, server_id, node_id, ts, period_s, cpu_ns,"
        " mem_mb, mem_max_mb, net_rx_bytes, net_tx_bytes, disk_rd_bytes, disk_wr_bytes)"
        " VALUES ($1, $2, $3, to_timestamp($4::bigint), $5, $6, $7, $8, $9, $10, $11, $12)"
        " ON CONFLICT (sample_id) DO NOTHING",
        SW_PARAMS(m->sample_id, m->server_id, m->node_id, s[0], s[1], s[2], s[3], s[4], s[5], s[6],
                  s[7], s[8]));
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
