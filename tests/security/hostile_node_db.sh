#!/usr/bin/env bash
# shellcheck disable=SC2154  # SW_T_PID_<name> are set by sw_t_daemon (eval)
# A hostile node in PostgreSQL (issue 12): two nodes A and B enrolled
# through the API, each engine logged in as its own role
# (migrations/0018_engine_roles.sql) with the password its enrolment answer
# showed once, servers on both (a customer's orders, one plan and template
# used only on B). Then, with A's credentials, every try below: tenant
# tables, B's rows, writes beyond A's heartbeat and events, the role
# functions, SET ROLE, CREATE, and logging in with no or a wrong password.
# Every try must be refused (an SQLSTATE, or row-level security showing
# and changing nothing) and PostgreSQL must be unchanged (md5 of every
# public table's ordered rows, the roles, their memberships and the
# catalog's object count, before and after). The legitimate path works as
# A's role: start, heartbeats, an order to running, reconciliation after a
# restart, its own drain. Prints the table (try, refused by, count) and
# the engine's start time as its role vs as the owner.
# shellcheck source=../lib/harness.sh
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8
sw_t_panel
sw_t_daemon provisioner slipway-provisioner

q() { sw_t_psql -c "$1"; }
j() { jq -r "$1" <<<"$SW_BODY"; }
api() {
    sw_t_api "$@"
    case $SW_STATUS in 2??) ;; *) echo "$2: $SW_STATUS $SW_BODY"; exit 99 ;; esac
}

# ---- two locations, a node in each, enrolled through the API ----
enrol() { # enrol NAME LOCATION: sets NODE_<NAME>, CONF_<NAME> (the engine's env), DB_<NAME>
    slipwayctl node-file "$SW_T_DIR/$1.xml" 16 32768
    api POST /v1/admin/nodes "$OP" "{\"name\":\"$1\",\"location_id\":\"$2\",\"engine_uri\":\"test://$SW_T_DIR/$1.xml\",\"kinds\":[\"container\"],\"cpus\":16,\"ram_mb\":32768,\"disk_gb\":1000}"
    eval "NODE_$1=$(j .id)"
    (umask 077 && j '.engine_config | to_entries[] | "\(.key)=\(.value)"' >"$SW_T_DIR/$1.env")
    eval "DB_$1=\$(j .engine_config.SLIPWAY_DATABASE_URL)"
}
api POST /v1/admin/locations "$OP" '{"code":"la","name":"A"}'
LOC_A=$(j .id)
api POST /v1/admin/locations "$OP" '{"code":"lb","name":"B"}'
LOC_B=$(j .id)
enrol A "$LOC_A"
enrol B "$LOC_B"
ROLE_A=$(q "select db_role from nodes where id = '$NODE_A'")
ROLE_B=$(q "select db_role from nodes where id = '$NODE_B'")
sw_t_check "each node has its own login role, a member of slipway_engine" \
    test "$(q "select count(*) from pg_roles r join pg_auth_members m on m.member = r.oid
               where r.rolname in ('$ROLE_A', '$ROLE_B') and r.rolcanlogin and not r.rolsuper
               and m.roleid = 'slipway_engine'::regrole")" = 2
sw_t_check "the enrolment answer holds the node's role and a password, not the panel's login" \
    bash -c "grep -q \"user='$ROLE_A'\" <<<\"\$0\" && grep -q \"password='\" <<<\"\$0\"" "$DB_A"

api POST /v1/admin/plans "$OP" '{"name":"pa","kind":"container","vcpus":1,"ram_mb":256,"disk_gb":5,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":400,"currency":"EUR"}}'
PLAN_A=$(j .id)
api POST /v1/admin/plans "$OP" '{"name":"pb","kind":"container","vcpus":1,"ram_mb":512,"disk_gb":5,"price_hourly":{"amount":2,"currency":"EUR"},"price_monthly":{"amount":800,"currency":"EUR"}}'
PLAN_B=$(j .id)
api POST /v1/admin/templates "$OP" '{"name":"Debian","kind":"container","os":"debian-12"}'
TPL_A=$(j .id)
api POST /v1/admin/templates "$OP" '{"name":"Alpine","kind":"container","os":"alpine-3"}'
TPL_B=$(j .id)
api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"carol@example.com","name":"Carol","password":"correct horse battery"}'
api POST /v1/auth/login "" '{"email":"carol@example.com","password":"correct horse battery"}'
CAROL=$(j .token)
api POST /v1/account/tokens "$CAROL" '{"name":"ci"}'

