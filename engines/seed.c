/* seed.c - a server's NoCloud seed: three JSON documents (seed.h) and the
 * "cidata" ISO 9660 image libisofs makes of them. */
#include "config.h"
#include "engines/seed.h"
#include "engines/domdef.h"
#include "engines/virt.h"
#include "core/alloc.h"
#include "core/err.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs/libisofs.h>

#define SEED_VOLUME_ID "cidata"
#define SEED_SECTOR 2048

/* ---- checks ---------------------------------------------------------- */

static bool empty(const char *v) { return !v || !*v; }

/* UTF-8 with no byte below 0x20 and no DEL: each value stays one printable
 * string (jansson refuses what is not UTF-8). */
static bool printable(const char *v)
{
    if (!v)
        return true;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    json_t *j = json_string(v);
    json_decref(j);
    return j != NULL;
}

static bool addr_ok(int af, const char *v)
{
    unsigned char buf[16];
    return inet_pton(af, v, buf) == 1;
}

static int check_addr(int af, const char *what, const char *addr, int prefix, const char *gw,
                      struct sw_err *err)
{
    int max = af == AF_INET ? 32 : 128;
    if (empty(addr)) {
        if (!empty(gw)) {
            SW_ERR(err, SW_EINVALID, "%s gateway without an address", what);
            return -1;
        }
        return 0;
    }
    if (!addr_ok(af, addr) || prefix < 1 || prefix > max || (!empty(gw) && !addr_ok(af, gw))) {
        SW_ERR(err, SW_EINVALID, "%s address, prefix or gateway does not parse", what);
        return -1;
    }
    return 0;
}

static int check_list(const char *what, const char *const *v, size_t n, struct sw_err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (empty(v[i]) || !printable(v[i])) {
            SW_ERR(err, SW_EINVALID, "%s %zu is empty, holds a control character or is not UTF-8", what, i);
            return -1;
        }
    }
    return 0;
}

/* "52:54:00:12:34:56" */
static bool mac_ok(const char *v)
{
    if (strlen(v) != 17)
        return false;
    for (size_t i = 0; i < 17; i++) {
        bool colon = i % 3 == 2;
        if (colon ? v[i] != ':' : !strchr("0123456789abcdefABCDEF", v[i]) || !v[i])
            return false;
    }
    return true;
}

static int check_dns(const struct sw_seed *s, struct sw_err *err)
{
    for (size_t i = 0; i < s->n_dns; i++) {
        if (!s->dns[i] || (!addr_ok(AF_INET, s->dns[i]) && !addr_ok(AF_INET6, s->dns[i]))) {
            SW_ERR(err, SW_EINVALID, "dns resolver %zu is not an address", i);
            return -1;
        }
    }
    return 0;
}

int sw_seed_check(const struct sw_seed *s, struct sw_err *err)
{
    if (empty(s->instance_id) || empty(s->hostname)) {
        SW_ERR(err, SW_EINVALID, "a seed needs an instance id and a hostname");
        return -1;
    }
    const char *one[] = {s->instance_id, s->hostname, s->password_hash};
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        if (!printable(one[i])) {
            SW_ERR(err, SW_EINVALID, "a seed value holds a control character or is not UTF-8");
            return -1;
        }
    }
    if (!empty(s->mac) && !mac_ok(s->mac)) {
        SW_ERR(err, SW_EINVALID, "the seed's mac address does not parse");
        return -1;
    }
    if (check_addr(AF_INET, "ipv4", s->ipv4, s->ipv4_prefix, s->ipv4_gateway, err) < 0 ||
        check_addr(AF_INET6, "ipv6", s->ipv6, s->ipv6_prefix, s->ipv6_gateway, err) < 0 ||
        check_dns(s, err) < 0 || check_list("ssh key", s->ssh_keys, s->n_ssh_keys, err) < 0)
        return -1;
    return 0;
}

/* ---- the three documents ---------------------------------------------- */

/* Owned text of doc after prefix, or NULL (err set) when jansson refused a
 * value (invalid UTF-8). Steals doc. */
static char *dump(json_t *doc, const char *prefix, struct sw_err *err)
{
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII) : NULL;
    json_decref(doc);
    if (!text) {
        SW_ERR(err, SW_EINVALID, "a seed value is not valid UTF-8");
        return NULL;
    }
    char *out = sw_asprintf("%s%s\n", prefix, text);
    sodium_memzero(text, strlen(text));
    free(text);
    return out;
}

