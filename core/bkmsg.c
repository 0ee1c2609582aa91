/* bkmsg.c - the backup part of node jobs and results (bkmsg.h). */
#include "config.h"
#include "core/bkmsg.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"

#include <stdio.h>
#include <string.h>

static bool is_backup_job(int type)
{
    return type == SW_JOB_BACKUP || type == SW_JOB_RESTORE;
}

/* A create may carry one: a backup restored as a new server. */
static bool may_carry(int type)
{
    return is_backup_job(type) || type == SW_JOB_CREATE;
}

void sw_bkmsg_job_encode(json_t *o, int type, const struct sw_msg_backup *b)
{
    if (!is_backup_job(type) && !(type == SW_JOB_CREATE && b->id[0]))
        return;
    json_t *target = json_loads(b->target, 0, NULL);
    json_t *m = json_pack("{s:s, s:s, s:o, s:s}", "id", b->id, "account", b->account, "target",
                          target ? target : json_object(), "key_sealed", b->key_sealed);
    if (b->parent_id[0]) {
        json_object_set_new(m, "parent_id", json_string(b->parent_id));
        json_object_set_new(m, "parent_checkpoint", json_string(b->parent_checkpoint));
    }
    if (b->secret_sealed[0])
        json_object_set_new(m, "secret_sealed", json_string(b->secret_sealed));
    if (b->restore_id[0])
        json_object_set_new(m, "restore_id", json_string(b->restore_id));
    if (b->keep_last || b->keep_daily || b->keep_weekly || b->keep_monthly)
        json_object_set_new(m, "retain",
                            json_pack("{s:I, s:I, s:I, s:I}", "keep_last", (json_int_t)b->keep_last,
                                      "keep_daily", (json_int_t)b->keep_daily, "keep_weekly",
                                      (json_int_t)b->keep_weekly, "keep_monthly",
                                      (json_int_t)b->keep_monthly));
    json_object_set_new(o, "backup", m);
}

static const struct sw_jfield job_fields[] = {
    {"id", SW_JT_STRING, true},          {"account", SW_JT_STRING, true},
    {"target", SW_JT_OBJECT, true},      {"key_sealed", SW_JT_STRING, true},
    {"parent_id", SW_JT_STRING, false},  {"parent_checkpoint", SW_JT_STRING, false},
    {"secret_sealed", SW_JT_STRING, false}, {"restore_id", SW_JT_STRING, false},
    {"retain", SW_JT_OBJECT, false},
    {NULL, 0, false},
};

static const struct sw_jfield retain_fields[] = {
    {"keep_last", SW_JT_INT, true},  {"keep_daily", SW_JT_INT, true},
    {"keep_weekly", SW_JT_INT, true}, {"keep_monthly", SW_JT_INT, true},
    {NULL, 0, false},
};

/* "retain": four counts within 0..1000. */
static int decode_retain(const json_t *m, struct sw_msg_backup *b, struct sw_err *err)
{
    const json_t *r = json_object_get(m, "retain");
    if (!r)
        return 0;
    if (sw_json_check(r, retain_fields, err) < 0)
        return -1;
    b->keep_last = sw_json_int(r, "keep_last", -1);
    b->keep_daily = sw_json_int(r, "keep_daily", -1);
    b->keep_weekly = sw_json_int(r, "keep_weekly", -1);
    b->keep_monthly = sw_json_int(r, "keep_monthly", -1);
    int64_t k[] = {b->keep_last, b->keep_daily, b->keep_weekly, b->keep_monthly};
    for (size_t i = 0; i < 4; i++)
        if (k[i] < 0 || k[i] > 1000) {
            SW_ERR(err, SW_EINVALID, "field \"backup\".\"retain\" holds counts of 0 to 1000");
            return -1;
        }
    return 0;
}

