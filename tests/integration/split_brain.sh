#!/usr/bin/env bash
# Never two running copies (issue 15, "High availability"; provisioner/README.md
# "High availability"), on two test-driver nodes "a" and "b" sharing a pool,
# with one ha server on a. a's engine is paused (SIGSTOP) past the
# threshold: a hung host, or one cut off by a partition, whose domain
# still runs.
#   1. a's fence agent fails (libvirt, through a socket nobody serves): a is
#      suspect, the fence is retried with backoff, and nothing restarts: no
#      recover job, the server stays on a with its epoch, b runs no copy;
#   2. the agent becomes manual: still nothing restarts until an operator
#      confirms; then a is fenced and failed, and the server runs on b, its
#      epoch one more; a confirmation for a healthy node is refused (409);
#      A second ha server, stopped on a by its customer, is then on b,
#      defined there and still stopped, its epoch one more; a third,
#      suspended on a by its customer's reseller, is on b the same way,
#      defined and stopped, still suspended: its customer cannot start it,
#      and the reseller's unsuspend starts it on b;
#   3. a's engine resumes: its heartbeats do not make a healthy again, and
#      it starts none of the moved domains: reconciliation destroys its stale
#      copy (the domains file shows it gone or shut off, domain.stale_copy
#      recorded), so exactly one copy runs, on b; the third server, once
#      unsuspended, runs on b and never on a.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
. "$SW_SRCDIR/tests/lib/hastack.sh"
sw_ha_stack
sw_ha_pair
api PUT "/v1/admin/nodes/$A/fence" "$OP" "{\"agent\":\"libvirt\",\"config\":{\"uri\":\"qemu+unix:///system?socket=$D/nobody.sock\"}}"
sw_t_eq "a's fence agent set (libvirt, through a socket nobody serves)" "200 libvirt" "$SW_STATUS $(j .fence.agent)"

api PATCH "/v1/admin/nodes/$B" "$OP" '{"state":"draining"}'
api POST /v1/orders "$TOK" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"sb.example.com\",\"location_id\":\"$LOC\"}"
S=$(j .server.id)
sw_t_check "the ha server runs on a" sw_t_wait "server on a" 60 \
    is "select state || ' ' || node_id from servers where id = '$S'" "running $A"
# A second ha server on a, stopped by its customer: a failed node's stopped
# ha servers are recovered too, defined on the new node and left stopped.
api POST /v1/orders "$TOK" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"sb2.example.com\",\"location_id\":\"$LOC\"}"
S2=$(j .server.id)
sw_t_wait "second server on a" 60 is "select state || ' ' || node_id from servers where id = '$S2'" "running $A" >/dev/null
api POST "/v1/servers/$S2/actions" "$TOK" '{"type":"stop"}'
sw_t_check "the second ha server is stopped on a" sw_t_wait "second server stopped" 60 \
    is "select state || ' ' || node_id from servers where id = '$S2'" "stopped $A"
# A third, of a reseller's customer, suspended on a by the reseller: a
# failed node's suspended ha servers are recovered too, and stay suspended.
api POST /v1/admin/accounts "$OP" '{"kind":"reseller","email":"rs@example.com","name":"rs","password":"rs-secret-pw"}'
api POST /v1/auth/login "" '{"email":"rs@example.com","password":"rs-secret-pw"}'
RTOK=$(j .token)
api POST /v1/reseller/customers "$RTOK" '{"email":"c3@example.com","name":"c3","password":"c3-secret-pw"}'
C3=$(j .id)
api POST /v1/auth/login "" '{"email":"c3@example.com","password":"c3-secret-pw"}'
TOK3=$(j .token)
api POST "/v1/reseller/customers/$C3/orders" "$RTOK" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"sb3.example.com\",\"location_id\":\"$LOC\"}"
S3=$(j .server.id)
sw_t_wait "third server on a" 60 is "select state || ' ' || node_id from servers where id = '$S3'" "running $A" >/dev/null
api POST "/v1/reseller/servers/$S3/suspend" "$RTOK"
paused_on_a() {
    is "select s.state || ' ' || s.node_id || ' ' || j.state from servers s join jobs j
        on j.server_id = s.id and j.type = 'suspend' where s.id = '$S3'" "suspended $A succeeded" &&
        grep -qi "$S3 suspended" "$D/domains-a"
}
sw_t_check "the third ha server is suspended (paused) on a by its reseller" \
    sw_t_wait "third server suspended" 60 paused_on_a
