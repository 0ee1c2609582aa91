#!/usr/bin/env bash
# bench/order-latency.sh [N] - time from POST /v1/orders to a running server,
# through the whole pipeline (panel, outbox relay, provisioner, engine on a
# libvirt test-driver node, results), for N orders one after another
# (default 20), on a private stack like the tests'.
#
# Two measurements of each order:
#   client: from sending the POST to the first GET that shows "running"
#           (polled every 2 ms, so it includes up to one poll interval);
#   server: from the order row's created_at to the create job's finished_at.
# The POST's own round trip (202) is printed beside them as the floor the
# pipeline adds to, measured in the same run.
. "$(dirname "$0")/../tests/lib/harness.sh"
N=${1:-20}
sw_t_stack
slipwayctl migrate >/dev/null || exit 1
OP=$(slipwayctl bootstrap) || exit 1
sw_t_panel
sw_t_daemon provisioner slipway-provisioner
SLIPWAY_LOG_LEVEL=warn
j() { jq -r "$1" <<<"$SW_BODY"; }
sw_t_api POST /v1/admin/locations "$OP" '{"code":"b1","name":"bench"}'
LOC=$(j .id)
for i in 1 2 3; do
    slipwayctl node-file "$SW_T_DIR/n$i.xml" 32 131072
    sw_t_api POST /v1/admin/nodes "$OP" "{\"name\":\"n$i\",\"location_id\":\"$LOC\",\"engine_uri\":\"test://$SW_T_DIR/n$i.xml\",\"kinds\":[\"container\",\"pv\",\"hvm\"],\"cpus\":32,\"ram_mb\":131072,\"disk_gb\":10000}"
    sw_t_daemon "engine-n$i" env SLIPWAY_NODE_ID="$(j .id)" slipway-engine
done
sw_t_api POST /v1/admin/plans "$OP" '{"name":"h","kind":"hvm","vcpus":1,"ram_mb":512,"burst_ram_mb":1024,"disk_gb":10,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":1,"currency":"EUR"}}'
PLAN=$(j .id)
sw_t_api POST /v1/admin/templates "$OP" '{"name":"d","kind":"hvm","os":"debian-12"}'
TPL=$(j .id)
sw_t_api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"b@example.com","name":"b","password":"bench-password"}'
sw_t_api POST /v1/auth/login "" '{"email":"b@example.com","password":"bench-password"}'
TOK=$(j .token)
sleep 1 # engines up and their groups created

client=() post=()
for i in $(seq 1 "$N"); do
    t0=$(date +%s%N)
    sw_t_api POST /v1/orders "$TOK" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"b$i\"}"
    t1=$(date +%s%N)
    [ "$SW_STATUS" = 202 ] || { echo "order $i: HTTP $SW_STATUS $SW_BODY"; exit 1; }
    sid=$(j .server.id)
    until curl -s -H "Authorization: Bearer $TOK" "$SW_URL/v1/servers/$sid" | grep -q '"state":"running"'; do
        sleep 0.002
        [ $(( ($(date +%s%N) - t0) / 1000000000 )) -lt 30 ] || { echo "order $i never ran"; exit 1; }
    done
    t2=$(date +%s%N)
    client+=($(( (t2 - t0) / 1000 )))
    post+=($(( (t1 - t0) / 1000 )))
done
stats() { # label, microsecond values...: median p90 max in ms
    local label=$1; shift
    printf '%s\n' "$@" | sort -n | awk -v l="$label" '{v[NR]=$1} END {
        printf "%-44s median %7.1f ms  p90 %7.1f ms  max %7.1f ms  (n=%d)\n", l,
            v[int((NR+1)/2)]/1000, v[int(NR*0.9+0.999)]/1000, v[NR]/1000, NR }'
}
mapfile -t server < <(sw_t_psql -c "select (extract(epoch from j.finished_at - o.created_at) * 1e6)::bigint
    from orders o join jobs j on j.server_id = o.server_id and j.type = 'create'
    where j.state = 'succeeded'")
echo "orders: $N, one after another, 3 test-driver nodes"
stats "POST /v1/orders round trip (202)" "${post[@]}"
stats "order -> running, client (2 ms polling)" "${client[@]}"
stats "order -> running, server (order row -> job done)" "${server[@]}"
sw_t_ok "bench finished"
sw_t_done
