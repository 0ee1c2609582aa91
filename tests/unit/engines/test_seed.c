/* Tests of engines/seed.c: the NoCloud seed's three documents and its
 * "cidata" ISO, read back with xorriso (the packaged tool, not our code),
 * hostile values kept inside their strings, bad input refused. */
#include "config.h"
#include "engines/seed.h"
#include "engines/domdef.h"
#include "core/enums.h"
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

/* ---- from a node job -------------------------------------------------- */

#define JOB_SERVER "7F1C2D3E-0000-4000-8000-0000000000AA"

static void job_full(struct sw_msg_node_job *job)
{
    memset(job, 0, sizeof *job);
    snprintf(job->job_id, sizeof job->job_id, "10000000-0000-4000-8000-000000000001");
    snprintf(job->server_id, sizeof job->server_id, JOB_SERVER);
    job->type = SW_JOB_CREATE;
    job->kind = SW_KIND_HVM;
    snprintf(job->hostname, sizeof job->hostname, "web1.example.com");
    snprintf(job->ipv4, sizeof job->ipv4, "192.0.2.5");
    job->ipv4_prefix = 24;
    snprintf(job->ipv4_gateway, sizeof job->ipv4_gateway, "192.0.2.1");
    snprintf(job->ipv6, sizeof job->ipv6, "2001:db8:1:2::");
    snprintf(job->ipv6_gateway, sizeof job->ipv6_gateway, "fe80::1");
    job->dns_n = 2;
    snprintf(job->dns[0], sizeof job->dns[0], "192.0.2.53");
    snprintf(job->dns[1], sizeof job->dns[1], "2001:db8::53");
    snprintf(job->ssh_keys, sizeof job->ssh_keys, "%s\n%s", keys[0], keys[1]);
    job->ssh_keys_n = 2;
    snprintf(job->password_hash, sizeof job->password_hash, "$6$salt$hash");
}

/* The value at a path of doc ("a.b.0.c"), as text; "" when absent. */
static const char *at(json_t *doc, const char *path)
{
    static char out[512];
    char p[256];
    snprintf(p, sizeof p, "%s", path);
    json_t *v = doc;
    for (char *save = NULL, *k = strtok_r(p, ".", &save); v && k; k = strtok_r(NULL, ".", &save))
        v = json_is_array(v) ? json_array_get(v, (size_t)atoi(k)) : json_object_get(v, k);
    if (json_is_string(v))
        snprintf(out, sizeof out, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, sizeof out, "%lld", (long long)json_integer_value(v));
    else if (json_is_boolean(v))
        snprintf(out, sizeof out, "%s", json_is_true(v) ? "true" : "false");
    else
        out[0] = '\0';
    return out;
}

/* The document make writes for sj's seed; owned. */
static json_t *doc_of(char *(*make)(const struct sw_seed *, struct sw_err *),
                      const struct sw_seed_job *sj)
{
    struct sw_err err;
    sw_err_clear(&err);
    char *text = make(&sj->seed, &err);
    if (!text)
        fail_msg("%s (%s)", err.msg, err.detail);
    json_t *doc = parse(text);
    free(text);
    return doc;
}

/* Everything the job carries reaches the seed: the server id as instance
 * id, the NIC's MAC, addresses with prefixes and gateways (the guest takes
 * its /64's ::1), resolvers, each key line, the hash. */
