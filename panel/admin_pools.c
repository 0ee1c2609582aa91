/* admin_pools.c - a node's storage pools on the operator's node routes
 * ("pools" on POST /v1/admin/nodes and PATCH /v1/admin/nodes/{id}): the
 * pure check that turns what the operator sent into the rows to store
 * (admin.h), the write that replaces them (data_nodes.c), and what the
 * node's answer adds to each pool: the GiB it offers placement and whether
 * it takes new servers (core/diskpool.h, the figure placement uses). */
#include "config.h"
#include "panel/admin.h"
#include "core/diskpool.h"
#include "core/err.h"
#include "core/json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define POOLS_MAX 16
#define DEFAULT_DIR "/var/lib/slipway/pools/"

static const struct sw_jfield pool_fields[] = {
    {"name", SW_JT_STRING, true},         {"type", SW_JT_STRING, false},
    {"path", SW_JT_STRING, false},        {"shared", SW_JT_BOOL, false},
    {"disk_ratio", SW_JT_NUMBER, false},  {"fill_threshold", SW_JT_INT, false},
    {NULL, 0, false},
};

static const char *const pool_types[] = {"dir", "logical", "zfs", "netfs", "rbd", NULL};

static bool name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || !((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* A path goes into the pool's libvirt XML on the node: absolute for dir,
 * printable, no markup characters. */
static bool path_valid(const char *s, bool absolute)
{
    size_t n = strlen(s);
    if (n == 0 || n > 511 || (absolute && s[0] != '/'))
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f || strchr("<>&'\"", *s))
            return false;
    return true;
}

static bool type_known(const char *t)
{
    for (const char *const *p = pool_types; *p; p++)
        if (strcmp(*p, t) == 0)
            return true;
    return false;
}

/* One pool object into its row (defaults filled); i is its index. */
static json_t *pool_row(const json_t *o, size_t i, struct sw_err *err)
{
    if (!json_is_object(o) || sw_json_check(o, pool_fields, err) < 0) {
        if (!json_is_object(o))
            SW_ERR(err, SW_EINVALID, "pools[%zu] must be an object", i);
        return NULL;
    }
    const char *name = sw_json_str(o, "name"), *type = sw_json_str(o, "type");
    const char *path = sw_json_str(o, "path");
    type = type ? type : "dir";
    bool dir = strcmp(type, "dir") == 0;
    double ratio = json_is_number(json_object_get(o, "disk_ratio"))
                       ? json_number_value(json_object_get(o, "disk_ratio"))
                       : 1.0;
    int64_t fill = sw_json_int(o, "fill_threshold", 90);
    char def[128];
    snprintf(def, sizeof def, DEFAULT_DIR "%s", name);
    if (!name_valid(name))
        SW_ERR(err, SW_EINVALID, "pools[%zu].name must match [a-z0-9][a-z0-9_-]* (at most 63)", i);
    else if (!type_known(type))
        SW_ERR(err, SW_EINVALID, "pools[%zu].type must be dir, logical, zfs, netfs or rbd", i);
    else if (path && !path_valid(path, dir))
        SW_ERR(err, SW_EINVALID, "pools[%zu].path must be %s, printable, at most 511 bytes", i,
               dir ? "an absolute path" : "a source name");
    else if (!(ratio > 0 && ratio <= 1000) || fabs(ratio * 1000 - round(ratio * 1000)) > 1e-6)
        SW_ERR(err, SW_EINVALID, "pools[%zu].disk_ratio must be above 0, at most 1000", i);
    else if (fill < 1 || fill > 100)
        SW_ERR(err, SW_EINVALID, "pools[%zu].fill_threshold must be 1..100 (percent)", i);
    else
        return json_pack("{s:s, s:s, s:s?, s:b, s:f, s:I, s:I}", "name", name, "type", type,
                         "path", path ? path : dir ? def : NULL, "shared",
                         sw_json_bool(o, "shared", false), "disk_ratio", ratio, "fill_threshold",
                         (json_int_t)fill, "position", (json_int_t)i);
    return NULL;
}

json_t *sw_node_pools_rows(const json_t *pools, struct sw_err *err)
{
    size_t n = json_array_size(pools);
    if (!json_is_array(pools) || n < 1 || n > POOLS_MAX) {
        SW_ERR(err, SW_EINVALID, "pools must be an array of 1 to %d pools", POOLS_MAX);
        return NULL;
    }
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *r = pool_row(json_array_get(pools, i), i, err);
        for (size_t k = 0; r && k < i; k++)
            if (strcmp(sw_json_str(json_array_get(rows, k), "name"), sw_json_str(r, "name")) == 0) {
                SW_ERR(err, SW_EINVALID, "pools[%zu].name \"%s\" is given twice", i,
                       sw_json_str(r, "name"));
                json_decref(r);
                r = NULL;
            }
        if (!r) {
            json_decref(rows);
            return NULL;
        }
        json_array_append_new(rows, r);
    }
    return rows;
}

/* A pool object of the node's answer as placement reads its row. */
static struct sw_diskpool pool_figures(const json_t *o)
{
    const json_t *ratio = json_object_get(o, "disk_ratio");
    return (struct sw_diskpool){
        .reported = json_is_string(json_object_get(o, "reported_at")),
        .present = json_is_true(json_object_get(o, "present")),
        .capacity_bytes = sw_json_int(o, "capacity_bytes", 0),
        .allocation_bytes = sw_json_int(o, "allocation_bytes", 0),
        .ratio_milli = json_is_number(ratio) ? llround(json_number_value(ratio) * 1000) : 1000,
        .fill_threshold = sw_json_int(o, "fill_threshold", 90),
    };
}

void sw_node_pools_view(json_t *node)
{
    json_t *pools = json_object_get(node, "pools");
    size_t i;
    json_t *o;
    json_array_foreach(pools, i, o) {
        struct sw_diskpool p = pool_figures(o);
        json_object_set_new(o, "capacity_gb",
                            p.reported ? json_integer(sw_diskpool_capacity_gb(&p)) : json_null());
        json_object_set_new(o, "full", json_boolean(sw_diskpool_full(&p)));
    }
}
