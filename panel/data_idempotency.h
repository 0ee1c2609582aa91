/* data_idempotency.h - the idempotency_keys rows behind Idempotency-Key
 * (idempotency.c has the protocol). Keys are per account. */
#ifndef SW_PANEL_DATA_IDEMPOTENCY_H
#define SW_PANEL_DATA_IDEMPOTENCY_H

#include <stdbool.h>

#include "panel/data.h"

/* Claims key for account_id as 'running' when nobody holds it: 1 claimed,
 * 0 taken, -1 with err. */
int sw_data_idempotency_claim(struct sw_db *db, const char *account_id, const char *key,
                              const char *method, const char *path, const char *body_hash,
                              struct sw_err *err);

/* A taken key as the retry reads it. */
struct sw_data_idem {
    char body_hash[65];
    char state[16];  /* "running" or "done" */
    int status;      /* the first answer's, when done */
    char *response;  /* owned (free()); NULL when none */
    bool taken_over; /* a stale 'running' row was taken over by this read */
};

/* Reads key, taking over a 'running' row of the same body_hash idle over
 * 10 minutes in the same statement (so two retries cannot both take it):
 * 1 read, 0 gone meanwhile, -1 with err. */
int sw_data_idempotency_read(struct sw_db *db, const char *account_id, const char *key,
                             const char *body_hash, struct sw_data_idem *out, struct sw_err *err);

/* Records the answer (status, the body as JSON text or NULL) and marks the
 * key done. 0 or -1. */
int sw_data_idempotency_finish(struct sw_db *db, const char *account_id, const char *key,
                               const char *status, const char *response, struct sw_err *err);

/* Frees key so a retry can run again; errors are ignored. */
void sw_data_idempotency_release(struct sw_db *db, const char *account_id, const char *key);

#endif
