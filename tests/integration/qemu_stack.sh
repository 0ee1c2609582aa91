#!/usr/bin/env bash
# sw-test: real-guest (scripts/test runs it in the sanitizer half only)
# qemu_stack.sh - the whole stack on real QEMU (issue 13): the panel and the
# provisioner of tests/lib/harness.sh, then the real-guest part of
# `scripts/up --qemu` (scripts/lib/qemu.sh: private libvirtd, node qemu1
# enrolled through the API, its engine, the tiny images uploaded as
# templates). Through the panel, as the demo customer, with a password and
# an SSH key: an hvm and a pv server are ordered; each boots from its own
# root volume (the domain's vda is sw-<id>-root-0.qcow2 in the node's pool);
# the engine attached its NoCloud seed, and its console shows the ordered
# hostname and its IPAM address; a marker is
# written on each disk through qemu-guest-agent and seen in the volume from
# the host; `slipwayctl console` attaches to a live server's console and
# refuses a terminated one; resize to a 2 GiB plan grows the disk the guest sees
# (/sys/block/vda/size through the agent); the pv server boots its template's
# kernel and initrd from volumes img-<sha256>.kernel and .initrd the engine
# fetched into the pool; reset_password of the pv server
# puts a hash of the answered password in its /etc/shadow; reinstall of the hvm server gives
# it a fresh root volume without the marker; terminate leaves no volume of
# either server in the pool (virsh vol-list). Where libvirt's LXC driver is
# installed, a container ordered on node lxc1 runs the template's init from
# its root volume with the ordered hostname, its address and its memory
# limit, and leaves no volume once terminated. Skips (77) where no private
# libvirtd or QEMU can run.
. "$(dirname "$0")/../lib/harness.sh"
. "$SW_SRCDIR/tests/lib/qstack.sh"
sw_qs_start
echo "# stack with node qemu1 up in $(since "$T0") s"

vols() { virsh -c "$URI" vol-list slipway 2>/dev/null | awk -v p="sw-$1-" 'index($1, p) == 1 { print $1 }' | sort | tr '\n' ' '; }
said() { grep -aqF "SLIPWAY-GUEST: $2" "$SW_T_DIR/console-$1.log"; }

KEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@qemu-stack"
declare -A SRV IP JOB BEFORE TJOB CPID
for kind in hvm pv; do
    plan=SW_QEMU_PLAN_${kind^^} tpl=SW_QEMU_TPL_${kind^^}
    api POST /v1/orders "$SW_QEMU_CTOK" "{\"plan_id\":\"${!plan}\",\"template_id\":\"${!tpl}\",\"location_id\":\"$SW_QEMU_LOC\",\"hostname\":\"$kind-1.example.com\",\"password\":\"qemu-stack-pw-1\",\"ssh_keys\":[\"$KEY\"]}"
    sw_t_eq "$kind: the order is accepted" 202 "$SW_STATUS"
    SRV[$kind]=$(j .server.id)
done
for kind in hvm pv; do
    sw_t_check "$kind: its domain runs on the real node (console attached)" \
        sw_qemu_console "$URI" "sw-${SRV[$kind]}" "$SW_T_DIR/console-${SRV[$kind]}.log" 180
    CPID[$kind]=$SW_QEMU_CONSOLE_PID
done
for kind in hvm pv; do
    id=${SRV[$kind]}
    sw_t_check "$kind: the guest agent answers (booted) after $(since "$T0") s" sw_t_wait "agent $kind" 240 agent_up "$id"
    api GET "/v1/servers/$id" "$OP"
    sw_t_eq "$kind: running, one root disk of 1 GB in pool slipway" "running root 1 slipway" \
        "$(j '[.state, .disks[0].role, (.disks[0].size_gb | tostring), .disks[0].pool] | join(" ")')"
    IP[$kind]=$(j .ipv4)
    vol=$(virsh -c "$URI" dumpxml "sw-$id" | grep -o "volume='sw-$id-root-[^']*'" | head -1)
    sw_t_eq "$kind: the domain boots from its own volume" "volume='sw-$id-root-0.qcow2'" "$vol"
    sw_t_eq "$kind: which is in the pool" "sw-$id-root-0.qcow2 " "$(vols "$id" | sed 's/sw-[^ ]*-seed.iso //')"
    sw_t_check "$kind: the engine attached its NoCloud seed" \
        sh -c "virsh -c '$URI' dumpxml sw-$id | grep -q \"volume='sw-$id-seed.iso'\""
    sw_t_check "$kind: the console shows the ordered hostname" \
        sw_t_wait "hostname on $kind's console" 60 said "$id" "hostname=$kind-1.example.com"
    sw_t_check "$kind: and its IPAM address ${IP[$kind]}" said "$id" "addr=${IP[$kind]}/"
