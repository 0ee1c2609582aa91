#!/usr/bin/env bash
# bench/scheduler.sh - placement speed, packing against Ganeti's hspace, and
# race-free claims/s against PostgreSQL. Runs bench/scheduler (built by
# `make`, not installed) RUNS times per figure (default 3) and prints best
# and median.
#
#   1. decisions/s and p99 per decision, in memory, at 1,000 and 10,000
#      nodes (a third each container-only, hvm burst, pv+hvm; 2% draining;
#      40-80% used) with a plan mix (container, bursting and dedicated hvm,
#      pv); the full-sort ranker at 10,000 nodes is printed for reference.
#   2. the same simulated cluster (identical nodes: 32 cpus, 128 GiB, 2 TiB
#      disk, CPU ratio 4; one instance size: 2 vCPU, 4 GiB, 40 GiB) filled
#      by slipway and by `hspace --simulate=p,N,... --disk-template=plain
#      --standard-alloc=... --max-cpu=4.0`, measured in the same run:
#      instances each fits and seconds each takes. hspace's allocator grows
#      much faster than linearly with the node count (about 1 s at 10 nodes,
#      8 s at 20, 110 s at 40 on a 2-core machine), so it runs at
#      HSPACE_NODES (default "10 20"); slipway also fills 1,000 nodes.
#   2b. heterogeneous packing: 3 node sizes x HET_NODES (default "4 10")
#      and a mix of 4 plan sizes, filled by slipway (the mix in order of
#      arrival, and largest plan first) and by `hspace --tiered-alloc` on
#      the same cluster (`scheduler hetero-htools` writes it in htools' text
#      format), each beside the volume bound: per resource class, the
#      cluster's capacity over the smallest demand of any plan, the least
#      of those; instances placed and the fraction of the bound reached.
#   3. claims/s of the product's claim (sw_claim_place, linked into
#      bench/scheduler) against a private PostgreSQL (tests/lib/harness.sh)
#      at 1,000 nodes: CLAIMERS (default 4) threads take queued create jobs
#      for CLAIM_SECONDS (default 5), with generation conflicts and a ledger
#      check (no node over capacity in any class; each claimed server has
#      its allocation, running job and addresses). Reference: OpenStack
#      Placement 8.0 (Debian's python3-placement under uwsgi, on the same
#      PostgreSQL) claiming for the same servers on the same 1,000 nodes
#      with as many claimers, measured in the same run (bench/placement.py;
#      PLACEMENT, below).
#
# SW_BUILDDIR=$PWD/build bench/scheduler.sh
. "$(dirname "$0")/../tests/lib/harness.sh"
RUNS=${RUNS:-3}
HSPACE_NODES=${HSPACE_NODES:-10 20}
HET_NODES=${HET_NODES:-4 10} # nodes of each of the 3 sizes, section 2b
SECTIONS=${SECTIONS:-1 2 2b 3} # which sections run, in that order
CLAIMERS=${CLAIMERS:-4}
CLAIM_SECONDS=${CLAIM_SECONDS:-5}
SCHED=$SW_BUILDDIR/bench/scheduler
[ -x "$SCHED" ] || { echo "no $SCHED: build first"; exit 1; }

# shellcheck source=../scripts/lib/setup.sh
. "$SW_SRCDIR/scripts/lib/setup.sh"
# hspace: Debian ships it in ganeti-htools-3.0 as the multi-call `htools`.
HTOOLS=/usr/lib/ganeti/3.0/usr/bin/htools
if ! command -v hspace >/dev/null && [ ! -x "$HTOOLS" ]; then
    sw_setup_install "$SW_BENCH_HSPACE_PACKAGES" >/dev/null ||
        echo "could not install $SW_BENCH_HSPACE_PACKAGES; hspace rows will be missing"
fi
if command -v hspace >/dev/null; then
    HSPACE=$(command -v hspace)
