#include "config.h"
#include "billing/hooks_policy.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DELAY_S (7L * 86400)

int sw_hooks_schedule_parse(const char *text, struct sw_hooks_schedule *s, struct sw_err *err)
{
    memset(s, 0, sizeof *s);
    const char *p = text ? text : "";
    for (;;) {
        size_t n = strspn(p, "0123456789");
        long v = -1;
        if (n >= 1 && n <= 7)
            v = strtol(p, NULL, 10);
        if (v < 0 || v > MAX_DELAY_S || s->n == SW_HOOKS_MAX_ATTEMPTS ||
            (p[n] != ',' && p[n] != '\0')) {
            SW_ERR(err, SW_EINVALID,
                   "SLIPWAY_HOOKS_RETRY_SCHEDULE must be 1 to %d comma-separated seconds "
                   "from 0 to %ld",
                   SW_HOOKS_MAX_ATTEMPTS, MAX_DELAY_S);
            return -1;
        }
        s->delay[s->n++] = v;
        if (p[n] == '\0')
            return 0;
        p += n + 1;
    }
}

struct sw_hooks_outcome sw_hooks_outcome(int status, int attempts, bool manual,
                                         const struct sw_hooks_schedule *s)
{
    struct sw_hooks_outcome o = {SW_HOOKS_FAILED, false, 0};
    if (status >= 200 && status < 300) {
        o.state = SW_HOOKS_DELIVERED;
    } else if (status == 410) {
        o.disable_endpoint = true;
    } else if (!manual && attempts >= 0 && attempts < s->n) {
        o.state = SW_HOOKS_PENDING;
        o.retry_in_s = s->delay[attempts];
    }
    return o;
}

const char *sw_hooks_state_name(enum sw_hooks_state st)
{
    static const char *const names[] = {
        [SW_HOOKS_PENDING] = "pending",
        [SW_HOOKS_DELIVERED] = "delivered",
        [SW_HOOKS_FAILED] = "failed",
    };
    return names[st];
}
