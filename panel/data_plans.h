/* data_plans.h - the SQL of the operator's plan routes (admin_catalog.c).
 * Functions return 0 (or an owned JSON answer, json_decref()) or -1 (NULL)
 * with err set; a plan that does not exist is SW_ENOTFOUND "plan not
 * found". */
#ifndef SW_PANEL_DATA_PLANS_H
#define SW_PANEL_DATA_PLANS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/msg.h"

struct sw_db;
struct sw_err;

/* A plan's columns, as the plan routes write them. Money in minor units of
 * currency. */
struct sw_plan_row {
    char name[256];
    char kind[16]; /* container, pv or hvm */
    int64_t vcpus, ram_mb, burst_ram_mb, swap_mb, disk_gb, bandwidth_gb;
    int64_t price_hourly, price_monthly, price_bandwidth_gb;
    int64_t price_disk_gb_month; /* 0022_disk_metering; 0: disk used is not billed */
    char currency[8]; /* ISO 4217 */
    char state[16];   /* active or retired */
    struct sw_msg_limits limits; /* 0021_plan_limits; 0 each: none */
};

/* Reads plan id into *row and locks it (FOR UPDATE) until the transaction
 * ends. */
int sw_data_plans_lock(struct sw_db *db, const char *id, struct sw_plan_row *row,
                       struct sw_err *err);

/* How many servers ever used plan id, or are being resized to it. */
int sw_data_plans_use(struct sw_db *db, const char *id, int64_t *n, struct sw_err *err);

/* Inserts a plan; its answer (sw_plan_json), owned. A taken name is
 * SW_ECONFLICT. */
json_t *sw_data_plans_insert(struct sw_db *db, const char *id, const struct sw_plan_row *row,
                             struct sw_err *err);

/* Writes row into plan id; its answer, owned. A taken name is SW_ECONFLICT. */
json_t *sw_data_plans_update(struct sw_db *db, const char *id, const struct sw_plan_row *row,
                             struct sw_err *err);

/* Plan id's answer, the row locked (FOR UPDATE) until the transaction ends. */
json_t *sw_data_plans_lock_json(struct sw_db *db, const char *id, struct sw_err *err);

/* Deletes plan id unless something refers to it: *deleted says which. The
 * refused delete is undone at a savepoint, so the transaction goes on; a
 * lost connection is an error. */
int sw_data_plans_delete(struct sw_db *db, const char *id, bool *deleted, struct sw_err *err);

/* Retires plan id; its answer, owned. */
json_t *sw_data_plans_retire(struct sw_db *db, const char *id, struct sw_err *err);

#endif
