# shellcheck shell=bash
# qemu.sh - the real-guest part of the stack (issue 13, "Try it as a
# newcomer"), sourced by `scripts/up --qemu`, `scripts/down`,
# tests/integration/qemu_stack.sh and bench/guest_order.sh, on a stack whose
# panel and provisioner already run (scripts/up, or tests/lib/harness.sh):
#
#   sw_qemu_up DIR URL TOKEN BUILD  # 0, or 1 with $SW_QEMU_WHY (skip)
#   . DIR/qemu/env                  # what it made: URIs, ids, the demo login
#   sw_qemu_console URI DOMAIN FILE # the domain's serial console into FILE
#   sw_qemu_down DIR                # engines, domains, libvirtd
#
# DIR/qemu holds it all: a private system libvirtd (tests/lib/libvirtd.sh:
# its own mount and network namespaces, QEMU as root) whose network
# "default" is a bridge with no uplink in its namespace; the node's dir pool
# (pool/: root disks, seeds and every image, the pv template's kernel and
# initrd included, which its engine fetches like the others); one real-QEMU node
# "qemu1" (kinds hvm and pv) and, where libvirt's LXC driver is installed,
# "lxc1" (container; its pool "ct" at /swct, bound to ctpool/ in libvirtd's
# namespace: LXC's path limit), enrolled through the API in location "qemu" with an
# IP pool, each engine started with its enrolment's configuration; the tiny
# images (tests/images/build.sh) uploaded through /v1/admin/images; a
# template and plans of each kind; a customer "demo@slipway.local".
# With SW_QEMU_PEER=1 (scripts/up --qemu sets it; tests that want it too), a
# second real-QEMU node "qemu2" on its own libvirtd (DIR/qemu/lv2: same
# network namespace and bridge, its own mount namespace) whose pool
# "slipway" is the same folder as qemu1's, both marked shared (a folder
# both see, as NFS would be): what live migration between them needs
# (issue 15). With SW_QEMU_PEER_OWN_POOL=1 as well (tests/integration/
# migrate_copy.sh), qemu2's pool "slipway" is a folder of its own (pool2/)
# and neither is shared: a move copies the volumes.

SW_QEMU_ROOT=${SW_QEMU_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=../../tests/lib/libvirtd.sh
. "$SW_QEMU_ROOT/tests/lib/libvirtd.sh"
SW_QEMU_WHY=
SW_QEMU_URI2=
SW_QEMU_DRIVERS=/usr/lib/x86_64-linux-gnu/libvirt/connection-driver

# sw_qemu_api METHOD PATH [BODY]: the panel's answer on stdout; fails on
# an HTTP error, saying it on stderr.
sw_qemu_api() {
    local out
    out=$(curl -sS -X "$1" -H "Authorization: Bearer $SW_QEMU_TOKEN" -H 'Content-Type: application/json' \
        ${3:+--data-binary "$3"} -w '\n%{http_code}' "$SW_QEMU_URL$2") || return 1
    case ${out##*$'\n'} in
    2??) printf '%s\n' "${out%$'\n'*}" ;;
    *) echo "qemu: $1 $2: ${out##*$'\n'} ${out%$'\n'*}" >&2; return 1 ;;
    esac
}

# sw_qemu_find PATH JQFILTER: the id of the first item the filter selects.
sw_qemu_find() {
    sw_qemu_api GET "$1?limit=200" | jq -r "[.items[] | select($2)][0].id // empty"
}

sw_qemu_check() {
    local b
    [ "$(id -u)" = 0 ] || { SW_QEMU_WHY="needs root to run a private system libvirtd"; return 1; }
    for b in libvirtd virtlogd virsh qemu-system-x86_64 qemu-img unshare nsenter ip jq curl script; do
        command -v "$b" >/dev/null || { SW_QEMU_WHY="$b is not installed"; return 1; }
    done
    [ -e "$SW_QEMU_DRIVERS/libvirt_driver_qemu.so" ] ||
        { SW_QEMU_WHY="libvirt's qemu driver is not installed (libvirt-daemon-driver-qemu)"; return 1; }
}

