#!/usr/bin/env bash
# High availability on test-driver nodes (issue 15; provisioner/README.md
# "High availability"), over HTTP with two provisioners and one engine per
# node. Four nodes "n1".."n4" share a pool "shared" (declared shared: as NFS
# would be); a fifth, "loc", has only local storage. Each node's fence agent
# is ssh, to a private sshd (openssh-server) whose forced command kills the
# node's engine with -9: on a test-driver node that is the host's power going
# off (its domains die with the process). A node "dies" by SIGSTOP of its
# engine (a hung host: heartbeats stop, its process still holds its
# domains), ten times in turn:
#   - it becomes suspect, is fenced (its engine killed by the agent), fenced,
#     failed; every ha server it held runs again exactly once (one running
#     domain among the live engines, its epoch one more), none on a failed
#     node, no node over capacity; non-ha servers stay where they were;
#   - the seconds from the death to all its ha servers running elsewhere
#     are printed, median over the 10, with the heartbeat interval and the
#     threshold;
#   - an operator sets the node active again (health ok) and its engine
#     comes back empty.
# Then "loc" dies: its ha server is reported lost (server.lost, failed with
# the reason, holding no allocation and no address), not restarted.
# Events: node.suspect, node.fenced, node.failed, server.recovered for each.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
command -v sshd >/dev/null || command -v /usr/sbin/sshd >/dev/null || {
    echo "SKIP: sshd (openssh-server) is needed for the ssh fence agent"
    exit 77
}
. "$SW_SRCDIR/tests/lib/hastack.sh"
sw_ha_stack

# ---- the private sshd standing in for the hosts' power ----
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$D/host_key" && ssh-keygen -q -t ed25519 -N '' -f "$D/fence_key" || exit 99
cat >"$D/fence.sh" <<EOF
#!/bin/sh
# forced command: "power off" host \$SSH_ORIGINAL_COMMAND (kill its engine)
case "\$SSH_ORIGINAL_COMMAND" in n[0-9]|loc) ;; *) exit 2 ;; esac
f=$D/engine-\$SSH_ORIGINAL_COMMAND.pid
[ -s "\$f" ] || exit 3
p=\$(cat "\$f")
kill -9 "\$p" 2>/dev/null
while kill -0 "\$p" 2>/dev/null; do sleep 0.05; done
echo "\$SSH_ORIGINAL_COMMAND" >>$D/fenced.log
exit 0
EOF
chmod 755 "$D/fence.sh"
echo "command=\"$D/fence.sh\",no-pty,no-port-forwarding,no-agent-forwarding $(cat "$D/fence_key.pub")" >"$D/authorized_keys"
SSH_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$D/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $D/host_key
AuthorizedKeysFile $D/authorized_keys
PidFile $D/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin forced-commands-only
EOF
sw_t_daemon sshd /usr/sbin/sshd -D -e -f "$D/sshd_config"
KNOWN="[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$D/host_key.pub")"

# ---- catalogue, nodes, engines ----
sw_ha_catalog
read -r st HAPLAN ha <<<"$(sw_ha_plan ha-1 true)"
sw_t_eq "a plan is created with ha: true, shown in its JSON" "201 true" "$st $ha"
read -r st PLAINPLAN ha <<<"$(sw_ha_plan plain-1 false)"
sw_t_eq "a plan without ha" "201 false" "$st $ha"

NAMES=(n1 n2 n3 n4 loc)
for n in "${NAMES[@]}"; do
    if [ "$n" = loc ]; then sw_ha_node "$n" local false; else sw_ha_node "$n" shared true; fi
    key=$(jq -Rs . <"$D/fence_key")
    api PUT "/v1/admin/nodes/${NODE[$n]}/fence" "$OP" "{\"agent\":\"ssh\",\"config\":{\"host\":\"127.0.0.1\",\"port\":$SSH_PORT,\"command\":\"$n\",\"known_host\":\"$KNOWN\"},\"secret\":$key}"
    [ "$SW_STATUS" = 200 ] || { echo "fence of $n: $SW_STATUS $SW_BODY"; exit 99; }
done
sw_t_eq "the fence answer says a secret is set, and never shows it" "ssh true 0" \
    "$(j '"\(.fence.agent) \(.fence.secret_set) \(tostring | test("PRIVATE KEY") | if . then 1 else 0 end)"')"
sw_t_eq "the database holds the five fence keys wrapped, none as given" "5 5 0" \
    "$(q "select count(fence_secret) || ' ' || count(*) filter (where fence_secret_wrapped) || ' ' ||
        count(*) filter (where fence_secret like '%PRIVATE KEY%') from nodes")"
api GET "/v1/admin/nodes/${NODE[n1]}" "$OP"
sw_t_eq "a node shows its health" "ok" "$(j .health)"