# ---- the engines, each as its own role ----
start_engine() { # start_engine NAME [ENV...]: the node's enrolment configuration
    local conf
    mapfile -t conf <"$SW_T_DIR/$1.env"
    sw_t_daemon "engine$1" env "${conf[@]}" "${@:2}" SLIPWAY_HEARTBEAT_INTERVAL=1 \
        SLIPWAY_USAGE_INTERVAL=1 SLIPWAY_RECONCILE_INTERVAL=2 slipway-engine
}
start_engine A
start_engine B
beat() { q "select coalesce(extract(epoch from last_heartbeat_at)::bigint, 0) from nodes where id = '$1'"; }
sw_t_check "A's engine heartbeats as its role" sw_t_wait "A heartbeats" 20 \
    bash -c "[ \"\$(psql '$SW_PG_URL' -qAt -c \"select last_heartbeat_at is not null from nodes where id = '$NODE_A'\")\" = t ]"
sw_t_check "A's engine logs in as $ROLE_A" \
    test "$(q "select count(*) from pg_stat_activity where usename = '$ROLE_A'")" -ge 1

order() { # order LOCATION PLAN TEMPLATE: the new server's id
    api POST /v1/orders "$CAROL" "{\"plan_id\":\"$2\",\"template_id\":\"$3\",\"hostname\":\"h$RANDOM.example.com\",\"location_id\":\"$1\"}"
    j .server.id
}
running() { [ "$(q "select state from servers where id = '$1'")" = running ]; }
SA1=$(order "$LOC_A" "$PLAN_A" "$TPL_A")
SA2=$(order "$LOC_A" "$PLAN_A" "$TPL_A")
SB1=$(order "$LOC_B" "$PLAN_B" "$TPL_B")
SB2=$(order "$LOC_B" "$PLAN_B" "$TPL_B")
for s in "$SA1" "$SA2" "$SB1" "$SB2"; do
    sw_t_wait "server $s running" 60 running "$s" || { sw_t_fail "server $s reaches running"; sw_t_done; }
done
sw_t_ok "orders on A and B reach running, each node's engine as its own role"
sw_t_eq "the servers are where they were ordered" "2 2" \
    "$(q "select count(*) filter (where node_id = '$NODE_A') || ' ' || count(*) filter (where node_id = '$NODE_B') from servers")"

# ---- A at rest, PostgreSQL's snapshot ----
kill "$SW_T_PID_engineA" "$SW_T_PID_engineB" "$SW_T_PID_provisioner"
wait "$SW_T_PID_engineA" "$SW_T_PID_engineB" "$SW_T_PID_provisioner" 2>/dev/null
snapshot() {
    local t sql=""
    for t in $(q "select relname from pg_class where relnamespace = 'public'::regnamespace
                  and relkind in ('r', 'p') order by 1"); do
        sql+="select '$t', coalesce(md5(string_agg(t::text, E'\\n' order by t::text)), '-') from public.$t t union all "
    done
    sql+="select 'roles', md5(string_agg(concat_ws(' ', rolname, rolsuper, rolcanlogin, rolcreaterole,
          rolconnlimit, rolpassword), E'\\n' order by rolname)) from pg_authid union all "
    sql+="select 'members', md5(string_agg(concat_ws(' ', roleid, member), E'\\n' order by roleid, member))
          from pg_auth_members union all "
    sql+="select 'objects', count(*)::text from pg_class union all "
    sql+="select 'grants', md5(string_agg(concat_ws(' ', relname, relacl), E'\\n' order by relname))
          from pg_class where relnamespace = 'public'::regnamespace"
    q "$sql"
}
snapshot >"$SW_T_DIR/before"