elif [ -x "$HTOOLS" ]; then
    ln -sf "$HTOOLS" "$SW_T_DIR/hspace" # htools dispatches on its name
    HSPACE=$SW_T_DIR/hspace
fi

# OpenStack Placement as the claims reference (section 3): PLACEMENT=1
# installs it when missing (minutes), auto (the default) runs it when it is
# installed, 0 leaves it out. It runs under uwsgi ($PLACEMENT_PROCESSES
# processes, default 4) on the bench's PostgreSQL, database "placement".
# Placement claims far slower than slipway, so each of its runs lasts
# PLACEMENT_SECONDS (default 20) to count enough claims.
PLACEMENT=${PLACEMENT:-auto}
PLACEMENT_PROCESSES=${PLACEMENT_PROCESSES:-4}
PLACEMENT_SECONDS=${PLACEMENT_SECONDS:-20}
# Debian's packages are for Debian's python3, whatever python3 PATH finds first
placement_installed() { /usr/bin/python3 -c 'import placement.wsgi, psycopg2' 2>/dev/null && command -v uwsgi >/dev/null; }
# placement_start: sets PL_URL and PL_DB; the providers are the nodes of
# the slipway database as it is now.
placement_start() {
    local sock conf=$SW_T_DIR/placement port l
    sock=$(sed -n 's/.*host=\([^&]*\).*/\1/p' <<<"$SW_PG_URL")
    createdb -h "$sock" -U slipway placement || return 1
    PL_DB="postgresql:///placement?host=$sock&user=slipway"
    mkdir -p "$conf"
    printf '[DEFAULT]\ndebug = False\n[api]\nauth_strategy = noauth2\n[placement_database]\nconnection = %s\n' \
        "postgresql+psycopg2://slipway@/placement?host=$sock" >"$conf/placement.conf"
    placement-manage --config-file "$conf/placement.conf" db sync >"$SW_T_DIR/placement-sync.log" 2>&1 ||
        { tail -5 "$SW_T_DIR/placement-sync.log"; return 1; }
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    sw_t_daemon placement env OS_PLACEMENT_CONFIG_DIR="$conf" uwsgi --plugin python3 \
        --http-socket "127.0.0.1:$port" --wsgi-file "$(command -v placement-api)" \
        --processes "$PLACEMENT_PROCESSES" --threads 1 --master --lazy-apps --die-on-term \
        --disable-logging
    PL_URL=http://127.0.0.1:$port
    sw_t_wait "placement" 120 curl -sf "$PL_URL/" -o /dev/null || return 1
    l=$(python3 "$SW_SRCDIR/bench/placement.py" load "$PL_URL" "$SLIPWAY_DATABASE_URL") || return 1
    echo "  placement: $l"
}
# placement_reference: sets ref (the reference column) and pm (Placement's
# median claims/s, "" when it did not run).
placement_reference() {
    local runs=() l b
    ref="Placement not run (PLACEMENT=1)" pm=""
    [ "$PLACEMENT" != 0 ] || return 0
    if ! placement_installed; then
        [ "$PLACEMENT" = 1 ] && sw_setup_install "$SW_BENCH_PLACEMENT_PACKAGES" >/dev/null
        placement_installed || { ref="Placement not installed (PLACEMENT=1)"; return 0; }
    fi
    placement_start || { ref="Placement did not start"; return 0; }
    for _ in $(seq "$RUNS"); do
        psql "$PL_DB" -qAt -c "TRUNCATE allocations, consumers" || return 0
        l=$(python3 "$SW_SRCDIR/bench/placement.py" claims "$PL_URL" "$SLIPWAY_DATABASE_URL" \
            "$SCHED" "$CLAIMERS" "$PLACEMENT_SECONDS") || echo "  placement: $l"
        runs+=("$(kv per_s <<<"$l")")
        echo "  placement run: $l consumers_allocated=$(psql "$PL_DB" -qAt -c \
            "SELECT count(DISTINCT consumer_id) FROM allocations")"
    done
    # shellcheck disable=SC2154  # set by sw_t_daemon (eval)
    kill "$SW_T_PID_placement"
    read -r b pm <<<"$(best_med higher "${runs[@]}")"
    ref="Placement 8.0 $b / $pm"
}

kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }            # value of key=... in a line
best_med() { # "lower"|"higher" values...: prints "best median"
    local dir=$1; shift
    printf '%s\n' "$@" | sort -g $([ "$dir" = higher ] && echo -r) |
        awk '{v[NR]=$1} END {printf "%s %s", v[1], v[int((NR+1)/2)]}'
}
verdict() { awk -v a="$1" -v b="$2" 'BEGIN {print (a >= b) ? "PASS" : "MISS"}'; }
row() { printf '%-46s %18s %20s %30s %8s %5s\n' "$@"; }

echo "# bench/scheduler.sh  $(date -u +%FT%TZ)  $(nproc) cpus  runs=$RUNS (best / median)"
# 40,000 pending servers of 6 plans, each with its queued create job (what
# an order writes), and one location with an IPv4 /16 and an IPv6 /48, so
# the claim assigns addresses as it does in production.
seed() {
    sw_t_psql <<'SQL'
SET client_min_messages = warning;
TRUNCATE allocations, servers, nodes, plans, templates, locations, accounts CASCADE;
INSERT INTO locations (id, code, name) VALUES (gen_random_uuid(), 'b1', 'bench');
INSERT INTO accounts (id, kind, email) VALUES (gen_random_uuid(), 'customer', 'b@example.com');
INSERT INTO nodes (id, name, location_id, engine_uri, kinds, cpus, ram_mb, reserved_ram_mb,
                   disk_gb, cpu_ratio, ram_ratio)
SELECT gen_random_uuid(), 'n' || i, (SELECT id FROM locations), 'test:///default',
       k.kinds, k.cpus, k.ram, k.res, k.disk, k.cr, k.rr
  FROM generate_series(0, 999) i
  JOIN (VALUES (0, '{container}'::text[], 32, 131072, 4096, 2000, 16.0, 1.5),
               (1, '{hvm}', 48, 262144, 8192, 4000, 4.0, 1.5),
               (2, '{pv,hvm}', 32, 196608, 4096, 4000, 4.0, 1.0))
       AS k(m, kinds, cpus, ram, res, disk, cr, rr) ON k.m = i % 3;
INSERT INTO plans (id, name, kind, vcpus, ram_mb, burst_ram_mb, swap_mb, disk_gb)
VALUES (gen_random_uuid(), 'c1', 'container', 1, 1024, 0, 512, 20),
       (gen_random_uuid(), 'c4', 'container', 2, 4096, 0, 2048, 60),
       (gen_random_uuid(), 'h2', 'hvm', 2, 2048, 4096, 0, 40),
       (gen_random_uuid(), 'h8', 'hvm', 4, 8192, 16384, 0, 100),
       (gen_random_uuid(), 'd4', 'hvm', 2, 4096, 0, 0, 80),
       (gen_random_uuid(), 'p4', 'pv', 2, 4096, 0, 0, 60);
INSERT INTO templates (id, name, kind, os)
SELECT gen_random_uuid(), 'debian', k, 'debian-12' FROM unnest('{container,pv,hvm}'::text[]) k;
INSERT INTO servers (id, owner_id, plan_id, template_id, hostname)
SELECT gen_random_uuid(), (SELECT id FROM accounts), p.id,
       (SELECT t.id FROM templates t WHERE t.kind = p.kind), 's' || i
  FROM generate_series(1, 40000) i
  JOIN (SELECT id, kind, row_number() OVER (ORDER BY name) - 1 AS m FROM plans) p
    ON p.m = i % 6;
INSERT INTO jobs (id, server_id, account_id, type)
SELECT gen_random_uuid(), s.id, s.owner_id, 'create' FROM servers s;
INSERT INTO ip_pools (id, location_id, family, network)
VALUES (gen_random_uuid(), (SELECT id FROM locations), 4, '10.64.0.0/16'),
       (gen_random_uuid(), (SELECT id FROM locations), 6, '2001:db8:100::/48');
VACUUM ANALYZE;
SQL
}
over_capacity() {
    sw_t_psql -c "SELECT count(*) FROM nodes n JOIN (SELECT node_id, sum(vcpus) v,
        sum(mem_guar_mb) g, sum(mem_max_mb) m, sum(disk_gb) d FROM allocations GROUP BY node_id) u
        ON u.node_id = n.id WHERE u.v > floor(n.cpus * n.cpu_ratio)
        OR u.g > n.ram_mb - n.reserved_ram_mb
        OR u.m > floor((n.ram_mb - n.reserved_ram_mb) * n.ram_ratio) OR u.d > n.disk_gb"
}
# Claimed servers lacking what a claim gives: a node, a running job, an
# allocation, an IPv4 address and an IPv6 /64.
incomplete() {
    sw_t_psql -c "SELECT count(*) FROM servers s JOIN jobs j ON j.server_id = s.id
        WHERE s.state = 'provisioning' AND (s.node_id IS NULL OR j.state <> 'running'
        OR s.ipv4 IS NULL OR s.ipv6 IS NULL
        OR NOT EXISTS (SELECT 1 FROM allocations a WHERE a.server_id = s.id AND a.node_id = s.node_id))"
}

