/* data_ippools.c - the SQL of the IP pool routes (data_ippools.h). */
#include "config.h"
#include "panel/data_ippools.h"
#include "core/db.h"
#include "panel/admin_util.h"
#include "panel/data.h"

#include <stdio.h>

int sw_data_ippools_overlapping(struct sw_db *db, const char *network, char net[64],
                                char id[SW_UUID_LEN + 1], struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT p.network::text, p.id FROM ip_pools p"
                               " WHERE p.network && $1::cidr ORDER BY p.network LIMIT 1",
                               SW_PARAMS(network));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        snprintf(net, 64, "%s", sw_db_get(res, 0, 0));
        snprintf(id, SW_UUID_LEN + 1, "%s", sw_db_get(res, 0, 1));
    }
    PQclear(res);
    return found;
}

json_t *sw_data_ippools_insert(struct sw_db *db, const char *id, const char *location_id,
                               int family, const char *network, const char *gateway,
                               const char *dns_json, struct sw_err *err)
{
    char fam[24];
    return sw_data_json_row(
        db, err, "ip pool",
        "INSERT INTO ip_pools (id, location_id, family, network, gateway, dns)"
        " VALUES ($1, $2, $3, $4::cidr, $5::inet,"
        "  ARRAY(SELECT json_array_elements_text(coalesce($6::json, '[]')))::inet[])"
        " RETURNING sw_ip_pool_json(ip_pools)",
        SW_PARAMS(id, location_id, sw_adm_i64(fam, family), network, gateway, dns_json));
}
