/* data_jobs.h - the jobs table for the panel: one job as the API shows it,
 * and queueing a new job (its row and its outbox row, in the caller's
 * transaction, so the job and its message commit together). */
#ifndef SW_PANEL_DATA_JOBS_H
#define SW_PANEL_DATA_JOBS_H

#include "core/crypto.h"
#include "panel/data.h"

struct sw_principal;

/* sw_job_json of job id when who may see its server; new reference, or
 * NULL with SW_ENOTFOUND. */
json_t *sw_data_jobs_get(struct sw_db *db, const struct sw_principal *who, const char *id,
                         struct sw_err *err);

/* Whether who may see job id (through its server): 1, 0, or -1. */
int sw_data_jobs_visible(struct sw_db *db, const struct sw_principal *who, const char *id,
                         struct sw_err *err);

/* Adds the outbox row that carries job_id (of type, on server_id) to the
 * provisioner, in the caller's transaction, and wakes the relay. 0 or -1. */
int sw_data_jobs_enqueue(struct sw_db *db, const char *job_id, const char *server_id, int type,
                         struct sw_err *err);

/* Queues a job of type (enum sw_job_type) on server_id, asked by
 * account_id, with params (a JSON object as text; NULL: none): inserts it
 * and its outbox row. Returns its sw_job_json (new reference) or NULL. */
json_t *sw_data_jobs_queue(struct sw_db *db, const char *server_id, const char *account_id,
                           int type, const char *params, struct sw_err *err);

/* Marks server_id terminating and queues its terminate job, as
 * sw_data_jobs_queue. The caller has locked the server. */
json_t *sw_data_jobs_queue_terminate(struct sw_db *db, const char *server_id,
                                     const char *account_id, struct sw_err *err);

/* The newest terminate job of server_id (sw_job_json; JSON null when it has
 * none), a new reference, or NULL on error. */
json_t *sw_data_jobs_last_terminate(struct sw_db *db, const char *server_id, struct sw_err *err);

/* Jobs per state (every state, 0 included), at most max; the number
 * read, or -1. */
int sw_data_jobs_count_by_state(struct sw_db *db, struct sw_data_count *out, int max,
                                struct sw_err *err);

/* The jobs of the servers the caller may see (sw_job_json): $1 the
 * caller, $2 one server's id (NULL: every server's). */
extern const struct sw_data_list sw_data_jobs_list;

/* Every job, for operators: $1 the caller, $2 state, $3 type, $4 server id,
 * $5 node id (each NULL: any). */
extern const struct sw_data_list sw_data_jobs_admin_list;

/* A job as a retry sees it. */
struct sw_data_job_retry {
    char state[16];
    char type[24];
    char server_state[16];
    char server_id[SW_UUID_LEN + 1];
};

/* Locks job id and its server FOR UPDATE and reads them: 1, 0 when not
 * found, -1 with err. */
int sw_data_jobs_lock_retry(struct sw_db *db, const char *id, struct sw_data_job_retry *out,
                            struct sw_err *err);

/* Puts a failed create's server (pending, no node, no error) and its failed
 * order (accepted) back to waiting for placement. 0 or -1. */
int sw_data_jobs_reset_create(struct sw_db *db, const char *server_id, struct sw_err *err);

/* Re-queues job id (of type, on server_id) as if just accepted, attempts
 * kept, with a new outbox row; its sw_admin_job_json (new reference) or
 * NULL. */
json_t *sw_data_jobs_requeue(struct sw_db *db, const char *id, const char *server_id, int type,
                             struct sw_err *err);

#endif
