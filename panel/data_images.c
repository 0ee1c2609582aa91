/* data_images.c - the SQL of the image library (data_images.h). */
#include "config.h"
#include "panel/data_images.h"
#include "panel/data_isos.h"
#include "core/alloc.h"
#include "core/db.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct sw_data_list sw_data_images_list = {
    "sw_image_json(t)", "images", "t.format <> 'iso' AND ($1::text IS NULL OR t.state = $1)", NULL};
const struct sw_data_list sw_data_images_isos = {
    "sw_image_json(t)", "images", "t.format = 'iso' AND ($1::text IS NULL OR t.state = $1)", NULL};

#define ISO_COND "(format = 'iso') = $2::boolean"

json_t *sw_data_images_insert(struct sw_db *db, const struct sw_data_image_new *n,
                              struct sw_err *err)
{
    char size[24];
    snprintf(size, sizeof size, "%lld", (long long)n->size);
    return sw_data_json_row(
        db, err, "image",
        "INSERT INTO images (id, name, kind, format, sha256, size_bytes, state, source_url)"
        " VALUES ($1, $2, $3, $4, $5, nullif($6::bigint, -1), $7, $8)"
        " RETURNING sw_image_json(images)",
        SW_PARAMS(n->id, n->name, n->kind, n->format, n->sha256, n->size < 0 ? "-1" : size,
                  n->state, n->source_url));
}

json_t *sw_data_images_get(struct sw_db *db, const char *id, bool iso, struct sw_err *err)
{
    return sw_data_json_row(db, err, iso ? "iso" : "image",
                            "SELECT sw_image_json(i) FROM images i WHERE id = $1 AND " ISO_COND,
                            SW_PARAMS(id, iso ? "true" : "false"));
}

/* The names of the templates using image id, "a, b" (owned), or NULL. */
static char *users(struct sw_db *db, const char *id, struct sw_err *err, bool *failed)
{
    PGresult *res =
        sw_db_exec(db, err,
                   "SELECT string_agg(format('%s (%s)', name, kind), ', ' ORDER BY name)"
                   "  FROM templates"
                   " WHERE $1 IN (image_id, kernel_image_id, initrd_image_id)",
                   SW_PARAMS(id));
    *failed = !res;
    if (!res)
        return NULL;
    const char *v = sw_db_get(res, 0, 0);
    char *out = v ? sw_strdup(v) : NULL;
    PQclear(res);
    return out;
}

int sw_data_images_delete(struct sw_db *db, const char *id, bool iso,
                          char sha256[SW_IMAGE_SHA256_HEX + 1], struct sw_err *err)
{
    sha256[0] = '\0';
    PGresult *res = sw_db_exec(
        db, err, "SELECT sha256, state FROM images WHERE id = $1 AND " ISO_COND " FOR UPDATE",
        SW_PARAMS(id, iso ? "true" : "false"));
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        SW_ERR(err, SW_ENOTFOUND, "%s not found", iso ? "iso" : "image");
        return -1;
    }
    const char *sum = sw_db_get(res, 0, 0), *state = sw_db_get(res, 0, 1);
    bool has_file = sum && strcmp(state, "failed") != 0;
    if (has_file)
        snprintf(sha256, SW_IMAGE_SHA256_HEX + 1, "%s", sum);
    PQclear(res);
    bool failed;
    char *names = users(db, id, err, &failed);
    if (failed)
        return -1;
    if (names) {
        SW_ERR(err, SW_ECONFLICT,
               "the %s is in use by template(s) %.160s: give them another image first",
               iso ? "iso" : "image", names);
        free(names);
        sha256[0] = '\0';
        return -1;
    }
    /* an ISO mounted on a server is in use too (data_isos.c) */
    if (iso && sw_data_isos_in_use(db, id, err) != 0) {
        sha256[0] = '\0';
        return -1;
    }
    return sw_db_run(db, err, "DELETE FROM images WHERE id = $1", SW_PARAMS(id)) < 0 ? -1 : 0;
}

int sw_data_images_brief(struct sw_db *db, const char *id, struct sw_data_image_brief *out,
                         struct sw_err *err)
{
    PGresult *res = sw_db_exec(
        db, err, "SELECT kind, format, state, name FROM images WHERE id = $1", SW_PARAMS(id));
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    if (found) {
        snprintf(out->kind, sizeof out->kind, "%s", sw_db_get(res, 0, 0));
        snprintf(out->format, sizeof out->format, "%s", sw_db_get(res, 0, 1));
        snprintf(out->state, sizeof out->state, "%s", sw_db_get(res, 0, 2));
        snprintf(out->name, sizeof out->name, "%s", sw_db_get(res, 0, 3));
    }
    PQclear(res);
    return found;
}

