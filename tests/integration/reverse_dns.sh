#!/usr/bin/env bash
# Reverse DNS (issue 16) against a real PowerDNS Authoritative server
# (tests/lib/pdns.sh): an operator gives IP pools their reverse zones
# (the API key kept wrapped), customers, their reseller and operators set
# and remove PTRs of a server's own IPv4 address and of addresses in its
# IPv6 /64 (another tenant: 404; an address not the server's: 404; a bad
# name: 400), each answered 202 and then served by PowerDNS (dig); forward
# confirmation where the pool asks for it; PowerDNS stopped loses no PTR
# (pending with its error, written once it is back); a terminated
# server's PTRs are gone from PowerDNS. The server is really provisioned:
# panel, provisioner and an engine on libvirt's test driver.
. "$(dirname "$0")/../lib/harness.sh"
. "$SW_SRCDIR/tests/lib/pdns.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
SLIPWAY_BACKUP_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export SLIPWAY_BACKUP_MASTER_KEY SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8
sw_pdns_start "$SW_T_DIR/pdns" || exit 99
for z in 2.0.192.in-addr.arpa 8.b.d.0.1.0.0.2.ip6.arpa example.com; do
    sw_pdns_zone $z || { echo "cannot make zone $z"; exit 99; }
done
export SLIPWAY_PTR_RESOLVER=127.0.0.1:$SW_PDNS_DNS_PORT
sw_t_panel
sw_t_daemon provisioner slipway-provisioner

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
must() {
    sw_t_api "$@"
    case $SW_STATUS in 2??) ;; *) echo "$1 $2: $SW_STATUS $SW_BODY"; exit 99 ;; esac
}
login() { must POST /v1/auth/login "" "{\"email\":\"$1\",\"password\":\"pw-$1\"}"; j .token; }

must POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'; LOC=$(j .id)
must POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"192.0.2.0/24\",\"gateway\":\"192.0.2.1\"}"; P4=$(j .id)
must POST /v1/admin/ip-pools "$OP" "{\"location_id\":\"$LOC\",\"network\":\"2001:db8:100::/48\"}"; P6=$(j .id)
slipwayctl node-file "$SW_T_DIR/n1.xml" 8 16384
must POST /v1/admin/nodes "$OP" "{\"name\":\"n1\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/n1.xml\",\"kinds\":[\"hvm\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500}"
sw_t_daemon engine env SLIPWAY_NODE_ID="$(j .engine_config.SLIPWAY_NODE_ID)" \
    SLIPWAY_NODE_SECRET_KEY="$(j .engine_config.SLIPWAY_NODE_SECRET_KEY)" \
    SLIPWAY_HEARTBEAT_INTERVAL=1 slipway-engine
must POST /v1/admin/plans "$OP" '{"name":"h1","kind":"hvm","vcpus":1,"ram_mb":512,"disk_gb":10,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":300,"currency":"EUR"}}'; PLAN=$(j .id)
must POST /v1/admin/templates "$OP" '{"name":"d12","kind":"hvm","os":"debian-12"}'; TPL=$(j .id)
must POST /v1/admin/resellers "$OP" '{"email":"r@example.com","name":"R","password":"pw-r@example.com"}'; R=$(j .id)
must POST /v1/admin/accounts "$OP" "{\"kind\":\"customer\",\"email\":\"a@example.com\",\"name\":\"A\",\"password\":\"pw-a@example.com\",\"reseller_id\":\"$R\"}"
must POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"b@example.com","name":"B","password":"pw-b@example.com"}'
TA=$(login a@example.com); TB=$(login b@example.com); TR=$(login r@example.com)