api PATCH "/v1/admin/nodes/$B" "$OP" '{"state":"active"}'
EPOCH=$(q "select epoch from servers where id = '$S'") EPOCH2=$(q "select epoch from servers where id = '$S2'")
EPOCH3=$(q "select epoch from servers where id = '$S3'")
a_runs() { grep -qi "$S.*running" "$D/domains-a"; }
sw_t_check "a's engine runs its domain" sw_t_wait "a's domains file" 10 a_runs
nothing_moved() {
    is "select node_id || ' ' || epoch || ' ' || state || ' ' ||
        (select count(*) from jobs where server_id = '$S' and type = 'recover')
        from servers where id = '$S'" "$A $EPOCH running 0" &&
        is "select node_id || ' ' || state || ' ' ||
        (select count(*) from jobs where server_id = '$S2' and type = 'recover')
        from servers where id = '$S2'" "$A stopped 0" &&
        is "select node_id || ' ' || epoch || ' ' || state || ' ' ||
        (select count(*) from jobs where server_id = '$S3' and type = 'recover')
        from servers where id = '$S3'" "$A $EPOCH3 suspended 0" &&
        ! grep -qiE "$S|$S2|$S3" "$D/domains-b" 2>/dev/null
}

# ---- 1. a hangs; its fence fails ----
PA=$SW_T_PID_engine_a
kill -STOP "$PA"
T0=$SECONDS
sw_t_check "a is suspect and its failing fence is retried" sw_t_wait "two fence attempts" 60 sw_ha_retried "$A"
# between retries (a retry's run reads 'fencing' for its moment)
sw_t_check "a stays suspect, the fence's error recorded" sw_t_wait "suspect between retries" 20 is \
    "select health || ' ' || (fence_error like '%libvirt agent failed%') from nodes where id = '$A'" "suspect true"
sw_t_eq "node.suspect recorded, no node.fenced" "1 0" \
    "$(q "select count(*) filter (where type = 'node.suspect') || ' ' || count(*) filter (where type = 'node.fenced') from events")"
sw_t_check "with a failed fence nothing restarts ($((SECONDS - T0)) s after the pause)" nothing_moved

# ---- 2. manual: nothing until the operator confirms ----
# (and the node is not set active while its recoveries run)
api PUT "/v1/admin/nodes/$A/fence" "$OP" '{"agent":"manual"}'
sleep $((SUSPECT + 2)) # nothing to poll for: nothing may happen
sw_t_eq "manual: a waits for an operator" "suspect true" \
    "$(q "select health || ' ' || (fence_error like '%operator%') from nodes where id = '$A'")"
sw_t_check "manual: nothing restarts before the confirmation" nothing_moved
api POST "/v1/admin/nodes/$B/fence-confirm" "$OP"
sw_t_eq "a confirmation for a healthy node is refused" 409 "$SW_STATUS"
# b's engine held for a moment, so that a's recoveries are still pending
# when an operator tries to bring a back (b stays under the threshold)
PB=$SW_T_PID_engine_b
kill -STOP "$PB"
api POST "/v1/admin/nodes/$A/fence-confirm" "$OP"
sw_t_eq "the operator confirms a's fence" "200" "$SW_STATUS"
a_failed() { is "select health from nodes where id = '$A'" failed; }
sw_t_wait "a failed" 5 a_failed
api PATCH "/v1/admin/nodes/$A" "$OP" '{"state":"active"}'
sw_t_eq "a set active while its recoveries run: 409, it stays failed and offline" "409 failed offline" \
    "$SW_STATUS $(q "select health || ' ' || state from nodes where id = '$A'")"
kill -CONT "$PB"
moved() {
    is "select node_id || ' ' || epoch || ' ' || state from servers where id = '$S'" \
        "$B $((EPOCH + 1)) running" && grep -qi "$S.*running" "$D/domains-b"
}
sw_t_check "after the confirmation the server runs on b, its epoch one more" \
    sw_t_wait "server on b" 60 moved
