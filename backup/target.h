/* target.h - where a backup repository lives: one vtable per kind.
 *
 * Kinds (the "kind" member of the configuration object):
 *   dir  {path}                               a mounted directory (NFS, a disk)
 *   s3   {endpoint, bucket, region, access_key, secret_key, prefix?}
 *        any S3-compatible store, path-style URLs, signed by libcurl's
 *        CURLOPT_AWS_SIGV4
 *   sftp {url, user, private_key_file, public_key_file?, known_hosts?}
 *        libcurl's sftp:// (libssh2)
 * Keys are '/'-separated relative names ("<account>/chunks/ab/<id>"). Every
 * put is all or nothing: a reader sees the whole object or none (dir and
 * sftp write a temporary name and rename it; an S3 PUT is atomic), so an
 * interrupted backup leaves no partial manifest.
 */
#ifndef SW_BK_TARGET_H
#define SW_BK_TARGET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sw_err;
struct sw_bk_target;

/* Called once per key found by list(); non-zero stops the listing and is
 * returned by it. */
typedef int (*sw_bk_list_fn)(void *arg, const char *key);

struct sw_bk_target_ops {
    const char *kind;
    int (*put)(struct sw_bk_target *t, const char *key, const void *data, size_t len,
               struct sw_err *err);
    /* *data owned (free()); missing: -1 with err not_found. */
    int (*get)(struct sw_bk_target *t, const char *key, unsigned char **data, size_t *len,
               struct sw_err *err);
    /* *size (if non-NULL) gets the object's size when it exists. */
    int (*exists)(struct sw_bk_target *t, const char *key, bool *yes, uint64_t *size,
                  struct sw_err *err);
    /* Every key under prefix (which ends in '/'), at any depth. */
    int (*list)(struct sw_bk_target *t, const char *prefix, sw_bk_list_fn fn, void *arg,
                struct sw_err *err);
    /* A missing key is not an error. */
    int (*del)(struct sw_bk_target *t, const char *key, struct sw_err *err);
    void (*release)(struct sw_bk_target *t);
};

struct sw_bk_target {
    const struct sw_bk_target_ops *ops;
    void *impl; /* the kind's own state */
};

/* Opens a target from its configuration; returns owned (sw_bk_target_free)
 * or NULL with err (invalid for a bad configuration). Secrets in conf are
 * copied, never logged, and wiped on free. */
struct sw_bk_target *sw_bk_target_open(const json_t *conf, struct sw_err *err);
void sw_bk_target_free(struct sw_bk_target *t);

/* The kinds' constructors (target_<kind>.c), each filling t. */
int sw_bk_target_dir_init(struct sw_bk_target *t, const json_t *conf, struct sw_err *err);
int sw_bk_target_s3_init(struct sw_bk_target *t, const json_t *conf, struct sw_err *err);
int sw_bk_target_sftp_init(struct sw_bk_target *t, const json_t *conf, struct sw_err *err);

/* The dispatch: explicit calls through the kind's table. */
int sw_bk_target_put(struct sw_bk_target *t, const char *key, const void *data, size_t len,
                     struct sw_err *err);
int sw_bk_target_get(struct sw_bk_target *t, const char *key, unsigned char **data,
                     size_t *len, struct sw_err *err);
int sw_bk_target_exists(struct sw_bk_target *t, const char *key, bool *yes, uint64_t *size,
                        struct sw_err *err);
int sw_bk_target_list(struct sw_bk_target *t, const char *prefix, sw_bk_list_fn fn, void *arg,
                      struct sw_err *err);
int sw_bk_target_delete(struct sw_bk_target *t, const char *key, struct sw_err *err);

/* True when s is a plain path: letters, digits, '.', '_', '-', '/' and no
 * "..", nothing a URL, an SFTP command or a shell would read differently. */
bool sw_bk_plain_path(const char *s);

/* A configuration's string member, or NULL with err (invalid) naming it
 * when it is required and missing; for the kinds' constructors. */
const char *sw_bk_conf_str(const json_t *conf, const char *name, bool required,
                           struct sw_err *err);

#endif
