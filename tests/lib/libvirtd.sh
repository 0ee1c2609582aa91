# tests/lib/libvirtd.sh - a private system libvirtd for a shell test: its own
# mount namespace (private /run, /etc/libvirt, /var/lib/libvirt,
# /var/log/libvirt, /var/cache/libvirt under the test's directory) and its
# own network namespace, its own virtlogd, so tests never share libvirt
# state with each other or the host. Guests run under TCG: their domain
# type is qemu (the engines started by scripts/lib/qemu.sh are told so,
# SLIPWAY_DOMAIN_TYPE): on this machine's nested /dev/kvm a kvm guest
# starts, then stops at its boot loader with "KVM internal error.
# Suberror: 1". /dev/kvm itself stays as it is: hidden (/dev/null bound over
# it), libvirt found it usable at run time but not in QEMU's probed
# capabilities, and probed QEMU again at every domain start (~35 s each). QEMU runs as root there: with QEMU as
# libvirt-qemu and a /dev/kvm only root may open, libvirt re-probes QEMU on
# every domain start (about a minute each here; ../shared/notes/real-guests.md).
#
#   . tests/lib/libvirtd.sh
#   sw_lv_start DIR [lxc]   # 0, or 1 with $SW_LV_WHY (the caller skips)
#   virsh -c "$SW_LV_URI" ...            # qemu:///system on its socket
#   virsh -c "$SW_LV_LXC_URI" ...        # lxc:///system, with "lxc"
#   virsh -c "$SW_LV_TEST_URI" ...       # the test driver behind the daemon
#   sw_lv_bridge BRIDGE [NETWORK]        # a bridge and its libvirt network
#   sw_lv_net CMD...                     # CMD in libvirtd's network namespace
#   sw_lv_stop              # destroys every domain and stops the daemons
#   sw_lv_need PROGRAM TOOL...  # a test's preflight (root, tools, program, images)
#
# "lxc" also unmounts /sys/fs/cgroup/unified in the namespace: libvirt's LXC
# driver cannot start a container on this host's hybrid cgroup layout
# otherwise (the host is untouched). libvirt's stock network filters
# (clean-traffic and its parts, /usr/share/libvirt/nwfilter) are in its
# /etc/libvirt/nwfilter, so slipway-guest can reference them. SW_LV_CACHE,
# when set, is bound as /var/cache/libvirt: QEMU's capabilities, probed once
# (about 4 s here), are kept there across runs; give each test its own.
# SW_LV_LVM_DIR, when set, is bound as /etc/lvm: the lvm.conf libvirt's
# logical pools run vgs, lvcreate and lvremove under (tests/lib/lvm.sh).
# Needs root, libvirtd, virtlogd, unshare.
SW_LV_DIR= SW_LV_URI= SW_LV_LXC_URI= SW_LV_TEST_URI= SW_LV_PID= SW_LV_WHY=

# sw_lv_answers URI DIR WHAT: waits up to 10 s for the daemon at URI to
# answer; 1 with SW_LV_WHY (WHAT and the end of DIR/libvirtd.log) if not.
sw_lv_answers() {
    local _
    for _ in $(seq 100); do
        virsh -c "$1" version >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    virsh -c "$1" version >/dev/null 2>&1 && return 0
    SW_LV_WHY="$3 does not answer: $(tail -3 "$2/libvirtd.log" 2>/dev/null)"
    return 1
}

