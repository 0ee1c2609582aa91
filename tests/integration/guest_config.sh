#!/usr/bin/env bash
# The guest's configuration and the plan's limits from the order to the
# domain (issue 13), over the API with the panel, the provisioner and an
# engine enrolled through the API (its own PostgreSQL role and Redis user):
# IP pools with gateways and DNS resolvers, a plan with every limit, an
# order with SSH keys and a root password. The node job on node:<id>
# (XRANGE as the admin Redis user, before the engine runs) carries the
# addresses with prefix and gateways, the resolvers, the keys, the limits
# and the password's hash sealed (never the hash in the clear, never the
# password); the engine opens it (the create succeeds). The node is
# libvirt's test driver served by a private libvirtd, so virsh reads the
# defined domain's XML: <iotune>, <bandwidth>, <cputune> quota. A resize to
# another limited plan redefines it with the new limits and its note says
# what applied live; a reinstall with its own keys and password sends them
# (the hash sealed) and the server keeps the new keys; a domain lost from the node is restored by
# reconciliation with its plan's limits (read as the node's role). The
# password is nowhere: not in any log, the streams, the database or its
# files; the job keeps no hash once done. Skips (77) without root or when
# a private libvirtd cannot start.
. "$(dirname "$0")/../lib/harness.sh"
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root to run a private libvirtd"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=2 SLIPWAY_CLAIM_IDLE_MS=1000

# ---- a private libvirtd serving the test driver (virsh sees its domains) ----
# tests/lib/libvirtd.sh: its own mount namespace with empty run/state dirs
# (another libvirtd on this host keeps its own) and its own network namespace;
# QEMU's capabilities, which its qemu driver probes at start, cached in the
# build tree (a 4-10 s probe otherwise).
. "$SW_SRCDIR/tests/lib/libvirtd.sh"
SW_LV_CACHE=$SW_BUILDDIR/tests/integration/guest_config.cache
sw_lv_start "$SW_T_DIR/libvirt" || skip "$SW_LV_WHY"
URI=$SW_LV_TEST_URI
trap 'sw_lv_stop; sw_t_cleanup' EXIT

sw_t_panel
sw_t_daemon provisioner slipway-provisioner

j() { jq -r "$1" <<<"$SW_BODY"; }
jc() { jq -cS "$1" <<<"$SW_BODY"; }
api() {
    sw_t_api "$@"
    case $SW_STATUS in 2??) ;; *) echo "$1 $2: $SW_STATUS $SW_BODY"; exit 99 ;; esac
}
q() { sw_t_psql -c "$1"; }

api POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
LOC=$(j .id)
api POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"192.0.2.0/24\",\"gateway\":\"192.0.2.1\",\"dns\":[\"192.0.2.53\",\"2001:db8::53\"]}"
sw_t_eq "an IP pool shows its resolvers" '["192.0.2.53","2001:db8::53"]' "$(jc .dns)"
api POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"2001:db8:100::/48\",\"gateway\":\"2001:db8:100::1\",\"dns\":[\"2001:db8::53\",\"2001:db8::54\"]}"
# The API takes test:/// node URIs; this one is the same test driver behind
# the private libvirtd, so that virsh can read what the engine defines.
api POST /v1/admin/nodes "$OP" "{\"name\":\"n1\",\"location_id\":\"$LOC\",\"engine_uri\":\"test:///default\",\"kinds\":[\"hvm\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500}"
NODE=$(j .id)
(umask 077 && j '.engine_config | to_entries[] | "\(.key)=\(.value)"' >"$SW_T_DIR/node.env")
q "UPDATE nodes SET engine_uri = '$URI' WHERE id = '$NODE'" >/dev/null || exit 99

LIMITS='{"disk_read_iops":2000,"disk_write_iops":1000,"disk_read_bytes_sec":104857600,"disk_write_bytes_sec":52428800,"net_average_kbyte_s":12500,"net_peak_kbyte_s":25000,"net_burst_kbyte":4096,"cpu_cap_pct":50}'
api POST /v1/admin/plans "$OP" "{\"name\":\"limited\",\"kind\":\"hvm\",\"vcpus\":2,\"ram_mb\":1024,\"burst_ram_mb\":2048,\"disk_gb\":20,\"price_hourly\":{\"amount\":1,\"currency\":\"EUR\"},\"price_monthly\":{\"amount\":500,\"currency\":\"EUR\"},\"limits\":$LIMITS}"
PLAN=$(j .id)
sw_t_eq "the plan shows its limits" "$(jq -cS . <<<"$LIMITS")" "$(jc .limits)"
api POST /v1/admin/plans "$OP" '{"name":"other","kind":"hvm","vcpus":2,"ram_mb":1024,"burst_ram_mb":2048,"disk_gb":20,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":500,"currency":"EUR"},"limits":{"disk_write_iops":300,"cpu_cap_pct":25}}'
PLAN2=$(j .id)
api POST /v1/admin/templates "$OP" '{"name":"Debian 12","kind":"hvm","os":"debian-12"}'
TPL=$(j .id)
api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"alice@example.com","name":"Alice","password":"alice-password"}'
api POST /v1/auth/login "" '{"email":"alice@example.com","password":"alice-password"}'
ALICE=$(j .token)
api GET /v1/plans "$ALICE"
sw_t_eq "customers see the limits too" 50 "$(j ".items[] | select(.id == \"$PLAN\") | .limits.cpu_cap_pct")"

