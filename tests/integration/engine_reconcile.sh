#!/usr/bin/env bash
# Reconciliation with the provisioner and an engine on a simulated node
# (libvirt's test driver, whose domains live only as long as the engine):
# three servers ordered and left running, stopped and suspended; the engine
# is killed with -9 and restarted (the simulated host "rebooted", empty);
# every server's domain comes back in its state, each recorded as a
# domain.restored node event; an orphan sw-* domain (defined in the node
# file, so there at every start) is reported as domain.orphan and kept; a
# stray sw-<uuid>-root-* volume of no server in the node's pool (also in
# the node file) is reported as volume.orphan, kept, and never sampled;
# usage across the restart is neither lost nor counted twice (disjoint
# periods, unique sample ids), and the stopped server's disk is sampled
# while it is stopped; and the engine's own ledger check refuses a
# create the node cannot guarantee, even one nobody claimed. Then a server
# moves to another node while this engine is paused (SIGSTOP past 3
# heartbeats, as a partitioned host): resumed, the engine finds its copy
# stale by epoch, destroys and undefines it (its volume kept, its XML in a
# domain.stale_copy event), refuses a job for it, and samples the volume it
# keeps for nobody (S2 lives elsewhere now). Last, a host reboot
# while a server's migrate job runs does not bring that server back.
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
export SLIPWAY_CLAIM_IDLE_MS=1000

q() { sw_t_psql -c "$1"; }
r() { sw_t_redis "$@"; }
uuid() { cat /proc/sys/kernel/random/uuid; }
is() { [ "$(q "$1")" = "$2" ]; }

CUST=$(uuid) LOC=$(uuid) NODE=$(uuid) PLAN=$(uuid) TPL=$(uuid) NODE2=$(uuid)
ORPHAN=0bad0000-0000-4000-8000-$(printf '%012d' $$)
STRAY=5a1e0000-0000-4000-8000-$(printf '%012d' $$)
STRAY_VOL=sw-$STRAY-root-0.qcow2
# The engine's default dir pool (engines/storage.c: <state dir>/pools/slipway),
# here from the start with a stray root volume no server owns.
POOL_DIR=/var/lib/slipway/pools/slipway
cat >"$SW_T_DIR/node.xml" <<XML
<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>8</cores><threads>1</threads>
<active>8</active><mhz>2400</mhz><model>x86_64</model></cpu><memory>16777216</memory>
<domain type='test'><name>sw-$ORPHAN</name><uuid>$ORPHAN</uuid><memory>524288</memory>
<os><type>hvm</type></os></domain>
<pool type='dir'><name>slipway</name><target><path>$POOL_DIR</path></target>
<volume><name>$STRAY_VOL</name><capacity unit='GiB'>10</capacity><allocation unit='MiB'>300</allocation>
<target><path>$POOL_DIR/$STRAY_VOL</path></target></volume></pool></node>
XML
q "
INSERT INTO accounts (id, kind, email) VALUES ('$CUST', 'customer', 'alice@example.com');
INSERT INTO locations (id, code, name) VALUES ('$LOC', 'a', 'A');
INSERT INTO nodes (id, name, location_id, engine_uri, kinds, cpus, ram_mb, disk_gb, ram_ratio)
    VALUES ('$NODE', 'n1', '$LOC', 'test://$SW_T_DIR/node.xml', '{hvm}', 8, 16384, 500, 1.5);
-- where S2 moves at the end; offline, so no order is placed there
INSERT INTO nodes (id, name, location_id, engine_uri, kinds, cpus, ram_mb, disk_gb, state)
    VALUES ('$NODE2', 'n2', '$LOC', 'test:///default', '{hvm}', 8, 16384, 500, 'offline');
INSERT INTO plans (id, name, kind, vcpus, ram_mb, burst_ram_mb, disk_gb, price_monthly)
    VALUES ('$PLAN', 'hvm-1', 'hvm', 1, 1024, 2048, 10, 500);
INSERT INTO templates (id, name, kind, os) VALUES ('$TPL', 'Debian 12', 'hvm', 'debian-12');" \
    >/dev/null || exit 99

