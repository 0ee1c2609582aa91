#!/usr/bin/env bash
# Node evacuation (issue 15, POST /v1/admin/nodes/{id}/evacuate) on a small
# test-driver stack: panel, provisioner, two engines. Node A holds five
# servers: two running, one stopped, one too big for any other node (no
# room anywhere: it cannot move), and one with a reboot held on A's paused
# engine (mid-job: it waits, then moves). B is small.
#   - the route's validation (parallel 1..32, live a boolean, unknown
#     fields, a customer, an unknown node), and a second evacuate of the
#     same node: 409;
#   - A goes to maintenance: it keeps its Redis user, takes no new order
#     (orders during the evacuation land on B);
#   - progress is visible while it runs (total, in flight, the waiting
#     server with its reason);
#   - A's engine resumes after more than 3 missed heartbeats, so its
#     reconciliation runs at once, beside its servers' migrate jobs;
#   - the end: completed, four servers moved to B (epoch 2, running or
#     stopped as before, each once in B's domains file and in no other
#     domains file), the big one listed unmovable with the migrate job's
#     error (no_capacity), event node.evacuated with the same, A still in
#     maintenance until PATCHed active, and its latest evacuation on its
#     GET answer.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_ORDER_RATE=0
sw_t_panel
sw_t_daemon provisioner env SLIPWAY_EVACUATE_INTERVAL_MS=200 slipway-provisioner

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
must() {
    sw_t_api "$@"
    case $SW_STATUS in 2??) ;; *) echo "$1 $2: $SW_STATUS $SW_BODY"; exit 99 ;; esac
}
q() { sw_t_psql -c "$1"; }
is() { [ "$(q "$1")" = "$2" ]; }

must POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
LOC=$(j .id)
declare -A NODE
for n in a b; do
    mb=$([ $n = a ] && echo 16384 || echo 4096)
    slipwayctl node-file "$SW_T_DIR/$n.xml" 8 "$mb" || exit 99
    must POST /v1/admin/nodes "$OP" "{\"name\":\"$n\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/$n.xml\",\"kinds\":[\"hvm\"],\"cpus\":8,\"ram_mb\":$mb,\"disk_gb\":500,\"state\":\"$([ $n = a ] && echo active || echo draining)\"}"
    NODE[$n]=$(j .id)
    sw_t_daemon "engine_$n" env SLIPWAY_NODE_ID="${NODE[$n]}" SLIPWAY_HEARTBEAT_INTERVAL=1 \
        SLIPWAY_DOMAINS_FILE="$SW_T_DIR/$n.domains" slipway-engine
done
A=${NODE[a]} B=${NODE[b]}
PRICES='"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":500,"currency":"EUR"}'
must POST /v1/admin/plans "$OP" "{\"name\":\"small\",\"kind\":\"hvm\",\"vcpus\":1,\"ram_mb\":512,\"disk_gb\":10,$PRICES}"
SMALL=$(j .id)
must POST /v1/admin/plans "$OP" "{\"name\":\"big\",\"kind\":\"hvm\",\"vcpus\":1,\"ram_mb\":8192,\"disk_gb\":10,$PRICES}"
BIG=$(j .id)
must POST /v1/admin/templates "$OP" '{"name":"Debian 12","kind":"hvm","os":"debian-12"}'
TPL=$(j .id)
must POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"c@example.com","name":"c","password":"c-secret-pw"}'
must POST /v1/auth/login "" '{"email":"c@example.com","password":"c-secret-pw"}'
TOK=$(j .token)

order() { # PLAN NAME -> server id
    must POST /v1/orders "$TOK" "{\"plan_id\":\"$1\",\"template_id\":\"$TPL\",\"hostname\":\"$2.example.com\"}"
    j .server.id
}
state_of() { q "select state from servers where id = '$1'"; }
runs() { [ "$(state_of "$1")" = "$2" ]; }
declare -A S
for s in r1 r2 st mid; do S[$s]=$(order "$SMALL" "$s"); done
S[big]=$(order "$BIG" big)
for s in "${!S[@]}"; do
    sw_t_wait "$s running" 60 runs "${S[$s]}" running || { echo "server $s never ran"; exit 99; }
