/* admin.c - operator routes for the inventory: locations, nodes (and their
 * capacity), IP pools. Catalogue, accounts and operations live in
 * admin_catalog.c, admin_accounts.c and admin_ops.c. */
#include "config.h"
#include "core/alloc.h"
#include "core/balloon_conf.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"
#include "core/resource.h"
#include "core/seal.h"
#include "core/conf.h"
#include "panel/admin.h"
#include "panel/admin_migrate.h"
#include "panel/admin_evacuate.h"
#include "panel/admin_util.h"
#include "panel/data_catalog.h"
#include "panel/data_images.h"
#include "panel/data_ippools.h"
#include "panel/data_locations.h"
#include "panel/data_nodes.h"
#include "panel/handlers.h"
#include "panel/image_store.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define check_len sw_api_check_len

static int location_exists(struct sw_req *req, const char *id, struct sw_err *err)
{
    int found = sw_data_catalog_location_exists(req->db, id, err);
    if (found < 0)
        return -1;
    if (!found) {
        SW_ERR(err, SW_EINVALID, "location_id names no location");
        return -1;
    }
    return 0;
}

/* A created object's answer (owned, or NULL with err): 201. */
static int created(struct sw_resp *resp, json_t *obj)
{
    return obj ? sw_api_reply(resp, 201, obj) : -1;
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
    rc = created(resp, sw_data_locations_insert(req->db, id, sw_json_str(b, "code"),
                                                sw_json_str(b, "name"), err));
    if (rc < 0 && err->code == SW_ECONFLICT)
        SW_ERR(err, SW_ECONFLICT, "a location with code \"%s\" exists", sw_json_str(b, "code"));
out:
    json_decref(b);
    return rc;
}

/* ---- nodes ---- */

static const char *const node_states[] = {"active", "draining", "offline", "maintenance", NULL};

static const struct sw_jfield node_fields[] = {
    {"name", SW_JT_STRING, true},       {"location_id", SW_JT_STRING, true},
    {"engine_uri", SW_JT_STRING, true}, {"kinds", SW_JT_ARRAY, true},
    {"cpus", SW_JT_INT, true},          {"ram_mb", SW_JT_INT, true},
    {"disk_gb", SW_JT_INT, true},       {"reserved_ram_mb", SW_JT_INT, false},
    {"cpu_ratio", SW_JT_NUMBER, false}, {"ram_ratio", SW_JT_NUMBER, false},
    {"state", SW_JT_STRING, false},     {"pools", SW_JT_ARRAY, false},
    SW_NODE_MIGRATE_FIELDS, /* admin_migrate.h */
    {NULL, 0, false},
};

/* What PATCH may change: the inventory and the state, not the name or the
 * location (a node that moves is a new node). */
static const struct sw_jfield node_patch_fields[] = {
    {"engine_uri", SW_JT_STRING, false}, {"kinds", SW_JT_ARRAY, false},
    {"cpus", SW_JT_INT, false},          {"ram_mb", SW_JT_INT, false},
    {"disk_gb", SW_JT_INT, false},       {"reserved_ram_mb", SW_JT_INT, false},
    {"cpu_ratio", SW_JT_NUMBER, false},  {"ram_ratio", SW_JT_NUMBER, false},
    {"state", SW_JT_STRING, false},      {"balloon", SW_JT_OBJECT, false},
    {"pools", SW_JT_ARRAY, false},       SW_NODE_MIGRATE_FIELDS, /* admin_migrate.h */
    {NULL, 0, false},
};

static const struct sw_adm_int_rule node_ints[] = {
    {"cpus", 1, 4096},
    {"ram_mb", 256, 64LL * 1024 * 1024},
    {"disk_gb", 1, 1000000},
    {"reserved_ram_mb", 0, 64LL * 1024 * 1024},
    {NULL, 0, 0},
};

/* Hypervisor URI schemes an engine can drive: local, or a remote libvirtd
 * over SSH or TLS (+tls: libvirt's own x509 setup verifies the host). Not
 * openvz: libvirt's OpenVZ driver names every domain by its numeric
 * container id, so a server's domain could not be sw-<server id>
 * (engines/README.md). */
static const char *const engine_schemes[] = {
    "test:///", "qemu://", "qemu+ssh://", "qemu+tls://", "xen://", "xen+ssh://", "xen+tls://",
    "lxc://",   NULL};

