/* usage.c - fuzz target: a usage sample as slipway-billing reads it from
 * stream "usage", up to the database: sw_msg_usage_decode, then
 * sw_usage_id_valid (billing/usage.c), then the disposition of its error.
 * Input: the entry's "m" field. Oracles: an accepted sample's id is its
 * "<server_id>:<ts>" (case aside); anything refused is poison, never a
 * retry (a retried poison message would loop until dead-lettered). */
#include "config.h"
#include "tests/fuzz/fuzz.h"
#include "billing/usage.h"
#include "core/err.h"
#include "core/msg.h"
#include "core/redis.h"

#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = sw_fuzz_str(data, size);
    struct sw_msg_usage m;
    struct sw_err err = {0};
    if (sw_msg_usage_decode(s, &m, &err) < 0) {
        SW_FUZZ_ASSERT(sw_usage_disposition(&err) == SW_MSG_POISON);
    } else if (!sw_usage_id_valid(&m, &err)) {
        SW_FUZZ_ASSERT(sw_usage_disposition(&err) == SW_MSG_POISON);
    } else {
        char want[128];
        snprintf(want, sizeof want, "%s:%lld", m.server_id, (long long)m.ts);
        SW_FUZZ_ASSERT(strcasecmp(want, m.sample_id) == 0);
    }
    free(s);
    return 0;
}
