/* target_sftp.c - a backup target on an SFTP server, through libcurl.
 *
 * url is sftp://host[:port]/absolute/folder. put uploads "<name>.tmp-<r>"
 * (creating missing folders) and renames it over <name> in the same
 * request (a post-quote), so a reader sees the whole object or none; the
 * rename fails on servers that will not replace a file, which is only the
 * case when the object already exists (content-addressed chunks, a
 * replayed manifest), and then the temporary is removed. list reads the
 * folders' long listings (libcurl gives them as `ls -l` lines).
 */
#include "config.h"
#include "backup/target.h"
#include "backup/xfer.h"
#include "core/alloc.h"
#include "core/err.h"

#include <curl/curl.h>
#include <sodium.h>
#include <string.h>

#define TMP_MARK ".tmp-"

struct sftp_target {
    CURL *h; /* one handle: one SSH session for all requests */
    char *base; /* sftp://host:port/folder/ */
    char *root; /* /folder/ on the server */
    char *user;
    char *key_file;
    char *pub_file; /* may be NULL */
    char *known_hosts; /* may be NULL: the host key is then not checked */
};

static void sftp_begin(struct sftp_target *s, const char *url)
{
    curl_easy_reset(s->h);
    curl_easy_setopt(s->h, CURLOPT_URL, url);
    curl_easy_setopt(s->h, CURLOPT_PROTOCOLS_STR, "sftp");
    curl_easy_setopt(s->h, CURLOPT_USERNAME, s->user);
    curl_easy_setopt(s->h, CURLOPT_SSH_AUTH_TYPES, (long)CURLSSH_AUTH_PUBLICKEY);
    curl_easy_setopt(s->h, CURLOPT_SSH_PRIVATE_KEYFILE, s->key_file);
    if (s->pub_file)
        curl_easy_setopt(s->h, CURLOPT_SSH_PUBLIC_KEYFILE, s->pub_file);
    if (s->known_hosts)
        curl_easy_setopt(s->h, CURLOPT_SSH_KNOWNHOSTS, s->known_hosts);
    curl_easy_setopt(s->h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(s->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(s->h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
}

/* Performs; a missing file or folder is not_found. */
static int sftp_perform(struct sftp_target *s, const char *what, const char *key,
                        struct sw_err *err)
{
    CURLcode rc = curl_easy_perform(s->h);
    if (rc == CURLE_OK)
        return 0;
    if (rc == CURLE_REMOTE_FILE_NOT_FOUND) {
        SW_ERR(err, SW_ENOTFOUND, "backup target: %s does not exist", key);
        return -1;
    }
    SW_ERR_RETRY(err, SW_EUNAVAILABLE, "backup target: could not %s %s: %s", what, key,
                 curl_easy_strerror(rc));
    return -1;
}

static int sftp_exists(struct sw_bk_target *t, const char *key, bool *yes, uint64_t *size,
                       struct sw_err *err)
{
    struct sftp_target *s = t->impl;
    SW_AUTOFREE char *url = sw_asprintf("%s%s", s->base, key);
    sftp_begin(s, url);
    curl_easy_setopt(s->h, CURLOPT_NOBODY, 1L);
    struct sw_err e = {0};
    int rc = sftp_perform(s, "look up", key, &e);
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

/* Runs one quote command (rm, rename) on the server. */
static int sftp_quote(struct sftp_target *s, const char *cmd, const char *key,
                      struct sw_err *err)
{
    struct curl_slist *q = curl_slist_append(NULL, cmd);
    sftp_begin(s, s->base);
    curl_easy_setopt(s->h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(s->h, CURLOPT_QUOTE, q);
    int rc = sftp_perform(s, "change", key, err);
    curl_slist_free_all(q);
    return rc;
}

static int sftp_put(struct sw_bk_target *t, const char *key, const void *data, size_t len,
                    struct sw_err *err)
{
    struct sftp_target *s = t->impl;
    SW_AUTOFREE char *tmp = sw_asprintf("%s" TMP_MARK "%08x", key, randombytes_random());
    SW_AUTOFREE char *url = sw_asprintf("%s%s", s->base, tmp);
    SW_AUTOFREE char *mv = sw_asprintf("rename %s%s %s%s", s->root, tmp, s->root, key);
    struct curl_slist *post = curl_slist_append(NULL, mv);
    sftp_begin(s, url);
    curl_easy_setopt(s->h, CURLOPT_FTP_CREATE_MISSING_DIRS, (long)CURLFTP_CREATE_DIR);
    curl_easy_setopt(s->h, CURLOPT_POSTQUOTE, post);
    curl_easy_setopt(s->h, CURLOPT_NEW_FILE_PERMS, 0600L);
    struct sw_bk_buf up;
    sw_bk_xfer_upload(s->h, &up, data, len);
    CURLcode rc = curl_easy_perform(s->h);
    curl_slist_free_all(post);
    if (rc == CURLE_OK)
        return 0;
    bool there = false;
    struct sw_err e = {0};
    SW_AUTOFREE char *rm = sw_asprintf("*rm %s%s", s->root, tmp);
    sftp_quote(s, rm, tmp, &e);
    if (rc == CURLE_QUOTE_ERROR && sftp_exists(t, key, &there, NULL, &e) == 0 && there)
        return 0;
    SW_ERR_RETRY(err, SW_EUNAVAILABLE, "backup target: could not write %s: %s", key,
                 curl_easy_strerror(rc));
    return -1;
}

static int sftp_get(struct sw_bk_target *t, const char *key, unsigned char **data,
                    size_t *len, struct sw_err *err)
{
    struct sftp_target *s = t->impl;
    SW_AUTOFREE char *url = sw_asprintf("%s%s", s->base, key);
    sftp_begin(s, url);
    struct sw_bk_buf down;
    sw_bk_xfer_download(s->h, &down);
    if (sftp_perform(s, "read", key, err) < 0) {
        free(down.p);
        return -1;
    }
    *data = down.p ? down.p : sw_calloc(1, 1);
    *len = down.len;
    return 0;
}

static int sftp_del(struct sw_bk_target *t, const char *key, struct sw_err *err)
{
    struct sftp_target *s = t->impl;
    SW_AUTOFREE char *rm = sw_asprintf("*rm %s%s", s->root, key);
    return sftp_quote(s, rm, key, err);
}

static int walk(struct sftp_target *s, const char *rel, sw_bk_list_fn fn, void *arg,
                struct sw_err *err);

/* One `ls -l` line: a folder is walked, a file is listed. */
static int list_line(struct sftp_target *s, const char *rel, char *line, sw_bk_list_fn fn,
                     void *arg, struct sw_err *err)
{
    char *name = strrchr(line, ' ');
    if (!name || !name[1] || (line[0] != 'd' && line[0] != '-'))
        return 0;
    name++;
    if (name[0] == '.' || strstr(name, TMP_MARK))
        return 0;
    SW_AUTOFREE char *key = sw_asprintf("%s%s%s", rel, name, line[0] == 'd' ? "/" : "");
    return line[0] == 'd' ? walk(s, key, fn, arg, err) : fn(arg, key);
}

static int walk(struct sftp_target *s, const char *rel, sw_bk_list_fn fn, void *arg,
                struct sw_err *err)
{
    SW_AUTOFREE char *url = sw_asprintf("%s%s", s->base, rel);
    sftp_begin(s, url);
    struct sw_bk_buf down;
    sw_bk_xfer_download(s->h, &down);
    struct sw_err e = {0};
    if (sftp_perform(s, "list", rel, &e) < 0) {
        free(down.p);
        if (e.code == SW_ENOTFOUND)
            return 0;
        *err = e;
        return -1;
    }
    int rc = 0;
    char *save = NULL;
    for (char *l = down.p ? strtok_r((char *)down.p, "\r\n", &save) : NULL; l && rc == 0;
         l = strtok_r(NULL, "\r\n", &save))
        rc = list_line(s, rel, l, fn, arg, err);
    free(down.p);
    return rc;
}

static int sftp_list(struct sw_bk_target *t, const char *prefix, sw_bk_list_fn fn, void *arg,
                     struct sw_err *err)
{
    return walk(t->impl, prefix, fn, arg, err);
}

static void sftp_release(struct sw_bk_target *t)
{
    struct sftp_target *s = t->impl;
    curl_easy_cleanup(s->h);
    free(s->base);
    free(s->root);
    free(s->user);
    free(s->key_file);
    free(s->pub_file);
    free(s->known_hosts);
    free(s);
}

static const struct sw_bk_target_ops sftp_ops = {
    .kind = "sftp",
    .put = sftp_put,
    .get = sftp_get,
    .exists = sftp_exists,
    .list = sftp_list,
    .del = sftp_del,
    .release = sftp_release,
};

/* The folder of an sftp:// URL: owned, absolute, ending in '/'. */
static char *url_folder(const char *url, struct sw_err *err)
{
    CURLU *u = curl_url();
    char *path = NULL, *scheme = NULL, *out = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        strcmp(scheme, "sftp") == 0 &&
        curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) == CURLUE_OK && path[0] == '/' &&
        sw_bk_plain_path(path))
        out = sw_asprintf("%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/");
    else
        SW_ERR(err, SW_EINVALID,
               "backup target: an sftp url must be sftp://host[:port]/absolute/folder (a plain "
               "path)");
    curl_free(path);
    curl_free(scheme);
    curl_url_cleanup(u);
    return out;
}

int sw_bk_target_sftp_init(struct sw_bk_target *t, const json_t *conf, struct sw_err *err)
{
    const char *url = sw_bk_conf_str(conf, "url", true, err);
    const char *user = url ? sw_bk_conf_str(conf, "user", true, err) : NULL;
    const char *key = user ? sw_bk_conf_str(conf, "private_key_file", true, err) : NULL;
    struct sw_err opt = {0};
    const char *pub = sw_bk_conf_str(conf, "public_key_file", false, &opt);
    const char *kh = sw_bk_conf_str(conf, "known_hosts", false, &opt);
    char *root = key && !opt.code ? url_folder(url, err) : NULL;
    if (!root) {
        if (opt.code)
            *err = opt;
        return -1;
    }
    struct sftp_target *s = sw_calloc(1, sizeof *s);
    size_t ul = strlen(url);
    s->base = sw_asprintf("%s%s", url, url[ul - 1] == '/' ? "" : "/");
    s->root = root;
    s->user = sw_strdup(user);
    s->key_file = sw_strdup(key);
    s->pub_file = pub ? sw_strdup(pub) : NULL;
    s->known_hosts = kh ? sw_strdup(kh) : NULL;
    s->h = curl_easy_init();
    t->ops = &sftp_ops;
    t->impl = s;
    return 0;
}