# ---- the order: keys and a password; the node job before the engine runs ----
PASSWORD="Gx-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')-pw"
K1="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey1 alice@laptop"
K2="ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQKey2 alice@desk"
api POST /v1/orders "$ALICE" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"web1.example.com\",\"location_id\":\"$LOC\",\"ssh_keys\":[\"$K1\",\"$K2\"],\"password\":\"$PASSWORD\"}"
SRV=$(j .server.id) JOB=$(j .job.id)
sw_t_check "the create job holds only a crypt(3) hash while queued" \
    test "$(q "select params->>'password_hash' like '\$6\$%' from jobs where id = '$JOB'")" = t
dispatched() { [ "$(sw_t_redis XLEN "node:$NODE")" -ge 1 ]; }
sw_t_wait "the node job" 30 dispatched || { sw_t_fail "the create reaches node:$NODE"; sw_t_done; }
NJ=$(sw_t_redis --raw XRANGE "node:$NODE" - + | grep '^{' | head -1)
nj() { jq -cS "$1" <<<"$NJ"; }
echo "# node job: $(jq -c 'del(.password_hash_sealed)' <<<"$NJ")"
IPV4=$(jq -r .ipv4 <<<"$NJ")
sw_t_check "it carries the IPv4 address, its prefix and gateway" \
    test "$(nj '[(.ipv4 | startswith("192.0.2.")), .ipv4_prefix, .ipv4_gateway]')" = '[true,24,"192.0.2.1"]'
sw_t_check "and the IPv6 /64 with its gateway" \
    test "$(nj '[(.ipv6 | startswith("2001:db8:100:")), .ipv6_gateway]')" = '[true,"2001:db8:100::1"]'
sw_t_eq "the pools' resolvers, IPv4 pool's first, once each" \
    '["192.0.2.53","2001:db8::53","2001:db8::54"]' "$(nj .dns)"
sw_t_eq "the order's SSH keys" "$(jq -cn --arg a "$K1" --arg b "$K2" '[$a, $b]')" "$(nj .ssh_keys)"
sw_t_eq "the plan's limits" "$(jq -cS . <<<"$LIMITS")" "$(nj .limits)"
sw_t_check "the password's hash, sealed to the node" test "$(nj '.password_hash_sealed | length > 40')" = true
sw_t_check "neither the hash in the clear nor the password on the stream" \
    bash -c "! grep -qF -e '\$6\$' -e '$PASSWORD' <<<\"\$0\"" "$NJ"

mapfile -t CONF <"$SW_T_DIR/node.env"
start_engine() {
    sw_t_daemon engine env "${CONF[@]}" SLIPWAY_HEARTBEAT_INTERVAL=1 SLIPWAY_USAGE_INTERVAL=60 \
        SLIPWAY_RECONCILE_INTERVAL=2 slipway-engine
}
start_engine
srv_is() { [ "$(q "select state from servers where id = '$1'")" = "$2" ]; }
job_is() { [ "$(q "select state from jobs where id = '$1'")" = "$2" ]; }
sw_t_check "the server runs (the engine, as its node's role, opened the sealed hash)" \
    sw_t_wait "running" 60 srv_is "$SRV" running
sw_t_eq "the job keeps no hash once done" "" "$(q "select params->>'password_hash' from jobs where id = '$JOB'")"

# ---- the domain libvirt holds ----
DOM=sw-$SRV
dom_has() { # dom_has FLAGS TEXT...: the domain's XML holds every TEXT
    local x t
    x=$(virsh -c "$URI" dumpxml $1 "$DOM" 2>/dev/null) || return 1
    shift
    for t in "$@"; do grep -qF -- "$t" <<<"$x" || return 1; done
}
LIMITED=("<read_iops_sec>2000</read_iops_sec>" "<write_iops_sec>1000</write_iops_sec>"
    "<read_bytes_sec>104857600</read_bytes_sec>" "<write_bytes_sec>52428800</write_bytes_sec>"
    "<inbound average='12500' peak='25000' burst='4096'/>"
    "<outbound average='12500' peak='25000' burst='4096'/>"
    "<period>100000</period>" "<quota>50000</quota>" "<parameter name='IP' value='$IPV4'/>")
