#!/usr/bin/env bash
# The ipmi fence agent against a real BMC (issue 15, "High availability";
# provisioner/README.md "High availability"): OpenIPMI's ipmi_sim, an IPMI
# LAN BMC simulator, on a loopback UDP port with one admin user, whose
# chassis is node a's engine: its chassis_control program answers "power
# on" while that process lives and, asked to power off, kills it (-9: on a
# test-driver node the host's power going off, its domains die with it).
# Nodes a and b share a pool; one ha server runs on a. a's engine is paused
# (SIGSTOP) past the threshold:
#   1. a's fence secret, set through the API, is stored wrapped (the
#      database holds no password as given); it is the wrong password, so
#      the BMC refuses ipmitool's session: the fence fails and is retried, a
#      stays suspect, its engine lives (the BMC still says on), and nothing
#      restarts;
#   2. the right password, in a row as written before migration 0039 (as
#      given, fence_secret_wrapped false): a provisioner wraps it, the ipmi
#      agent powers the chassis off (a's engine is gone, the BMC says off),
#      a is fenced by the agent and failed, and the server runs on b, its
#      epoch one more. Neither password is in any daemon's log.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
for tool in ipmi_sim ipmitool; do
    command -v "$tool" >/dev/null || {
        echo "SKIP: $tool (packages openipmi, ipmitool) is needed for a real BMC"
        exit 77
    }
done
. "$SW_SRCDIR/tests/lib/hastack.sh"
sw_ha_stack

WRONG=wrong-bmc-pw-7f3a RIGHT=right-bmc-pw-91c2
sw_ha_pair

# ---- the BMC: ipmi_sim, its chassis being a's engine ----
cat >"$D/chassis.sh" <<EOF
#!/bin/sh
# ipmi_sim's chassis_control: "MC get power" | "MC set power 0|1"
p=\$(cat $D/engine-a.pid)
on() { [ -d /proc/\$p ] && ! grep -q '^[0-9]* ([^)]*) Z' /proc/\$p/stat 2>/dev/null; }
case "\$2 \$4" in
"get "*) if on; then echo power:1; else echo power:0; fi ;;
"set 0") kill -9 "\$p" 2>/dev/null; while on; do sleep 0.05; done; echo off >>$D/chassis.log ;;
esac
exit 0
EOF
chmod 755 "$D/chassis.sh"
BMC_PORT=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$D/lan.conf" <<EOF
name "sw-bmc-a"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 $BMC_PORT
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "$D/chassis.sh 0x20"
  user 2 true "fence" "$RIGHT" admin 10 none md2 md5 straight
EOF
printf 'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02\nmc_enable 0x20\n' \
    >"$D/bmc.emu"
mkdir -p "$D/bmc-state"
sw_t_daemon ipmi_sim ipmi_sim -c "$D/lan.conf" -f "$D/bmc.emu" -s "$D/bmc-state" -n
bmc() { # PASSWORD: the chassis power status as the BMC answers it
    IPMI_PASSWORD=$1 timeout 10 ipmitool -I lanplus -C 3 -H 127.0.0.1 -p "$BMC_PORT" -U fence -E \
        chassis power status 2>&1
}
bmc_says() { [ "$(bmc "$RIGHT")" = "Chassis Power is $1" ]; }
sw_t_check "the BMC answers: a's chassis is on" sw_t_wait "ipmi_sim" 20 bmc_says on

api PUT "/v1/admin/nodes/$A/fence" "$OP" "{\"agent\":\"ipmi\",\"config\":{\"host\":\"127.0.0.1\",\"port\":$BMC_PORT,\"user\":\"fence\",\"cipher\":3},\"secret\":\"$WRONG\"}"
sw_t_eq "a's fence agent set: ipmi, a secret set, not shown" "200 ipmi true 0" \
    "$SW_STATUS $(j .fence.agent) $(j .fence.secret_set) $(grep -c "$WRONG" <<<"$SW_BODY")"
sw_t_eq "the database holds the secret wrapped, not as given" "true 0" \
    "$(q "select fence_secret_wrapped || ' ' || strpos(fence_secret, '$WRONG') from nodes where id = '$A'")"

