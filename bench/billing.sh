#!/usr/bin/env bash
# bench/billing.sh [SAMPLES] - usage ingestion and rating: SAMPLES usage
# samples (default 1,000,000) of 1,000 servers, put on stream "usage:<node>"
# beforehand, then taken by slipway-billing (batches of 1,000: one
# XREADGROUP, one INSERT with the hourly sums, one XACK) and rated into
# draft invoices (`slipwayctl invoice run --draft`); samples per second,
# next to a plain COPY of the same rows (as CSV, into a table shaped and
# indexed like usage_samples) measured in the same run.
# Goal (issue 6): ingest + rate >= 0.3 x COPY rows/s.
# Knobs: SW_BENCH_SERVERS (1000), SW_BENCH_BILLERS (1 daemon).
. "$(dirname "$0")/../tests/lib/harness.sh"
N=${1:-1000000}
NS=${SW_BENCH_SERVERS:-1000}
BILLERS=${SW_BENCH_BILLERS:-1}
export SLIPWAY_LOG_LEVEL=${SLIPWAY_LOG_LEVEL:-warn}
sw_t_stack
slipwayctl migrate >/dev/null || exit 1
now_ms() { date +%s%3N; }

# Inventory: one node, one plan, NS running servers of 10 customers.
NODE=$(sw_t_psql <<'SQL' | tail -1
INSERT INTO locations (id, code, name) VALUES ('00000000-0000-4000-8000-0000000000a1', 'b', 'b');
INSERT INTO nodes (id, name, location_id, engine_uri, kinds, cpus, ram_mb, disk_gb)
VALUES ('00000000-0000-4000-8000-0000000000e1', 'bn', '00000000-0000-4000-8000-0000000000a1',
        'test:///default', '{hvm}', 64, 1048576, 100000);
INSERT INTO plans (id, name, kind, vcpus, ram_mb, disk_gb, bandwidth_gb, price_hourly, price_monthly,
                   price_bandwidth_gb)
VALUES ('00000000-0000-4000-8000-0000000000b1', 'bp', 'hvm', 1, 512, 10, 1, 2, 1000, 5);
INSERT INTO templates (id, name, kind, os)
VALUES ('00000000-0000-4000-8000-0000000000c1', 'bt', 'hvm', 'debian');
INSERT INTO accounts (id, kind, email)
SELECT ('00000000-0000-4000-9000-' || lpad(g::text, 12, '0'))::uuid, 'customer', 'b' || g || '@x'
FROM generate_series(1, 10) g;
SELECT '00000000-0000-4000-8000-0000000000e1';
SQL
)
sw_t_psql -c "INSERT INTO servers (id, owner_id, plan_id, template_id, node_id, hostname, state)
    SELECT gen_random_uuid(), ('00000000-0000-4000-9000-' || lpad((1 + g % 10)::text, 12, '0'))::uuid,
    '00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000c1', '$NODE',
    'b' || g, 'running' FROM generate_series(1, $NS) g" >/dev/null || exit 1
sw_t_psql -c "select id from servers order by id" >"$SW_T_DIR/servers"
# Samples over the hours before now (within this month when possible).
T0=$(sw_t_psql -c "select greatest(extract(epoch from date_trunc('month', now())), extract(epoch from now()) - 60 * ($N / $NS + 2))::bigint")
PERIOD=$(sw_t_psql -c "select to_char(to_timestamp($T0) at time zone 'UTC', 'YYYY-MM')")
# The servers were placed on the node before the first sample (billing
# accepts usage only from the node a server was on in the sampled period).
sw_t_psql -c "UPDATE server_placements SET since = to_timestamp($T0 - 60)" >/dev/null || exit 1

echo "generating $N samples of $NS servers"
python3 "$SW_SRCDIR/bench/billing_gen.py" csv "$N" "$SW_T_DIR/servers" "$NODE" "$T0" >"$SW_T_DIR/samples.csv"
python3 "$SW_SRCDIR/bench/billing_gen.py" resp "$N" "$SW_T_DIR/servers" "$NODE" "$T0" |
    sw_redis_cli --pipe >/dev/null || exit 1
sw_t_redis XGROUP CREATE "usage:$NODE" billing 0 >/dev/null
echo "stream usage:$NODE: $(sw_t_redis XLEN "usage:$NODE") entries"

# ---- the reference: COPY of the same rows ----
sw_t_psql -c "CREATE TABLE bench_copy (LIKE usage_samples INCLUDING DEFAULTS INCLUDING INDEXES)" >/dev/null
sw_t_psql -c "ALTER TABLE bench_copy ALTER ts TYPE bigint USING 0" >/dev/null
sw_t_psql -c "checkpoint" >/dev/null
t0=$(now_ms)
psql "$SLIPWAY_DATABASE_URL" -qAt -c "\\copy bench_copy (sample_id, server_id, node_id, ts, period_s, cpu_ns, mem_mb, mem_max_mb, net_rx_bytes, net_tx_bytes, disk_rd_bytes, disk_wr_bytes) from '$SW_T_DIR/samples.csv' csv" || exit 1
t1=$(now_ms)
copy_ms=$((t1 - t0))
sw_t_psql -c "drop table bench_copy" >/dev/null
sw_t_psql -c "checkpoint" >/dev/null

# ---- slipway: stream -> usage_samples + usage_hourly, then rating ----
stored() { [ "$(sw_t_psql -c "select coalesce(sum(samples), 0) from usage_hourly")" = "$N" ]; }
t0=$(now_ms)
for b in $(seq 1 "$BILLERS"); do
    sw_t_daemon "billing$b" env SLIPWAY_CONSUMER="billing$b" SLIPWAY_BILLING_INTERVAL=86400 ${SW_BENCH_WRAP:-} slipway-billing
done
while ! stored; do sleep 0.5; done
# The end is when the last batch was stored (its received_at, the start of
# its transaction, plus that transaction's length, under a batch), not when
# this loop noticed: polling slowly keeps the poller off the CPUs.
t1=$(sw_t_psql -c "select (extract(epoch from max(received_at)) * 1000)::bigint from usage_samples")
ingest_ms=$((t1 - t0))
t1=$(now_ms)
slipwayctl invoice run --draft --period "$PERIOD" >/dev/null || exit 1
t2=$(now_ms)
rate_ms=$((t2 - t1))
pending=$(sw_t_redis XPENDING "usage:$NODE" billing | head -1)
rows=$(sw_t_psql -c "select count(*) from usage_samples")
lines=$(sw_t_psql -c "select count(*) from invoice_lines")
bad=$(sw_t_psql -c "select count(*) from sw_billing_check()")

awk -v n="$N" -v c="$copy_ms" -v i="$ingest_ms" -v r="$rate_ms" -v rows="$rows" -v p="$pending" \
    -v l="$lines" -v bad="$bad" -v b="$BILLERS" 'BEGIN {
    copy = n * 1000 / c; ing = n * 1000 / i; all = n * 1000 / (i + r)
    printf "samples: %d (stored %d, pending %s, invariant violations %d); %d billing daemon(s)\n", n, rows, p, bad, b
    printf "COPY of the same rows:       %8.0f rows/s   (%d ms)\n", copy, c
    printf "ingest (stream -> hourly):   %8.0f samples/s (%d ms)\n", ing, i
    printf "rate (drafts, %d lines):     %8d ms\n", l, r
    printf "ingest + rate:               %8.0f samples/s\n", all
    printf "ratio ingest+rate / COPY:    %8.2f   (goal >= 0.30)\n", all / copy
}'
[ "$rows" = "$N" ] && [ "$pending" = 0 ] && [ "$bad" = 0 ]
