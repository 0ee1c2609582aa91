#!/usr/bin/env bash
# The engine's ballooning loop with the scripted stats source (a balloon-sim
# scenario replayed as the host: SLIPWAY_BALLOON_SOURCE=sim:<path>), against
# real PostgreSQL and the panel: the node's policy is set and validated
# through PATCH /v1/admin/nodes/{id}; the engine's ticks follow
# slipwayctl balloon-sim's exactly (same controller, same smoothing); a host
# that ballooning cannot relieve is set draining after pressure_ticks ticks
# and raises one node.pressure event, listed by GET /v1/admin/events; with
# the policy off nothing is ballooned.
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
sw_t_panel
j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
ex=$SW_SRCDIR/templates/balloon

api POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
LOC=$(j .id)
declare -A NODE
for name in steady pressure off; do
    slipwayctl node-file "$SW_T_DIR/$name.xml" 8 16384
    api POST /v1/admin/nodes "$OP" "{\"name\":\"$name\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/$name.xml\",\"kinds\":[\"hvm\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500}"
    NODE[$name]=$(j .id)
done
N=${NODE[steady]}
sw_t_eq "a new node's ballooning is off" '{"enabled":false}' "$(jq -c .balloon <<<"$SW_BODY")"

# ---- the policy through the API ----
bad() { # DESC BODY MESSAGE-PART
    api PATCH "/v1/admin/nodes/$N" "$OP" "{\"balloon\":$2}"
    sw_t_check "$1 is 400: $(j .error.message)" test "$SW_STATUS" = 400 -a -n "$(j .error.message | grep -F "$3")"
}
bad "an unknown key" '{"enabled":true,"targte_pct":70}' "balloon.targte_pct is not a ballooning policy key"
bad "a target out of range" '{"target_pct":100}' "balloon.target_pct must be an integer from 10 to 99"
bad "stop below target" '{"target_pct":90,"stop_pct":85}' "stop_pct must be at least target_pct"
bad "enabled not a boolean" '{"enabled":"yes"}' "balloon.enabled must be true or false"
bad "shares keyed by something else" '{"shares":{"web-1":0}}' "balloon.shares"
bad "not an object" '[1]' "balloon"
sw_t_eq "nothing changed" '{"enabled": false}' "$(sw_t_psql -c "select balloon from nodes where id = '$N'")"
GEN=$(sw_t_psql -c "select generation from nodes where id = '$N'")
api PATCH "/v1/admin/nodes/$N" "$OP" '{"balloon":{"enabled":true,"target_pct":80,"shares":{"5F0C6A7E-2B1D-4C3E-9A8B-7D6E5F4A3B2C":0}}}'
sw_t_eq "a valid policy is stored: 200" "200 true 80" "$SW_STATUS $(j .balloon.enabled) $(j .balloon.target_pct)"
sw_t_eq "and does not bump the node's generation" "$GEN" \
    "$(sw_t_psql -c "select generation from nodes where id = '$N'")"
api PATCH "/v1/admin/nodes/${NODE[pressure]}" "$OP" '{"balloon":{"enabled":true,"pressure_ticks":3}}'
sw_t_eq "the pressure node's policy: 200" 200 "$SW_STATUS"

engine() { # NAME SCENARIO
    sw_t_daemon "engine-$1" env SLIPWAY_NODE_ID="${NODE[$1]}" SLIPWAY_BALLOON_INTERVAL=1 \
        SLIPWAY_BALLOON_SOURCE="sim:$2" SLIPWAY_RECONCILE_INTERVAL=3600 slipway-engine
}
engine steady "$ex/demand-step.json"
engine pressure "$ex/host-pressure.json"
engine off "$ex/demand-step.json"
ticks() { grep -o 'event=balloon.tick host_used_mb=[0-9]*' "$SW_T_DIR/engine-$1.log" | sed 's/.*=//'; }
have_ticks() { [ "$(ticks "$1" | wc -l)" -ge "$2" ]; }

# ---- the engine follows balloon-sim tick for tick ----
sw_t_check "the steady engine ticks" sw_t_wait "12 ticks" 40 have_ticks steady 12
want=$(slipwayctl balloon-sim "$ex/demand-step.json" | jq .host_used_mb | head -12 | tr '\n' ' ')
sw_t_eq "its host use per tick is balloon-sim's" "$want" "$(ticks steady | head -12 | tr '\n' ' ')"
sw_t_check "and moves guests" grep -q "event=balloon.tick.*moved=[1-9]" "$SW_T_DIR/engine-steady.log"
sw_t_eq "no pressure there: the node stays active" active \
    "$(sw_t_psql -c "select state from nodes where id = '$N'")"

# ---- pressure: draining and one event ----
drained() { [ "$(sw_t_psql -c "select state from nodes where id = '${NODE[pressure]}'")" = draining ]; }
sw_t_check "the host that ballooning cannot relieve is set draining" sw_t_wait "draining" 40 drained
sw_t_eq "after pressure_ticks (3) ticks of pressure" 1 \
    "$(grep -c 'event=balloon.pressure.*ticks=3 drained=1' "$SW_T_DIR/engine-pressure.log")"
api GET "/v1/admin/events?kind=node.pressure&node_id=${NODE[pressure]}" "$OP"
sw_t_eq "the operator sees one node.pressure event" "200 1" "$SW_STATUS $(j '.items | length')"
sw_t_eq "saying the node was drained and how full it was" "true true" \
    "$(j '.items[0].detail.drained') $(j '.items[0].detail.host_used_pct > 95')"
have_ticks pressure 0
n=$(ticks pressure | wc -l)
sw_t_check "more pressure ticks" sw_t_wait "more ticks" 20 have_ticks pressure $((n + 3))
sw_t_eq "raise no second event while the pressure lasts" 1 \
    "$(sw_t_psql -c "select count(*) from node_events where kind = 'node.pressure'")"
api GET "/v1/admin/events?node_id=${NODE[steady]}" "$OP"
sw_t_eq "the steady node has no event" "200 0 " "$SW_STATUS $(j '.items | length') $(j '[.items[].kind] | join(",")')"
api GET "/v1/admin/events?kind=Bad" "$OP"
sw_t_eq "a malformed kind is 400" 400 "$SW_STATUS"
api GET "/v1/admin/events?limit=1" "$OP"
sw_t_eq "the list pages" "200 1" "$SW_STATUS $(j '.items | length')"

# ---- off: nothing ballooned ----
sw_t_eq "the node with ballooning off never ticks" 0 "$(ticks off | wc -l)"
sw_t_check "and says so" grep -q "event=balloon.policy enabled=0" "$SW_T_DIR/engine-off.log"

# ---- a bad source is a configuration error (exit 2) ----
env SLIPWAY_NODE_ID="$N" SLIPWAY_BALLOON_SOURCE="sim:$SW_T_DIR/none.json" slipway-engine \
    >"$SW_T_DIR/bad.log" 2>&1
sw_t_eq "a missing scenario exits 2" 2 "$?"
env SLIPWAY_NODE_ID="$N" SLIPWAY_BALLOON_SOURCE="vmstat" slipway-engine >"$SW_T_DIR/bad.log" 2>&1
sw_t_eq "an unknown source exits 2" 2 "$?"
sw_t_done