# ---- the tries, with A's credentials ----
declare -A TRIES=()
ORDER=()
# try DESC SQL [CONNINFO]: refused when psql fails (its SQLSTATE) or when
# every answer is 0 rows: a count of 0 or a command tag of 0 rows (row-level
# security hid or spared every row). psql prints command tags (no -q), so
# an UPDATE that touched a row shows "UPDATE 1", never nothing.
try() {
    local desc=$1 sql=$2 conn=${3:-$DB_A} out rc by
    out=$(PGCONNECT_TIMEOUT=5 psql "$conn" -X -w -At -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate \
        -c "$sql" 2>&1)
    rc=$?
    if [ $rc -ne 0 ]; then
        by=$(grep -o 'ERROR:  *[0-9A-Z]\{5\}' <<<"$out" | awk '{print $2}' | head -1)
        [ -n "$by" ] || by=$(grep -o 'FATAL:  *[0-9A-Z]\{5\}\|password authentication failed\|no password supplied\|pg_hba.conf rejects' <<<"$out" | head -1)
        case $by in
        "password authentication failed") by="28P01 (password authentication failed)" ;;
        "pg_hba.conf rejects") by="28000 (pg_hba.conf rejects)" ;;
        "no password supplied") by="no password (the server asks SCRAM)" ;;
        "") by="error: $(head -c 80 <<<"$out")" ;;
        esac
    elif ! grep -qvE '^(0|SET|UPDATE 0|DELETE 0|INSERT 0 0)$' <<<"$out"; then
        by="RLS (0 rows)"
    else
        sw_t_fail "refused: $desc (it answered: $(head -c 200 <<<"$out"))"
        by="NOT REFUSED"
    fi
    ORDER+=("$desc")
    TRIES[$desc]=$by
}
for t in $(q "select relname from pg_class where relnamespace = 'public'::regnamespace
              and relkind in ('r', 'p', 'v', 'm') order by 1"); do
    try "SELECT * FROM $t" "select count(*) from (select * from $t) x"
done
try "read B's node row" "select count(*) from nodes where id = '$NODE_B'"
try "read any node but A" "select count(*) from nodes where id <> '$NODE_A'"
try "read B's servers" "select count(*) from servers where node_id = '$NODE_B'"
try "read B's server by id" "select count(*) from servers where id = '$SB1'"
try "read B's allocations" "select count(*) from allocations where node_id = '$NODE_B'"
try "read B's plan" "select count(*) from plans where id = '$PLAN_B'"
try "read B's template" "select count(*) from templates where id = '$TPL_B'"
try "read A's servers' owners" "select count(owner_id) from servers"
try "read A's node name, key, role" "select name, public_key, db_role from nodes"
try "read the nodes' image token hashes" "select image_token_hash from nodes"
try "read the image library" "select sha256, source_url from images"
try "give A's template another image" "update templates set image_id = null"
try "read plan prices" "select price_monthly from plans"
try "read B's plan's limits" "select count(cpu_cap_pct) from plans where id = '$PLAN_B'"
try "read A's servers' SSH keys" "select ssh_keys from servers"
try "read IP pools' resolvers" "select dns from ip_pools"
try "read node events" "select count(*) from node_events"
try "read B's pools" "select count(*) from node_pools where node_id = '$NODE_B'"
try "report into B's pool" "update node_pools set capacity_bytes = 1 where node_id = '$NODE_B'"
try "UPDATE A's pool path" "update node_pools set path = '/etc' where node_id = '$NODE_A'"
try "UPDATE A's pool threshold" "update node_pools set fill_threshold = 100 where node_id = '$NODE_A'"
try "INSERT a pool for A" "insert into node_pools (node_id, name, path) values ('$NODE_A', 'x', '/x')"
try "DELETE A's pools" "delete from node_pools where node_id = '$NODE_A'"
try "read server disks" "select count(*) from server_disks"
try "heartbeat B" "with u as (update nodes set last_heartbeat_at = now() where id = '$NODE_B' returning 1) select count(*) from u"
try "UPDATE B's engine_uri" "update nodes set engine_uri = 'test:///x' where id = '$NODE_B'"
try "UPDATE A's state" "update nodes set state = 'active' where id = '$NODE_A'"
try "UPDATE A's cpus" "update nodes set cpus = 1000 where id = '$NODE_A'"
try "UPDATE A's public_key" "update nodes set public_key = null where id = '$NODE_A'"
try "UPDATE A's server state" "update servers set state = 'terminated' where id = '$SA1'"
try "UPDATE B's server state" "update servers set state = 'terminated' where id = '$SB1'"
try "DELETE B's server" "delete from servers where id = '$SB1'"
try "DELETE A's node" "delete from nodes where id = '$NODE_A'"
try "DELETE A's allocations" "delete from allocations where node_id = '$NODE_A'"
try "INSERT a node event for B" "insert into node_events (node_id, kind, detail) values ('$NODE_B', 'domain.orphan', '{}')"
try "INSERT a node event for A, id chosen" "insert into node_events (id, node_id, kind) values (gen_random_uuid(), '$NODE_A', 'domain.orphan')"
try "DELETE A's node events" "delete from node_events where node_id = '$NODE_A'"
try "INSERT a job" "insert into jobs (id, server_id, account_id, type) select gen_random_uuid(), '$SB1', owner_id, 'terminate' from servers limit 1"
try "INSERT into the outbox" "insert into outbox (stream, payload) values ('jobs', '{}')"
try "TRUNCATE node_events" "truncate node_events"
try "drain B" "select sw_engine_node_drain('$NODE_B')"
try "read epochs as B" "select count(*) from sw_engine_server_epochs('$NODE_B', ARRAY['$SB1']::uuid[])"
try "read B's server's epoch as A" "select count(*) from sw_engine_server_epochs('$NODE_A', ARRAY['$SB1']::uuid[])"
try "read B's kernels" "select count(*) from sw_engine_kernels('$NODE_B')"
try "read shared pool use of B" "select sw_pool_used_elsewhere_gb('$NODE_B', 'slipway')"
try "read a move's shared disk as B" "select sw_shared_disk_elsewhere_gb('$NODE_B', '$SB1')"
try "read epochs of every server" "select count(*) from sw_engine_server_epochs('$NODE_A', (select array_agg(id) from servers where node_id <> '$NODE_A'))"
try "slipway_node_role_set(A)" "select slipway_node_role_set('$NODE_A', 'SCRAM-SHA-256\$4096:x')"
try "slipway_node_role_set(B)" "select slipway_node_role_set('$NODE_B', 'SCRAM-SHA-256\$4096:x')"
try "SET ROLE B's role" "set role $ROLE_B"
try "SET ROLE the owner" "set role slipway"
try "SET ROLE slipway_engine, read B" "set role slipway_engine; select count(*) from nodes where id = '$NODE_B'"
try "SET SESSION AUTHORIZATION owner" "set session authorization slipway"
try "CREATE TABLE" "create table x (a int)"
try "CREATE TEMP TABLE" "create temp table x (a int)"
try "CREATE FUNCTION" "create function x() returns int language sql as 'select 1'"
try "CREATE SCHEMA" "create schema x"
try "CREATE ROLE" "create role x"
try "GRANT slipway_engine to B" "grant slipway_engine to $ROLE_B"
try "ALTER TABLE nodes DISABLE RLS" "alter table nodes disable row level security"
try "DROP POLICY" "drop policy engine_node_read on nodes"
try "COPY TO PROGRAM" "copy nodes (id) to program 'true'"
try "pg_read_file" "select pg_read_file('postgresql.conf')"
try "lo_import" "select lo_import('/etc/passwd')"
try "the billing check function" "select count(*) from sw_billing_check()"
try "connect with no password" "select 1" "$(sed "s/ password='[^']*'//" <<<"$DB_A")"
try "connect with a wrong password" "select 1" "$(sed "s/ password='[^']*'/ password='wrong'/" <<<"$DB_A")"
try "connect as B with A's password" "select 1" "$(sed "s/user='$ROLE_A'/user='$ROLE_B'/" <<<"$DB_A")"
try "connect as slipway_engine" "select 1" "$(sed "s/user='$ROLE_A'/user='slipway_engine'/" <<<"$DB_A")"
try "connect to another database" "select 1" "$(sed "s/dbname='slipway'/dbname='postgres'/" <<<"$DB_A")"

