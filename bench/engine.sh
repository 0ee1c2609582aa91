#!/usr/bin/env bash
# bench/engine.sh - the engine's per-node costs on libvirt's test driver,
# with bench/engine (built by make, not installed), RUNS times (default 3),
# best and median:
#
#   1. one stats pass of the ballooning loop's libvirt source over GUESTS
#      (default 500) running hvm domains, and one ballooning tick (the
#      controller and every target applied with SetMemoryFlags(LIVE)): time
#      per pass as a share of the 5 s sampling interval (goal: both together
#      under 5% of it);
#   2. the same sample + tick over GUESTS simulated guests (the sim source):
#      the controller's own cost, same goal;
#   3. domains created per second through the driver table (template,
#      schema-validated define, boot), beside libvirt doing the same
#      validated define + boot of a minimal domain, and without validation,
#      in the same run (goal: at least 0.8x the validated reference: the
#      engine's own work adds at most a quarter).
#
# SW_BUILDDIR=$PWD/build bench/engine.sh
set -u
SW_SRCDIR=${SW_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
SW_BUILDDIR=${SW_BUILDDIR:-$SW_SRCDIR/build}
RUNS=${RUNS:-3}
GUESTS=${GUESTS:-500}
BIN=$SW_BUILDDIR/bench/engine
[ -x "$BIN" ] || { echo "no $BIN: build first"; exit 1; }

kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
best_med() { # "lower"|"higher" values...: prints "best median"
    local dir=$1; shift
    printf '%s\n' "$@" | sort -g $([ "$dir" = higher ] && echo -r) |
        awk '{v[NR]=$1} END {printf "%s %s", v[1], v[int((NR+1)/2)]}'
}
row() { printf '%-52s %20s %26s %8s\n' "$@"; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f%%", (a + b) / 5000 * 100}'; }
under() { awk -v a="$1" -v b="$2" 'BEGIN {print ((a + b) / 5000 * 100 < 5) ? "PASS" : "MISS"}'; }

declare -A V
keys="create_per_s ref_create_per_s ref_validated_per_s libvirt_sample_ms libvirt_tick_ms sim_sample_ms sim_tick_ms"
for k in $keys; do V[$k]=""; done
for _ in $(seq "$RUNS"); do
    l=$(nice -n 10 "$BIN" "$GUESTS" "$SW_SRCDIR/templates") || { echo "bench/engine failed: $l"; exit 1; }
    echo "  run: $l"
    for k in $keys; do V[$k]="${V[$k]} $(kv "$k" <<<" $l")"; done
done
read -r lsb lsm <<<"$(best_med lower ${V[libvirt_sample_ms]})"
read -r ltb ltm <<<"$(best_med lower ${V[libvirt_tick_ms]})"
read -r ssb ssm <<<"$(best_med lower ${V[sim_sample_ms]})"
read -r stb stm <<<"$(best_med lower ${V[sim_tick_ms]})"
read -r cb cm <<<"$(best_med higher ${V[create_per_s]})"
read -r rb rm <<<"$(best_med higher ${V[ref_validated_per_s]})"
read -r nb nm <<<"$(best_med higher ${V[ref_create_per_s]})"

echo
echo "# bench/engine.sh  $(date -u +%FT%TZ)  $(nproc) cpus  guests=$GUESTS  runs=$RUNS (best / median)"
row "case" "best / median" "limit" "goal"
row "libvirt stats pass, ms" "$lsb / $lsm" "-" "-"
row "libvirt balloon tick (controller + apply), ms" "$ltb / $ltm" "-" "-"
row "  pass + tick, share of the 5 s sampling interval" "$(pct "$lsb" "$ltb") / $(pct "$lsm" "$ltm")" "< 5% of 5 s" "$(under "$lsm" "$ltm")"
row "sim sample, ms" "$ssb / $ssm" "-" "-"
row "sim balloon tick (controller + apply), ms" "$stb / $stm" "-" "-"
row "  sample + tick, share of the 5 s sampling interval" "$(pct "$ssb" "$stb") / $(pct "$ssm" "$stm")" "< 5% of 5 s" "$(under "$ssm" "$stm")"
row "domains created/s through the driver" "$cb / $cm" "-" "-"
row "  libvirt validated define + boot/s, ref" "$rb / $rm" "-" "-"
row "  libvirt bare define + boot/s, ref" "$nb / $nm" "-" "-"
ratio=$(awk -v a="$cm" -v b="$rm" 'BEGIN {printf "%.2f", a / b}')
row "  driver / validated reference (medians)" "$ratio" ">= 0.8" \
    "$(awk -v r="$ratio" 'BEGIN {print (r >= 0.8) ? "PASS" : "MISS"}')"
echo "(the driver has libvirt validate each kind's first definition in a process against"
echo " its schema, then only parses: engines/virt.c define_xml; the references show a"
echo " define + boot with and without validation)"