done
# The pv template's own kernel and initrd reached the node's pool like every
# image (fetched by sha256, engines/kernel.h): the domain boots the volumes'
# paths as libvirt gives them.
boot_file() { virsh -c "$URI" dumpxml --inactive "sw-${SRV[pv]}" | sed -n "s|.*<$1>\(.*\)</$1>.*|\1|p"; }
SHAS=
for f in kernel initrd; do
    sha=$(sw_t_psql -c "SELECT i.sha256 FROM templates t JOIN images i ON i.id = t.${f}_image_id WHERE t.id = '$SW_QEMU_TPL_PV'")
    sw_t_eq "pv: its $f is the template's image in pool slipway" "$(path_of "img-$sha.$f")" "$(boot_file "$f")"
    SHAS+="$sha "
done
# and reconciliation's restore of a missing domain names the same two
# (migration 0038, read as the node's engine reads it)
sw_t_eq "pv: a restore by reconciliation would boot the same kernel and initrd" "$SHAS" \
    "$(sw_t_psql -c "SELECT k.kernel_sha256 || ' ' || k.initrd_sha256 || ' ' FROM nodes n,
        sw_engine_kernels(n.id) k WHERE n.name = 'qemu1' AND k.server_id = '${SRV[pv]}'")"

# slipwayctl console: an operator's console on the server's node.
id=${SRV[hvm]}
kill "${CPID[hvm]}" 2>/dev/null # one console session at a time
rm -f "$SW_T_DIR/ctl.in" && mkfifo "$SW_T_DIR/ctl.in"
SLIPWAY_DATABASE_URL=$SW_PG_URL timeout 10 script -qfec "slipwayctl console $id" /dev/null 0<>"$SW_T_DIR/ctl.in" >"$SW_T_DIR/ctl.out" 2>&1
sw_t_check "slipwayctl console SERVER attaches to its domain on the node" grep -aq "Connected to domain 'sw-$id'" "$SW_T_DIR/ctl.out"

# A marker on each disk, past the image's end (offset 768 MiB of 1 GiB),
# seen in the volume from the host (qemu-io's dump shows letters only).
OFF=$((768 * 1024 * 1024))
for kind in hvm pv; do
    id=${SRV[$kind]}
    guest_write "$id" /dev/vda "$OFF" "MARKER$kind"
    path=$(virsh -c "$URI" vol-path --pool slipway "sw-$id-root-0.qcow2")
    out=$(qemu-io -U -r -f qcow2 -c "read -v $OFF 16" "$path" 2>&1)
    got=$(grep -o "MARKER$kind" <<<"$out" || echo "${out:0:200}")
    sw_t_eq "$kind: a marker written on /dev/vda through the agent is in the volume" "MARKER$kind" "$got"
done

# Resize to the 2 GiB plan: the guest sees the bigger disk.
for kind in hvm pv; do
    id=${SRV[$kind]} plan=SW_QEMU_PLAN_${kind^^}2
    before=$(guest_read "$id" /sys/block/vda/size 0 64 | tr -d '\n')
    api POST "/v1/servers/$id/actions" "$SW_QEMU_CTOK" "{\"type\":\"resize\",\"plan_id\":\"${!plan}\"}"
    JOB[$kind]=$(j .job.id)
    sw_t_eq "$kind: the resize is accepted" 202 "$SW_STATUS"
    BEFORE[$kind]=$before
done
for kind in hvm pv; do
    id=${SRV[$kind]}
    sw_t_wait "resize of $kind" 120 job_done "${JOB[$kind]}"
    sw_t_eq "$kind: the resize succeeded" succeeded "$(j '.state + (if .error then ": " + (.error | tostring) else "" end)')"
    size_is() { [ "$(guest_read "$1" /sys/block/vda/size 0 64 | tr -d '\n')" = "$2" ]; }
    sw_t_check "$kind: the guest's /sys/block/vda/size grew from ${BEFORE[$kind]} to 4194304 sectors (2 GiB)" \
        sw_t_wait "vda size in $kind" 30 size_is "$id" 4194304
done

