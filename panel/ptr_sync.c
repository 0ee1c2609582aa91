/* ptr_sync.c - PTRs written to PowerDNS (ptr_sync.h). */
#include "config.h"
#include "panel/ptr_sync.h"
#include "panel/bgloop.h"
#include "panel/data_ptr.h"
#include "core/alloc.h"
#include "core/bkkey.h"
#include "core/err.h"
#include "core/log.h"
#include "core/rdns.h"

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ptr_step(struct sw_db *db, struct sw_err *err);

/* Due rows are looked for every 2 s, and at once when a route wakes us. */
static struct sw_bgloop L = {"ptr.sync_db", "ptr.sync_claim", 2, ptr_step, SW_BGLOOP_INIT};

/* The body of PowerDNS's answer, kept short: its "error" when it gives one. */
struct answer {
    char text[512];
    size_t len;
};

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    struct answer *a = ud;
    size_t room = sizeof a->text - 1 - a->len, take = size * n < room ? size * n : room;
    memcpy(a->text + a->len, data, take);
    a->len += take;
    a->text[a->len] = '\0';
    return size * n;
}

/* The PATCH body for w: its rrset replaced by the one PTR, or deleted. */
static char *rrset_patch(const struct sw_data_ptr_work *w, const char *name)
{
    char content[260];
    snprintf(content, sizeof content, "%s.", w->ptr);
    json_t *rr = json_pack("{s:s, s:s, s:s}", "name", name, "type", "PTR", "changetype",
                           w->remove ? "DELETE" : "REPLACE");
    if (!w->remove) {
        json_object_set_new(rr, "ttl", json_integer(w->ttl));
        json_object_set_new(rr, "records", json_pack("[{s:s, s:b}]", "content", content,
                                                     "disabled", 0));
    }
    json_t *doc = json_pack("{s:[o]}", "rrsets", rr);
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return body;
}

/* PATCHes w's rrset into its zone with key: 0, or -1 with why. */
static int pdns_patch(const struct sw_data_ptr_work *w, const char *key, char *why, size_t n)
{
    char name[SW_RDNS_NAME_MAX];
    struct sw_err err = {0};
    if (sw_rdns_name(w->address, name, &err) < 0 || !sw_rdns_in_zone(name, w->zone)) {
        snprintf(why, n, "%s is not in the zone %s", w->address, w->zone);
        return -1;
    }
    CURL *c = curl_easy_init();
    char *url = sw_asprintf("%s/api/v1/servers/%s/zones/%s", w->api_url, w->api_server, w->zone);
    char *body = rrset_patch(w, name);
    char *hkey = sw_asprintf("X-API-Key: %s", key);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, hkey);
    struct answer a = {.len = 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 15L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK)
        snprintf(why, n, "could not reach PowerDNS at %.200s: %s", w->api_url,
                 curl_easy_strerror(rc));
    else if (status != 204) {
        json_t *e = json_loads(a.text, 0, NULL);
        const char *msg = json_string_value(json_object_get(e, "error"));
        snprintf(why, n, "PowerDNS answered %ld: %.200s", status, msg ? msg : a.text);
        json_decref(e);
    }
    sodium_memzero(hkey, strlen(hkey));
    free(hkey);
    curl_slist_free_all(h);
    free(body);
    free(url);
    curl_easy_cleanup(c);
    return rc == CURLE_OK && status == 204 ? 0 : -1;
}

/* Writes w with its pool's key; records the outcome. 0, or -1 when the
 * outcome could not be recorded. */
static int write_one(struct sw_db *db, const struct sw_data_ptr_work *w, struct sw_err *err)
{
    unsigned char master[SW_BKKEY_BYTES], key[SW_BKKEY_PLAIN_MAX + 1];
    size_t len = 0;
    char why[400] = "";
    struct sw_err kerr = {0};
    int rc = -1;
    if (sw_bkkey_master(master, &kerr) < 0 ||
        sw_bkkey_unwrap(master, w->api_key_wrapped, key, SW_BKKEY_PLAIN_MAX, &len, &kerr) < 0)
        snprintf(why, sizeof why, "the pool's API key cannot be read: %s", kerr.msg);
    else {
        key[len] = '\0';
        rc = pdns_patch(w, (const char *)key, why, sizeof why);
    }
    sodium_memzero(master, sizeof master);
    sodium_memzero(key, sizeof key);
    if (rc == 0) {
        sw_info("ptr.synced", "address=%s ptr=%s", w->address, w->remove ? "-" : w->ptr);
        return sw_data_ptr_done(db, w, err);
    }
    sw_warn("ptr.sync_failed", "address=%s why=\"%s\"", w->address, why);
    return sw_data_ptr_failed(db, w, why, err);
}

static int ptr_step(struct sw_db *db, struct sw_err *err)
{
    struct sw_data_ptr_work w;
    int found = sw_data_ptr_claim(db, &w, err);
    if (found > 0 && write_one(db, &w, err) < 0)
        return -1;
    return found;
}

int sw_ptr_sync_start(const char *db_url, struct sw_err *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        SW_ERR(err, SW_EINTERNAL, "could not initialise libcurl");
        return -1;
    }
    return sw_bgloop_start(&L, db_url, "PTR writer", err);
}

void sw_ptr_sync_wake(void)
{
    sw_bgloop_wake(&L);
}

void sw_ptr_sync_stop(void)
{
    if (!L.started)
        return;
    sw_bgloop_stop(&L);
    curl_global_cleanup();
}
