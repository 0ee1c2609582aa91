/* data_twofactor.h - an account's TOTP secret, last time step and
 * recovery codes (migration 0045) for twofactor.c and the login. */
#ifndef SW_PANEL_DATA_TWOFACTOR_H
#define SW_PANEL_DATA_TWOFACTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/crypto.h"
#include "core/token.h"
#include "panel/data.h"

#define SW_TFA_RECOVERY_CODES 10

/* An account's two-factor state. */
struct sw_data_tfa {
    char email[4 * 254 + 1];
    char *wrapped; /* the wrapped secret (owned, free()), NULL when none */
    bool enabled;
};

/* Reads account id's state: 1, 0 when no such account, -1 with err (wrapped
 * is NULL or owned in every case). */
int sw_data_tfa_get(struct sw_db *db, const char *id, struct sw_data_tfa *out,
                    struct sw_err *err);

/* Stores a new pending secret for an account without two-factor: 1, 0 when
 * it has it on already, -1. */
long sw_data_tfa_set_pending(struct sw_db *db, const char *id, const char *wrapped,
                             struct sw_err *err);

/* Takes time step for account id, only when later than the last one
 * taken: 1, 0 when not (a replay), -1. */
long sw_data_tfa_take_step(struct sw_db *db, const char *id, int64_t step, struct sw_err *err);

/* Turns two-factor on with these recovery code hashes (replacing any), in
 * the caller's transaction: 1, 0 when it is on already or none pending, -1. */
long sw_data_tfa_enable(struct sw_db *db, const char *id,
                        char hashes[SW_TFA_RECOVERY_CODES][SW_TOKEN_HASH_HEX + 1],
                        struct sw_err *err);

/* Turns two-factor off: forgets the secret and the recovery codes. 0 or -1. */
int sw_data_tfa_disable(struct sw_db *db, const char *id, struct sw_err *err);

/* Uses an unused recovery code of account id by its hash: 1, 0 when none
 * such, -1. */
long sw_data_tfa_use_recovery(struct sw_db *db, const char *id, const char *hash,
                              struct sw_err *err);

#endif
