#!/usr/bin/env bash
# shellcheck disable=SC2154  # SW_T_PID_<name> are set by sw_t_daemon (eval)
# Hostile tenants (issue 7): an attacker holding a valid customer token
# and, separately, a valid reseller token, against real PostgreSQL, Redis,
# two panels on one database, a provisioner, an engine (libvirt's test
# driver) and the billing daemon. The cases and their table are in
# hostile.py; this starts the stack for it.
#
# The panels run with low client limits (SLIPWAY_HTTP_*) so the slow-client
# cases prove them; the attacker's slow connections come from 127.0.0.2 and
# 127.0.0.3 (any 127/8 address reaches a loopback listener), the well-behaved
# client from 127.0.0.1, so the per-address limit is seen working for one
# and not against the other. SLIPWAY_HOOKS_ALLOW_PRIVATE is unset (0) for the
# panels and the first billing daemon; a second phase runs a billing daemon
# that allows private addresses, to show that a redirect is never followed.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
unset SLIPWAY_HOOKS_ALLOW_PRIVATE
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
SW_OP_TOKEN=$(slipwayctl bootstrap) || exit 99
export SW_OP_TOKEN
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8
export SLIPWAY_ORDER_RATE=5 SLIPWAY_LOGIN_FAILURES_PER_ACCOUNT=5 SLIPWAY_LOGIN_FAILURES_PER_ADDRESS=20
export SLIPWAY_HTTP_TIMEOUT=3 SLIPWAY_HTTP_MAX_PER_IP=40 SLIPWAY_THREADS=4
sw_t_panel
# The second panel, on the same database: a low connection limit of its own.
sw_t_daemon panel2 env SLIPWAY_LISTEN=127.0.0.1:0 SLIPWAY_ADDR_FILE="$SW_T_DIR/panel2.addr" \
    SLIPWAY_HTTP_MAX_CONNECTIONS=24 SLIPWAY_HTTP_MAX_PER_IP=0 SLIPWAY_THREADS=2 slipway-panel
sw_t_wait "panel2 address" 20 test -s "$SW_T_DIR/panel2.addr" || exit 99
SW_URL2=$(cat "$SW_T_DIR/panel2.addr")
export SW_URL2 SW_T_DIR

j() { jq -r "$1" <<<"$SW_BODY"; }
sw_t_api POST /v1/admin/locations "$SW_OP_TOKEN" '{"code":"sec1","name":"Security"}'
[ "$SW_STATUS" = 201 ] || { echo "location: $SW_STATUS $SW_BODY"; exit 99; }
SW_LOC=$(j .id)
slipwayctl node-file "$SW_T_DIR/node.xml" 64 65536
sw_t_api POST /v1/admin/nodes "$SW_OP_TOKEN" "{\"name\":\"sec-node\",\"location_id\":\"$SW_LOC\",\"engine_uri\":\"test://$SW_T_DIR/node.xml\",\"kinds\":[\"container\",\"hvm\"],\"cpus\":64,\"ram_mb\":65536,\"disk_gb\":2000}"
[ "$SW_STATUS" = 201 ] || { echo "node: $SW_STATUS $SW_BODY"; exit 99; }
SW_NODE=$(j .id)
sw_t_api POST /v1/admin/plans "$SW_OP_TOKEN" '{"name":"sec-1","kind":"container","vcpus":1,"ram_mb":256,"disk_gb":5,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":400,"currency":"EUR"}}'
[ "$SW_STATUS" = 201 ] || { echo "plan: $SW_STATUS $SW_BODY"; exit 99; }
SW_PLAN=$(j .id)
sw_t_api POST /v1/admin/templates "$SW_OP_TOKEN" '{"name":"Debian 12","kind":"container","os":"debian-12"}'
[ "$SW_STATUS" = 201 ] || { echo "template: $SW_STATUS $SW_BODY"; exit 99; }
SW_TPL=$(j .id)
export SW_LOC SW_NODE SW_PLAN SW_TPL

sw_t_daemon engine env SLIPWAY_NODE_ID="$SW_NODE" SLIPWAY_USAGE_INTERVAL=1 \
    SLIPWAY_HEARTBEAT_INTERVAL=1 slipway-engine
sw_t_daemon provisioner slipway-provisioner
export SLIPWAY_HOOKS_RETRY_SCHEDULE=0,1 SLIPWAY_BILLING_INTERVAL=1 SLIPWAY_HOOKS_TIMEOUT=3
sw_t_daemon billing0 slipway-billing

sw_t_check "hostile tenants: every case holds (table above)" \
    python3 "$SW_SRCDIR/tests/security/hostile.py" main

# Phase 2: a deliverer allowing private addresses (as ./scripts/up runs
# one) still never follows a redirect.
kill "$SW_T_PID_billing0"
sw_t_wait "billing0 stops" 20 bash -c "! kill -0 $SW_T_PID_billing0 2>/dev/null" || exit 99
sw_t_daemon billing1 env SLIPWAY_HOOKS_ALLOW_PRIVATE=1 slipway-billing
sw_t_check "hostile tenants: a redirect is never followed (table above)" \
    python3 "$SW_SRCDIR/tests/security/hostile.py" redirect
sw_t_check "no daemon crashed during the attacks" \
    bash -c "kill -0 $SW_T_PID_panel && kill -0 $SW_T_PID_panel2 && kill -0 $SW_T_PID_engine && kill -0 $SW_T_PID_provisioner && kill -0 $SW_T_PID_billing1"
sw_t_done