# sw_qemu_libvirtd Q: libvirtd in Q/lv, its bridge and network "default".
sw_qemu_libvirtd() {
    local q=$1 lxc=
    [ -e "$SW_QEMU_DRIVERS/libvirt_driver_lxc.so" ] && lxc=lxc
    # The stock filters slipway-guest refers to (clean-traffic's parts).
    mkdir -p "$q/lv/etc"
    cp -a /etc/libvirt/nwfilter "$q/lv/etc/" 2>/dev/null ||
        { SW_QEMU_WHY="libvirt's stock nwfilters are missing (libvirt-daemon-config-nwfilter)"; return 1; }
    sw_lv_start "$q/lv" $lxc || { SW_QEMU_WHY=$SW_LV_WHY; return 1; }
    mkdir -p "$q/pool"
    nsenter -t "$SW_LV_PID" -n sh -c 'ip link add swbr0 type bridge && ip link set swbr0 up' ||
        { SW_QEMU_WHY="cannot make a bridge in libvirtd's network namespace"; return 1; }
    echo "<network><name>default</name><forward mode='bridge'/><bridge name='swbr0'/></network>" >"$q/net.xml"
    virsh -c "$SW_LV_URI" net-create "$q/net.xml" >/dev/null ||
        { SW_QEMU_WHY="cannot start the network in libvirtd"; return 1; }
    [ -n "$lxc" ] || SW_LV_LXC_URI=
    # libvirt 9.0's LXC driver loop-mounts a container's root by a path of
    # at most 63 bytes (engines/README.md "Container roots"): lxc1's pool
    # is /swct, an empty mount point on the host bound to Q/ctpool in
    # libvirtd's namespace only.
    if [ -n "$lxc" ]; then
        mkdir -p /swct "$q/ctpool"
        nsenter -t "$SW_LV_PID" -m mount --bind "$q/ctpool" /swct ||
            { SW_QEMU_WHY="cannot bind $q/ctpool on /swct in libvirtd's namespace"; return 1; }
    fi
}

# sw_qemu_images BUILD Q: the tiny images, built or reused (sw_qemu_catalog
# uploads them, the pv kernel and initrd as the pv template's images).
sw_qemu_images() {
    local img=$1/tests/images q=$2
    "$SW_QEMU_ROOT/tests/images/build.sh" "$img" >"$q/images.log" 2>&1 ||
        { SW_QEMU_WHY="the tiny images cannot be built: $(tail -2 "$q/images.log")"; return 1; }
    SW_QEMU_IMG=$img
}

# sw_qemu_upload NAME KIND FORMAT FILE: the image's id, uploaded once (an
# image of that name and kind is reused).
sw_qemu_upload() {
    local id
    id=$(sw_qemu_find /v1/admin/images ".name == \"$1\" and .kind == \"$2\" and .state == \"ready\"")
    [ -n "$id" ] && { echo "$id"; return 0; }
    curl -sSf -H "Authorization: Bearer $SW_QEMU_TOKEN" -F "name=$1" -F "kind=$2" -F "format=$3" \
        -F "file=@$4" "$SW_QEMU_URL/v1/admin/images" | jq -er .id
}

# sw_qemu_template NAME BODY: the template's id, registered once.
sw_qemu_template() {
    local id
    id=$(sw_qemu_find /v1/admin/templates ".name == \"$1\"")
    [ -n "$id" ] && { echo "$id"; return 0; }
    sw_qemu_api POST /v1/admin/templates "$2" | jq -er .id
}

# sw_qemu_plan NAME KIND DISK_GB: the plan's id (1 vCPU, 256 MiB), once.
sw_qemu_plan() {
    local id
    id=$(sw_qemu_find /v1/admin/plans ".name == \"$1\"")
    [ -n "$id" ] && { echo "$id"; return 0; }
    sw_qemu_api POST /v1/admin/plans "{\"name\":\"$1\",\"kind\":\"$2\",\"vcpus\":1,\"ram_mb\":256,\"disk_gb\":$3,\"price_hourly\":{\"amount\":1,\"currency\":\"EUR\"},\"price_monthly\":{\"amount\":500,\"currency\":\"EUR\"}}" |
        jq -er .id
}

