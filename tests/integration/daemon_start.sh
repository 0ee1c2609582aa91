#!/usr/bin/env bash
# The start-up and stop every daemon shares (core/daemon.c), on the real
# binaries: --help answers on stdout with 0, another argument or an
# unknown SLIPWAY_LOG_LEVEL exits 2, a bad key logs startup.failed and
# exits 2; started against PostgreSQL and Redis, SIGTERM and SIGINT stop
# each daemon within a few seconds with exit status 0 and one
# "<name>.stopping" line naming the signal. (The daemons run in the
# background of a script, where SIGINT comes ignored: only a daemon that
# blocks SIGINT and waits for it, as core/daemon.c does, sees it at all.)
# The engine runs on a test-driver node the test registers.
# Readiness (sd_notify, as systemd's Type=notify units use it): with
# NOTIFY_SOCKET naming a unix datagram socket the test binds, each daemon
# sends READY=1 once, only when it serves (the panel answers /healthz at
# that moment; the others have logged their start), and STOPPING=1 on
# SIGTERM; without NOTIFY_SOCKET (the SIGINT runs) nothing changes, and a
# socket nobody binds is logged and does not stop the daemon; a failed
# start tells its reason as STATUS=.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"

DAEMONS="panel provisioner billing engine"
# A key each daemon refuses: the panel's secret key, the engine's node id,
# the others' claim idle time.
bad_key() {
    case $1 in
    panel) echo SLIPWAY_SECRET_KEY=zz ;;
    engine) echo SLIPWAY_NODE_ID=zz ;;
    *) echo SLIPWAY_CLAIM_IDLE_MS=1 ;;
    esac
}

for d in $DAEMONS; do
    out=$("slipway-$d" --help 2>/dev/null); rc=$?
    sw_t_eq "slipway-$d --help: exit 0, usage on stdout" "0 usage: slipway-$d" "$rc $(head -1 <<<"$out" | cut -d' ' -f1-2)"
    out=$("slipway-$d" --bogus 2>&1 >/dev/null); rc=$?
    sw_t_eq "slipway-$d --bogus: exit 2, usage on stderr" "2 usage: slipway-$d" "$rc $(head -1 <<<"$out" | cut -d' ' -f1-2)"
    out=$(SLIPWAY_LOG_LEVEL=loud "slipway-$d" 2>&1); rc=$?
    sw_t_eq "slipway-$d with SLIPWAY_LOG_LEVEL=loud exits 2 saying so" \
        "2 slipway-$d: SLIPWAY_LOG_LEVEL must be" "$rc $(cut -d' ' -f1-4 <<<"$out")"
    key=$(bad_key "$d")
    out=$(env "$key" "slipway-$d" 2>&1); rc=$?
    sw_t_eq "slipway-$d with $key exits 2 with startup.failed naming the key" "2 1" \
        "$rc $(grep -c "event=startup.failed code=invalid .*${key%%=*}" <<<"$out")"
done
# what guest NICs attach to is checked at start too (a value becomes domain XML)
out=$(env SLIPWAY_NODE_ID="$(cat /proc/sys/kernel/random/uuid)" SLIPWAY_NETWORK="bridge:br0'/>" \
    slipway-engine 2>&1); rc=$?
sw_t_eq "slipway-engine with a bad SLIPWAY_NETWORK exits 2 with startup.failed naming it" "2 1" \
    "$rc $(grep -c "event=startup.failed code=invalid .*SLIPWAY_NETWORK" <<<"$out")"

sw_t_stack
slipwayctl migrate >/dev/null || exit 99
# The engine serves one node: a location and a test-driver node for it.
LOC=$(cat /proc/sys/kernel/random/uuid) NODE=$(cat /proc/sys/kernel/random/uuid)
psql "$SLIPWAY_DATABASE_URL" -qAtX -v ON_ERROR_STOP=1 -c "
INSERT INTO locations (id, code, name) VALUES ('$LOC', 'a', 'A');
INSERT INTO nodes (id, name, location_id, engine_uri, kinds, cpus, ram_mb, disk_gb)
    VALUES ('$NODE', 'n1', '$LOC', 'test:///default', '{hvm}', 8, 16384, 500);" >/dev/null || exit 99

# started NAME: the line each daemon logs once it is serving.
started() {
    case $1 in
    panel) grep -q "event=panel.listening" "$SW_T_DIR/$1.log" ;;
    provisioner) grep -q "event=worker.recovered\|event=provisioner.started" "$SW_T_DIR/$1.log" ;;
    billing) grep -q "event=billing.started" "$SW_T_DIR/$1.log" ;;
    engine) grep -q "event=engine.started" "$SW_T_DIR/$1.log" ;;
    esac
}

# The service manager's side of sd_notify: binds a unix datagram socket,
# and on each message writes one line to OUT: the message's assignments
# joined by "|", then, for a message with READY=1, " check=ok" when the
# daemon serves at that moment (the panel's /healthz answers 200; another
# daemon has logged its start line) or " check=fail". Ends after a message
# with STOPPING=1 or a failed start's STATUS=, or after 60 s without one.
cat >"$SW_T_DIR/notify.py" <<'PY'
import os, re, socket, sys, time, urllib.request
sock_path, out, kind, arg, pattern = sys.argv[1:6]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
s.settimeout(60)
open(out + ".bound", "w").close()
def serving():
    if kind == "http":
        try:
            url = open(arg).read().strip() + "/healthz"
            return urllib.request.urlopen(url, timeout=5).status == 200
        except Exception:
            return False
    return os.path.exists(arg) and re.search(pattern, open(arg).read()) is not None
