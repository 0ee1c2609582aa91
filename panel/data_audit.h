/* data_audit.h - the audit log: one row per write the panel answered
 * (router.c), and the operator's view of it. */
#ifndef SW_PANEL_DATA_AUDIT_H
#define SW_PANEL_DATA_AUDIT_H

#include "panel/data.h"

/* The log, for operators: $1 the caller, $2 actor id, $3 object id, $4 an
 * action prefix, $5 since, $6 until (timestamps), $7 result (each NULL:
 * any). */
extern const struct sw_data_list sw_data_audit_list;

/* One audit row; NULL fields are SQL NULL. */
struct sw_data_audit {
    const char *actor_id, *token_id;
    const char *action; /* "METHOD /pattern" */
    const char *object_id;
    const char *status; /* the HTTP status, as text */
    const char *result; /* "ok" or the API error code */
    const char *remote, *idempotency_key;
};

/* Writes one row. 0 or -1. */
int sw_data_audit_insert(struct sw_db *db, const struct sw_data_audit *a, struct sw_err *err);

/* Whether since and until (either NULL) are timestamps PostgreSQL reads:
 * 0 yes, -1 with err (SW_EINVALID when one is not). */
int sw_data_audit_check_times(struct sw_db *db, const char *since, const char *until,
                              struct sw_err *err);

#endif