snapshot >"$SW_T_DIR/after"
printf '\n%-40s | %-38s | %s\n' "try (as node A's role)" "refused by (SQLSTATE)" count
printf '%s\n' "-----------------------------------------+----------------------------------------+------"
declare -A BY=()
for d in "${ORDER[@]}"; do
    printf '%-40s | %-38s | 1\n' "$d" "${TRIES[$d]}"
    BY[${TRIES[$d]}]=$((${BY[${TRIES[$d]}]:-0} + 1))
done
echo
for b in "${!BY[@]}"; do printf '%-40s %s\n' "refused by $b:" "${BY[$b]}"; done | sort
refused=$((${#ORDER[@]} - ${BY["NOT REFUSED"]:-0}))
echo "tries ${#ORDER[@]}, refused $refused, changes in PostgreSQL $(diff "$SW_T_DIR/before" "$SW_T_DIR/after" | grep -c '^>')"
sw_t_eq "every try with A's credentials is refused" "${#ORDER[@]}" "$refused"
sw_t_check "PostgreSQL is unchanged by the tries (every table, roles, grants, objects)" \
    diff "$SW_T_DIR/before" "$SW_T_DIR/after"

# ---- the legitimate path, as A's role, after the tries ----
sw_t_eq "A's role reads its own node and servers" "1 2 2" \
    "$(psql "$DB_A" -X -qAt -c "select (select count(*) from nodes) || ' ' || (select count(*) from servers) || ' ' || (select count(*) from allocations)")"
# start time: to engine.started, as A's role and as the owner (3 each)
started_ms() { # started_ms NAME [ENV...]
    local t0 i
    t0=$(date +%s%N)
    start_engine "$@"
    for i in $(seq 1 1000); do
        grep -q 'engine.started' "$SW_T_DIR/engine$1.log" 2>/dev/null && break
        sleep 0.005
    done
    echo $((($(date +%s%N) - t0) / 1000000))
    eval "kill \$SW_T_PID_engine$1; wait \$SW_T_PID_engine$1" 2>/dev/null
    : >"$SW_T_DIR/engine$1.log"
}
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
role_ms=() owner_ms=()
for i in 1 2 3 4 5; do
    role_ms+=("$(started_ms A)")
    owner_ms+=("$(started_ms A SLIPWAY_DATABASE_URL="$SW_PG_URL")")
done
echo "engine start to engine.started, ms: as its role ${role_ms[*]} (median $(median "${role_ms[@]}"));" \
    "as the owner ${owner_ms[*]} (median $(median "${owner_ms[@]}"))"
# what the role's login costs by itself: 20 connections each way
connect_ms() {
    local t0 i
    t0=$(date +%s%N)
    for i in $(seq 1 20); do psql "$1" -X -w -qAt -c 'select 1' >/dev/null || return 1; done
    echo $((($(date +%s%N) - t0) / 20000000))
}
echo "psql connect + select 1, ms each (20): as A's role (SCRAM) $(connect_ms "$DB_A");" \
    "as the owner (trust) $(connect_ms "$SW_PG_URL")"
# the engine's start query itself, a new connection each time (pgbench -C):
# average connection time and latency, as A's role (SCRAM, RLS) and the owner
echo "select engine_uri, array_to_string(kinds, ',') from nodes where id = '$NODE_A';" \
    >"$SW_T_DIR/load_node.sql"
bench() {
    "$SW_PG_BIN/pgbench" -n -C -t 200 -f "$SW_T_DIR/load_node.sql" "$1" 2>&1 |
        awk -F' = ' '/^latency average|^average connection time/ {printf "%s; ", $0}'
}
echo "load_node, 200 new connections: as A's role: $(bench "$DB_A")as the owner: $(bench "$SW_PG_URL")" | sed 's/; $//'

sw_t_daemon provisioner2 slipway-provisioner
start_engine A
b0=$(beat "$NODE_A")
sw_t_check "A's engine heartbeats again as its role" sw_t_wait "heartbeat" 20 \
    bash -c "[ \"\$(psql '$SW_PG_URL' -qAt -c \"select extract(epoch from last_heartbeat_at)::bigint from nodes where id = '$NODE_A'\")\" -gt $b0 ]"
sw_t_check "A's engine reconciled its node as its role: both servers restored" sw_t_wait "restored" 30 \
    bash -c "[ \"\$(psql '$SW_PG_URL' -qAt -c \"select count(distinct detail->>'server_id') from node_events where node_id = '$NODE_A' and kind = 'domain.restored'\")\" = 2 ]"
sw_t_check "A's engine reported its own pool's figures as its role" sw_t_wait "pool report" 20 \
    bash -c "[ \"\$(psql '$SW_PG_URL' -qAt -c \"select count(*) from node_pools where node_id = '$NODE_A' and present and capacity_bytes > 0 and reported_at is not null\")\" = 1 ]"
sw_t_eq "A's role reads its own pool, not B's" "1 slipway" \
    "$(psql "$DB_A" -X -qAt -c "select count(*) || ' ' || min(name) from node_pools")"
sw_t_eq "and it recorded nothing about B's servers" 0 \
    "$(q "select count(*) from node_events where detail->>'server_id' in ('$SB1', '$SB2')")"
# silent while the first provisioner was stopped, A may have gone suspect
# (provisioner/README.md "High availability"); its beats make it healthy again
sw_t_wait "A healthy" 15 bash -c "[ \"\$(psql '$SW_PG_URL' -qAt -c \"select health from nodes where id = '$NODE_A'\")\" = ok ]"
SA3=$(order "$LOC_A" "$PLAN_A" "$TPL_A")
sw_t_check "a new order on A reaches running" sw_t_wait "SA3 running" 60 running "$SA3"
sw_t_eq "A's role drains its own node" t "$(psql "$DB_A" -X -qAt -c "select sw_engine_node_drain('$NODE_A')")"
sw_t_eq "A's role reads where its own server lives and its epoch" "f|1" "$(psql "$DB_A" -X -qAt -c "select elsewhere, epoch from sw_engine_server_epochs('$NODE_A', ARRAY['$SA1']::uuid[])")"
sw_t_eq "A's role reads its own servers' kernels (none here), its pools' shared use and a move's shared disk" "0|0|0" \
    "$(psql "$DB_A" -X -qAt -c "select (select count(*) from sw_engine_kernels('$NODE_A')), sw_pool_used_elsewhere_gb('$NODE_A', 'slipway'), sw_shared_disk_elsewhere_gb('$NODE_A', '$SA1')")"
sw_t_eq "and the node is draining" draining "$(q "select state from nodes where id = '$NODE_A'")"
sw_t_check "a rekey gives A a new password: the old one is refused" bash -c "
    out=\$(curl -s -X POST -H 'Authorization: Bearer $OP' '$SW_URL/v1/admin/nodes/$NODE_A/rekey') &&
    new=\$(jq -r .engine_config.SLIPWAY_DATABASE_URL <<<\"\$out\") &&
    ! psql \"\$0\" -X -w -qAt -c 'select 1' 2>/dev/null && [ \"\$(psql \"\$new\" -X -w -qAt -c 'select 1')\" = 1 ]" "$DB_A"
PW_A=$(sed -n "s/.*password='\([^']*\)'.*/\1/p" <<<"$DB_A")
PG_LOG=$SW_T_DIR/pg.log
[ -f "$SW_T_DIR/.pgdata" ] && PG_LOG=$(dirname "$(cat "$SW_T_DIR/.pgdata")")/pg.log
sw_t_check "A's password (${#PW_A} characters) is in no daemon's log, nor in PostgreSQL's" \
    bash -c "[ ${#PW_A} = 43 ] && [ -s '$PG_LOG' ] && ! grep -qF -- '$PW_A' '$SW_T_DIR'/*.log '$PG_LOG'"
sw_t_done
