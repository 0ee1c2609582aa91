#!/usr/bin/env bash
# A dead node's ha server with jobs waiting (issue 15, "High availability";
# migrations/0039): two test-driver nodes "a" and "b" share a pool, one ha
# server runs on a, whose fence agent (libvirt, on the test driver's file)
# succeeds. a's engine stops (SIGSTOP) and its customer asks a reboot (sent
# to a, never answered) and then a stop (queued behind it: one job at a
# time per server). a is suspect, fenced and failed:
#   - the server runs on b, recovered, within the threshold and a little;
#   - the reboot and the stop, both asked before the failure, are failed
#     node_failed: none is sent to the dead node ahead of the recovery
#     (before 0039 the stop was, and held the recovery until a came back);
#   - a job asked after the recovery runs on b.
# Then b dies too (its engine stopped, its agent libvirt), with a still
# failed: no healthy node is left, so the recovery fails no_capacity and
# the server is failed: it holds no allocation and no address (a failed
# recovery releases them as a failed create does; before, they leaked).
# Found by the soak (tests/soak), whose customers act on servers while
# their node dies.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
. "$SW_SRCDIR/tests/lib/hastack.sh"
sw_ha_stack


sw_ha_pair
sw_t_api PUT "/v1/admin/nodes/$A/fence" "$OP" '{"agent":"libvirt"}'
sw_t_eq "a's fence agent: libvirt, on its test-driver file" "200 libvirt" "$SW_STATUS $(sw_ha_j .fence.agent)"
sw_t_api PATCH "/v1/admin/nodes/$B" "$OP" '{"state":"draining"}'
S=$(sw_ha_order hq.example.com "$A")
sw_t_check "the ha server runs on a" test -n "$S"
sw_t_api PATCH "/v1/admin/nodes/$B" "$OP" '{"state":"active"}'

kill -STOP "$(cat "$SW_T_DIR/engine-a.pid")"
T0=$SECONDS
sw_t_api POST "/v1/servers/$S/actions" "$TOK" '{"type":"reboot"}'
REBOOT=$(sw_ha_j .job.id)
sw_t_api POST "/v1/servers/$S/actions" "$TOK" '{"type":"stop"}'
STOP=$(sw_ha_j .job.id)
sw_t_check "the reboot is sent to a, the stop queued behind it" sw_t_wait "reboot running" 10 \
    is "select string_agg(state, ' ' order by created_at) from jobs where id in ('$REBOOT', '$STOP')" "running queued"

back() { is "select s.state || ' ' || s.node_id || ' ' || j.state from servers s
              join jobs j on j.server_id = s.id and j.type = 'recover' where s.id = '$S'" "running $B succeeded"; }
sw_t_check "a fails and the server runs on b, recovered" sw_t_wait "the recovery" 40 back
echo "# recovered $((SECONDS - T0)) s after a's engine stopped (heartbeat $HB s, threshold $SUSPECT s)"
sw_t_eq "the reboot and the stop asked before the failure: failed node_failed, neither sent to a after it" \
    "failed node_failed $A|failed node_failed " \
    "$(sw_t_psql -c "select string_agg(state || ' ' || error_code || ' ' || coalesce(node_id::text, ''), '|' order by created_at)
           from jobs where id in ('$REBOOT', '$STOP')")"
sw_t_api POST "/v1/servers/$S/actions" "$TOK" '{"type":"stop"}'
AFTER=$(sw_ha_j .job.id)
sw_t_check "a stop asked after the recovery runs on b" sw_t_wait "stop on b" 30 \
    is "select j.state || ' ' || j.node_id || ' ' || s.state from jobs j join servers s on s.id = j.server_id
         where j.id = '$AFTER'" "succeeded $B stopped"

sw_t_api PUT "/v1/admin/nodes/$B/fence" "$OP" '{"agent":"libvirt"}'
kill -STOP "$(cat "$SW_T_DIR/engine-b.pid")"
lost() { is "select s.state || ' ' || j.state || ' ' || j.error_code from servers s join jobs j on j.server_id = s.id
              and j.type = 'recover' and j.params->>'from_node' = '$B' where s.id = '$S'" "failed failed no_capacity"; }
sw_t_check "b fails with no healthy node left: the recovery fails no_capacity, the server is failed" \
    sw_t_wait "the failed recovery" 40 lost
sw_t_eq "the failed server holds no allocation and no address" "0 0 " \
    "$(sw_t_psql -c "select (select count(*) from allocations where server_id = '$S') || ' ' ||
               (select count(*) from ip_assignments where server_id = '$S') || ' ' ||
               coalesce(host(ipv4), '') || coalesce(host(ipv6), '') from servers where id = '$S'")"
kill -9 "$(cat "$SW_T_DIR/engine-a.pid")" "$(cat "$SW_T_DIR/engine-b.pid")" 2>/dev/null
sw_t_done