# sw_qemu_catalog: the images, the templates of each kind and their plans
# (SW_QEMU_TPL_*, SW_QEMU_PLAN_*; "tiny-*" 1 GiB, "small-*" 2 GiB to resize to).
sw_qemu_catalog() {
    local i=$SW_QEMU_IMG hvm pv k rd ct
    hvm=$(sw_qemu_upload "tiny hvm disk" hvm qcow2 "$i/hvm.qcow2") &&
        pv=$(sw_qemu_upload "tiny pv root" pv raw "$i/pv-root.ext4") &&
        k=$(sw_qemu_upload "tiny pv kernel" pv kernel "$i/vmlinuz") &&
        rd=$(sw_qemu_upload "tiny pv initrd" pv initrd "$i/initrd.gz") &&
        ct=$(sw_qemu_upload "tiny container rootfs" container tar "$i/container-rootfs.tar.gz") ||
        { SW_QEMU_WHY="an image upload failed"; return 1; }
    SW_QEMU_TPL_HVM=$(sw_qemu_template "Tiny Linux (hvm)" \
        "{\"name\":\"Tiny Linux (hvm)\",\"kind\":\"hvm\",\"os\":\"tiny\",\"image_id\":\"$hvm\"}") &&
        SW_QEMU_TPL_PV=$(sw_qemu_template "Tiny Linux (pv)" \
            "{\"name\":\"Tiny Linux (pv)\",\"kind\":\"pv\",\"os\":\"tiny\",\"image_id\":\"$pv\",\"kernel_image_id\":\"$k\",\"initrd_image_id\":\"$rd\"}") &&
        SW_QEMU_TPL_CT=$(sw_qemu_template "Tiny Linux (container)" \
            "{\"name\":\"Tiny Linux (container)\",\"kind\":\"container\",\"os\":\"tiny\",\"image_id\":\"$ct\"}") &&
        SW_QEMU_PLAN_HVM=$(sw_qemu_plan tiny-hvm hvm 1) && SW_QEMU_PLAN_HVM2=$(sw_qemu_plan small-hvm hvm 2) &&
        SW_QEMU_PLAN_PV=$(sw_qemu_plan tiny-pv pv 1) && SW_QEMU_PLAN_PV2=$(sw_qemu_plan small-pv pv 2) &&
        SW_QEMU_PLAN_CT=$(sw_qemu_plan tiny-container container 1) ||
        { SW_QEMU_WHY="a template or plan could not be registered"; return 1; }
}

# sw_qemu_location: location "qemu" (SW_QEMU_LOC) and its IP pools
# (documentation ranges; the guests' bridge has no uplink).
sw_qemu_location() {
    SW_QEMU_LOC=$(sw_qemu_find /v1/admin/locations '.code == "qemu"')
    [ -n "$SW_QEMU_LOC" ] ||
        SW_QEMU_LOC=$(sw_qemu_api POST /v1/admin/locations '{"code":"qemu","name":"Real QEMU on this machine"}' |
            jq -er .id) || { SW_QEMU_WHY="cannot make location qemu"; return 1; }
    local have
    have=$(sw_qemu_api GET "/v1/admin/ip-pools?limit=200" | jq -r '.items[].network') || return 1
    grep -qx 192.0.2.0/24 <<<"$have" ||
        sw_qemu_api POST /v1/admin/ip-pools "{\"location_id\":\"$SW_QEMU_LOC\",\"network\":\"192.0.2.0/24\",\"gateway\":\"192.0.2.1\"}" >/dev/null
    grep -qx 2001:db8:5::/48 <<<"$have" ||
        sw_qemu_api POST /v1/admin/ip-pools "{\"location_id\":\"$SW_QEMU_LOC\",\"network\":\"2001:db8:5::/48\",\"family\":6}" >/dev/null
}

