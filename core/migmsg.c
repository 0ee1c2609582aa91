/* migmsg.c - the migrate part of node jobs and results (migmsg.h). */
#include "config.h"
#include "core/migmsg.h"
#include "core/enums.h"
#include "core/err.h"
#include "core/json.h"

#include <stdio.h>
#include <string.h>

void sw_migmsg_job_encode(json_t *o, int type, const struct sw_msg_migrate *m)
{
    if (type != SW_JOB_MIGRATE)
        return;
    json_t *v = json_pack("{s:s, s:s, s:b, s:b, s:s, s:I}", "to_node_id", m->to_node_id,
                          "target_uri", m->target_uri, "live", m->live, "shared", m->shared,
                          "phase", m->phase, "epoch", (json_int_t)m->epoch);
    if (m->migrate_uri[0])
        json_object_set_new(v, "migrate_uri", json_string(m->migrate_uri));
    if (m->was_running)
        json_object_set_new(v, "was_running", json_true());
    if (m->bandwidth_mib > 0)
        json_object_set_new(v, "bandwidth_mib", json_integer((json_int_t)m->bandwidth_mib));
    json_object_set_new(o, "migrate", v);
}

static const struct sw_jfield job_fields[] = {
    {"to_node_id", SW_JT_STRING, true}, {"target_uri", SW_JT_STRING, true},
    {"live", SW_JT_BOOL, true},         {"shared", SW_JT_BOOL, true},
    {"phase", SW_JT_STRING, true},      {"epoch", SW_JT_INT, true},
    {"migrate_uri", SW_JT_STRING, false}, {"was_running", SW_JT_BOOL, false},
    {"bandwidth_mib", SW_JT_INT, false},
    {NULL, 0, false},
};

/* s into out[n]; absent is "". -1 when it does not fit or is empty. */
static int copy(const json_t *m, const char *key, char *out, size_t n, struct sw_err *err)
{
    const char *v = sw_json_str(m, key);
    out[0] = '\0';
    if (!v)
        return 0;
    if (!*v || strlen(v) >= n) {
        SW_ERR(err, SW_EINVALID, "field \"migrate\".\"%s\" is empty or too long", key);
        return -1;
    }
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

static int check_job(struct sw_msg_migrate *m, struct sw_err *err)
{
    if (!sw_uuid_valid(m->to_node_id) || !m->target_uri[0]) {
        SW_ERR(err, SW_EINVALID, "field \"migrate\" needs a to_node_id and a target_uri");
        return -1;
    }
    if (strcmp(m->phase, SW_MIGMSG_SOURCE) != 0 && strcmp(m->phase, SW_MIGMSG_TARGET) != 0) {
        SW_ERR(err, SW_EINVALID, "field \"migrate\".\"phase\" is source or target");
        return -1;
    }
    if (m->epoch < 1 || m->bandwidth_mib < 0) {
        SW_ERR(err, SW_EINVALID, "field \"migrate\": epoch >= 1, bandwidth_mib >= 0");
        return -1;
    }
    return 0;
}

int sw_migmsg_job_decode(const json_t *o, int type, struct sw_msg_migrate *m, struct sw_err *err)
{
    const json_t *v = json_object_get(o, "migrate");
    memset(m, 0, sizeof *m);
    if ((type == SW_JOB_MIGRATE) != (v != NULL)) {
        SW_ERR(err, SW_EINVALID, "field \"migrate\" belongs to migrate jobs, and they need it");
        return -1;
    }
    if (!v)
        return 0;
    if (!json_is_object(v) || sw_json_check(v, job_fields, err) < 0 ||
        copy(v, "to_node_id", m->to_node_id, sizeof m->to_node_id, err) < 0 ||
        copy(v, "target_uri", m->target_uri, sizeof m->target_uri, err) < 0 ||
        copy(v, "migrate_uri", m->migrate_uri, sizeof m->migrate_uri, err) < 0 ||
        copy(v, "phase", m->phase, sizeof m->phase, err) < 0)
        return -1;
    m->live = sw_json_bool(v, "live", false);
    m->shared = sw_json_bool(v, "shared", false);
    m->was_running = sw_json_bool(v, "was_running", false);
    m->epoch = sw_json_int(v, "epoch", 0);
    m->bandwidth_mib = sw_json_int(v, "bandwidth_mib", 0);
    return check_job(m, err);
}

void sw_migmsg_result_encode(json_t *o, const struct sw_msg_migrate_result *r)
{
    if (!r->has)
        return;
    json_object_set_new(o, "migrate",
                        json_pack("{s:b, s:b, s:I, s:I}", "moved", r->moved, "was_running",
                                  r->was_running, "downtime_ms", (json_int_t)r->downtime_ms,
                                  "total_ms", (json_int_t)r->total_ms));
}

static const struct sw_jfield result_fields[] = {
    {"moved", SW_JT_BOOL, true},     {"was_running", SW_JT_BOOL, false},
    {"downtime_ms", SW_JT_INT, false}, {"total_ms", SW_JT_INT, false},
    {NULL, 0, false},
};

int sw_migmsg_result_decode(const json_t *o, struct sw_msg_migrate_result *r, struct sw_err *err)
{
    const json_t *v = json_object_get(o, "migrate");
    memset(r, 0, sizeof *r);
    r->downtime_ms = r->total_ms = -1;
    if (!v)
        return 0;
    if (!json_is_object(v) || sw_json_check(v, result_fields, err) < 0)
        return -1;
    r->has = true;
    r->moved = sw_json_bool(v, "moved", false);
    r->was_running = sw_json_bool(v, "was_running", false);
    r->downtime_ms = sw_json_int(v, "downtime_ms", -1);
    r->total_ms = sw_json_int(v, "total_ms", -1);
    if (r->downtime_ms < -1 || r->total_ms < -1) {
        SW_ERR(err, SW_EINVALID, "field \"migrate\": times are -1 or more");
        return -1;
    }
    return 0;
}
