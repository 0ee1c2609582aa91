#!/usr/bin/env bash
# Batched usage ingestion (slipway-billing, core/redis.c's batch consumer):
# 3,000 samples read in batches with bad entries among them - an unknown
# server, a negative counter, a sample id that is not "<server>:<ts>",
# garbage, an entry with no "m" field - and repeats. Each bad entry is
# dead-lettered, every good one stored exactly once (duplicates too), the
# hourly sums equal the samples (sw_billing_check at the end), a
# non-canonical but valid message (escapes, other key order) is stored
# through the strict decoder, an entry delivered too often is dead-lettered
# unread, and nothing stays pending. Then bench/billing.sh runs its short
# version (20,000 samples; figures printed, not judged here).
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
psql_() { sw_t_psql -c "$1"; }
r() { sw_t_redis "$@"; }
sw_t_psql >/dev/null <<'SQL' || exit 99
INSERT INTO locations (id, code, name) VALUES ('00000000-0000-4000-8000-0000000000a1', 'i', 'i');
INSERT INTO nodes (id, name, location_id, engine_uri, kinds, cpus, ram_mb, disk_gb)
VALUES ('00000000-0000-4000-8000-0000000000e1', 'in', '00000000-0000-4000-8000-0000000000a1',
        'test:///default', '{hvm}', 8, 8192, 100);
INSERT INTO plans (id, name, kind, vcpus, ram_mb, disk_gb)
VALUES ('00000000-0000-4000-8000-0000000000b1', 'ip', 'hvm', 1, 512, 10);
INSERT INTO templates (id, name, kind, os)
VALUES ('00000000-0000-4000-8000-0000000000c1', 'it', 'hvm', 'debian');
INSERT INTO accounts (id, kind, email) VALUES ('00000000-0000-4000-9000-000000000001', 'customer', 'i@x');
INSERT INTO servers (id, owner_id, plan_id, template_id, hostname, state)
SELECT ('00000000-0000-4000-a000-00000000000' || g)::uuid, '00000000-0000-4000-9000-000000000001',
       '00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000c1', 'h' || g, 'running'
FROM generate_series(1, 3) g;
SQL
NODE=00000000-0000-4000-8000-0000000000e1
S1=00000000-0000-4000-a000-000000000001
psql_ "select id from servers order by id" >"$SW_T_DIR/servers"
# The three were on the node since before the samples; the ghost never was.
psql_ "insert into server_placements (server_id, node_id, since)
       select id, '$NODE', '2023-01-01' from servers" >/dev/null || exit 99
U="usage:$NODE"
T0=1700000000
GEN="$SW_SRCDIR/bench/billing_gen.py"
sample() { # SERVER TS [CPU]: one canonical message
    printf '{"sample_id":"%s:%s","server_id":"%s","node_id":"%s","ts":%s,"period_s":60,"cpu_ns":%s,"mem_mb":1,"mem_max_mb":1,"net_rx_bytes":1,"net_tx_bytes":1,"disk_rd_bytes":0,"disk_wr_bytes":0}' \
        "$1" "$2" "$1" "$NODE" "$2" "${3:-1}"
}
GHOST=00000000-0000-4000-a000-0000000000ff
# 1,500 good samples, the bad entries, 1,500 more (the first 300 of which
# repeat), so bad ones sit inside batches of good ones.
python3 "$GEN" resp 1500 "$SW_T_DIR/servers" "$NODE" "$T0" | sw_redis_cli --pipe >/dev/null
r XADD "$U" '*' m "$(sample "$GHOST" 1700000060)" >/dev/null
r XADD "$U" '*' m "$(sample "$S1" 1700099999 -5)" >/dev/null
r XADD "$U" '*' m "$(sample "$S1" 1700099998 | sed "s/:1700099998/:1/")" >/dev/null
r XADD "$U" '*' m 'garbage' >/dev/null
r XADD "$U" '*' x 'no m field' >/dev/null
# valid, not canonical: keys reordered, an escaped character, spaces
r XADD "$U" '*' m "{ \"ts\": 1700099997, \"sample_id\": \"$S1:1700099997\", \"server_id\": \"$S1\", \"node_id\": \"\\u0030${NODE:1}\", \"period_s\": 60, \"cpu_ns\": 7, \"mem_mb\": 1, \"mem_max_mb\": 1, \"net_rx_bytes\": 1, \"net_tx_bytes\": 1, \"disk_rd_bytes\": 0, \"disk_wr_bytes\": 0 }" >/dev/null
python3 "$GEN" resp 1500 "$SW_T_DIR/servers" "$NODE" $((T0 + 60 * 400)) | sw_redis_cli --pipe >/dev/null
# An entry some other consumer took and lost 5 times: dead on its next delivery.
r XGROUP CREATE "$U" billing 0 >/dev/null
OVER=$(r XADD "$U" '*' m "$(sample "$S1" 1700099996)")
r XREADGROUP GROUP billing ghost COUNT 100000 STREAMS "$U" '>' >/dev/null
for i in 1 2 3 4 5; do r XCLAIM "$U" billing ghost 0 "$OVER" >/dev/null; done
# ...and so hand every other entry back to the group: pending, idle, reclaimed.
sw_t_daemon billing env SLIPWAY_CLAIM_IDLE_MS=200 SLIPWAY_BILLING_INTERVAL=3600 slipway-billing
GOOD=$((1500 + 1200 + 1))   # unique good samples (300 repeats) + the non-canonical one
stored() { [ "$(psql_ "select count(*) from usage_samples")" = "$GOOD" ]; }
settled() { [ "$(r XPENDING "$U" billing | head -1)" = 0 ]; }
sw_t_check "every good sample is stored once ($GOOD)" sw_t_wait "stored" 60 stored
sw_t_check "nothing stays pending" sw_t_wait "acked" 60 settled
sw_t_eq "the six bad entries are dead-lettered" 6 "$(r XLEN "dead:$U")"
dead_has() { r XRANGE "dead:$U" - + | grep -q "$1"; }
sw_t_check "the unknown server is refused as not on the node" dead_has server_not_on_node
sw_t_eq "refusals for what a message claims are recorded by reason" "malformed 4,server_not_on_node 1" \
    "$(psql_ "select string_agg(reason || ' ' || n, ',' order by reason) from (select reason, count(*) n from rejected_messages group by 1) x")"
sw_t_check "the over-delivered entry is dead for its deliveries" dead_has 'too many deliveries'

sw_t_eq "the non-canonical message is stored with its values" "7 $NODE" \
    "$(psql_ "select cpu_ns || ' ' || node_id from usage_samples where sample_id = '$S1:1700099997'")"
sw_t_eq "the hourly sums count every sample once" "$GOOD" "$(psql_ "select sum(samples) from usage_hourly")"
sw_t_eq "and the usage of each server" "$(psql_ "select string_agg(n::text, ',' order by server_id) from (select server_id, count(*) n from usage_samples group by 1) x")" \
    "$(psql_ "select string_agg(n::text, ',' order by server_id) from (select server_id, sum(samples) n from usage_hourly group by 1) x")"
sw_t_check "bench/billing.sh 20000 runs and checks itself" \
    bash -c "SW_KEEP=0 bash '$SW_SRCDIR/bench/billing.sh' 20000 >'$SW_T_DIR/bench.out' 2>&1"
sed 's/^/# /' "$SW_T_DIR/bench.out" | tail -6
sw_t_done
