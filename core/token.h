/* token.h - issuing API and session tokens (shared by the panel and slipwayctl).
 *
 * A token is shown once, to whoever asked for it; only its keyed hash is
 * stored (crypto.h).
 */
#ifndef SW_TOKEN_H
#define SW_TOKEN_H

#include "core/crypto.h"

struct sw_db;
struct sw_err;

/* Inserts an api_tokens row for account_id and writes the new token into
 * token_out and its id into id_out. kind is "api" or "session"; scope is
 * "full" or "read"; ttl_s <= 0 means no expiry. expires_out (if non-NULL,
 * 40 bytes) receives the RFC 3339 expiry or "". */
int sw_token_issue(struct sw_db *db, const unsigned char key[SW_SECRET_KEY_BYTES],
                   const char *account_id, const char *name, const char *kind,
                   const char *scope, long ttl_s, char token_out[SW_TOKEN_LEN + 1],
                   char id_out[SW_UUID_LEN + 1], char *expires_out, struct sw_err *err);

#endif
