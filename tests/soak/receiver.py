#!/usr/bin/env python3
"""receiver.py - the soak's webhook receiver (tests/soak/README.md).

    receiver.py PORT_FILE SECRETS_FILE LOG_FILE SEED

Listens on 127.0.0.1 (a free port, written to PORT_FILE). SECRETS_FILE is
JSON {"/path": "whsec_..."}, re-read when a path is unknown. Every request
is logged as one JSON line: path, webhook-id, the answer given, whether the
Standard Webhooks signature verifies (Python's hmac, not slipway's code),
and the payload's type and data. About one request in 20 is answered 503,
so retries happen; the answer is logged, and only a 200 counts as received.
Standard library only.
"""
import base64
import hashlib
import hmac
import json
import os
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_FILE, SECRETS_FILE, LOG_FILE, SEED = sys.argv[1:5]
LOCK = threading.Lock()
RND = random.Random(int(SEED))
SECRETS = {}


def secret_of(path):
    global SECRETS
    if path not in SECRETS:
        try:
            SECRETS = json.load(open(SECRETS_FILE))
        except (OSError, ValueError):
            pass
    s = SECRETS.get(path)
    if s is None:
        return None
    return base64.b64decode(s[len("whsec_"):] if s.startswith("whsec_") else s)


def verify(key, msg_id, ts, body, header):
    signed = msg_id.encode() + b"." + ts.encode() + b"." + body
    want = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(p.partition(",")[0] == "v1" and hmac.compare_digest(p.partition(",")[2], want)
               for p in header.split(" "))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        msg_id = self.headers.get("webhook-id", "")
        ts = self.headers.get("webhook-timestamp", "")
        key = secret_of(self.path)
        sig_ok = key is not None and verify(key, msg_id, ts, body,
                                            self.headers.get("webhook-signature", ""))
        with LOCK:
            status = 503 if RND.random() < 0.05 else 200
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        rec = {"t": time.time(), "path": self.path, "id": msg_id, "status": status,
               "sig_ok": sig_ok,
               "type": payload.get("type") if isinstance(payload, dict) else None,
               "data": payload.get("data") if isinstance(payload, dict) else None}
        with LOCK:
            with open(LOG_FILE, "a") as f:
                f.write(json.dumps(rec) + "\n")
        out = b'{"ok":true}' if status == 200 else b'{"ok":false}'
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        except OSError:
            pass


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(PORT_FILE + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(PORT_FILE + ".tmp", PORT_FILE)
    srv.serve_forever()


if __name__ == "__main__":
    main()
