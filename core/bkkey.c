/* bkkey.c - secrets (the backups', the fences') wrapped with the control plane's master key. */
#include "config.h"
#include "core/bkkey.h"
#include "core/alloc.h"
#include "core/conf.h"
#include "core/err.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* base64 of the key from the variable or the file it names into b64[n]. */
static int master_text(char *b64, size_t n)
{
    const char *v = sw_conf_get("SLIPWAY_BACKUP_MASTER_KEY");
    if (v && *v) {
        snprintf(b64, n, "%s", v);
        return 0;
    }
    const char *path = sw_conf_get("SLIPWAY_BACKUP_MASTER_KEY_FILE");
    FILE *f = path && *path ? fopen(path, "r") : NULL;
    if (!f)
        return -1;
    size_t got = fread(b64, 1, n - 1, f);
    fclose(f);
    b64[got] = '\0';
    b64[strcspn(b64, "\r\n")] = '\0';
    return 0;
}

int sw_bkkey_master(unsigned char key[SW_BKKEY_BYTES], struct sw_err *err)
{
    char b64[128];
    size_t len = 0;
    int rc = master_text(b64, sizeof b64);
    if (rc == 0)
        rc = sodium_base642bin(key, SW_BKKEY_BYTES, b64, strlen(b64), NULL, &len, NULL,
                               sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(b64, sizeof b64);
    if (rc != 0 || len != SW_BKKEY_BYTES) {
        sodium_memzero(key, SW_BKKEY_BYTES);
        SW_ERR(err, SW_EUNAVAILABLE, "the control plane's master key is not available");
        sw_err_detail(err, "set SLIPWAY_BACKUP_MASTER_KEY or SLIPWAY_BACKUP_MASTER_KEY_FILE to "
                           "the base64 of 32 bytes");
        return -1;
    }
    return 0;
}

/* nonce || box of plain[len] as base64 into out[cap]; cap must hold it. */
static void seal(const unsigned char master[SW_BKKEY_BYTES], const unsigned char *plain,
                 size_t len, char *out, size_t cap)
{
    size_t n = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
    unsigned char *box = sw_malloc(n);
    randombytes_buf(box, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, plain, len, box, master);
    sodium_bin2base64(out, cap, box, n, sodium_base64_VARIANT_ORIGINAL);
    free(box);
}

static size_t wrapped_size(size_t len)
{
    return sodium_base64_ENCODED_LEN(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len,
                                     sodium_base64_VARIANT_ORIGINAL);
}

int sw_bkkey_wrap(const unsigned char master[SW_BKKEY_BYTES], const unsigned char *plain,
                  size_t len, char out[SW_BKKEY_WRAPPED_MAX], struct sw_err *err)
{
    _Static_assert(sodium_base64_ENCODED_LEN(crypto_secretbox_NONCEBYTES +
                                                 crypto_secretbox_MACBYTES + SW_BKKEY_PLAIN_MAX,
                                             sodium_base64_VARIANT_ORIGINAL) <=
                       SW_BKKEY_WRAPPED_MAX,
                   "a wrapped backup secret fits its buffer");
    if (len > SW_BKKEY_PLAIN_MAX) {
        SW_ERR(err, SW_EINVALID, "a backup secret is longer than %d bytes", SW_BKKEY_PLAIN_MAX);
        return -1;
    }
    seal(master, plain, len, out, SW_BKKEY_WRAPPED_MAX);
    return 0;
}

char *sw_bkkey_wrap_new(const char *plain, size_t len, struct sw_err *err)
{
    unsigned char master[SW_BKKEY_BYTES];
    if (sw_bkkey_master(master, err) < 0)
        return NULL;
    size_t cap = wrapped_size(len);
    char *out = sw_malloc(cap);
    seal(master, (const unsigned char *)plain, len, out, cap);
    sodium_memzero(master, sizeof master);
    return out;
}

int sw_bkkey_unwrap(const unsigned char master[SW_BKKEY_BYTES], const char *wrapped,
                    unsigned char *out, size_t cap, size_t *len, struct sw_err *err)
{
    size_t n = 0, text = strlen(wrapped);
    const size_t over = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
    unsigned char *box = sw_malloc(text / 4 * 3 + 3);
    int rc = sodium_base642bin(box, text / 4 * 3 + 3, wrapped, text, NULL, &n, NULL,
                               sodium_base64_VARIANT_ORIGINAL) != 0 ||
                     n < over || n - over > cap ||
                     crypto_secretbox_open_easy(out, box + crypto_secretbox_NONCEBYTES,
                                                n - crypto_secretbox_NONCEBYTES, box, master) != 0
                 ? -1
                 : 0;
    free(box);
    if (rc < 0) {
        SW_ERR(err, SW_EINTERNAL, "a stored secret does not open with the master key");
        return -1;
    }
    *len = n - over;
    return 0;
}

char *sw_bkkey_unwrap_new(const char *wrapped, size_t max, struct sw_err *err)
{
    unsigned char master[SW_BKKEY_BYTES];
    if (sw_bkkey_master(master, err) < 0)
        return NULL;
    unsigned char *out = sw_malloc(max + 1);
    size_t len = 0;
    int rc = sw_bkkey_unwrap(master, wrapped, out, max, &len, err);
    sodium_memzero(master, sizeof master);
    if (rc < 0) {
        sodium_memzero(out, max + 1);
        free(out);
        return NULL;
    }
    out[len] = '\0';
    return (char *)out;
}
