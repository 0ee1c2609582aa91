/* target.c - opens a target by kind and dispatches through its table. */
#include "config.h"
#include "backup/target.h"
#include "core/alloc.h"
#include "core/err.h"

#include <string.h>

static const struct {
    const char *kind;
    int (*init)(struct sw_bk_target *t, const json_t *conf, struct sw_err *err);
} kinds[] = {
    {"dir", sw_bk_target_dir_init},
    {"s3", sw_bk_target_s3_init},
    {"sftp", sw_bk_target_sftp_init},
};

const char *sw_bk_conf_str(const json_t *conf, const char *name, bool required,
                           struct sw_err *err)
{
    const json_t *v = json_object_get(conf, name);
    if (v && json_is_string(v) && json_string_length(v) > 0)
        return json_string_value(v);
    if (required || v)
        SW_ERR(err, SW_EINVALID, "backup target: \"%s\" must be a non-empty string", name);
    return NULL;
}

struct sw_bk_target *sw_bk_target_open(const json_t *conf, struct sw_err *err)
{
    const char *kind = json_is_object(conf) ? sw_bk_conf_str(conf, "kind", true, err) : NULL;
    if (!json_is_object(conf))
        SW_ERR(err, SW_EINVALID, "backup target: the configuration must be an object");
    if (!kind)
        return NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(kinds[i].kind, kind) != 0)
            continue;
        struct sw_bk_target *t = sw_calloc(1, sizeof *t);
        if (kinds[i].init(t, conf, err) < 0) {
            free(t);
            return NULL;
        }
        return t;
    }
    SW_ERR(err, SW_EINVALID, "backup target: unknown kind \"%s\" (dir, s3 or sftp)", kind);
    return NULL;
}

void sw_bk_target_free(struct sw_bk_target *t)
{
    if (!t)
        return;
    t->ops->release(t);
    free(t);
}

bool sw_bk_plain_path(const char *s)
{
    size_t n = strlen(s);
    return !strstr(s, "..") &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == n;
}

/* Keys come from this library, but a target is a boundary: no "..", no
 * absolute names, nothing a shell or URL would read differently. */
static int key_ok(const char *key, struct sw_err *err)
{
    if (!key[0] || key[0] == '/' || !sw_bk_plain_path(key)) {
        SW_ERR(err, SW_EINVALID, "backup target: bad object name");
        sw_err_detail(err, "name \"%s\"", key);
        return -1;
    }
    return 0;
}

int sw_bk_target_put(struct sw_bk_target *t, const char *key, const void *data, size_t len,
                     struct sw_err *err)
{
    return key_ok(key, err) < 0 ? -1 : t->ops->put(t, key, data, len, err);
}

int sw_bk_target_get(struct sw_bk_target *t, const char *key, unsigned char **data,
                     size_t *len, struct sw_err *err)
{
    return key_ok(key, err) < 0 ? -1 : t->ops->get(t, key, data, len, err);
}

int sw_bk_target_exists(struct sw_bk_target *t, const char *key, bool *yes, uint64_t *size,
                        struct sw_err *err)
{
    return key_ok(key, err) < 0 ? -1 : t->ops->exists(t, key, yes, size, err);
}

int sw_bk_target_list(struct sw_bk_target *t, const char *prefix, sw_bk_list_fn fn, void *arg,
                      struct sw_err *err)
{
    return key_ok(prefix, err) < 0 ? -1 : t->ops->list(t, prefix, fn, arg, err);
}

int sw_bk_target_delete(struct sw_bk_target *t, const char *key, struct sw_err *err)
{
    return key_ok(key, err) < 0 ? -1 : t->ops->del(t, key, err);
}