static int check_engine_uri(const json_t *b, struct sw_err *err)
{
    const char *uri = sw_json_str(b, "engine_uri");
    if (!uri)
        return 0;
    if (check_len(b, "engine_uri", 1, 1024, err) < 0)
        return -1;
    if (strncmp(uri, "openvz", 6) == 0) {
        SW_ERR(err, SW_EINVALID,
               "engine_uri: openvz nodes are not supported (libvirt's openvz driver names "
               "domains by numeric container id); use lxc:// for containers");
        return -1;
    }
    const char *const *sch = engine_schemes;
    while (*sch && strncmp(uri, *sch, strlen(*sch)) != 0)
        sch++;
    if (!*sch) {
        SW_ERR(err, SW_EINVALID,
               "engine_uri must be a libvirt URI (test:///, qemu[+ssh|+tls]://, "
               "xen[+ssh|+tls]://, lxc://)");
        return -1;
    }
    return 0;
}

/* A ratio field: above 0, at most 1000, up to 3 decimals; in thousandths.
 * Absent: *milli is left alone. */
static int parse_ratio_field(const json_t *b, const char *field, int64_t *milli, struct sw_err *err)
{
    json_t *v = json_object_get(b, field);
    if (!v)
        return 0;
    double d = json_number_value(v);
    double m = d * 1000.0;
    if (!(d > 0 && d <= 1000) || fabs(m - round(m)) > 1e-6) {
        SW_ERR(err, SW_EINVALID, "%s must be above 0, at most 1000, with up to 3 decimals", field);
        return -1;
    }
    *milli = (int64_t)llround(m);
    return 0;
}

SW_HANDLER(sw_h_admin_nodes_list)
{
    static const char *const kinds[] = {"container", "pv", "hvm", NULL};
    const char *loc, *state, *kind;
    if (sw_adm_query_uuid(req, "location_id", &loc, err) < 0 ||
        sw_adm_query_enum(req, "state", node_states, &state, err) < 0 ||
        sw_adm_query_enum(req, "kind", kinds, &kind, err) < 0)
        return -1;
    return sw_api_list(req, resp, err, "sw_node_json(t)", "nodes",
                       "$1::uuid IS NOT NULL AND ($2::uuid IS NULL OR t.location_id = $2)"
                       " AND ($3::text IS NULL OR t.state = $3)"
                       " AND ($4::text IS NULL OR $4 = ANY (t.kinds))",
                       SW_PARAMS(req->who.account_id, loc, state, kind));
}

/* Pools, when given, must check (admin_pools.c). */
static int check_pools(const json_t *b, struct sw_err *err)
{
    const json_t *pools = json_object_get(b, "pools");
    if (!pools)
        return 0;
    json_t *rows = sw_node_pools_rows(pools, err);
    json_decref(rows);
    return rows ? 0 : -1;
}

int sw_node_create_check(const json_t *body, struct sw_node_row *out, struct sw_err *err)
{
    const char *state = sw_json_str(body, "state");
    memset(out, 0, sizeof *out);
    if (check_len(body, "name", 1, 64, err) < 0 ||
        sw_adm_check_uuid_field(body, "location_id", err) < 0 || check_engine_uri(body, err) < 0 ||
        sw_adm_check_ints(body, node_ints, err) < 0 ||
        sw_adm_parse_kinds(json_object_get(body, "kinds"), "kinds", false, out->kinds, &out->mask,
                           err) < 0 ||
        sw_adm_check_enum(body, "state", node_states, err) < 0 || check_pools(body, err) < 0)
        return -1;
    /* Default ratios by what the node hosts: CPU 16 for container-only
     * nodes, else 4; memory 1.0 when it hosts pv (never overcommitted),
     * else 1.5. */
    struct sw_node_inv *inv = &out->inv;
    inv->cpu_ratio_milli = out->mask == (1u << SW_KIND_CONTAINER) ? 16000 : 4000;
    inv->ram_ratio_milli = (out->mask & (1u << SW_KIND_PV)) ? 1000 : 1500;
    if (parse_ratio_field(body, "cpu_ratio", &inv->cpu_ratio_milli, err) < 0 ||
        parse_ratio_field(body, "ram_ratio", &inv->ram_ratio_milli, err) < 0)
        return -1;
    inv->cpus = sw_json_int(body, "cpus", 0);
    inv->ram_mb = sw_json_int(body, "ram_mb", 0);
    inv->disk_gb = sw_json_int(body, "disk_gb", 0);
    inv->reserved_ram_mb = sw_json_int(body, "reserved_ram_mb", 0);
    if (inv->reserved_ram_mb >= inv->ram_mb) {
        SW_ERR(err, SW_EINVALID, "reserved_ram_mb must be below ram_mb");
        return -1;
    }
    snprintf(out->engine_uri, sizeof out->engine_uri, "%s", sw_json_str(body, "engine_uri"));
    snprintf(out->state, sizeof out->state, "%s", state ? state : "active");
    return 0;
}

