/* data_images.h - the SQL of the image library (admin_images.c,
 * node_images.c, image_fetch.c) and of what refers to images (templates,
 * orders, node tokens). Functions answering JSON return an owned value
 * (json_decref()) or NULL with err set; the others 0 / -1 (or 1 / 0 / -1
 * for questions) with err set. */
#ifndef SW_PANEL_DATA_IMAGES_H
#define SW_PANEL_DATA_IMAGES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/crypto.h"
#include "panel/data.h"
#include "panel/image_store.h"

struct sw_db;
struct sw_err;

/* The operator's lists: images (every format but iso) and ISOs; $1 is the
 * ?state= filter or NULL. */
extern const struct sw_data_list sw_data_images_list;
extern const struct sw_data_list sw_data_images_isos;

/* A new image row. sha256 and size (< 0: unknown) may be unknown for a
 * pending fetch; source_url NULL for an upload. Another image of the same
 * sha256 (not failed) is SW_ECONFLICT. Its answer (sw_image_json). */
struct sw_data_image_new {
    const char *id, *name, *kind, *format, *sha256, *state, *source_url;
    int64_t size;
};
json_t *sw_data_images_insert(struct sw_db *db, const struct sw_data_image_new *n,
                              struct sw_err *err);

/* Image id, an ISO when iso (else anything but an ISO): its answer;
 * SW_ENOTFOUND when none. */
json_t *sw_data_images_get(struct sw_db *db, const char *id, bool iso, struct sw_err *err);

/* Deletes image id (an ISO when iso) unless a template uses it: the
 * templates' names go into the SW_ECONFLICT message. *sha256 is the
 * deleted row's file name ("" when it had none, or another image still
 * has that content), for the caller to remove after the commit. */
int sw_data_images_delete(struct sw_db *db, const char *id, bool iso,
                          char sha256[SW_IMAGE_SHA256_HEX + 1], struct sw_err *err);

/* What a template may refer to: image id's kind, format and state. 1, 0
 * when there is no such image, -1. */
struct sw_data_image_brief {
    char kind[16], format[16], state[16], name[101];
};
int sw_data_images_brief(struct sw_db *db, const char *id, struct sw_data_image_brief *out,
                         struct sw_err *err);

/* Whether template_id's images are all ready: 0, or -1 with
 * SW_EUNPROCESSABLE naming the image and its state. */
int sw_data_images_template_ready(struct sw_db *db, const char *template_id, struct sw_err *err);

/* ---- fetches (image_fetch.c) ---- */

struct sw_data_image_fetch {
    sw_uuid_t id;
    char url[2049];
    char format[16];
    char sha256[SW_IMAGE_SHA256_HEX + 1]; /* "" when not given */
};

/* Claims the oldest pending fetch whose lease ran out (a panel that died
 * mid-fetch, or one never started) for lease_s seconds, counting the
 * attempt; one claimed max_attempts times already is failed instead (and
 * the next is looked at). 1 with *out, 0 when none, -1. */
int sw_data_images_fetch_claim(struct sw_db *db, long lease_s, int max_attempts,
                               struct sw_data_image_fetch *out, struct sw_err *err);
/* A fetch ended: ready with sha256 and size, or failed with error (sha256
 * NULL). An image of the same content already there is SW_ECONFLICT. */
int sw_data_images_fetch_done(struct sw_db *db, const char *id, const char *sha256, int64_t size,
                              const char *error, struct sw_err *err);

/* ---- nodes ---- */

/* Sets node id's image token hash (keyed, hex); within the enrolment's or
 * rekey's transaction. */
int sw_data_images_node_token_set(struct sw_db *db, const char *node_id, const char *hash,
                                  struct sw_err *err);
/* The node whose image token hashes to hash: 1 with node_id, 0, -1. */
int sw_data_images_node_by_token(struct sw_db *db, const char *hash, char node_id[SW_UUID_LEN + 1],
                                 struct sw_err *err);
/* Whether node_id may fetch the ready image sha256: a live server on it,
 * or an unfinished job sent to it, uses a template with that image.
 * 1 with *size, 0, -1. */
int sw_data_images_node_may_fetch(struct sw_db *db, const char *node_id, const char *sha256,
                                  int64_t *size, struct sw_err *err);

#endif
