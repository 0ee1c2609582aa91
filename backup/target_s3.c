/* target_s3.c - a backup target in an S3-compatible bucket.
 *
 * Path-style URLs (<endpoint>/<bucket>/<prefix><key>), each request signed
 * by libcurl's CURLOPT_AWS_SIGV4 with the payload's SHA-256 in
 * x-amz-content-sha256; listing is ListObjectsV2, its XML read with libxml2.
 * A PUT is atomic in S3, so objects are written in place.
 */
#include "config.h"
#include "backup/target.h"
#include "backup/xfer.h"
#include "core/alloc.h"
#include "core/err.h"

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <sodium.h>
#include <string.h>

struct s3_target {
    CURL *h; /* one handle: its connection is reused */
    char *base;   /* <endpoint>/<bucket>/ */
    char *prefix; /* "" or ending in '/' */
    char *sigv4;  /* aws:amz:<region>:s3 */
    char *access_key;
    char *secret_key;
};

/* Resets the handle for a request on url with body sha256 of body. */
static struct curl_slist *s3_begin(struct s3_target *s, const char *url, const void *body,
                                   size_t len)
{
    unsigned char sum[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256(sum, body, len);
    sodium_bin2hex(hex, sizeof hex, sum, sizeof sum);
    SW_AUTOFREE char *hdr = sw_asprintf("x-amz-content-sha256: %s", hex);
    struct curl_slist *headers = curl_slist_append(NULL, hdr);
    curl_easy_reset(s->h);
    curl_easy_setopt(s->h, CURLOPT_URL, url);
    curl_easy_setopt(s->h, CURLOPT_AWS_SIGV4, s->sigv4);
    curl_easy_setopt(s->h, CURLOPT_USERNAME, s->access_key);
    curl_easy_setopt(s->h, CURLOPT_PASSWORD, s->secret_key);
    curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(s->h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(s->h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(s->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(s->h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
    return headers;
}

/* Performs and maps the HTTP status: 2xx 0, 404 not found, else unavailable. */
static int s3_finish(struct s3_target *s, struct curl_slist *headers, const char *what,
                     const char *key, struct sw_err *err)
{
    SW_AUTOFREE char *label = sw_asprintf("%s %s", what, key);
    int rc = sw_bk_xfer_perform(s->h, label, err);
    curl_slist_free_all(headers);
    if (rc < 0)
        return -1;
    long status = 0;
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300)
        return 0;
    if (status == 404) {
        SW_ERR(err, SW_ENOTFOUND, "backup target: %s does not exist", key);
        return -1;
    }
    SW_ERR_RETRY(err, SW_EUNAVAILABLE, "backup target: could not %s %s: HTTP status %ld", what,
                 key, status);
    return -1;
}

static char *url_of(struct s3_target *s, const char *key)
{
    return sw_asprintf("%s%s%s", s->base, s->prefix, key);
}

static int s3_put(struct sw_bk_target *t, const char *key, const void *data, size_t len,
                  struct sw_err *err)
{
    struct s3_target *s = t->impl;
    SW_AUTOFREE char *url = url_of(s, key);
    struct curl_slist *headers = s3_begin(s, url, data, len);
    struct sw_bk_buf up, down;
    sw_bk_xfer_upload(s->h, &up, data, len);
    sw_bk_xfer_download(s->h, &down);
    int rc = s3_finish(s, headers, "write", key, err);
    free(down.p);
    return rc;
}

static int s3_get(struct sw_bk_target *t, const char *key, unsigned char **data, size_t *len,
                  struct sw_err *err)
{
    struct s3_target *s = t->impl;
    SW_AUTOFREE char *url = url_of(s, key);
    struct curl_slist *headers = s3_begin(s, url, "", 0);
    struct sw_bk_buf down;
    sw_bk_xfer_download(s->h, &down);
    if (s3_finish(s, headers, "read", key, err) < 0) {
        free(down.p);
        return -1;
    }
    *data = down.p ? down.p : sw_calloc(1, 1);
    *len = down.len;
    return 0;
}

static int s3_exists(struct sw_bk_target *t, const char *key, bool *yes, uint64_t *size,
                     struct sw_err *err)
{
    struct s3_target *s = t->impl;
    SW_AUTOFREE char *url = url_of(s, key);
    struct curl_slist *headers = s3_begin(s, url, "", 0);
    curl_easy_setopt(s->h, CURLOPT_NOBODY, 1L);
    struct sw_err e = {0};
    int rc = s3_finish(s, headers, "look up", key, &e);
    *yes = rc == 0;
    curl_off_t len = 0;
    if (rc == 0 && size && curl_easy_getinfo(s->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len) == CURLE_OK)
        *size = len < 0 ? 0 : (uint64_t)len;
    if (rc < 0 && e.code != SW_ENOTFOUND) {
        *err = e;
        return -1;
    }
    return 0;
}

static int s3_del(struct sw_bk_target *t, const char *key, struct sw_err *err)
{
    struct s3_target *s = t->impl;
    SW_AUTOFREE char *url = url_of(s, key);
    struct curl_slist *headers = s3_begin(s, url, "", 0);
    curl_easy_setopt(s->h, CURLOPT_CUSTOMREQUEST, "DELETE");
    struct sw_bk_buf down;
    sw_bk_xfer_download(s->h, &down);
    struct sw_err e = {0};
    int rc = s3_finish(s, headers, "delete", key, &e);
    free(down.p);
    if (rc < 0 && e.code != SW_ENOTFOUND) {
        *err = e;
        return -1;
    }
    return 0;
}

/* The text of node's first child element named name, or NULL; owned. */
static char *child_text(xmlNode *node, const char *name)
{
    for (xmlNode *c = node->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return (char *)xmlNodeGetContent(c);
    return NULL;
}

/* Calls fn for each <Contents><Key> of one ListObjectsV2 page; sets *next
 * (owned, xmlFree) to the continuation token when the list goes on. */
static int list_page(struct s3_target *s, const struct sw_bk_buf *page, sw_bk_list_fn fn,
                     void *arg, char **next, struct sw_err *err)
{
    xmlDoc *doc = xmlReadMemory((const char *)page->p, (int)page->len, "list.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root || strcmp((const char *)root->name, "ListBucketResult") != 0) {
        SW_ERR_RETRY(err, SW_EUNAVAILABLE, "backup target: the bucket's listing is not one");
        xmlFreeDoc(doc);
        return -1;
    }
    size_t plen = strlen(s->prefix);
    int rc = 0;
    for (xmlNode *c = root->children; c && rc == 0; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "Contents") != 0)
            continue;
        char *key = child_text(c, "Key");
        if (key && strncmp(key, s->prefix, plen) == 0)
            rc = fn(arg, key + plen);
        xmlFree(key);
    }
    char *trunc = child_text(root, "IsTruncated");
    *next = trunc && strcmp(trunc, "true") == 0 ? child_text(root, "NextContinuationToken") : NULL;
    xmlFree(trunc);
    xmlFreeDoc(doc);
    return rc;
}

static int s3_list(struct sw_bk_target *t, const char *prefix, sw_bk_list_fn fn, void *arg,
                   struct sw_err *err)
{
    struct s3_target *s = t->impl;
    SW_AUTOFREE char *full = sw_asprintf("%s%s", s->prefix, prefix);
    char *pre = curl_easy_escape(s->h, full, 0);
    char *token = NULL;
    int rc = 0;
    do {
        char *tok = token ? curl_easy_escape(s->h, token, 0) : NULL;
        /* Parameters in SigV4's canonical (sorted) order. */
        SW_AUTOFREE char *url =
            sw_asprintf("%s?%s%s%slist-type=2&prefix=%s", s->base, tok ? "continuation-token=" : "",
                        tok ? tok : "", tok ? "&" : "", pre);
        curl_free(tok);
        xmlFree(token);
        token = NULL;
        struct curl_slist *headers = s3_begin(s, url, "", 0);
        struct sw_bk_buf down;
        sw_bk_xfer_download(s->h, &down);
        rc = s3_finish(s, headers, "list", prefix, err);
        if (rc == 0)
            rc = list_page(s, &down, fn, arg, &token, err);
        free(down.p);
    } while (rc == 0 && token);
    xmlFree(token);
    curl_free(pre);
    return rc;
}

static void s3_release(struct sw_bk_target *t)
{
    struct s3_target *s = t->impl;
    curl_easy_cleanup(s->h);
    sodium_memzero(s->secret_key, strlen(s->secret_key));
    free(s->secret_key);
    free(s->access_key);
    free(s->sigv4);
    free(s->prefix);
    free(s->base);
    free(s);
}

static const struct sw_bk_target_ops s3_ops = {
    .kind = "s3",
    .put = s3_put,
    .get = s3_get,
    .exists = s3_exists,
    .list = s3_list,
    .del = s3_del,
    .release = s3_release,
};

int sw_bk_target_s3_init(struct sw_bk_target *t, const json_t *conf, struct sw_err *err)
{
    const char *endpoint = sw_bk_conf_str(conf, "endpoint", true, err);
    const char *bucket = endpoint ? sw_bk_conf_str(conf, "bucket", true, err) : NULL;
    const char *region = bucket ? sw_bk_conf_str(conf, "region", true, err) : NULL;
    const char *ak = region ? sw_bk_conf_str(conf, "access_key", true, err) : NULL;
    const char *sk = ak ? sw_bk_conf_str(conf, "secret_key", true, err) : NULL;
    struct sw_err none = {0};
    const char *prefix = sw_bk_conf_str(conf, "prefix", false, &none);
    if (!sk || none.code) {
        if (none.code)
            *err = none;
        return -1;
    }
    if (prefix && (prefix[0] == '/' || !sw_bk_plain_path(prefix))) {
        SW_ERR(err, SW_EINVALID, "backup target: an s3 prefix is a plain relative path");
        return -1;
    }
    if (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0) {
        SW_ERR(err, SW_EINVALID, "backup target: an s3 endpoint must be an http(s) URL");
        return -1;
    }
    struct s3_target *s = sw_calloc(1, sizeof *s);
    size_t el = strlen(endpoint);
    s->base = sw_asprintf("%.*s/%s/", (int)(endpoint[el - 1] == '/' ? el - 1 : el), endpoint,
                          bucket);
    size_t pl = prefix ? strlen(prefix) : 0;
    s->prefix = sw_asprintf("%s%s", prefix ? prefix : "", pl && prefix[pl - 1] != '/' ? "/" : "");
    s->sigv4 = sw_asprintf("aws:amz:%s:s3", region);
    s->access_key = sw_strdup(ak);
    s->secret_key = sw_strdup(sk);
    s->h = curl_easy_init();
    t->ops = &s3_ops;
    t->impl = s;
    return 0;
}