/* A node's credentials, made at enrolment or rekey and shown once: its
 * secret key (base64) and its Redis password (hex). The panel keeps only
 * the public key and the password's SHA-256 (the provisioner makes the
 * node's Redis user from it, provisioner/acl.c). */
struct node_secrets {
    char pk[SW_SEAL_KEY_B64 + 1], sk[SW_SEAL_KEY_B64 + 1];
    char redis_pass[65], redis_sha256[65];
    /* the image token (node_images.c) and its keyed hash, like an API token's */
    char token[SW_TOKEN_LEN + 1], token_hash[SW_TOKEN_HASH_HEX + 1];
};

static void node_secrets_make(struct node_secrets *s, const unsigned char key[SW_SECRET_KEY_BYTES])
{
    sw_token_new(s->token);
    sw_token_hash(key, s->token, s->token_hash);
    unsigned char raw[32], sum[crypto_hash_sha256_BYTES];
    sw_seal_keypair(s->pk, s->sk);
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(s->redis_pass, sizeof s->redis_pass, raw, sizeof raw);
    crypto_hash_sha256(sum, (const unsigned char *)s->redis_pass, strlen(s->redis_pass));
    sodium_bin2hex(s->redis_sha256, sizeof s->redis_sha256, sum, sizeof sum);
    sodium_memzero(raw, sizeof raw);
}

/* The Redis URL node id's engine uses: the address engines reach
 * (SLIPWAY_NODE_REDIS_URL, else the panel's own without its user) with the
 * node's user and password. Returns owned; free_secret(). */
static char *node_redis_url(const char *id, const char *pass)
{
    const char *base = sw_conf_get("SLIPWAY_NODE_REDIS_URL");
    if (!base || !base[0])
        base = sw_conf_get("SLIPWAY_REDIS_URL");
    const char *sep = strstr(base, "://");
    const char *rest = sep ? sep + 3 : base, *at = strchr(rest, '@'), *slash = strchr(rest, '/');
    if (at && (!slash || at < slash))
        rest = at + 1; /* drop the panel's own credentials */
    return sw_asprintf("%.*snode-%s:%s@%s", sep ? (int)(sep + 3 - base) : 0, base, id, pass, rest);
}

/* Wipes and frees a string holding a secret; accepts NULL. */
static void free_secret(char *s)
{
    if (s)
        sodium_memzero(s, strlen(s));
    free(s);
}

/* What the engine of node id needs in its environment (its secrets s; db,
 * the connection string of its own database role), shown once. New ref. */
static json_t *engine_config(const char *id, const struct node_secrets *s, const char *db)
{
    char *redis = node_redis_url(id, s->redis_pass);
    json_t *c = json_pack("{s:s, s:s, s:s, s:s}", "SLIPWAY_NODE_ID", id,
                          "SLIPWAY_NODE_SECRET_KEY", s->sk, "SLIPWAY_REDIS_URL", redis,
                          "SLIPWAY_DATABASE_URL", db);
    free_secret(redis);
    /* the image library: where and with what the node fetches images */
    char *url = sw_image_store_panel_url();
    json_object_set_new(c, "SLIPWAY_PANEL_URL", json_string(url));
    json_object_set_new(c, "SLIPWAY_NODE_TOKEN", json_string(s->token));
    free(url);
    return c;
}

/* Makes node id's database role, or re-passwords it, with a fresh random
 * password; returns the connection string the engine logs in with (the
 * panel's own with that role and password). Owned: free_secret(). NULL:
 * err set. */
static char *node_db_url(struct sw_db *db, const char *id, struct sw_err *err)
{
    unsigned char raw[32];
    char pw[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)], role[64];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(pw, sizeof pw, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    char *url = NULL;
    if (sw_data_nodes_set_role(db, id, pw, role, err) == 0 &&
        !(url = sw_db_url_with_login(sw_conf_get("SLIPWAY_DATABASE_URL"), role, pw)))
        SW_ERR(err, SW_EINTERNAL, "could not parse SLIPWAY_DATABASE_URL");
    sodium_memzero(pw, sizeof pw);
    return url;
}

/* Ends the transaction of a node's write (node: its answer, stolen; NULL:
 * the write failed, err set): gives the node's role a new password and
 * commits, then answers status with the engine's configuration for the new
 * secrets s, which are wiped like the password; an Idempotency-Key keeps
 * the answer without it (secret_field). Anything failed: rolled back, -1. */
