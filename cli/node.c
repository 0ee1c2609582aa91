/* node.c - slipwayctl node enroll|rekey: a node's enrolment through the
 * panel's API (POST /v1/admin/nodes, .../rekey), so the one implementation
 * of enrolment (keys, Redis user, database role) stays in the panel. The
 * answer's engine configuration is shown once, as an environment file
 * (KEY="value" lines, which systemd's EnvironmentFile= and sh both read
 * alike while a value holds none of " \ $ ` or a newline: refused then),
 * on standard output or into a new file of mode 0600. */
#include "config.h"
#include "cli/ctl.h"
#include "core/alloc.h"
#include "core/conf.h"
#include "core/err.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct answer {
    long status;
    char *body; /* owned, NUL-terminated */
    size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    struct answer *a = ud;
    size_t add = size * n;
    if (a->len + add > 1024 * 1024)
        return 0; /* an answer this large is not the panel's */
    a->body = sw_realloc(a->body, a->len + add + 1);
    memcpy(a->body + a->len, p, add);
    a->len += add;
    a->body[a->len] = '\0';
    return add;
}

/* The panel's error message of a non-2xx answer, as err. */
static int api_error(const struct answer *a, const char *what, struct sw_err *err)
{
    json_t *j = a->body ? json_loads(a->body, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    SW_ERR(err, a->status == 401 ? SW_EUNAUTHENTICATED : SW_EINVALID, "%s: the panel answered %ld%s%s",
           what, a->status, msg ? ": " : "", msg ? msg : "");
    json_decref(j);
    return -1;
}

/* METHOD SLIPWAY_URL+path with the operator's token; body may be NULL.
 * Returns the parsed 2xx answer (new ref), or NULL with err set. */
static json_t *api(const char *method, const char *path, const char *body, struct sw_err *err)
{
    const char *base = getenv("SLIPWAY_URL"), *token = getenv("SLIPWAY_OPERATOR_TOKEN");
    if (!base || !*base || !token || !*token) {
        SW_ERR(err, SW_EINVALID, "SLIPWAY_URL and SLIPWAY_OPERATOR_TOKEN must be set");
        return NULL;
    }
    SW_AUTOFREE char *url = sw_asprintf("%s%s", base, path);
    SW_AUTOFREE char *auth = sw_asprintf("Authorization: Bearer %s", token);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    struct answer a = {0};
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
    curl_easy_cleanup(c);
    sodium_memzero(auth, strlen(auth));
    curl_slist_free_all(h);
    json_t *j = NULL;
    if (rc != CURLE_OK) {
        SW_ERR(err, SW_EUNAVAILABLE, "could not reach the panel at \"%s\": %s", base,
               curl_easy_strerror(rc));
    } else if (a.status < 200 || a.status > 299) {
        api_error(&a, path, err);
    } else if (!(j = json_loads(a.body ? a.body : "", 0, NULL))) {
        SW_ERR(err, SW_EINTERNAL, "the panel's answer is not JSON");
    }
    if (a.body)
        sodium_memzero(a.body, a.len); /* it held the node's secrets */
    free(a.body);
    return j;
}

/* Writes the engine configuration as KEY="value" lines to path (a new file,
 * 0600) or standard output. */
static int write_env(json_t *conf, const char *path, struct sw_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(conf, key, v) {
        const char *s = json_string_value(v);
        if (!s || s[strcspn(s, "\"\\$`\n")]) {
            SW_ERR(err, SW_EINTERNAL, "the panel's %s cannot be written as an environment line", key);
            return -1;
        }
    }
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_EXCL, 0600) : dup(STDOUT_FILENO);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        SW_ERR(err, SW_EINVALID, "could not create \"%s\": %s (an existing file is never replaced)",
               path ? path : "stdout", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    json_object_foreach(conf, key, v) {
        fprintf(f, "%s=\"%s\"\n", key, json_string_value(v));
    }
    if (fclose(f) != 0) {
        SW_ERR(err, SW_EINTERNAL, "could not write the engine configuration");
        return -1;
    }
    return 0;
}

/* The id of the location whose code (or id) is want. */
static char *location_id(const char *want, struct sw_err *err)
{
    json_t *list = api("GET", "/v1/admin/locations?limit=200", NULL, err);
    if (!list)
        return NULL;
    char *id = NULL;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(list, "items"), i, it) {
        const char *code = json_string_value(json_object_get(it, "code"));
        const char *lid = json_string_value(json_object_get(it, "id"));
        if (lid && ((code && strcmp(code, want) == 0) || strcmp(lid, want) == 0))
            id = sw_strdup(lid);
    }
    json_decref(list);
    if (!id)
        SW_ERR(err, SW_EINVALID, "no location \"%s\"", want);
    return id;
}

/* Option values of enroll, by name. */
static const char *const enroll_opts[] = {"--location", "--uri",     "--kinds",           "--cpus",
                                          "--ram-mb",   "--disk-gb", "--reserved-ram-mb", "--output"};
