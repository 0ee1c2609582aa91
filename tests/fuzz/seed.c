/* seed.c - fuzz target: engines/seed.c, the NoCloud seed's documents
 * (meta-data, user-data, network-config v2) made from what a tenant and
 * IPAM chose. Input: hostname, IPv4, IPv6, a resolver, two SSH keys, the
 * password hash and the MAC, separated by NUL bytes (missing parts are
 * empty). Oracles: a refusal is SW_EINVALID and refuses all three
 * documents; an accepted seed's documents parse as JSON (user-data after
 * its "#cloud-config" line) with exactly the keys slipway writes, and each
 * value reads back as given: nothing a value holds adds a key. */
#include "config.h"
#include "tests/fuzz/fuzz.h"
#include "core/err.h"
#include "engines/seed.h"

#include <jansson.h>

enum { PARTS = 8 };

static char *part(const uint8_t *data, size_t size, size_t *at)
{
    size_t from = *at;
    while (*at < size && data[*at])
        (*at)++;
    char *s = sw_fuzz_str(data + from, *at - from);
    if (*at < size)
        (*at)++;
    return s;
}

static json_t *load(const char *text)
{
    if (strncmp(text, "#cloud-config\n", 14) == 0)
        text += 14;
    json_t *doc = json_loads(text, 0, NULL);
    SW_FUZZ_ASSERT(json_is_object(doc));
    return doc;
}

static const char *str_at(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void check_user(json_t *u, const struct sw_seed *s)
{
    SW_FUZZ_ASSERT(json_object_size(u) == 3);
    SW_FUZZ_ASSERT(strcmp(str_at(u, "hostname"), s->hostname) == 0);
    json_t *users = json_object_get(u, "users");
    SW_FUZZ_ASSERT(json_array_size(users) == 1);
    json_t *root = json_array_get(users, 0);
    SW_FUZZ_ASSERT(json_object_size(root) == (*s->password_hash ? 4u : 3u));
    if (*s->password_hash)
        SW_FUZZ_ASSERT(strcmp(str_at(root, "hashed_passwd"), s->password_hash) == 0);
    json_t *keys = json_object_get(root, "ssh_authorized_keys");
    SW_FUZZ_ASSERT(json_array_size(keys) == s->n_ssh_keys);
    for (size_t i = 0; i < s->n_ssh_keys; i++)
        SW_FUZZ_ASSERT(strcmp(json_string_value(json_array_get(keys, i)), s->ssh_keys[i]) == 0);
}

static void check_net(json_t *n, const struct sw_seed *s)
{
    SW_FUZZ_ASSERT(json_object_size(n) == 2);
    json_t *eths = json_object_get(n, "ethernets");
    SW_FUZZ_ASSERT(json_object_size(eths) == 1);
    json_t *eth = json_object_get(eths, "eth0");
    SW_FUZZ_ASSERT(json_object_size(eth) == (*s->mac ? 5u : 3u));
    size_t want = (*s->ipv4 ? 1u : 0u) + (*s->ipv6 ? 1u : 0u);
    SW_FUZZ_ASSERT(json_array_size(json_object_get(eth, "addresses")) == want);
    json_t *ns = json_object_get(json_object_get(eth, "nameservers"), "addresses");
    SW_FUZZ_ASSERT(json_array_size(ns) == s->n_dns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t at = 0;
    char *p[PARTS];
    for (size_t i = 0; i < PARTS; i++)
        p[i] = part(data, size, &at);
    const char *dns[1] = {p[3]}, *keys[2] = {p[4], p[5]};
    struct sw_seed s = {
        .instance_id = "7f1c2d3e-0000-4000-8000-000000000001", .hostname = p[0],
        .ipv4 = p[1], .ipv4_prefix = 24, .ipv6 = p[2], .ipv6_prefix = 64,
        .dns = dns, .n_dns = *p[3] ? 1 : 0, .ssh_keys = keys, .n_ssh_keys = *p[5] ? 2 : *p[4] ? 1 : 0,
        .password_hash = p[6], .mac = p[7],
    };
    struct sw_err err = {0};
    char *meta = sw_seed_meta_data(&s, &err);
    char *user = sw_seed_user_data(&s, &err);
    char *net = sw_seed_network_config(&s, &err);
    if (!meta || !user || !net) {
        SW_FUZZ_ASSERT(!meta && !user && !net);
        SW_FUZZ_ASSERT(err.code == SW_EINVALID);
    } else {
        json_t *m = load(meta), *u = load(user), *n = load(net);
        SW_FUZZ_ASSERT(json_object_size(m) == 2);
        SW_FUZZ_ASSERT(strcmp(str_at(m, "local-hostname"), s.hostname) == 0);
        check_user(u, &s);
        check_net(n, &s);
        json_decref(m);
        json_decref(u);
        json_decref(n);
    }
    free(meta);
    free(user);
    free(net);
    for (size_t i = 0; i < PARTS; i++)
        free(p[i]);
    return 0;
}