static int answer_with_key(struct sw_db *db, struct sw_resp *resp, int status, json_t *node,
                           const char *id, struct node_secrets *s, struct sw_err *err)
{
    char *url = node && sw_data_images_node_token_set(db, id, s->token_hash, err) == 0
                    ? node_db_url(db, id, err)
                    : NULL;
    int rc = -1;
    if (!url || sw_db_commit(db, err) < 0) {
        sw_db_rollback(db);
        json_decref(node);
    } else {
        json_object_set_new(node, "engine_config", engine_config(id, s, url));
        resp->secret_field = "engine_config"; /* never kept by an Idempotency-Key */
        rc = sw_api_reply(resp, status, node);
    }
    free_secret(url);
    sodium_memzero(s, sizeof *s);
    return rc;
}

/* Pools, when given, replace the default one; then the node's answer
 * with them. */
static int pools_apply(struct sw_db *db, const char *id, const json_t *body, struct sw_err *err)
{
    const json_t *pools = json_object_get(body, "pools");
    if (!pools)
        return 0;
    json_t *rows = sw_node_pools_rows(pools, err);
    int rc = rows ? sw_data_nodes_set_pools(db, id, rows, err) : -1;
    json_decref(rows);
    return rc;
}

/* Inserts node id with its pools; its answer (owned), or NULL. */
static json_t *node_insert(struct sw_db *db, const char *id, const char *name,
                           const char *location, const struct sw_node_row *row, const json_t *b,
                           const struct node_secrets *s, struct sw_err *err)
{
    json_t *node = sw_data_nodes_insert(db, id, name, location, row, s->pk, s->redis_sha256, err);
    if (!node)
        return NULL;
    json_decref(node);
    return pools_apply(db, id, b, err) < 0 || sw_migrate_node_apply(db, id, b, err) < 0
               ? NULL
               : sw_data_nodes_get(db, id, err);
}

