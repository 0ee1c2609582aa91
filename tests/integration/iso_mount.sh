#!/usr/bin/env bash
# iso_mount.sh - ISO installs for hvm servers (panel/README.md "API notes:
# ISO installs") against real PostgreSQL, Redis, the panel and the
# provisioner (the node's side is engines' test_iso and iso_boot.sh):
#   - GET /v1/isos lists the library's ready ISOs (id, name, size_bytes);
#   - mount_iso, set_boot and eject_iso: 202 with a job, the server shows
#     its iso and boot; a pv server 422, an iso_id that is no ready ISO
#     422, a cdrom boot without an ISO 422, bad fields 400, another
#     tenant's server 404;
#   - the node job of each (and of a later stop) carries iso_sha256,
#     iso_bytes and boot as the server has them;
#   - a node fetches the ISO mounted on its server, another node 404, and
#     after the eject no node; a mounted ISO cannot be deleted;
#   - an order with iso_id (an ISO install on a blank disk): its server
#     boots the ISO and its create job carries it; on a pv or container plan 422.
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_ORDER_RATE=0
IMAGES=$SW_T_DIR/images
export SLIPWAY_IMAGES_DIR=$IMAGES
sw_t_panel
command -v xorriso >/dev/null || { echo "xorriso missing"; exit 77; }

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
sql() { sw_t_psql -c "$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
upload() { # path file name kind format
    SW_STATUS=$(curl -s -o "$SW_T_DIR/.resp" -w '%{http_code}' -H "Authorization: Bearer $OP" \
        -F "name=$3" -F "kind=$4" -F "format=$5" -F "file=@$2" "$SW_URL$1")
    SW_BODY=$(cat "$SW_T_DIR/.resp")
}

# ---- the library, the catalogue, two customers ----
W=$SW_T_DIR/work
mkdir -p "$W/iso"
echo "installer" > "$W/iso/README"
xorriso -as mkisofs -quiet -V INSTALL -o "$W/install.iso" "$W/iso" 2>/dev/null || exit 99
qemu-img create -q -f qcow2 "$W/base.qcow2" 16M || exit 99
upload /v1/admin/isos "$W/install.iso" "Installer 1.0" hvm iso
[ "$SW_STATUS" = 201 ] || { echo "iso upload: $SW_BODY"; exit 99; }
ISO=$(j .id) ISO_SUM=$(sha "$W/install.iso") ISO_SIZE=$(stat -c %s "$W/install.iso")
upload /v1/admin/images "$W/base.qcow2" "a disk" hvm qcow2
QCOW=$(j .id)
PEND=$(cat /proc/sys/kernel/random/uuid)
sql "INSERT INTO images (id, name, kind, format, state, source_url, lease_until)
     VALUES ('$PEND', 'still coming', 'hvm', 'iso', 'pending', 'http://127.0.0.1:1/x',
             now() + interval '1 hour')"

customer() { # email -> token
    api POST /v1/admin/accounts "$OP" "{\"kind\":\"customer\",\"email\":\"$1\",\"name\":\"c\",\"password\":\"c-secret-pw\"}"
    api POST /v1/auth/login "" "{\"email\":\"$1\",\"password\":\"c-secret-pw\"}"
    j .token
}
C1=$(customer c1@example.com) C2=$(customer c2@example.com)

api POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
LOC=$(j .id)
enrol() { # name -> NODE, NTOK
    api POST /v1/admin/nodes "$OP" "{\"name\":\"$1\",\"location_id\":\"$LOC\",\"engine_uri\":\"test:///default\",\"kinds\":[\"hvm\",\"pv\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500}"
    [ "$SW_STATUS" = 201 ] || { echo "enrol $1: $SW_BODY"; exit 99; }
    NODE=$(j .id) NTOK=$(j .engine_config.SLIPWAY_NODE_TOKEN)
}
enrol n1; N1=$NODE N1TOK=$NTOK
enrol n2; N2TOK=$NTOK
sql "UPDATE nodes SET state = 'offline' WHERE id = '$NODE'"
plan() { # kind -> id
    api POST /v1/admin/plans "$OP" "{\"name\":\"$1-s\",\"kind\":\"$1\",\"vcpus\":1,\"ram_mb\":512,\"disk_gb\":10,\"price_hourly\":{\"amount\":1,\"currency\":\"EUR\"},\"price_monthly\":{\"amount\":500,\"currency\":\"EUR\"}}"
    j .id
}
template() { # kind -> id (no image: a blank disk, an ISO install)
    api POST /v1/admin/templates "$OP" "{\"name\":\"blank $1\",\"kind\":\"$1\",\"os\":\"blank\"}"
    j .id
}
HVM_PLAN=$(plan hvm) PV_PLAN=$(plan pv) HVM_TPL=$(template hvm) PV_TPL=$(template pv)

# Jobs on one server run one at a time: without an engine, each dispatched
# job is settled by hand before the next action.
sw_t_daemon prov slipway-provisioner
xlen_is() { [ "$(sw_t_redis XLEN "node:$N1")" = "$1" ]; }
SENT=0
dispatched() { # what -> M, the last node job
    SENT=$((SENT + 1))
    sw_t_wait "node:n1 $1" 20 xlen_is "$SENT" >/dev/null || { echo "not dispatched: $1"; return 1; }
    M=$(sw_t_redis --raw XRANGE "node:$N1" - + | sed -n "$((SENT * 3))p")
}
settle() { sql "UPDATE jobs SET state = 'succeeded', finished_at = now() WHERE state IN ('queued', 'running');
                UPDATE servers SET state = 'running' WHERE state = 'provisioning'" >/dev/null; }
order() { # plan template hostname -> id
    api POST /v1/orders "$C1" "{\"plan_id\":\"$1\",\"template_id\":\"$2\",\"hostname\":\"$3\"}"
    [ "$SW_STATUS" = 202 ] || { echo "order $3: $SW_BODY" >&2; exit 99; }
    j .server.id
}
HVM=$(order "$HVM_PLAN" "$HVM_TPL" iso.example.com)
dispatched create; settle
PV=$(order "$PV_PLAN" "$PV_TPL" pv.example.com)
dispatched create; settle
sw_t_eq "a create carries no ISO and boots the disk" "null disk" "$(jq -r '(.iso_sha256 | tostring) + " " + .boot' <<<"$M")"

# ---- the ISOs customers see ----
api GET /v1/isos "$C1"
sw_t_eq "GET /v1/isos: the ready ISO only, with id, name and size" \
    "200 [{\"id\":\"$ISO\",\"name\":\"Installer 1.0\",\"size_bytes\":$ISO_SIZE}]" "$SW_STATUS $(jq -c .items <<<"$SW_BODY")"
api GET "/v1/servers/$HVM" "$C1"
sw_t_eq "a server without an ISO: iso null, boot disk" "null disk" "$(j '(.iso | tostring) + " " + .boot')"

# ---- refusals ----
act() { api POST "/v1/servers/$1/actions" "$2" "$3"; }
act "$PV" "$C1" "{\"type\":\"mount_iso\",\"iso_id\":\"$ISO\"}"
sw_t_eq "mount_iso on a pv server: 422" "422 ISO images can only be mounted on hvm servers" "$SW_STATUS $(j .error.message)"
act "$PV" "$C1" '{"type":"set_boot","boot":"disk"}'
sw_t_eq "set_boot on a pv server: 422" 422 "$SW_STATUS"
act "$PV" "$C1" '{"type":"eject_iso"}'
sw_t_eq "eject_iso on a pv server: 422" 422 "$SW_STATUS"
act "$HVM" "$C1" "{\"type\":\"mount_iso\",\"iso_id\":\"$QCOW\"}"
sw_t_eq "an iso_id naming a disk image: 422" "422 iso_id names no ready ISO of the library" "$SW_STATUS $(j .error.message)"
act "$HVM" "$C1" "{\"type\":\"mount_iso\",\"iso_id\":\"$PEND\"}"
sw_t_eq "an ISO still pending: 422" 422 "$SW_STATUS"
act "$HVM" "$C1" "{\"type\":\"mount_iso\",\"iso_id\":\"$(cat /proc/sys/kernel/random/uuid)\"}"
sw_t_eq "an unknown iso_id: 422" 422 "$SW_STATUS"
act "$HVM" "$C1" '{"type":"set_boot","boot":"cdrom"}'
sw_t_eq "booting the cdrom with no ISO mounted: 422" "422 the server has no ISO mounted to boot from" "$SW_STATUS $(j .error.message)"
act "$HVM" "$C1" "{\"type\":\"mount_iso\",\"iso_id\":\"$ISO\",\"boot\":\"floppy\"}"
sw_t_eq "a boot that is neither cdrom nor disk: 400" 400 "$SW_STATUS"
act "$HVM" "$C2" "{\"type\":\"mount_iso\",\"iso_id\":\"$ISO\"}"
sw_t_eq "another tenant's server: 404" 404 "$SW_STATUS"
sw_t_eq "nothing of it was recorded or queued" "disk 0" \
    "$(sql "select s.boot || ' ' || (select count(*) from jobs j where j.server_id = s.id and j.type <> 'create') from servers s where id = '$HVM'")"

# ---- mount ----
act "$HVM" "$C1" "{\"type\":\"mount_iso\",\"iso_id\":\"$ISO\"}"
sw_t_eq "mount_iso: 202 with a queued mount_iso job" "202 mount_iso" "$SW_STATUS $(j .job.type)"
JOB=$(j .job.id)
api GET "/v1/servers/$HVM" "$C1"
sw_t_eq "the server shows its ISO and boots the cdrom" "$ISO Installer 1.0 cdrom" "$(j '.iso.id + " " + .iso.name + " " + .boot')"
dispatched mount_iso
sw_t_eq "its node job carries the ISO's sha256, size and the cdrom boot" \
    "mount_iso $ISO_SUM $ISO_SIZE cdrom" "$(jq -r '[.type, .iso_sha256, (.iso_bytes | tostring), .boot] | join(" ")' <<<"$M")"
sw_t_eq "the audit log has the action" 1 \
    "$(sql "select count(*) from audit_log where object_id = '$HVM' and action like 'POST %/actions' and status = 202")"
sw_t_eq "reconciliation reads the mounted ISO for the node (sw_engine_isos)" "$HVM|$ISO_SUM|$ISO_SIZE|cdrom" \
    "$(sw_t_psql -c "select server_id, sha256, size_bytes, boot from sw_engine_isos('$N1')")"
node_get() { # token -> SW_STATUS, body in .dl
    SW_STATUS=$(curl -s -o "$SW_T_DIR/.dl" -w '%{http_code}' -H "Authorization: Bearer $1" \
        "$SW_URL/v1/node/images/$ISO_SUM")
}
node_get "$N1TOK"
sw_t_eq "the server's node fetches the mounted ISO: 200" 200 "$SW_STATUS"
sw_t_check "the bytes are the ISO's" cmp "$W/install.iso" "$SW_T_DIR/.dl"
node_get "$N2TOK"
sw_t_eq "a node that does not run the server: 404" 404 "$SW_STATUS"
api DELETE "/v1/admin/isos/$ISO" "$OP"
sw_t_eq "a mounted ISO cannot be deleted: 409" 409 "$SW_STATUS"
settle

# ---- boot order, a later job, eject ----
act "$HVM" "$C1" '{"type":"set_boot","boot":"disk"}'
sw_t_eq "set_boot disk: 202" "202 set_boot" "$SW_STATUS $(j .job.type)"
dispatched set_boot; settle
sw_t_eq "its node job keeps the ISO and boots the disk" "$ISO_SUM disk" "$(jq -r '.iso_sha256 + " " + .boot' <<<"$M")"
act "$HVM" "$C1" '{"type":"set_boot","boot":"cdrom"}'
dispatched set_boot; settle
act "$HVM" "$C1" '{"type":"stop"}'
dispatched stop; settle
sw_t_eq "a stop carries the ISO and boot order too" "stop $ISO_SUM cdrom" "$(jq -r '.type + " " + .iso_sha256 + " " + .boot' <<<"$M")"
act "$HVM" "$C1" '{"type":"eject_iso"}'
sw_t_eq "eject_iso: 202" "202 eject_iso" "$SW_STATUS $(j .job.type)"
api GET "/v1/servers/$HVM" "$C1"
sw_t_eq "the server has no ISO and boots the disk" "null disk" "$(j '(.iso | tostring) + " " + .boot')"
dispatched eject_iso; settle
sw_t_eq "its node job has no ISO and boots the disk" "eject_iso null null disk" \
    "$(jq -r '[.type, (.iso_sha256 | tostring), (.iso_bytes | tostring), .boot] | join(" ")' <<<"$M")"
node_get "$N1TOK"
sw_t_eq "after the eject the node may not fetch it: 404" 404 "$SW_STATUS"
act "$HVM" "$C1" '{"type":"eject_iso"}'
sw_t_eq "a second eject is accepted (idempotent)" 202 "$SW_STATUS"
dispatched "second eject"; settle

# ---- an order that installs from the ISO ----
api POST /v1/orders "$C1" "{\"plan_id\":\"$PV_PLAN\",\"template_id\":\"$PV_TPL\",\"hostname\":\"pv2.example.com\",\"iso_id\":\"$ISO\"}"
sw_t_eq "an order of a pv plan with an ISO: 422, nothing made" "422 ISO images can only be mounted on hvm servers 0" \
    "$SW_STATUS $(j .error.message) $(sql "select count(*) from servers where hostname = 'pv2.example.com'")"
CT_PLAN=$(plan container) CT_TPL=$(template container)
api POST /v1/orders "$C1" "{\"plan_id\":\"$CT_PLAN\",\"template_id\":\"$CT_TPL\",\"hostname\":\"ct2.example.com\",\"iso_id\":\"$ISO\"}"
sw_t_eq "an order of a container plan with an ISO: 422, nothing made" "422 ISO images can only be mounted on hvm servers 0" \
    "$SW_STATUS $(j .error.message) $(sql "select count(*) from servers where hostname = 'ct2.example.com'")"
api POST /v1/orders "$C1" "{\"plan_id\":\"$HVM_PLAN\",\"template_id\":\"$HVM_TPL\",\"hostname\":\"inst.example.com\",\"iso_id\":\"x\"}"
sw_t_eq "an order with an iso_id that is no UUID: 400" 400 "$SW_STATUS"
api POST /v1/orders "$C1" "{\"plan_id\":\"$HVM_PLAN\",\"template_id\":\"$HVM_TPL\",\"hostname\":\"inst.example.com\",\"iso_id\":\"$ISO\"}"
sw_t_eq "an order of an hvm plan with an ISO: 202" 202 "$SW_STATUS"
INST=$(j .server.id)
api GET "/v1/servers/$INST" "$C1"
sw_t_eq "its server has the ISO and boots it first" "$ISO cdrom" "$(j '.iso.id + " " + .boot')"
dispatched "create with ISO"; settle
sw_t_eq "its create job carries the ISO and the cdrom boot" "create $INST $ISO_SUM $ISO_SIZE cdrom" \
    "$(jq -r '[.type, .server_id, .iso_sha256, (.iso_bytes | tostring), .boot] | join(" ")' <<<"$M")"
api DELETE "/v1/admin/isos/$ISO" "$OP"
sw_t_eq "the ISO is in use again: 409" 409 "$SW_STATUS"
act "$INST" "$C1" '{"type":"eject_iso"}'
dispatched "eject after the install"; settle
api DELETE "/v1/admin/isos/$ISO" "$OP"
sw_t_eq "an ISO no server mounts is deleted: 204" 204 "$SW_STATUS"
sw_t_done
