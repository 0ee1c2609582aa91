#!/usr/bin/env bash
# Every link that leaves a host, over TLS with a private CA (tests/lib/ca.sh):
# Redis (rediss://, client certificates required) through core's own client
# (test_tls_links: PING, a stream round trip, a dropped link, a server gone
# silent (the command timeout, plain and TLS), refusals for a
# wrong CA, a wrong name, no client certificate, a plain client, an expired
# and a self-signed server certificate; errors never show the password);
# PostgreSQL with sslmode=verify-full (the right CA, a wrong one, a wrong
# name, plain TCP refused); then the whole stack (panel, provisioner,
# billing, an engine on the test driver) with every link over TLS takes an
# order to running. Prints the Redis round-trip rates plain and over TLS,
# and order-to-running times over TLS and over the unix sockets.
. "$(dirname "$0")/../lib/harness.sh"
. "$SW_SRCDIR/tests/lib/ca.sh"
. "$SW_SRCDIR/tests/lib/tls.sh"
T=$SW_BUILDDIR/tests/integration/test_tls_links
C=$SW_T_DIR/certs
mkdir -p "$C"
sw_ca_new "$C" ca && sw_ca_new "$C" other || exit 99
sw_ca_issue "$C" ca server localhost 127.0.0.1 && sw_ca_issue "$C" ca client slipway-client &&
    sw_ca_issue "$C" other stranger slipway-client || exit 99
SW_CA_EXPIRED=1 sw_ca_issue "$C" ca expired localhost 127.0.0.1 || exit 99
sw_ca_selfsigned "$C" self localhost 127.0.0.1 || exit 99

RPORT=$(sw_tls_free_port) PLAIN=$(sw_tls_free_port)
sw_tls_redis "$SW_T_DIR" 127.0.0.1 "$RPORT" "$C/server.crt" "$C/server.key" "$C/ca.crt" "$PLAIN" || exit 99
CLI="cert=$C/client.crt&key=$C/client.key"
R="rediss://127.0.0.1:$RPORT?cacert=$C/ca.crt&$CLI"

# ---- Redis over TLS through core/redis.c ----
run() { OUT=$("$T" "$@" 2>&1); }
refused() { # DESC REASON MODE URL...: refused, for REASON (a grep -E pattern)
    local desc=$1 why=$2; shift 2
    if run "$@"; then sw_t_fail "$desc: accepted: $OUT"
    elif grep -Eq "$why" <<<"$OUT"; then sw_t_ok "$desc"
    else sw_t_fail "$desc: refused, but not for '$why': $OUT"; fi
}
sw_t_check "rediss:// PING with the CA and a client certificate" run ping "$R"
sw_t_check "rediss:// stream round trip (a small and a 1 MiB entry)" run stream "$R"
echo "# $OUT"
sw_t_check "rediss:// to a host name (localhost) verifies it" run ping "rediss://localhost:$RPORT?cacert=$C/ca.crt&$CLI"
sw_t_check "servername names what is verified (127.0.0.1 as localhost)" \
    run ping "rediss://127.0.0.1:$RPORT?cacert=$C/ca.crt&servername=localhost&$CLI"
run broken "$R" "unix://$SW_REDIS_SOCK"
sw_t_eq "a dropped TLS link fails the next command as unavailable and reads broken" \
    "after kill: code=unavailable retryable=1 broken=1" "$(grep '^after kill' <<<"$OUT")"
sw_t_eq "the dropped link reconnects" "reconnected broken=0" "$(grep '^reconnected' <<<"$OUT")"

# a server that stops answering: the command times out (15 s), plain and TLS alike
for link in "redis://127.0.0.1:$PLAIN" "$R"; do
    run silent "$link" "unix://$SW_REDIS_SOCK"
    sw_t_check "${link%%:*}: a silent server fails the command as unavailable after 15 s, broken" \
        grep -Eq '^silent: code=unavailable broken=1 after_s=1[45]$' <<<"$OUT"
    sw_t_check "${link%%:*}: ... and the link reconnects once it answers" grep -q '^reconnected broken=0' <<<"$OUT"
    grep '^silent' <<<"$OUT" | sed 's/^/# /'
done
refused "another CA's server is not trusted" "not trusted: (unable to get local issuer|self-signed certificate in certificate chain)" \
    ping "rediss://127.0.0.1:$RPORT?cacert=$C/other.crt&$CLI"
refused "a name the certificate does not carry is refused" "not trusted: hostname mismatch" \
    ping "rediss://127.0.0.1:$RPORT?cacert=$C/ca.crt&servername=redis.example.com&$CLI"