new_order() {
    local s j o
    s=$(uuid) j=$(uuid) o=$(uuid)
    q "BEGIN;
INSERT INTO servers (id, owner_id, plan_id, template_id, location_id, hostname)
    VALUES ('$s', '$CUST', '$PLAN', '$TPL', '$LOC', 'h-${s:0:8}.example.com');
INSERT INTO orders (id, account_id, server_id, plan_id, price_amount, price_currency)
    VALUES ('$o', '$CUST', '$s', '$PLAN', 500, 'EUR');
INSERT INTO jobs (id, server_id, account_id, type) VALUES ('$j', '$s', '$CUST', 'create');
INSERT INTO outbox (stream, payload) VALUES ('jobs',
    '{\"job_id\":\"$j\",\"server_id\":\"$s\",\"type\":\"create\"}');
SELECT pg_notify('outbox', '');
COMMIT;" >/dev/null || exit 99
    echo "$s"
}
new_job() {
    local j
    j=$(uuid)
    q "BEGIN;
INSERT INTO jobs (id, server_id, account_id, type) VALUES ('$j', '$1', '$CUST', '$2');
INSERT INTO outbox (stream, payload) VALUES ('jobs',
    '{\"job_id\":\"$j\",\"server_id\":\"$1\",\"type\":\"$2\"}');
SELECT pg_notify('outbox', '');
COMMIT;" >/dev/null || exit 99
    echo "$j"
}
srv_is() { is "select state from servers where id = '$1'" "$2"; }
job_is() { is "select state from jobs where id = '$1'" "$2"; }
events() { q "select count(*) from node_events where node_id = '$NODE' and kind = '$1'"; }
events_are() { [ "$(events "$1")" = "$2" ]; }
restored_state() {
    q "select detail->>'state' from node_events where kind = 'domain.restored'
        and detail->>'server_id' = '$1' order by created_at desc limit 1"
}

ENGINE=0
start_engine() {
    ENGINE=$((ENGINE + 1))
    sw_t_daemon "engine$ENGINE" env SLIPWAY_NODE_ID="$NODE" SLIPWAY_USAGE_INTERVAL=1 \
        SLIPWAY_HEARTBEAT_INTERVAL=1 SLIPWAY_RECONCILE_INTERVAL=2 \
        SLIPWAY_DOMAINS_FILE="$SW_T_DIR/domains" slipway-engine
}
engine_pid() { eval "echo \$SW_T_PID_engine$ENGINE"; }
engine_log() { cat "$SW_T_DIR/engine$ENGINE.log"; }

sw_t_daemon provisioner slipway-provisioner
start_engine

# ---- three servers: running, stopped, suspended ----
S1=$(new_order) S2=$(new_order) S3=$(new_order)
for s in "$S1" "$S2" "$S3"; do
    sw_t_check "server ${s:0:8} running" sw_t_wait "running" 30 srv_is "$s" running
done
new_job "$S2" stop >/dev/null
new_job "$S3" suspend >/dev/null
sw_t_check "S2 stopped" sw_t_wait "stopped" 30 srv_is "$S2" stopped
sw_t_check "S3 suspended" sw_t_wait "suspended" 30 srv_is "$S3" suspended

sw_t_check "the orphan domain is reported once" sw_t_wait "orphan event" 15 events_are domain.orphan 1
sw_t_eq "with its name, uuid and state" "sw-$ORPHAN $ORPHAN running" \
    "$(q "select detail->>'domain' || ' ' || (detail->>'uuid') || ' ' || (detail->>'state') from node_events where kind = 'domain.orphan'")"
sw_t_eq "nothing needed restoring while the engine ran" 0 "$(events domain.restored)"
sw_t_check "a later pass still sees it, and does not report it again" \
    sw_t_wait "second pass" 10 bash -c "[ \$(grep -c 'reconcile.done.*orphans=1' '$SW_T_DIR/engine$ENGINE.log') -ge 2 ]"
sw_t_eq "still one orphan event" 1 "$(events domain.orphan)"

# ---- a stray volume: reported, kept, never billed ----
sw_t_check "the stray volume is reported once" sw_t_wait "volume.orphan" 10 events_are volume.orphan 1
sw_t_eq "with its pool and name" "slipway $STRAY_VOL" \
    "$(q "select (detail->>'pool') || ' ' || (detail->>'volume') from node_events where kind = 'volume.orphan'")"