section_1() {
    echo
    echo "## 1. placement decisions in memory (top 3 + 2 alternates per decision)"
    row "case" "decisions/s" "p99 us" "reference" "ratio" "goal"
    for spec in "1000 20000" "10000 5000"; do
        set -- $spec
        rate=() p99=()
        for _ in $(seq "$RUNS"); do
            l=$("$SCHED" decisions "$1" "$2")
            rate+=("$(kv per_s <<<"$l")") p99+=("$(kv p99_us <<<"$l")")
        done
        read -r rb rm <<<"$(best_med higher "${rate[@]}")"
        read -r pb pm <<<"$(best_med lower "${p99[@]}")"
        goal=-
        [ "$1" = 10000 ] && goal=$(verdict 1000 "$pm")
        row "$1 nodes, plan mix" "$rb / $rm" "$pb / $pm" "p99 goal < 1000 us" "-" "$goal"
    done
    rate=() p99=()
    for _ in $(seq "$RUNS"); do
        l=$("$SCHED" decisions 10000 2000 full)
        rate+=("$(kv per_s <<<"$l")") p99+=("$(kv p99_us <<<"$l")")
    done
    read -r rb rm <<<"$(best_med higher "${rate[@]}")"
    read -r pb pm <<<"$(best_med lower "${p99[@]}")"
    row "10000 nodes, full sort (sw_place_rank), ref" "$rb / $rm" "$pb / $pm" "-" "-" "-"
}

