#include "config.h"
#include "panel/data_catalog.h"
#include "core/alloc.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>

int sw_data_catalog_active_of_kind(struct sw_db *db, const char *table, const char *id,
                                   const char *kind, struct sw_err *err)
{
    char *sql =
        sw_asprintf("SELECT 1 FROM %s WHERE id = $1 AND state = 'active' AND kind = $2", table);
    int found = sw_data_exists(db, err, sql, SW_PARAMS(id, kind));
    free(sql);
    return found;
}

int sw_data_catalog_order_plan(struct sw_db *db, const char *plan_id, const char *template_id,
                               struct sw_data_order_plan *out, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT p.kind, t.kind, p.vcpus, p.ram_mb, p.disk_gb"
                               " FROM plans p, templates t"
                               " WHERE p.id = $1 AND p.state = 'active'"
                               " AND t.id = $2 AND t.state = 'active'",
                               SW_PARAMS(plan_id, template_id));
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        snprintf(out->kind, sizeof out->kind, "%s", sw_db_get(res, 0, 0));
        snprintf(out->template_kind, sizeof out->template_kind, "%s", sw_db_get(res, 0, 1));
        out->vcpus = sw_db_get_i64(res, 0, 2);
        out->ram_mb = sw_db_get_i64(res, 0, 3);
        out->disk_gb = sw_db_get_i64(res, 0, 4);
    }
    PQclear(res);
    return found;
}

int sw_data_catalog_location_exists(struct sw_db *db, const char *id, struct sw_err *err)
{
    return sw_data_exists(db, err, "SELECT 1 FROM locations WHERE id = $1", SW_PARAMS(id));
}

/* What the caller may order: the kinds its reseller's quota allows (a
 * reseller's own quota; a customer's reseller's; no quota row, or the
 * operator and its direct customers: every kind). $1 is the caller. */
#define ORDERABLE_KIND                                                                             \
    "t.kind = ANY (coalesce((SELECT q.kinds FROM reseller_quotas q, accounts a"                    \
    " WHERE a.id = $1::uuid AND q.reseller_id = coalesce(a.reseller_id, a.id)),"                   \
    " ARRAY['container', 'pv', 'hvm']))"

const struct sw_data_list sw_data_catalog_plans = {"sw_plan_json(t)", "plans",
                                                   "t.state = 'active' AND " ORDERABLE_KIND, NULL};
const struct sw_data_list sw_data_catalog_templates = {
    "sw_template_json(t)", "templates", "t.state = 'active' AND " ORDERABLE_KIND, NULL};
const struct sw_data_list sw_data_catalog_locations = {"sw_location_json(t)", "locations",
                                                       "$1::uuid IS NOT NULL", NULL};