# reset_password through the API, on the running pv guest: the answer
# holds the new password once; the job sets it through qemu-guest-agent, and
# root's entry in the guest's /etc/shadow is a hash of it.
id=${SRV[pv]}
api POST "/v1/servers/$id/actions" "$SW_QEMU_CTOK" '{"type":"reset_password"}'
PW=$(j .password)
sw_t_check "pv: reset_password is accepted, with the new password once" test "$SW_STATUS" = 202 -a ${#PW} -ge 12
sw_t_wait "reset_password of pv" 120 job_done "$(j .job.id)"
sw_t_eq "pv: the reset_password job succeeded" succeeded "$(j '.state + (if .error then ": " + (.error | tostring) else "" end)')"
HASH=$(guest_read "$id" /etc/shadow 0 4096 | awk -F: '$1 == "root" { print $2 }')
# shellcheck disable=SC2016 # python's own $ (crypt(3) hashes)
sw_t_eq "pv: root's hash in the guest's /etc/shadow is the new password's" True \
    "$(PW=$PW H=$HASH python3 -W ignore -c 'import crypt, os; h = os.environ["H"]; print(len(h) > 20 and crypt.crypt(os.environ["PW"], h) == h)')"

# Reinstall the hvm server: a fresh root volume, the marker gone.
id=${SRV[hvm]}
api POST "/v1/servers/$id/actions" "$SW_QEMU_CTOK" "{\"type\":\"reinstall\",\"template_id\":\"$SW_QEMU_TPL_HVM\",\"password\":\"qemu-stack-pw-2\"}"
sw_t_eq "hvm: the reinstall is accepted" 202 "$SW_STATUS"
RJOB=$(j .job.id)
sw_t_wait "reinstall" 180 job_done "$RJOB"
sw_t_eq "hvm: the reinstall succeeded" succeeded "$(j '.state + (if .error then ": " + (.error | tostring) else "" end)')"
vol=$(virsh -c "$URI" dumpxml "sw-$id" | grep -o "volume='sw-$id-root-[^']*'" | head -1)
sw_t_eq "hvm: the domain now boots from the reinstall's volume" "volume='sw-$id-root-$RJOB.qcow2'" "$vol"
sw_t_check "hvm: the old root volume is gone" sh -c "! virsh -c '$URI' vol-list slipway | grep -q 'sw-$id-root-0.qcow2'"
sw_t_check "hvm: the reinstalled guest boots (agent answers)" sw_t_wait "agent after reinstall" 240 agent_up "$id"
got=$(guest_read "$id" /dev/vda "$OFF" 16 | tr -d '\0')
sw_t_eq "hvm: the marker is gone from the fresh disk (read through the agent)" "" "$got"

# Terminate both: no volume of theirs is left in the pool.
for kind in hvm pv; do
    api DELETE "/v1/servers/${SRV[$kind]}" "$SW_QEMU_CTOK"
    TJOB[$kind]=$(j .job.id)
done
for kind in hvm pv; do
    id=${SRV[$kind]}
    sw_t_wait "terminate $kind" 120 job_done "${TJOB[$kind]}"
    sw_t_eq "$kind: terminated" succeeded "$(j .state)"
    sw_t_eq "$kind: no volume of it is left in the pool (virsh vol-list)" "" "$(vols "$id")"
    sw_t_check "$kind: nor its domain" sh -c "! virsh -c '$URI' dominfo sw-$id >/dev/null 2>&1"
done
out=$(SLIPWAY_DATABASE_URL=$SW_PG_URL slipwayctl console "${SRV[hvm]}" 2>&1)
sw_t_eq "slipwayctl console on a terminated server: exit 1, saying so" "1 true" "$? $(grep -q 'no live server' <<<"$out" && echo true)"
# A container on node lxc1 (libvirt's LXC driver, where it is installed):
# ordered like the others, it runs the template's init from its own root
# volume in pool "ct", with the ordered hostname, its IPAM address and the
# plan's memory limit in its cgroup; terminate leaves no volume.
ct_running() { api GET "/v1/servers/$1" "$SW_QEMU_CTOK"; [ "$(j .state)" = running ]; }
if [ -n "${SW_QEMU_LXC_URI:-}" ]; then
    t=$(date +%s.%N)
    api POST /v1/orders "$SW_QEMU_CTOK" "{\"plan_id\":\"$SW_QEMU_PLAN_CT\",\"template_id\":\"$SW_QEMU_TPL_CT\",\"location_id\":\"$SW_QEMU_LOC\",\"hostname\":\"ct-1.example.com\",\"password\":\"qemu-stack-pw-1\"}"
    sw_t_eq "container: the order is accepted" 202 "$SW_STATUS"
    id=$(j .server.id)
    sw_t_check "container: running on lxc1" sw_t_wait "container running" 120 ct_running "$id"
    echo "# container: ordered to running in $(since "$t") s"
    sw_t_eq "container: one raw root disk in pool ct" "root raw ct" \
        "$(j '[.disks[0].role, .disks[0].format, .disks[0].pool] | join(" ")')"
    ip=$(j .ipv4) pid=$(ct_pid "$id")
    sw_t_eq "container: its init runs with the ordered hostname" ct-1.example.com \
        "$(nsenter -t "${pid:-0}" -u hostname 2>/dev/null)"
    sw_t_check "container: eth0 has its IPAM address $ip" \
        sh -c "nsenter -t '${pid:-0}' -n ip -4 addr show eth0 | grep -q 'inet $ip/'"
    lim=$(cat /sys/fs/cgroup/memory/machine/lxc-*-sw-"$id".libvirt-lxc/memory.limit_in_bytes 2>/dev/null ||
        cat /sys/fs/cgroup/machine.slice/*sw-"$id"*/memory.max 2>/dev/null)
    sw_t_eq "container: its memory limit (the plan's 256 MiB) is in its cgroup" 268435456 "$lim"
    api DELETE "/v1/servers/$id" "$SW_QEMU_CTOK"
    sw_t_wait "terminate container" 120 job_done "$(j .job.id)"
    sw_t_eq "container: terminated" succeeded "$(j .state)"
    sw_t_eq "container: no volume of it is left in pool ct" "" \
        "$(virsh -c "$SW_QEMU_LXC_URI" vol-list ct 2>/dev/null | awk -v p="sw-$id-" 'index($1, p) == 1')"
else
    echo "# no LXC node here (libvirt's LXC driver is not installed): no container ordered"
fi
echo "# whole test $(since "$T0") s"
sw_t_done