sw_t_check "later passes count it and do not report it again" \
    sw_t_wait "orphan volume pass" 10 bash -c "[ \$(grep -c 'reconcile.done.*orphan_volumes=1' '$SW_T_DIR/engine$ENGINE.log') -ge 2 ]"
sw_t_eq "still one volume.orphan event" 1 "$(events volume.orphan)"
sw_t_check "the volume is still in the pool" grep -q "^vol slipway $STRAY_VOL\$" "$SW_T_DIR/domains"
sw_t_eq "and no usage sample names its server (nobody's to bill)" 0 \
    "$(r --raw XRANGE "usage:$NODE" - + | grep -c "\"server_id\":\"$STRAY\"")"

# ---- kill -9: the simulated host comes back empty ----
# S1's IPAM record (no pool here: set directly) goes into its restored filter
q "UPDATE servers SET ipv4 = '192.0.2.20' WHERE id = '$S1'" >/dev/null || exit 99
sleep 2 # a few usage samples before the crash
{ kill -9 "$(engine_pid)" && wait "$(engine_pid)"; } 2>/dev/null
start_engine
sw_t_check "after the restart, all three domains are restored" \
    sw_t_wait "3 restored" 20 events_are domain.restored 3
sw_t_eq "S1 back running" running "$(restored_state "$S1")"
sw_t_eq "S2 back stopped (defined, never booted)" stopped "$(restored_state "$S2")"
sw_t_eq "S3 back suspended (started paused)" suspended "$(restored_state "$S3")"
sw_t_eq "each event says what the server wanted" "running stopped suspended" \
    "$(q "select string_agg(detail->>'want', ' ' order by array_position(array['$S1','$S2','$S3']::uuid[], (detail->>'server_id')::uuid)) from node_events where kind = 'domain.restored'")"
sw_t_check "the orphan is reported by the new engine too, and kept" \
    sw_t_wait "orphan again" 10 events_are domain.orphan 2
sw_t_check "a later pass restores nothing more and keeps the orphan" \
    sw_t_wait "steady" 10 bash -c "grep -q 'reconcile.done servers=3 domains=4 restored=0 failed=0 orphans=1' '$SW_T_DIR/engine$ENGINE.log'"
sw_t_eq "server states untouched by the restart" "running stopped suspended" \
    "$(q "select string_agg(state, ' ' order by array_position(array['$S1','$S2','$S3']::uuid[], id)) from servers where id in ('$S1','$S2','$S3')")"

# The restored domains behave as their states say.
J=$(new_job "$S3" reboot)
sw_t_check "S3 is paused: a reboot is refused (conflict)" sw_t_wait "reboot failed" 30 job_is "$J" failed
sw_t_eq "with conflict" conflict "$(q "select error_code from jobs where id = '$J'")"
J=$(new_job "$S2" start)
sw_t_check "S2 is defined and off: start boots it" sw_t_wait "start" 30 job_is "$J" succeeded
sw_t_check "S2 running" sw_t_wait "S2 running" 15 srv_is "$S2" running
J=$(new_job "$S1" stop)
sw_t_check "S1 is running: stop works" sw_t_wait "stop" 30 job_is "$J" succeeded

