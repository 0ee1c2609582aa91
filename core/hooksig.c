#include "config.h"
#include "core/hooksig.h"
#include "core/err.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define MAC_BYTES crypto_auth_hmacsha256_BYTES
#define ID_MAX 256
#define SIGS_MAX 16 /* signatures looked at in one header */

void sw_hooksig_secret_new(char out[SW_HOOKSIG_SECRET_LEN + 1])
{
    unsigned char k[SW_HOOKSIG_KEY_BYTES];
    randombytes_buf(k, sizeof k);
    memcpy(out, SW_HOOKSIG_PREFIX, 6);
    sodium_bin2base64(out + 6, SW_HOOKSIG_SECRET_LEN + 1 - 6, k, sizeof k,
                      sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(k, sizeof k);
}

int sw_hooksig_secret_parse(const char *secret, unsigned char key[SW_HOOKSIG_KEY_MAX],
                            size_t *len, struct sw_err *err)
{
    if (secret && strncmp(secret, SW_HOOKSIG_PREFIX, 6) == 0)
        secret += 6;
    const char *end = NULL;
    if (!secret || !*secret ||
        sodium_base642bin(key, SW_HOOKSIG_KEY_MAX, secret, strlen(secret), NULL, len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        *end || *len < SW_HOOKSIG_KEY_MIN) {
        SW_ERR(err, SW_EINVALID, "a webhook secret is whsec_ and the base64 of 24 to 64 bytes");
        return -1;
    }
    return 0;
}

static void mac(const unsigned char *key, size_t key_len, const char *id, const char *ts,
                const char *body, size_t body_len, unsigned char out[MAC_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)id, strlen(id));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

void sw_hooksig_sign(const unsigned char *key, size_t key_len, const char *id, const char *ts,
                     const char *body, size_t body_len, char out[SW_HOOKSIG_SIG_LEN + 1])
{
    unsigned char m[MAC_BYTES];
    mac(key, key_len, id, ts, body, body_len, m);
    memcpy(out, "v1,", 3);
    sodium_bin2base64(out + 3, SW_HOOKSIG_SIG_LEN + 1 - 3, m, sizeof m,
                      sodium_base64_VARIANT_ORIGINAL);
}

/* A webhook-id: 1 to 256 printable ASCII characters without spaces. */
static bool id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (id[i] <= ' ' || id[i] > '~')
            return false;
    return true;
}

/* Decimal Unix seconds, 1 to 12 digits. */
static bool ts_parse(const char *ts, long long *out)
{
    size_t n = ts ? strlen(ts) : 0;
    if (n == 0 || n > 12 || strspn(ts, "0123456789") != n)
        return false;
    *out = strtoll(ts, NULL, 10);
    return true;
}

int sw_hooksig_verify(const unsigned char *key, size_t key_len, const char *id, const char *ts,
                      const char *sigs, const char *body, size_t body_len, long long now,
                      long tolerance_s, struct sw_err *err)
{
    long long t;
    if (!id_valid(id)) {
        SW_ERR(err, SW_EINVALID, "webhook-id must be 1 to 256 printable characters");
        return -1;
    }
    if (!ts_parse(ts, &t)) {
        SW_ERR(err, SW_EINVALID, "webhook-timestamp must be Unix seconds");
        return -1;
    }
    if (!sigs || !*sigs) {
        SW_ERR(err, SW_EINVALID, "webhook-signature is missing");
        return -1;
    }
    if (t < now - tolerance_s) {
        SW_ERR(err, SW_EINVALID, "webhook-timestamp is too old");
        return -1;
    }
    if (t > now + tolerance_s) {
        SW_ERR(err, SW_EINVALID, "webhook-timestamp is in the future");
        return -1;
    }
    unsigned char want[MAC_BYTES];
    mac(key, key_len, id, ts, body, body_len, want);
    bool ok = false;
    const char *p = sigs;
    for (int seen = 0; *p && seen < SIGS_MAX; seen++) {
        p += strspn(p, " ");
        size_t n = strcspn(p, " ");
        if (n == 0)
            break;
        unsigned char got[MAC_BYTES + 1];
        size_t got_len = 0;
        const char *end = NULL;
        if (n > 3 && memcmp(p, "v1,", 3) == 0 &&
            sodium_base642bin(got, sizeof got, p + 3, n - 3, NULL, &got_len, &end,
                              sodium_base64_VARIANT_ORIGINAL) == 0 &&
            end == p + n && got_len == MAC_BYTES && sodium_memcmp(got, want, MAC_BYTES) == 0)
            ok = true; /* keep going: the time taken does not tell which one matched */
        p += n;
    }
    sodium_memzero(want, sizeof want);
    if (!ok) {
        SW_ERR(err, SW_EUNAUTHENTICATED, "no webhook-signature matches the message");
        return -1;
    }
    return 0;
}