refused "without the CA the system store does not trust the private CA" "not trusted" \
    ping "rediss://127.0.0.1:$RPORT?$CLI"
refused "no client certificate: the server refuses" "code=unavailable" \
    ping "rediss://127.0.0.1:$RPORT?cacert=$C/ca.crt"
refused "a client certificate from another CA: the server refuses" "code=unavailable" \
    ping "rediss://127.0.0.1:$RPORT?cacert=$C/ca.crt&cert=$C/stranger.crt&key=$C/stranger.key"
refused "a plain client to the TLS port gets nothing" "code=unavailable" ping "redis://127.0.0.1:$RPORT"
refused "a TLS client to a plain port fails the handshake" "TLS handshake" \
    ping "rediss://127.0.0.1:$PLAIN?cacert=$C/ca.crt&$CLI"
refused "a missing CA file is a configuration error" "code=invalid.*could not load" \
    ping "rediss://127.0.0.1:$RPORT?cacert=$C/nope.crt&$CLI"
refused "a certificate without its key is a configuration error" "code=invalid" \
    ping "rediss://127.0.0.1:$RPORT?cacert=$C/ca.crt&cert=$C/client.crt"

# credentials over TLS, and never shown
PW=tls-Secret-pw-4711
sw_t_redis ACL SETUSER tlsuser on ">$PW" '~*' '&*' '+@all' >/dev/null
sw_t_check "AUTH as an ACL user over TLS" run ping "rediss://tlsuser:$PW@127.0.0.1:$RPORT?cacert=$C/ca.crt&$CLI"
refused "a wrong password over TLS is unauthenticated" "code=unauthenticated" \
    ping "rediss://tlsuser:wrong-$PW@127.0.0.1:$RPORT?cacert=$C/ca.crt&$CLI"
sw_t_check "the refusal does not show the password" bash -c "! grep -q -- '$PW' <<<\"\$1\"" _ "$OUT"
refused "a refused certificate with a password in the URL" "not trusted" \
    ping "rediss://tlsuser:$PW@127.0.0.1:$RPORT?cacert=$C/other.crt&$CLI"
sw_t_check "... does not show the password either" bash -c "! grep -q -- '$PW' <<<\"\$1\"" _ "$OUT"

# the server's certificate swapped at run time: expired, then self-signed
swap() { sw_t_redis CONFIG SET tls-cert-file "$C/$1.crt" tls-key-file "$C/$1.key" >/dev/null; }
swap expired
refused "an expired server certificate is refused" "certificate has expired" ping "$R"
swap self
refused "a self-signed server certificate is refused" "self-signed certificate" ping "$R"
swap server
sw_t_check "the good certificate back: accepted again" run ping "$R"

# ---- the round-trip rate, plain TCP and TLS, in the same run ----
# (alternating, three rounds: the machine is shared, so one round can mislead)
SECS=${SW_TLS_BENCH_SECONDS:-2}
num() { sed -n "s/^$1=//p" <<<"$2"; }
echo "# redis round trips per second over 127.0.0.1, ${SECS}s each, same server:"
for round in 1 2 3; do
    run bench "redis://127.0.0.1:$PLAIN" "$SECS" && BP=$OUT
    run bench "$R" "$SECS" && BT=$OUT
    echo "#   round $round plain TCP: PING $(num ping_per_s "$BP")  XADD+XREADGROUP+XACK $(num xadd_xread_per_s "$BP")"
    echo "#   round $round TLS:       PING $(num ping_per_s "$BT")  XADD+XREADGROUP+XACK $(num xadd_xread_per_s "$BT")"
done
sw_t_check "the TLS link keeps up a round-trip rate (> 100 PING/s)" \
    test "$(num ping_per_s "$BT")" -gt 100

# ---- PostgreSQL with sslmode=verify-full ----
sw_pg_start "$SW_T_DIR" fast || exit 99
PPORT=$(sw_tls_free_port)
sw_tls_pg "$SW_T_DIR" 127.0.0.1 "$PPORT" "$C/server.crt" "$C/server.key" "$C/ca.crt" || exit 99
P=$SW_PG_TLS_URL
pq() { psql "$1" -qAt -c "select ssl from pg_stat_ssl where pid = pg_backend_pid()" 2>&1; }
sw_t_eq "verify-full with the right CA: connected over TLS" t "$(pq "$P")"
out=$(pq "postgresql://slipway@127.0.0.1:$PPORT/slipway?sslmode=verify-full&sslrootcert=$C/other.crt")
sw_t_check "verify-full with another CA is refused" grep -q "certificate verify failed" <<<"$out"
out=$(pq "postgresql://slipway@127.0.0.1:$PPORT/slipway?sslmode=verify-full&sslrootcert=$C/ca.crt&host=db.example.com&hostaddr=127.0.0.1")
sw_t_check "verify-full with a name the certificate lacks is refused" grep -q "does not match host name" <<<"$out"
out=$(pq "postgresql://slipway@127.0.0.1:$PPORT/slipway?sslmode=disable")
sw_t_check "plain TCP is refused by the server" grep -q "no encryption" <<<"$out"
export SLIPWAY_DATABASE_URL=$P
sw_t_check "slipwayctl migrate over verify-full (core/db.c passes the URL as it is)" \
    slipwayctl migrate >/dev/null

