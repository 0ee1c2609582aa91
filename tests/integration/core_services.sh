#!/usr/bin/env bash
# core's PostgreSQL and Redis helpers against real servers: SQLSTATE
# mapping, transaction retry and rollback, reconnect, the pool, and stream
# delivery (ack, redelivery, dead-letter after 5 deliveries, poison).
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
# An entry without the "m" field, for the malformed-entry case.
sw_t_redis XGROUP CREATE t3 g 0 MKSTREAM >/dev/null
sw_t_redis XADD t3 '*' other field >/dev/null
if "$SW_BUILDDIR/tests/integration/test_core_services"; then
    sw_t_ok "core helpers against PostgreSQL and Redis"
else
    sw_t_fail "core helpers against PostgreSQL and Redis"
fi
sw_t_done