must POST /v1/orders "$TA" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"web1.example.com\",\"location_id\":\"$LOC\"}"
S=$(j .server.id)
running() { sw_t_api GET "/v1/servers/$S" "$TA"; [ "$(j .state)" = running ]; }
sw_t_wait "the server running" 60 running || exit 99
V4=$(j .ipv4); V6NET=$(j .ipv6); V6=${V6NET}10
sw_t_check "the server has its addresses ($V4, $V6NET/64)" test -n "$V4" -a -n "$V6NET" -a "$V4" != null
R4=$(printf '%s' "$V4" | awk -F. '{print $4"."$3"."$2"."$1".in-addr.arpa"}')
R6=$(python3 -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).reverse_pointer)' "$V6")
ptr() { sw_t_api "$1" "/v1/servers/$S/ips/$2/ptr" "$3" "${4:-}"; }
served() { [ "$(sw_pdns_dig "$1" PTR)" = "$2" ]; }
# no PTR at NAME, from a PowerDNS that answers (its zones' SOA)
absent() { [ -n "$(sw_pdns_dig 2.0.192.in-addr.arpa SOA)" ] && served "$1" ""; }

# ---- the operator's zones ----
ptr PUT "$V4" "$TA" '{"ptr":"web1.example.com"}'
sw_t_eq "before the pool has a zone: 422" 422 "$SW_STATUS"
KEY=$SW_PDNS_KEY
zone() { sw_t_api PUT "/v1/admin/ip-pools/$1/rdns" "$2" "$3"; }
zone "$P4" "$TA" "{\"api_url\":\"$SW_PDNS_API_URL\",\"zone\":\"2.0.192.in-addr.arpa\",\"api_key\":\"$KEY\"}"
sw_t_eq "a customer cannot set a pool's zone (403)" 403 "$SW_STATUS"
zone "$P4" "$OP" "{\"api_url\":\"$SW_PDNS_API_URL\",\"zone\":\"3.0.192.in-addr.arpa\",\"api_key\":\"$KEY\"}"
sw_t_eq "a zone that does not hold the pool is 422" 422 "$SW_STATUS"
zone "$P4" "$OP" "{\"api_url\":\"$SW_PDNS_API_URL\",\"zone\":\"2.0.192.in-addr.arpa\",\"api_key\":\"$KEY\",\"colour\":1}"
sw_t_eq "an unknown field is 400" 400 "$SW_STATUS"
zone "$P4" "$OP" "{\"api_url\":\"$SW_PDNS_API_URL\",\"zone\":\"2.0.192.in-addr.arpa\",\"api_key\":\"$KEY\",\"api_server\":\"a/b\"}"
sw_t_eq "a server id that would change the URL's path is 400" 400 "$SW_STATUS"
zone "$P4" "$OP" "{\"api_url\":\"file:///etc/passwd\",\"zone\":\"2.0.192.in-addr.arpa\",\"api_key\":\"$KEY\"}"
sw_t_eq "an API URL that is not http(s) is 400" 400 "$SW_STATUS"
zone "$P4" "$OP" "{\"api_url\":\"$SW_PDNS_API_URL\",\"zone\":\"2.0.192.in-addr.arpa\",\"api_key\":\"$KEY\"}"
sw_t_eq "the IPv4 pool's zone: 200, the key never shown" "200 2.0.192.in-addr.arpa. true false" \
    "$SW_STATUS $(j '[.zone, .api_key_set, (tostring | contains("'"$KEY"'"))] | join(" ")')"
zone "$P6" "$OP" "{\"api_url\":\"$SW_PDNS_API_URL\",\"zone\":\"8.b.d.0.1.0.0.2.ip6.arpa.\",\"api_key\":\"$KEY\",\"forward_confirm\":true,\"ttl\":600}"
sw_t_eq "the IPv6 pool's zone, with forward confirmation" "200 true" "$SW_STATUS $(j .forward_confirm)"
sw_t_eq "the key is stored wrapped, never in the clear" 0 \
    "$(sw_t_psql -c "select count(*) from ip_pool_rdns where api_key_wrapped like '%$KEY%'")"

