#!/usr/bin/env bash
# backups.sh - backups through the API and the job pipeline (issue 14,
# panel/README.md "API notes: backups") against real PostgreSQL, Redis, the
# panel and the provisioner; the node's side is backup_real.sh:
#   - targets (operators): a dir target made default; bad configurations
#     400 (no absolute path, a secret inside config, an unknown kind); an s3
#     target's secret is kept wrapped (never answered, never in the table
#     in clear) and opens with the master key only; PATCH retires and moves
#     the default; customers 403;
#   - POST /v1/servers/{id}/backups on a server whose node runs libvirt's
#     test driver: 422 naming the missing backup API, nothing recorded;
#   - on a node with a real hypervisor URI: an empty body is a full backup
#     on the default target, 202 {backup, job}; its backup job reaches the
#     node carrying the backup, the target without secrets and the account
#     key sealed to the node (never the key in clear); a second backup is
#     incremental to the first once that one completed; kind full forces
#     full; the backup follows its job (running, completed, failed + error);
#   - restore (target same): 202 with a restore job naming the backup; a
#     failed backup 422, bad targets 400, another customer's backup 404;
#   - policies (a server's own, a plan's default): 400 for bad values, 404
#     for another customer, 403 for a customer on a plan's; the scheduler
#     (every second here) queues one backup per server and slot; the stale
#     list names a server with a policy and no recent backup until one
#     completes; operators list every backup;
#   - events backup.completed, backup.failed and restore.completed, which
#     webhooks may subscribe to;
#   - tenancy: another customer gets 404 from every backup route, and a
#     stopped or terminated server's backups are refused 409;
#   - restore as a new server (target new), of the terminated server's
#     backup: another customer's backup 404, a failed backup 422, a bad
#     hostname or plan id 400, a plan of another kind 422, a plan whose disk
#     is smaller than the backup's 422 naming both sizes (nothing recorded);
#     then 202 {order, server, job, restored_from} with the server's
#     template and host name, the plan asked for, the create job naming the
#     backup; the same Idempotency-Key answers the same server; the create
#     reaches the node carrying the backup with the account key sealed.
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_ORDER_RATE=0
export SLIPWAY_BACKUP_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
sw_t_panel

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
sql() { sw_t_psql -c "$1"; }
customer() { # email -> token
    api POST /v1/admin/accounts "$OP" "{\"kind\":\"customer\",\"email\":\"$1\",\"name\":\"c\",\"password\":\"c-secret-pw\"}"
    api POST /v1/auth/login "" "{\"email\":\"$1\",\"password\":\"c-secret-pw\"}"
    j .token
}
C1=$(customer c1@example.com) C2=$(customer c2@example.com)
api POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
LOC=$(j .id)
api POST /v1/admin/nodes "$OP" "{\"name\":\"n1\",\"location_id\":\"$LOC\",\"engine_uri\":\"test:///default\",\"kinds\":[\"hvm\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500}"
N1=$(j .id) N1SK=$(j .engine_config.SLIPWAY_NODE_SECRET_KEY)
api POST /v1/admin/plans "$OP" '{"name":"hvm-s","kind":"hvm","vcpus":1,"ram_mb":512,"disk_gb":10,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":500,"currency":"EUR"}}'
PLAN=$(j .id)
api POST /v1/admin/templates "$OP" '{"name":"blank","kind":"hvm","os":"blank"}'
TPL=$(j .id)

# ---- targets ----
T=$SW_T_DIR/backups
tgt() { api POST /v1/admin/backup-targets "$1" "$2"; }
tgt "$C1" "{\"name\":\"x\",\"kind\":\"dir\",\"config\":{\"path\":\"$T\"}}"
sw_t_eq "a customer may not add a backup target" 403 "$SW_STATUS"
tgt "$OP" '{"name":"x","kind":"dir","config":{"path":"relative"}}'
sw_t_eq "a dir target needs an absolute path: 400" 400 "$SW_STATUS"
tgt "$OP" '{"name":"x","kind":"s3","config":{"endpoint":"http://127.0.0.1:1","secret_key":"s"}}'
sw_t_eq "a secret inside config: 400" 400 "$SW_STATUS"
tgt "$OP" '{"name":"x","kind":"nfs","config":{}}'
sw_t_eq "an unknown kind: 400" 400 "$SW_STATUS"
tgt "$OP" '{"name":"s3","kind":"s3","config":{"endpoint":"http://127.0.0.1:1","bucket":"b","region":"r","access_key":"AK"},"secret":"TOPSECRET-s3-key"}'
sw_t_eq "an s3 target: 201, has_secret, the secret not answered" "201 true 0" \
    "$SW_STATUS $(j .has_secret) $(grep -c TOPSECRET <<<"$SW_BODY")"
