# tests/lib/libvirtd.sh - a private system libvirtd for a shell test: its own
# mount namespace (private /run, /etc/libvirt, /var/lib/libvirt,
# /var/log/libvirt, /var/cache/libvirt under the test's directory) and its
# own network namespace, its own virtlogd, so tests never share libvirt
# state with each other or the host. QEMU runs as root there: with QEMU as
# libvirt-qemu and a /dev/kvm only root may open, libvirt re-probes QEMU on
# every domain start (about a minute each here; ../shared/notes/real-guests.md).
#
#   . tests/lib/libvirtd.sh
#   sw_lv_start DIR [lxc]   # 0, or 1 with $SW_LV_WHY (the caller skips)
#   virsh -c "$SW_LV_URI" ...            # qemu:///system on its socket
#   virsh -c "$SW_LV_LXC_URI" ...        # lxc:///system, with "lxc"
#   sw_lv_stop              # destroys every domain and stops the daemons
#
# "lxc" also unmounts /sys/fs/cgroup/unified in the namespace: libvirt's LXC
# driver cannot start a container on this host's hybrid cgroup layout
# otherwise (the host is untouched). Needs root, libvirtd, virtlogd, unshare.

SW_LV_DIR= SW_LV_URI= SW_LV_LXC_URI= SW_LV_PID= SW_LV_WHY=

sw_lv_start() {
    SW_LV_DIR=$1
    local lxc=${2:-} d=$1 b
    [ "$(id -u)" = 0 ] || { SW_LV_WHY="needs root to run a private system libvirtd"; return 1; }
    for b in libvirtd virtlogd virsh unshare; do
        command -v "$b" >/dev/null || { SW_LV_WHY="$b is not installed"; return 1; }
    done
    mkdir -p "$d/etc" "$d/lib" "$d/log" "$d/cache" "$d/run"
    chmod 755 "$d"
    printf 'user = "root"\ngroup = "root"\n' >"$d/etc/qemu.conf"
    cat >"$d/libvirtd.conf" <<CONF
unix_sock_dir = "$d/run"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:$d/libvirtd.log"
CONF
    local extra=""
    [ "$lxc" = lxc ] && extra="umount /sys/fs/cgroup/unified 2>/dev/null;"
    unshare -n -m --propagation private -- sh -c "
        mount -t tmpfs tmpfs /run && mkdir -p /run/libvirt /run/lock &&
        mount --bind '$d/etc' /etc/libvirt && mount --bind '$d/lib' /var/lib/libvirt &&
        mount --bind '$d/log' /var/log/libvirt && mount --bind '$d/cache' /var/cache/libvirt &&
        ip link set lo up 2>/dev/null; $extra
        virtlogd -d -p '$d/virtlogd.pid' &&
        exec libvirtd -d --config '$d/libvirtd.conf' --pid-file '$d/libvirtd.pid'" \
        >"$d/start.log" 2>&1 || { SW_LV_WHY="libvirtd cannot start: $(tail -2 "$d/start.log")"; return 1; }
    SW_LV_URI="qemu:///system?socket=$d/run/libvirt-sock"
    SW_LV_LXC_URI="lxc:///system?socket=$d/run/libvirt-sock"
    local _
    for _ in $(seq 100); do
        virsh -c "$SW_LV_URI" version >/dev/null 2>&1 && break
        sleep 0.1
    done
    virsh -c "$SW_LV_URI" version >/dev/null 2>&1 ||
        { SW_LV_WHY="libvirtd does not answer: $(tail -3 "$d/libvirtd.log" 2>/dev/null)"; return 1; }
    SW_LV_PID=$(cat "$d/libvirtd.pid")
    return 0
}

sw_lv_stop() {
    [ -n "$SW_LV_DIR" ] || return 0
    local d=$SW_LV_DIR u dom f pid
    for u in "$SW_LV_URI" "$SW_LV_LXC_URI"; do
        [ -S "$d/run/libvirt-sock" ] || break
        for dom in $(virsh -c "$u" list --all --name 2>/dev/null); do
            virsh -c "$u" destroy "$dom" >/dev/null 2>&1
            virsh -c "$u" undefine "$dom" >/dev/null 2>&1
        done
    done
    for f in libvirtd virtlogd; do
        [ -f "$d/$f.pid" ] || continue
        pid=$(cat "$d/$f.pid")
        kill "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
    SW_LV_DIR=
}
