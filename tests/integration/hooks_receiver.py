#!/usr/bin/env python3
"""hooks_receiver.py - a webhook receiver for tests/integration/hooks.sh.

Verifies every request's Standard Webhooks signature on its own, with
Python's hmac (not slipway's code), and logs one JSON line per request.

  hooks_receiver.py PORT_FILE SECRETS_FILE LOG_FILE

Listens on 127.0.0.1, a free port, written to PORT_FILE. SECRETS_FILE is
JSON {"/path": "whsec_..."}, read on every request (the test adds
endpoints as it goes). The answer depends on the path's first segment:
  /ok/...          200
  /gone/...        410
  /failN/...       500 for the first N requests to this path, then 200
  /slow/...        200 after 1 s (so concurrent senders overlap)
  /hangN/...       the first N requests are logged with status "hung" as
                   they arrive and answered only after 8 s (the sender is
                   meant to die meanwhile); then 200
Each log line: path, status answered, the webhook-* headers, the body,
sig_ok (a v1 signature matches), ts_ok (within 5 minutes),
tampered_body_ok / tampered_ts_ok (whether a changed body or timestamp
would verify too: they must not), and the parsed payload.
Standard library only.
"""
import base64
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_FILE, SECRETS_FILE, LOG_FILE = sys.argv[1:4]
LOCK = threading.Lock()
COUNTS = {}


def key_of(secret):
    if secret.startswith("whsec_"):
        secret = secret[len("whsec_"):]
    return base64.b64decode(secret)


def verify(key, msg_id, ts, body, header):
    signed = msg_id.encode() + b"." + ts.encode() + b"." + body
    want = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    ok = False
    for part in header.split(" "):
        version, _, sig = part.partition(",")
        if version == "v1" and hmac.compare_digest(sig, want):
            ok = True
    return ok


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path = self.path
        first = path.strip("/").split("/")[0]
        with LOCK:
            COUNTS[path] = COUNTS.get(path, 0) + 1
            n = COUNTS[path]
        status = 200
        if first == "gone":
            status = 410
        elif first.startswith("fail") and n <= int(first[4:]):
            status = 500
        elif first == "slow":
            time.sleep(1)
        hang = first.startswith("hang") and n <= int(first[4:])
        msg_id = self.headers.get("webhook-id", "")
        ts = self.headers.get("webhook-timestamp", "")
        sig = self.headers.get("webhook-signature", "")
        try:
            secrets = json.load(open(SECRETS_FILE))
        except (OSError, ValueError):
            secrets = {}
        rec = {"path": path, "status": status, "id": msg_id, "ts": ts, "sig": sig,
               "content_type": self.headers.get("Content-Type", ""),
               "body": body.decode("utf-8", "replace"), "sig_ok": False, "ts_ok": False,
               "tampered_body_ok": None, "tampered_ts_ok": None}
        if path in secrets and ts.isdigit():
            key = key_of(secrets[path])
            rec["sig_ok"] = verify(key, msg_id, ts, body, sig)
            rec["ts_ok"] = abs(time.time() - int(ts)) <= 300
            rec["tampered_body_ok"] = verify(key, msg_id, ts, body + b" ", sig)
            rec["tampered_ts_ok"] = verify(key, msg_id, str(int(ts) + 1), body, sig)
        try:
            rec["payload"] = json.loads(body)
        except ValueError:
            rec["payload"] = None
        if hang:
            rec["status"] = "hung"
        with LOCK:
            with open(LOG_FILE, "a") as f:
                f.write(json.dumps(rec) + "\n")
        if hang:
            time.sleep(8)
        out = b'{"ok":true}' if status == 200 else b'{"ok":false}'
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        except OSError:
            pass  # the sender is gone


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(PORT_FILE + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(PORT_FILE + ".tmp", PORT_FILE)
    srv.serve_forever()


if __name__ == "__main__":
    main()