S3=$(j .id)
sw_t_eq "its secret is not in the table in clear" 0 "$(sql "select count(*) from backup_targets where secret_sealed like '%TOPSECRET%' or config::text like '%TOPSECRET%'")"
tgt "$OP" "{\"name\":\"local\",\"kind\":\"dir\",\"config\":{\"path\":\"$T\"},\"on_node_ok\":true,\"is_default\":true}"
sw_t_eq "the dir target, default: 201" "201 true true" "$SW_STATUS $(j .is_default) $(j .on_node_ok)"
DIR=$(j .id)
tgt "$OP" "{\"name\":\"local2\",\"kind\":\"dir\",\"config\":{\"path\":\"$T\"},\"is_default\":true}"
sw_t_eq "a second default at once: 409" 409 "$SW_STATUS"
api GET /v1/admin/backup-targets "$OP"
sw_t_eq "GET lists both, no secret anywhere" "2 0" "$(j '.items | length') $(grep -c TOPSECRET <<<"$SW_BODY")"
api PATCH "/v1/admin/backup-targets/$S3" "$OP" '{"is_default":true}'
sw_t_eq "PATCH moves the default" "200 true" "$SW_STATUS $(j .is_default)"
sw_t_eq "one default left" "$S3" "$(sql "select id from backup_targets where is_default")"
api PATCH "/v1/admin/backup-targets/$DIR" "$OP" '{"is_default":true}'
api PATCH "/v1/admin/backup-targets/$S3" "$OP" '{"state":"retired"}'
sw_t_eq "PATCH retires" "200 retired" "$SW_STATUS $(j .state)"
api PATCH "/v1/admin/backup-targets/$(cat /proc/sys/kernel/random/uuid)" "$OP" '{"state":"retired"}'
sw_t_eq "an unknown target: 404" 404 "$SW_STATUS"

# ---- a server on the test driver ----
api POST /v1/orders "$C1" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"b1.example.com\"}"
SRV=$(j .server.id)
sql "UPDATE jobs SET state = 'succeeded', finished_at = now() WHERE server_id = '$SRV';
     UPDATE servers SET state = 'running', node_id = '$N1' WHERE id = '$SRV'" >/dev/null
bk() { api POST "/v1/servers/$SRV/backups" "$1" "${2:-}"; }
bk "$C1"
sw_t_eq "the test driver: 422 naming the missing backup API" \
    "422 backups are unsupported on this server's node: libvirt's test driver has no backup API (virDomainBackupBegin) and no volume download" \
    "$SW_STATUS $(j .error.message)"
sw_t_eq "nothing recorded, nothing queued" "0 0" "$(sql "select (select count(*) from backups) || ' ' || (select count(*) from jobs where type = 'backup')")"

# ---- a real hypervisor URI (no engine here: the job is read off the node's stream) ----
sql "UPDATE nodes SET engine_uri = 'qemu:///system' WHERE id = '$N1'" >/dev/null
export SLIPWAY_BACKUP_SCHEDULER_INTERVAL=1
sw_t_daemon prov slipway-provisioner
bk "$C1" '{"kind":"sometimes"}'
sw_t_eq "a kind that is neither auto nor full: 400" 400 "$SW_STATUS"
bk "$C1" "{\"target_id\":\"$S3\"}"
sw_t_eq "a retired target: 422" 422 "$SW_STATUS"
bk "$C2"
sw_t_eq "another customer's server: 404" 404 "$SW_STATUS"
bk "$C1"
sw_t_eq "an empty body: 202, a full backup on the default target, pending, with its backup job" \
    "202 full $DIR pending backup" "$SW_STATUS $(j '[.backup.kind, .backup.target_id, .backup.state, .job.type] | join(" ")')"