# ---- a customer's PTRs ----
ptr PUT "$V4" "$TA" '{"ptr":"web1.example.com."}'
sw_t_eq "a PTR asked: 202, pending" "202 web1.example.com pending" "$SW_STATUS $(j '.ptr.ptr + " " + .ptr.state')"
t0=$(date +%s%N)
sw_t_check "PowerDNS serves it" sw_t_wait "the PTR in DNS" 15 served "$R4" web1.example.com.
echo "# PTR asked to served by PowerDNS: $((($(date +%s%N) - t0) / 1000000)) ms"
synced() { ptr GET "$1" "$2"; [ "$(j .state)" = synced ]; }
sw_t_check "and the API says synced" sw_t_wait "synced" 5 synced "$V4" "$TA"
ptr PUT "$V6" "$TA" '{"ptr":"v6.example.com"}'
sw_t_eq "forward confirmation: a name without that AAAA is 422" 422 "$SW_STATUS"
sw_pdns_record v6.example.com AAAA "$V6" example.com
ptr PUT "$V6" "$TA" '{"ptr":"v6.example.com"}'
sw_t_eq "with the AAAA in DNS: 202" 202 "$SW_STATUS"
sw_t_check "PowerDNS serves the IPv6 PTR" sw_t_wait "the v6 PTR in DNS" 15 served "$R6" v6.example.com.
ptr PUT "${V6NET%::}:1::10" "$TA" '{"ptr":"v6.example.com"}'
sw_t_eq "an IPv6 address outside the server's /64 is 404" 404 "$SW_STATUS"
ptr PUT 192.0.2.200 "$TA" '{"ptr":"x.example.com"}'
sw_t_eq "an IPv4 address not the server's is 404" 404 "$SW_STATUS"
ptr PUT not-an-address "$TA" '{"ptr":"x.example.com"}'
sw_t_eq "something that is no address is 404" 404 "$SW_STATUS"
for bad in '-bad.example.com' 'nodot' 'a..example.com' "$(printf 'a%.0s' $(seq 64)).example.com" \
    "$(printf 'abcdefghi.%.0s' $(seq 26))com" 'under_score.example.com'; do
    ptr PUT "$V4" "$TA" "{\"ptr\":\"$bad\"}"
    sw_t_eq "a PTR that is no host name is 400 (${bad:0:20}...)" 400 "$SW_STATUS"
done
ptr PUT "$V4" "$TA" '{"ptr":"web1.example.com","ttl":5}'
sw_t_eq "an unknown field is 400" 400 "$SW_STATUS"
ptr PUT "$V4" "$TB" '{"ptr":"evil.example.com"}'
sw_t_eq "another customer's server: 404" 404 "$SW_STATUS"
ptr DELETE "$V4" "$TB"
sw_t_eq "nor can it remove one: 404" 404 "$SW_STATUS"
ptr GET "$V4" "$TB"
sw_t_eq "nor read one: 404" 404 "$SW_STATUS"
sw_t_check "PowerDNS still has A's name" served "$R4" web1.example.com.
ptr PUT "$V4" "$TR" '{"ptr":"by-reseller.example.com"}'
sw_t_eq "A's reseller may set it" 202 "$SW_STATUS"
sw_t_check "and PowerDNS serves the reseller's name" sw_t_wait "the reseller's PTR" 15 served "$R4" by-reseller.example.com.
ptr PUT "$V4" "$OP" '{"ptr":"by-operator.example.com"}'
sw_t_eq "so may an operator" 202 "$SW_STATUS"
sw_t_check "and PowerDNS serves the operator's name" sw_t_wait "the operator's PTR" 15 served "$R4" by-operator.example.com.
sw_t_eq "each write is audited" 3 \
    "$(sw_t_psql -c "select count(distinct actor_id) from audit_log where action = 'PUT /v1/servers/{id}/ips/{address}/ptr' and status = 202 and object_id = '$S'")"

