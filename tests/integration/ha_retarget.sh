#!/usr/bin/env bash
# A recovery whose target dies before it ran (issue 15, "High availability";
# migrations/0039): three test-driver nodes "a", "b", "c" share a pool, one
# ha server runs on a (no fence agent: an operator confirms), b and c have
# the libvirt agent (on the test driver's file, it succeeds), c draining.
# a's engine stops; once a is suspect, b's engine stops too and the
# operator confirms a's fence at once: the recovery is claimed on b (its
# heartbeats are not old yet), where nobody answers. Then c is set active
# and b fails:
#   - the recover job sent to b is failed node_failed, and the server is
#     recovered again, from b, onto c (before 0039 that job was taken for a
#     recovery under way and the server waited for b to come back);
#   - it runs there once: one succeeded recover job, its epoch moved on.
# Found by the soak (tests/soak), whose nodes die one after another.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
. "$SW_SRCDIR/tests/lib/hastack.sh"
sw_ha_stack

sw_ha_pair
sw_ha_node c shared true
sw_ha_engine c
C=${NODE[c]}
for n in "$B" "$C"; do
    sw_t_api PUT "/v1/admin/nodes/$n/fence" "$OP" '{"agent":"libvirt"}'
    sw_t_api PATCH "/v1/admin/nodes/$n" "$OP" '{"state":"draining"}'
done
S=$(sw_ha_order rt.example.com "$A")
sw_t_check "the ha server runs on a" test -n "$S"
sw_t_api PATCH "/v1/admin/nodes/$B" "$OP" '{"state":"active"}'
EPOCH=$(sw_t_psql -c "select epoch from servers where id = '$S'")

kill -STOP "$(cat "$SW_T_DIR/engine-a.pid")"
sw_t_check "a is suspect, waiting for the operator" sw_t_wait "a suspect" 20 \
    is "select health from nodes where id = '$A'" suspect
kill -STOP "$(cat "$SW_T_DIR/engine-b.pid")"
sw_t_api POST "/v1/admin/nodes/$A/fence-confirm" "$OP"
on_b() { is "select count(*) from jobs where server_id = '$S' and type = 'recover' and node_id = '$B'
              and params->>'from_node' = '$A'" 1; }
sw_t_check "a fails; its server's recovery is claimed on b, whose engine has just stopped" \
    sw_t_wait "the claim on b" 10 on_b
sw_t_api PATCH "/v1/admin/nodes/$C" "$OP" '{"state":"active"}'
on_c() { is "select s.state || ' ' || s.node_id || ' ' || j.state from servers s join jobs j
              on j.server_id = s.id and j.type = 'recover' and j.params->>'from_node' = '$B'
              where s.id = '$S'" "running $C succeeded"; }
sw_t_check "b fails too: the server is recovered again, from b onto c" sw_t_wait "the recovery on c" 40 on_c
sw_t_eq "the recover job sent to b failed node_failed; one succeeded; the epoch moved on" \
    "failed node_failed|succeeded  t" \
    "$(sw_t_psql -c "select string_agg(state || ' ' || coalesce(error_code, ''), '|' order by created_at) from jobs
           where server_id = '$S' and type = 'recover'") $(sw_t_psql -c "select epoch > $EPOCH from servers where id = '$S'")"
kill -9 "$(cat "$SW_T_DIR/engine-a.pid")" "$(cat "$SW_T_DIR/engine-b.pid")" 2>/dev/null
sw_t_done
