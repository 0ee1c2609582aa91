/* data_accounts.h - accounts for the panel: the caller's own account, the
 * login lookup and password rehash. */
#ifndef SW_PANEL_DATA_ACCOUNTS_H
#define SW_PANEL_DATA_ACCOUNTS_H

#include <stdbool.h>

#include "core/crypto.h"
#include "panel/data.h"

/* sw_account_json of account id; new reference, or NULL with SW_ENOTFOUND. */
json_t *sw_data_accounts_get(struct sw_db *db, const char *id, struct sw_err *err);

struct sw_principal;

/* Whether who may see account id (itself, a reseller's customers, an
 * operator: anyone): 1, 0, or -1 with err. */
int sw_data_accounts_visible(struct sw_db *db, const struct sw_principal *who, const char *id,
                             struct sw_err *err);

/* The same for a customer account. */
int sw_data_accounts_customer_visible(struct sw_db *db, const struct sw_principal *who,
                                      const char *id, struct sw_err *err);

/* The longest email a login looks up, in bytes. */
#define SW_EMAIL_MAX 254

/* An account as a login needs it. */
struct sw_data_login {
    /* lower(email) as PostgreSQL folds it, found or not (the unique index
     * is on lower(email), so every spelling it folds together is one
     * account); at most 4 bytes a character. */
    char folded[4 * SW_EMAIL_MAX + 1];
    char id[SW_UUID_LEN + 1]; /* the rest when found */
    bool has_password;
    char password_hash[SW_PASSWORD_HASH_MAX]; /* when has_password */
    char state[16];
    char email[4 * SW_EMAIL_MAX + 1]; /* as stored */
    bool two_factor; /* a login needs a second factor too */
};

/* Folds email (at most SW_EMAIL_MAX bytes) and finds its account, in one
 * round trip: 1 found, 0 not (only folded set), -1 with err. */
int sw_data_accounts_by_email(struct sw_db *db, const char *email, struct sw_data_login *out,
                              struct sw_err *err);

/* Replaces account id's password hash (a rehash at login). 0 or -1. */
int sw_data_accounts_set_password(struct sw_db *db, const char *id, const char *hash,
                                  struct sw_err *err);

/* Account id's password hash into hash: 1, 0 when it has none, -1. The
 * caller wipes hash. */
int sw_data_accounts_password(struct sw_db *db, const char *id,
                              char hash[SW_PASSWORD_HASH_MAX], struct sw_err *err);

/* Sets account id's name (NULL: unchanged); its sw_account_json (new
 * reference) or NULL. */
json_t *sw_data_accounts_set_name(struct sw_db *db, const char *id, const char *name,
                                  struct sw_err *err);

/* ---- the operator's side ---- */

/* Every account: $1 the caller, $2 kind, $3 state, $4 reseller id (each
 * NULL: any). */
extern const struct sw_data_list sw_data_accounts_admin_list;

/* Whether id is a reseller account: 1, 0, or -1 with err. */
int sw_data_accounts_is_reseller(struct sw_db *db, const char *id, struct sw_err *err);

/* A new account's fields; NULL: SQL NULL. */
struct sw_data_account_new {
    const char *id, *kind, *email, *name, *password_hash, *reseller_id;
    const char *tax_rate_bp; /* integer as text */
};

/* Inserts the account; its sw_account_json (new reference) or NULL
 * (SW_ECONFLICT for a taken email). */
json_t *sw_data_accounts_insert(struct sw_db *db, const struct sw_data_account_new *a,
                                struct sw_err *err);

/* Sets name and/or tax_rate_bp (NULL: unchanged) of account id, never an
 * operator's; its sw_account_json, or NULL (SW_ENOTFOUND). */
json_t *sw_data_accounts_update(struct sw_db *db, const char *id, const char *name,
                                const char *tax_rate_bp, struct sw_err *err);

/* Sets account id's state; its sw_account_json (new reference) or NULL. */
json_t *sw_data_accounts_set_state(struct sw_db *db, const char *id, const char *state,
                                   struct sw_err *err);

/* An account locked for a change of state, with its reseller's state. */
struct sw_data_account_lock {
    char state[16];
    char reseller_id[SW_UUID_LEN + 1]; /* "" when none */
    char reseller_state[16];           /* "" when none */
};

/* Locks account id FOR UPDATE and reads it: 1, 0 when not found, -1. */
int sw_data_accounts_lock(struct sw_db *db, const char *id, struct sw_data_account_lock *out,
                          struct sw_err *err);

#endif