sw_lv_start() {
    SW_LV_DIR=$1
    local lxc=${2:-} d=$1 b
    [ "$(id -u)" = 0 ] || { SW_LV_WHY="needs root to run a private system libvirtd"; return 1; }
    for b in libvirtd virtlogd virsh unshare; do
        command -v "$b" >/dev/null || { SW_LV_WHY="$b is not installed"; return 1; }
    done
    local cache=${SW_LV_CACHE:-$d/cache}
    mkdir -p "$d/etc/nwfilter" "$d/lib" "$d/log" "$cache" "$d/run"
    # the folders bound over: a fresh machine without libvirt-daemon-system
    # has no /var/log/libvirt, and the bind fails there
    mkdir -p /etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
    # Debian's QEMU driver parses its built-in user libvirt-qemu before it
    # reads qemu.conf's "root", and refuses to start where it does not exist
    getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu ||
        { SW_LV_WHY="cannot add group libvirt-qemu"; return 1; }
    id libvirt-qemu >/dev/null 2>&1 ||
        useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu ||
        { SW_LV_WHY="cannot add user libvirt-qemu"; return 1; }
    chmod 755 "$d"
    printf 'user = "root"\ngroup = "root"\n' >"$d/etc/qemu.conf"
    cp /usr/share/libvirt/nwfilter/*.xml "$d/etc/nwfilter/" 2>/dev/null
    cat >"$d/libvirtd.conf" <<CONF
unix_sock_dir = "$d/run"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
log_outputs = "3:file:$d/libvirtd.log"
CONF
    local extra=""
    [ "$lxc" = lxc ] && extra="umount /sys/fs/cgroup/unified 2>/dev/null;"
    unshare -n -m --propagation private -- sh -c "
        mount -t tmpfs tmpfs /run && mkdir -p /run/libvirt /run/lock &&
        mount --bind '$d/etc' /etc/libvirt && mount --bind '$d/lib' /var/lib/libvirt &&
        mount --bind '$d/log' /var/log/libvirt && mount --bind '$cache' /var/cache/libvirt &&
        { [ -z '${SW_LV_LVM_DIR:-}' ] || { mkdir -p /etc/lvm && mount --bind '${SW_LV_LVM_DIR:-}' /etc/lvm; }; } &&
        ip link set lo up 2>/dev/null; $extra
        virtlogd -d -p '$d/virtlogd.pid' &&
        exec libvirtd -d --config '$d/libvirtd.conf' --pid-file '$d/libvirtd.pid'" \
        >"$d/start.log" 2>&1 || { SW_LV_WHY="libvirtd cannot start: $(tail -2 "$d/start.log")"; return 1; }
    SW_LV_URI="qemu:///system?socket=$d/run/libvirt-sock"
    SW_LV_LXC_URI="lxc:///system?socket=$d/run/libvirt-sock"
    SW_LV_TEST_URI="test+unix:///default?socket=$d/run/libvirt-sock"
    sw_lv_answers "$SW_LV_URI" "$d" libvirtd || return 1
    SW_LV_PID=$(cat "$d/libvirtd.pid")
    return 0
}

# sw_lv_net CMD...: runs CMD in libvirtd's network namespace.
sw_lv_net() {
    nsenter -t "$SW_LV_PID" -n "$@"
}

# sw_lv_bridge BRIDGE [NETWORK]: a bridge with no address and no uplink in
# libvirtd's network namespace, and the libvirt network NETWORK (default
# "default", where the domain templates attach) on it in forward mode
# bridge, so libvirt needs no firewall tools for it. 0, or 1 with $SW_LV_WHY.
sw_lv_bridge() {
    local br=$1 net=${2:-default}
    command -v ip >/dev/null && command -v nsenter >/dev/null ||
        { SW_LV_WHY="ip and nsenter are needed (iproute2, util-linux)"; return 1; }
    sw_lv_net ip link add "$br" type bridge && sw_lv_net ip link set "$br" up ||
        { SW_LV_WHY="cannot make a bridge in libvirtd's network namespace"; return 1; }
    printf "<network><name>%s</name><forward mode='bridge'/><bridge name='%s'/></network>\n" \
        "$net" "$br" >"$SW_LV_DIR/net-$net.xml"
    virsh -c "$SW_LV_URI" net-create "$SW_LV_DIR/net-$net.xml" >/dev/null 2>&1 ||
        { SW_LV_WHY="cannot start the network in libvirtd: $(tail -2 "$SW_LV_DIR/libvirtd.log")"; return 1; }
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
    # A QEMU libvirt lost track of (its pid file is in libvirtd's own /run).
    if [ -n "$SW_LV_PID" ]; then
        for f in /proc/"$SW_LV_PID"/root/run/libvirt/qemu/*.pid; do
            [ -f "$f" ] && [ "${f##*/}" != driver.pid ] && kill "$(cat "$f" 2>/dev/null)" 2>/dev/null
        done
    fi
    # Both asked to stop at once, then waited for (up to 5 s each).
    local pids=""
    for f in libvirtd virtlogd; do
        [ -f "$d/$f.pid" ] && pid=$(cat "$d/$f.pid" 2>/dev/null) && kill "$pid" 2>/dev/null &&
            pids="$pids $pid"
    done
    for pid in $pids; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
    SW_LV_DIR= SW_LV_PID=
}

# A second private libvirtd beside the one sw_lv_start started, for live
# migration between two nodes on one host (issue 15):
#
#   sw_lv_peer_start DIR     # 0, or 1 with $SW_LV_WHY (the caller skips)
#   virsh -c "$SW_LV_PEER_URI" ...        # qemu:///system on its socket
#   $SW_LV_P2P_URI, $SW_LV_PEER_P2P_URI   # how each daemon reaches the other
#   sw_lv_shared_pool NAME DIR            # a dir pool NAME over DIR in both
#   sw_lv_peer_stop          # before sw_lv_stop
#
# Its own mount namespace, socket, state, virtlogd and host_uuid (libvirt
# refuses to migrate to a host with its own uuid), but the first's network
# namespace, so the memory stream reaches it on 127.0.0.1. Its QEMU runs
# without cgroups: both daemons number domains from 1, and the two copies
# of a migrating guest would otherwise both be machine/qemu-1-<name>. The
# p2p URIs are qemu+unix with socket=: with qemu:///system?socket= libvirt
# takes the peer for the same host ("Attempt to migrate guest to the same
# host"). ../shared/notes/real-guests.md Q6 has the recipe.
SW_LV_PEER_DIR= SW_LV_PEER_URI= SW_LV_PEER_P2P_URI= SW_LV_P2P_URI= SW_LV_PEER_PID=

