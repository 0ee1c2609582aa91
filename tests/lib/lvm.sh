# tests/lib/lvm.sh - a real LVM volume group for a shell test, on a sparse
# file behind a loop device, seen by a private libvirtd (tests/lib/libvirtd.sh)
# as a `logical` pool. Nothing else on the host is touched: LVM runs with
# its own lvm.conf (LVM_SYSTEM_DIR) whose filter accepts only this loop
# device, with udev off (there is no udev here: without udev_sync = 0 and
# udev_rules = 0 every lvcreate waits for a udev that never answers), no
# metadata backups in /etc/lvm; libvirtd gets the same lvm.conf as its
# /etc/lvm (SW_LV_LVM_DIR), since its logical backend runs vgs, lvcreate
# and lvremove itself.
#
#   . tests/lib/lvm.sh
#   sw_vg_start DIR [SIZE]   # 0, or 1 with $SW_VG_WHY (the caller skips);
#                            # before sw_lv_start: sets SW_LV_LVM_DIR
#   sw_lv_start DIR/lv       # (tests/lib/libvirtd.sh)
#   sw_vg_pool NAME          # the libvirt logical pool NAME on the VG, started
#   sw_vg_dm                 # 0 when this kernel has device-mapper
#   sw_vg_stop               # always (trap): pool, VG, PV, loop device
#
# $SW_VG is the VG's name (sw + 8 random hex digits: never another's),
# $SW_VG_LOOP its loop device, $SW_VG_BYTES its size. LVs need the kernel's
# device-mapper to be activated: a VG and its pool work without it (they
# are metadata on the PV), lvcreate does not ("/dev/mapper/control: open
# failed: No such device"); sw_vg_dm says which. Needs root, losetup and
# lvm2 (pvcreate, vgcreate, vgremove, pvremove).
SW_VG= SW_VG_LOOP= SW_VG_DIR= SW_VG_POOL= SW_VG_BYTES= SW_VG_WHY=

# sw_vg_lvm CMD ARGS...: an LVM command under the VG's own lvm.conf.
sw_vg_lvm() {
    LVM_SYSTEM_DIR=$SW_VG_DIR/lvm LVM_SUPPRESS_FD_WARNINGS=1 "$@"
}

sw_vg_start() {
    local d=$1 size=${2:-4G} b
    [ "$(id -u)" = 0 ] || { SW_VG_WHY="needs root for a loop device"; return 1; }
    for b in losetup pvcreate vgcreate vgremove pvremove; do
        command -v "$b" >/dev/null || { SW_VG_WHY="$b is not installed (lvm2, util-linux)"; return 1; }
    done
    [ -e /dev/loop-control ] || { SW_VG_WHY="no loop devices here (/dev/loop-control)"; return 1; }
    SW_VG_DIR=$d
    mkdir -p "$d/lvm" && truncate -s "$size" "$d/vg.img" ||
        { SW_VG_WHY="cannot make $d/vg.img"; return 1; }
    SW_VG_LOOP=$(losetup -f --show "$d/vg.img" 2>"$d/losetup.err") ||
        { SW_VG_LOOP=; SW_VG_WHY="no free loop device: $(cat "$d/losetup.err")"; return 1; }
    cat >"$d/lvm/lvm.conf" <<CONF
devices { filter = [ "a|^$SW_VG_LOOP\$|", "r|.*|" ] global_filter = [ "a|^$SW_VG_LOOP\$|", "r|.*|" ] use_devicesfile = 0 }
activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
backup { backup = 0 archive = 0 }
CONF
    SW_VG=sw$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
    sw_vg_lvm pvcreate -q "$SW_VG_LOOP" >"$d/vg.log" 2>&1 &&
        sw_vg_lvm vgcreate -q "$SW_VG" "$SW_VG_LOOP" >>"$d/vg.log" 2>&1 ||
        { SW_VG_WHY="cannot make the VG: $(tail -2 "$d/vg.log")"; return 1; }
    SW_VG_BYTES=$(sw_vg_lvm vgs --noheadings --units b --nosuffix -o vg_size "$SW_VG" 2>/dev/null | tr -d ' ')
    export SW_LV_LVM_DIR=$d/lvm
}

# sw_vg_pool NAME: the logical pool NAME over the VG in the libvirtd
# sw_lv_start started. 0, or 1 with $SW_VG_WHY.
sw_vg_pool() {
    SW_VG_POOL=$1
    virsh -c "$SW_LV_URI" pool-define-as "$1" logical --source-name "$SW_VG" \
        --target "/dev/$SW_VG" >"$SW_VG_DIR/pool.log" 2>&1 &&
        virsh -c "$SW_LV_URI" pool-start "$1" >>"$SW_VG_DIR/pool.log" 2>&1 ||
        { SW_VG_WHY="cannot start the logical pool: $(tail -2 "$SW_VG_DIR/pool.log")"; return 1; }
}

# sw_vg_dm: 0 when this kernel has device-mapper (LVs can be activated).
sw_vg_dm() {
    grep -qw device-mapper /proc/misc 2>/dev/null
}

# sw_vg_stop: the pool destroyed and undefined (while libvirtd runs), the VG
# and its LVs removed, the PV wiped, the loop device detached, the file
# removed; each step only if it was made, each whatever the last's outcome.
sw_vg_stop() {
    [ -n "$SW_VG_DIR" ] || return 0
    if [ -n "$SW_VG_POOL" ] && [ -n "${SW_LV_URI:-}" ]; then
        virsh -c "$SW_LV_URI" pool-destroy "$SW_VG_POOL" >/dev/null 2>&1
        virsh -c "$SW_LV_URI" pool-undefine "$SW_VG_POOL" >/dev/null 2>&1
    fi
    if [ -n "$SW_VG_LOOP" ]; then
        [ -n "$SW_VG" ] && sw_vg_lvm vgremove -q -f "$SW_VG" >/dev/null 2>&1
        sw_vg_lvm pvremove -q -f "$SW_VG_LOOP" >/dev/null 2>&1
        losetup -d "$SW_VG_LOOP" 2>/dev/null
    fi
    rm -f "$SW_VG_DIR/vg.img"
    SW_VG= SW_VG_LOOP= SW_VG_DIR= SW_VG_POOL=
    unset SW_LV_LVM_DIR
}