SW_HANDLER(sw_h_admin_nodes_create)
{
    json_t *b = sw_api_body(req, node_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    struct sw_node_row row;
    const char *name = sw_json_str(b, "name"), *location = sw_json_str(b, "location_id");
    if (sw_node_create_check(b, &row, err) < 0 || location_exists(req, location, err) < 0 ||
        sw_db_begin(req->db, err) < 0)
        goto out;
    sw_uuid_t id;
    sw_uuid_new(id);
    struct node_secrets s;
    node_secrets_make(&s, req->app->key);
    rc = answer_with_key(req->db, resp, 201,
                         node_insert(req->db, id, name, location, &row, b, &s, err), id, &s, err);
    if (rc < 0 && err->code == SW_ECONFLICT)
        SW_ERR(err, SW_ECONFLICT, "a node named \"%s\" exists", name);
out:
    json_decref(b);
    return rc;
}

/* New credentials for a node (enrolled before nodes had them, or whose
 * secrets are lost or exposed): a new keypair, database password and Redis
 * password. Jobs sealed to the old key fail on it, the old database
 * password logs in no more, and the old Redis password stops working once
 * the provisioner re-applies the node's user (at once, on NOTIFY). */
SW_HANDLER(sw_h_admin_node_rekey)
{
    const char *id = sw_api_param_uuid(req, 0, "node", err);
    if (!id || sw_api_no_body(req, err) < 0 || sw_db_begin(req->db, err) < 0)
        return -1;
    struct node_secrets s;
    node_secrets_make(&s, req->app->key);
    return answer_with_key(req->db, resp, 200,
                           sw_data_nodes_set_key(req->db, id, s.pk, s.redis_sha256, err), id, &s,
                           err);
}

SW_HANDLER(sw_h_admin_node_get)
{
    const char *id = sw_api_param_uuid(req, 0, "node", err);
    if (!id)
        return -1;
    json_t *node = sw_data_nodes_get(req->db, id, err);
    if (node && sw_evac_attach_latest(req->db, id, node, err) < 0) { /* admin_evacuate.c */
        json_decref(node);
        return -1;
    }
    return node ? sw_api_reply(resp, 200, node) : -1;
}

json_t *sw_node_capacity_json(const struct sw_node_inv *inv, const struct sw_amounts *used)
{
    struct sw_amounts cap;
    sw_node_capacity(inv, &cap);
    const int64_t total[SW_RC__COUNT] = {inv->cpus, inv->ram_mb, inv->ram_mb, inv->disk_gb};
    const int64_t reserved[SW_RC__COUNT] = {0, inv->reserved_ram_mb, inv->reserved_ram_mb, 0};
    const int64_t ratio[SW_RC__COUNT] = {inv->cpu_ratio_milli, 1000, inv->ram_ratio_milli, 1000};
    json_t *classes = json_object();
    for (int c = 0; c < SW_RC__COUNT; c++)
        json_object_set_new(classes, sw_res_class_name(c),
                            json_pack("{s:I, s:I, s:f, s:I, s:I, s:I}", "total",
                                      (json_int_t)total[c], "reserved", (json_int_t)reserved[c],
                                      "ratio", (double)ratio[c] / 1000.0, "capacity",
                                      (json_int_t)cap.v[c], "used", (json_int_t)used->v[c],
                                      "free", (json_int_t)(cap.v[c] - used->v[c])));
    return classes;
}

SW_HANDLER(sw_h_admin_node_capacity)
{
    const char *id = sw_api_param_uuid(req, 0, "node", err);
    if (!id)
        return -1;
    struct sw_node_row row;
    struct sw_amounts used;
    if (sw_data_nodes_read(req->db, id, &row, err) < 0 ||
        sw_data_nodes_used(req->db, id, &used, err) < 0 ||
        sw_data_nodes_disk(req->db, id, &row.inv.disk_gb, err) < 0) /* DISK from its pools */
        return -1;
    return sw_api_reply(resp, 200,
                        json_pack("{s:s, s:o}", "node_id", id, "classes",
                                  sw_node_capacity_json(&row.inv, &used)));
}

/* A ballooning policy, when given, must parse. */
static int check_balloon(const json_t *b, struct sw_err *err)
{
    const json_t *pol = json_object_get(b, "balloon");
    if (!pol)
        return 0;
    struct sw_balloon_conf *bc = sw_malloc(sizeof *bc);
    int rc = sw_balloon_conf_parse(pol, bc, err);
    free(bc);
    return rc;
}

int sw_node_patch_check(const json_t *patch, struct sw_err *err)
{
    const json_t *kinds = json_object_get(patch, "kinds");
    char lit[64];
    unsigned mask;
    int64_t milli;
    if (check_engine_uri(patch, err) < 0 || sw_adm_check_ints(patch, node_ints, err) < 0 ||
        sw_adm_check_enum(patch, "state", node_states, err) < 0 ||
        (kinds && sw_adm_parse_kinds(kinds, "kinds", false, lit, &mask, err) < 0) ||
        parse_ratio_field(patch, "cpu_ratio", &milli, err) < 0 ||
        parse_ratio_field(patch, "ram_ratio", &milli, err) < 0 || check_pools(patch, err) < 0)
        return -1;
    return check_balloon(patch, err);
}

int sw_node_patch_merge(const struct sw_node_row *cur, const json_t *patch,
                        struct sw_node_row *out, struct sw_err *err)
{
    if (sw_node_patch_check(patch, err) < 0)
        return -1;
    *out = *cur;
    const json_t *kinds = json_object_get(patch, "kinds");
    if (kinds && sw_adm_parse_kinds(kinds, "kinds", false, out->kinds, &out->mask, err) < 0)
        return -1;
    if (sw_json_str(patch, "engine_uri"))
        snprintf(out->engine_uri, sizeof out->engine_uri, "%s", sw_json_str(patch, "engine_uri"));
    if (sw_json_str(patch, "state"))
        snprintf(out->state, sizeof out->state, "%s", sw_json_str(patch, "state"));
    struct sw_node_inv *inv = &out->inv;
    inv->cpus = sw_json_int(patch, "cpus", inv->cpus);
    inv->ram_mb = sw_json_int(patch, "ram_mb", inv->ram_mb);
    inv->disk_gb = sw_json_int(patch, "disk_gb", inv->disk_gb);
    inv->reserved_ram_mb = sw_json_int(patch, "reserved_ram_mb", inv->reserved_ram_mb);
    if (parse_ratio_field(patch, "cpu_ratio", &inv->cpu_ratio_milli, err) < 0 ||
        parse_ratio_field(patch, "ram_ratio", &inv->ram_ratio_milli, err) < 0)
        return -1;
    if (inv->reserved_ram_mb >= inv->ram_mb) {
        SW_ERR(err, SW_EINVALID, "reserved_ram_mb (%lld) must be below ram_mb (%lld)",
               (long long)inv->reserved_ram_mb, (long long)inv->ram_mb);
        return -1;
    }
    return 0;
}

int sw_node_patch_fits(const struct sw_node_row *row, const struct sw_amounts *used,
                       const int64_t live[SW_KIND__COUNT], struct sw_err *err)
{
    struct sw_amounts cap;
    sw_node_capacity(&row->inv, &cap);
    for (int c = 0; c < SW_RC__COUNT; c++) {
        if (used->v[c] > cap.v[c]) {
            SW_ERR(err, SW_ECONFLICT,
                   "the node's allocations would not fit: %s used %lld, new capacity %lld",
                   sw_res_class_name(c), (long long)used->v[c], (long long)cap.v[c]);
            return -1;
        }
    }
    /* By name, so that of two kinds dropped the message names the first. */
    static const int by_name[] = {SW_KIND_CONTAINER, SW_KIND_HVM, SW_KIND_PV};
    for (size_t i = 0; i < sizeof by_name / sizeof by_name[0]; i++) {
        int k = by_name[i];
        if (live[k] > 0 && !(row->mask & (1u << k))) {
            SW_ERR(err, SW_ECONFLICT, "kinds must keep %s: %lld %s server(s) live on this node",
                   sw_plan_kind_name(k), (long long)live[k], sw_plan_kind_name(k));
            return -1;
        }
    }
    return 0;
}

/* An operator's 'active' for a node whose ha servers are still being
 * recovered elsewhere (0039's recover jobs, params.from_node) is
 * refused: its engine, back, could start a domain the recovery is about
 * to start on another node, two copies until its next reconciliation. */
static int recoveries_pending(struct sw_db *db, const char *id, const struct sw_node_row *cur,
                              const struct sw_node_row *row, struct sw_err *err)
{
    if (strcmp(row->state, "active") != 0 || strcmp(cur->state, "active") == 0)
        return 0;
    PGresult *res = sw_db_exec(db, err,
                               "SELECT count(*) FROM jobs WHERE type = 'recover'"
                               " AND state IN ('queued', 'running') AND params->>'from_node' = $1",
                               SW_PARAMS(id));
    if (!res)
        return -1;
    long long n = sw_db_get_i64(res, 0, 0);
    PQclear(res);
    if (n == 0)
        return 0;
    SW_ERR(err, SW_ECONFLICT,
           "the node's ha servers are still being recovered on other nodes (%lld); set it active "
           "once they are",
           n);
    return -1;
}

/* One transaction: lock the node, merge the change into its row, refuse
 * what would leave its allocations without room or without a kind they
 * need (or bring back a node whose recoveries still run), write it (the ballooning policy too) and bump the generation so
 * that a claim that read the old inventory re-checks (its "generation =
 * $read" guard fails). The node row is locked: no claim can add to its
 * ledger meanwhile. */
static int node_patch_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct sw_adm_patch *p = ctx;
    json_decref(SW_STEAL(&p->answer));
    struct sw_node_row cur, row, fit;
    struct sw_amounts used;
    int64_t live[SW_KIND__COUNT];
    const json_t *balloon = json_object_get(p->body, "balloon");
    if (sw_data_nodes_lock(db, p->id, &cur, err) < 0 ||
        sw_node_patch_merge(&cur, p->body, &row, err) < 0 ||
        recoveries_pending(db, p->id, &cur, &row, err) < 0 ||
        sw_data_nodes_used(db, p->id, &used, err) < 0 ||
        sw_data_nodes_live(db, p->id, live, err) < 0)
        return -1;
    /* DISK as placement counts it: the pools' figure once they reported */
    fit = row;
    if (sw_data_nodes_disk(db, p->id, &fit.inv.disk_gb, err) < 0 ||
        sw_node_patch_fits(&fit, &used, live, err) < 0)
        return -1;
    /* The policy changes no capacity, so the generation stays for it. */
    if (balloon && sw_data_nodes_set_balloon(db, p->id, balloon, err) < 0)
        return -1;
    json_t *updated = sw_data_nodes_update(db, p->id, &row, err);
    if (!updated)
        return -1;
    json_decref(updated);
    if (pools_apply(db, p->id, p->body, err) < 0 ||
        sw_migrate_node_apply(db, p->id, p->body, err) < 0)
        return -1;
    p->answer = sw_data_nodes_get(db, p->id, err);
    return p->answer ? 0 : -1;
}