done
must POST "/v1/servers/${S[st]}/actions" "$TOK" '{"type":"stop"}'
sw_t_wait "st stopped" 60 runs "${S[st]}" stopped || exit 99
sw_t_eq "five servers on A, none on B" "5 0" \
    "$(q "select count(*) filter (where node_id = '$A') || ' ' || count(*) filter (where node_id = '$B') from servers")"
must PATCH "/v1/admin/nodes/$B" "$OP" '{"state":"active"}'

# ---- the route's validation ----
for bad in '{"parallel":0}' '{"parallel":33}' '{"parallel":"2"}' '{"parallel":1.5}' \
    '{"live":"yes"}' '{"parallel":2,"node":"x"}' '[1]'; do
    api POST "/v1/admin/nodes/$A/evacuate" "$OP" "$bad"
    sw_t_eq "evacuate $bad: 400" "400 invalid_request" "$SW_STATUS $(j .error.code 2>/dev/null)"
done
api POST "/v1/admin/nodes/$A/evacuate" "$TOK" '{}'
sw_t_eq "a customer cannot evacuate a node" 403 "$SW_STATUS"
api POST "/v1/admin/nodes/00000000-0000-4000-8000-000000000000/evacuate" "$OP" '{}'
sw_t_eq "an unknown node: 404" 404 "$SW_STATUS"
sw_t_eq "nothing was recorded, A still active" "0 active" \
    "$(q "select count(*) from evacuations") $(q "select state from nodes where id = '$A'")"

# ---- mid-job: a reboot of "mid" held on A's paused engine ----
kill -STOP "$SW_T_PID_engine_a"
must POST "/v1/servers/${S[mid]}/actions" "$TOK" '{"type":"reboot"}'
REBOOT=$(j .job.id)
sw_t_wait "reboot dispatched" 20 is "select state from jobs where id = '$REBOOT'" running || true

api POST "/v1/admin/nodes/$A/evacuate" "$OP" '{"parallel":2}'
sw_t_eq "evacuate A: 202, running, parallel 2, live" "202 running 2 true" \
    "$SW_STATUS $(j '.evacuation | "\(.state) \(.parallel) \(.live)"')"
EV=$(j .evacuation.id)
sw_t_eq "A is in maintenance" maintenance "$(q "select state from nodes where id = '$A'")"
api POST "/v1/admin/nodes/$A/evacuate" "$OP" '{}'
sw_t_eq "a second evacuate of A: 409 naming the running one" "409 conflict true" \
    "$SW_STATUS $(j .error.code) $(j ".error.message | contains(\"$EV\")")"

