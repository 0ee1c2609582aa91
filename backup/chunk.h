/* chunk.h - one backup chunk: keys, content id, sealing and opening.
 *
 * A disk is cut into fixed SW_BK_CHUNK_SIZE chunks at disk offsets (the last
 * may be shorter). A chunk's id is a keyed BLAKE2b-256 of its plaintext under
 * the account's id key, so equal chunks of one account share an id and two
 * accounts' ids neither collide nor reveal equality. A sealed chunk is
 * "swc1" + a secretstream header + the zstd frame (level 1) encrypted with
 * crypto_secretstream_xchacha20poly1305 under the account's data key, with
 * the chunk's id as additional data (a chunk cannot be swapped for another).
 * Both keys come from the account's 32-byte backup key through crypto_kdf.
 */
#ifndef SW_BK_CHUNK_H
#define SW_BK_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sw_err;

#define SW_BK_CHUNK_SIZE 4194304u
#define SW_BK_KEY_BYTES 32
#define SW_BK_ID_BYTES 32
#define SW_BK_ID_HEX (2 * SW_BK_ID_BYTES)
#define SW_BK_KEYCHECK_BYTES 16

/* The keys derived from one account's backup key; wipe with
 * sw_bk_keys_release(). */
struct sw_bk_keys {
    unsigned char id_key[SW_BK_KEY_BYTES];
    unsigned char data_key[SW_BK_KEY_BYTES];
    /* A keyed hash of a constant: tells a wrong key from a damaged object. */
    unsigned char check[SW_BK_KEYCHECK_BYTES];
};

/* Derives keys from an account's backup key (32 random bytes the caller
 * generated and keeps); the caller wipes its own copy. */
void sw_bk_keys_init(struct sw_bk_keys *keys, const unsigned char key[SW_BK_KEY_BYTES]);
void sw_bk_keys_release(struct sw_bk_keys *keys);

/* True when all len bytes of data are zero. */
bool sw_bk_is_zero(const unsigned char *data, size_t len);

/* The chunk's id: keyed BLAKE2b-256 of data under keys->id_key. */
void sw_bk_chunk_id(const struct sw_bk_keys *keys, const unsigned char *data, size_t len,
                    unsigned char id[SW_BK_ID_BYTES]);
void sw_bk_id_hex(const unsigned char id[SW_BK_ID_BYTES], char hex[SW_BK_ID_HEX + 1]);
/* Parses 64 lower-case hex digits; -1 otherwise. */
int sw_bk_id_parse(const char *hex, unsigned char id[SW_BK_ID_BYTES]);

/* A sealer's reusable state: the zstd context and two chunk-sized
 * buffers, so sealing chunk after chunk allocates (and faults in) nothing
 * new. Release with sw_bk_sealer_release(). */
struct sw_bk_sealer {
    void *cctx; /* ZSTD_CCtx */
    unsigned char *z, *out;
};
void sw_bk_sealer_init(struct sw_bk_sealer *s);
void sw_bk_sealer_release(struct sw_bk_sealer *s);

/* Compresses and encrypts data (len <= SW_BK_CHUNK_SIZE) bound to id.
 * Returns *out_len bytes borrowed from s (valid until its next seal), or
 * NULL with err. */
const unsigned char *sw_bk_chunk_seal(struct sw_bk_sealer *s, const struct sw_bk_keys *keys,
                                      const unsigned char id[SW_BK_ID_BYTES],
                                      const unsigned char *data, size_t len, size_t *out_len,
                                      struct sw_err *err);

/* Decrypts and decompresses a sealed chunk into out (len bytes expected),
 * then checks that its id is id. -1 (err: internal, "failed its checksum")
 * when anything does not match. */
int sw_bk_chunk_open(const struct sw_bk_keys *keys, const unsigned char id[SW_BK_ID_BYTES],
                     const unsigned char *blob, size_t blob_len, unsigned char *out, size_t len,
                     struct sw_err *err);

/* Seals a small object (a manifest) with the data key: "swm1" + key check
 * + header + ciphertext, the ad being `ad`. Owned result, free(). */
unsigned char *sw_bk_object_seal(const struct sw_bk_keys *keys, const char *ad,
                                 const unsigned char *data, size_t len, size_t *out_len);
/* Opens it: -1 with err unauthenticated when the key is not the one it was
 * sealed with, internal when it is damaged. Owned result (NUL-terminated). */
unsigned char *sw_bk_object_open(const struct sw_bk_keys *keys, const char *ad,
                                 const unsigned char *blob, size_t blob_len, size_t *out_len,
                                 struct sw_err *err);

#endif