static void test_of_job(void **state)
{
    (void)state;
    struct sw_msg_node_job job;
    struct sw_seed_job sj;
    job_full(&job);
    sw_seed_of_job(&job, NULL, &sj);
    char mac[18];
    json_t *meta = doc_of(sw_seed_meta_data, &sj);
    assert_string_equal(at(meta, "instance-id"), JOB_SERVER);
    assert_string_equal(at(meta, "local-hostname"), "web1.example.com");
    json_decref(meta);
    json_t *net = doc_of(sw_seed_network_config, &sj);
    assert_string_equal(at(net, "ethernets.eth0.match.macaddress"), sw_domdef_mac(JOB_SERVER, mac));
    assert_string_equal(at(net, "ethernets.eth0.addresses.0"), "192.0.2.5/24");
    assert_string_equal(at(net, "ethernets.eth0.addresses.1"), "2001:db8:1:2::1/64");
    assert_string_equal(at(net, "ethernets.eth0.routes.0.via"), "192.0.2.1");
    assert_string_equal(at(net, "ethernets.eth0.routes.1.via"), "fe80::1");
    assert_string_equal(at(net, "ethernets.eth0.nameservers.addresses.1"), "2001:db8::53");
    json_decref(net);
    json_t *user = doc_of(sw_seed_user_data, &sj);
    assert_string_equal(at(user, "users.0.hashed_passwd"), "$6$salt$hash");
    assert_string_equal(at(user, "users.0.lock_passwd"), "false");
    assert_string_equal(at(user, "users.0.ssh_authorized_keys.0"), keys[0]);
    assert_string_equal(at(user, "users.0.ssh_authorized_keys.1"), keys[1]);
    assert_string_equal(at(user, "users.0.ssh_authorized_keys.2"), "");
    json_decref(user);

    /* a reinstall's own instance id; ::1 taken by the gateway: ::2; no
     * prefix known: /32; an empty key line is no key */
    snprintf(job.ipv6_gateway, sizeof job.ipv6_gateway, "2001:db8:1:2::1");
    job.ipv4_prefix = 0;
    snprintf(job.ssh_keys, sizeof job.ssh_keys, "%s\n\n", keys[1]);
    sw_seed_of_job(&job, JOB_SERVER "-" "10000000-0000-4000-8000-000000000009", &sj);
    meta = doc_of(sw_seed_meta_data, &sj);
    assert_string_equal(at(meta, "instance-id"),
                        JOB_SERVER "-10000000-0000-4000-8000-000000000009");
    json_decref(meta);
    net = doc_of(sw_seed_network_config, &sj);
    assert_string_equal(at(net, "ethernets.eth0.addresses.0"), "192.0.2.5/32");
    assert_string_equal(at(net, "ethernets.eth0.addresses.1"), "2001:db8:1:2::2/64");
    json_decref(net);
    assert_int_equal(sj.seed.n_ssh_keys, 1);
}

/* An older job (no guest data but its hostname) still gives a seed with
 * instance id and hostname; no password: root's is locked. */
static void test_of_old_job(void **state)
{
    (void)state;
    struct sw_msg_node_job job;
    memset(&job, 0, sizeof job);
    snprintf(job.server_id, sizeof job.server_id, JOB_SERVER);
    snprintf(job.hostname, sizeof job.hostname, "old.example.com");
    struct sw_seed_job sj;
    sw_seed_of_job(&job, NULL, &sj);
    struct sw_seed_iso iso;
    struct sw_err err;
    assert_int_equal(sw_seed_iso(&sj.seed, &iso, &err), 0);
    sw_seed_iso_release(&iso);
    json_t *meta = doc_of(sw_seed_meta_data, &sj);
    assert_string_equal(at(meta, "instance-id"), JOB_SERVER);
    assert_string_equal(at(meta, "local-hostname"), "old.example.com");
    json_decref(meta);
    json_t *user = doc_of(sw_seed_user_data, &sj);
    assert_string_equal(at(user, "users.0.lock_passwd"), "true");
    assert_string_equal(at(user, "users.0.hashed_passwd"), "");
    json_decref(user);
    json_t *net = doc_of(sw_seed_network_config, &sj);
    assert_string_equal(at(net, "ethernets.eth0.addresses.0"), "");
    json_decref(net);
}

/* A hostile hostname from a job stays one string in every document. */
static void test_of_job_hostile_hostname(void **state)
{
    (void)state;
    static const char hostile[] = "x\": 1, \"users\": [{\"name\": \"evil\"}]} #&a *b !!python/object"
                                  " ---\\u0000 '";
    struct sw_msg_node_job job;
    job_full(&job);
    snprintf(job.hostname, sizeof job.hostname, "%s", hostile);
    struct sw_seed_job sj;
    sw_seed_of_job(&job, NULL, &sj);
    json_t *meta = doc_of(sw_seed_meta_data, &sj), *user = doc_of(sw_seed_user_data, &sj);
    assert_string_equal(at(meta, "local-hostname"), hostile);
    assert_int_equal(json_object_size(meta), 2);
    assert_string_equal(at(user, "hostname"), hostile);
    assert_int_equal(json_array_size(json_object_get(user, "users")), 1);
    assert_string_equal(at(user, "users.0.name"), "root");
    json_decref(meta);
    json_decref(user);
    /* a control character is refused, not written */
    snprintf(job.hostname, sizeof job.hostname, "a\nb");
    sw_seed_of_job(&job, NULL, &sj);
    expect_invalid(&sj.seed);
}

/* ---- the ISO, read back by xorriso ---------------------------------- */

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
        cmocka_unit_test(test_of_job),
        cmocka_unit_test(test_of_old_job),
        cmocka_unit_test(test_of_job_hostile_hostname),
        cmocka_unit_test(test_iso_volume_id),
        cmocka_unit_test(test_iso_files_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