int sw_data_images_template_ready(struct sw_db *db, const char *template_id, struct sw_err *err)
{
    PGresult *res = sw_db_exec(db, err,
                               "SELECT i.name, i.state FROM templates t JOIN images i"
                               "    ON i.id IN (t.image_id, t.kernel_image_id, t.initrd_image_id)"
                               " WHERE t.id = $1 AND i.state <> 'ready' ORDER BY i.name LIMIT 1",
                               SW_PARAMS(template_id));
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) > 0) {
        SW_ERR(err, SW_EUNPROCESSABLE,
               "the template's image \"%.100s\" is %s, so it cannot be ordered until it is ready",
               sw_db_get(res, 0, 0), sw_db_get(res, 0, 1));
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* ---- fetches ---- */

int sw_data_images_fetch_claim(struct sw_db *db, long lease_s, int max_attempts,
                               struct sw_data_image_fetch *out, struct sw_err *err)
{
    char lease[24], max[16];
    snprintf(lease, sizeof lease, "%ld", lease_s);
    snprintf(max, sizeof max, "%d", max_attempts);
    /* Fail what was tried too often, then claim the oldest of the rest. */
    if (sw_db_run(db, err,
                  "UPDATE images SET state = 'failed', updated_at = now(), lease_until = NULL,"
                  "       error = format('the fetch was interrupted %s times (the panel stopped"
                  " while fetching)', fetch_attempts)"
                  " WHERE state = 'pending' AND source_url IS NOT NULL AND fetch_attempts >= $1"
                  "   AND (lease_until IS NULL OR lease_until < now())",
                  SW_PARAMS(max)) < 0)
        return -1;
    PGresult *res = sw_db_exec(
        db, err,
        "UPDATE images SET lease_until = now() + make_interval(secs => $1::int),"
        "       fetch_attempts = fetch_attempts + 1, updated_at = now()"
        " WHERE id = (SELECT id FROM images WHERE state = 'pending' AND source_url IS NOT NULL"
        "               AND (lease_until IS NULL OR lease_until < now())"
        "             ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " RETURNING id, source_url, format, coalesce(sha256, '')",
        SW_PARAMS(lease));
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    if (found) {
        snprintf(out->id, sizeof out->id, "%s", sw_db_get(res, 0, 0));
        snprintf(out->url, sizeof out->url, "%s", sw_db_get(res, 0, 1));
        snprintf(out->format, sizeof out->format, "%s", sw_db_get(res, 0, 2));
        snprintf(out->sha256, sizeof out->sha256, "%s", sw_db_get(res, 0, 3));
    }
    PQclear(res);
    return found;
}

int sw_data_images_fetch_done(struct sw_db *db, const char *id, const char *sha256, int64_t size,
                              const char *error, struct sw_err *err)
{
    char sz[24];
    snprintf(sz, sizeof sz, "%lld", (long long)size);
    long n = sha256
                 ? sw_db_run(db, err,
                             "UPDATE images SET state = 'ready', sha256 = $2, size_bytes = $3,"
                             "       error = NULL, lease_until = NULL, updated_at = now()"
                             " WHERE id = $1 AND state = 'pending'",
                             SW_PARAMS(id, sha256, sz))
                 : sw_db_run(db, err,
                             "UPDATE images SET state = 'failed', error = $2, lease_until = NULL,"
                             "       updated_at = now() WHERE id = $1 AND state = 'pending'",
                             SW_PARAMS(id, error));
    return n < 0 ? -1 : 0;
}

/* ---- nodes ---- */

int sw_data_images_node_token_set(struct sw_db *db, const char *node_id, const char *hash,
                                  struct sw_err *err)
{
    return sw_db_run(db, err, "UPDATE nodes SET image_token_hash = $2 WHERE id = $1",
                     SW_PARAMS(node_id, hash)) < 0
               ? -1
               : 0;
}

int sw_data_images_node_by_token(struct sw_db *db, const char *hash, char node_id[SW_UUID_LEN + 1],
                                 struct sw_err *err)
{
    PGresult *res =
        sw_db_exec(db, err, "SELECT id FROM nodes WHERE image_token_hash = $1", SW_PARAMS(hash));
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    if (found)
        snprintf(node_id, SW_UUID_LEN + 1, "%s", sw_db_get(res, 0, 0));
    PQclear(res);
    return found;
}

/* The templates node $1 has a use for: its live servers', and those of the
 * unfinished jobs sent to it (a reinstall's new template is in its
 * parameters). */
#define NODE_TEMPLATES                                                                             \
    "SELECT s.template_id FROM servers s"                                                          \
    " WHERE s.node_id = $1 AND s.state NOT IN ('terminated', 'failed')"                            \
    " UNION SELECT coalesce(CASE WHEN j.type = 'reinstall' AND j.params->>'template_id' ~*"        \
    "   '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"                          \
    "   THEN (j.params->>'template_id')::uuid END, s.template_id)"                                 \
    "  FROM jobs j JOIN servers s ON s.id = j.server_id"                                           \
    " WHERE j.node_id = $1 AND j.state IN ('queued', 'running')"

int sw_data_images_node_may_fetch(struct sw_db *db, const char *node_id, const char *sha256,
                                  int64_t *size, struct sw_err *err)
{
    PGresult *res =
        sw_db_exec(db, err,
                   "SELECT i.size_bytes FROM images i"
                   " WHERE i.sha256 = $2 AND i.state = 'ready' AND (EXISTS (SELECT 1"
                   "   FROM templates t WHERE i.id IN (t.image_id, t.kernel_image_id,"
                   "   t.initrd_image_id) AND t.id IN (" NODE_TEMPLATES "))"
                   /* the ISO mounted on one of its servers (iso_actions.c) */
                   "  OR i.id IN (SELECT s.iso_id FROM servers s WHERE s.node_id = $1"
                   "   AND s.state NOT IN ('terminated', 'failed')))"
                   " LIMIT 1",
                   SW_PARAMS(node_id, sha256));
    if (!res)
        return -1;
    int found = PQntuples(res) > 0;
    if (found)
        *size = sw_db_get_i64(res, 0, 0);
    PQclear(res);
    return found;
}
