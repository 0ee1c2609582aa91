#!/usr/bin/env python3
"""load.py - the soak's load generator and ledger sampler (tests/soak/README.md).

    load.py CONFIG OUT_DIR DURATION SEED THREADS

CONFIG (written by run.sh): {"panels": [url, url], "actors": [{"kind":
"customer"|"reseller", "name", "token", "customers"?}], "plans": [{"id",
"kind"}], "templates": {kind: [id, ...]}, "db": url, "location": id}.

THREADS threads act for DURATION seconds, each as one actor at a time
(customers: order, start, stop, reboot, resize, reinstall, reset_password,
terminate; resellers: order for a customer, suspend, unsuspend, change-plan,
terminate). Every write carries an Idempotency-Key; on a timeout, a refused
or reset connection, a 5xx or a 409 about the Idempotency-Key (the first
attempt still running) the same request is sent again with the same key, to either
panel, until an answer or 120 s. Each operation is one JSON line in
OUT_DIR/ops.jsonl: {t, actor, op, status, code, server, order, job,
hostname, tries}.

A sampler thread runs one SQL every 3 s (through psql) that lists nodes over
their capacity in any class and servers with two migrate or recover jobs
queued or running at once, and writes one line per sample to
OUT_DIR/samples.jsonl: {t, ok, over: [...], allocations, moving_twice: [...]}
(ok false: the database did not answer, e.g. during a restart). Standard library only.
"""
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

OVER_SQL = """
with u as (
  select n.name, coalesce(sum(a.vcpus), 0) v, coalesce(sum(a.mem_guar_mb), 0) g,
         coalesce(sum(a.mem_max_mb), 0) m, coalesce(sum(a.disk_gb), 0) d,
         floor(n.cpus * n.cpu_ratio) cv, greatest(n.ram_mb - n.reserved_ram_mb, 0) cg,
         floor(greatest(n.ram_mb - n.reserved_ram_mb, 0) * n.ram_ratio) cm, n.disk_gb cd
  from nodes n left join (select node_id, vcpus, mem_guar_mb, mem_max_mb, disk_gb from allocations
                          union all  -- a migration's claim on its target is use too (issue 15)
                          select node_id, vcpus, mem_guar_mb, mem_max_mb, disk_gb from migration_claims) a
    on a.node_id = n.id group by n.id)
select coalesce(json_agg(name || ': VCPU ' || v || '/' || cv || ' MEM_GUAR ' || g || '/' || cg
       || ' MEM_MAX ' || m || '/' || cm || ' DISK ' || d || '/' || cd), '[]'),
       (select count(*) from allocations),
       -- servers moving twice at once (issue 15): two migrate or recover jobs in flight
       (select coalesce(json_agg(server_id), '[]') from (select server_id from jobs
         where type in ('migrate', 'recover') and state in ('queued', 'running')
         group by 1 having count(*) > 1) x)
from u where v > cv or g > cg or m > cm or d > cd
"""

CUSTOMER_OPS = [("order", 26), ("start", 10), ("stop", 10), ("reboot", 8), ("resize", 8),
                ("reinstall", 7), ("reset_password", 2), ("terminate", 12)]
RESELLER_OPS = [("order", 30), ("suspend", 12), ("unsuspend", 12), ("change_plan", 8),
                ("terminate", 12)]
MAX_LIVE = 6  # servers an actor keeps before it stops ordering


