# shellcheck shell=bash
# tests/lib/pdns.sh - a PowerDNS Authoritative server of the test's own
# (Debian's pdns-server with pdns-backend-sqlite3), for the reverse-DNS
# tests: the SQLite database, the control socket and the log in DIR, DNS
# on 127.0.0.1:SW_PDNS_DNS_PORT (UDP and TCP), the HTTP API on
# SW_PDNS_API_URL with the key SW_PDNS_KEY. Sourced after harness.sh; the
# server is one of the harness's daemons (stopped with the test).
#
#   sw_pdns_start DIR       # 0 with SW_PDNS_* set, or 99
#   sw_pdns_zone ZONE       # makes the native zone ZONE. through the API
#   sw_pdns_dig NAME TYPE   # the answer's records, one a line (dig +short)
#   sw_pdns_record NAME TYPE CONTENT ZONE   # sets one rrset through the API
SW_PDNS_API_URL= SW_PDNS_KEY= SW_PDNS_DNS_PORT=

sw_pdns_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

sw_pdns_start() {
    local dir=$1 api_port
    mkdir -p "$dir" || return 99
    sqlite3 "$dir/pdns.sqlite3" </usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql || return 99
    SW_PDNS_KEY=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    SW_PDNS_DNS_PORT=$(sw_pdns_free_port)
    api_port=$(sw_pdns_free_port)
    # no pdns.conf: everything on the command line, nothing from /etc
    : >"$dir/pdns.conf"
    sw_t_daemon pdns pdns_server --config-dir="$dir" --socket-dir="$dir" --daemon=no \
        --guardian=no --disable-syslog --write-pid=no --launch=gsqlite3 \
        --gsqlite3-database="$dir/pdns.sqlite3" --local-address=127.0.0.1 \
        --local-port="$SW_PDNS_DNS_PORT" --api=yes --api-key="$SW_PDNS_KEY" --webserver=yes \
        --webserver-address=127.0.0.1 --webserver-port="$api_port" \
        --webserver-allow-from=127.0.0.0/8 --security-poll-suffix= --loglevel=4
    SW_PDNS_API_URL="http://127.0.0.1:$api_port"
    sw_t_wait "the PowerDNS API" 20 curl -sf -H "X-API-Key: $SW_PDNS_KEY" \
        "$SW_PDNS_API_URL/api/v1/servers/localhost" -o /dev/null || return 99
}

sw_pdns_zone() {
    curl -sf -X POST -H "X-API-Key: $SW_PDNS_KEY" -H 'Content-Type: application/json' \
        -d "{\"name\": \"$1.\", \"kind\": \"Native\", \"nameservers\": [\"ns1.example.net.\"]}" \
        "$SW_PDNS_API_URL/api/v1/servers/localhost/zones" -o /dev/null
}

sw_pdns_dig() {
    dig +short +time=2 +tries=1 -p "$SW_PDNS_DNS_PORT" @127.0.0.1 "$1" "$2"
}

sw_pdns_record() {
    curl -sf -X PATCH -H "X-API-Key: $SW_PDNS_KEY" -H 'Content-Type: application/json' \
        -d "{\"rrsets\": [{\"name\": \"$1.\", \"type\": \"$2\", \"ttl\": 60, \"changetype\": \"REPLACE\", \"records\": [{\"content\": \"$3\", \"disabled\": false}]}]}" \
        "$SW_PDNS_API_URL/api/v1/servers/localhost/zones/$4." -o /dev/null
}
