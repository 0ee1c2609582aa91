/* hooksig.h - Standard Webhooks signatures (billing hooks, API.md).
 *
 * A message is signed with HMAC-SHA256 over "<id>.<timestamp>.<body>" using
 * the secret's key bytes; the header is "v1,<standard base64 of the MAC>".
 * A secret is written "whsec_<standard base64 of the key>" and shown once.
 * A webhook-signature header may carry several space-separated signatures
 * (key rotation); a message verifies when any v1 one matches. Comparison is
 * in constant time. Pure functions over libsodium: no I/O, no clock (the
 * caller passes "now").
 */
#ifndef SW_HOOKSIG_H
#define SW_HOOKSIG_H

#include <stdbool.h>
#include <stddef.h>

struct sw_err;

#define SW_HOOKSIG_PREFIX "whsec_"
#define SW_HOOKSIG_KEY_BYTES 32     /* keys this side makes */
#define SW_HOOKSIG_KEY_MAX 64       /* keys it accepts (24 to 64 bytes) */
#define SW_HOOKSIG_KEY_MIN 24
/* "whsec_" + base64 of 32 bytes (44 characters). */
#define SW_HOOKSIG_SECRET_LEN (6 + 44)
/* "v1," + base64 of 32 bytes. */
#define SW_HOOKSIG_SIG_LEN (3 + 44)
/* How far a webhook-timestamp may be from now, either way, seconds. */
#define SW_HOOKSIG_TOLERANCE_S 300

/* Writes a new random secret and a NUL into out[SW_HOOKSIG_SECRET_LEN + 1]. */
void sw_hooksig_secret_new(char out[SW_HOOKSIG_SECRET_LEN + 1]);

/* Decodes a secret ("whsec_<base64>", or the bare base64) into key[],
 * setting *len. -1 with SW_EINVALID when it is not base64 of 24 to 64
 * bytes. The caller wipes key (sodium_memzero) when done. */
int sw_hooksig_secret_parse(const char *secret, unsigned char key[SW_HOOKSIG_KEY_MAX],
                            size_t *len, struct sw_err *err);

/* Signs: writes "v1,<base64>" and a NUL into out[SW_HOOKSIG_SIG_LEN + 1].
 * ts is the webhook-timestamp text (decimal Unix seconds). */
void sw_hooksig_sign(const unsigned char *key, size_t key_len, const char *id, const char *ts,
                     const char *body, size_t body_len, char out[SW_HOOKSIG_SIG_LEN + 1]);

/* Checks the three webhook-* header values and the body against key:
 *   - id, ts or sigs missing or malformed: SW_EINVALID;
 *   - ts further than tolerance_s from now (older or newer): SW_EINVALID
 *     ("webhook-timestamp is too old" / "... in the future");
 *   - no v1 signature in sigs matches: SW_EUNAUTHENTICATED.
 * Returns 0 when the message is authentic and fresh, -1 with err. */
int sw_hooksig_verify(const unsigned char *key, size_t key_len, const char *id, const char *ts,
                      const char *sigs, const char *body, size_t body_len, long long now,
                      long tolerance_s, struct sw_err *err);

#endif