section_2() {
    echo
    echo "## 2. packing vs hspace (measured in this run): 32 cpu, 128 GiB, 2 TiB nodes; 2 vCPU, 4 GiB, 40 GiB instances; CPU ratio 4"
    row "case" "instances" "seconds" "hspace inst / s" "speedup" "goal"
    for n in $HSPACE_NODES 1000; do
        secs=()
        for _ in $(seq "$RUNS"); do
            l=$("$SCHED" fill "$n" 32 131072 2048 2 4096 40 4.0)
            inst=$(kv instances <<<"$l") secs+=("$(kv seconds <<<"$l")")
        done
        read -r sb sm <<<"$(best_med lower "${secs[@]}")"
        ref="-" speed="-" goal="-"
        if [ -n "${HSPACE:-}" ] && [ "$n" != 1000 ]; then
            hs=()
            for _ in $(seq "$RUNS"); do
                t0=$(date +%s%N)
                out=$("$HSPACE" --simulate="p,$n,2097152,131072,32,1000" --disk-template=plain \
                    --standard-alloc=40960,4096,2 --max-cpu=4.0 --machine-readable 2>&1)
                t1=$(date +%s%N)
                hinst=$(sed -n 's/^HTS_ALLOC_INSTANCES=//p' <<<"$out")
                hwhy=$(sed -n 's/^HTS_ALLOC_FAIL_REASON=//p' <<<"$out")
                hs+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')")
            done
            read -r hb hm <<<"$(best_med lower "${hs[@]}")"
            ref="$hinst / $hb s ($hwhy)"
            speed=$(awk -v h="$hm" -v s="$sm" 'BEGIN {printf "%.0fx", h / s}')
            v1=$(verdict "$inst" "$hinst")
            v2=$(awk -v h="$hm" -v s="$sm" 'BEGIN {print (h / s >= 100) ? "PASS" : "MISS"}')
            goal=$([ "$v1$v2" = PASSPASS ] && echo PASS || echo MISS)
        fi
        row "$n nodes, standard alloc" "$inst" "$sb / $sm" "$ref" "$speed" "$goal"
        if [ -n "${HSPACE:-}" ] && [ "$n" != 1000 ]; then
            t0=$(date +%s%N)
            out=$("$HSPACE" --simulate="p,$n,2097152,131072,32,1000" --disk-template=plain \
                --standard-alloc=40960,4096,2 --max-cpu=4.0 --no-capacity-checks --machine-readable 2>&1)
            t1=$(date +%s%N)
            row "  hspace --no-capacity-checks (no N+1), ref" "-" "-" \
                "$(sed -n 's/^HTS_ALLOC_INSTANCES=//p' <<<"$out") / $(awk -v a="$t0" -v b="$t1" \
                'BEGIN {printf "%.3f", (b - a) / 1e9}') s ($(sed -n 's/^HTS_ALLOC_FAIL_REASON=//p' <<<"$out"))" "-" "-"
        fi
    done
    echo "(speedup: hspace median seconds / slipway median seconds; hspace times include its process start."
    echo " hspace by default keeps global N+1 memory free (FAILN1); slipway has no N+1 reserve)"
}

section_2b() {
    echo
    echo "## 2b. packing, heterogeneous: nodes of 3 sizes (16 cpu 64 GiB 1000 GB, 32/192/2000, 64/384/6000; CPU ratio 4),"
    echo "##     plans of 4 sizes (1 vCPU 2 GiB 20 GB 40%, 2/4/40 30%, 4/16/80 15%, 8/8/160 15%)"
    row "case" "instances" "of bound" "mem / vcpu / disk used" "seconds" "-"
    het_row() { # label line-of-scheduler-hetero
        row "$1" "$(kv instances <<<"$2")" "$(kv fraction <<<"$2")" \
            "$(kv mem_used <<<"$2") / $(kv vcpu_used <<<"$2") / $(kv disk_used <<<"$2")" \
            "$(kv seconds <<<"$2")" "-"
    }
    for k in $HET_NODES; do
        n=$((3 * k))
        l=$("$SCHED" hetero "$k" mix)
        bound=$(kv bound <<<"$l")
        echo "$n nodes: volume bound $bound instances (per class: capacity / smallest demand; the least)"
        het_row "  slipway, the mix in order of arrival" "$l"
        het_row "  slipway, largest plan first (tiered)" "$("$SCHED" hetero "$k" largest)"
        [ -n "${HSPACE:-}" ] || continue
        "$SCHED" hetero-htools "$k" >"$SW_T_DIR/het.txt" 2>"$SW_T_DIR/het.spec"
        spec=$(sed -n 's/^tiered=//p' "$SW_T_DIR/het.spec")
        t0=$(date +%s%N)
        out=$("$HSPACE" -t "$SW_T_DIR/het.txt" --disk-template=plain --tiered-alloc="$spec" \
            --max-cpu=4.0 --no-capacity-checks --machine-readable 2>&1)
        t1=$(date +%s%N)
        hi=$(sed -n 's/^HTS_TRL_INST_CNT=//p' <<<"$out")
        row "  hspace --tiered-alloc=$spec" "$hi" \
            "$(awk -v i="$hi" -v b="$bound" 'BEGIN {printf "%.3f", i / b}')" \
            "$(sed -n 's/^HTS_TRL_MEM_EFF=//p' <<<"$out" | cut -c1-5) / $(sed -n 's/^HTS_TRL_CPU_EFF=//p' <<<"$out" | cut -c1-5) / $(sed -n 's/^HTS_TRL_DSK_EFF=//p' <<<"$out" | cut -c1-5)" \
            "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')" "-"
        echo "    hspace sizes placed (mem,disk,cpu,spindles=count): $(sed -n "s/^HTS_TSPEC=//p" <<<"$out" | tr -d "'")"
    done
    echo "(hspace with --no-capacity-checks: slipway keeps no N+1 reserve either; its tiered allocation"
    echo " starts at the largest plan in each dimension and shrinks the failing one, never below the"
    echo " smallest plan (the instance policy); its instances are not the 4 plans, the bound holds for them)"
}

