# shellcheck shell=bash
# qstack.sh - the real-guest stack of `scripts/up --qemu` for a test: the
# panel and provisioner of harness.sh, then scripts/lib/qemu.sh's private
# libvirtd with node qemu1 (and lxc1 where libvirt's LXC driver is
# installed), enrolled through the API, its engine, the tiny images
# uploaded as templates. Sourced after harness.sh.
#
# sw_qs_start [USAGE_INTERVAL]: skips the test (77) where no private
# libvirtd or QEMU can run; fails it when the stack cannot start. Sets T0
# (its start, for since), OP (the operator's token), URI (node qemu1's
# libvirt URI) and everything scripts/lib/qemu.sh's env file holds
# (SW_QEMU_URI, SW_QEMU_CTOK, SW_QEMU_LXC_URI, ...); exports a backup
# master key, quick password hashing and no order rate limit. Its EXIT
# trap stops the stack; a test that defines sw_qs_on_fail gets it called
# first when it fails (to print its daemons' lines).
#
# Helpers: since T (seconds from T, one decimal), j FILTER (jq -r on the
# last answer), api (sw_t_api), sql QUERY, agent SERVER JSON (a
# qemu-guest-agent command to server's domain), agent_up SERVER,
# job_done JOB (finished in any way, asked as the demo customer), root_of
# SERVER (its domain's root volume), path_of VOLUME (in pool slipway),
# scratch (how many backup scratch volumes pool slipway holds),
# tamper_chunks DIR (the last 2 bytes of every chunk under DIR altered), ct_pid
# SERVER (a container's init, the child of its libvirt_lxc process), and
# guest_run, guest_read, guest_write below.

since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
sql() { sw_t_psql -c "$1"; }
agent() { virsh -c "$URI" qemu-agent-command "sw-$1" "$2" 2>/dev/null; }
agent_up() { agent "$1" '{"execute":"guest-ping"}' >/dev/null; }
root_of() {
    virsh -c "$URI" dumpxml "sw-$1" | grep -o "volume='sw-$1-root-[^']*'" | head -1 |
        sed "s/volume='//; s/'//"
}
path_of() { virsh -c "$URI" vol-path --pool slipway "$1"; }
scratch() { virsh -c "$URI" vol-list slipway | awk '{print $1}' | grep -c -- "-bk-"; }
tamper_chunks() {
    local f
    for f in $(find "$1" -type f); do
        printf 'XY' | dd of="$f" bs=1 seek=$(($(stat -c %s "$f") - 2)) conv=notrunc status=none
    done
}
ct_pid() {
    local p
    p=$(pgrep -f "libvirt_lxc --name sw-$1 " | head -1) && [ -n "$p" ] && pgrep -P "$p" | head -1
}
job_done() {
    api GET "/v1/jobs/$1" "$SW_QEMU_CTOK"
    case $(j .state) in succeeded | failed | dead) return 0 ;; esac
    return 1
}

sw_qs_start() {
    . "$SW_SRCDIR/scripts/lib/qemu.sh"
    sw_qemu_check || { echo "SKIP: $SW_QEMU_WHY"; exit 77; }
    T0=$(date +%s.%N)
    trap 'rc=$?; [ $rc = 0 ] || ! declare -F sw_qs_on_fail >/dev/null || sw_qs_on_fail
          sw_qemu_down "$SW_T_DIR"; (exit $rc); sw_t_cleanup' EXIT
    sw_t_stack
    slipwayctl migrate >/dev/null || exit 99
    OP=$(slipwayctl bootstrap) || exit 99
    export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_ORDER_RATE=0
    export SLIPWAY_IMAGES_DIR=$SW_T_DIR/images SLIPWAY_USAGE_INTERVAL=${1:-5}
    SLIPWAY_BACKUP_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
    export SLIPWAY_BACKUP_MASTER_KEY
    sw_t_panel
    sw_t_daemon prov slipway-provisioner
    sw_qemu_up "$SW_T_DIR" "$SW_URL" "$OP" "$SW_BUILDDIR" ||
        { echo "FAIL - the real-guest stack: $SW_QEMU_WHY"; exit 1; }
    . "$SW_T_DIR/qemu/env"
    URI=$SW_QEMU_URI
}

# guest_run SERVER SECS ARG...: busybox ARG... in the guest (through the
# agent's guest-exec), waited for up to SECS; 0 when it exited 0.
guest_run() {
    local id=$1 secs=$2 pid args
    shift 2
    args=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
    pid=$(agent "$id" "{\"execute\":\"guest-exec\",\"arguments\":{\"path\":\"/bin/busybox\",\"arg\":$args}}" |
        jq -r .return.pid) || return 1
    for _ in $(seq $((secs * 10))); do
        agent "$id" "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":$pid}}" |
            jq -e '.return.exited and .return.exitcode == 0' >/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# guest_read SERVER PATH OFFSET COUNT: COUNT bytes at OFFSET of a guest
# file, through the agent.
guest_read() {
    local h
    h=$(agent "$1" "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"$2\",\"mode\":\"r\"}}" |
        jq -r .return) || return 1
    agent "$1" "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":$h,\"offset\":$3,\"whence\":\"set\"}}" >/dev/null &&
        agent "$1" "{\"execute\":\"guest-file-read\",\"arguments\":{\"handle\":$h,\"count\":$4}}" |
        jq -r '.return["buf-b64"]' | base64 -d
    agent "$1" "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":$h}}" >/dev/null
}
# guest_write SERVER PATH OFFSET TEXT, then `sync -d PATH` in the guest:
# fdatasync of the device writes the guest's cache and flushes the disk, so
# QEMU writes the qcow2's metadata too (sync(2) alone issues no flush: the
# host saw zeros).
guest_write() {
    local h
    h=$(agent "$1" "{\"execute\":\"guest-file-open\",\"arguments\":{\"path\":\"$2\",\"mode\":\"r+\"}}" |
        jq -r .return) || return 1
    agent "$1" "{\"execute\":\"guest-file-seek\",\"arguments\":{\"handle\":$h,\"offset\":$3,\"whence\":\"set\"}}" >/dev/null &&
        agent "$1" "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":$h,\"buf-b64\":\"$(printf %s "$4" | base64)\"}}" >/dev/null
    agent "$1" "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":$h}}" >/dev/null
    guest_run "$1" 10 sync -d "$2"
}
