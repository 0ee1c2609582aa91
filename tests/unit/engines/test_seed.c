/* Tests of engines/seed.c: the NoCloud seed's three documents and its
 * "cidata" ISO, read back with xorriso (the packaged tool, not our code),
 * hostile values kept inside their strings, bad input refused. */
#include "config.h"
#include "engines/seed.h"
#include "core/err.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const dns[] = {"192.0.2.53", "2001:db8::53"};
static const char *const keys[] = {"ssh-ed25519 AAAAC3Nza one@example", "ssh-rsa AAAAB3Nza two"};

static struct sw_seed seed_of(void)
{
    struct sw_seed s = {
        .instance_id = "7f1c2d3e-0000-4000-8000-000000000001",
        .hostname = "web1.example.com",
        .ipv4 = "192.0.2.5",
        .ipv4_prefix = 24,
        .ipv4_gateway = "192.0.2.1",
        .ipv6 = "2001:db8:1::5",
        .ipv6_prefix = 64,
        .ipv6_gateway = "2001:db8:1::1",
        .dns = dns,
        .n_dns = 2,
        .ssh_keys = keys,
        .n_ssh_keys = 2,
        .password_hash = "$6$salt$hash",
    };
    return s;
}

/* The document of text (after user-data's "#cloud-config" line); owned. */
static json_t *parse(const char *text)
{
    if (strncmp(text, "#cloud-config\n", 14) == 0)
        text += 14;
    json_error_t e;
    json_t *doc = json_loads(text, 0, &e);
    if (!doc)
        print_error("json: %s at line %d\n", e.text, e.line);
    assert_non_null(doc);
    return doc;
}

static void test_meta_data(void **state)
{
    (void)state;
    struct sw_seed s = seed_of();
    struct sw_err err;
    char *text = sw_seed_meta_data(&s, &err);
    assert_non_null(text);
    json_t *doc = parse(text);
    assert_int_equal(json_object_size(doc), 2);
    assert_string_equal(json_string_value(json_object_get(doc, "instance-id")), s.instance_id);
    assert_string_equal(json_string_value(json_object_get(doc, "local-hostname")), s.hostname);
    json_decref(doc);
    free(text);
}

static void test_user_data(void **state)
{
    (void)state;
    struct sw_seed s = seed_of();
    struct sw_err err;
    char *text = sw_seed_user_data(&s, &err);
    assert_non_null(text);
    assert_memory_equal(text, "#cloud-config\n", 14);
    json_t *doc = parse(text);
    json_t *root = json_array_get(json_object_get(doc, "users"), 0);
    assert_string_equal(json_string_value(json_object_get(root, "name")), "root");
    assert_string_equal(json_string_value(json_object_get(root, "hashed_passwd")), "$6$salt$hash");
    assert_true(json_is_false(json_object_get(root, "lock_passwd")));
    json_t *k = json_object_get(root, "ssh_authorized_keys");
    assert_int_equal(json_array_size(k), 2);
    assert_string_equal(json_string_value(json_array_get(k, 1)), keys[1]);
    json_decref(doc);
    free(text);

    s.password_hash = NULL; /* no hash: root's password stays locked */
    text = sw_seed_user_data(&s, &err);
    doc = parse(text);
    root = json_array_get(json_object_get(doc, "users"), 0);
    assert_null(json_object_get(root, "hashed_passwd"));
    assert_true(json_is_true(json_object_get(root, "lock_passwd")));
    json_decref(doc);
    free(text);
}

static const char *path_str(json_t *doc, const char *a, const char *b, size_t i)
{
    return json_string_value(json_array_get(json_object_get(json_object_get(doc, a), b), i));
}