api PATCH "/v1/admin/nodes/$B" "$OP" '{"state":"draining"}'
api POST /v1/orders "$TOK" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"ipmi.example.com\",\"location_id\":\"$LOC\"}"
S=$(j .server.id)
sw_t_check "the ha server runs on a" sw_t_wait "server on a" 60 \
    is "select state || ' ' || node_id from servers where id = '$S'" "running $A"
api PATCH "/v1/admin/nodes/$B" "$OP" '{"state":"active"}'
EPOCH=$(q "select epoch from servers where id = '$S'")

# ---- 1. a hangs; the BMC refuses the wrong password ----
PA=$SW_T_PID_engine_a
kill -STOP "$PA"
sw_t_check "a is suspect and its failing ipmi fence is retried" sw_t_wait "two fence attempts" 60 sw_ha_retried "$A"
sw_t_eq "a stays suspect, the agent's failure recorded" "suspect true" \
    "$(q "select health || ' ' || (fence_error like '%ipmi agent failed%') from nodes where id = '$A'")"
sw_t_check "the wrong password opens no session on the BMC" bash -c "! bmc_out=\$(IPMI_PASSWORD=$WRONG timeout 10 ipmitool -I lanplus -C 3 -H 127.0.0.1 -p $BMC_PORT -U fence -E chassis power status 2>&1)"
sw_t_check "a's engine still lives and its chassis is on" bash -c "kill -0 $PA && [ \"\$(IPMI_PASSWORD=$RIGHT timeout 10 ipmitool -I lanplus -C 3 -H 127.0.0.1 -p $BMC_PORT -U fence -E chassis power status)\" = 'Chassis Power is on' ]"
sw_t_eq "nothing restarts: the server on a, its epoch, no recover job" "$A $EPOCH running 0" \
    "$(q "select node_id || ' ' || epoch || ' ' || state || ' ' ||
        (select count(*) from jobs where server_id = '$S' and type = 'recover') from servers where id = '$S'")"

# ---- 2. the right password, stored as before 0039 ----
T0=$(date +%s.%N)
q "update nodes set fence_secret = '$RIGHT', fence_secret_wrapped = false where id = '$A'" >/dev/null
moved() {
    is "select node_id || ' ' || epoch || ' ' || state from servers where id = '$S'" \
        "$B $((EPOCH + 1)) running" && grep -qi "$S.*running" "$D/domains-b"
}
sw_t_check "the ipmi agent fences a: the server runs on b, its epoch one more" \
    sw_t_wait "server on b" 60 moved
kill -CONT "$PA" 2>/dev/null # not fenced (a failed check): the teardown must end it
echo "# ipmi: from the right password stored to the server running on b: $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s (next fence attempt after the backoff, the fence, the recovery)"
sw_t_eq "a was fenced by the agent and failed" "failed true 1" \
    "$(q "select n.health || ' ' || (n.fenced_by like '%ipmi%') || ' ' ||
        (select count(*) from events where type = 'node.fenced') from nodes n where n.id = '$A'")"
sw_t_check "the BMC powered the chassis off: a's engine is gone, the BMC says off" bash -c \
    "! kill -0 $PA 2>/dev/null && grep -q off '$D/chassis.log' && [ \"\$(IPMI_PASSWORD=$RIGHT timeout 10 ipmitool -I lanplus -C 3 -H 127.0.0.1 -p $BMC_PORT -U fence -E chassis power status)\" = 'Chassis Power is off' ]"
sw_t_eq "the row written as given is now wrapped" "true 0" \
    "$(q "select fence_secret_wrapped || ' ' || strpos(fence_secret, '$RIGHT') from nodes where id = '$A'")"
sw_t_check "a provisioner logged wrapping it" grep -q node.fence_secret_wrapped \
    "$D/provisioner.log" "$D/provisioner2.log"
sw_t_check "neither password is in a daemon's log" bash -c \
    "! grep -l -e '$WRONG' -e '$RIGHT' '$D'/panel.log '$D'/provisioner*.log '$D'/engine_*.log"
sw_t_done
