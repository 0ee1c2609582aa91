/* admin_images.c - the operator's image library: /v1/admin/images and
 * /v1/admin/isos (panel/README.md, "API notes: images and ISOs").
 *
 * An image arrives by upload (multipart/form-data, streamed to disk by the
 * adapter, image_store.h) and is inspected before it is kept, or by URL
 * (JSON): the row is pending and image_fetch.c fetches it. ISOs are images
 * of format iso, for hvm; each route family sees only its own rows. */
#include "config.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/db.h"
#include "core/err.h"
#include "core/hookdest.h"
#include "core/json.h"
#include "core/log.h"
#include "panel/admin_util.h"
#include "panel/data_images.h"
#include "panel/handlers.h"
#include "panel/image_fetch.h"
#include "panel/image_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const formats[] = {"qcow2", "raw", "kernel", "initrd", "tar", "iso", NULL};
static const char *const image_states[] = {"pending", "ready", "failed", NULL};

/* Which formats install on which kind (the table's CHECK says the same). */
static const struct {
    const char *format, *kinds;
} format_kinds[] = {
    {"qcow2", "hvm pv"}, {"raw", "hvm pv"},    {"kernel", "pv"},
    {"initrd", "pv"},    {"tar", "container"}, {"iso", "hvm"},
};

static bool is_iso_route(const struct sw_req *req)
{
    return strstr(req->route->pattern, "/isos") != NULL;
}

/* name, kind and format of an image: known values, a format that installs
 * on the kind, and on the ISO routes only ISOs (elsewhere none). */
static int check_image_fields(const json_t *b, bool iso, struct sw_err *err)
{
    const char *kind = sw_json_str(b, "kind"), *format = sw_json_str(b, "format");
    if (sw_api_check_len(b, "name", 1, 100, err) < 0 || sw_adm_check_kind(kind, "kind", err) < 0 ||
        sw_adm_check_enum(b, "format", formats, err) < 0)
        return -1;
    if (iso != (strcmp(format, "iso") == 0)) {
        SW_ERR(err, SW_EUNPROCESSABLE,
               iso ? "an ISO's format is iso" : "ISOs are registered under /v1/admin/isos");
        return -1;
    }
    for (size_t i = 0; i < sizeof format_kinds / sizeof format_kinds[0]; i++)
        if (strcmp(format, format_kinds[i].format) == 0 && !strstr(format_kinds[i].kinds, kind)) {
            SW_ERR(err, SW_EUNPROCESSABLE, "a %s image installs on %s, not %s", format,
                   format_kinds[i].kinds, kind);
            return -1;
        }
    const char *sha = sw_json_str(b, "sha256");
    if (sha && !sw_image_sha256_valid(sha)) {
        SW_ERR(err, SW_EINVALID, "sha256 must be 64 lower-case hex digits");
        return -1;
    }
    return 0;
}

SW_HANDLER(sw_h_admin_images_list)
{
    const char *state;
    if (sw_adm_query_enum(req, "state", image_states, &state, err) < 0)
        return -1;
    return sw_api_list_data(req, resp, err,
                            is_iso_route(req) ? &sw_data_images_isos : &sw_data_images_list,
                            SW_PARAMS(state));
}

SW_HANDLER(sw_h_admin_image_get)
{
    bool iso = is_iso_route(req);
    const char *id = sw_api_param_uuid(req, 0, iso ? "iso" : "image", err);
    json_t *img = id ? sw_data_images_get(req->db, id, iso, err) : NULL;
    return img ? sw_api_reply(resp, 200, img) : -1;
}

struct image_delete {
    const char *id;
    bool iso;
    char sha256[SW_IMAGE_SHA256_HEX + 1];
};

static int image_delete_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct image_delete *d = ctx;
    return sw_data_images_delete(db, d->id, d->iso, d->sha256, err);
}

/* Deletes an image no template uses (409 otherwise), and its file once
 * the row is gone. */
SW_HANDLER(sw_h_admin_image_delete)
{
    struct image_delete d = {NULL, is_iso_route(req), ""};
    d.id = sw_api_param_uuid(req, 0, d.iso ? "iso" : "image", err);
    if (!d.id || sw_db_tx(req->db, image_delete_tx, &d, err) < 0)
        return -1;
    if (d.sha256[0]) {
        char *path = sw_image_path(d.sha256);
        unlink(path);
        free(path);
    }
    resp->status = 204;
    return 0;
}

/* ---- upload ---- */

static const struct sw_jfield upload_fields[] = {
    {"name", SW_JT_STRING, true},
    {"kind", SW_JT_STRING, true},
    {"format", SW_JT_STRING, true},
    {"sha256", SW_JT_STRING, false},
    {NULL, 0, false},
};

struct upload_tx {
    struct sw_upload *up;
    const json_t *form;
    json_t *answer; /* out */
};

/* The row (ready) and the file under its final name, in one transaction:
 * an image of the same content refuses the row, and the file stays a
 * temporary one that is removed. */
static int upload_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct upload_tx *t = ctx;
    json_decref(t->answer);
    sw_uuid_t id;
    sw_uuid_new(id);
    struct sw_data_image_new n = {id,
                                  sw_json_str(t->form, "name"),
                                  sw_json_str(t->form, "kind"),
                                  sw_json_str(t->form, "format"),
                                  t->up->sha256,
                                  "ready",
                                  NULL,
                                  t->up->size};
    t->answer = sw_data_images_insert(db, &n, err);
    if (!t->answer && err->code == SW_ECONFLICT)
        SW_ERR(err, SW_ECONFLICT, "an image with this content (sha256 %s) exists", t->up->sha256);
    return t->answer && sw_image_sink_keep(t->up->file, err) == 0 ? 0 : -1;
}