section_3() {
    echo
    echo "## 3. race-free claims against PostgreSQL: 1000 nodes, $CLAIMERS claimers, ${CLAIM_SECONDS}s per run"
    sw_t_stack >/dev/null
    slipwayctl migrate >/dev/null || exit 1
    row "case" "claims/s" "conflicts" "reference" "ratio" "goal"
    rate=() conf=() bad=0
    for _ in $(seq "$RUNS"); do
        seed >/dev/null || exit 1
        l=$("$SCHED" claims "$SLIPWAY_DATABASE_URL" "$CLAIMERS" "$CLAIM_SECONDS" 2>"$SW_T_DIR/claims.log") ||
            { echo "$l"; grep -v "level=\(debug\|info\)" "$SW_T_DIR/claims.log" | head -5; }
        n=$(grep -c "event=claim.conflict" "$SW_T_DIR/claims.log")
        rate+=("$(kv per_s <<<"$l")") conf+=("$n")
        oc=$(over_capacity) inc=$(incomplete)
        claimed=$(sw_t_psql -c "SELECT count(*) FROM servers WHERE state = 'provisioning'")
        [ "$oc" = 0 ] && [ "$inc" = 0 ] && [ "$claimed" = "$(kv claims <<<"$l")" ] || bad=$((bad + 1))
        echo "  run: $l conflicts=$n provisioning=$claimed over_capacity_nodes=$oc incomplete=$inc"
    done
    read -r cb cm <<<"$(best_med higher "${rate[@]}")"
    placement_reference # sets ref, pm (median claims/s, or "")
    ratio=- goal=-
    if [ -n "$pm" ]; then
        ratio=$(awk -v m="$cm" -v r="$pm" 'BEGIN {printf "%.0fx", m / r}')
        goal=$(awk -v m="$cm" -v r="$pm" 'BEGIN {print (m >= 100 * r) ? "PASS" : "MISS"}')
    fi
    [ "$bad" = 0 ] || goal="MISS (ledger)"
    row "1000 nodes, $CLAIMERS claimers, sw_claim_place" "$cb / $cm" "${conf[*]}" "$ref" "$ratio" "$goal"
    echo "(slipway: the provisioner's claim, sw_jobdb_load + sw_claim_place, with alternates and"
    echo " addresses; ratio: slipway median / Placement median claims/s, both measured here; goal 100x."
    echo " ledger: no node over capacity, each claimed server has its allocation, job and addresses)"
}

for s in $SECTIONS; do
    "section_$s"
done
sw_t_ok "bench finished"
sw_t_done
