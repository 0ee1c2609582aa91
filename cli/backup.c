/* backup.c - slipwayctl backup-scrub and backup-gc: an account's backup
 * repository checked or swept on a target, with the account's key. */
#include "config.h"
#include "backup/repo.h"
#include "cli/ctl.h"
#include "core/err.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

struct bk_args {
    const char *account, *target, *key_file;
};

/* ACCOUNT --target FILE --key-file FILE; -1 on bad usage. */
static int parse(int argc, char **argv, struct bk_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--target") == 0 && i + 1 < argc)
            a->target = argv[++i];
        else if (strcmp(argv[i], "--key-file") == 0 && i + 1 < argc)
            a->key_file = argv[++i];
        else if (!a->account && argv[i][0] != '-')
            a->account = argv[i];
        else
            return -1;
    }
    return a->account && a->target && a->key_file ? 0 : -1;
}

/* The key file: 64 hex digits (and a newline). */
static int read_key(const char *path, unsigned char key[SW_BK_KEY_BYTES], struct sw_err *err)
{
    char hex[2 * SW_BK_KEY_BYTES + 3] = {0};
    FILE *f = fopen(path, "r");
    size_t n = 0;
    int ok = f && fgets(hex, sizeof hex, f) &&
             sodium_hex2bin(key, SW_BK_KEY_BYTES, hex, strlen(hex), "\r\n", &n, NULL) == 0 &&
             n == SW_BK_KEY_BYTES;
    if (f)
        fclose(f);
    sodium_memzero(hex, sizeof hex);
    if (!ok)
        SW_ERR(err, SW_EINVALID, "could not read a 64-hex-digit backup key from %s", path);
    return ok ? 0 : -1;
}

static struct sw_bk_target *open_target(const char *path, struct sw_err *err)
{
    json_error_t je;
    json_t *conf = json_load_file(path, 0, &je);
    if (!conf) {
        SW_ERR(err, SW_EINVALID, "could not read the target %s: %s", path, je.text);
        return NULL;
    }
    struct sw_bk_target *t = sw_bk_target_open(conf, err);
    json_decref(conf);
    return t;
}

static void print_bad(void *arg, const char *what, const char *why)
{
    (void)arg;
    printf("bad: %s: %s\n", what, why);
}

static int scrub(struct sw_bk_target *t, const unsigned char *key, const char *account,
                 struct sw_err *err)
{
    struct sw_bk_scrub_stats st;
    if (sw_bk_scrub(t, key, account, print_bad, NULL, &st, err) < 0)
        return -1;
    printf("%zu manifests, %zu chunks checked, %zu bad\n", st.manifests, st.chunks_checked,
           st.bad);
    if (st.bad)
        SW_ERR(err, SW_EINTERNAL, "the scrub found %zu bad object%s", st.bad,
               st.bad == 1 ? "" : "s");
    return st.bad ? -1 : 0;
}

static int gc(struct sw_bk_target *t, const unsigned char *key, const char *account,
              struct sw_err *err)
{
    struct sw_bk_gc_stats st;
    if (sw_bk_gc(t, key, account, &st, err) < 0)
        return -1;
    printf("%zu manifests, %zu chunks kept, %zu deleted\n", st.manifests, st.chunks_kept,
           st.chunks_deleted);
    return 0;
}

static int run(const char *cmd, const struct bk_args *a, struct sw_err *err)
{
    unsigned char key[SW_BK_KEY_BYTES];
    if (read_key(a->key_file, key, err) < 0)
        return -1;
    struct sw_bk_target *t = open_target(a->target, err);
    int rc = -1;
    if (t)
        rc = strcmp(cmd, "backup-gc") == 0 ? gc(t, key, a->account, err)
                                           : scrub(t, key, a->account, err);
    sodium_memzero(key, sizeof key);
    sw_bk_target_free(t);
    return rc;
}

int sw_ctl_backup(int argc, char **argv)
{
    struct bk_args a;
    if (parse(argc, argv, &a) < 0) {
        fprintf(stderr, "slipwayctl: %s ACCOUNT --target FILE.json --key-file FILE\n", argv[0]);
        return 2;
    }
    struct sw_err err = {0};
    if (run(argv[0], &a, &err) == 0)
        return 0;
    fprintf(stderr, "slipwayctl: %s\n", err.msg);
    return 1;
}
