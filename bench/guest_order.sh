#!/usr/bin/env bash
# bench/guest_order.sh [N] [hvm|pv] - order to a real guest printing its
# hostname on its serial console, on real QEMU (TCG: this machine has no
# KVM), over N orders (default 10) of the tiny template of that kind
# (default hvm), one at a time: the stack of tests/lib/harness.sh plus
# scripts/lib/qemu.sh (what `scripts/up --qemu` runs). Each order is a POST
# /v1/orders as the demo customer; the clock stops when the console (virsh
# console under script(1), attached as soon as the domain runs) shows
# "SLIPWAY-GUEST: hostname=<ordered name>", which the guest prints from its
# NoCloud seed. Where the engine attaches no seed yet, it stops at the
# guest's first own line, "SLIPWAY-GUEST: mode=vm", and says so. Also
# printed per order: order to `running` in the API, and to the domain
# running. The server is terminated before the next order. Prints min,
# p50 and max.
. "$(dirname "$0")/../tests/lib/harness.sh"
. "$SW_SRCDIR/scripts/lib/qemu.sh"
N=${1:-10} KIND=${2:-hvm}
sw_qemu_check || { echo "cannot run: $SW_QEMU_WHY"; exit 1; }
trap 'rc=$?; sw_qemu_down "$SW_T_DIR"; (exit $rc); sw_t_cleanup' EXIT
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_ORDER_RATE=0
export SLIPWAY_IMAGES_DIR=$SW_T_DIR/images
sw_t_panel
sw_t_daemon prov slipway-provisioner
sw_qemu_up "$SW_T_DIR" "$SW_URL" "$OP" "$SW_BUILDDIR" || { echo "the real-guest stack: $SW_QEMU_WHY"; exit 1; }
. "$SW_T_DIR/qemu/env"
URI=$SW_QEMU_URI
plan=SW_QEMU_PLAN_${KIND^^} tpl=SW_QEMU_TPL_${KIND^^}
j() { jq -r "$1" <<<"$SW_BODY"; }
now() { date +%s.%N; }
el() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
running() { sw_t_api GET "/v1/servers/$1" "$SW_QEMU_CTOK"; [ "$(j .state)" = running ]; }
said() { grep -aqF "SLIPWAY-GUEST: $2" "$1"; }
gone() { sw_t_api GET "/v1/servers/$1" "$SW_QEMU_CTOK"; [ "$(j .state)" = terminated ]; }

: >"$SW_T_DIR/times"
for i in $(seq 1 "$N"); do
    host=bench-$i.example.com log=$SW_T_DIR/console-$i.log
    t0=$(now)
    sw_t_api POST /v1/orders "$SW_QEMU_CTOK" "{\"plan_id\":\"${!plan}\",\"template_id\":\"${!tpl}\",\"location_id\":\"$SW_QEMU_LOC\",\"hostname\":\"$host\"}"
    [ "$SW_STATUS" = 202 ] || { echo "order $i: $SW_STATUS $SW_BODY"; exit 1; }
    id=$(j .server.id)
    sw_qemu_console "$URI" "sw-$id" "$log" 300 || { echo "order $i: the domain never ran"; exit 1; }
    t_dom=$(now)
    want=mode=vm what="the guest's first line (no seed attached)"
    if virsh -c "$URI" dumpxml "sw-$id" | grep -q "volume='sw-$id-seed.iso'"; then
        want=hostname=$host what="its hostname"
    fi
    sw_t_wait "order $i on the console" 300 said "$log" "$want" || exit 1
    t_con=$(now)
    sw_t_wait "order $i running" 60 running "$id"
    t_run=$(now)
    kill "$SW_QEMU_CONSOLE_PID" 2>/dev/null
    echo "order $i: domain running $(el "$t0" "$t_dom") s, console shows $what $(el "$t0" "$t_con") s, API running by $(el "$t0" "$t_run") s"
    echo "$(el "$t0" "$t_con")" >>"$SW_T_DIR/times"
    sw_t_api DELETE "/v1/servers/$id" "$SW_QEMU_CTOK"
    sw_t_wait "server $i terminated" 120 gone "$id" || exit 1
done
sort -n "$SW_T_DIR/times" | awk -v k="$KIND" -v w="$what" '{ t[NR] = $1 } END {
    printf "order -> %s on the console, %d %s orders one at a time on real QEMU (TCG): min %.2f s, p50 %.2f s, max %.2f s\n",
        w, NR, k, t[1], (NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2), t[NR] }'
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