/* s into out[n] when it fits; absent is "". */
static int copy(const json_t *m, const char *key, char *out, size_t n, bool uuid,
                struct sw_err *err)
{
    const char *v = sw_json_str(m, key);
    out[0] = '\0';
    if (!v)
        return 0;
    if (strlen(v) >= n || (uuid && !sw_uuid_valid(v))) {
        SW_ERR(err, SW_EINVALID, "field \"backup\".\"%s\" is malformed", key);
        return -1;
    }
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

int sw_bkmsg_job_decode(const json_t *o, int type, struct sw_msg_backup *b, struct sw_err *err)
{
    const json_t *m = json_object_get(o, "backup");
    memset(b, 0, sizeof *b);
    if ((is_backup_job(type) && !m) || (m && !may_carry(type))) {
        SW_ERR(err, SW_EINVALID, "field \"backup\" belongs to backup, restore and create jobs, "
                                 "and the first two need it");
        return -1;
    }
    if (!m)
        return 0;
    if (!json_is_object(m) || sw_json_check(m, job_fields, err) < 0)
        return -1;
    char *target = json_dumps(json_object_get(m, "target"), JSON_COMPACT);
    size_t tn = target ? strlen(target) : 0;
    if (tn > 0 && tn < sizeof b->target)
        memcpy(b->target, target, tn + 1);
    free(target);
    if (tn == 0 || tn >= sizeof b->target) {
        SW_ERR(err, SW_EINVALID, "field \"backup\".\"target\" is too long");
        return -1;
    }
    if (copy(m, "id", b->id, sizeof b->id, true, err) < 0 ||
        copy(m, "account", b->account, sizeof b->account, true, err) < 0 ||
        copy(m, "parent_id", b->parent_id, sizeof b->parent_id, true, err) < 0 ||
        copy(m, "parent_checkpoint", b->parent_checkpoint, sizeof b->parent_checkpoint, false,
             err) < 0 ||
        copy(m, "key_sealed", b->key_sealed, sizeof b->key_sealed, false, err) < 0 ||
        copy(m, "secret_sealed", b->secret_sealed, sizeof b->secret_sealed, false, err) < 0 ||
        copy(m, "restore_id", b->restore_id, sizeof b->restore_id, true, err) < 0 ||
        decode_retain(m, b, err) < 0)
        return -1;
    if (!b->key_sealed[0] || !b->id[0] || !b->account[0]) {
        SW_ERR(err, SW_EINVALID, "field \"backup\" needs id, account and key_sealed");
        return -1;
    }
    return 0;
}

void sw_bkmsg_result_encode(json_t *o, const struct sw_msg_backup_result *r)
{
    if (!r->has)
        return;
    json_t *m =
        json_pack("{s:b, s:I, s:I, s:I, s:s}", "incremental", r->incremental, "bytes_logical",
                  (json_int_t)r->bytes_logical, "bytes_read", (json_int_t)r->bytes_read,
                  "bytes_stored", (json_int_t)r->bytes_stored, "checkpoint", r->checkpoint);
    if (r->ndeleted > 0) {
        json_t *a = json_array();
        for (int i = 0; i < r->ndeleted && i < SW_BKMSG_DELETED_MAX; i++)
            json_array_append_new(a, json_string(r->deleted[i]));
        json_object_set_new(m, "deleted", a);
    }
    json_object_set_new(o, "backup", m);
}

static const struct sw_jfield result_fields[] = {
    {"incremental", SW_JT_BOOL, true},   {"bytes_logical", SW_JT_INT, true},
    {"bytes_read", SW_JT_INT, true},     {"bytes_stored", SW_JT_INT, true},
    {"checkpoint", SW_JT_STRING, true},  {"deleted", SW_JT_ARRAY, false},
    {NULL, 0, false},
};

/* "deleted": at most SW_BKMSG_DELETED_MAX backup ids. */
static int decode_deleted(const json_t *m, struct sw_msg_backup_result *r, struct sw_err *err)
{
    const json_t *a = json_object_get(m, "deleted");
    size_t i;
    const json_t *v;
    if (json_array_size(a) > SW_BKMSG_DELETED_MAX) {
        SW_ERR(err, SW_EINVALID, "result: too many deleted backups");
        return -1;
    }
    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        if (!sw_uuid_valid(s)) {
            SW_ERR(err, SW_EINVALID, "result: a deleted backup is not a UUID");
            return -1;
        }
        memcpy(r->deleted[r->ndeleted++], s, SW_UUID_LEN + 1);
    }
    return 0;
}

int sw_bkmsg_result_decode(const json_t *o, struct sw_msg_backup_result *r, struct sw_err *err)
{
    const json_t *m = json_object_get(o, "backup");
    memset(r, 0, sizeof *r);
    if (!m)
        return 0;
    if (!json_is_object(m) || sw_json_check(m, result_fields, err) < 0 ||
        copy(m, "checkpoint", r->checkpoint, sizeof r->checkpoint, false, err) < 0 ||
        decode_deleted(m, r, err) < 0)
        return -1;
    r->has = true;
    r->incremental = sw_json_bool(m, "incremental", false);
    r->bytes_logical = sw_json_int(m, "bytes_logical", -1);
    r->bytes_read = sw_json_int(m, "bytes_read", -1);
    r->bytes_stored = sw_json_int(m, "bytes_stored", -1);
    if (r->bytes_logical < 0 || r->bytes_read < 0 || r->bytes_stored < 0) {
        SW_ERR(err, SW_EINVALID, "result: backup bytes must not be negative");
        return -1;
    }
    return 0;
}
