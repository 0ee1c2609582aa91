# shellcheck shell=bash
# hastack.sh - sourced by the high availability tests (ha.sh, split_brain.sh, fence_ipmi.sh,
# ha_queued.sh, ha_retarget.sh)
# after harness.sh: the stack with the provisioner's health thread fast
# (heartbeat HB s, threshold SUSPECT s), one location with an hvm template
# and a customer, ha and plain plans, test-driver nodes with a pool each,
# and their engines (each writing its domains file and a pid file).
#   sw_ha_stack               stack, panel, two provisioners; sets OP, HB, SUSPECT
#                             and the control plane's master key (the fence
#                             secrets are wrapped with it), which the engines
#                             are not given
#   sw_ha_catalog             sets LOC, TPL, TOK
#   sw_ha_plan NAME HA        prints "STATUS ID HA" of a new hvm plan
#   sw_ha_node NAME POOL SHARED  a node of 8 cpus, 8 GiB; sets NODE[NAME]
#   sw_ha_engine NAME         starts (or restarts) the node's engine:
#                             $SW_T_DIR/domains-NAME, $SW_T_DIR/engine-NAME.pid
#   sw_ha_pair                catalog, an ha plan PLAN, nodes "a" and "b" sharing a
#                             pool, with their engines; sets A and B (their ids)
#   sw_ha_retried NODE_ID     true once the node's fence was tried twice
#   sw_ha_order HOST NODE-ID  prints the id of a new server of PLAN once it runs
#                             on NODE-ID (nothing after 60 s)
# and the tests' short names: j FILTER (of the last answer), api (sw_t_api),
# q SQL (one value), is SQL VALUE (q's answer is VALUE), D ($SW_T_DIR).
declare -A NODE
HB=1 SUSPECT=3
sw_ha_j() { jq -r "$1" <<<"$SW_BODY"; }
j() { sw_ha_j "$1"; }
api() { sw_t_api "$@"; }
q() { sw_t_psql -c "$1"; }
is() { [ "$(q "$1")" = "$2" ]; }
D=$SW_T_DIR
sw_ha_retried() { [ "$(q "select fence_attempts from nodes where id = '$1'")" -ge 2 ]; }

sw_ha_stack() {
    sw_t_stack
    SLIPWAY_BACKUP_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
    export SLIPWAY_BACKUP_MASTER_KEY
    slipwayctl migrate >/dev/null || exit 99
    OP=$(slipwayctl bootstrap) || exit 99
    export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8
    sw_t_panel
    # two provisioners: their health threads race for every transition and
    # every fence (one fencer per node: ha.sh counts the fences)
    local p
    for p in provisioner provisioner2; do
        sw_t_daemon "$p" env SLIPWAY_HEARTBEAT_INTERVAL=$HB SLIPWAY_HA_SUSPECT_S=$SUSPECT \
            SLIPWAY_HA_CHECK_MS=200 SLIPWAY_HA_FENCE_TIMEOUT_S=5 SLIPWAY_CLAIM_IDLE_MS=1000 \
            slipway-provisioner
    done
}

sw_ha_catalog() {
    sw_t_api POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
    LOC=$(sw_ha_j .id)
    sw_t_api POST /v1/admin/templates "$OP" '{"name":"Debian 12","kind":"hvm","os":"debian-12"}'
    TPL=$(sw_ha_j .id)
    sw_t_api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"ha@example.com","name":"ha","password":"ha-customer-pw"}'
    sw_t_api POST /v1/auth/login "" '{"email":"ha@example.com","password":"ha-customer-pw"}'
    TOK=$(sw_ha_j .token)
    [ -n "$LOC" ] && [ -n "$TPL" ] && [ "$TOK" != null ] || exit 99
}

sw_ha_plan() {
    sw_t_api POST /v1/admin/plans "$OP" "{\"name\":\"$1\",\"kind\":\"hvm\",\"vcpus\":1,\"ram_mb\":1024,\"disk_gb\":10,\"price_hourly\":{\"amount\":1,\"currency\":\"EUR\"},\"price_monthly\":{\"amount\":100,\"currency\":\"EUR\"},\"ha\":$2}"
    echo "$SW_STATUS $(sw_ha_j .id) $(sw_ha_j .ha)"
}

# The pool's disk_ratio 10: a test-driver pool reports 100 GiB, and a shared
# one is offered once to all the nodes that declare it (migration 0037), so
# disk, not RAM, would bound the servers otherwise (ha.sh's sixteen).
sw_ha_node() {
    slipwayctl node-file "$SW_T_DIR/$1.xml" 8 8192
    sw_t_api POST /v1/admin/nodes "$OP" "{\"name\":\"$1\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/$1.xml\",\"kinds\":[\"hvm\"],\"cpus\":8,\"ram_mb\":8192,\"disk_gb\":500,\"pools\":[{\"name\":\"$2\",\"type\":\"dir\",\"path\":\"$SW_T_DIR/pools/$2\",\"shared\":$3,\"disk_ratio\":10}]}"
    [ "$SW_STATUS" = 201 ] || { echo "node $1: $SW_STATUS $SW_BODY"; exit 99; }
    NODE[$1]=$(sw_ha_j .id)
}

sw_ha_engine() {
    if [ -z "$(eval echo "\${SW_T_PID_engine_$1:-}")" ]; then
        sw_t_daemon "engine_$1" env -u SLIPWAY_BACKUP_MASTER_KEY \
            SLIPWAY_NODE_ID="${NODE[$1]}" SLIPWAY_HEARTBEAT_INTERVAL=$HB \
            SLIPWAY_USAGE_INTERVAL=5 SLIPWAY_RECONCILE_INTERVAL=2 \
            SLIPWAY_DOMAINS_FILE="$SW_T_DIR/domains-$1" slipway-engine
    else
        sw_t_respawn "engine_$1"
    fi
    eval "echo \$SW_T_PID_engine_$1" >"$SW_T_DIR/engine-$1.pid"
}

sw_ha_pair() {
    sw_ha_catalog
    read -r _ PLAN _ <<<"$(sw_ha_plan ha-1 true)"
    local n
    for n in a b; do
        sw_ha_node "$n" shared true
        sw_ha_engine "$n"
    done
    A=${NODE[a]} B=${NODE[b]}
}

sw__ha_on() { # SERVER NODE-ID: the server runs there
    is "select state || ' ' || node_id from servers where id = '$1'" "running $2"
}

sw_ha_order() {
    local s
    api POST /v1/orders "$TOK" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"$1\",\"location_id\":\"$LOC\"}"
    s=$(j .server.id)
    sw_t_wait "$1 running" 60 sw__ha_on "$s" "$2" >/dev/null && echo "$s"
}