# ---- usage across the restart: nothing counted twice ----
sleep 2
r --raw XRANGE "usage:$NODE" - + | awk 'NR % 3 == 0' >"$SW_T_DIR/usage.jsonl"
sw_t_check "usage samples were sent before and after the restart" \
    test "$(jq -s "[.[] | select(.server_id == \"$S1\")] | length" "$SW_T_DIR/usage.jsonl")" -ge 3
sw_t_eq "every sample id is unique" 0 \
    "$(jq -r .sample_id "$SW_T_DIR/usage.jsonl" | sort | uniq -d | wc -l)"
sw_t_eq "per server, sample periods never overlap" "[]" \
    "$(jq -sc 'group_by(.server_id) | map(sort_by(.ts) | . as $s | [range(1; length) | select($s[.].ts - $s[.].period_s < $s[. - 1].ts)]) | map(select(length > 0))' "$SW_T_DIR/usage.jsonl")"
sw_t_check "the paused S3 is still sampled after the restart" \
    test "$(jq -s "[.[] | select(.server_id == \"$S3\")] | length" "$SW_T_DIR/usage.jsonl")" -ge 2
# S2 stopped (before the crash, and restored defined and off) until its start job
stopped_s2() { jq -c "select(.server_id == \"$S2\" and .mem_mb == 0)" "$SW_T_DIR/usage.jsonl"; }
sw_t_check "the stopped S2 is sampled while stopped: $(stopped_s2 | wc -l) samples" \
    test "$(stopped_s2 | wc -l)" -ge 2
sw_t_eq "each with its volumes' allocation and nothing else" '[{"cpu":0,"disk":true,"io":0,"mem":0}]' \
    "$(stopped_s2 | jq -Ssc 'map({cpu: .cpu_ns, mem: (.mem_mb + .mem_max_mb), disk: (.disk_bytes > 0),
        io: (.net_rx_bytes + .net_tx_bytes + .disk_rd_bytes + .disk_wr_bytes)}) | unique')"

# ---- the engine's ledger check: a create nobody claimed that breaks a guarantee ----
BIG=$(uuid) BJ=$(uuid)
r XADD "node:$NODE" '*' m "{\"job_id\":\"$BJ\",\"server_id\":\"$BIG\",\"node_id\":\"$NODE\",\"type\":\"create\",\"kind\":\"hvm\",\"vcpus\":1,\"ram_mb\":15000,\"max_ram_mb\":15000,\"swap_mb\":0,\"disk_gb\":10,\"hostname\":\"big.example.com\",\"os\":\"debian-12\"}" >/dev/null
# The provisioner knows no such job and dead-letters the result: look in both.
result_of() {
    { r --raw XRANGE "results:$NODE" - +; r --raw XRANGE "dead:results:$NODE" - +; } |
        grep -F "\"job_id\":\"$1\"" | grep '^{' | head -1
}
big_result() { result_of "$BJ"; }
has_big_result() { [ -n "$(big_result)" ]; }
sw_t_check "the engine answers it" sw_t_wait "result" 15 has_big_result
sw_t_eq "refused: unprocessable, not retryable, nothing defined" "false unprocessable false absent" \
    "$(big_result | jq -r '[.ok, .error_code, .retryable, .domain_state] | join(" ")')"
sw_t_check "the log says which class did not fit" grep -q "class MEM_GUAR" "$SW_T_DIR/engine$ENGINE.log"

# ---- a server that moved on while the engine was paused: a stale copy ----
sw_t_eq "S2 carries epoch 1 in its domain's metadata" 1 "$(q "select epoch from servers where id = '$S2'")"
kill -STOP "$(engine_pid)"
# what a migration or a recovery commits: S2 now lives on n2 (0030's trigger bumps the epoch)
q "UPDATE servers SET node_id = '$NODE2' WHERE id = '$S2';
   UPDATE allocations SET node_id = '$NODE2' WHERE server_id = '$S2'" >/dev/null || exit 99
sw_t_eq "the move bumped S2's epoch" 2 "$(q "select epoch from servers where id = '$S2'")"
sleep 4 # past 3 heartbeats of 1 s
kill -CONT "$(engine_pid)"
sw_t_check "resumed, the engine fences its stale copy of S2" \
    sw_t_wait "stale copy" 15 events_are domain.stale_copy 1
sw_t_eq "the event names S2, its copy's epoch and the current one, and the state it had" \
    "$S2 1 2 running" \
    "$(q "select concat_ws(' ', detail->>'server_id', detail->>'epoch', detail->>'current_epoch', detail->>'state') from node_events where kind = 'domain.stale_copy'")"
sw_t_check "and keeps its definition for the operator" \
    test "$(q "select detail->>'xml' from node_events where kind = 'domain.stale_copy'" | grep -c '<slipway:epoch>1</slipway:epoch>')" = 1