with open(out, "w") as f:
    while True:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        line = "|".join(msg.strip().split("\n"))
        if "READY=1" in msg.split("\n"):
            line += " check=" + ("ok" if serving() else "fail")
        f.write(line + "\n")
        f.flush()
        if "STOPPING=1" in msg.split("\n") or " could not start: " in msg:
            break
PY

# started_pattern NAME: the log line (regex) each daemon writes before it
# serves.
started_pattern() {
    case $1 in
    panel) echo "event=panel.listening" ;;
    provisioner) echo "event=provisioner.started" ;;
    billing) echo "event=billing.started" ;;
    engine) echo "event=engine.started" ;;
    esac
}

# stop_with NAME SIGNAL NUMBER [NOTIFY_SOCKET]: starts slipway-NAME (with
# NOTIFY_SOCKET when given), signals it, and checks how it ends.
stop_with() {
    local d=$1 sig=$2 num=$3 sock=${4:-} pid rc t0 watchdog
    local envs=()
    : >"$SW_T_DIR/$d.log"
    [ -n "$sock" ] && envs+=(NOTIFY_SOCKET="$sock")
    if [ "$d" = panel ]; then
        rm -f "$SW_T_DIR/panel.addr"
        envs+=(SLIPWAY_LISTEN=127.0.0.1:0 SLIPWAY_ADDR_FILE="$SW_T_DIR/panel.addr")
    elif [ "$d" = engine ]; then
        envs+=(SLIPWAY_NODE_ID="$NODE")
    fi
    if [ ${#envs[@]} -gt 0 ]; then
        sw_t_daemon "$d" env "${envs[@]}" "slipway-$d"
    else
        sw_t_daemon "$d" "slipway-$d"
    fi
    eval "pid=\$SW_T_PID_$d"
    sw_t_wait "$d started" 20 started "$d" || { sw_t_fail "slipway-$d started"; return; }
    sleep 0.5 # its threads are in their loops
    t0=$SECONDS
    kill -"$sig" "$pid"
    # A daemon that misses the signal is killed after 10 s (exit 137).
    (sleep 10 && kill -9 "$pid") 2>/dev/null &
    watchdog=$!
    wait "$pid"; rc=$?
    kill "$watchdog" 2>/dev/null
    sw_t_eq "slipway-$d stops on SIG$sig with exit 0 within 5 s" "0 yes" \
        "$rc $([ $((SECONDS - t0)) -le 5 ] && echo yes || echo no)"
    sw_t_eq "slipway-$d logs $d.stopping signal=$num once" 1 \
        "$(grep -c "event=$d.stopping signal=$num\$" "$SW_T_DIR/$d.log")"
}

# notified NAME: runs slipway-NAME under the notify listener, stops it
# with SIGTERM, and checks what the listener heard.
notified() {
    local d=$1 sock=$SW_T_DIR/notify.sock out=$SW_T_DIR/notify-$1.out lpid
    rm -f "$sock" "$out" "$out.bound"
    local kind=log arg=$SW_T_DIR/$d.log pattern
    [ "$d" = panel ] && kind=http arg=$SW_T_DIR/panel.addr
    pattern=$(started_pattern "$d")
    python3 "$SW_T_DIR/notify.py" "$sock" "$out" "$kind" "$arg" "$pattern" &
    lpid=$!
    sw_t_wait "notify listener bound" 10 test -e "$out.bound" || { kill "$lpid"; return; }
    stop_with "$d" TERM 15 "$sock"
    wait "$lpid" # it stops after STOPPING=1, or after 60 s of silence
    sw_t_eq "slipway-$d sends READY=1 once, when it serves, then STOPPING=1 on SIGTERM" \
        "READY=1|STATUS=slipway-$d serving check=ok
STOPPING=1|STATUS=slipway-$d stopping (signal 15)" "$(cat "$out")"
}

for d in $DAEMONS; do
    notified "$d"
    stop_with "$d" INT 2
done

# A failed start tells its reason (and never READY=1).
sock=$SW_T_DIR/notify.sock out=$SW_T_DIR/notify-failed.out
rm -f "$sock" "$out" "$out.bound"
python3 "$SW_T_DIR/notify.py" "$sock" "$out" log /dev/null x &
lpid=$!
if sw_t_wait "notify listener bound" 10 test -e "$out.bound"; then
    NOTIFY_SOCKET=$sock SLIPWAY_SECRET_KEY=zz slipway-panel >/dev/null 2>&1
    wait "$lpid"
    sw_t_eq "slipway-panel with a bad key tells STATUS=... could not start, no READY=1" \
        "STATUS=slipway-panel could not start: 1 0" \
        "$(cut -d: -f1 "$out"): $(grep -c "could not start: .*SLIPWAY_SECRET_KEY" "$out") $(grep -c READY "$out")"
else
    kill "$lpid"
fi

# A NOTIFY_SOCKET nobody listens on: logged, and the panel serves all the same.
stop_with panel TERM 15 "$SW_T_DIR/nobody.sock"
sw_t_eq "slipway-panel logs daemon.notify_failed when NOTIFY_SOCKET refuses, and goes on" 2 \
    "$(grep -c "event=daemon.notify_failed" "$SW_T_DIR/panel.log")"
sw_t_done