static int upload(struct sw_req *req, struct sw_resp *resp, struct sw_err *err)
{
    struct sw_upload *up = req->upload;
    json_t *form = up->fields;
    if (sw_json_check(form, upload_fields, err) < 0 ||
        check_image_fields(form, is_iso_route(req), err) < 0)
        return -1;
    if (!up->file) {
        SW_ERR(err, SW_EINVALID, "the form has no \"file\" field");
        return -1;
    }
    const char *given = sw_json_str(form, "sha256");
    if (given && strcmp(given, up->sha256) != 0) {
        SW_ERR(err, SW_EUNPROCESSABLE, "the file's sha256 is %s, not the given %s", up->sha256,
               given);
        return -1;
    }
    if (sw_image_inspect(sw_image_sink_path(up->file), sw_json_str(form, "format"), up->size, err) <
        0)
        return -1;
    struct upload_tx t = {up, form, NULL};
    if (sw_db_tx(req->db, upload_tx, &t, err) < 0) {
        json_decref(t.answer);
        return -1;
    }
    sw_info("image.uploaded", "sha256=%s bytes=%lld", up->sha256, (long long)up->size);
    return sw_api_reply(resp, 201, t.answer);
}

/* ---- fetch by URL ---- */

static const struct sw_jfield fetch_fields[] = {
    {"name", SW_JT_STRING, true}, {"kind", SW_JT_STRING, true},    {"format", SW_JT_STRING, true},
    {"url", SW_JT_STRING, true},  {"sha256", SW_JT_STRING, false}, {NULL, 0, false},
};

/* The URL as webhooks take it (core/hookdest.h); one naming a private
 * address outright is refused now unless the operator allows it (the
 * fetcher checks every address it connects to in any case). */
static int check_url(const char *url, struct sw_err *err)
{
    struct sw_hookdest d;
    bool allow = false;
    if (sw_hookdest_parse(url, &d, err) < 0 ||
        sw_conf_bool("SLIPWAY_IMAGES_ALLOW_PRIVATE", &allow, err) < 0)
        return -1;
    if (d.is_private && !allow) {
        SW_ERR(err, SW_EUNPROCESSABLE,
               "url names a loopback or private address; images are not fetched from those"
               " unless SLIPWAY_IMAGES_ALLOW_PRIVATE=1");
        return -1;
    }
    return 0;
}

static int fetch(struct sw_req *req, struct sw_resp *resp, struct sw_err *err)
{
    json_t *b = sw_api_body(req, fetch_fields, err);
    if (!b)
        return -1;
    int rc = -1;
    const char *url = sw_json_str(b, "url");
    if (check_image_fields(b, is_iso_route(req), err) < 0 || check_url(url, err) < 0)
        goto out;
    sw_uuid_t id;
    sw_uuid_new(id);
    struct sw_data_image_new n = {id,
                                  sw_json_str(b, "name"),
                                  sw_json_str(b, "kind"),
                                  sw_json_str(b, "format"),
                                  sw_json_str(b, "sha256"),
                                  "pending",
                                  url,
                                  -1};
    json_t *img = sw_data_images_insert(req->db, &n, err);
    if (!img && err->code == SW_ECONFLICT)
        SW_ERR(err, SW_ECONFLICT, "an image with this sha256 exists");
    if (img) {
        sw_image_fetch_wake();
        rc = sw_api_reply(resp, 202, img);
    }
out:
    json_decref(b);
    return rc;
}

SW_HANDLER(sw_h_admin_images_create)
{
    return req->upload ? upload(req, resp, err) : fetch(req, resp, err);
}

const struct sw_route sw_routes_admin_images[] = {
    {"GET", "/v1/admin/images", OP, SW_OWN_NONE, sw_h_admin_images_list,
     "the image library but ISOs (?state=)", 0},
    {"POST", "/v1/admin/images", OP, SW_OWN_NONE, sw_h_admin_images_create,
     "add an image: upload it (multipart/form-data) or have it fetched (JSON with url)",
     SW_RF_UPLOAD},
    {"GET", "/v1/admin/images/{id}", OP, SW_OWN_OPERATOR, sw_h_admin_image_get,
     "one image: state, error, size, sha256, format", 0},
    {"DELETE", "/v1/admin/images/{id}", OP, SW_OWN_OPERATOR, sw_h_admin_image_delete,
     "delete an image no template uses, and its file", 0},
    {"GET", "/v1/admin/isos", OP, SW_OWN_NONE, sw_h_admin_images_list, "the ISOs (?state=)", 0},
    {"POST", "/v1/admin/isos", OP, SW_OWN_NONE, sw_h_admin_images_create,
     "add an ISO: upload it (multipart/form-data) or have it fetched (JSON with url)",
     SW_RF_UPLOAD},
    {"GET", "/v1/admin/isos/{id}", OP, SW_OWN_OPERATOR, sw_h_admin_image_get,
     "one ISO: state, error, size, sha256", 0},
    {"DELETE", "/v1/admin/isos/{id}", OP, SW_OWN_OPERATOR, sw_h_admin_image_delete,
     "delete an ISO, and its file", 0},
    SW_ROUTES_END,
};