class Load:
    def __init__(self, cfg, out, duration, seed, threads):
        self.cfg = cfg
        self.panels = [urllib.parse.urlsplit(u) for u in cfg["panels"]]
        self.deadline = time.monotonic() + duration
        self.rnd = random.Random(seed)
        self.lock = threading.Lock()
        self.ops = open(os.path.join(out, "ops.jsonl"), "a")
        self.samples = open(os.path.join(out, "samples.jsonl"), "a")
        self.actors = cfg["actors"]
        for a in self.actors:
            a["servers"] = []  # [{"id", "kind", "plan"}]
            a["busy"] = False
        self.threads = threads
        self.seq = 0

    # ---- HTTP with retries under one Idempotency-Key ----
    def call(self, rnd, method, path, token, body):
        key = str(uuid.uuid4())
        data = json.dumps(body) if body is not None else None
        start = time.monotonic()
        p = rnd.randrange(len(self.panels))
        tries = 0
        while True:
            tries += 1
            u = self.panels[p % len(self.panels)]
            p += 1
            status, out = 0, None
            try:
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
                hdr = {"Authorization": "Bearer " + token, "Idempotency-Key": key}
                if data is not None:
                    hdr["Content-Type"] = "application/json"
                conn.request(method, path, data, hdr)
                r = conn.getresponse()
                raw = r.read()
                status = r.status
                conn.close()
                try:
                    out = json.loads(raw) if raw else None
                except ValueError:
                    out = None
            except (OSError, http.client.HTTPException):
                status = 0
            # a 409 about the key: the first attempt is still running there
            busy = status == 409 and "Idempotency-Key" in json.dumps(out)
            retry = status == 0 or status >= 500 or status == 429 or busy
            if not retry or time.monotonic() - start > 120:
                return status, out, tries
            time.sleep(min(0.2 * tries, 2.0))

    def record(self, rec):
        rec["t"] = time.time()
        with self.lock:
            self.ops.write(json.dumps(rec) + "\n")
            self.ops.flush()

    def pick_actor(self, rnd):
        with self.lock:
            free = [a for a in self.actors if not a["busy"]]
            if not free:
                return None
            a = rnd.choice(free)
            a["busy"] = True
            return a

    def release(self, a):
        with self.lock:
            a["busy"] = False

    def plans_of(self, kind):
        return [p["id"] for p in self.cfg["plans"] if p["kind"] == kind]

    # ---- one operation ----
    def act(self, rnd, a):
        table = CUSTOMER_OPS if a["kind"] == "customer" else RESELLER_OPS
        op = rnd.choices([o for o, _ in table], [w for _, w in table])[0]
        if not a["servers"]:
            op = "order"
        if op == "order" and len(a["servers"]) >= MAX_LIVE:
            op = "terminate"
        rec = {"actor": a["name"], "op": op}
        if op == "order":
            plan = rnd.choice(self.cfg["plans"])
            tpl = rnd.choice(self.cfg["templates"][plan["kind"]])
            with self.lock:
                self.seq += 1
                host = "s%d-%s.example.com" % (self.seq, uuid.uuid4().hex[:8])
            body = {"plan_id": plan["id"], "template_id": tpl, "hostname": host}
            if a["kind"] == "customer":
                path = "/v1/orders"
            else:
                path = "/v1/reseller/customers/%s/orders" % rnd.choice(a["customers"])
            st, out, tries = self.call(rnd, "POST", path, a["token"], body)
            rec.update(hostname=host)
            if 200 <= st < 300 and isinstance(out, dict):
                sid = (out.get("server") or {}).get("id")
                rec.update(server=sid, order=(out.get("order") or {}).get("id"),
                           job=(out.get("job") or {}).get("id"))
                if sid:
                    a["servers"].append({"id": sid, "kind": plan["kind"], "plan": plan["id"]})
        else:
            s = rnd.choice(a["servers"])
            sid, kind = s["id"], s["kind"]
            other = [p for p in self.plans_of(kind) if p != s["plan"]] or self.plans_of(kind)
            new_plan = rnd.choice(other)
            rec["server"] = sid
            if op == "terminate":
                if a["kind"] == "customer":
                    st, out, tries = self.call(rnd, "DELETE", "/v1/servers/" + sid, a["token"], None)
                else:
                    st, out, tries = self.call(rnd, "POST", "/v1/reseller/servers/%s/terminate" % sid,
                                               a["token"], {})
            elif a["kind"] == "reseller":
                if op == "change_plan":
                    body = {"plan_id": new_plan}
                    path = "/v1/reseller/servers/%s/change-plan" % sid
                else:
                    body = {}
                    path = "/v1/reseller/servers/%s/%s" % (sid, op)
                st, out, tries = self.call(rnd, "POST", path, a["token"], body)
            else:
                body = {"type": op}
                if op == "resize":
                    body["plan_id"] = new_plan
                elif op == "reinstall":
                    body["template_id"] = rnd.choice(self.cfg["templates"][kind])
                st, out, tries = self.call(rnd, "POST", "/v1/servers/%s/actions" % sid,
                                           a["token"], body)
            if isinstance(out, dict) and isinstance(out.get("job"), dict):
                rec["job"] = out["job"].get("id")
            if op in ("resize", "change_plan") and 200 <= st < 300:
                s["plan"] = new_plan  # as asked; a failed resize leaves it stale
            # gone (terminated, or failed to create): stop acting on it
            gone = (op == "terminate" and 200 <= st < 300) or st == 404 or (
                st == 409 and isinstance(out, dict) and "terminat" in json.dumps(out))
            if gone:
                a["servers"] = [x for x in a["servers"] if x["id"] != sid]
        rec.update(status=st, tries=tries)
        if isinstance(out, dict) and isinstance(out.get("error"), dict):
            rec["code"] = out["error"].get("code")
            rec["message"] = out["error"].get("message")
        self.record(rec)

    def worker(self, seed):
        rnd = random.Random(seed)
        while time.monotonic() < self.deadline:
            a = self.pick_actor(rnd)
            if a is None:
                time.sleep(0.1)
                continue
            try:
                self.act(rnd, a)
            finally:
                self.release(a)
            time.sleep(rnd.uniform(0.05, 0.6))

    def sampler(self):
        while time.monotonic() < self.deadline:
            rec = {"t": time.time(), "ok": False, "over": []}
            try:
                p = subprocess.run(["psql", self.cfg["db"], "-qAt", "-F", "\t", "-v",
                                    "ON_ERROR_STOP=1", "-c", OVER_SQL],
                                   capture_output=True, text=True, timeout=10)
                if p.returncode == 0 and p.stdout.strip():
                    over, allocs, twice = p.stdout.strip().split("\t")
                    rec.update(ok=True, over=json.loads(over), allocations=int(allocs),
                               moving_twice=json.loads(twice))
            except (subprocess.SubprocessError, ValueError, OSError):
                pass
            with self.lock:
                self.samples.write(json.dumps(rec) + "\n")
                self.samples.flush()
            time.sleep(3)

    def run(self):
        ts = [threading.Thread(target=self.worker, args=(self.rnd.random(),))
              for _ in range(self.threads)]
        ts.append(threading.Thread(target=self.sampler))
        for t in ts:
            t.start()
        for t in ts:
            t.join()


def main():
    cfg_f, out, duration, seed, threads = sys.argv[1:6]
    cfg = json.load(open(cfg_f))
    Load(cfg, out, float(duration), int(seed), int(threads)).run()


if __name__ == "__main__":
    main()
