/* data_backups.h - the SQL of backups (panel/backups.c): targets, a
 * server's backups, a backup as its owner sees it. */
#ifndef SW_PANEL_DATA_BACKUPS_H
#define SW_PANEL_DATA_BACKUPS_H

#include "core/crypto.h"
#include "panel/data.h"

struct sw_principal;

extern const struct sw_data_list sw_data_backups_of_server; /* $1 server id */
extern const struct sw_data_list sw_data_backup_targets;    /* no parameters */

/* Whether who may see backup id (its server's owner scope): 1, 0, -1. */
int sw_data_backups_visible(struct sw_db *db, const struct sw_principal *who, const char *id,
                            struct sw_err *err);
/* sw_backup_json of backup id; new reference or NULL (SW_ENOTFOUND). */
json_t *sw_data_backups_get(struct sw_db *db, const char *id, struct sw_err *err);

/* A new backup of server_id (locked by the caller) on target_id (NULL:
 * the default target), kind "auto" (incremental to the server's newest
 * completed backup on that target when it has one) or "full": its row,
 * pending, with job_id. Fills out (sw_backup_json, new reference). 0, or
 * -1 with err (422 for no such active target, or none by default). */
struct sw_data_backup_new {
    const char *server_id;
    const char *account_id; /* the server's owner */
    const char *target_id;  /* NULL: the default */
    bool full;
    sw_uuid_t id;           /* out: the backup's id */
};
int sw_data_backups_insert(struct sw_db *db, struct sw_data_backup_new *b, struct sw_err *err);
/* The server of completed backup id into server_id[37]; -1 with err
 * (SW_EUNPROCESSABLE) when the backup is not completed. */
int sw_data_backups_server_of(struct sw_db *db, const char *id, char server_id[37],
                              struct sw_err *err);
/* Sets the backup's job. */
int sw_data_backups_set_job(struct sw_db *db, const char *id, const char *job_id,
                            struct sw_err *err);

/* The server's owner and whether its node can back up a running guest
 * (not libvirt's test driver): 1 yes, 0 no, -1 err. owner[37] filled. */
int sw_data_backups_server_node(struct sw_db *db, const char *server_id, char owner[37],
                                struct sw_err *err);

/* Does the plan a plan's policy route names exist? 1 yes, 0 no, -1 with err. */
int sw_data_backup_plan_exists(struct sw_db *db, const char *plan_id, struct sw_err *err);

/* Policies: col "server_id" or "plan_id", id its value; body a checked
 * object of policy fields (absent ones keep their value or default).
 * Upsert; new reference (sw_backup_policy_json) or NULL with err (400 for
 * a value out of range, 422 for an unknown target). */
json_t *sw_data_backup_policy_put(struct sw_db *db, const char *col, const char *id,
                                  const json_t *body, struct sw_err *err);
/* The policy (deleted with del); SW_ENOTFOUND when there is none. */
json_t *sw_data_backup_policy_get(struct sw_db *db, const char *col, const char *id, bool del,
                                  struct sw_err *err);
extern const struct sw_data_list sw_data_backups_all;   /* operators: every backup */
extern const struct sw_data_list sw_data_backups_stale; /* servers without a recent backup */

/* Targets (operators). */
struct sw_data_target {
    const char *name, *kind, *config; /* config: a JSON object as text */
    const char *secret_wrapped;       /* NULL: none */
    bool on_node_ok, is_default;
};
json_t *sw_data_targets_insert(struct sw_db *db, const struct sw_data_target *t,
                               struct sw_err *err);
/* PATCH: any of state ("active"|"retired"), is_default, on_node_ok (NULL
 * / -1: keep). New reference or NULL (SW_ENOTFOUND). */
json_t *sw_data_targets_update(struct sw_db *db, const char *id, const char *state,
                               int is_default, int on_node_ok, struct sw_err *err);


/* ---- restore as a new server ---- */

/* What a restore as a new server takes from completed backup id and its
 * (maybe terminated) server, and the plan it would get: plan_id, or the
 * server's when NULL. */
struct sw_data_restore_src {
    char owner_id[37];         /* the backup's account: the new server's owner */
    char hostname[254], template_id[37], location_id[37]; /* the server's; location "" none */
    char *ssh_keys;            /* the server's, a JSON array (owned: free()) */
    char kind[16];             /* the server's plan's kind */
    int64_t bytes_logical;     /* the backup's disk */
    char plan_id[37];          /* the plan asked for (or the server's); "" no such plan */
    char plan_kind[16];
    int64_t plan_disk_gb;
};
/* Fills src; -1 with err (SW_EUNPROCESSABLE when the backup is not
 * completed, SW_ENOTFOUND when it is gone). */
int sw_data_backups_restore_source(struct sw_db *db, const char *id, const char *plan_id,
                                   struct sw_data_restore_src *src, struct sw_err *err);
/* Marks the new server restored from backup_id and names the backup in
 * its create job's params (what the provisioner loads). Returns the
 * server's sw_server_json (new reference) or NULL with err. */
json_t *sw_data_backups_mark_restore(struct sw_db *db, const char *server_id, const char *job_id,
                                     const char *backup_id, struct sw_err *err);

#endif
