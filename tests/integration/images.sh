#!/usr/bin/env bash
# images.sh - the image library (panel/README.md "API notes: images and
# ISOs") against real PostgreSQL, Redis, the panel, qemu-img and a local
# HTTP server (Python's http.server):
#   - uploads as multipart/form-data: a qcow2 made by qemu-img and a raw
#     image kept under their sha256 (bytes compared), a wrong sha256, a qcow2
#     whose backing file is /etc/shadow, a truncated qcow2, a format that is
#     not the declared one, an oversize upload, no token and a customer's
#     token: each refused with nothing kept;
#   - ISOs (xorriso) under /v1/admin/isos only, hvm only;
#   - fetch by URL: a private address refused at registration, a name that
#     resolves to loopback refused where the fetcher connects; with the
#     operator's allow flag a fetch through a redirect becomes ready, a wrong
#     sha256, a 404 and a backing-file qcow2 fail with their reason; a fetch
#     left by a panel that died is taken up again, one tried 3 times fails;
#   - templates with images (kind and format checked), an order of a
#     template whose image is pending is 422, an image in use cannot be
#     deleted (409), one unused is deleted with its file;
#   - the node job of a create, and of a reinstall, carries the template's
#     image refs; a reinstall onto a template whose image is pending is 422;
#   - nodes fetch with their own token: the right node gets the bytes,
#     another node 404, no token or an unknown one 401.
. "$(dirname "$0")/../lib/harness.sh"
sw_t_stack
slipwayctl migrate >/dev/null || exit 99
OP=$(slipwayctl bootstrap) || exit 99
export SLIPWAY_PWHASH_OPSLIMIT=1 SLIPWAY_PWHASH_MEMLIMIT_MB=8 SLIPWAY_ORDER_RATE=0
IMAGES=$SW_T_DIR/images
export SLIPWAY_IMAGES_DIR=$IMAGES SLIPWAY_IMAGE_MAX_BYTES=$((4 * 1024 * 1024))
sw_t_panel

