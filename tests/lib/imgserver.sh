# tests/lib/imgserver.sh - a stand-in for the panel's node image route
# (GET /v1/node/images/{sha256}, panel/README.md) for tests that drive the
# engine's image code without a panel: serves DIR/by-sha/<sha256> to the
# bearer TOKEN only (401 otherwise, 404 for what it lacks), and appends each
# served sha256 to DIR/hits.
#
#   . tests/lib/imgserver.sh
#   sw_img_serve DIR TOKEN LOGDIR   # 0 with SW_IMG_URL and SW_IMG_PID set, or 99
SW_IMG_URL= SW_IMG_PID=

sw_img_serve() {
    local dir=$1 token=$2 log=$3
    rm -f "$log/port"
    python3 - "$dir" "$token" "$log/port" >"$log/http.log" 2>&1 <<'PY' &
import http.server, os, re, sys
root, token, portfile = sys.argv[1:]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        m = re.fullmatch(r"/v1/node/images/([0-9a-f]{64})", self.path)
        if self.headers.get("Authorization") != "Bearer " + token:
            return self.send_error(401)
        if not m or not os.path.exists(os.path.join(root, "by-sha", m.group(1))):
            return self.send_error(404)
        with open(os.path.join(root, "hits"), "a") as h:
            h.write(m.group(1) + "\n")
        with open(os.path.join(root, "by-sha", m.group(1)), "rb") as f:
            data = f.read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(portfile, "w").write(str(s.server_address[1]))
s.serve_forever()
PY
    SW_IMG_PID=$!
    for _ in $(seq 50); do [ -s "$log/port" ] && break; sleep 0.1; done
    [ -s "$log/port" ] || { cat "$log/http.log"; return 99; }
    SW_IMG_URL="http://127.0.0.1:$(cat "$log/port")"
}
