/* bkkey.c - backup secrets wrapped with the control plane's master key. */
#include "config.h"
#include "core/bkkey.h"
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
        SW_ERR(err, SW_EUNAVAILABLE, "backups need the control plane's master key");
        sw_err_detail(err, "set SLIPWAY_BACKUP_MASTER_KEY or SLIPWAY_BACKUP_MASTER_KEY_FILE to "
                           "the base64 of 32 bytes");
        return -1;
    }
    return 0;
}

int sw_bkkey_wrap(const unsigned char master[SW_BKKEY_BYTES], const unsigned char *plain,
                  size_t len, char out[SW_BKKEY_WRAPPED_MAX], struct sw_err *err)
{
    unsigned char box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                      SW_BKKEY_PLAIN_MAX];
    if (len > SW_BKKEY_PLAIN_MAX) {
        SW_ERR(err, SW_EINVALID, "a backup secret is longer than %d bytes", SW_BKKEY_PLAIN_MAX);
        return -1;
    }
    randombytes_buf(box, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, plain, len, box, master);
    size_t n = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
    sodium_bin2base64(out, SW_BKKEY_WRAPPED_MAX, box, n, sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

int sw_bkkey_unwrap(const unsigned char master[SW_BKKEY_BYTES], const char *wrapped,
                    unsigned char *out, size_t cap, size_t *len, struct sw_err *err)
{
    unsigned char box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                      SW_BKKEY_PLAIN_MAX];
    size_t n = 0;
    const size_t over = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
    if (sodium_base642bin(box, sizeof box, wrapped, strlen(wrapped), NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        n < over || n - over > cap ||
        crypto_secretbox_open_easy(out, box + crypto_secretbox_NONCEBYTES,
                                   n - crypto_secretbox_NONCEBYTES, box, master) != 0) {
        SW_ERR(err, SW_EINTERNAL, "a stored backup secret does not open with the master key");
        return -1;
    }
    *len = n - over;
    return 0;
}