SW_HANDLER(sw_h_admin_node_patch)
{
    return sw_adm_patch_run(req, resp, err, "node", node_patch_fields, sw_node_patch_check,
                            node_patch_tx);
}

/* ---- IP pools ---- */

static const struct sw_jfield pool_fields[] = {
    {"location_id", SW_JT_STRING, true},
    {"network", SW_JT_STRING, true},
    {"gateway", SW_JT_STRING, false},
    {"family", SW_JT_INT, false},
    {"dns", SW_JT_ARRAY, false},
    {NULL, 0, false},
};

/* A pool's DNS resolvers (issue 13; the node job hands them to the guest):
 * at most 4 IPv4 or IPv6 addresses. */
static int check_dns(const json_t *b, struct sw_err *err)
{
    const json_t *a = json_object_get(b, "dns");
    if (json_array_size(a) > 4) {
        SW_ERR(err, SW_EINVALID, "dns holds at most 4 resolvers");
        return -1;
    }
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        unsigned char bin[16];
        if (!s || strlen(s) > 45 ||
            (inet_pton(AF_INET, s, bin) != 1 && inet_pton(AF_INET6, s, bin) != 1)) {
            SW_ERR(err, SW_EINVALID, "dns[%zu] must be an IPv4 or IPv6 address", i);
            return -1;
        }
    }
    return 0;
}

