/* hooksig.c - fuzz target: core/hooksig.c, the webhook-signature parser of
 * POST /v1/hooks/payments (Standard Webhooks). Input: the secret, the three
 * webhook-* header values and the body, separated by NUL bytes (missing
 * parts are empty). Oracles: a secret that parses signs a message its own
 * verify accepts; a hostile signature header never verifies unless it holds
 * the real signature; a refusal is SW_EINVALID or SW_EUNAUTHENTICATED. */
#include "config.h"
#include "tests/fuzz/fuzz.h"
#include "core/err.h"
#include "core/hooksig.h"

#define NOW 1700000000LL

/* The next NUL-separated part of data[*at..size) as an owned string. */
static char *part(const uint8_t *data, size_t size, size_t *at)
{
    size_t from = *at;
    while (*at < size && data[*at])
        (*at)++;
    char *s = sw_fuzz_str(data + from, *at - from);
    if (*at < size)
        (*at)++;
    return s;
}

/* What Standard Webhooks ids may hold here: 1 to 256 visible ASCII characters. */
static int printable(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return 0;
    return n > 0 && n <= 256;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t at = 0;
    char *secret = part(data, size, &at), *id = part(data, size, &at),
         *ts = part(data, size, &at), *sigs = part(data, size, &at);
    const char *body = (const char *)data + at;
    size_t body_len = size - at;

    unsigned char key[SW_HOOKSIG_KEY_MAX];
    size_t key_len = 0;
    struct sw_err err = {0};
    if (sw_hooksig_secret_parse(secret, key, &key_len, &err) < 0) {
        SW_FUZZ_ASSERT(err.code == SW_EINVALID);
        /* a fixed key still lets the header parser see the input */
        memset(key, 0x5a, SW_HOOKSIG_KEY_BYTES);
        key_len = SW_HOOKSIG_KEY_BYTES;
    }
    SW_FUZZ_ASSERT(key_len >= SW_HOOKSIG_KEY_MIN && key_len <= SW_HOOKSIG_KEY_MAX);

    /* the hostile header as given */
    char real[SW_HOOKSIG_SIG_LEN + 1];
    sw_hooksig_sign(key, key_len, id, ts, body, body_len, real);
    int rc = sw_hooksig_verify(key, key_len, id, ts, sigs, body, body_len, NOW,
                               SW_HOOKSIG_TOLERANCE_S, &err);
    if (rc < 0)
        SW_FUZZ_ASSERT(err.code == SW_EINVALID || err.code == SW_EUNAUTHENTICATED);
    else
        SW_FUZZ_ASSERT(strstr(sigs, real + 3) != NULL); /* accepted: it carried the MAC */

    /* round trip: our own signature over a fresh timestamp verifies, and
     * one bit of the body changed does not */
    char now[24];
    snprintf(now, sizeof now, "%lld", NOW);
    if (printable(id)) {
        sw_hooksig_sign(key, key_len, id, now, body, body_len, real);
        rc = sw_hooksig_verify(key, key_len, id, now, real, body, body_len, NOW,
                               SW_HOOKSIG_TOLERANCE_S, &err);
        SW_FUZZ_ASSERT(rc == 0);
        if (body_len > 0) {
            char *b2 = malloc(body_len);
            if (!b2)
                abort();
            memcpy(b2, body, body_len);
            b2[0] ^= 1;
            SW_FUZZ_ASSERT(sw_hooksig_verify(key, key_len, id, now, real, b2, body_len, NOW,
                                             SW_HOOKSIG_TOLERANCE_S, &err) < 0);
            free(b2);
        }
    }
    free(secret);
    free(id);
    free(ts);
    free(sigs);
    return 0;
}
