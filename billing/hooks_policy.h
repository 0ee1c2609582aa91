/* hooks_policy.h - the delivery rules of outgoing webhooks, as pure
 * functions (billing/README.md "Webhooks"): the retry schedule and what an
 * attempt's answer means for its delivery and endpoint.
 */
#ifndef SW_BILLING_HOOKS_POLICY_H
#define SW_BILLING_HOOKS_POLICY_H

#include <stdbool.h>

struct sw_err;

#define SW_HOOKS_MAX_ATTEMPTS 32

/* The schedule: delay[i] is the seconds to wait before attempt i + 1
 * (delay[0] counts from the event, the others from the previous attempt);
 * n attempts in all. */
struct sw_hooks_schedule {
    long delay[SW_HOOKS_MAX_ATTEMPTS];
    int n;
};

/* Parses "0,5,300,..." (1 to 32 integers from 0 to 7 days); -1 with
 * SW_EINVALID naming SLIPWAY_HOOKS_RETRY_SCHEDULE. */
int sw_hooks_schedule_parse(const char *text, struct sw_hooks_schedule *s, struct sw_err *err);

enum sw_hooks_state { SW_HOOKS_PENDING, SW_HOOKS_DELIVERED, SW_HOOKS_FAILED };

struct sw_hooks_outcome {
    enum sw_hooks_state state;
    bool disable_endpoint; /* the receiver answered 410 Gone */
    long retry_in_s;       /* PENDING: seconds until the next attempt */
};

/* What one attempt's result means. status: the HTTP status, 0 when nothing
 * answered (refused, timeout, TLS error). attempts: automatic attempts made
 * so far, this one included. manual: an attempt asked for by hand, which
 * gets no retries. 2xx: delivered; 410: failed and the endpoint disabled;
 * anything else: pending until the schedule is spent, then failed. */
struct sw_hooks_outcome sw_hooks_outcome(int status, int attempts, bool manual,
                                         const struct sw_hooks_schedule *s);

/* Name of a state, as stored ("pending", "delivered", "failed"). */
const char *sw_hooks_state_name(enum sw_hooks_state st);

#endif