waiting_mid() {
    sw_t_api GET "/v1/admin/evacuations/$EV" "$OP"
    [ "$(j ".total, .in_flight, (.waiting_servers | map(.server_id) | join(\",\"))" | tr '\n' ' ')" = "5 2 ${S[mid]} " ]
}
if sw_t_wait "progress while A's engine is paused" 20 waiting_mid; then
    sw_t_ok "progress: 5 servers, 2 in flight (parallel), mid waiting: $(j '.waiting_servers[0].reason')"
else
    sw_t_fail "progress while paused: $SW_BODY"
fi
sw_t_eq "no server has two migrate jobs queued or running" 0 \
    "$(q "select count(*) from (select server_id from jobs where type = 'migrate' and state in ('queued', 'running') group by 1 having count(*) > 1) x")"
# an order during the evacuation lands on B
S[new]=$(order "$SMALL" new)
# A's engine stays paused past 3 heartbeats, so it reconciles at once when
# it resumes, while its migrate jobs run: no server may then run twice
sleep "${SW_EV_PAUSE:-5}"
kill -CONT "$SW_T_PID_engine_a"
sw_t_check "an order during the evacuation runs on B, not on A" \
    sw_t_wait "new on B" 60 is "select state || ' ' || (node_id = '$B') from servers where id = '${S[new]}'" "running true"

done_ev() { is "select state from evacuations where id = '$EV'" completed; }
t0=$(date +%s%N)
if sw_t_wait "evacuation completed" 120 done_ev; then
    sw_t_ok "the evacuation completed ($((($(date +%s%N) - t0) / 1000000)) ms after the engine resumed)"
else
    sw_t_fail "the evacuation never completed: $(q "select state, reason from evacuation_servers where evacuation_id = '$EV'")"
fi
api GET "/v1/admin/evacuations/$EV" "$OP"
sw_t_eq "progress at the end: total 5, moved 4, failed 1, none in flight or waiting" "5 4 1 0 0 0" \
    "$(j '"\(.total) \(.moved) \(.failed) \(.in_flight) \(.waiting) \(.pending)"')"
sw_t_eq "the unmovable one is the big server, with the migrate job's error" "${S[big]} no_capacity" \
    "$(j '.unmovable[] | "\(.server_id) \(.code)"')"
echo "# big's reason: $(j '.unmovable[0].reason')"
api GET "/v1/admin/evacuations?node_id=$A" "$OP"
sw_t_eq "GET /v1/admin/evacuations?node_id=A lists it, completed" "200 $EV completed" \
    "$SW_STATUS $(j '[.items[] | "\(.id) \(.state)"] | join(",")')"
api GET "/v1/admin/evacuations?state=running" "$OP"
sw_t_eq "and ?state=running none" "200 0" "$SW_STATUS $(j '.items | length')"
api GET "/v1/admin/evacuations?state=done" "$OP"
sw_t_eq "an unknown state: 400" 400 "$SW_STATUS"
moved=$(q "select string_agg(s.state || ' ' || (s.node_id = '$B') || ' ' || s.epoch, ',' order by s.hostname)
             from servers s where s.id in ('${S[mid]}', '${S[r1]}', '${S[r2]}', '${S[st]}')")
sw_t_eq "moved: mid, r1, r2 running and st stopped on B, epoch 2" \
    "running true 2,running true 2,running true 2,stopped true 2" "$moved"
sw_t_eq "the big server stays on A, running" "running true" \
    "$(q "select state || ' ' || (node_id = '$A') from servers where id = '${S[big]}'")"
sw_t_eq "the held reboot ran before mid's migration" succeeded "$(q "select state from jobs where id = '$REBOOT'")"

# each server's domain once, on the node PostgreSQL says (domains files)
dom_ok() {
    local s n want
    for s in mid r1 r2 st big new; do
        for n in a b; do
            want=0
            is "select node_id from servers where id = '${S[$s]}'" "${NODE[$n]}" && want=1
            [ "$(grep -c "^sw-${S[$s]} " "$SW_T_DIR/$n.domains")" = "$want" ] || return 1
        done
    done
}
if sw_t_wait "domains" 15 dom_ok; then
    sw_t_ok "every server's domain is on its node only (domains files)"
else
    sw_t_fail "every server's domain is on its node only (domains files): a: $(grep -c '^sw-' "$SW_T_DIR/a.domains"), b: $(grep -c '^sw-' "$SW_T_DIR/b.domains")"
    for s in mid r1 r2 st big new; do
        echo "# $s ${S[$s]}: $(q "select n.name from servers s join nodes n on n.id = s.node_id where s.id = '${S[$s]}'"), a: $(grep "^sw-${S[$s]} " "$SW_T_DIR/a.domains" | cut -d' ' -f3), b: $(grep "^sw-${S[$s]} " "$SW_T_DIR/b.domains" | cut -d' ' -f3)"
    done
fi

ev=$(q "select data from events where type = 'node.evacuated'")
sw_t_eq "event node.evacuated, operators only: node, evacuation, moved 4, the big server unmovable" \
    "1 $A $EV 4 ${S[big]}" \
    "$(q "select count(*) from events where type = 'node.evacuated' and account_id is null") $(jq -r '"\(.node_id) \(.evacuation_id) \(.moved) \(.unmovable | map(.server_id) | join(","))"' <<<"$ev")"
sw_t_eq "A stays in maintenance, keeps its Redis user" "maintenance 1" \
    "$(q "select state from nodes where id = '$A'") $(sw_t_redis ACL USERS | grep -c "^node-$A$")"
api GET "/v1/admin/nodes/$A" "$OP"
sw_t_eq "A's GET shows its latest evacuation" "$EV completed" "$(j '.evacuation | "\(.id) \(.state)"')"
must PATCH "/v1/admin/nodes/$A" "$OP" '{"state":"active"}'
sw_t_eq "an operator PATCHes A active again" active "$(q "select state from nodes where id = '$A'")"
sw_t_done
