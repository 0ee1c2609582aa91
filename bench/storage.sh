#!/usr/bin/env bash
# bench/storage.sh - root volumes created per second from a template's base
# image on a dir pool, through the engine (bench/storage: engines/storage.c
# sw_storage_root_ensure against a private real libvirtd from
# tests/lib/libvirtd.sh), beside `qemu-img create -f qcow2 -b` of the same
# base into the same directory, measured in the same run, for a 10 GB and a
# 1 TB plan (goal: engine >= 0.5x qemu-img, and the engine's time
# independent of the plan's disk size). N (default 50) creates then deletes
# per figure, RUNS (default 3) runs, best and median.
#
# SW_BUILDDIR=$PWD/build bench/storage.sh [N]
set -u
SW_SRCDIR=${SW_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
SW_BUILDDIR=${SW_BUILDDIR:-$SW_SRCDIR/build}
N=${1:-50}
RUNS=${RUNS:-3}
SIZES=${SIZES:-"10 1000"}
BIN=$SW_BUILDDIR/bench/storage
[ -x "$BIN" ] || { echo "no $BIN: build first"; exit 1; }
command -v qemu-img >/dev/null || { echo "qemu-img is needed (qemu-utils)"; exit 1; }
. "$SW_SRCDIR/tests/lib/libvirtd.sh"

D=$(mktemp -d /tmp/sw-bench-storage.XXXXXX)
trap 'sw_lv_stop; rm -rf "$D"' EXIT
sw_lv_start "$D/lv" || { echo "cannot run: $SW_LV_WHY"; exit 1; }
URI=$SW_LV_URI

# The template's base image: a 1 GiB qcow2 holding 64 MiB of data, uploaded
# through libvirt as img-<sha256>.qcow2 into the engine's default dir pool
# "slipway" (defined here as the engine would define it).
STATE=$D/state POOL=$D/state/pools/slipway
mkdir -p "$POOL"
head -c $((64 << 20)) /dev/urandom >"$D/data.raw"
qemu-img convert -q -f raw -O qcow2 "$D/data.raw" "$D/base.qcow2" &&
    qemu-img resize -q "$D/base.qcow2" 1G || exit 1
SHA=$(sha256sum "$D/base.qcow2" | cut -d' ' -f1)
BASE=$POOL/img-$SHA.qcow2
virsh -c "$URI" pool-define-as slipway dir --target "$POOL" >/dev/null &&
    virsh -c "$URI" pool-start slipway >/dev/null &&
    virsh -c "$URI" vol-create-as slipway "img-$SHA.qcow2" "$(stat -c %s "$D/base.qcow2")" \
        --format raw >/dev/null &&
    virsh -c "$URI" vol-upload --pool slipway "img-$SHA.qcow2" "$D/base.qcow2" >/dev/null ||
    { echo "cannot put the base image in the pool: $(tail -2 "$D/lv/libvirtd.log")"; exit 1; }
cmp -s "$D/base.qcow2" "$BASE" || { echo "the uploaded base differs"; exit 1; }

# qemu-img's creates/s of N overlays of SIZE GB on the base, in the pool's
# directory (the same file system), then their deletion.
qemu_img_rate() {
    local size=$1 i t0 t1
    t0=$(date +%s.%N)
    for i in $(seq "$N"); do
        qemu-img create -q -f qcow2 -b "$BASE" -F qcow2 "$POOL/ref-$i.qcow2" "${size}G" || return 1
    done
    t1=$(date +%s.%N)
    rm -f "$POOL"/ref-*.qcow2
    awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }'
}
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
best_med() { # values...: prints "best median" (higher is better)
    printf '%s\n' "$@" | sort -gr | awk '{ v[NR] = $1 } END { printf "%s %s", v[1], v[int((NR + 1) / 2)] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
row() { printf '%-44s %14s %14s %26s %5s\n' "$@"; }

declare -A ENG REF DEL RAT
for size in $SIZES; do ENG[$size]="" REF[$size]="" DEL[$size]="" RAT[$size]=""; done
for run in $(seq "$RUNS"); do
    for size in $SIZES; do
        # the two interleaved, so both see the same load
        l=$("$BIN" "$URI" "$STATE" "$SHA" "$N" "$size") || { echo "bench/storage failed"; exit 1; }
        r=$(qemu_img_rate "$size") || { echo "qemu-img create failed"; exit 1; }
        echo "  run $run, ${size} GB: $l qemu_img_create_per_s=$r"
        ENG[$size]+=" $(kv engine_create_per_s <<<" $l")"
        DEL[$size]+=" $(kv engine_delete_per_s <<<" $l")"
        REF[$size]+=" $r"
        RAT[$size]+=" $(ratio "$(kv engine_create_per_s <<<" $l")" "$r")"
    done
done
left=$(find "$POOL" -name 'sw-*' -o -name 'ref-*' | wc -l)

echo
echo "# bench/storage.sh  $(date -u +%FT%TZ)  $(nproc) cpus  load $(cut -d' ' -f1-3 /proc/loadavg)  N=$N  runs=$RUNS (best / median)"
echo "# base image: $(qemu-img info --output=json "$BASE" | jq -r '"\(.format), virtual \(."virtual-size" / 1073741824) GiB, \(."actual-size" / 1048576 | floor) MiB on disk"'); $(virsh -c "$URI" version | grep -i 'running hypervisor\|using library' | tr -s ' ' | paste -sd';')"
row "case" "best / median" "reference" "ratio of each run's pair: best / median" "goal"
first=""
for size in $SIZES; do
    read -r eb em <<<"$(best_med ${ENG[$size]})"
    read -r rb rm <<<"$(best_med ${REF[$size]})"
    read -r db dm <<<"$(best_med ${DEL[$size]})"
    read -r qb qm <<<"$(best_med ${RAT[$size]})"
    label="$size GB"; [ "$size" -ge 1000 ] && label="$((size / 1000)) TB ($size GB)"
    row "engine root volumes/s, $label plan" "$eb / $em" "$rb / $rm" "${qb}x / ${qm}x" \
        "$(awk -v q="$qm" 'BEGIN { print (q >= 0.5) ? "PASS" : "MISS" }')"
    row "  engine deletes/s (terminate)" "$db / $dm" "-" "-" "-"
    [ -z "$first" ] && first=$em
    last=$em lastlabel=$label
done
echo "reference: qemu-img create -f qcow2 -b BASE -F qcow2 of the same base into the pool's directory, same run (creates/s)"
echo "goal: engine >= 0.5x the reference at every size; median creates/s at $lastlabel / at the smallest plan: $(ratio "$last" "$first")x (1.0 = independent of size)"
echo "volumes left in the pool: $left"