B1=$(j .backup.id) J1=$(j .job.id)
xlen_is() { [ "$(sw_t_redis XLEN "node:$N1")" = "$1" ]; }
sw_t_check "the backup job reaches the node" sw_t_wait "node job" 20 xlen_is 1
M=$(sw_t_redis --raw XRANGE "node:$N1" - + | sed -n 3p)
sw_t_eq "it carries the backup, the account and the dir target" "backup $B1 $(sql "select owner_id from servers where id = '$SRV'") dir $T" \
    "$(jq -r '[.type, .backup.id, .backup.account, .backup.target.kind, .backup.target.path] | join(" ")' <<<"$M")"
sw_t_eq "the account key is sealed (124 base64 chars: 44 + 48 of the box), no key in clear" "124 null null" \
    "$(jq -r '[(.backup.key_sealed | length | tostring), (.backup.key | tostring), (.backup.secret | tostring)] | join(" ")' <<<"$M")"
KEY=$(sql "select key_wrapped from account_backup_keys")
sw_t_eq "the account's key was made once, wrapped (not 32 bytes in clear)" "1 72" \
    "$(sql "select count(*) from account_backup_keys") $(printf %s "$KEY" | base64 -d | wc -c)"
api GET "/v1/backups/$B1" "$C1"
sw_t_eq "the backup follows its job: running" "200 running" "$SW_STATUS $(j .state)"
# The engine's result, as a node would send it (results:<node>, the nonce echoed).
NONCE=$(jq -r .nonce <<<"$M")
result() { # job ok extra
    sw_t_redis XADD "results:$N1" '*' m "{\"job_id\":\"$1\",\"server_id\":\"$SRV\",\"node_id\":\"$N1\",\"type\":\"backup\",\"ok\":$2,\"domain_state\":\"running\",\"nonce\":\"$NONCE\"$3}" >/dev/null
}
result "$J1" true ',"backup":{"incremental":false,"bytes_logical":1073741824,"bytes_read":503316480,"bytes_stored":2101004,"checkpoint":"sw-x-ckp-1"}'
done1() { api GET "/v1/backups/$B1" "$C1"; [ "$(j .state)" = completed ]; }
sw_t_check "the result completes the backup" sw_t_wait "backup 1" 20 done1
sw_t_eq "with its bytes and time" "1073741824 2101004 true" "$(j '[(.bytes_logical | tostring), (.bytes_stored | tostring), (.completed_at != null | tostring)] | join(" ")')"
sw_t_eq "its checkpoint and manifest recorded" "sw-x-ckp-1 1" \
    "$(sql "select checkpoint || ' ' || (manifest = account_id || '/manifests/' || id)::int from backups where id = '$B1'")"
bk "$C1"
sw_t_eq "the next one is incremental to it" "202 incremental $B1" "$SW_STATUS $(j '.backup.kind + " " + .backup.parent_id')"
B2=$(j .backup.id) J2=$(j .job.id)
sw_t_check "its job reaches the node" sw_t_wait "node job 2" 20 xlen_is 2
M=$(sw_t_redis --raw XRANGE "node:$N1" - + | sed -n 6p)
sw_t_eq "carrying the parent and its checkpoint" "$B1 sw-x-ckp-1" "$(jq -r '.backup.parent_id + " " + .backup.parent_checkpoint' <<<"$M")"
NONCE=$(jq -r .nonce <<<"$M")
result "$J2" false ',"retryable":false,"error_code":"unavailable","error":"could not write to the backup target"'
failed2() { api GET "/v1/backups/$B2" "$C1"; [ "$(j .state)" = failed ]; }
sw_t_check "a failed job fails its backup" sw_t_wait "backup 2" 20 failed2
sw_t_eq "with the job's error" "could not write to the backup target" "$(j .error)"
bk "$C1" '{"kind":"full"}'
sw_t_eq "kind full forces a full backup" "202 full null" "$SW_STATUS $(j '.backup.kind + " " + (.backup.parent_id | tostring)')"

