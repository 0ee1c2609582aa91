/* crypto.h - ids, API tokens and passwords, over libsodium.
 *
 * Tokens: "swt_" + 43 base64url characters (32 random bytes). Stored only as
 * a keyed BLAKE2b hash (crypto_generichash with the server secret), hex.
 * Passwords: crypto_pwhash_str (argon2id).
 */
#ifndef SW_CRYPTO_H
#define SW_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

struct sw_err;

#define SW_UUID_LEN 36
#define SW_TOKEN_PREFIX "swt_"
#define SW_TOKEN_LEN (4 + 43)
#define SW_TOKEN_HASH_HEX 64
#define SW_SECRET_KEY_BYTES 32
#define SW_PASSWORD_HASH_MAX 128

/* A UUID in text form with its NUL. */
typedef char sw_uuid_t[SW_UUID_LEN + 1];

/* Must be called once before anything else here; -1 if libsodium fails. */
int sw_crypto_init(void);

/* Writes a random (v4) UUID and a NUL into out[37]. */
void sw_uuid_new(char out[SW_UUID_LEN + 1]);
/* True for a canonical lower- or upper-case 8-4-4-4-12 hex UUID. */
bool sw_uuid_valid(const char *s);

/* Parses 64 hex digits into key; -1 with err otherwise. */
int sw_secret_key_parse(const char *hex, unsigned char key[SW_SECRET_KEY_BYTES],
                        struct sw_err *err);

/* Writes a new random token and a NUL into out[SW_TOKEN_LEN + 1]. */
void sw_token_new(char out[SW_TOKEN_LEN + 1]);
/* Keyed hash of a token, hex, into out[SW_TOKEN_HASH_HEX + 1]. */
void sw_token_hash(const unsigned char key[SW_SECRET_KEY_BYTES], const char *token,
                   char out[SW_TOKEN_HASH_HEX + 1]);
/* Constant-time comparison of two equal-length strings; false if lengths differ. */
bool sw_ct_streq(const char *a, const char *b);

/* Sets the argon2id cost (opslimit, memlimit in bytes) and how many hashes
 * may run at once; callers beyond that wait their turn (a queue, not a
 * pile-up of 128 MiB allocations). Defaults: libsodium's INTERACTIVE, no
 * limit. Call before any thread hashes. */
void sw_password_configure(unsigned long long opslimit, size_t memlimit, unsigned concurrency);

/* argon2id string into out; -1 with err (out of memory) on failure. */
int sw_password_hash(const char *password, char out[SW_PASSWORD_HASH_MAX], struct sw_err *err);
bool sw_password_verify(const char *hash, const char *password);
/* True when hash was made with other parameters than the configured ones. */
bool sw_password_needs_rehash(const char *hash);

/* A guest's new root password: SW_GUEST_PASSWORD_LEN characters from an
 * alphabet without look-alikes (about 119 bits). */
#define SW_GUEST_PASSWORD_LEN 20
void sw_guest_password_new(char out[SW_GUEST_PASSWORD_LEN + 1]);

/* SHA-512 crypt(3) ("$6$<16 salt chars>$...") of password, for a guest's
 * /etc/shadow through its agent (VIR_DOMAIN_PASSWORD_ENCRYPTED). -1 with
 * err when libcrypt fails. */
#define SW_CRYPT_HASH_MAX 128
int sw_crypt_sha512(const char *password, char out[SW_CRYPT_HASH_MAX], struct sw_err *err);

#endif
