/* seal.h - secrets sealed to a node: an X25519 keypair per node (made at
 * enrolment; the public key on the node row, the secret key only in the
 * engine's environment) and libsodium sealed boxes (crypto_box_seal) for
 * the secret fields of node jobs, so a reader of the node's stream learns
 * nothing. Keys and sealed values travel as standard base64 (with padding).
 */
#ifndef SW_SEAL_H
#define SW_SEAL_H

#include <stddef.h>

struct sw_err;

#define SW_SEAL_KEY_BYTES 32
/* base64 of 32 bytes: 44 characters. */
#define SW_SEAL_KEY_B64 44
/* The longest secret a node job seals (a crypt(3) hash, with its NUL). */
#define SW_SEAL_PLAIN_MAX 128
/* base64 of the longest sealed secret (128 + 48 bytes), with its NUL. */
#define SW_SEAL_B64_MAX 240

/* A new keypair, base64, each with its NUL. */
void sw_seal_keypair(char pk[SW_SEAL_KEY_B64 + 1], char sk[SW_SEAL_KEY_B64 + 1]);

/* Decodes a base64 key of exactly 32 bytes into key; -1 with err (invalid,
 * naming what, never the value) otherwise. */
int sw_seal_key_parse(const char *b64, const char *what, unsigned char key[SW_SEAL_KEY_BYTES],
                      struct sw_err *err);

/* Seals the NUL-terminated plain (shorter than SW_SEAL_PLAIN_MAX) to the
 * base64 public key pk, base64 into out[SW_SEAL_B64_MAX]. -1 with err
 * (invalid) for a bad key or a plain too long. */
int sw_seal(const char *pk, const char *plain, char out[SW_SEAL_B64_MAX], struct sw_err *err);

/* Opens the base64 sealed with the secret key sk (its public key derived
 * from it) into out[n], NUL-terminated. -1 with err (invalid, not
 * retryable) when it is not base64, was sealed to another key, was
 * tampered with, holds a NUL or does not fit; out is wiped then. The
 * caller wipes out (sodium_memzero) after use. */
int sw_seal_open(const unsigned char sk[SW_SEAL_KEY_BYTES], const char *sealed, char *out, size_t n,
                 struct sw_err *err);

#endif