# ---- lists and tenancy ----
api GET "/v1/servers/$SRV/backups" "$C1"
sw_t_eq "the server's backups, oldest first" "200 $B1 $B2 3" "$SW_STATUS $(j '.items[0].id + " " + .items[1].id + " " + (.items | length | tostring)')"
for route in "GET /v1/servers/$SRV/backups" "GET /v1/backups/$B1" "POST /v1/servers/$SRV/backups"; do
    api ${route% *} "${route#* }" "$C2"
    sw_t_eq "another customer: $route is 404" 404 "$SW_STATUS"
done
api GET "/v1/backups/$B1" "$OP"
sw_t_eq "an operator sees it" 200 "$SW_STATUS"

# ---- restore ----
rs() { api POST "/v1/backups/$1/restore" "$2" "$3"; }
rs "$B1" "$C2" '{"target":"same"}'
sw_t_eq "another customer's backup: restore is 404" 404 "$SW_STATUS"
rs "$B2" "$C1" '{"target":"same"}'
sw_t_eq "a failed backup is not restored: 422" "422 only a completed backup can be restored" "$SW_STATUS $(j .error.message)"
rs "$B1" "$C1" '{"target":"elsewhere"}'
sw_t_eq "a target neither same nor new: 400" 400 "$SW_STATUS"
rs "$B1" "$C1" '{"target":"same","hostname":"x.example.com"}'
sw_t_eq "hostname with target same: 400" 400 "$SW_STATUS"
rs "$B1" "$C1" '{"target":"same"}'
sw_t_eq "target same: 202 with a restore job" "202 restore" "$SW_STATUS $(j .job.type)"
sw_t_eq "which names the backup" "$B1" "$(sql "select params->>'backup_id' from jobs where id = '$(j .job.id)'")"
RJ=$(j .job.id)
sql "UPDATE jobs SET state = 'succeeded', finished_at = now() WHERE id = '$RJ'" >/dev/null
sw_t_eq "events: backup.completed and backup.failed for the customer, restore.completed" \
    "backup.completed $B1|backup.failed $B2|restore.completed $B1" \
    "$(sql "select string_agg(type || ' ' || coalesce(data->'backup'->>'id', data->>'backup_id'), '|' order by seq) from events where type like 'backup.%' or type = 'restore.completed'")"
sw_t_eq "each about the server's owner" 1 "$(sql "select count(distinct account_id) from events where type like 'backup.%' or type = 'restore.completed'")"
api POST /v1/webhooks "$OP" '{"url":"https://hooks.example.com/x","events":["backup.completed","backup.failed","restore.completed"]}'
sw_t_eq "webhooks may subscribe to them" 201 "$SW_STATUS"
sql "UPDATE servers SET state = 'terminated' WHERE id = '$SRV'" >/dev/null
bk "$C1"
sw_t_eq "a terminated server is not backed up: 409" 409 "$SW_STATUS"

# ---- policies, the scheduler, the stale list ----
api POST /v1/orders "$C1" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"b2.example.com\"}"
S2=$(j .server.id)
sql "UPDATE jobs SET state = 'succeeded', finished_at = now() WHERE server_id = '$S2';
     UPDATE servers SET state = 'running', node_id = '$N1' WHERE id = '$S2'" >/dev/null