struct ip_prefix {
    int family; /* 4 or 6 */
    unsigned char a[16];
    int bits;   /* 32 or 128 */
    int prefix; /* mask length */
};

/* "ADDR/LEN" with no host bits set. */
static bool parse_prefix(const char *s, struct ip_prefix *p)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= sizeof buf || slash == s)
        return false;
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = '\0';
    memset(p->a, 0, sizeof p->a);
    if (inet_pton(AF_INET, buf, p->a) == 1) {
        p->family = 4;
        p->bits = 32;
    } else if (inet_pton(AF_INET6, buf, p->a) == 1) {
        p->family = 6;
        p->bits = 128;
    } else {
        return false;
    }
    const char *l = slash + 1;
    if (!*l || strlen(l) > 3 || strspn(l, "0123456789") != strlen(l) || (l[0] == '0' && l[1]))
        return false;
    p->prefix = atoi(l);
    return p->prefix <= p->bits;
}

/* Is bit i (from the most significant) of a set? */
static bool bit_at(const unsigned char *a, int i)
{
    return (a[i / 8] >> (7 - i % 8)) & 1;
}

static bool host_bits_zero(const struct ip_prefix *p)
{
    for (int i = p->prefix; i < p->bits; i++)
        if (bit_at(p->a, i))
            return false;
    return true;
}

static bool host_bits_all_ones(const unsigned char *a, int prefix, int bits)
{
    for (int i = prefix; i < bits; i++)
        if (!bit_at(a, i))
            return false;
    return true;
}

static bool same_prefix(const unsigned char *a, const unsigned char *b, int prefix)
{
    for (int i = 0; i < prefix; i++)
        if (bit_at(a, i) != bit_at(b, i))
            return false;
    return true;
}

/* A gateway (when given) is a host address inside net (network, as the
 * operator wrote it): not the network address, nor IPv4's broadcast, where
 * a prefix has them (a /31, /32, /127 or /128 has none). */
static int check_gateway(const char *gw, const struct ip_prefix *net, const char *network,
                         struct sw_err *err)
{
    if (!gw)
        return 0;
    unsigned char g[16] = {0};
    int af = net->family == 4 ? AF_INET : AF_INET6;
    if (strlen(gw) > 45 || inet_pton(af, gw, g) != 1) {
        SW_ERR(err, SW_EINVALID, "gateway must be an IPv%d address", net->family);
        return -1;
    }
    bool edge = net->bits - net->prefix >= 2 &&
                (memcmp(g, net->a, sizeof g) == 0 ||
                 (net->family == 4 && host_bits_all_ones(g, net->prefix, net->bits)));
    if (!same_prefix(g, net->a, net->prefix) || edge) {
        SW_ERR(err, SW_EINVALID, "gateway must be a host address inside %s", network);
        return -1;
    }
    return 0;
}

/* Pool sizes an operator may register: no IPv4 pool wider than a /8, no
 * IPv6 prefix wider than a /16. */
static int check_pool(const json_t *b, struct ip_prefix *net, struct sw_err *err)
{
    const char *network = sw_json_str(b, "network");
    if (strlen(network) > 60 || !parse_prefix(network, net)) {
        SW_ERR(err, SW_EINVALID,
               "network must be a CIDR prefix like \"192.0.2.0/24\" or \"2001:db8::/48\"");
        return -1;
    }
    if (!host_bits_zero(net)) {
        SW_ERR(err, SW_EINVALID, "network has host bits set: the /%d prefix must end in zeros",
               net->prefix);
        return -1;
    }
    if (net->family == 4 && net->prefix < 8) {
        SW_ERR(err, SW_EINVALID, "network: an IPv4 pool must be a /8 or narrower");
        return -1;
    }
    if (net->family == 6 && net->prefix < 16) {
        SW_ERR(err, SW_EINVALID, "network: an IPv6 pool must be a /16 or narrower");
        return -1;
    }
    json_t *fam = json_object_get(b, "family");
    if (fam && json_integer_value(fam) != net->family) {
        SW_ERR(err, SW_EINVALID, "family must be %d for an IPv%d network (or be left out)",
               net->family, net->family);
        return -1;
    }
    return check_gateway(sw_json_str(b, "gateway"), net, network, err);
}

