#!/usr/bin/env bash
# sw-test: real-guest (scripts/test runs it in the sanitizer half only)
# console_serial.sh - the serial console over a WebSocket (issue 16) on one
# real QEMU guest (tests/lib/qstack.sh): the demo customer takes a ticket
# (POST /v1/servers/{id}/console), connects to the panel's WebSocket
# (tests/integration/console_client.py, python3-websockets), presses Enter,
# reads the guest's prompt, types `echo hello-N` and reads its output; the
# ticket once used is refused, another account's ticket request is 404,
# a console with no byte either way for SLIPWAY_CONSOLE_IDLE_S closes saying
# so, a stop while connected closes the console saying so, and the node's
# Redis user may reach its own console lists only (ACL DRYRUN). Prints
# keystroke-to-echo latency p50/p99 over 200 keystrokes through the
# WebSocket and through `virsh console` on the same guest. Skips (77) where
# no private libvirtd or QEMU can run.
. "$(dirname "$0")/../lib/harness.sh"
. "$SW_SRCDIR/tests/lib/qstack.sh"
export SLIPWAY_CONSOLE_IDLE_S=5
sw_qs_start
echo "# stack with node qemu1 up in $(since "$T0") s"
client() { /usr/bin/python3 "$SW_SRCDIR/tests/integration/console_client.py" "$@"; }
ticket() { api POST "/v1/servers/$1/console" "$2" '{"type":"serial"}'; }
running() { api GET "/v1/servers/$1" "$SW_QEMU_CTOK"; [ "$(j .state)" = "$2" ]; }

api POST /v1/orders "$SW_QEMU_CTOK" "{\"plan_id\":\"$SW_QEMU_PLAN_HVM\",\"template_id\":\"$SW_QEMU_TPL_HVM\",\"location_id\":\"$SW_QEMU_LOC\",\"hostname\":\"con-1.example.com\",\"password\":\"console-pw-1\"}"
sw_t_eq "the order is accepted" 202 "$SW_STATUS"
ID=$(j .server.id)
sw_t_check "the guest boots (its agent answers) after $(since "$T0") s" sw_t_wait "agent" 300 agent_up "$ID"
sw_t_check "running" sw_t_wait "running" 60 running "$ID" running
# The tiny guest has no getty: a shell on its serial console, through the agent.
sw_t_check "a shell runs on the guest's ttyS0" guest_run "$ID" 10 sh -c \
    "PS1='sw-console# ' setsid -c sh -i </dev/ttyS0 >/dev/ttyS0 2>&1 &"

api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"other@example.com","name":"Other","password":"other-password-1"}'
api POST /v1/auth/login "" '{"email":"other@example.com","password":"other-password-1"}'
OTHER=$(j .token)
ticket "$ID" "$OTHER"
sw_t_eq "another account's ticket request is 404" 404 "$SW_STATUS"
api POST "/v1/servers/$ID/console" "$SW_QEMU_CTOK" '{"type":"vnc"}'
sw_t_eq "a vnc ticket is not served yet (422)" 422 "$SW_STATUS"

ticket "$ID" "$SW_QEMU_CTOK"
sw_t_eq "the owner gets a ticket (201)" "201 serial" "$SW_STATUS $(j .type)"
URL="$(j .url)?ticket=$(j .ticket)"
sw_t_eq "valid 60 s" 60 "$(sw_t_psql -c "SELECT round(extract(epoch FROM expires_at - created_at)) FROM console_tickets")"
sw_t_eq "stored hashed: the ticket itself is nowhere in the table" 0 \
    "$(sw_t_psql -c "SELECT count(*) FROM console_tickets WHERE hash = '$(j .ticket)'")"
MARK=hello-$RANDOM
out=$(client session "$URL" "$MARK" 2>&1)
sw_t_check "Enter shows the prompt, echo $MARK answers $MARK ($out)" grep -q '^p50_ms' <<<"$out"
echo "# websocket keystroke to echo over 200 keystrokes: $out"
sw_t_eq "the used ticket is refused (404 at the upgrade)" 404 "$(client refused "$URL" 2>&1)"
vout=$(client virsh "$URI" "sw-$ID" 2>&1)
echo "# virsh console keystroke to echo over 200 keystrokes: $vout"

ticket "$ID" "$SW_QEMU_CTOK"
t=$(date +%s.%N)
client until_close "$(j .url)?ticket=$(j .ticket)" >"$SW_T_DIR/idle.out" 2>&1
sw_t_check "an idle console closes after SLIPWAY_CONSOLE_IDLE_S (5 s; here $(since "$t") s), saying so" \
    grep -q '^code 1000 reason idle for 5 s' "$SW_T_DIR/idle.out"

NODE=$(sw_t_psql -c "SELECT id FROM nodes WHERE name = 'qemu1'")
dry() { sw_t_redis ACL DRYRUN "node-$NODE" "$@" 2>&1; }
sw_t_eq "node qemu1's Redis user may wait on its own console requests" OK "$(dry BLPOP "console:$NODE:open" 1)"
sw_t_check "and push to its own sessions' lists" test "$(dry RPUSH "console:$NODE:0123:out" x)" = OK
other=$(cat /proc/sys/kernel/random/uuid)
sw_t_check "but not wait on another node's console requests" \
    sh -c "! echo '$(dry BLPOP "console:$other:open" 1)' | grep -qx OK"
sw_t_check "nor push to another node's sessions" sh -c "! echo '$(dry RPUSH "console:$other:0123:in" x)' | grep -qx OK"

ticket "$ID" "$SW_QEMU_CTOK"
URL="$(j .url)?ticket=$(j .ticket)"
client until_close "$URL" 2 >"$SW_T_DIR/close.out" 2>&1 & # a keystroke every 2 s: not idle
CPID=$!
sw_t_check "a second console opens" sw_t_wait "open" 20 grep -q '^open' "$SW_T_DIR/close.out"
api POST "/v1/servers/$ID/actions" "$SW_QEMU_CTOK" '{"type":"stop"}'
sw_t_eq "a stop is accepted while the console is open" 202 "$SW_STATUS"
t=$(date +%s.%N)
wait "$CPID"
echo "# the console closed $(since "$t") s after the stop"
sw_t_check "the console closes saying the server stopped ($(tr '\n' ' ' <"$SW_T_DIR/close.out"))" \
    grep -q 'console closed: the server stopped' "$SW_T_DIR/close.out"
sw_t_check "with close code 1000" grep -q '^code 1000 reason the server stopped' "$SW_T_DIR/close.out"
sw_t_check "stopped" sw_t_wait "stopped" 120 running "$ID" stopped
ticket "$ID" "$SW_QEMU_CTOK"
sw_t_eq "a stopped server has no console (409)" 409 "$SW_STATUS"
echo "# whole test $(since "$T0") s"
sw_t_done
