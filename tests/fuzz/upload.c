/* upload.c - fuzz target: what the panel does with a multipart/form-data
 * upload's pieces (panel/image_store.c). libmicrohttpd's post processor
 * parses the form (http.c) and hands each piece to sw_upload_piece(); this
 * target plays that part with pieces cut from the input, then finishes the
 * upload as the adapter does.
 *
 * Input: records separated by a 0xff byte; each record's first byte picks
 * the key (its low 7 bits mod 7: name, kind, format, sha256, file, none,
 * or an unknown one) and, by its high bit, whether a filename comes with
 * it; the rest is the piece's data. Offsets
 * run on per key as MHD's do, restarting at 0 when the key changes (a new
 * part). The store's limit is 4096 bytes, in a temporary directory.
 *
 * Oracles: a finished upload's body is a JSON object whose fields are the
 * text pieces joined per key, and whose file_sha256 and file_size are
 * libsodium's SHA-256 and the length of the file pieces; a failed one says
 * why with SW_EINVALID or SW_ETOO_LARGE; no temporary file outlives
 * sw_upload_free(). */
#include "config.h"
#include "core/err.h"
#include "panel/image_store.h"
#include "tests/fuzz/fuzz.h"

#include <dirent.h>
#include <jansson.h>
#include <sodium.h>
#include <unistd.h>

static char dir[64];

static void remove_dir(void)
{
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof dir, "/tmp/swfuzz-upload.XXXXXX");
    struct sw_err err = {0};
    if (!mkdtemp(dir) || sodium_init() < 0 || setenv("SLIPWAY_IMAGES_DIR", dir, 1) < 0 ||
        setenv("SLIPWAY_IMAGE_MAX_BYTES", "4096", 1) < 0 || sw_image_store_init(&err) < 0)
        abort();
    atexit(remove_dir);
    return 0;
}

static int leftovers(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

static const char *const keys[] = {"name", "kind", "format", "sha256", "file", NULL, "x-other"};

struct expect {
    json_t *fields;
    crypto_hash_sha256_state sha;
    uint64_t file_bytes;
    bool file_seen;
};

/* One record: key and data to the upload, and to what we expect. */
static void piece(struct sw_upload *u, struct expect *x, const uint8_t *rec, size_t n,
                  int *last_key, uint64_t *off)
{
    int k = (rec[0] & 0x7f) % 7;
    const char *key = keys[k], *filename = (rec[0] & 0x80) ? "a.img" : NULL;
    const char *data = (const char *)rec + 1;
    size_t len = n - 1;
    if (k != *last_key)
        *off = 0;
    *last_key = k;
    if (sw_upload_piece(u, key, filename, data, *off, len) == 0 && key) {
        if (strcmp(key, "file") == 0) {
            crypto_hash_sha256_update(&x->sha, rec + 1, len);
            x->file_bytes += len;
            x->file_seen = true;
        } else {
            const char *cur = json_string_value(json_object_get(x->fields, key));
            char *v = malloc((cur ? strlen(cur) : 0) + len + 1);
            if (!v)
                abort();
            snprintf(v, (cur ? strlen(cur) : 0) + len + 1, "%s%.*s", cur ? cur : "", (int)len,
                     data);
            json_object_set_new(x->fields, key, json_string(v));
            free(v);
        }
    }
    *off += len;
}

static void check_finished(struct sw_upload *u, struct expect *x, const char *body)
{
    json_t *o = json_loads(body, 0, NULL);
    SW_FUZZ_ASSERT(json_is_object(o));
    SW_FUZZ_ASSERT(json_equal(json_object_get(o, "fields"), x->fields));
    SW_FUZZ_ASSERT((uint64_t)json_integer_value(json_object_get(o, "file_size")) == x->file_bytes);
    if (x->file_seen) {
        unsigned char sum[32];
        char hex[65];
        crypto_hash_sha256_final(&x->sha, sum);
        sodium_bin2hex(hex, sizeof hex, sum, sizeof sum);
        SW_FUZZ_ASSERT(strcmp(json_string_value(json_object_get(o, "file_sha256")), hex) == 0);
        SW_FUZZ_ASSERT(strcmp(u->sha256, hex) == 0);
    }
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sw_upload *u = sw_upload_new();
    struct expect x;
    memset(&x, 0, sizeof x);
    x.fields = json_object();
    crypto_hash_sha256_init(&x.sha);
    int last_key = -1;
    uint64_t off = 0;
    for (size_t start = 0; start < size;) {
        const uint8_t *end = memchr(data + start, 0xff, size - start);
        size_t n = end ? (size_t)(end - (data + start)) : size - start;
        if (n > 0)
            piece(u, &x, data + start, n, &last_key, &off);
        start += n + 1;
    }
    char *body = sw_upload_finish(u);
    if (body)
        check_finished(u, &x, body);
    else
        SW_FUZZ_ASSERT(u->failed && u->failure &&
                       (u->failure->code == SW_EINVALID || u->failure->code == SW_ETOO_LARGE));
    free(body);
    sw_upload_free(u);
    json_decref(x.fields);
    SW_FUZZ_ASSERT(leftovers() == 0);
    return 0;
}