SW_HANDLER(sw_h_admin_pools_list)
{
    static const char *const families[] = {"4", "6", NULL};
    const char *loc, *family;
    if (sw_adm_query_uuid(req, "location_id", &loc, err) < 0 ||
        sw_adm_query_enum(req, "family", families, &family, err) < 0)
        return -1;
    return sw_api_list(req, resp, err, "sw_ip_pool_json(t)", "ip_pools",
                       "$1::uuid IS NOT NULL AND ($2::uuid IS NULL OR t.location_id = $2)"
                       " AND ($3::int IS NULL OR t.family = $3)",
                       SW_PARAMS(req->who.account_id, loc, family));
}

SW_HANDLER(sw_h_admin_pools_create)
{
    json_t *b = sw_api_body(req, pool_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    struct ip_prefix net;
    if (sw_adm_check_uuid_field(b, "location_id", err) < 0 || check_pool(b, &net, err) < 0 ||
        check_dns(b, err) < 0 || location_exists(req, sw_json_str(b, "location_id"), err) < 0)
        goto out;
    const char *network = sw_json_str(b, "network");
    /* Name the pool it overlaps; the exclusion constraint (0005) is what
     * holds under concurrent creates. */
    char other[64], other_id[SW_UUID_LEN + 1];
    int overlap = sw_data_ippools_overlapping(req->db, network, other, other_id, err);
    if (overlap != 0) {
        if (overlap > 0)
            SW_ERR(err, SW_ECONFLICT, "network %s overlaps pool %s (%s)", network, other,
                   other_id);
        goto out;
    }
    sw_uuid_t id;
    sw_uuid_new(id);
    const json_t *dns_list = json_object_get(b, "dns");
    char *dns = dns_list ? sw_json_dump(dns_list) : NULL;
    rc = created(resp, sw_data_ippools_insert(req->db, id, sw_json_str(b, "location_id"),
                                              net.family, network, sw_json_str(b, "gateway"),
                                              dns, err));
    free(dns);
    if (rc < 0 && err->code == SW_ECONFLICT)
        SW_ERR(err, SW_ECONFLICT, "network %s overlaps another pool", network);
out:
    json_decref(b);
    return rc;
}

const struct sw_route sw_routes_admin[] = {
    {"GET", "/v1/admin/locations", OP, SW_OWN_NONE, sw_h_admin_locations_list, "locations", 0},
    {"POST", "/v1/admin/locations", OP, SW_OWN_NONE, sw_h_admin_locations_create,
     "create a location", 0},
    {"GET", "/v1/admin/nodes", OP, SW_OWN_NONE, sw_h_admin_nodes_list,
     "nodes (?location_id=, ?state=, ?kind=)", 0},
    {"POST", "/v1/admin/nodes", OP, SW_OWN_NONE, sw_h_admin_nodes_create, "register a node", 0},
    {"GET", "/v1/admin/nodes/{id}", OP, SW_OWN_OPERATOR, sw_h_admin_node_get, "one node", 0},
    {"PATCH", "/v1/admin/nodes/{id}", OP, SW_OWN_OPERATOR, sw_h_admin_node_patch,
     "change a node's inventory, ratios or state (refused when its allocations would not fit)", 0},
    {"POST", "/v1/admin/nodes/{id}/rekey", OP, SW_OWN_OPERATOR, sw_h_admin_node_rekey,
     "a new keypair for the node; its secret key and engine configuration shown once", 0},
    {"GET", "/v1/admin/nodes/{id}/capacity", OP, SW_OWN_OPERATOR, sw_h_admin_node_capacity,
     "a node's capacity per resource class", 0},
    {"GET", "/v1/admin/ip-pools", OP, SW_OWN_NONE, sw_h_admin_pools_list,
     "IP pools (?location_id=, ?family=)", 0},
    {"POST", "/v1/admin/ip-pools", OP, SW_OWN_NONE, sw_h_admin_pools_create,
     "add an IPv4 range or IPv6 prefix to a location", 0},
    SW_ROUTES_END,
};