moved_stopped() {
    is "select node_id || ' ' || epoch || ' ' || state from servers where id = '$S2'" \
        "$B $((EPOCH2 + 1)) stopped" && grep -qi "$S2 stopped" "$D/domains-b"
}
sw_t_check "the stopped ha server is on b, defined there and stopped, its epoch one more" \
    sw_t_wait "stopped server on b" 60 moved_stopped
moved_suspended() {
    is "select node_id || ' ' || epoch || ' ' || state from servers where id = '$S3'" \
        "$B $((EPOCH3 + 1)) suspended" && grep -qi "$S3 stopped" "$D/domains-b"
}
sw_t_check "the suspended ha server is on b, defined there and stopped, still suspended, its epoch one more" \
    sw_t_wait "suspended server on b" 60 moved_suspended
sw_t_eq "server.recovered for all three" 3 \
    "$(q "select count(*) from events where type = 'server.recovered' and data->>'server_id' in ('$S', '$S2', '$S3')")"
api POST "/v1/servers/$S3/actions" "$TOK3" '{"type":"start"}'
sw_t_eq "its customer still cannot start it (409, suspended by its provider)" "409 suspended" \
    "$SW_STATUS $(q "select state from servers where id = '$S3'")"
sw_t_eq "a is failed and offline; node.fenced (by the operator) and node.failed recorded" \
    "failed offline 1 1 true" \
    "$(q "select n.health || ' ' || n.state || ' ' ||
        (select count(*) from events where type = 'node.fenced') || ' ' ||
        (select count(*) from events where type = 'node.failed') || ' ' ||
        (n.fenced_by like 'operator:%') from nodes n where n.id = '$A'")"

# ---- 3. a's engine comes back ----
kill -CONT "$PA"
beats() { is "select last_heartbeat_at > now() - interval '2 s' from nodes where id = '$A'" t; }
sw_t_check "a's engine resumes and beats" sw_t_wait "a beats" 20 beats
stale_gone() { ! grep -qi "$S.*running" "$D/domains-a"; }
sw_t_check "a starts none of the moved domains (its stale copy is gone or shut off)" \
    sw_t_wait "a's stale copy gone" 30 stale_gone
sw_t_eq "the stale copy is recorded for the operator (domain.stale_copy)" 1 \
    "$(q "select count(*) from node_events where node_id = '$A' and kind = 'domain.stale_copy'
        and detail->>'server_id' = '$S'")"
sw_t_eq "a's heartbeats do not make it healthy: failed until an operator says so" failed \
    "$(q "select health from nodes where id = '$A'")"
sleep 2 # one more reconciliation of a: nothing may come back
sw_t_check "exactly one running copy, on b" bash -c \
    "! grep -qi '$S.*running' '$D/domains-a' && [ \$(grep -ci '$S.*running' '$D/domains-b') = 1 ]"
sw_t_check "the stopped server runs nowhere; b holds it, stopped" bash -c \
    "! grep -qi '$S2.*running' '$D/domains-a' '$D/domains-b' && grep -qi '$S2 stopped' '$D/domains-b'"
api POST "/v1/reseller/servers/$S3/unsuspend" "$RTOK"
sw_t_eq "the reseller unsuspends the recovered server" 202 "$SW_STATUS"
unsuspended_on_b() {
    is "select s.state || ' ' || s.node_id || ' ' || j.state from servers s join jobs j
        on j.server_id = s.id and j.type = 'unsuspend' where s.id = '$S3'" "running $B succeeded" &&
        grep -qi "$S3 running" "$D/domains-b"
}
sw_t_check "the unsuspend starts it on b" sw_t_wait "third server running on b" 60 unsuspended_on_b
sleep 2 # one more reconciliation of a: it may not come back there
sw_t_check "it runs on b only, never on the fenced a" bash -c \
    "! grep -qi '$S3.*running' '$D/domains-a' && [ \$(grep -ci '$S3 running' '$D/domains-b') = 1 ]"
sw_t_done
