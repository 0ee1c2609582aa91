/* image_fetch.c - fetching images by URL (image_fetch.h). */
#include "config.h"
#include "panel/image_fetch.h"
#include "panel/bgloop.h"
#include "core/conf.h"
#include "core/db.h"
#include "core/err.h"
#include "core/hookdest.h"
#include "core/log.h"
#include "panel/data_images.h"
#include "panel/image_store.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define FETCH_MAX_ATTEMPTS 3

static int fetch_step(struct sw_db *db, struct sw_err *err);

static struct {
    struct sw_bgloop loop;
    bool allow_private;
    long timeout_s;
} F = {.loop = {"image.fetch_db", "image.fetch_claim", 5, fetch_step, SW_BGLOOP_INIT}};

struct transfer {
    struct sw_image_sink *sink;
    struct sw_err write_err;
    bool write_failed;
    char refused[INET6_ADDRSTRLEN + 1]; /* a private address refused */
};

static bool stopping(void)
{
    return sw_bgloop_stopping(&F.loop);
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    struct transfer *t = ud;
    if (sw_image_sink_write(t->sink, data, size * n, &t->write_err) < 0) {
        t->write_failed = true;
        return 0; /* abort the transfer */
    }
    return size * n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)ud, (void)dt, (void)dn, (void)ut, (void)un;
    return stopping() ? 1 : 0;
}

/* Every address curl is about to connect to (the URL's and every
 * redirect's, after resolving): the one place the address rule holds. */
static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct transfer *t = ud;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    if (!F.allow_private) {
        const void *addr = NULL;
        if (a->family == AF_INET)
            addr = &((const struct sockaddr_in *)(const void *)&a->addr)->sin_addr;
        else if (a->family == AF_INET6)
            addr = &((const struct sockaddr_in6 *)(const void *)&a->addr)->sin6_addr;
        if (!addr || sw_hookdest_addr_private(a->family, addr)) {
            if (!addr || !inet_ntop(a->family, addr, t->refused, sizeof t->refused))
                snprintf(t->refused, sizeof t->refused, "?");
            return CURL_SOCKET_BAD;
        }
    }
    return socket(a->family, a->socktype, a->protocol);
}

/* Runs the transfer of url into t->sink; 0, or -1 with why (a message for
 * the image's error). */
static int transfer(const char *url, struct transfer *t, char *why, size_t n)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *e = curl_easy_init();
    if (!e)
        abort();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_PROXY, ""); /* never through a proxy from the environment */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, F.timeout_s * 1000L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)sw_image_store_max_bytes());
    curl_easy_setopt(e, CURLOPT_USERAGENT, "slipway-images/1");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    if (rc == CURLE_OK)
        return 0;
    if (t->refused[0])
        snprintf(why, n,
                 "refused to connect to %s: a loopback or private address"
                 " (SLIPWAY_IMAGES_ALLOW_PRIVATE=1 allows it)",
                 t->refused);
    else if (t->write_failed)
        snprintf(why, n, "%s", t->write_err.msg);
    else if (rc == CURLE_FILESIZE_EXCEEDED)
        snprintf(why, n, "the image is larger than SLIPWAY_IMAGE_MAX_BYTES");
    else
        snprintf(why, n, "the fetch failed: %s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return -1;
}

struct ready_tx {
    const char *id;
    struct sw_image_sink *sink;
    const char *sha256;
    int64_t size;
};

static int ready_tx(struct sw_db *db, void *ctx, struct sw_err *err)
{
    struct ready_tx *r = ctx;
    return sw_data_images_fetch_done(db, r->id, r->sha256, r->size, NULL, err) < 0 ||
                   sw_image_sink_keep(r->sink, err) < 0
               ? -1
               : 0;
}

/* Checks what arrived and keeps it: 0, or -1 with why. */
static int accept_file(struct sw_db *db, const struct sw_data_image_fetch *f,
                       struct sw_image_sink *sink, char *why, size_t n)
{
    struct sw_err err = {0};
    char sha[SW_IMAGE_SHA256_HEX + 1];
    int64_t size;
    if (sw_image_sink_finish(sink, sha, &size, &err) < 0 ||
        sw_image_inspect(sw_image_sink_path(sink), f->format, size, &err) < 0) {
        snprintf(why, n, "%s", err.msg);
        return -1;
    }
    if (f->sha256[0] && strcmp(f->sha256, sha) != 0) {
        snprintf(why, n, "the file's sha256 is %s, not the given %s", sha, f->sha256);
        return -1;
    }
    struct ready_tx r = {f->id, sink, sha, size};
    if (sw_db_tx(db, ready_tx, &r, &err) < 0) {
        if (err.code != SW_ECONFLICT)
            sw_log_err(SW_LOG_ERROR, "image.fetch_store", &err);
        snprintf(why, n, "%s",
                 err.code == SW_ECONFLICT ? "an image with this content exists"
                                          : "could not record the image");
        return -1;
    }
    sw_info("image.fetched", "image=%s sha256=%s bytes=%lld", f->id, sha, (long long)size);
    return 0;
}

static void fetch_one(struct sw_db *db, const struct sw_data_image_fetch *f)
{
    struct sw_err err = {0};
    char why[300] = "";
    struct transfer t = {0};
    t.sink = sw_image_sink_new(&err);
    int rc = t.sink ? transfer(f->url, &t, why, sizeof why) : -1;
    if (!t.sink)
        snprintf(why, sizeof why, "%s", err.msg);
    if (rc < 0 && stopping()) {
        /* abandoned: give the lease back, the next start fetches it again */
        sw_db_run(db, &err, "UPDATE images SET lease_until = NULL WHERE id = $1", SW_PARAMS(f->id));
        sw_image_sink_free(t.sink);
        return;
    }
    if (rc == 0 && accept_file(db, f, t.sink, why, sizeof why) == 0) {
        sw_image_sink_free(t.sink);
        return;
    }
    sw_image_sink_free(t.sink);
    sw_warn("image.fetch_failed", "image=%s why=\"%s\"", f->id, why);
    if (sw_data_images_fetch_done(db, f->id, NULL, 0, why, &err) < 0)
        sw_log_err(SW_LOG_ERROR, "image.fetch_record", &err);
}

/* Fetches the next pending image, if any: 1, 0, or -1 (bgloop.h). */
static int fetch_step(struct sw_db *db, struct sw_err *err)
{
    struct sw_data_image_fetch f;
    int found = sw_data_images_fetch_claim(db, F.timeout_s + 60, FETCH_MAX_ATTEMPTS, &f, err);
    if (found > 0)
        fetch_one(db, &f);
    return found;
}

int sw_image_fetch_start(const char *db_url, struct sw_err *err)
{
    long timeout;
    if (sw_conf_bool("SLIPWAY_IMAGES_ALLOW_PRIVATE", &F.allow_private, err) < 0 ||
        sw_conf_long("SLIPWAY_IMAGE_FETCH_TIMEOUT", 10, 86400, &timeout, err) < 0)
        return -1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        SW_ERR(err, SW_EINTERNAL, "could not initialise libcurl");
        return -1;
    }
    F.timeout_s = timeout;
    return sw_bgloop_start(&F.loop, db_url, "image fetcher", err);
}

void sw_image_fetch_wake(void)
{
    sw_bgloop_wake(&F.loop);
}

void sw_image_fetch_stop(void)
{
    if (!F.loop.started)
        return;
    sw_bgloop_stop(&F.loop);
    curl_global_cleanup();
}
