# shellcheck shell=bash
# tls.sh - PostgreSQL and Redis of a test over TLS, with certificates from
# ca.sh. Sourced by tests after harness.sh (or scripts/lib/stack.sh).
#
#   sw_tls_free_port                  prints a free TCP port of 127.0.0.1
#   sw_tls_pg DIR ADDRS PORT CRT KEY CA
#       after sw_pg_start DIR: PostgreSQL also listens on ADDRS:PORT (one
#       address or several, comma-separated) with ssl=on and the server
#       certificate CRT/KEY; TCP takes TLS only (hostnossl is rejected),
#       engines' node roles with their password, the unix socket as it was. Sets SW_PG_TLS_URL (verify-full against
#       CA; host: the first address) and moves SW_PG_URL to the new port.
#   sw_tls_redis DIR ADDRS PORT CRT KEY CA [PLAIN_PORT]
#       instead of sw_redis_start DIR: Redis with TLS on ADDRS:PORT, client
#       certificates signed by CA required, the unix socket for the test's
#       own redis-cli (SW_REDIS_SOCK), and plain TCP on PLAIN_PORT only when
#       given (to compare). Stopped by sw_redis_stop DIR.
#   sw_tls_catalog OPERATOR_TOKEN
#       what the stack-over-TLS tests order from, through the panel (SW_URL):
#       a container plan (PLAN) and template (TPL), and a customer logged in
#       (TOK)

sw_tls_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

sw_tls_pg() {
    local dir=$1 addr=$2 port=$3 crt=$4 key=$5 ca=$6 data hba
    data=$(psql "$SW_PG_URL" -qAt -c "show data_directory") || return 1
    hba=$(psql "$SW_PG_URL" -qAt -c "show hba_file") || return 1
    # the server's key: owned by the server's user, mode 0600 (PostgreSQL checks)
    cp "$crt" "$data/server.crt" && cp "$key" "$data/server.key" && cp "$ca" "$data/ca.crt" || return 1
    [ "$(id -u)" = 0 ] && chown postgres "$data/server.crt" "$data/server.key" "$data/ca.crt"
    chmod 600 "$data/server.key"
    {
        echo "hostnossl all all all reject"
        echo "hostssl slipway +slipway_engine all scram-sha-256" # a node's role: its password
        echo "hostssl all +slipway_engine all reject"
        echo "hostssl all all all trust"
        grep -v '^host' "$hba"
    } >"$hba.new" && cat "$hba.new" >"$hba" && rm -f "$hba.new"
    psql "$SW_PG_URL" -qAt -v ON_ERROR_STOP=1 \
        -c "alter system set listen_addresses = '$addr'" -c "alter system set port = $port" \
        -c "alter system set ssl = on" -c "alter system set ssl_min_protocol_version = 'TLSv1.2'" \
        >/dev/null || return 1
    sw__as_pg "$SW_PG_BIN/pg_ctl" -D "$data" -w -t 60 -l "$dir/pg.log" restart >/dev/null || {
        echo "tls: PostgreSQL did not restart with TLS, see $dir/pg.log" >&2
        return 1
    }
    SW_PG_URL="$SW_PG_URL&port=$port"
    SW_PG_TLS_URL="postgresql://slipway@${addr%%,*}:$port/slipway?sslmode=verify-full&sslrootcert=$ca"
    export SW_PG_URL SW_PG_TLS_URL
}

sw_tls_redis() {
    local dir=$1 addr=$2 port=$3 crt=$4 key=$5 ca=$6 plain=${7:-0} sock
    dir=$(cd "$dir" && pwd)
    sock=$(sw__sockdir "$dir")/redis.sock
    redis-server --port "$plain" --bind "${addr//,/ }" --tls-port "$port" --tls-cert-file "$crt" \
        --tls-key-file "$key" --tls-ca-cert-file "$ca" --tls-auth-clients yes \
        --unixsocket "$sock" --unixsocketperm 700 --save '' --appendonly no --daemonize yes \
        --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" >/dev/null || return 1
    sw__wait_sock "$sock" || { echo "tls: redis did not start, see $dir/redis.log" >&2; return 1; }
    SW_REDIS_SOCK=$sock
    export SW_REDIS_SOCK
}

sw_tls_catalog() {
    local op=$1
    sw_t_api POST /v1/admin/plans "$op" '{"name":"ct","kind":"container","vcpus":1,"ram_mb":256,"disk_gb":5,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":100,"currency":"EUR"}}'
    PLAN=$(jq -r .id <<<"$SW_BODY")
    sw_t_api POST /v1/admin/templates "$op" '{"name":"Debian 12","kind":"container","os":"debian-12"}'
    TPL=$(jq -r .id <<<"$SW_BODY")
    sw_t_api POST /v1/admin/accounts "$op" '{"kind":"customer","email":"tls@example.com","name":"tls","password":"tls-customer-pw"}'
    sw_t_api POST /v1/auth/login "" '{"email":"tls@example.com","password":"tls-customer-pw"}'
    TOK=$(jq -r .token <<<"$SW_BODY")
    [ -n "$PLAN" ] && [ -n "$TPL" ] && [ "$TOK" != null ]
}
