#!/usr/bin/env python3
"""orders_load.py - places orders through the panel's API, in parallel.

Used by tests/integration/race.sh and crash.sh. Standard library only.

    orders_load.py URL TOKENS_FILE CHOICES_FILE COUNT PARALLEL [SEED [RATE]]

TOKENS_FILE: one customer bearer token a line. CHOICES_FILE: one
"plan_id template_id" a line. Order i goes to customer i % len(tokens) with
a choice drawn at random (seeded). RATE (orders per second, all clients
together; 0 or absent: as fast as they go) spreads the orders over time, so
that crashes land while they flow. Prints one line per order:
"STATUS SERVER_ID JOB_ID" (ids "-" when the answer carried none), in no
particular order; connection errors are retried (a refused or reset
connection means the panel never committed, an answer lost after the commit
would show as a missing order, which the callers count).
"""
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse


def main():
    url, tokens_f, choices_f, count, par = sys.argv[1:6]
    seed = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    rate = float(sys.argv[7]) if len(sys.argv) > 7 else 0.0
    start = time.monotonic()
    count, par = int(count), int(par)
    tokens = [l.strip() for l in open(tokens_f) if l.strip()]
    choices = [l.split() for l in open(choices_f) if l.strip()]
    rnd = random.Random(seed)
    work = [(i, tokens[i % len(tokens)], rnd.choice(choices)) for i in range(count)]
    u = urllib.parse.urlsplit(url)
    lock = threading.Lock()
    out = []
    it = iter(work)

    def worker():
        conn = None
        while True:
            with lock:
                item = next(it, None)
            if item is None:
                break
            i, tok, (plan, tpl) = item
            if rate > 0:
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            body = json.dumps({"plan_id": plan, "template_id": tpl,
                               "hostname": "r%d.example.com" % i})
            for attempt in range(20):
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
                    conn.request("POST", "/v1/orders", body,
                                 {"Authorization": "Bearer " + tok,
                                  "Content-Type": "application/json"})
                    r = conn.getresponse()
                    data = r.read()
                    status = r.status
                    break
                except (OSError, http.client.HTTPException):
                    if conn is not None:
                        conn.close()
                    conn = None
                    time.sleep(0.2)
            else:
                status, data = 0, b""
            sid = jid = "-"
            try:
                d = json.loads(data)
                sid = d.get("server", {}).get("id", "-")
                jid = d.get("job", {}).get("id", "-")
            except (ValueError, AttributeError):
                pass
            with lock:
                out.append("%d %s %s" % (status, sid, jid))
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(par)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))


if __name__ == "__main__":
    main()
