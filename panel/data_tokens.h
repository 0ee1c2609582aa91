/* data_tokens.h - API tokens for the panel: the lookup a bearer token
 * takes, its last_used_at refresh, revocation. Tokens are issued by core
 * (sw_token_issue, core/token.h). Only keyed hashes are ever stored or
 * looked up. */
#ifndef SW_PANEL_DATA_TOKENS_H
#define SW_PANEL_DATA_TOKENS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/crypto.h"
#include "panel/data.h"

/* A live token (not revoked, not expired) with its account. */
struct sw_data_token {
    char id[SW_UUID_LEN + 1];
    char account_id[SW_UUID_LEN + 1];
    char scope[16];                         /* "full" or "read" */
    char kind[16];                          /* the account's kind */
    char state[16];                         /* the account's state */
    char token_hash[SW_TOKEN_HASH_HEX + 1]; /* as stored, for a constant-time compare */
    bool stale;                             /* last_used_at is due for a refresh */
    char reseller_id[SW_UUID_LEN + 1];      /* the account's reseller; "" for none */
    int64_t expires_at;                     /* unix seconds, floored; 0: never */
    bool two_factor;                        /* the account has two-factor login on */
};

/* Looks up the live token whose hash is hash: 1 found, 0 not, -1 with err. */
int sw_data_tokens_lookup(struct sw_db *db, const char *hash, struct sw_data_token *out,
                          struct sw_err *err);

/* Refreshes last_used_at of token id when it is over a minute old. 0 or -1. */
int sw_data_tokens_touch(struct sw_db *db, const char *id, struct sw_err *err);
/* The same by the token's hash (for a token found in the cache); errors
 * are ignored: the refresh is a courtesy. */
void sw_data_tokens_touch_hash(struct sw_db *db, const char *hash);

struct sw_principal;

/* Whether token id is one of who's own, not revoked: 1, 0, or -1. */
int sw_data_tokens_visible(struct sw_db *db, const struct sw_principal *who, const char *id,
                           struct sw_err *err);

/* Revokes account_id's live token id: rows changed (0: none such), or -1. */
long sw_data_tokens_revoke(struct sw_db *db, const char *account_id, const char *id,
                           struct sw_err *err);

/* The same for a token of kind ("session" or "api") only. */
long sw_data_tokens_revoke_kind(struct sw_db *db, const char *account_id, const char *id,
                                const char *kind, struct sw_err *err);

/* Revokes every live token of account_id but keep (a new password ends
 * the other sessions and tokens). 0 or -1. */
int sw_data_tokens_revoke_others(struct sw_db *db, const char *account_id, const char *keep,
                                 struct sw_err *err);

/* The caller's live API tokens (kind api; never a secret or hash): $1 the
 * caller. */
extern const struct sw_data_list sw_data_tokens_list;

/* The caller's live login sessions: $1 the caller, $2 the token asking
 * (its session is "current"). */
extern const struct sw_data_list sw_data_tokens_sessions;

#endif