static void test_network_config(void **state)
{
    (void)state;
    struct sw_seed s = seed_of();
    s.mac = "52:54:00:aa:bb:cc";
    struct sw_err err;
    char *text = sw_seed_network_config(&s, &err);
    assert_non_null(text);
    json_t *doc = parse(text);
    assert_int_equal(json_integer_value(json_object_get(doc, "version")), 2);
    json_t *eth = json_object_get(json_object_get(doc, "ethernets"), "eth0");
    assert_string_equal(path_str(eth, "nameservers", "addresses", 1), "2001:db8::53");
    json_t *addrs = json_object_get(eth, "addresses");
    assert_string_equal(json_string_value(json_array_get(addrs, 0)), "192.0.2.5/24");
    assert_string_equal(json_string_value(json_array_get(addrs, 1)), "2001:db8:1::5/64");
    json_t *r = json_object_get(eth, "routes");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "via")),
                        "192.0.2.1");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "to")), "::/0");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(eth, "match"), "macaddress")), s.mac);
    json_decref(doc);
    free(text);
}

/* PyYAML (what cloud-init reads a seed with) reads text as the same
 * document as a JSON parser does; skipped when python3-yaml is missing. */
static void yaml_reads_as_json(const char *text)
{
    if (system("python3 -c 'import yaml' 2>/dev/null") != 0)
        return;
    char path[] = "/tmp/sw-seed-yaml.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json, sys, yaml; t = open(sys.argv[1]).read();"
             " j = json.loads(t.split(\"\\n\", 1)[1] if t.startswith(\"#\") else t);"
             " sys.exit(0 if yaml.safe_load(t) == j else 1)' %s",
             path);
    int rc = system(cmd);
    unlink(path);
    assert_int_equal(rc, 0);
}

/* Values that would add keys or change structure if pasted into YAML or
 * JSON unquoted stay one string each, and nothing else appears. */
static void test_hostile_values_stay_strings(void **state)
{
    (void)state;
    static const char *const evil_keys[] = {
        "x\"]}], \"runcmd\": [\"touch /pwned\"], \"a\": [{\"b\": \"",
        "'}: {runcmd: [reboot]} # ",
    };
    struct sw_seed s = seed_of();
    s.hostname = "h\", \"instance-id\": \"other\\\": [] &a *a !!python/object:os.system #";
    s.ssh_keys = evil_keys;
    s.password_hash = "$6$\\\"}, \"users\": [";
    struct sw_err err;
    char *meta = sw_seed_meta_data(&s, &err), *user = sw_seed_user_data(&s, &err);
    assert_non_null(meta);
    assert_non_null(user);
    json_t *m = parse(meta), *u = parse(user);
    assert_int_equal(json_object_size(m), 2);
    assert_string_equal(json_string_value(json_object_get(m, "local-hostname")), s.hostname);
    assert_string_equal(json_string_value(json_object_get(m, "instance-id")), s.instance_id);
    assert_int_equal(json_object_size(u), 3); /* hostname, disable_root, users */
    assert_null(json_object_get(u, "runcmd"));
    json_t *root = json_array_get(json_object_get(u, "users"), 0);
    assert_int_equal(json_array_size(json_object_get(u, "users")), 1);
    assert_int_equal(json_object_size(root), 4);
    json_t *k = json_object_get(root, "ssh_authorized_keys");
    assert_int_equal(json_array_size(k), 2);
    assert_string_equal(json_string_value(json_array_get(k, 0)), evil_keys[0]);
    assert_string_equal(json_string_value(json_array_get(k, 1)), evil_keys[1]);
    assert_string_equal(json_string_value(json_object_get(root, "hashed_passwd")), s.password_hash);
    yaml_reads_as_json(meta);
    yaml_reads_as_json(user);
    json_decref(m);
    json_decref(u);
    free(meta);
    free(user);
}

static void expect_invalid(const struct sw_seed *s)
{
    struct sw_err err;
    sw_err_clear(&err);
    char *text = sw_seed_meta_data(s, &err);
    assert_null(text);
    assert_int_equal(err.code, SW_EINVALID);
    struct sw_seed_iso iso;
    assert_int_equal(sw_seed_iso(s, &iso, &err), -1);
    assert_null(iso.bytes);
}

