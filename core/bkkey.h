/* bkkey.h - secrets kept by the control plane, stored wrapped with one
 * master key (crypto_secretbox: base64 of nonce || box): the backups'
 * (issue 14: the accounts' repository keys and the targets' secrets) and
 * the nodes' fence secrets (issue 15: an IPMI password or an ssh private
 * key, up to 16 KiB). The master key lives only in the provisioner's and
 * panel's environment:
 * SLIPWAY_BACKUP_MASTER_KEY (base64 of 32 bytes) or
 * SLIPWAY_BACKUP_MASTER_KEY_FILE (a file holding that base64; scripts/up
 * makes one under ./var). Never logged; callers wipe what they unwrap.
 */
#ifndef SW_BKKEY_H
#define SW_BKKEY_H

#include <stddef.h>

struct sw_err;

#define SW_BKKEY_BYTES 32
/* base64 of a wrapped secret of at most SW_BKKEY_PLAIN_MAX bytes, with NUL */
#define SW_BKKEY_PLAIN_MAX 128
#define SW_BKKEY_WRAPPED_MAX 256

/* The master key from the environment into key. -1 with err
 * (SW_EUNAVAILABLE, naming the variables, never a value) when neither is
 * set or the key is not 32 bytes of base64. */
int sw_bkkey_master(unsigned char key[SW_BKKEY_BYTES], struct sw_err *err);

/* Wraps plain[len] (len <= SW_BKKEY_PLAIN_MAX) into out[SW_BKKEY_WRAPPED_MAX]. */
int sw_bkkey_wrap(const unsigned char master[SW_BKKEY_BYTES], const unsigned char *plain,
                  size_t len, char out[SW_BKKEY_WRAPPED_MAX], struct sw_err *err);

/* A secret of any length wrapped with the master key from the
 * environment (read, used and wiped here): returns owned base64 (free()),
 * or NULL with err (no master key). */
char *sw_bkkey_wrap_new(const char *plain, size_t len, struct sw_err *err);

/* The reverse: the secret (at most max bytes) unwrapped with the master key
 * from the environment, NUL-terminated; returns owned: the caller wipes it
 * (sodium_memzero) before free(). NULL with err (no master key, another
 * key, damaged, or longer than max). */
char *sw_bkkey_unwrap_new(const char *wrapped, size_t max, struct sw_err *err);

/* Unwraps a secret of any length into out[cap]; *len its length. -1 with
 * err (SW_EINTERNAL: wrapped with another master key, damaged, or longer
 * than cap). The caller wipes out. */
int sw_bkkey_unwrap(const unsigned char master[SW_BKKEY_BYTES], const char *wrapped,
                    unsigned char *out, size_t cap, size_t *len, struct sw_err *err);

#endif
