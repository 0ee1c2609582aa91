#!/usr/bin/env python3
"""bench/placement.py - OpenStack Placement as the claims reference of
bench/scheduler.sh, on the same nodes, plans and servers as slipway.

  placement.py load URL DB       one resource provider per row of DB's nodes
  placement.py claims URL DB SCHED CLAIMERS SECONDS
                                 claims/s: CLAIMERS threads take DB's servers

Each node becomes a provider with the node's id and four inventories, the
classes of core/resource.h: VCPU (cpus, the node's cpu_ratio), MEMORY_MB
(the burst limit: ram_mb - reserved_ram_mb, ram_ratio), CUSTOM_MEM_GUAR
(the guarantee: the same memory, ratio 1.0) and DISK_GB (ratio 1.0); its
kinds are traits CUSTOM_KIND_<KIND>. A server's request is its plan's
demand as slipway computes it (`scheduler demand`, sw_plan_demand).

A claim is what Nova's scheduler asks of Placement for one server: GET
/allocation_candidates with the demand, the kind as a required trait and
limit=1000 (Nova's max_placement_results default), then PUT
/allocations/<server id> with one of the candidates, picked at random (as
slipway picks among its best); on 409 (no longer fits) the next of up to 3.
Microversion 1.36; noauth2 (X-Auth-Token: admin). One line of key=value
figures on stdout, like bench/scheduler.
"""
import concurrent.futures
import http.client
import json
import random
import subprocess
import sys
import threading
import time
import urllib.parse

HEADERS = {"X-Auth-Token": "admin", "OpenStack-API-Version": "placement 1.36",
           "Content-Type": "application/json", "Accept": "application/json"}
CLASSES = {"VCPU": "VCPU", "MEM_GUAR": "CUSTOM_MEM_GUAR", "MEM_MAX": "MEMORY_MB",
           "DISK": "DISK_GB"}
PROJECT = "5f0c6a7e2b1d4c3e9a8b7d6e5f4a3b2c"
USER = "7d6e5f4a3b2c4c3e9a8b5f0c6a7e2b1d"


def call(base, method, path, body=None):
    """One request on a fresh connection: (status, decoded body or None)."""
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    try:
        c.request(method, path, json.dumps(body) if body is not None else None, HEADERS)
        r = c.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data.strip() else None)
    finally:
        c.close()


def rows(db, sql):
    out = subprocess.run(["psql", db, "-qAtX", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def must(st, want, what):
    if st not in want:
        raise RuntimeError(f"{what}: HTTP {st}")


def load_one(base, n):
    nid, name, kinds, cpus, ram, res, disk, cr, rr = n
    st, b = call(base, "POST", "/resource_providers", {"name": name, "uuid": nid})
    must(st, (200,), f"provider {name}")
    mem = {"total": int(ram), "reserved": int(res)}
    inv = {"VCPU": {"total": int(cpus), "allocation_ratio": float(cr)},
           "MEMORY_MB": dict(mem, allocation_ratio=float(rr), max_unit=int(ram)),
           "CUSTOM_MEM_GUAR": dict(mem, allocation_ratio=1.0, max_unit=int(ram)),
           "DISK_GB": {"total": int(disk), "allocation_ratio": 1.0}}
    st, b = call(base, "PUT", f"/resource_providers/{nid}/inventories",
                 {"resource_provider_generation": b["generation"], "inventories": inv})
    must(st, (200,), f"inventories of {name}")
    traits = ["CUSTOM_KIND_" + k.upper() for k in kinds.strip("{}").split(",")]
    st, _ = call(base, "PUT", f"/resource_providers/{nid}/traits",
                 {"resource_provider_generation": b["resource_provider_generation"],
                  "traits": traits})
    must(st, (200,), f"traits of {name}")


def load(base, db):
    st, _ = call(base, "PUT", "/resource_classes/CUSTOM_MEM_GUAR")
    must(st, (201, 204), "resource class")
    for k in ("CONTAINER", "PV", "HVM"):
        st, _ = call(base, "PUT", f"/traits/CUSTOM_KIND_{k}")
        must(st, (201, 204), "trait")
    nodes = rows(db, "SELECT id, name, kinds::text, cpus, ram_mb, reserved_ram_mb, disk_gb,"
                     " cpu_ratio, ram_ratio FROM nodes ORDER BY id")
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda n: load_one(base, n), nodes))
    print(f"load providers={len(nodes)} seconds={time.monotonic() - t0:.1f}")


def demands(db, sched):
    """plan id -> (required trait, resources query value)"""
    out = {}
    for pid, kind, *size in rows(db, "SELECT id, kind, vcpus, ram_mb, burst_ram_mb, swap_mb,"
                                     " disk_gb FROM plans"):
        line = subprocess.run([sched, "demand", kind, *size], check=True, capture_output=True,
                              text=True).stdout.split()
        want = dict(kv.split("=") for kv in line)
        res = ",".join(f"{CLASSES[c]}:{v}" for c, v in want.items() if int(v) > 0)
        out[pid] = ("CUSTOM_KIND_" + kind.upper(), res)
    return out


class Claimer:
    def __init__(self, base, servers, seconds, seed):
        self.base, self.servers, self.seconds = base, servers, seconds
        self.rng = random.Random(seed)
        self.claims = self.conflicts = self.no_capacity = self.errors = 0
        self.busy = 0.0

    def claim(self, sid, trait, res):
        q = urllib.parse.urlencode({"resources": res, "required": trait, "limit": 1000})
        st, b = call(self.base, "GET", "/allocation_candidates?" + q)
        if st != 200:
            self.errors += 1
            return
        cands = b["allocation_requests"]
        if not cands:
            self.no_capacity += 1
            return
        first = self.rng.randrange(len(cands))
        for k in range(min(3, len(cands))):
            ar = cands[(first + k) % len(cands)]
            st, _ = call(self.base, "PUT", f"/allocations/{sid}",
                         {"allocations": ar["allocations"], "project_id": PROJECT,
                          "user_id": USER, "consumer_generation": None})
            if st == 204:
                self.claims += 1
                return
            if st != 409:
                self.errors += 1
                return
            self.conflicts += 1
        self.no_capacity += 1

    def run(self):
        t0 = time.monotonic()
        end = t0 + self.seconds
        for sid, trait, res in self.servers:
            if time.monotonic() >= end:
                break
            self.claim(sid, trait, res)
        self.busy = time.monotonic() - t0


def claims(base, db, sched, n, seconds):
    want = demands(db, sched)
    servers = [(sid, *want[pid]) for sid, pid in
               rows(db, "SELECT id, plan_id FROM servers ORDER BY id")]
    cl = [Claimer(base, servers[i::n], seconds, i) for i in range(n)]
    th = [threading.Thread(target=c.run) for c in cl]
    for t in th:
        t.start()
    for t in th:
        t.join()
    total = sum(c.claims for c in cl)
    busy = max(c.busy for c in cl)
    print(f"claims claimers={n} claims={total} seconds={busy:.3f} per_s={total / busy:.1f}"
          f" conflicts={sum(c.conflicts for c in cl)} no_capacity={sum(c.no_capacity for c in cl)}"
          f" errors={sum(c.errors for c in cl)}")
    return 1 if any(c.errors for c in cl) else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "load":
        load(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 7 and sys.argv[1] == "claims":
        sys.exit(claims(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]),
                        float(sys.argv[6])))
    else:
        sys.exit(__doc__)