for n in "${NAMES[@]}"; do sw_ha_engine "$n"; done

# ---- servers: 12 ha and 4 plain on n1..n4, one ha on loc ----
order() { # PLAN
    api POST /v1/orders "$TOK" "{\"plan_id\":\"$1\",\"template_id\":\"$TPL\",\"hostname\":\"ha.example.com\",\"location_id\":\"$LOC\"}"
    j .server.id
}
# loc takes nothing until its own server: it is set draining meanwhile
api PATCH "/v1/admin/nodes/${NODE[loc]}" "$OP" '{"state":"draining"}'
for i in $(seq 12); do order "$HAPLAN" >/dev/null; done
for i in $(seq 4); do order "$PLAINPLAN" >/dev/null; done
running() { is "select count(*) from servers where state <> 'running'" 0; }
sw_t_check "16 servers running" sw_t_wait "servers running" 120 running
for n in n1 n2 n3 n4; do api PATCH "/v1/admin/nodes/${NODE[$n]}" "$OP" '{"state":"draining"}'; done
api PATCH "/v1/admin/nodes/${NODE[loc]}" "$OP" '{"state":"active"}'
LOST=$(order "$HAPLAN")
sw_t_check "the local-storage ha server runs on loc" sw_t_wait "loc server" 60 \
    is "select n.name || ' ' || s.state from servers s join nodes n on n.id = s.node_id where s.id = '$LOST'" "loc running"
for n in n1 n2 n3 n4; do api PATCH "/v1/admin/nodes/${NODE[$n]}" "$OP" '{"state":"active"}'; done
sw_t_eq "every server's volumes recorded in its node's pools (shared on n1..n4)" "16 1" \
    "$(q "select count(*) filter (where sw_server_on_shared(id)) || ' ' || count(*) filter (where not sw_server_on_shared(id)) from servers")"
api PUT "/v1/admin/servers/$LOST/ha" "$OP" '{"ha":true}'
sw_t_eq "a server's own ha is shown, with its source" "200 true server" "$SW_STATUS $(j '"\(.ha) \(.ha_source)"')"

# ---- checks after a recovery ----
# running domains of server S among the live engines' domains files
copies() {
    local n c=0
    for n in "${NAMES[@]}"; do
        kill -0 "$(cat "$D/engine-$n.pid")" 2>/dev/null || continue
        [ "$(q "select health from nodes where name = '$n'")" = ok ] || continue
        c=$((c + $(grep -ci "$1.*running" "$D/domains-$n" 2>/dev/null || true)))
    done
    echo "$c"
}
over_capacity() {
    q "select count(*) from nodes n join lateral (select coalesce(sum(vcpus), 0) v,
        coalesce(sum(mem_guar_mb), 0) m from allocations a where a.node_id = n.id) u on true
        where u.v > n.cpus * n.cpu_ratio or u.m > n.ram_mb - n.reserved_ram_mb"
}
ha_on() { # NODE-ID: running ha servers there
    q "select s.id from servers s join plans p on p.id = s.plan_id where s.node_id = '$1'
        and coalesce(s.ha, p.ha) and s.state = 'running' order by 1"
}
all_back() { # IDS... : each running on a healthy node other than DEAD, recover job done
    local s
    for s in "$@"; do
        is "select s.state || ' ' || n.health || ' ' || (s.node_id <> '$DEAD')
            || ' ' || exists (select 1 from jobs where server_id = s.id and type = 'recover'
                              and state = 'succeeded' and finished_at > to_timestamp($T0))
            from servers s join nodes n on n.id = s.node_id where s.id = '$s'" "running ok true true" ||
            return 1
    done
}
domains_agree() { # IDS...: one running copy each among the live engines
    local s
    for s in "$@"; do [ "$(copies "$s")" = 1 ] || return 1; done
}