j() { jq -r "$1" <<<"$SW_BODY"; }
api() { sw_t_api "$@"; }
sql() { sw_t_psql -c "$1"; }
files() { find "$IMAGES" -type f | wc -l; }
# upload PATH TOKEN FILE NAME KIND FORMAT [SHA256]: a multipart/form-data POST
upload() {
    local path=$1 token=$2 file=$3 args=(-s -o "$SW_T_DIR/.resp" -w '%{http_code}')
    [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
    args+=(-F "name=$4" -F "kind=$5" -F "format=$6" -F "file=@$file")
    [ -n "${7:-}" ] && args+=(-F "sha256=$7")
    SW_STATUS=$(curl "${args[@]}" "$SW_URL$path")
    SW_BODY=$(cat "$SW_T_DIR/.resp")
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---- the files ----
W=$SW_T_DIR/work
mkdir -p "$W/site/redir" "$W/iso"
qemu-img create -q -f qcow2 "$W/base.qcow2" 64M
head -c 300000 /dev/zero > "$W/disk.raw"; echo "raw disk" >> "$W/disk.raw"
qemu-img create -q -f qcow2 -b /etc/shadow -F raw "$W/shadow.qcow2"
head -c 100000 /dev/urandom > "$W/data"
qemu-img convert -f raw -O qcow2 "$W/data" "$W/full.qcow2"
head -c $(( $(stat -c %s "$W/full.qcow2") - 70000 )) "$W/full.qcow2" > "$W/trunc.qcow2"
head -c $((5 * 1024 * 1024)) /dev/zero > "$W/big.raw"
echo "hello" > "$W/iso/hello.txt"
xorriso -as mkisofs -quiet -V TESTISO -o "$W/test.iso" "$W/iso" 2>/dev/null || exit 99
echo "not a tarball" > "$W/bogus.tar"
tar -cf "$W/root.tar" -C "$W/iso" hello.txt

# ---- uploads ----
upload /v1/admin/images "$OP" "$W/base.qcow2" "Debian 12 base" hvm qcow2 "$(sha "$W/base.qcow2")"
sw_t_eq "a qcow2 made by qemu-img uploads: 201" 201 "$SW_STATUS"
IMG_Q=$(j .id)
sw_t_eq "it is ready, qcow2, with its sha256 and size" \
    "ready qcow2 $(sha "$W/base.qcow2") $(stat -c %s "$W/base.qcow2")" \
    "$(j '.state + " " + .format + " " + .sha256 + " " + (.size_bytes | tostring)')"
sw_t_check "its file is kept under its sha256, byte for byte" cmp "$W/base.qcow2" "$IMAGES/$(sha "$W/base.qcow2")"
upload /v1/admin/images "$OP" "$W/disk.raw" "blank raw" pv raw
sw_t_eq "a raw image uploads without a sha256 given" "201 ready" "$SW_STATUS $(j .state)"
IMG_R=$(j .id)
upload /v1/admin/images "$OP" "$W/base.qcow2" "again" hvm qcow2
sw_t_eq "the same content twice: 409" 409 "$SW_STATUS"
N=$(files)
upload /v1/admin/images "$OP" "$W/full.qcow2" "wrong sum" hvm qcow2 "$(sha "$W/base.qcow2")"
sw_t_eq "a wrong sha256: 422 naming both" "422 true" "$SW_STATUS $(j '.error.message | contains("not the given")')"
upload /v1/admin/images "$OP" "$W/shadow.qcow2" "shadow" hvm qcow2
sw_t_eq "a qcow2 backed by /etc/shadow: 422 naming the backing file" "422 true" \
    "$SW_STATUS $(j '.error.message | contains("backing file (\"/etc/shadow\")")')"
upload /v1/admin/images "$OP" "$W/trunc.qcow2" "truncated" hvm qcow2
sw_t_eq "a truncated qcow2: 422" "422 true" "$SW_STATUS $(j '.error.message | contains("truncated")')"
upload /v1/admin/images "$OP" "$W/disk.raw" "not qcow2" hvm qcow2
sw_t_eq "a raw file declared qcow2: 422" 422 "$SW_STATUS"
upload /v1/admin/images "$OP" "$W/full.qcow2" "not raw" hvm raw
sw_t_eq "a qcow2 declared raw: 422 (it probes as qcow2)" "422 true" "$SW_STATUS $(j '.error.message | contains("qcow2")')"
upload /v1/admin/images "$OP" "$W/big.raw" "big" hvm raw
sw_t_eq "an upload whose Content-Length is over SLIPWAY_IMAGE_MAX_BYTES: 413 at once" 413 "$SW_STATUS"
head -c $((4 * 1024 * 1024 + 1)) /dev/zero > "$W/over.raw"
upload /v1/admin/images "$OP" "$W/over.raw" "one byte over" hvm raw
sw_t_eq "a file one byte over the limit: 413 while it streams" "413 payload_too_large" "$SW_STATUS $(j .error.code)"
SW_STATUS=$(curl -s -o "$SW_T_DIR/.resp" -w '%{http_code}' -H "Authorization: Bearer $OP" -H 'Transfer-Encoding: chunked' \
    -F name=chunked -F kind=hvm -F format=raw -F "file=@$W/big.raw" "$SW_URL/v1/admin/images")
sw_t_eq "a chunked upload (no Content-Length) over the limit: 413" 413 "$SW_STATUS"
head -c $((80 * 1024 * 1024)) /dev/zero > "$W/huge.raw"
curl -s -o /dev/null -H "Authorization: Bearer $OP" -H 'Transfer-Encoding: chunked' \
    -F name=huge -F kind=hvm -F format=raw -F "file=@$W/huge.raw" "$SW_URL/v1/admin/images"
CURL_RC=$?
sw_t_check "one that goes on 64 MiB past the limit is cut off: no answer, curl fails ($CURL_RC)" \
    test "$CURL_RC" -ne 0
rm -f "$W/huge.raw"
api GET /healthz ""
sw_t_eq "and the panel serves on" 200 "$SW_STATUS"
upload /v1/admin/images "$OP" "$W/full.qcow2" "a kernel" hvm kernel
sw_t_eq "a kernel for hvm: 422" 422 "$SW_STATUS"
upload /v1/admin/images "$OP" "$W/bogus.tar" "bogus rootfs" container tar
sw_t_eq "a tarball that is none: 422" 422 "$SW_STATUS"
upload /v1/admin/images "" "$W/full.qcow2" "anonymous" hvm qcow2
sw_t_eq "no token: 401" 401 "$SW_STATUS"
sw_t_eq "nothing refused was kept (no file, no temporary)" "$N" "$(files)"
sw_t_eq "nor any row" 2 "$(sql "select count(*) from images")"
upload_key() { # KEY FILE NAME: an upload of a container rootfs with an Idempotency-Key
    SW_STATUS=$(curl -s -o "$SW_T_DIR/.resp" -D "$SW_T_DIR/.hdr" -w '%{http_code}' -H "Authorization: Bearer $OP" \
        -H "Idempotency-Key: $1" -F "name=$3" -F kind=container -F format=tar -F "file=@$2" "$SW_URL/v1/admin/images")
    SW_BODY=$(cat "$SW_T_DIR/.resp")
}
upload_key tar-1 "$W/root.tar" rootfs
sw_t_eq "a container rootfs tarball uploads" "201 tar" "$SW_STATUS $(j .format)"
IMG_T=$(j .id)
upload_key tar-1 "$W/root.tar" rootfs
sw_t_eq "the same upload with the same Idempotency-Key replays the answer" "201 $IMG_T true" \
    "$SW_STATUS $(j .id) $(grep -qi '^Idempotent-Replayed: true' "$SW_T_DIR/.hdr" && echo true)"
upload_key tar-1 "$W/root.tar" "another name"
sw_t_eq "the same key with another form: 422" 422 "$SW_STATUS"
sw_t_eq "and no file more was kept" "$((N + 1))" "$(files)"

# ---- ISOs ----
upload /v1/admin/isos "$OP" "$W/test.iso" "test iso" hvm iso
sw_t_eq "an ISO uploads under /v1/admin/isos" "201 iso" "$SW_STATUS $(j .format)"
ISO=$(j .id)
upload /v1/admin/isos "$OP" "$W/test.iso" "pv iso" pv iso
sw_t_eq "an ISO for pv: 422" 422 "$SW_STATUS"
upload /v1/admin/isos "$OP" "$W/disk.raw" "fake iso" hvm iso
sw_t_eq "a file without an ISO 9660 descriptor: 422" 422 "$SW_STATUS"
upload /v1/admin/images "$OP" "$W/test.iso" "iso here" hvm iso
sw_t_eq "an ISO under /v1/admin/images: 422" 422 "$SW_STATUS"
api GET /v1/admin/isos "$OP"
sw_t_eq "the ISO list holds the ISO only" "$ISO" "$(j '[.items[].id] | join(" ")')"
api GET /v1/admin/images "$OP"
sw_t_eq "the image list holds the images, not the ISO" 3 "$(j '.items | length')"
api GET "/v1/admin/images/$ISO" "$OP"
sw_t_eq "an ISO is not found as an image" 404 "$SW_STATUS"
api GET "/v1/admin/isos/$ISO" "$OP"
sw_t_eq "it is found as an ISO, with state, size and sha256" "ready $(stat -c %s "$W/test.iso") $(sha "$W/test.iso")" \
    "$(j '.state + " " + (.size_bytes | tostring) + " " + .sha256')"

# ---- accounts ----
api POST /v1/admin/accounts "$OP" '{"kind":"customer","email":"c@example.com","name":"c","password":"c-secret-pw"}'
CUST=$(j .id)
api POST /v1/auth/login "" '{"email":"c@example.com","password":"c-secret-pw"}'
CTOK=$(j .token)
upload /v1/admin/images "$CTOK" "$W/full.qcow2" "customer" hvm qcow2
sw_t_eq "a customer's upload: 403, nothing kept" "403 $N" "$SW_STATUS $(( $(files) - 2 ))"
api GET /v1/admin/images "$CTOK"
sw_t_eq "a customer cannot list images" 403 "$SW_STATUS"

# ---- fetch by URL ----
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cp "$W/full.qcow2" "$W/site/full.qcow2"
cp "$W/full.qcow2" "$W/site/redir/index.html" # /redir answers 301 to /redir/
cp "$W/shadow.qcow2" "$W/site/shadow.qcow2"
sw_t_daemon web python3 -m http.server --bind 127.0.0.1 --directory "$W/site" "$PORT"
sw_t_wait "http.server" 10 curl -sf -o /dev/null "http://127.0.0.1:$PORT/full.qcow2" || exit 99
api POST /v1/admin/images "$OP" "{\"name\":\"f\",\"kind\":\"hvm\",\"format\":\"qcow2\",\"url\":\"http://127.0.0.1:$PORT/full.qcow2\"}"
sw_t_eq "a URL naming a loopback address: 422 (not allowed by default)" 422 "$SW_STATUS"
api POST /v1/admin/images "$OP" "{\"name\":\"f\",\"kind\":\"hvm\",\"format\":\"qcow2\",\"url\":\"http://10.1.2.3/x.qcow2\"}"
sw_t_eq "a URL naming a private address: 422" 422 "$SW_STATUS"
HOST=$(hostname)
if getent ahostsv4 "$HOST" | grep -qE '^(127|10|192\.168)\.'; then
    api POST /v1/admin/images "$OP" "{\"name\":\"by name\",\"kind\":\"hvm\",\"format\":\"qcow2\",\"url\":\"http://$HOST:$PORT/full.qcow2\"}"
    sw_t_eq "a name that resolves to loopback is registered, pending" "202 pending" "$SW_STATUS $(j .state)"
    BYNAME=$(j .id)
    state_is() { [ "$(sql "select state from images where id = '$1'")" = "$2" ]; }
    sw_t_check "and fails where the fetcher connects" sw_t_wait "fetch by name" 20 state_is "$BYNAME" failed
    sw_t_eq "its error names the refused address" t \
        "$(sql "select error like 'refused to connect to 127.%' from images where id = '$BYNAME'")"
    api DELETE "/v1/admin/images/$BYNAME" "$OP"
else
    echo "# skipped: $HOST does not resolve to a private address here"
fi

# The operator allows private addresses; a panel that dies mid-fetch is
# simulated by rows it left (a lease run out).
kill "$SW_T_PID_panel"; wait "$SW_T_PID_panel" 2>/dev/null
ORPHAN=$(cat /proc/sys/kernel/random/uuid) TIRED=$(cat /proc/sys/kernel/random/uuid)
cp "$W/base.qcow2" "$W/site/resume.qcow2"; qemu-img resize -q "$W/site/resume.qcow2" 128M
sql "INSERT INTO images (id, name, kind, format, state, source_url, lease_until, fetch_attempts)
     VALUES ('$ORPHAN', 'left behind', 'hvm', 'qcow2', 'pending', 'http://127.0.0.1:$PORT/resume.qcow2', now() - interval '1 s', 1),
            ('$TIRED', 'tried thrice', 'hvm', 'qcow2', 'pending', 'http://127.0.0.1:$PORT/resume.qcow2', now() - interval '1 s', 3)"
SLIPWAY_IMAGES_ALLOW_PRIVATE=1 sw_t_panel
state_is() { [ "$(sql "select state from images where id = '$1'")" = "$2" ]; }
sw_t_check "a fetch a dead panel left is taken up again: ready" sw_t_wait "resume" 20 state_is "$ORPHAN" ready
sw_t_eq "one interrupted 3 times is failed, with why" "failed 1" \
    "$(sql "select state || ' ' || (error like '%interrupted 3 times%')::int from images where id = '$TIRED'")"
api POST /v1/admin/images "$OP" "{\"name\":\"fetched\",\"kind\":\"hvm\",\"format\":\"qcow2\",\"url\":\"http://127.0.0.1:$PORT/redir\",\"sha256\":\"$(sha "$W/full.qcow2")\"}"
sw_t_eq "with the allow flag a fetch is registered: 202 pending" "202 pending" "$SW_STATUS $(j .state)"
FETCHED=$(j .id)
sw_t_check "it is fetched through a redirect: ready" sw_t_wait "fetch" 20 state_is "$FETCHED" ready
sw_t_check "its file is the served bytes" cmp "$W/full.qcow2" "$IMAGES/$(sha "$W/full.qcow2")"
fetch_fails() { # name url sha256|"" -> waits; prints the error
    local extra=""
    [ -n "$3" ] && extra=",\"sha256\":\"$3\""
    api POST /v1/admin/images "$OP" "{\"name\":\"$1\",\"kind\":\"hvm\",\"format\":\"qcow2\",\"url\":\"$2\"$extra}"
    local id; id=$(j .id)
    sw_t_wait "fetch $1" 20 state_is "$id" failed >/dev/null
    sql "select state || ': ' || coalesce(error, '') from images where id = '$id'"
}
cp "$W/base.qcow2" "$W/site/other.qcow2"; qemu-img resize -q "$W/site/other.qcow2" 96M
E=$(fetch_fails "wrong sum" "http://127.0.0.1:$PORT/other.qcow2" "$(head -c 32 /dev/urandom | sha256sum | cut -d' ' -f1)")
sw_t_check "a fetch whose sha256 differs fails saying so ($E)" grep -q "^failed: the file's sha256 is" <<<"$E"
E=$(fetch_fails "missing" "http://127.0.0.1:$PORT/nothing.qcow2" "")
sw_t_check "a fetch of a missing file fails with the HTTP error ($E)" grep -q "^failed: the fetch failed: .*404" <<<"$E"
E=$(fetch_fails "shadow" "http://127.0.0.1:$PORT/shadow.qcow2" "")
sw_t_check "a fetched qcow2 backed by /etc/shadow fails ($E)" grep -q "^failed: .*backing file" <<<"$E"
sw_t_eq "no temporary file is left behind" 0 "$(find "$IMAGES" -name '.part-*' | wc -l)"

# ---- templates ----
api POST /v1/admin/templates "$OP" "{\"name\":\"Debian\",\"kind\":\"hvm\",\"os\":\"debian-12\",\"image_id\":\"$IMG_Q\"}"
sw_t_eq "an hvm template with a qcow2 image: 201, shown" "201 $IMG_Q" "$SW_STATUS $(j .image_id)"
TPL=$(j .id)
api POST /v1/admin/templates "$OP" "{\"name\":\"Alpine\",\"kind\":\"container\",\"os\":\"alpine-3\",\"image_id\":\"$IMG_Q\"}"
sw_t_eq "a container template with a qcow2 image: 422" 422 "$SW_STATUS"
api POST /v1/admin/templates "$OP" "{\"name\":\"Alpine\",\"kind\":\"container\",\"os\":\"alpine-3\",\"image_id\":\"$IMG_T\"}"
sw_t_eq "a container template with a rootfs tarball: 201" 201 "$SW_STATUS"
api POST /v1/admin/templates "$OP" "{\"name\":\"Own kernel\",\"kind\":\"pv\",\"os\":\"debian-12\",\"image_id\":\"$IMG_R\",\"kernel_image_id\":\"$IMG_R\",\"initrd_image_id\":\"$IMG_R\"}"
sw_t_eq "a pv template whose kernel is a raw disk: 422" 422 "$SW_STATUS"
api POST /v1/admin/templates "$OP" "{\"name\":\"ISO\",\"kind\":\"hvm\",\"os\":\"debian-12\",\"image_id\":\"$ISO\"}"
sw_t_eq "an ISO as a template's disk: 422" 422 "$SW_STATUS"
PEND=$(cat /proc/sys/kernel/random/uuid)
sql "INSERT INTO images (id, name, kind, format, state, source_url, lease_until)
     VALUES ('$PEND', 'still coming', 'hvm', 'raw', 'pending', 'http://127.0.0.1:1/x', now() + interval '1 hour')"
api POST /v1/admin/templates "$OP" "{\"name\":\"Pending\",\"kind\":\"hvm\",\"os\":\"debian-12\"}"
TPL_P=$(j .id)
api PATCH "/v1/admin/templates/$TPL_P" "$OP" "{\"image_id\":\"$PEND\"}"
sw_t_eq "PATCH gives a template an image" "200 $PEND" "$SW_STATUS $(j .image_id)"
api GET /v1/admin/templates "$OP"
sw_t_eq "GET shows the templates' images" "$IMG_Q" "$(jq -r ".items[] | select(.id == \"$TPL\") | .image_id" <<<"$SW_BODY")"

api POST /v1/admin/locations "$OP" '{"code":"fra1","name":"Frankfurt"}'
LOC=$(j .id)
enrol() { # name -> sets NODE and NTOK
    api POST /v1/admin/nodes "$OP" "{\"name\":\"$1\",\"location_id\":\"$LOC\",\"engine_uri\":\"test:///default\",\"kinds\":[\"hvm\"],\"cpus\":8,\"ram_mb\":16384,\"disk_gb\":500}"
    [ "$SW_STATUS" = 201 ] || { echo "enrol $1: $SW_BODY"; exit 99; }
    NODE=$(j .id) NTOK=$(j .engine_config.SLIPWAY_NODE_TOKEN)
}
enrol n1; N1=$NODE N1TOK=$NTOK
sw_t_eq "enrolment gives the node its panel URL and image token" "$SW_URL true" \
    "$(j '.engine_config.SLIPWAY_PANEL_URL + " " + (.engine_config.SLIPWAY_NODE_TOKEN | test("^swt_") | tostring)')"
sw_t_eq "only its keyed hash is stored" "true false" \
    "$(sql "select (image_token_hash ~ '^[0-9a-f]{64}\$')::text || ' ' || (image_token_hash = encode(sha256('$N1TOK'), 'hex'))::text from nodes where id = '$N1'")"
enrol n2; N2=$NODE N2TOK=$NTOK
sql "UPDATE nodes SET state = 'offline' WHERE id = '$N2'"
api POST /v1/admin/plans "$OP" '{"name":"hvm-s","kind":"hvm","vcpus":1,"ram_mb":512,"disk_gb":10,"price_hourly":{"amount":1,"currency":"EUR"},"price_monthly":{"amount":500,"currency":"EUR"}}'
PLAN=$(j .id)
api POST /v1/orders "$CTOK" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL_P\",\"hostname\":\"p.example.com\"}"
sw_t_eq "ordering a template whose image is pending: 422 saying so" "422 true" \
    "$SW_STATUS $(j '.error.message | contains("is pending")')"
api DELETE "/v1/admin/images/$IMG_Q" "$OP"
sw_t_eq "deleting an image a template uses: 409 naming it" "409 true" "$SW_STATUS $(j '.error.message | contains("Debian (hvm)")')"

# ---- the node job and node downloads ----
SUM=$(sha "$W/base.qcow2")
node_get() { # token sha256 -> SW_STATUS, body in $SW_T_DIR/.dl
    local args=(-s -o "$SW_T_DIR/.dl" -w '%{http_code}')
    [ -n "$1" ] && args+=(-H "Authorization: Bearer $1")
    SW_STATUS=$(curl "${args[@]}" "$SW_URL/v1/node/images/$2")
}
node_get "$N1TOK" "$SUM"
sw_t_eq "before any server uses it, even n1 gets 404" 404 "$SW_STATUS"
api POST /v1/orders "$CTOK" "{\"plan_id\":\"$PLAN\",\"template_id\":\"$TPL\",\"hostname\":\"q.example.com\"}"
sw_t_eq "ordering the template with a ready image: 202" 202 "$SW_STATUS"
SRV=$(j .server.id)
sw_t_daemon prov slipway-provisioner
xlen_is() { [ "$(sw_t_redis XLEN "node:$1")" = "$2" ]; }
sw_t_check "the create is dispatched to n1" sw_t_wait "node:n1" 20 xlen_is "$N1" 1
M=$(sw_t_redis --raw XRANGE "node:$N1" - + | sed -n 3p)
sw_t_eq "the node job carries the template's image sha256, format and size" \
    "$SUM qcow2 $(stat -c %s "$W/base.qcow2") null" \
    "$(jq -r '[.image_sha256, .image_format, (.image_bytes | tostring), (.kernel_sha256 | tostring)] | join(" ")' <<<"$M")"
node_get "$N1TOK" "$SUM"
sw_t_eq "n1, whose job uses the image, downloads it: 200" 200 "$SW_STATUS"
sw_t_check "the bytes are the image's" cmp "$W/base.qcow2" "$SW_T_DIR/.dl"
node_get "$N2TOK" "$SUM"
sw_t_eq "n2's token for the same image: 404" 404 "$SW_STATUS"
node_get "$N1TOK" "$(sha "$W/disk.raw")"
sw_t_eq "n1 for an image none of its servers uses: 404" 404 "$SW_STATUS"
node_get "$N1TOK" "../../etc/passwd"
sw_t_eq "n1 for a path that is no sha256: 404" 404 "$SW_STATUS"
node_get "" "$SUM"
sw_t_eq "no token: 401" 401 "$SW_STATUS"
node_get "$OP" "$SUM"
sw_t_eq "an operator's API token is no node token: 401" 401 "$SW_STATUS"
api POST "/v1/admin/nodes/$N1/rekey" "$OP"
N1NEW=$(j .engine_config.SLIPWAY_NODE_TOKEN)
node_get "$N1TOK" "$SUM"
sw_t_eq "after a rekey the old token: 401" 401 "$SW_STATUS"
node_get "$N1NEW" "$SUM"
sw_t_eq "the new one: 200" 200 "$SW_STATUS"
api POST /v1/admin/templates "$OP" "{\"name\":\"Fetched\",\"kind\":\"hvm\",\"os\":\"debian-12\",\"image_id\":\"$FETCHED\"}"
TPL_F=$(j .id)
sql "UPDATE jobs SET state = 'succeeded', finished_at = now() WHERE server_id = '$SRV';
     UPDATE servers SET state = 'running' WHERE id = '$SRV'"
api POST "/v1/servers/$SRV/actions" "$CTOK" "{\"type\":\"reinstall\",\"template_id\":\"$TPL_P\"}"
sw_t_eq "a reinstall onto a template whose image is pending: 422" "422 true" \
    "$SW_STATUS $(j '.error.message | contains("is pending")')"
api POST "/v1/servers/$SRV/actions" "$CTOK" "{\"type\":\"reinstall\",\"template_id\":\"$TPL_F\"}"
sw_t_eq "a reinstall onto a template whose image is ready: 202" 202 "$SW_STATUS"
sw_t_check "the reinstall is dispatched to n1" sw_t_wait "node:n1 reinstall" 20 xlen_is "$N1" 2
M=$(sw_t_redis --raw XRANGE "node:$N1" - + | sed -n 6p)
sw_t_eq "its node job carries the new template's image" "reinstall $(sha "$W/full.qcow2") qcow2" \
    "$(jq -r '.type + " " + .image_sha256 + " " + .image_format' <<<"$M")"
node_get "$N1NEW" "$(sha "$W/full.qcow2")"
sw_t_eq "n1 may fetch the reinstall's new image while the job runs" 200 "$SW_STATUS"
sql "UPDATE servers SET state = 'terminated', node_id = NULL WHERE id = '$SRV';
     UPDATE jobs SET state = 'succeeded' WHERE server_id = '$SRV'"
node_get "$N1NEW" "$SUM"
sw_t_eq "once its server is gone and its job done: 404" 404 "$SW_STATUS"

# ---- deletes ----
RAWSUM=$(sha "$W/disk.raw")
api DELETE "/v1/admin/images/$IMG_R" "$OP"
sw_t_eq "an unused image is deleted: 204" 204 "$SW_STATUS"
sw_t_check "with its file" test ! -e "$IMAGES/$RAWSUM"
api GET "/v1/admin/images/$IMG_R" "$OP"
sw_t_eq "and is gone" 404 "$SW_STATUS"
api DELETE "/v1/admin/isos/$ISO" "$OP"
sw_t_eq "an ISO is deleted under /v1/admin/isos" 204 "$SW_STATUS"
sw_t_done
