/* evac_judge.c - where one server of an evacuation goes next (evac.h):
 * pure, over what the thread read in the evacuation's transaction. */
#include "config.h"
#include "provisioner/evac.h"

#include <stdio.h>
#include <string.h>

static const char *const state_names[SW_EVAC__COUNT] = {
    [SW_EVAC_PENDING] = "pending", [SW_EVAC_WAITING] = "waiting",
    [SW_EVAC_IN_FLIGHT] = "in_flight", [SW_EVAC_MOVED] = "moved",
    [SW_EVAC_UNMOVABLE] = "unmovable", [SW_EVAC_GONE] = "gone"};

int sw_evac_state_parse(const char *s)
{
    for (int i = 0; s && i < SW_EVAC__COUNT; i++)
        if (strcmp(s, state_names[i]) == 0)
            return i;
    return -1;
}

const char *sw_evac_state_name(int st)
{
    return st >= 0 && st < SW_EVAC__COUNT ? state_names[st] : NULL;
}

static bool eq(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

/* A migrate job that failed for a reason that may pass: the node or Redis
 * was away (unavailable, no answer, undeliverable), or the server was busy
 * when the job came to run (conflict). Anything else (unsupported, no
 * capacity anywhere, invalid) is the server's verdict. */
static bool transient(const char *code)
{
    static const char *const codes[] = {"unavailable", "no_answer", "undeliverable", "conflict",
                                        NULL};
    for (int i = 0; codes[i]; i++)
        if (eq(code, codes[i]))
            return true;
    return false;
}

static void say(struct sw_evac_verdict *v, enum sw_evac_state st, const char *code,
                const char *reason)
{
    v->state = st;
    v->code = code;
    snprintf(v->reason, sizeof v->reason, "%s", reason ? reason : "");
}

/* The migrate job finished without moving the server. */
static void job_ended(const struct sw_evac_entry *e, struct sw_evac_verdict *v)
{
    const char *code = e->job_code ? e->job_code : "internal";
    if (eq(e->job_state, "succeeded"))
        code = "internal";
    if (e->cancelled) { /* the operator's word: not tried again */
        say(v, SW_EVAC_UNMOVABLE, "conflict", "an operator cancelled the server's migrate job");
        return;
    }
    if (e->tries < SW_EVAC_MAX_TRIES && (transient(code) || eq(e->job_state, "succeeded"))) {
        say(v, SW_EVAC_PENDING, code, e->job_error);
        return;
    }
    say(v, SW_EVAC_UNMOVABLE, code,
        e->job_error                     ? e->job_error
        : eq(e->job_state, "succeeded") ? "the migrate job succeeded but the server stayed"
                                          " on the node"
                                        : "the migrate job failed");
}

/* A server not in flight: may it be queued now? */
static void ready(const struct sw_evac_entry *e, struct sw_evac_verdict *v)
{
    if (eq(e->srv_state, "suspended")) {
        say(v, SW_EVAC_UNMOVABLE, "conflict",
            "the server is suspended; unsuspend it, then evacuate the node again");
        return;
    }
    if (!eq(e->srv_state, "running") && !eq(e->srv_state, "stopped")) {
        char why[64];
        snprintf(why, sizeof why, "the server is %s", e->srv_state ? e->srv_state : "unknown");
        say(v, SW_EVAC_WAITING, NULL, why);
        return;
    }
    if (e->busy) {
        say(v, SW_EVAC_WAITING, NULL, "another job of the server is queued or running");
        return;
    }
    say(v, SW_EVAC_PENDING, NULL, NULL);
    v->queue = true;
}

void sw_evac_judge(const struct sw_evac_entry *e, struct sw_evac_verdict *v)
{
    memset(v, 0, sizeof *v);
    if (e->state == SW_EVAC_MOVED || e->state == SW_EVAC_UNMOVABLE || e->state == SW_EVAC_GONE) {
        v->state = e->state;
        return;
    }
    if (eq(e->srv_state, "terminated") || eq(e->srv_state, "failed")) {
        say(v, SW_EVAC_GONE, NULL, NULL);
        return;
    }
    if (!e->on_node) {
        say(v, SW_EVAC_MOVED, NULL, NULL);
        return;
    }
    if (e->state == SW_EVAC_IN_FLIGHT && e->job_state &&
        (eq(e->job_state, "queued") || eq(e->job_state, "running"))) {
        say(v, SW_EVAC_IN_FLIGHT, NULL, NULL);
        return;
    }
    if (e->state == SW_EVAC_IN_FLIGHT && e->job_state) {
        job_ended(e, v);
        if (v->state == SW_EVAC_UNMOVABLE)
            return;
        char kept[sizeof v->reason];
        const char *code = v->code;
        memcpy(kept, v->reason, sizeof kept);
        ready(e, v);
        if (v->state == SW_EVAC_PENDING) { /* keep why the last try failed */
            v->code = code;
            memcpy(v->reason, kept, sizeof kept);
        }
        return;
    }
    ready(e, v);
}

bool sw_evac_live(bool evacuation_live, const char *srv_state)
{
    return evacuation_live && eq(srv_state, "running");
}
