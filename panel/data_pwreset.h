/* data_pwreset.h - password reset links (migration 0045): a token's keyed
 * hash, single-use and expiring, for pwreset.c. */
#ifndef SW_PANEL_DATA_PWRESET_H
#define SW_PANEL_DATA_PWRESET_H

#include "core/crypto.h"
#include "panel/data.h"

/* Records a link for account id valid ttl_s seconds. 0 or -1. */
int sw_data_pwreset_insert(struct sw_db *db, const char *id, const char *hash, long ttl_s,
                           struct sw_err *err);

/* Uses the live, unused link whose hash is hash, of an active account:
 * 1 with its account in account, 0 when none such, -1. */
int sw_data_pwreset_take(struct sw_db *db, const char *hash, char account[SW_UUID_LEN + 1],
                         struct sw_err *err);

/* Ends every other unused link of account id. 0 or -1. */
int sw_data_pwreset_end_all(struct sw_db *db, const char *id, struct sw_err *err);

#endif
