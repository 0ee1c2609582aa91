#include "config.h"
#include "core/seal.h"
#include "core/err.h"

#include <sodium.h>
#include <string.h>

#define B64 sodium_base64_VARIANT_ORIGINAL

void sw_seal_keypair(char pk[SW_SEAL_KEY_B64 + 1], char sk[SW_SEAL_KEY_B64 + 1])
{
    unsigned char p[crypto_box_PUBLICKEYBYTES], s[crypto_box_SECRETKEYBYTES];
    crypto_box_keypair(p, s);
    sodium_bin2base64(pk, SW_SEAL_KEY_B64 + 1, p, sizeof p, B64);
    sodium_bin2base64(sk, SW_SEAL_KEY_B64 + 1, s, sizeof s, B64);
    sodium_memzero(s, sizeof s);
}

int sw_seal_key_parse(const char *b64, const char *what, unsigned char key[SW_SEAL_KEY_BYTES],
                      struct sw_err *err)
{
    size_t len = 0;
    if (!b64 || strlen(b64) != SW_SEAL_KEY_B64 ||
        sodium_base642bin(key, SW_SEAL_KEY_BYTES, b64, SW_SEAL_KEY_B64, NULL, &len, NULL, B64) !=
            0 ||
        len != SW_SEAL_KEY_BYTES) {
        sodium_memzero(key, SW_SEAL_KEY_BYTES);
        SW_ERR(err, SW_EINVALID, "%s must be 32 bytes in base64 (44 characters)", what);
        return -1;
    }
    return 0;
}

int sw_seal(const char *pk, const char *plain, char out[SW_SEAL_B64_MAX], struct sw_err *err)
{
    unsigned char key[SW_SEAL_KEY_BYTES];
    unsigned char box[SW_SEAL_PLAIN_MAX + crypto_box_SEALBYTES];
    size_t len = strlen(plain);
    if (len >= SW_SEAL_PLAIN_MAX) {
        SW_ERR(err, SW_EINVALID, "the secret is too long to seal");
        return -1;
    }
    if (sw_seal_key_parse(pk, "the node's public key", key, err) < 0)
        return -1;
    crypto_box_seal(box, (const unsigned char *)plain, len, key);
    sodium_bin2base64(out, SW_SEAL_B64_MAX, box, len + crypto_box_SEALBYTES, B64);
    return 0;
}

static int open_box(const unsigned char sk[SW_SEAL_KEY_BYTES], const unsigned char *box,
                    size_t len, char *out, size_t n)
{
    unsigned char pk[crypto_box_PUBLICKEYBYTES];
    crypto_scalarmult_base(pk, sk);
    if (len < crypto_box_SEALBYTES || len - crypto_box_SEALBYTES >= n ||
        crypto_box_seal_open((unsigned char *)out, box, len, pk, sk) != 0)
        return -1;
    size_t plain = len - crypto_box_SEALBYTES;
    out[plain] = '\0';
    return memchr(out, '\0', plain) ? -1 : 0;
}

int sw_seal_open(const unsigned char sk[SW_SEAL_KEY_BYTES], const char *sealed, char *out, size_t n,
                 struct sw_err *err)
{
    unsigned char box[SW_SEAL_B64_MAX];
    size_t len = 0;
    if (sodium_base642bin(box, sizeof box, sealed, strlen(sealed), NULL, &len, NULL, B64) != 0 ||
        open_box(sk, box, len, out, n) < 0) {
        sodium_memzero(out, n);
        SW_ERR(err, SW_EINVALID,
               "could not open the job's sealed secret: it was sealed to another key or altered");
        return -1;
    }
    return 0;
}
