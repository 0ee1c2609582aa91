#include "config.h"
#include "core/token.h"
#include "core/db.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>
#include <sodium.h>

int sw_token_issue(struct sw_db *db, const unsigned char key[SW_SECRET_KEY_BYTES],
                   const char *account_id, const char *name, const char *kind,
                   const char *scope, long ttl_s, char token_out[SW_TOKEN_LEN + 1],
                   char id_out[SW_UUID_LEN + 1], char *expires_out, struct sw_err *err)
{
    char hash[SW_TOKEN_HASH_HEX + 1], ttl[24];
    sw_uuid_new(id_out);
    sw_token_new(token_out);
    sw_token_hash(key, token_out, hash);
    snprintf(ttl, sizeof ttl, "%ld", ttl_s);
    PGresult *res = sw_db_exec(
        db, err,
        "INSERT INTO api_tokens (id, account_id, name, token_hash, kind, scope, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6,"
        "  CASE WHEN $7::bigint > 0 THEN now() + make_interval(secs => $7::bigint) END)"
        " RETURNING coalesce(to_char(expires_at AT TIME ZONE 'UTC',"
        "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')",
        SW_PARAMS(id_out, account_id, name, hash, kind, scope, ttl));
    if (!res) {
        sodium_memzero(token_out, SW_TOKEN_LEN + 1);
        return -1;
    }
    if (expires_out)
        snprintf(expires_out, 40, "%s", sw_db_get(res, 0, 0));
    PQclear(res);
    return 0;
}
