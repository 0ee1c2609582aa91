#!/usr/bin/env bash
# bench/images.sh [MiB] - the image library's data path, beside references
# measured in the same run on the same file (default 1024 MiB of random
# bytes, in the test's temporary directory):
#   - an upload (multipart/form-data through the panel: streamed to disk,
#     hashed with libsodium's SHA-256, flushed, inspected, renamed) beside
#     `curl -T` of the same file to a plain receiver (a Python PUT handler
#     writing to disk) and `sha256sum` of it. The request's thread hashes
#     and writes each byte in turn, so the reference is the two one after
#     the other (goal: upload >= 0.5 x that serial reference);
#   - a node's download (MHD from the file's fd) beside curl reading the
#     same file as file:// into the same place (goal: >= 0.5 x).
# Runs PostgreSQL, Redis, the panel and the provisioner only.
. "$(dirname "$0")/../tests/lib/harness.sh"
MIB=${1:-1024}
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_ORDER_RATE=0
export SLIPWAY_IMAGES_DIR=$SW_T_DIR/images SLIPWAY_IMAGE_MAX_BYTES=$(((MIB + 1) * 1024 * 1024))
sw_t_panel
j() { jq -r "$1" <<<"$SW_BODY"; }
F=$SW_T_DIR/disk.raw
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$F"
mibs() { awk -v m="$MIB" -v s="$1" 'BEGIN { printf "%.0f", m / s }'; }
now() { date +%s.%N; }
el() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

t0=$(now); sha256sum "$F" >/dev/null; t_sha=$(el "$t0" "$(now)")
# the plain receiver: PUT to disk, nothing else
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$SW_T_DIR/put.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        n = int(self.headers["Content-Length"])
        with open(sys.argv[2], "wb") as f:
            while n:
                b = self.rfile.read(min(n, 1 << 20)); f.write(b); n -= len(b)
        self.send_response(201); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
sw_t_daemon put python3 "$SW_T_DIR/put.py" "$PORT" "$SW_T_DIR/put.out"
sw_t_wait "receiver" 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT))" || exit 99
t0=$(now); curl -s -o /dev/null -T "$F" "http://127.0.0.1:$PORT/x"; t_put=$(el "$t0" "$(now)")

t0=$(now)
SW_STATUS=$(curl -s -o "$SW_T_DIR/.resp" -w '%{http_code}' -H "Authorization: Bearer $OP" \
    -F name=bench -F kind=hvm -F format=raw -F "file=@$F" "$SW_URL/v1/admin/images")
t_up=$(el "$t0" "$(now)")
SW_BODY=$(cat "$SW_T_DIR/.resp")
sw_t_eq "the upload is ready" "201 ready" "$SW_STATUS $(j .state)"
IMG=$(j .id) SUM=$(j .sha256)
sw_t_eq "under its sha256" "$(sha256sum "$F" | cut -d' ' -f1)" "$SUM"

# a node that may fetch it: a template with it, a server of it on the node
api() { sw_t_api "$@"; }
api POST /v1/admin/locations "$OP" '{"code":"b1","name":"Bench"}'
LOC=$(j .id)
api POST /v1/admin/nodes "$OP" "{\"name\":\"n1\",\"location_id\":\"$LOC\",\"engine_uri\":\"test:///default\",\"kinds\":[\"hvm\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500}"
NODE=$(j .id) NTOK=$(j .engine_config.SLIPWAY_NODE_TOKEN)
api POST /v1/admin/templates "$OP" "{\"name\":\"bench\",\"kind\":\"hvm\",\"os\":\"debian-12\",\"image_id\":\"$IMG\"}"
TPL=$(j .id)
api POST /v1/admin/plans "$OP" '{"name":"b","kind":"hvm","vcpus":1,"ram_mb":512,"disk_gb":10,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":1,"currency":"EUR"}}'
PLAN=$(j .id)
OWNER=$(sw_t_psql -c "select id from accounts limit 1")
sw_t_psql -c "INSERT INTO servers (id, owner_id, plan_id, template_id, node_id, hostname, state)
    VALUES (gen_random_uuid(), '$OWNER', '$PLAN', '$TPL', '$NODE', 'b.example.com', 'running')" >/dev/null
t0=$(now); curl -s -o "$SW_T_DIR/dl" "file://$SLIPWAY_IMAGES_DIR/$SUM"; t_cat=$(el "$t0" "$(now)")
t0=$(now)
SW_STATUS=$(curl -s -o "$SW_T_DIR/dl" -w '%{http_code}' -H "Authorization: Bearer $NTOK" "$SW_URL/v1/node/images/$SUM")
t_dl=$(el "$t0" "$(now)")
sw_t_eq "the node downloads it" 200 "$SW_STATUS"
sw_t_check "byte for byte" cmp -s "$F" "$SW_T_DIR/dl"

t_ser=$(awk -v a="$t_sha" -v b="$t_put" 'BEGIN { printf "%.3f", a + b }')
ratio() { awk -v r="$1" -v x="$2" 'BEGIN { printf "%.2f", r / x }'; }
echo "# ${MIB} MiB: upload ${t_up} s ($(mibs "$t_up") MiB/s) beside a plain PUT to disk ${t_put} s" \
    "($(mibs "$t_put") MiB/s), sha256sum ${t_sha} s ($(mibs "$t_sha") MiB/s), both in turn ${t_ser} s:" \
    "$(ratio "$t_ser" "$t_up") x the serial reference, $(ratio "$t_put" "$t_up") x the plain PUT;" \
    "node download ${t_dl} s ($(mibs "$t_dl") MiB/s) beside curl file:// ${t_cat} s" \
    "($(mibs "$t_cat") MiB/s): $(ratio "$t_cat" "$t_dl") x"
sw_t_check "upload >= 0.5 x the serial reference" awk -v u="$t_up" -v p="$t_ser" 'BEGIN { exit !(u <= 2 * p) }'
sw_t_check "node download >= 0.5 x curl file://" awk -v u="$t_dl" -v p="$t_cat" 'BEGIN { exit !(u <= 2 * p) }'
sw_t_done