# ---- the stack with every link over TLS ----
export SLIPWAY_REDIS_URL=$R
OP=$(slipwayctl bootstrap) || exit 99
sw_t_panel
j() { jq -r "$1" <<<"$SW_BODY"; }
sw_t_api POST /v1/admin/locations "$OP" '{"code":"tls1","name":"TLS"}'
LOC=$(j .id)
slipwayctl node-file "$SW_T_DIR/n1.xml" 8 16384
sw_t_api POST /v1/admin/nodes "$OP" "{\"name\":\"n1\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/n1.xml\",\"kinds\":[\"container\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500}"
sw_t_eq "node enrolled over TLS links" 201 "$SW_STATUS"
NODE_ENV=(SLIPWAY_NODE_ID="$(j .engine_config.SLIPWAY_NODE_ID)"
    SLIPWAY_NODE_SECRET_KEY="$(j .engine_config.SLIPWAY_NODE_SECRET_KEY)" SLIPWAY_HEARTBEAT_INTERVAL=1)
sw_tls_catalog "$OP" || exit 99
sw_t_daemon provisioner slipway-provisioner
sw_t_daemon billing slipway-billing
sw_t_daemon engine env "${NODE_ENV[@]}" slipway-engine

is_running() { sw_t_api GET "/v1/servers/$1" "$TOK"; [ "$(j .state)" = running ]; }
# order_ms LABEL: orders a container server and waits for running; prints ms.
order_ms() {
    local t0 t1 srv
    t0=$(date +%s%N)
    sw_t_api POST /v1/orders "$TOK" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"tls.example.com\"}"
    srv=$(j .server.id)
    sw_t_wait "$1 server running" 30 is_running "$srv" || return 1
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}
TLS_MS=()
for i in 1 2 3; do
    if ms=$(order_ms "tls $i"); then TLS_MS+=("$ms"); sw_t_ok "order $i over TLS links running in $ms ms"
    else sw_t_fail "order $i over TLS links never ran"; fi
done
ssl_backends=$(psql "$SW_PG_URL" -qAt -c "select count(*) filter (where s.ssl), count(*) from pg_stat_ssl s join pg_stat_activity a using (pid) where a.client_addr is not null")
echo "# PostgreSQL TCP backends over TLS / all TCP backends: ${ssl_backends/|/ \/ }"
sw_t_check "every daemon's PostgreSQL session is over TLS" \
    bash -c '[ "${1%|*}" = "${1#*|}" ] && [ "${1%|*}" -gt 0 ]' _ "$ssl_backends"
clients=$(sw_t_redis CLIENT LIST TYPE normal | grep -c "laddr=127.0.0.1:$RPORT")
sw_t_check "the daemons hold their Redis links on the TLS port ($clients)" test "$clients" -ge 4
sw_t_eq "no Redis client on the plain port" 0 "$(sw_t_redis CLIENT LIST | grep -c "laddr=127.0.0.1:$PLAIN")"

# the same orders over the unix sockets (no TLS), for the comparison
for n in engine billing provisioner panel; do
    kill "$(eval echo "\$SW_T_PID_$n")"
    wait "$(eval echo "\$SW_T_PID_$n")" 2>/dev/null
done
export SLIPWAY_DATABASE_URL=$SW_PG_URL SLIPWAY_REDIS_URL="unix://$SW_REDIS_SOCK"
sw_t_panel
sw_t_daemon provisioner2 slipway-provisioner
sw_t_daemon billing2 slipway-billing
sw_t_daemon engine2 env "${NODE_ENV[@]}" slipway-engine
PLAIN_MS=()
for i in 1 2 3; do
    if ms=$(order_ms "plain $i"); then PLAIN_MS+=("$ms"); sw_t_ok "order $i over unix sockets running in $ms ms"
    else sw_t_fail "order $i over unix sockets never ran"; fi
done
echo "# order to running, ms: TLS ${TLS_MS[*]}; unix sockets ${PLAIN_MS[*]}"
sw_t_done
