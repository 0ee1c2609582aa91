#include "config.h"
#include "core/crypto.h"
#include "core/err.h"

#include <crypt.h>
#include <semaphore.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int sw_crypto_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

void sw_uuid_new(char out[SW_UUID_LEN + 1])
{
    unsigned char b[16];
    randombytes_buf(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

bool sw_uuid_valid(const char *s)
{
    if (!s || strlen(s) != SW_UUID_LEN)
        return false;
    for (int i = 0; i < SW_UUID_LEN; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

int sw_secret_key_parse(const char *hex, unsigned char key[SW_SECRET_KEY_BYTES],
                        struct sw_err *err)
{
    size_t bin_len = 0;
    if (!hex || strlen(hex) != 2 * SW_SECRET_KEY_BYTES ||
        sodium_hex2bin(key, SW_SECRET_KEY_BYTES, hex, strlen(hex), NULL, &bin_len, NULL) != 0 ||
        bin_len != SW_SECRET_KEY_BYTES) {
        SW_ERR(err, SW_EINVALID, "SLIPWAY_SECRET_KEY must be 64 hex digits");
        return -1;
    }
    return 0;
}

void sw_token_new(char out[SW_TOKEN_LEN + 1])
{
    unsigned char b[32];
    randombytes_buf(b, sizeof b);
    memcpy(out, SW_TOKEN_PREFIX, 4);
    sodium_bin2base64(out + 4, SW_TOKEN_LEN + 1 - 4, b, sizeof b,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(b, sizeof b);
}

void sw_token_hash(const unsigned char key[SW_SECRET_KEY_BYTES], const char *token,
                   char out[SW_TOKEN_HASH_HEX + 1])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)token, strlen(token), key,
                       SW_SECRET_KEY_BYTES);
    sodium_bin2hex(out, SW_TOKEN_HASH_HEX + 1, h, sizeof h);
}

bool sw_ct_streq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return false;
    return sodium_memcmp(a, b, la) == 0;
}

static unsigned long long pw_ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
static size_t pw_mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
static sem_t pw_slots;
static bool pw_limited;

void sw_password_configure(unsigned long long opslimit, size_t memlimit, unsigned concurrency)
{
    pw_ops = opslimit;
    pw_mem = memlimit;
    if (concurrency > 0 && !pw_limited) {
        sem_init(&pw_slots, 0, concurrency);
        pw_limited = true;
    }
}

static void slot_take(void)
{
    if (pw_limited)
        while (sem_wait(&pw_slots) != 0)
            ;
}

static void slot_give(void)
{
    if (pw_limited)
        sem_post(&pw_slots);
}

int sw_password_hash(const char *password, char out[SW_PASSWORD_HASH_MAX], struct sw_err *err)
{
    _Static_assert(SW_PASSWORD_HASH_MAX >= crypto_pwhash_STRBYTES, "hash buffer too small");
    slot_take();
    int rc = crypto_pwhash_str(out, password, strlen(password), pw_ops, pw_mem);
    slot_give();
    if (rc != 0) {
        SW_ERR_RETRY(err, SW_EUNAVAILABLE, "could not hash the password: out of memory");
        return -1;
    }
    return 0;
}

bool sw_password_verify(const char *hash, const char *password)
{
    slot_take();
    bool ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
    slot_give();
    return ok;
}

bool sw_password_needs_rehash(const char *hash)
{
    return crypto_pwhash_str_needs_rehash(hash, pw_ops, pw_mem) != 0;
}

void sw_guest_password_new(char out[SW_GUEST_PASSWORD_LEN + 1])
{
    static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    for (int i = 0; i < SW_GUEST_PASSWORD_LEN; i++)
        out[i] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
    out[SW_GUEST_PASSWORD_LEN] = '\0';
}

int sw_crypt_sha512(const char *password, char out[SW_CRYPT_HASH_MAX], struct sw_err *err)
{
    static const char b64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    char setting[3 + 16 + 1] = "$6$";
    for (int i = 0; i < 16; i++)
        setting[3 + i] = b64[randombytes_uniform(64)];
    setting[19] = '\0';
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (!cd)
        abort();
    const char *h = crypt_r(password, setting, cd);
    int rc = -1;
    if (!h || h[0] != '$' || strlen(h) >= SW_CRYPT_HASH_MAX) {
        SW_ERR(err, SW_EINTERNAL, "could not hash the password");
    } else {
        memcpy(out, h, strlen(h) + 1);
        rc = 0;
    }
    sodium_memzero(cd, sizeof *cd);
    free(cd);
    return rc;
}