/* json_string, or NULL for a value that is not UTF-8 (the caller's pack
 * then fails as a whole). */
static json_t *str(const char *v) { return json_string(v ? v : ""); }

static json_t *str_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(a, str(v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

char *sw_seed_meta_data(const struct sw_seed *s, struct sw_err *err)
{
    if (sw_seed_check(s, err) < 0)
        return NULL;
    return dump(json_pack("{s:o, s:o}", "instance-id", str(s->instance_id), "local-hostname",
                          str(s->hostname)),
                "", err);
}

static json_t *root_user(const struct sw_seed *s)
{
    json_t *u = json_pack("{s:s, s:b, s:o}", "name", "root", "lock_passwd",
                          empty(s->password_hash), "ssh_authorized_keys",
                          str_array(s->ssh_keys, s->n_ssh_keys));
    if (u && !empty(s->password_hash) &&
        json_object_set_new(u, "hashed_passwd", str(s->password_hash)) < 0) {
        json_decref(u);
        return NULL;
    }
    return u;
}

char *sw_seed_user_data(const struct sw_seed *s, struct sw_err *err)
{
    if (sw_seed_check(s, err) < 0)
        return NULL;
    json_t *doc = json_pack("{s:o, s:b, s:[o]}", "hostname", str(s->hostname), "disable_root", 0,
                            "users", root_user(s));
    return dump(doc, "#cloud-config\n", err);
}

/* "addr/prefix" (an address that passed sw_seed_check). */
static json_t *cidr(const char *addr, int prefix)
{
    char buf[INET6_ADDRSTRLEN + 8];
    snprintf(buf, sizeof buf, "%s/%d", addr, prefix);
    return json_string(buf);
}

static json_t *ethernet(const struct sw_seed *s)
{
    json_t *addrs = json_array(), *routes = json_array();
    if (!empty(s->ipv4))
        json_array_append_new(addrs, cidr(s->ipv4, s->ipv4_prefix));
    if (!empty(s->ipv6))
        json_array_append_new(addrs, cidr(s->ipv6, s->ipv6_prefix));
    if (!empty(s->ipv4_gateway))
        json_array_append_new(routes, json_pack("{s:s, s:s}", "to", "0.0.0.0/0", "via",
                                                s->ipv4_gateway));
    if (!empty(s->ipv6_gateway))
        json_array_append_new(routes,
                              json_pack("{s:s, s:s}", "to", "::/0", "via", s->ipv6_gateway));
    json_t *eth = json_pack("{s:o, s:o, s:{s:o}}", "addresses", addrs, "routes", routes,
                            "nameservers", "addresses", str_array(s->dns, s->n_dns));
    if (eth && !empty(s->mac)) {
        json_object_set_new(eth, "match", json_pack("{s:o}", "macaddress", str(s->mac)));
        json_object_set_new(eth, "set-name", json_string("eth0"));
    }
    return eth;
}

char *sw_seed_network_config(const struct sw_seed *s, struct sw_err *err)
{
    if (sw_seed_check(s, err) < 0)
        return NULL;
    return dump(json_pack("{s:i, s:{s:o}}", "version", 2, "ethernets", "eth0", ethernet(s)), "",
                err);
}

/* ---- from a node job ------------------------------------------------- */

/* The guest's address in its /64 (job: the /64's first address): ::1, or
 * ::2 when ::1 is the gateway; "" when the job has none or it does not
 * parse (sw_seed_check then has nothing to refuse). */
static void guest_ipv6(const struct sw_msg_node_job *job, char out[SW_MSG_ADDR_LEN])
{
    unsigned char a[16], gw[16];
    out[0] = '\0';
    if (!job->ipv6[0] || inet_pton(AF_INET6, job->ipv6, a) != 1)
        return;
    memset(a + 8, 0, 8);
    a[15] = 1;
    if (job->ipv6_gateway[0] && inet_pton(AF_INET6, job->ipv6_gateway, gw) == 1 &&
        memcmp(a, gw, 16) == 0)
        a[15] = 2;
    inet_ntop(AF_INET6, a, out, SW_MSG_ADDR_LEN);
}

/* The job's SSH keys (lines joined by '\n') split into sj->keys. */
static void split_keys(const struct sw_msg_node_job *job, struct sw_seed_job *sj)
{
    snprintf(sj->key_text, sizeof sj->key_text, "%s", job->ssh_keys);
    size_t n = 0;
    for (char *line = sj->key_text, *next; line && *line && n < SW_MSG_SSH_KEYS_MAX; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (*line)
            sj->keys[n++] = line;
    }
    sj->seed.ssh_keys = sj->keys;
    sj->seed.n_ssh_keys = n;
}

void sw_seed_of_job(const struct sw_msg_node_job *job, const char *instance_id,
                    struct sw_seed_job *sj)
{
    memset(sj, 0, sizeof *sj);
    struct sw_seed *s = &sj->seed;
    snprintf(sj->instance_id, sizeof sj->instance_id, "%s",
             instance_id ? instance_id : job->server_id);
    s->instance_id = sj->instance_id;
    s->hostname = job->hostname;
    s->mac = sw_domdef_mac(job->server_id, sj->mac);
    if (job->ipv4[0]) {
        s->ipv4 = job->ipv4;
        s->ipv4_prefix = job->ipv4_prefix > 0 ? job->ipv4_prefix : 32;
        s->ipv4_gateway = job->ipv4_gateway;
    }
    guest_ipv6(job, sj->ipv6);
    if (sj->ipv6[0]) {
        s->ipv6 = sj->ipv6;
        s->ipv6_prefix = 64;
        s->ipv6_gateway = job->ipv6_gateway;
    }
    for (int i = 0; i < job->dns_n && i < SW_MSG_DNS_MAX; i++)
        sj->dns[s->n_dns++] = job->dns[i];
    s->dns = sj->dns;
    split_keys(job, sj);
    s->password_hash = job->password_hash[0] ? job->password_hash : NULL;
}

/* ---- the ISO ---------------------------------------------------------- */

static pthread_once_t iso_once = PTHREAD_ONCE_INIT;
static int iso_init_rc;

static void iso_init_once(void)
{
    iso_init_rc = iso_init_with_flag(1); /* bit0: leave the locale alone */
    if (iso_init_rc >= 0)
        iso_set_msgs_severities("NEVER", "FATAL", "libisofs: ");
}

static int iso_fail(struct sw_err *err, const char *what, int rc)
{
    SW_ERR(err, SW_EINTERNAL, "could not build the seed image");
    sw_err_detail(err, "libisofs: %s: %s (%d)", what, iso_error_to_msg(rc), rc);
    return -1;
}

/* Adds name with text (stolen: the stream frees it) to root. */
static int add_file(IsoDir *root, const char *name, char *text, struct sw_err *err)
{
    IsoStream *stream = NULL;
    IsoFile *file = NULL;
    int rc = iso_memory_stream_new((unsigned char *)text, strlen(text), &stream);
    if (rc < 0) {
        sodium_memzero(text, strlen(text));
        free(text);
        return iso_fail(err, "memory stream", rc);
    }
    rc = iso_tree_add_new_file(root, name, stream, &file); /* takes our reference */
    if (rc < 0) {
        iso_stream_unref(stream);
        return iso_fail(err, name, rc);
    }
    iso_node_set_permissions((IsoNode *)file, 0444);
    return 0;
}

/* The seed's files: their names on the volume and what writes them. */
static const struct {
    const char *name;
    char *(*make)(const struct sw_seed *s, struct sw_err *err);
} seed_files[] = {
    {"meta-data", sw_seed_meta_data},
    {"user-data", sw_seed_user_data},
    {"network-config", sw_seed_network_config},
};
enum { SEED_FILES = sizeof seed_files / sizeof seed_files[0] };

/* Adds the three files to image; texts[] keeps borrowed pointers to their
 * contents (owned by the image's streams) for wipe_files. */
static int add_files(IsoImage *image, const struct sw_seed *s, char *texts[SEED_FILES],
                     struct sw_err *err)
{
    IsoDir *root = iso_image_get_root(image);
    for (size_t i = 0; i < SEED_FILES; i++) {
        char *text = seed_files[i].make(s, err);
        if (!text || add_file(root, seed_files[i].name, text, err) < 0)
            return -1;
        texts[i] = text;
    }
    return 0;
}

/* Wipes the files' contents (user-data holds the password hash) before the
 * image's streams free them. */
static void wipe_files(char *texts[SEED_FILES])
{
    for (size_t i = 0; i < SEED_FILES; i++)
        if (texts[i])
            sodium_memzero(texts[i], strlen(texts[i]));
}

/* Reads the whole image out of libisofs' writer thread into iso. */
static int drain(struct burn_source *src, struct sw_seed_iso *iso, struct sw_err *err)
{
    off_t size = src->get_size(src);
    size_t cap = size > 0 ? (size_t)size : 64 * SEED_SECTOR;
    iso->bytes = sw_malloc(cap);
    iso->len = 0;
    for (;;) {
        if (iso->len + SEED_SECTOR > cap) {
            unsigned char *bigger = sw_malloc(cap * 2);
            memcpy(bigger, iso->bytes, iso->len);
            sodium_memzero(iso->bytes, iso->len);
            free(iso->bytes);
            iso->bytes = bigger;
            cap *= 2;
        }
        int n = src->read_xt(src, iso->bytes + iso->len, SEED_SECTOR);
        if (n == 0)
            return 0;
        if (n != SEED_SECTOR) {
            src->cancel(src);
            sw_seed_iso_release(iso);
            return iso_fail(err, "write", n < 0 ? n : 0);
        }
        iso->len += SEED_SECTOR;
    }
}

static int write_image(IsoImage *image, struct sw_seed_iso *iso, struct sw_err *err)
{
    IsoWriteOpts *opts = NULL;
    struct burn_source *src = NULL;
    int rc = iso_write_opts_new(&opts, 0);
    if (rc < 0)
        return iso_fail(err, "write options", rc);
    iso_write_opts_set_rockridge(opts, 1);
    iso_write_opts_set_joliet(opts, 1);
    /* The label stays "cidata" in the primary descriptor, as genisoimage
     * -volid writes it: findfs and blkid compare it as written. */
    iso_write_opts_set_relaxed_vol_atts(opts, 1);
    rc = iso_image_create_burn_source(image, opts, &src);
    iso_write_opts_free(opts);
    if (rc < 0)
        return iso_fail(err, "create", rc);
    rc = drain(src, iso, err);
    src->free_data(src);
    free(src);
    return rc;
}

int sw_seed_iso(const struct sw_seed *s, struct sw_seed_iso *iso, struct sw_err *err)
{
    memset(iso, 0, sizeof *iso);
    if (sw_seed_check(s, err) < 0)
        return -1;
    pthread_once(&iso_once, iso_init_once);
    if (iso_init_rc < 0)
        return iso_fail(err, "init", iso_init_rc);
    IsoImage *image = NULL;
    int rc = iso_image_new(SEED_VOLUME_ID, &image);
    if (rc < 0)
        return iso_fail(err, "new image", rc);
    iso_image_set_volume_id(image, SEED_VOLUME_ID);
    char *texts[SEED_FILES] = {NULL, NULL, NULL};
    rc = add_files(image, s, texts, err) < 0 ? -1 : write_image(image, iso, err);
    wipe_files(texts);
    iso_image_unref(image);
    return rc;
}

void sw_seed_iso_release(struct sw_seed_iso *iso)
{
    if (iso->bytes) {
        sodium_memzero(iso->bytes, iso->len);
        free(iso->bytes);
    }
    iso->bytes = NULL;
    iso->len = 0;
}

/* ---- into a volume ---------------------------------------------------- */

int sw_seed_upload(virStorageVolPtr vol, const struct sw_seed_iso *iso, struct sw_err *err)
{
    virStreamPtr st = virStreamNew(virStorageVolGetConnect(vol), 0);
    if (!st) {
        sw_virt_error(err, "open a stream for the seed");
        return -1;
    }
    int rc = virStorageVolUpload(vol, st, 0, iso->len, 0);
    for (size_t off = 0; rc == 0 && off < iso->len;) {
        int n = virStreamSend(st, (const char *)iso->bytes + off, iso->len - off);
        if (n <= 0)
            rc = -1;
        else
            off += (size_t)n;
    }
    if (rc == 0)
        rc = virStreamFinish(st);
    if (rc < 0) {
        sw_virt_error(err, "upload the seed");
        err->retryable = true;
        virStreamAbort(st);
    }
    virStreamFree(st);
    return rc < 0 ? -1 : 0;
}
