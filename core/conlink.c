/* conlink.c - Redis lists carrying a serial console (conlink.h). */
#include "config.h"
#include "core/conlink.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/redis.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sw_conlink_sid(char out[SW_CONLINK_SID_LEN + 1])
{
    unsigned char b[SW_CONLINK_SID_LEN / 2];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(out, SW_CONLINK_SID_LEN + 1, b, sizeof b);
}

void sw_conlink_key(char out[SW_CONLINK_KEY_MAX], const char *node, const char *which)
{
    snprintf(out, SW_CONLINK_KEY_MAX, "console:%s:%s", node, which);
}

int sw_conlink_push(struct sw_redis *r, const char *key, int kind, const void *data, size_t n,
                    struct sw_err *err)
{
    size_t cap = kind == SW_CONLINK_DATA
                     ? sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL) + 2
                     : n + 3;
    char *item = sw_malloc(cap);
    item[0] = (char)kind;
    item[1] = ':';
    if (kind == SW_CONLINK_DATA)
        sodium_bin2base64(item + 2, cap - 2, data, n, sodium_base64_VARIANT_ORIGINAL);
    else {
        memcpy(item + 2, data, n);
        item[n + 2] = '\0';
    }
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", SW_CONLINK_TTL_S);
    const char *push[] = {"RPUSH", key, item}, *expire[] = {"EXPIRE", key, ttl};
    int rc = sw_redis_exec(r, 3, push, err);
    if (rc == 0)
        rc = sw_redis_exec(r, 3, expire, err);
    free(item);
    return rc;
}

/* The payload of an item: owned copy, a data item's decoded; NULL when a
 * data item is not base64. */
static char *payload(int kind, const char *p, size_t *n)
{
    size_t len = strlen(p);
    char *out = sw_malloc(len + 1);
    *n = len;
    if (kind != SW_CONLINK_DATA)
        memcpy(out, p, len + 1);
    else if (sodium_base642bin((unsigned char *)out, len, p, len, NULL, n, NULL,
                               sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(out);
        return NULL;
    }
    out[*n] = '\0';
    return out;
}

int sw_conlink_pop(struct sw_redis *r, const char *key, int timeout_s, int *kind, char **data,
                   size_t *n, struct sw_err *err)
{
    char t[16];
    snprintf(t, sizeof t, "%d", timeout_s);
    const char *argv[] = {"BLPOP", key, t};
    char **v = NULL;
    size_t nv = 0;
    if (sw_redis_strings(r, 3, argv, &v, &nv, err) < 0)
        return -1;
    int rc = 0;
    if (nv == 2) {
        char *item = v[1];
        rc = 1;
        *kind = (unsigned char)item[0];
        if (strlen(item) < 2 || item[1] != ':' || !(*data = payload(*kind, item + 2, n))) {
            SW_ERR(err, SW_EINTERNAL, "a console link item is malformed");
            rc = -1;
        }
    }
    for (size_t i = 0; i < nv; i++)
        free(v[i]);
    free(v);
    return rc;
}