pol() { api "$1" "/v1/servers/$S2/backup-policy" "$2" "${3:-}"; }
pol GET "$C1"
sw_t_eq "no policy yet: 404" 404 "$SW_STATUS"
pol PUT "$C1" '{"schedule":"hourly"}'
sw_t_eq "a schedule neither daily nor weekly: 400" 400 "$SW_STATUS"
pol PUT "$C1" '{"window_start":5,"window_end":5}'
sw_t_eq "an empty window: 400" 400 "$SW_STATUS"
pol PUT "$C2" '{"window_start":0,"window_end":24}'
sw_t_eq "another customer's server: PUT policy is 404" 404 "$SW_STATUS"
api PUT "/v1/admin/plans/$PLAN/backup-policy" "$C1" '{"keep_daily":3}'
sw_t_eq "a customer may not set a plan's policy: 403" 403 "$SW_STATUS"
api PUT "/v1/admin/plans/$PLAN/backup-policy" "$OP" '{"keep_daily":3,"window_start":0,"window_end":1}'
sw_t_eq "an operator sets the plan's default policy" "200 3 $PLAN" "$SW_STATUS $(j .keep_daily) $(j .plan_id)"
H=$(date -u +%H | sed 's/^0//')
api PUT "/v1/admin/plans/$PLAN/backup-policy" "$OP" "{\"keep_daily\":3,\"window_start\":$(( (H + 1) % 23 )),\"window_end\":$(( (H + 1) % 23 + 1 ))}"
pol PUT "$C1" "{\"schedule\":\"daily\",\"window_start\":0,\"window_end\":24,\"keep_last\":2}"
sw_t_eq "the server's own policy: 200, daily, the whole day" "200 daily 0 24 2" "$SW_STATUS $(j '[.schedule, (.window_start|tostring), (.window_end|tostring), (.keep_last|tostring)] | join(" ")')"
slotted() { [ "$(sql "select count(*) from backups where server_id = '$S2' and slot is not null")" = "$1" ]; }
sw_t_check "the scheduler queues its backup within seconds" sw_t_wait "scheduled backup" 20 slotted 1
sleep 3
sw_t_eq "one per slot: a later pass adds none" "1 daily:$(date -u +%F) 1" \
    "$(sql "select count(*) || ' ' || min(b.slot) || ' ' || count(j.id) from backups b join jobs j on j.id = b.job_id and j.type = 'backup' where b.server_id = '$S2'")"