# sw_qemu_node Q BUILD NAME URI KINDS POOL PATH [SHARED]: enrols the node with one dir
# pool POOL at PATH (as libvirtd sees it; SHARED true: a pool other nodes see too) once (its engine
# configuration kept in Q/nodes/NAME.json, mode 600; rekeyed when lost)
# and starts its engine (pid in Q/run, log in Q/log).
sw_qemu_node() {
    local q=$1 b=$2 name=$3 uri=$4 kinds=$5 pool=$6 path=$7 shared=${8:-false} id conf=$1/nodes/$3.json
    mkdir -p "$q/nodes" "$q/run" "$q/log"
    id=$(sw_qemu_find /v1/admin/nodes ".name == \"$name\"")
    if [ -z "$id" ]; then
        (umask 077 && sw_qemu_api POST /v1/admin/nodes "{\"name\":\"$name\",\"location_id\":\"$SW_QEMU_LOC\",\"engine_uri\":\"$uri\",\"kinds\":$kinds,\"cpus\":2,\"ram_mb\":4096,\"disk_gb\":100,\"pools\":[{\"name\":\"$pool\",\"path\":\"$path\",\"shared\":$shared}]}" |
            jq -e .engine_config >"$conf") || { SW_QEMU_WHY="cannot enrol node $name"; return 1; }
        id=$(jq -r .SLIPWAY_NODE_ID "$conf")
    elif [ ! -s "$conf" ]; then
        (umask 077 && sw_qemu_api POST "/v1/admin/nodes/$id/rekey" | jq -e .engine_config >"$conf") ||
            { SW_QEMU_WHY="cannot rekey node $name"; return 1; }
    fi
    # a kept node gets the pool as this run wants it (shared or not), before its engine starts
    sw_qemu_api PATCH "/v1/admin/nodes/$id" "{\"pools\":[{\"name\":\"$pool\",\"path\":\"$path\",\"shared\":$shared}]}" >/dev/null ||
        { SW_QEMU_WHY="cannot set the pool of node $name"; return 1; }
    local env
    mapfile -t env < <(jq -r 'to_entries[] | "\(.key)=\(.value)"' "$conf")
    # Backups: a running guest's NBD export where the engine and QEMU (in
    # libvirtd's namespace) see the same path (engines/README.md "Backup jobs").
    mkdir -p "$q/bksock"
    # The panel's address as it is now: a restarted stack listens on another
    # port than the one the kept enrolment names.
    # A pool shared over a local folder: libvirt must be told to migrate anyway (issue 15).
    local unsafe=0
    [ "$shared" = true ] && unsafe=1
    # A QEMU node's guests run under TCG (SW_QEMU_DOMAIN_TYPE=kvm where KVM
    # really runs them): a nested /dev/kvm passes the engine's probe and then
    # stops every guest at its boot loader ("KVM internal error. Suberror: 1").
    # The LXC node has no such choice (the engine refuses the setting there).
    local dtype=
    case $uri in qemu*) dtype=${SW_QEMU_DOMAIN_TYPE:-qemu} ;; esac
    nohup env "${env[@]}" SLIPWAY_NODE_ID="$id" SLIPWAY_PANEL_URL="$SW_QEMU_URL" SLIPWAY_BACKUP_SOCK_DIR="${SLIPWAY_BACKUP_SOCK_DIR:-$q/bksock}" \
        SLIPWAY_MIGRATE_UNSAFE="$unsafe" SLIPWAY_DOMAIN_TYPE="$dtype" \
        "$b/engines/slipway-engine" >>"$q/log/engine-$name.log" 2>&1 &
    echo $! >"$q/run/engine-$name.pid"
}

# sw_qemu_peer Q: the second libvirtd (Q/lv2) beside the first, with the
# same network "default" on the same bridge; SW_QEMU_URI2.
sw_qemu_peer() {
    local q=$1
    sw_lv_peer_start "$q/lv2" || { SW_QEMU_WHY=$SW_LV_WHY; return 1; }
    virsh -c "$SW_LV_PEER_URI" net-create "$q/net.xml" >/dev/null ||
        { SW_QEMU_WHY="cannot start the network in the second libvirtd"; return 1; }
    SW_QEMU_URI2=$SW_LV_PEER_URI
}