# ---- PowerDNS down: the intent waits, then is written ----
kill "$SW_T_PID_pdns"; wait "$SW_T_PID_pdns" 2>/dev/null
ptr PUT "$V4" "$TA" '{"ptr":"while-down.example.com"}'
sw_t_eq "PowerDNS down: the PTR is still taken (202)" 202 "$SW_STATUS"
failing() { ptr GET "$V4" "$TA"; [ "$(j .state)" = pending ] && [ "$(j .error)" != null ]; }
sw_t_check "it stays pending with why" sw_t_wait "an error" 10 failing
echo "# while down: $(j '.error') (attempts $(j .attempts))"
# the panel that took it stops too: the intent is in PostgreSQL, not in it
kill "$SW_T_PID_panel"; wait "$SW_T_PID_panel" 2>/dev/null
rm -f "$SW_T_DIR/panel.addr"
sw_t_respawn panel
sw_t_wait "the panel again" 20 test -s "$SW_T_DIR/panel.addr" || exit 99
SW_URL=$(cat "$SW_T_DIR/panel.addr")
sw_t_respawn pdns
sw_t_check "PowerDNS back (and the panel restarted): the PTR is written" \
    sw_t_wait "the PTR after the outage" 30 served "$R4" while-down.example.com.

# ---- how long from a PUT to PowerDNS serving it: 20 changes in a row ----
ms=()
for i in $(seq 20); do
    t0=$(date +%s%N)
    ptr PUT "$V4" "$TA" "{\"ptr\":\"n$i.example.com\"}"
    sw_t_wait "n$i" 15 served "$R4" "n$i.example.com." || break
    ms+=($((($(date +%s%N) - t0) / 1000000)))
done
sorted=$(printf '%s\n' "${ms[@]}" | sort -n)
echo "# PUT to served by PowerDNS over ${#ms[@]} changes (ms, including dig's polling every 0.1 s):" \
    "p50 $(sed -n 10p <<<"$sorted") max $(tail -1 <<<"$sorted")"
sw_t_eq "20 changes in a row each reach PowerDNS" 20 "${#ms[@]}"

# ---- a pool's zone set again (another PowerDNS, or one that lost its
# data): its PTRs are written anew ----
curl -sf -X PATCH -H "X-API-Key: $KEY" -H 'Content-Type: application/json' -o /dev/null \
    -d "{\"rrsets\": [{\"name\": \"$R4.\", \"type\": \"PTR\", \"changetype\": \"DELETE\"}]}" \
    "$SW_PDNS_API_URL/api/v1/servers/localhost/zones/2.0.192.in-addr.arpa." || exit 99
sw_t_check "PowerDNS lost the PTR behind the panel's back" absent "$R4"
zone "$P4" "$OP" "{\"api_url\":\"$SW_PDNS_API_URL\",\"zone\":\"2.0.192.in-addr.arpa\",\"api_key\":\"$KEY\"}"
sw_t_check "the pool's zone set again: its PTR is written again" \
    sw_t_wait "the PTR rewritten" 15 served "$R4" n20.example.com.

# ---- removal ----
ptr DELETE "$V4" "$TA"
sw_t_eq "removing a PTR: 202" "202 null" "$SW_STATUS $(j .ptr.ptr)"
sw_t_check "PowerDNS no longer has it" sw_t_wait "the PTR gone" 15 absent "$R4"
ptr GET "$V4" "$TA"
sw_t_eq "and the API has none" 404 "$SW_STATUS"
ptr DELETE "$V4" "$TA"
sw_t_eq "removing it again is 404" 404 "$SW_STATUS"

# ---- terminate: the server's PTRs go with its addresses ----
ptr PUT "$V4" "$TA" '{"ptr":"web1.example.com"}'
sw_t_wait "the PTR again" 15 served "$R4" web1.example.com. || exit 99
must DELETE "/v1/servers/$S" "$TA"
gone() { sw_t_api GET "/v1/servers/$S" "$TA"; [ "$(j .state)" = terminated ]; }
sw_t_wait "terminated" 60 gone || exit 99
sw_t_check "after terminate PowerDNS has no IPv4 PTR" sw_t_wait "v4 gone" 15 absent "$R4"
sw_t_check "nor the IPv6 one" sw_t_wait "v6 gone" 15 absent "$R6"
none() { [ "$(sw_t_psql -c "select count(*) from ptr_records")" = 0 ]; }
sw_t_check "and no PTR intent is left" sw_t_wait "rows gone" 10 none
sw_t_check "the API key is in no log" sh -c "! grep -rqF '$KEY' '$SW_T_DIR'/panel.log '$SW_T_DIR'/provisioner.log"
sw_t_done