TIMES=()
bad_once=0 bad_cap=0 bad_plain=0 bad_epoch=0
for round in $(seq 10); do
    n=n$(((round - 1) % 4 + 1))
    DEAD=${NODE[$n]}
    mapfile -t HA < <(ha_on "$DEAD")
    PLAIN=$(q "select string_agg(s.id::text, ',' order by s.id) from servers s join plans p on p.id = s.plan_id
        where s.node_id = '$DEAD' and not coalesce(s.ha, p.ha)")
    IDS=$(IFS=,; echo "${HA[*]}")
    epochs() { q "select coalesce(sum(epoch), 0) from servers where id = any(string_to_array('$IDS', ',')::uuid[])"; }
    EPOCHS=$(epochs)
    T0=$(date +%s.%N)
    kill -STOP "$(cat "$D/engine-$n.pid")"
    if ! sw_t_wait "round $round: $n's ${#HA[@]} ha servers back" 90 all_back "${HA[@]}"; then
        sw_t_fail "round $round: $n's ha servers did not come back: $(q "select health, fence_error from nodes where id = '$DEAD'")"
        break
    fi
    T1=$(date +%s.%N)
    TIMES+=("$(echo "$T1 - $T0" | bc)")
    # the engines write their domains file at each heartbeat
    sw_t_wait "round $round: one running copy each" 10 domains_agree "${HA[@]}" || bad_once=$((bad_once + 1))
    [ "$(over_capacity)" = 0 ] || bad_cap=$((bad_cap + 1))
    [ -z "$PLAIN" ] || is "select count(*) from servers where id = any(string_to_array('$PLAIN', ',')::uuid[])
        and node_id = '$DEAD' and state = 'running'" "$(tr ',' '\n' <<<"$PLAIN" | wc -l)" || bad_plain=$((bad_plain + 1))
    [ "$(epochs)" = $((EPOCHS + ${#HA[@]})) ] || bad_epoch=$((bad_epoch + 1))
    echo "# round $round: $n held ${#HA[@]} ha servers; back in ${TIMES[-1]} s"
    # the operator brings the host back: its engine restarted empty, then
    # the node active again (healthy)
    sw_ha_engine "$n"
    sw_t_wait "round $round: $n beats again" 20 \
        is "select last_heartbeat_at > now() - interval '2 s' from nodes where id = '$DEAD'" t >/dev/null
    is "select health from nodes where id = '$DEAD'" failed || sw_t_fail "round $round: $n's beats made it healthy by themselves"
    api PATCH "/v1/admin/nodes/$DEAD" "$OP" '{"state":"active"}'
    is "select health from nodes where id = '$DEAD'" ok || sw_t_fail "round $round: state active did not make $n healthy"
done
sw_t_eq "10 rounds measured" 10 "${#TIMES[@]}"
sw_t_eq "every recovered ha server runs exactly once, on a healthy node" 0 "$bad_once"
sw_t_eq "no node over capacity after any recovery" 0 "$bad_cap"
sw_t_eq "non-ha servers stay on their node" 0 "$bad_plain"
sw_t_eq "each recovered server's epoch moved on by one" 0 "$bad_epoch"
sw_t_eq "each death fenced once through the ssh agent, by one of the two provisioners" 10 "$(wc -l <"$D/fenced.log")"
MEDIAN=$(printf '%s\n' "${TIMES[@]}" | sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}')
echo "# HA: node death to its ha servers running elsewhere, median of ${#TIMES[@]}: $MEDIAN s" \
    "(heartbeat interval $HB s, suspect threshold $SUSPECT s; all: ${TIMES[*]})"
sw_t_check "median recovery within 30 s" awk "BEGIN {exit !($MEDIAN <= 30)}"

# ---- a node with only local storage: its ha server is lost, not restarted ----
DEAD=${NODE[loc]}
kill -STOP "$(cat "$D/engine-loc.pid")"
sw_t_check "loc fails" sw_t_wait "loc failed" 60 is "select health from nodes where id = '$DEAD'" failed
sw_t_eq "its ha server is failed with the reason, not moved, no recover job" \
    "failed loc true 0" \
    "$(q "select s.state || ' ' || n.name || ' ' || (s.error like '%local storage%') || ' '
        || (select count(*) from jobs where server_id = s.id and type = 'recover')
        from servers s join nodes n on n.id = s.node_id where s.id = '$LOST'")"
sw_t_eq "server.lost recorded for it" 1 \
    "$(q "select count(*) from events where type = 'server.lost' and data->>'server_id' = '$LOST'")"
sw_t_eq "the lost server holds no allocation and no address (migrations/0039)" "0 0 " \
    "$(q "select (select count(*) from allocations where server_id = '$LOST') || ' ' ||
               (select count(*) from ip_assignments where server_id = '$LOST') || ' ' ||
               coalesce(host(ipv4), '') || coalesce(host(ipv6), '') from servers where id = '$LOST'")"
api GET "/v1/admin/nodes/$DEAD" "$OP"
sw_t_eq "a failed node takes nothing: offline until an operator sets it active" "failed offline" \
    "$(j '"\(.health) \(.state)"')"

sw_t_eq "events: node.suspect, node.fenced, node.failed per death" "11 11 11" \
    "$(q "select count(*) filter (where type = 'node.suspect') || ' ' || count(*) filter (where type = 'node.fenced')
        || ' ' || count(*) filter (where type = 'node.failed') from events")"
sw_t_eq "server.recovered once per recovery" \
    "$(q "select count(*) from jobs where type = 'recover' and state = 'succeeded'")" \
    "$(q "select count(*) from events where type = 'server.recovered'")"
sw_t_check "the fence key never reached a log" bash -c "! grep -l 'PRIVATE KEY' $D/*.log"
kill -CONT "$(cat "$D/engine-loc.pid")" 2>/dev/null
sw_t_done