sw_lv_peer_start() {
    local d=$1 cache=${SW_LV_CACHE:-$1/cache}
    [ -n "$SW_LV_PID" ] || { SW_LV_WHY="sw_lv_start first"; return 1; }
    mkdir -p "$d/etc/nwfilter" "$d/lib" "$d/log" "$cache" "$d/run"
    chmod 755 "$d"
    printf 'user = "root"\ngroup = "root"\ncgroup_controllers = [ ]\n' >"$d/etc/qemu.conf"
    cp /usr/share/libvirt/nwfilter/*.xml "$d/etc/nwfilter/" 2>/dev/null
    sed -e "s|^unix_sock_dir = .*|unix_sock_dir = \"$d/run\"|" \
        -e "s|^host_uuid = .*|host_uuid = \"$(cat /proc/sys/kernel/random/uuid)\"|" \
        -e "s|^log_outputs = .*|log_outputs = \"3:file:$d/libvirtd.log\"|" \
        "$SW_LV_DIR/libvirtd.conf" >"$d/libvirtd.conf"
    # set first: sw_lv_peer_stop stops what a failed start left
    SW_LV_PEER_DIR=$d
    SW_LV_PEER_URI="qemu:///system?socket=$d/run/libvirt-sock"
    SW_LV_PEER_P2P_URI="qemu+unix:///system?socket=$d/run/libvirt-sock"
    SW_LV_P2P_URI="qemu+unix:///system?socket=$SW_LV_DIR/run/libvirt-sock"
    nsenter -t "$SW_LV_PID" -n unshare -m --propagation private -- sh -c "
        mount -t tmpfs tmpfs /run && mkdir -p /run/libvirt /run/lock &&
        mount --bind '$d/etc' /etc/libvirt && mount --bind '$d/lib' /var/lib/libvirt &&
        mount --bind '$d/log' /var/log/libvirt && mount --bind '$cache' /var/cache/libvirt &&
        virtlogd -d -p '$d/virtlogd.pid' &&
        exec libvirtd -d --config '$d/libvirtd.conf' --pid-file '$d/libvirtd.pid'" \
        >"$d/start.log" 2>&1 || { SW_LV_WHY="the second libvirtd cannot start: $(tail -2 "$d/start.log")"; return 1; }
    sw_lv_answers "$SW_LV_PEER_URI" "$d" "the second libvirtd" || return 1
    SW_LV_PEER_PID=$(cat "$d/libvirtd.pid")
}

# sw_lv_shared_pool NAME DIR: the dir pool NAME over DIR in both daemons
# (a folder both see, standing in for NFS: a `shared` pool in slipway's
# node records). 0, or 1 with $SW_LV_WHY.
sw_lv_shared_pool() {
    local u
    mkdir -p "$2"
    for u in "$SW_LV_URI" "$SW_LV_PEER_URI"; do
        virsh -c "$u" pool-define-as "$1" dir --target "$2" >/dev/null 2>&1 &&
            virsh -c "$u" pool-start "$1" >/dev/null 2>&1 ||
            { SW_LV_WHY="cannot make the dir pool $1 over $2"; return 1; }
    done
}

# sw_lv_peer_stop: destroys the second daemon's domains and stops it
# (sw_lv_stop with the second daemon's names).
sw_lv_peer_stop() {
    [ -n "$SW_LV_PEER_DIR" ] || return 0
    local dir=$SW_LV_DIR uri=$SW_LV_URI lxc=$SW_LV_LXC_URI pid=$SW_LV_PID
    SW_LV_DIR=$SW_LV_PEER_DIR SW_LV_URI=$SW_LV_PEER_URI SW_LV_LXC_URI=$SW_LV_PEER_URI SW_LV_PID=$SW_LV_PEER_PID
    sw_lv_stop
    SW_LV_DIR=$dir SW_LV_URI=$uri SW_LV_LXC_URI=$lxc SW_LV_PID=$pid
    SW_LV_PEER_DIR= SW_LV_PEER_PID=
}

# sw_lv_need PROGRAM TOOL...: the preflight of a test that drives a C
# program (tests/integration/PROGRAM) against a private libvirtd with the
# tiny guest images. Exits 77 saying why unless run as root with libvirtd,
# virtlogd, virsh, qemu-system-x86_64, unshare and every TOOL; 99 unless
# the program is built. Sets prog (its path) and IMG (the images, built
# by tests/images/build.sh when missing).
sw_lv_need() {
    local b p=$1
    shift
    [ "$(id -u)" = 0 ] || { echo "SKIP: needs root to run a private system libvirtd"; exit 77; }
    for b in libvirtd virtlogd virsh qemu-system-x86_64 unshare "$@"; do
        command -v "$b" >/dev/null || { echo "SKIP: $b is not installed"; exit 77; }
    done
    prog=$SW_BUILDDIR/tests/integration/$p
    [ -x "$prog" ] || { echo "$prog is not built"; exit 99; }
    IMG=$SW_BUILDDIR/tests/images
    "$SW_SRCDIR/tests/images/build.sh" "$IMG" >/dev/null ||
        { echo "SKIP: the tiny guest images cannot be built here"; exit 77; }
}