sw_t_check "virsh dumpxml: the root disk's <iotune>, the NIC's <bandwidth>, the CPU quota" \
    dom_has --inactive "${LIMITED[@]}"
virsh -c "$URI" dumpxml --inactive "$DOM" | sed -n '/<cputune>/,/<\/cputune>/p;/<iotune>/,/<\/iotune>/p;/<bandwidth>/,/<\/bandwidth>/p' | sed 's/^/# /'

# ---- a resize to the other plan: its limits, and the note ----
api POST "/v1/servers/$SRV/actions" "$ALICE" "{\"type\":\"resize\",\"plan_id\":\"$PLAN2\"}"
RJOB=$(j .job.id)
sw_t_check "the resize succeeds" sw_t_wait "resize" 30 job_is "$RJOB" succeeded
sw_t_check "the domain now has the new plan's limits only" \
    dom_has --inactive "<write_iops_sec>300</write_iops_sec>" "<quota>25000</quota>"
sw_t_check "and none of the old" bash -c "! virsh -c '$URI' dumpxml --inactive '$DOM' | grep -q -e read_iops_sec -e '<bandwidth>'"
NOTE=$(q "select note from jobs where id = '$RJOB'")
echo "# resize note: $NOTE"
sw_t_check "the job's note says how the limits applied" grep -q "limits appl" <<<"$NOTE"
conflict_patch() {
    sw_t_api PATCH "/v1/admin/plans/$PLAN2" "$OP" '{"limits":{"cpu_cap_pct":30}}'
    [ "$SW_STATUS" = 409 ] && grep -q "limits" <<<"$(j .error.message)"
}
sw_t_check "a plan in use keeps its limits (409)" conflict_patch

# ---- a reinstall with its own keys and password ----
K3="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey3 alice@new"
PASSWORD2="Rx-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')-pw"
# the engine stopped meanwhile, so the node job is still on the stream to read
kill "$SW_T_PID_engine" && wait "$SW_T_PID_engine" 2>/dev/null
api POST "/v1/servers/$SRV/actions" "$ALICE" "{\"type\":\"reinstall\",\"template_id\":\"$TPL\",\"ssh_keys\":[\"$K3\"],\"password\":\"$PASSWORD2\"}"
IJOB=$(j .job.id)
node_job_of() { sw_t_redis --raw XRANGE "node:$NODE" - + | grep '^{' | jq -c "select(.job_id == \"$1\")" | tail -1; }
has_node_job() { [ -n "$(node_job_of "$1")" ]; }
sw_t_wait "the reinstall's node job" 30 has_node_job "$IJOB"
RJ=$(node_job_of "$IJOB")
sw_t_respawn engine
sw_t_check "the reinstall succeeds" sw_t_wait "reinstall" 30 job_is "$IJOB" succeeded
sw_t_eq "its node job carries the request's keys" "$(jq -cn --arg a "$K3" '[$a]')" "$(jq -c .ssh_keys <<<"$RJ")"
sw_t_check "and its password's hash, sealed" test "$(jq '.password_hash_sealed | length > 40' <<<"$RJ")" = true
sw_t_eq "the server has the new keys from now on" "{\"$K3\"}" "$(q "select ssh_keys from servers where id = '$SRV'")"
sw_t_eq "the reinstall keeps no hash once done" "" "$(q "select params->>'password_hash' from jobs where id = '$IJOB'")"

# ---- the domain lost from the node: reconciliation restores it, limited ----
virsh -c "$URI" destroy "$DOM" >/dev/null 2>&1
virsh -c "$URI" undefine "$DOM" >/dev/null 2>&1 || sw_t_fail "undefine the domain"
sw_t_check "reconciliation (reading the plan's limits as the node's role) redefines it with them" \
    sw_t_wait "restored" 30 dom_has --inactive "<write_iops_sec>300</write_iops_sec>" "<quota>25000</quota>"

# ---- the password is nowhere ----
sleep 1 # let the logs settle
sw_t_check "the password is in no log, no stream, no database file" \
    bash -c "! grep -rqaF -D skip -e '$PASSWORD' -e '$PASSWORD2' '$SW_T_DIR'"
in_redis() { { sw_t_redis --raw XRANGE "node:$NODE" - +; sw_t_redis --raw XRANGE jobs - +; } | grep -qF -e "$PASSWORD" -e "$PASSWORD2"; }
if in_redis; then sw_t_fail "the password is in a Redis stream"; else sw_t_ok "nor in Redis's streams"; fi
sw_t_done