sw_t_check "the heartbeat noticed the gap" grep -q "heartbeat.gap" "$SW_T_DIR/engine$ENGINE.log"
domains_now() { grep -c "^sw-$S2 " "$SW_T_DIR/domains"; }
sw_t_check "S2's domain is gone from the node" sw_t_wait "undefined" 10 bash -c "[ \$(grep -c '^sw-$S2 ' '$SW_T_DIR/domains') = 0 ]"
sw_t_check "its root volume stays (shared storage would be the new copy's)" \
    grep -q "^vol slipway sw-$S2-root-0.qcow2" "$SW_T_DIR/domains"
# Fenced at FENCED: from the next full period on, this node sends nothing for S2
# (its volume here is no longer the node's to bill; n2 would sample its own copy).
FENCED=$(q "select extract(epoch from created_at)::bigint from node_events where kind = 'domain.stale_copy'")
sleep 3
sw_t_eq "the volume S2 left here is not sampled once its copy is fenced" 0 \
    "$(r --raw XRANGE "usage:$NODE" - + | grep '^{' | jq -c "select(.server_id == \"$S2\" and .ts > $FENCED + 1)" | wc -l)"
sw_t_check "S1 and S3, still this node's, keep running here" \
    bash -c "grep -q '^sw-$S1 .* stopped' '$SW_T_DIR/domains' && grep -q '^sw-$S3 .* suspended' '$SW_T_DIR/domains'"
MJ=$(uuid)
r XADD "node:$NODE" '*' m "{\"job_id\":\"$MJ\",\"server_id\":\"$S2\",\"node_id\":\"$NODE\",\"type\":\"start\",\"kind\":\"hvm\",\"vcpus\":1,\"ram_mb\":1024,\"max_ram_mb\":2048,\"swap_mb\":0,\"disk_gb\":10,\"hostname\":\"late.example.com\",\"os\":\"debian-12\",\"epoch\":1}" >/dev/null
moved_result() { result_of "$MJ"; }
has_moved_result() { [ -n "$(moved_result)" ]; }
sw_t_check "a late start for S2 is answered" sw_t_wait "result" 15 has_moved_result
sw_t_eq "refused: the server lives elsewhere, nothing started" \
    "false conflict the server lives on another node now" \
    "$(moved_result | jq -r '[.ok, .error_code, .error] | join(" ")')"
sw_t_eq "no copy of S2 came back" 0 "$(grep -c "^sw-$S2 " "$SW_T_DIR/domains")"

# ---- a server being moved is never restored (migration 0034) ----
# S3 is mid-migration (its migrate job runs) when the host reboots: its
# domain is gone, and must stay gone until the move ends.
MV=$(uuid)
q "INSERT INTO jobs (id, server_id, account_id, type, state, node_id, started_at)
   VALUES ('$MV', '$S3', '$CUST', 'migrate', 'running', '$NODE', now())" >/dev/null || exit 99
before=$(q "select count(*) from node_events where kind = 'domain.restored' and detail->>'server_id' = '$S3'")
{ kill -9 "$(engine_pid)" && wait "$(engine_pid)"; } 2>/dev/null
start_engine
sw_t_check "after the reboot, S1 is restored" sw_t_wait "S1 back" 20 \
    bash -c "[ \$(psql '$SW_PG_URL' -qAt -c \"select count(*) from node_events where kind = 'domain.restored' and detail->>'server_id' = '$S1'\") -ge 2 ]"
sw_t_check "two passes later" sw_t_wait "passes" 10 bash -c "[ \$(grep -c 'reconcile.done' '$SW_T_DIR/engine$ENGINE.log') -ge 3 ]"
sw_t_eq "S3, whose migrate job runs, is not brought back" "$before" \
    "$(q "select count(*) from node_events where kind = 'domain.restored' and detail->>'server_id' = '$S3'")"
sw_t_eq "and has no domain here" 0 "$(grep -c "^sw-$S3 " "$SW_T_DIR/domains")"
q "UPDATE jobs SET state = 'failed', finished_at = now() WHERE id = '$MV'" >/dev/null || exit 99
sw_t_check "once the move has ended (failed: it stays here), S3 comes back suspended" \
    sw_t_wait "S3 back" 15 bash -c "grep -q '^sw-$S3 .* suspended' '$SW_T_DIR/domains'"

kill -TERM "$(engine_pid)"
sw_t_check "SIGTERM stops the engine cleanly" wait "$(engine_pid)"
sw_t_done