# sw_qemu_migrate_uris: qemu1 and qemu2 migrate to each other (issue 15,
# POST /v1/admin/servers/{id}/migrate): each one's libvirt URI as the other's
# libvirtd reaches it (qemu+unix: the peer is on this host) and the memory
# stream on 127.0.0.1 (one network namespace).
sw_qemu_migrate_uris() {
    local n uri id
    for n in "qemu1 $SW_LV_P2P_URI" "qemu2 $SW_LV_PEER_P2P_URI"; do
        uri=${n#* }
        id=$(sw_qemu_find /v1/admin/nodes ".name == \"${n%% *}\"") &&
            sw_qemu_api PATCH "/v1/admin/nodes/$id" "{\"migrate_uri\":\"$uri\",\"migrate_stream_uri\":\"tcp://127.0.0.1\"}" >/dev/null ||
            { SW_QEMU_WHY="cannot set the migration URIs of ${n%% *}"; return 1; }
    done
}

# sw_qemu_customer Q: the demo customer (its password made once, kept in
# Q/demo.password, mode 600) and its token in SW_QEMU_CTOK.
sw_qemu_customer() {
    local q=$1 pw
    [ -s "$q/demo.password" ] || (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$q/demo.password")
    pw=$(cat "$q/demo.password")
    [ -n "$(sw_qemu_find /v1/admin/accounts '.email == "demo@slipway.local"')" ] ||
        sw_qemu_api POST /v1/admin/accounts "{\"kind\":\"customer\",\"email\":\"demo@slipway.local\",\"name\":\"Demo\",\"password\":\"$pw\"}" >/dev/null ||
        { SW_QEMU_WHY="cannot make the demo customer"; return 1; }
    SW_QEMU_CTOK=$(curl -sSf -H 'Content-Type: application/json' \
        --data-binary "{\"email\":\"demo@slipway.local\",\"password\":\"$pw\"}" "$SW_QEMU_URL/v1/auth/login" | jq -er .token) ||
        { SW_QEMU_WHY="the demo customer cannot log in"; return 1; }
}

# sw_qemu_env Q: what was made, for `. Q/env` (mode 600: a customer token).
sw_qemu_env() {
    (umask 077 && cat >"$1/env" <<ENV
SW_QEMU_URI='$SW_LV_URI'
SW_QEMU_URI2='$SW_QEMU_URI2'
SW_QEMU_LXC_URI='$SW_LV_LXC_URI'
SW_QEMU_POOL=$1/pool
SW_QEMU_POOL2=$([ -d "$1/pool2" ] && echo "$1/pool2" || echo "$1/pool")
SW_QEMU_LOC=$SW_QEMU_LOC
SW_QEMU_TPL_HVM=$SW_QEMU_TPL_HVM
SW_QEMU_TPL_PV=$SW_QEMU_TPL_PV
SW_QEMU_TPL_CT=$SW_QEMU_TPL_CT
SW_QEMU_PLAN_HVM=$SW_QEMU_PLAN_HVM
SW_QEMU_PLAN_HVM2=$SW_QEMU_PLAN_HVM2
SW_QEMU_PLAN_PV=$SW_QEMU_PLAN_PV
SW_QEMU_PLAN_PV2=$SW_QEMU_PLAN_PV2
SW_QEMU_PLAN_CT=$SW_QEMU_PLAN_CT
SW_QEMU_CTOK=$SW_QEMU_CTOK
ENV
    )
}

sw_qemu_up() {
    local q=$1/qemu b=$4
    SW_QEMU_URL=$2 SW_QEMU_TOKEN=$3
    sw_qemu_check || return 1
    mkdir -p "$q"
    chmod 755 "$1" "$q"
    sw_qemu_images "$b" "$q" && sw_qemu_libvirtd "$q" && sw_qemu_location && sw_qemu_catalog &&
        sw_qemu_customer "$q" || return 1
    local shared=false pool2=$q/pool
    if [ "${SW_QEMU_PEER:-0}" = 1 ]; then
        sw_qemu_peer "$q" || return 1
        shared=true
        [ "${SW_QEMU_PEER_OWN_POOL:-0}" = 1 ] && shared=false pool2=$q/pool2
    fi
    sw_qemu_node "$q" "$b" qemu1 "$SW_LV_URI" '["hvm","pv"]' slipway "$q/pool" $shared || return 1
    if [ -n "$SW_QEMU_URI2" ]; then
        mkdir -p "$pool2"
        sw_qemu_node "$q" "$b" qemu2 "$SW_QEMU_URI2" '["hvm","pv"]' slipway "$pool2" $shared &&
            sw_qemu_migrate_uris || return 1
    fi
    if [ -n "$SW_LV_LXC_URI" ]; then
        sw_qemu_node "$q" "$b" lxc1 "$SW_LV_LXC_URI" '["container"]' ct /swct || return 1
    fi
    sw_qemu_env "$q"
}

# sw_qemu_console URI DOMAIN FILE [SECONDS]: once DOMAIN runs (waiting up to
# SECONDS, default 120), its serial console is copied into FILE in the
# background (virsh console wants a terminal: script(1) gives it one; QEMU
# drops what a console prints while nobody reads it). SW_QEMU_CONSOLE_PID.
sw_qemu_console() {
    local end=$((SECONDS + ${4:-120}))
    until [ "$(virsh -c "$1" domstate "$2" 2>/dev/null)" = running ]; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.05
    done
    # Its input: a FIFO opened read-write, which never ends nor sends a byte.
    rm -f "$3.in" && mkfifo "$3.in" || return 1
    script -qfec "virsh -c '$1' console --force '$2'" /dev/null 0<>"$3.in" >"$3" 2>&1 &
    SW_QEMU_CONSOLE_PID=$!
}

# sw_qemu_down DIR: the engines, then every domain and the libvirtd.
sw_qemu_down() {
    local q=$1/qemu f pid
    [ -d "$q" ] || return 0
    for f in "$q"/run/*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        kill "$pid" 2>/dev/null && for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
        rm -f "$f"
    done
    [ -f "$q/lv/libvirtd.pid" ] || return 0
    if [ -f "$q/lv2/libvirtd.pid" ]; then
        SW_LV_DIR=$q/lv2 SW_LV_URI="qemu:///system?socket=$q/lv2/run/libvirt-sock"
        SW_LV_LXC_URI=$SW_LV_URI SW_LV_PID=$(cat "$q/lv2/libvirtd.pid")
        sw_lv_stop
        rm -f "$q/lv2/libvirtd.pid" "$q/lv2/virtlogd.pid"
    fi
    SW_LV_DIR=$q/lv SW_LV_URI="qemu:///system?socket=$q/lv/run/libvirt-sock"
    SW_LV_LXC_URI="lxc:///system?socket=$q/lv/run/libvirt-sock"
    sw_lv_stop
    rm -f "$q/lv/libvirtd.pid" "$q/lv/virtlogd.pid"
}

# sw_qemu_start DIR URL TOKEN BUILD T0: sw_qemu_up for scripts/up, which
# then prints how to order a guest and watch it boot, and the time since T0.
sw_qemu_start() {
    local q=$1/qemu
    if ! sw_qemu_up "$1" "$2" "$3" "$4"; then
        echo "up: --qemu: $SW_QEMU_WHY (logs in $q; scripts/down stops what started)" >&2
        return 1
    fi
    local took
    took=$(awk -v a="$5" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    cat <<TXT
Real guests: node qemu1 (QEMU under TCG, kinds hvm and pv)${SW_QEMU_URI2:+, qemu2 (the same, on a second libvirtd sharing the pool of qemu1)}${SW_LV_LXC_URI:+ and lxc1 (LXC, containers)} in location "qemu".
Order one as the demo customer (its token and the ids are in var/qemu/env):
  . var/env; . var/qemu/env
  curl -s -H "Authorization: Bearer \$SW_QEMU_CTOK" -H 'Content-Type: application/json' \\
    -d "{\"plan_id\":\"\$SW_QEMU_PLAN_HVM\",\"template_id\":\"\$SW_QEMU_TPL_HVM\",\"location_id\":\"\$SW_QEMU_LOC\",\"hostname\":\"web1.example.com\",\"password\":\"a-long-password\"}" \\
    \$SLIPWAY_URL/v1/orders | jq .server
  (pv: \$SW_QEMU_PLAN_PV and \$SW_QEMU_TPL_PV; container: \$SW_QEMU_PLAN_CT and \$SW_QEMU_TPL_CT)
Watch it boot (Ctrl-] leaves):  slipwayctl console SERVER_ID
  or:  virsh -c "\$SW_QEMU_URI" console sw-SERVER_ID
up took ${took} s (real-guest part included).
TXT
}
