#!/usr/bin/env bash
# tests/images/build.sh OUTDIR - builds the tiny guest images the tests boot
# (tests/images/README.md) from Debian packages only: the archive's cloud
# kernel, busybox-static and qemu-guest-agent, fetched with apt-get download
# into OUTDIR/debs and unpacked with dpkg-deb. No mount, no loop device.
# Writes into OUTDIR:
#   vmlinuz, initrd.gz              pv: the kernel and an initrd that mounts root=
#   pv-root.ext4                    pv: the ext4 root filesystem (raw)
#   initrd-full.gz                  the whole guest as an initramfs
#   hvm.raw, hvm.qcow2              hvm: a FAT disk that SeaBIOS boots (syslinux)
#   boot.iso                        a bootable ISO (isolinux)
#   container-rootfs.tar.gz         the guest without kernel modules
#   SHA256SUMS
# Rebuilt only when an input changes (this folder's files, the package
# versions): OUTDIR/inputs.sha256 records them. SW_GUEST_KERNEL names another
# kernel package version (default: what linux-image-cloud-amd64 depends on).
set -euo pipefail
[ $# = 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
# Two tests may build the same cache at once (scripts/test runs real-guest
# tests side by side): the second waits for the first and then finds it
# up to date, instead of unpacking into the same work folder.
exec 9>"$OUT/.lock"
flock 9
DEBS=$OUT/debs
t0=$(date +%s.%N)
log() { echo "# images: $*"; }
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

for b in flock apt-get apt-cache dpkg-deb depmod modprobe cpio gzip mkfs.ext4 mkfs.vfat mcopy \
         syslinux xorriso qemu-img sha256sum; do
    command -v "$b" >/dev/null || { echo "images: $b is missing (scripts/up installs it)" >&2; exit 1; }
done
[ -f /usr/lib/ISOLINUX/isolinux.bin ] || { echo "images: isolinux is missing" >&2; exit 1; }

KVER=${SW_GUEST_KERNEL:-$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
    sed -n 's/.*Depends: linux-image-\([0-9].*-cloud-amd64\)$/\1/p' | head -1)}
[ -n "$KVER" ] || { echo "images: no linux-image-cloud-amd64 in the apt lists (apt-get update)" >&2; exit 1; }
PKGS="linux-image-$KVER busybox-static qemu-guest-agent"

# Inputs: the package versions the archive offers and this folder's files.
versions=$(apt-cache policy $PKGS | awk '/^[^ ]/ { sub(":$", ""); p = $1 } /Candidate:/ { print p "=" $2 }')
key=$( { echo "$versions"; cd "$HERE" && sha256sum build.sh init slipway-init chpasswd jsonflat.awk; } |
    sha256sum | cut -d' ' -f1)
outputs="vmlinuz initrd.gz initrd-full.gz pv-root.ext4 hvm.raw hvm.qcow2 boot.iso container-rootfs.tar.gz"
have_outputs() { local f; for f in $outputs; do [ -s "$OUT/$f" ] || return 1; done; }
if [ -f "$OUT/inputs.sha256" ] && [ "$(cat "$OUT/inputs.sha256")" = "$key" ] && have_outputs; then
    log "up to date in $OUT ($(elapsed) s)"
    exit 0
fi
rm -f "$OUT/inputs.sha256"

# deb_of PACKAGE: the cached .deb of the version the archive offers, or nothing.
deb_of() {
    local want f
    want=$(echo "$versions" | sed -n "s/^$1=//p")
    for f in "$DEBS/$1"_*.deb; do
        [ -f "$f" ] && [ "$(dpkg-deb -f "$f" Version)" = "$want" ] && { echo "$f"; return; }
    done
}
mkdir -p "$DEBS"
for p in $PKGS; do
    [ -n "$(deb_of "$p")" ] && continue
    log "apt-get download $p"
    (cd "$DEBS" && apt-get download -qq "$p" 2>&1 | grep -v 'unsandboxed' || true)
    [ -n "$(deb_of "$p")" ] || { echo "images: cannot download $p" >&2; exit 1; }
done

W=$OUT/work
rm -rf "$W"; mkdir -p "$W"
for p in $PKGS; do dpkg-deb -x "$(deb_of "$p")" "$W/x"; done
X=$W/x
depmod -b "$X" "$KVER"

# The guest's files: busybox with its applets, modules, qemu-ga and libraries.
R=$W/rootfs
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,usr/lib/slipway,etc,proc,sys,dev,run,tmp,root,newroot,var/lib/cloud/seed/nocloud}
cp "$X/bin/busybox" "$R/bin/busybox"
for a in $("$R/bin/busybox" --list-full); do
    [ -e "$R/$a" ] || ln -s /bin/busybox "$R/$a"
