#!/usr/bin/env bash
# slipwayctl node enroll|rekey against a real panel (issue 12): the engine
# configuration it writes, once, into a new 0600 file, starts an engine as
# its node (its own PostgreSQL role and Redis user: the stack has no
# anonymous Redis); a second enrolment of the name, an existing file, a bad
# token and bad usage are refused without writing anything; rekey writes new
# secrets and the old ones stop working; no secret reaches stderr.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_ACL_INTERVAL=3600
SLIPWAY_REDIS_URL=$SW_REDIS_URL_PANEL sw_t_panel
SLIPWAY_REDIS_URL=$SW_REDIS_URL_PROVISIONER sw_t_daemon provisioner slipway-provisioner
sw_t_api POST /v1/admin/locations "$OP" '{"code":"cli1","name":"CLI"}'
slipwayctl node-file "$SW_T_DIR/n1.xml" 4 8192

ctl() { env SLIPWAY_URL="$SW_URL" SLIPWAY_OPERATOR_TOKEN="$OP" slipwayctl "$@"; }
F=$SW_T_DIR/engine-n1.env
ENROLL=(node enroll n1 --location cli1 --uri "test://$SW_T_DIR/n1.xml" --kinds container,hvm
    --cpus 4 --ram-mb 8192 --disk-gb 100)
ctl "${ENROLL[@]}" --output "$F" 2>"$SW_T_DIR/enroll.err"
sw_t_eq "enroll exits 0" 0 "$?"
sw_t_eq "the file is the operator's only (mode 600)" 600 "$(stat -c %a "$F")"
sw_t_eq "it holds the node id, secret key, Redis and database URLs, image token and panel URL" \
    "SLIPWAY_DATABASE_URL SLIPWAY_NODE_ID SLIPWAY_NODE_SECRET_KEY SLIPWAY_NODE_TOKEN SLIPWAY_PANEL_URL SLIPWAY_REDIS_URL " \
    "$(cut -d= -f1 "$F" | sort | tr '\n' ' ')"
ID=$(sed -n 's/^SLIPWAY_NODE_ID="\(.*\)"$/\1/p' "$F")
KEY=$(sed -n 's/^SLIPWAY_NODE_SECRET_KEY="\(.*\)"$/\1/p' "$F")
sw_t_check "stderr names the node, not its secrets" \
    grep -q "node $ID: engine configuration written to $F" "$SW_T_DIR/enroll.err"
sw_t_check "the secret key is in no output but the file" \
    bash -c "! grep -rqF -- '$KEY' '$SW_T_DIR'/*.log '$SW_T_DIR/enroll.err'"

# The file alone starts the engine as its node.
sw_t_daemon engine env -i PATH="$PATH" SLIPWAY_TEMPLATES_DIR="$SLIPWAY_TEMPLATES_DIR" SLIPWAY_LOG_LEVEL=info bash -c "set -a; . '$F'; exec slipway-engine"
beat() { [ -n "$(sw_t_psql -c "select last_heartbeat_at from nodes where id = '$ID'")" ]; }
sw_t_wait "heartbeat" 30 beat
sw_t_check "an engine started from the file heartbeats as its node" beat
sw_t_check "it logged in to PostgreSQL as the node's role" \
    test "$(sw_t_psql -c "select count(*) from pg_stat_activity where usename = 'slipway_node_${ID//-/}'")" -ge 1
users=$(sw_t_redis CLIENT LIST TYPE normal | grep -c " user=node-$ID ")
sw_t_check "Redis sees the engine as node-$ID ($users connection(s))" test "$users" -ge 1

# Refusals write nothing.
ctl "${ENROLL[@]}" --output "$SW_T_DIR/again.env" 2>"$SW_T_DIR/again.err"
sw_t_eq "a second enrolment of n1 exits 1" 1 "$?"
sw_t_check "and says why" grep -q "409" "$SW_T_DIR/again.err"
sw_t_check "and writes no file" test ! -e "$SW_T_DIR/again.env"
before=$(md5sum <"$F")
ctl node rekey "$ID" --output "$F" 2>/dev/null
sw_t_eq "rekey into an existing file exits 1" 1 "$?"
sw_t_eq "the file is unchanged" "$before" "$(md5sum <"$F")"
env SLIPWAY_URL="$SW_URL" SLIPWAY_OPERATOR_TOKEN=swt_wrong slipwayctl "${ENROLL[@]}" 2>"$SW_T_DIR/tok.err" >/dev/null
sw_t_eq "a bad token exits 1" 1 "$?"
sw_t_check "unauthenticated, said so" grep -q "401" "$SW_T_DIR/tok.err"
ctl node enroll n2 --location cli1 --uri x --kinds hvm --cpus four --ram-mb 1 --disk-gb 1 2>/dev/null
sw_t_eq "a non-number is usage (exit 2)" 2 "$?"
ctl node enroll n2 --location nowhere --uri x --kinds hvm --cpus 1 --ram-mb 1 --disk-gb 1 2>"$SW_T_DIR/loc.err"
sw_t_eq "an unknown location exits 1" 1 "$?"
sw_t_check "naming it" grep -q 'no location "nowhere"' "$SW_T_DIR/loc.err"

# Rekey: new secrets; the old Redis password stops working.
OLD_REDIS=$(sed -n 's/^SLIPWAY_REDIS_URL="\(.*\)"$/\1/p' "$F")
ctl node rekey "$ID" --output "$SW_T_DIR/rekeyed.env" 2>/dev/null
sw_t_eq "rekey exits 0" 0 "$?"
NEW_KEY=$(sed -n 's/^SLIPWAY_NODE_SECRET_KEY="\(.*\)"$/\1/p' "$SW_T_DIR/rekeyed.env")
sw_t_check "with another secret key" test -n "$NEW_KEY" -a "$NEW_KEY" != "$KEY"
old_pass=${OLD_REDIS#*://node-$ID:}
old_pass=${old_pass%%@*}
gone() { REDISCLI_AUTH=$old_pass redis-cli --user "node-$ID" -s "$SW_REDIS_SOCK" PING 2>&1 | grep -q WRONGPASS; }
sw_t_wait "old Redis password refused" 20 gone
sw_t_check "the old Redis password is refused after rekey" gone
sw_t_done