static void test_bad_input_refused(void **state)
{
    (void)state;
    static const char *const bad_key[] = {"ssh-rsa AAAA\nssh-rsa BBBB"};
    static const char *const bad_dns[] = {"resolver.example"};
    struct sw_seed s;
    s = seed_of(), s.hostname = "a\nb", expect_invalid(&s);
    s = seed_of(), s.hostname = "a\rb", expect_invalid(&s);
    s = seed_of(), s.hostname = "a\x7f", expect_invalid(&s);
    s = seed_of(), s.hostname = "\xff\xfe", expect_invalid(&s); /* not UTF-8 */
    s = seed_of(), s.hostname = "", expect_invalid(&s);
    s = seed_of(), s.instance_id = NULL, expect_invalid(&s);
    s = seed_of(), s.password_hash = "$6$a\nroot::0:0", expect_invalid(&s);
    s = seed_of(), s.ssh_keys = bad_key, s.n_ssh_keys = 1, expect_invalid(&s);
    s = seed_of(), s.dns = bad_dns, s.n_dns = 1, expect_invalid(&s);
    s = seed_of(), s.ipv4 = "192.0.2.300", expect_invalid(&s);
    s = seed_of(), s.ipv4_prefix = 33, expect_invalid(&s);
    s = seed_of(), s.ipv6_prefix = 0, expect_invalid(&s);
    s = seed_of(), s.ipv6_gateway = "192.0.2.1", expect_invalid(&s);
    s = seed_of(), s.ipv4 = NULL, expect_invalid(&s); /* a gateway with no address */
    s = seed_of(), s.mac = "52:54:00:aa:bb:c\"", expect_invalid(&s);
}

/* ---- the ISO, read back by xorriso ------------------------------------ */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_iso_volume_id(void **state)
{
    (void)state;
    struct sw_seed s = seed_of();
    struct sw_seed_iso iso;
    struct sw_err err;
    assert_int_equal(sw_seed_iso(&s, &iso, &err), 0);
    assert_true(iso.len >= 17 * 2048);
    assert_int_equal(iso.len % 2048, 0);
    /* ECMA-119 8.4: the primary volume descriptor at sector 16. */
    const unsigned char *pvd = iso.bytes + 16 * 2048;
    assert_int_equal(pvd[0], 1);
    assert_memory_equal(pvd + 1, "CD001", 5);
    assert_memory_equal(pvd + 40, "cidata                          ", 32);
    sw_seed_iso_release(&iso);
    assert_null(iso.bytes);
}

static void test_iso_files_read_back(void **state)
{
    (void)state;
    if (system("command -v xorriso >/dev/null") != 0)
        fail_msg("xorriso is not installed (scripts/up installs it)");
    char dir[] = "/tmp/sw-seed-test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct sw_seed s = seed_of();
    struct sw_seed_iso iso;
    struct sw_err err;
    assert_int_equal(sw_seed_iso(&s, &iso, &err), 0);
    char path[256], cmd[1024];
    snprintf(path, sizeof path, "%s/seed.iso", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(iso.bytes, 1, iso.len, f), iso.len);
    fclose(f);
    sw_seed_iso_release(&iso);
    snprintf(cmd, sizeof cmd,
             "xorriso -indev %s/seed.iso -osirrox on -extract / %s/out >%s/xorriso.log 2>&1 &&"
             " xorriso -indev %s/seed.iso -pvd_info 2>/dev/null | grep -q '^Volume Id *: cidata$'",
             dir, dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    char *(*const make[])(const struct sw_seed *, struct sw_err *) = {
        sw_seed_meta_data, sw_seed_user_data, sw_seed_network_config};
    const char *names[] = {"meta-data", "user-data", "network-config"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/out/%s", dir, names[i]);
        char *got = slurp(path), *want = make[i](&s, &err);
        assert_non_null(got);
        assert_string_equal(got, want);
        free(got);
        free(want);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meta_data),
        cmocka_unit_test(test_user_data),
        cmocka_unit_test(test_network_config),
        cmocka_unit_test(test_hostile_values_stay_strings),
        cmocka_unit_test(test_bad_input_refused),
        cmocka_unit_test(test_iso_volume_id),
        cmocka_unit_test(test_iso_files_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
