/* data_suspensions.h - an operator's suspension of an account and what it
 * holds (suspension_holds, 0005; admin_accounts.c has the rules). Only
 * holds of reason 'account' are touched here; billing keeps its own. */
#ifndef SW_PANEL_DATA_SUSPENSIONS_H
#define SW_PANEL_DATA_SUSPENSIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/crypto.h"
#include "panel/data.h"

/* A server of the account's subtree that a suspend may act on. */
struct sw_data_susp_server {
    char id[SW_UUID_LEN + 1];
    char state[24];
    bool suspend_pending; /* a suspend job is queued or running */
};

/* Locks and lists the servers of account_id and its customers that are
 * pending, provisioning, running or stopped, oldest first. Returns an
 * owned array of *n (free(); NULL with *n 0 when none), or NULL with err
 * and *n (size_t)-1. */
struct sw_data_susp_server *sw_data_suspensions_servers(struct sw_db *db, const char *account_id,
                                                        size_t *n, struct sw_err *err);

/* A server held by account_id's suspension. */
struct sw_data_susp_hold {
    char server_id[SW_UUID_LEN + 1];
    char state[24];     /* the server's now */
    char job_state[16]; /* the suspend job's */
    char owner_id[SW_UUID_LEN + 1];
    char owner_state[16];
    char prev_state[24]; /* what to go back to */
};

/* Locks and lists account_id's holds, oldest first; as
 * sw_data_suspensions_servers. */
struct sw_data_susp_hold *sw_data_suspensions_holds(struct sw_db *db, const char *account_id,
                                                    size_t *n, struct sw_err *err);

/* A job a suspension starts on a server. */
struct sw_data_susp_job {
    const char *server_id;
    const char *actor_id;   /* the operator asking */
    const char *account_id; /* the account suspended or unsuspended */
    int type;               /* SW_JOB_SUSPEND or SW_JOB_UNSUSPEND */
    const char *prev_state; /* a suspend: the hold's state to restore; NULL: no hold */
    const char *new_state;  /* the server's state from this commit */
};

/* Sets the server's state, queues the job with its outbox row and, with
 * prev_state, records (or renews) the hold. Returns the job's sw_job_json
 * (new reference) and its id in job_id, or NULL. */
json_t *sw_data_suspensions_add_job(struct sw_db *db, const struct sw_data_susp_job *j,
                                    char job_id[SW_UUID_LEN + 1], struct sw_err *err);

/* Passes account_id's hold on server_id to owner_id (a suspended customer
 * of a reseller being unsuspended). 0 or -1. */
int sw_data_suspensions_pass_hold(struct sw_db *db, const char *account_id, const char *server_id,
                                  const char *owner_id, struct sw_err *err);

/* Puts server_id back to stopped (no job: nothing changed on the node). */
int sw_data_suspensions_restore_stopped(struct sw_db *db, const char *server_id,
                                        struct sw_err *err);

/* Drops all of account_id's holds. 0 or -1. */
int sw_data_suspensions_release(struct sw_db *db, const char *account_id, struct sw_err *err);

#endif