enum { O_LOCATION, O_URI, O_KINDS, O_CPUS, O_RAM, O_DISK, O_RESERVED, O_OUTPUT, O_N };

static int parse_opts(int argc, char **argv, const char *v[O_N])
{
    for (int i = 0; i < argc; i += 2) {
        int k = 0;
        while (k < O_N && strcmp(argv[i], enroll_opts[k]) != 0)
            k++;
        if (k == O_N || i + 1 >= argc)
            return -1;
        v[k] = argv[i + 1];
    }
    return 0;
}

/* A number option as a JSON integer; -1 when it is not digits only. */
static int add_int(json_t *o, const char *key, const char *s)
{
    char *end;
    errno = 0;
    long long n = s ? strtoll(s, &end, 10) : -1;
    if (!s || *s < '0' || *s > '9' || *end || errno)
        return -1;
    json_object_set_new(o, key, json_integer(n));
    return 0;
}

/* The node's fields as the API takes them (new ref), or NULL (usage). */
static json_t *enroll_body(const char *name, const char *v[O_N], const char *location)
{
    json_t *b = json_pack("{s:s, s:s, s:s}", "name", name, "location_id", location, "engine_uri",
                          v[O_URI]);
    json_t *kinds = json_array();
    SW_AUTOFREE char *ks = sw_strdup(v[O_KINDS]);
    for (char *save = NULL, *k = strtok_r(ks, ",", &save); k; k = strtok_r(NULL, ",", &save))
        json_array_append_new(kinds, json_string(k));
    json_object_set_new(b, "kinds", kinds);
    if (add_int(b, "cpus", v[O_CPUS]) < 0 || add_int(b, "ram_mb", v[O_RAM]) < 0 ||
        add_int(b, "disk_gb", v[O_DISK]) < 0 ||
        (v[O_RESERVED] && add_int(b, "reserved_ram_mb", v[O_RESERVED]) < 0)) {
        json_decref(b);
        return NULL;
    }
    return b;
}

/* Prints the answer's engine_config (the node's secrets) once. */
static int show_config(json_t *node, const char *output, struct sw_err *err)
{
    json_t *conf = json_object_get(node, "engine_config");
    int rc = json_is_object(conf) ? write_env(conf, output, err) : -1;
    if (!json_is_object(conf))
        SW_ERR(err, SW_EINTERNAL, "the panel's answer has no engine_config");
    if (rc == 0)
        fprintf(stderr, "slipwayctl: node %s: engine configuration written%s%s (shown once)\n",
                json_string_value(json_object_get(node, "id")), output ? " to " : "",
                output ? output : "");
    return rc;
}

static int node_enroll(int argc, char **argv, struct sw_err *err)
{
    const char *v[O_N] = {0};
    if (argc < 2 || parse_opts(argc - 2, argv + 2, v) < 0 || !v[O_LOCATION] || !v[O_URI] ||
        !v[O_KINDS] || !v[O_CPUS] || !v[O_RAM] || !v[O_DISK])
        return 2;
    SW_AUTOFREE char *loc = location_id(v[O_LOCATION], err);
    if (!loc)
        return -1;
    json_t *b = enroll_body(argv[1], v, loc);
    if (!b)
        return 2;
    SW_AUTOFREE char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    json_t *node = api("POST", "/v1/admin/nodes", body, err);
    int rc = node ? show_config(node, v[O_OUTPUT], err) : -1;
    json_decref(node);
    return rc;
}

static int node_rekey(int argc, char **argv, struct sw_err *err)
{
    const char *v[O_N] = {0};
    if (argc < 2 || parse_opts(argc - 2, argv + 2, v) < 0 || v[O_LOCATION] || v[O_URI] ||
        v[O_KINDS] || v[O_CPUS] || v[O_RAM] || v[O_DISK] || v[O_RESERVED] ||
        strspn(argv[1], "0123456789abcdef-") != strlen(argv[1]))
        return 2;
    SW_AUTOFREE char *path = sw_asprintf("/v1/admin/nodes/%s/rekey", argv[1]);
    json_t *node = api("POST", path, NULL, err);
    int rc = node ? show_config(node, v[O_OUTPUT], err) : -1;
    json_decref(node);
    return rc;
}

int sw_ctl_node(int argc, char **argv, struct sw_err *err)
{
    int rc = 2;
    if (argc >= 2 && strcmp(argv[1], "enroll") == 0)
        rc = node_enroll(argc - 1, argv + 1, err);
    else if (argc >= 2 && strcmp(argv[1], "rekey") == 0)
        rc = node_rekey(argc - 1, argv + 1, err);
    if (rc == 2)
        fprintf(stderr, "slipwayctl: usage: node enroll NAME --location CODE --uri URI --kinds "
                        "KIND[,KIND] --cpus N --ram-mb N --disk-gb N [--reserved-ram-mb N] "
                        "[--output FILE]\n       slipwayctl node rekey ID [--output FILE]\n");
    return rc;
}