api GET "/v1/admin/backups?stale=true" "$OP"
sw_t_eq "the stale list names the server, never backed up" "200 $S2 null" "$SW_STATUS $(j "[.items[] | select(.server_id == \"$S2\")][0] | .server_id + \" \" + (.last_completed_at | tostring)")"
api GET "/v1/admin/backups?stale=true" "$C1"
sw_t_eq "customers may not read it: 403" 403 "$SW_STATUS"
sql "UPDATE backups SET state = 'completed', completed_at = now() WHERE server_id = '$S2'" >/dev/null
api GET "/v1/admin/backups?stale=true" "$OP"
sw_t_eq "a completed backup takes it off the list" "" "$(j ".items[] | select(.server_id == \"$S2\") | .server_id")"
pol DELETE "$C2"
sw_t_eq "another customer's server: DELETE policy is 404" 404 "$SW_STATUS"
pol DELETE "$C1"
sw_t_eq "DELETE answers the policy removed" "200 2" "$SW_STATUS $(j .keep_last)"
pol GET "$C1"
sw_t_eq "it is gone" 404 "$SW_STATUS"
api GET /v1/admin/backups "$OP"
sw_t_eq "operators list every backup (three of b1, the scheduled one of b2)" "200 4" "$SW_STATUS $(j '.items | length')"

# ---- restore as a new server (target new), after its server was terminated ----
rn() { api POST "/v1/backups/$1/restore" "$2" "$3"; }
counts() { sql "select (select count(*) from servers) || ' ' || (select count(*) from orders) || ' ' || (select count(*) from jobs where type = 'create')"; }
BEFORE=$(counts)
rn "$B1" "$C2" '{"target":"new"}'
sw_t_eq "another customer's backup: restore as new is 404" 404 "$SW_STATUS"
rn "$B2" "$C1" '{"target":"new"}'
sw_t_eq "a failed backup: 422" "422 only a completed backup can be restored" "$SW_STATUS $(j .error.message)"
rn "$B1" "$C1" '{"target":"new","hostname":"-bad-.example.com"}'
sw_t_eq "a bad hostname: 400" 400 "$SW_STATUS"
rn "$B1" "$C1" '{"target":"new","plan_id":"not-a-uuid"}'
sw_t_eq "a plan_id that is not a UUID: 400" 400 "$SW_STATUS"
api POST /v1/admin/plans "$OP" '{"name":"ct-s","kind":"container","vcpus":1,"ram_mb":512,"disk_gb":20,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":300,"currency":"EUR"}}'
CT=$(j .id)
rn "$B1" "$C1" "{\"target\":\"new\",\"plan_id\":\"$CT\"}"
sw_t_eq "a plan of another kind: 422" "422 the plan is a container plan; the backup is of a hvm server" "$SW_STATUS $(j .error.message)"
sql "UPDATE backups SET bytes_logical = 12884901888 WHERE id = '$B1'" >/dev/null
rn "$B1" "$C1" '{"target":"new"}'
sw_t_eq "the server's plan (10 GB) smaller than the backup's 12 GiB disk: 422 naming both" \
    "422 the plan's disk of 10 GB is smaller than the backup's disk of 12884901888 bytes (12 GB)" "$SW_STATUS $(j .error.message)"
sw_t_eq "nothing recorded by the refusals" "$BEFORE" "$(counts)"
api POST /v1/admin/plans "$OP" '{"name":"hvm-l","kind":"hvm","vcpus":1,"ram_mb":512,"disk_gb":20,"price_hourly":{"amount":2,"currency":"EUR"},"price_monthly":{"amount":900,"currency":"EUR"}}'
BIG=$(j .id)
rnk() { # the same Idempotency-Key twice
    SW_STATUS=$(curl -s -o "$SW_T_DIR/.resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $C1" -H "Idempotency-Key: restore-new-1" \
        -H 'Content-Type: application/json' --data-binary "{\"target\":\"new\",\"plan_id\":\"$BIG\"}" "$SW_URL/v1/backups/$B1/restore")
    SW_BODY=$(cat "$SW_T_DIR/.resp")
}
rnk
sw_t_eq "a plan that holds it: 202 {order, server, job, restored_from}" \
    "202 $B1 $B1 $BIG $TPL b1.example.com create 900" \
    "$SW_STATUS $(j '[.restored_from, .server.restored_from, .server.plan_id, .server.template_id, .server.hostname, .job.type, (.order.price.amount | tostring)] | join(" ")')"
NS=$(j .server.id) NJ=$(j .job.id) FIRST=$SW_BODY
sw_t_eq "the order is the new server's, owned by the backup's owner" "$NS $(sql "select owner_id from servers where id = '$SRV'")" \
    "$(j .order.server_id) $(sql "select owner_id from servers where id = '$NS'")"
sw_t_eq "its create job names the backup" "$B1" "$(sql "select params->>'backup_id' from jobs where id = '$NJ'")"
rnk
sw_t_eq "the same Idempotency-Key answers the same server" "202 $NS" "$SW_STATUS $(j .server.id)"
sw_t_eq "and records one order" "1 1" "$(sql "select count(*) || ' ' || count(distinct o.id) from servers s join orders o on o.server_id = s.id where s.restored_from = '$B1'")"
api GET "/v1/servers/$NS" "$C1"
sw_t_eq "GET shows restored_from" "$B1" "$(j .restored_from)"
create_sent() { sw_t_redis --raw XRANGE "node:$N1" - + | grep -F "\"job_id\":\"$NJ\"" | grep -q '"type":"create"'; }
sw_t_check "the create is placed and reaches the node" sw_t_wait "create on node" 20 create_sent
M=$(sw_t_redis --raw XRANGE "node:$N1" - + | grep -F "\"job_id\":\"$NJ\"" | tail -1)
sw_t_eq "carrying the backup, its account and target, the key sealed (never in clear)" \
    "$B1 $(sql "select owner_id from servers where id = '$SRV'") dir $NJ 124 null" \
    "$(jq -r '[.backup.id, .backup.account, .backup.target.kind, .backup.restore_id, (.backup.key_sealed | length | tostring), (.backup.key | tostring)] | join(" ")' <<<"$M")"
sw_t_eq "order.created for it" 1 "$(sql "select count(*) from events where type = 'order.created' and data->'order'->>'server_id' = '$NS'")"
sw_t_done