done
modules="virtio_pci virtio_blk virtio_net virtio_console virtio_balloon virtio_scsi virtio_rng sr_mod ata_piix isofs"
for m in $modules; do
    modprobe -d "$X" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | sort -u | while read -r ko; do
    rel=${ko#"$X"}; mkdir -p "$R$(dirname "$rel")"; cp "$ko" "$R$rel"
done
cp "$X/lib/modules/$KVER/modules.order" "$X/lib/modules/$KVER/modules.builtin"* "$R/lib/modules/$KVER/"
depmod -b "$R" "$KVER"
cp "$X/usr/sbin/qemu-ga" "$R/usr/sbin/qemu-ga"
for lib in $(ldd "$X/usr/sbin/qemu-ga" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}'); do
    mkdir -p "$R$(dirname "$lib")"; cp -L "$lib" "$R$lib"
done
mkdir -p "$R/lib64" && cp -L /lib64/ld-linux-x86-64.so.2 "$R/lib64/"
install -m 755 "$HERE/init" "$R/init"
rm -f "$R/sbin/init" "$R/usr/sbin/chpasswd"
install -m 755 "$HERE/slipway-init" "$R/sbin/init"
install -m 755 "$HERE/chpasswd" "$R/usr/sbin/chpasswd"
install -m 644 "$HERE/jsonflat.awk" "$R/usr/lib/slipway/jsonflat.awk"
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
echo 'root:*:19000:0:99999:7:::' >"$R/etc/shadow"; chmod 600 "$R/etc/shadow"
echo localhost >"$R/etc/hostname"

# pv: a slim initrd (busybox, the disk modules, /init) and the ext4 root.
S=$W/slim
mkdir -p "$S"/{proc,sys,dev,newroot}
cp -a "$R/bin" "$R/sbin" "$R/usr" "$R/init" "$S/"
mkdir -p "$S/lib" && cp -a "$R/lib/modules" "$S/lib/"
rm -f "$S/usr/sbin/qemu-ga"
cp "$X/boot/vmlinuz-$KVER" "$W/vmlinuz"
(cd "$S" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -6n) >"$W/initrd.gz"
(cd "$R" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -6n) >"$W/initrd-full.gz"
mkfs.ext4 -q -F -L slipwayroot -E root_owner=0:0 -d "$R" "$W/pv-root.ext4" 64M >/dev/null

# Container: the same guest minus the kernel's modules and the initrd's /init.
tar -C "$R" --numeric-owner --owner=0 --group=0 --exclude=./lib/modules --exclude=./init \
    -czf "$W/container-rootfs.tar.gz" .

# hvm: a FAT "superfloppy" with syslinux that SeaBIOS boots; the guest runs
# from the initramfs (no root=).
printf 'DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nSERIAL 0 115200\nLABEL linux\n  KERNEL /vmlinuz\n  APPEND initrd=/initrd.gz console=ttyS0 quiet\n' >"$W/syslinux.cfg"
mkfs.vfat -C -n SLIPWAYHVM "$W/hvm.raw" 32768 >/dev/null
mcopy -i "$W/hvm.raw" "$W/vmlinuz" ::/vmlinuz
mcopy -i "$W/hvm.raw" "$W/initrd-full.gz" ::/initrd.gz
mcopy -i "$W/hvm.raw" "$W/syslinux.cfg" ::/syslinux.cfg
syslinux --install "$W/hvm.raw"
qemu-img convert -f raw -O qcow2 "$W/hvm.raw" "$W/hvm.qcow2"

# A bootable ISO: isolinux, the kernel and the whole guest as its initramfs.
T=$W/isotree
mkdir -p "$T/isolinux"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$T/isolinux/"
sed 's/^SERIAL.*//' "$W/syslinux.cfg" | sed '1i SERIAL 0 115200' >"$T/isolinux/isolinux.cfg"
cp "$W/vmlinuz" "$T/vmlinuz"; cp "$W/initrd-full.gz" "$T/initrd.gz"
xorriso -as mkisofs -quiet -o "$W/boot.iso" -V SLIPWAYISO -R -J -b isolinux/isolinux.bin \
    -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table "$T" 2>/dev/null

for f in $outputs; do mv "$W/$f" "$OUT/$f"; done
(cd "$OUT" && sha256sum $outputs >SHA256SUMS)
echo "$KVER" >"$OUT/kernel-version"
rm -rf "$W"
echo "$key" >"$OUT/inputs.sha256"
log "built in $OUT ($(elapsed) s): $(cd "$OUT" && du -ch $outputs | tail -1 | cut -f1)"
