#!/usr/bin/env python3
"""check.py - the soak's invariant checker (tests/soak/README.md).

    check.py DIR DATABASE_URL REDIS_SOCKET

Reads what run.sh and load.py recorded in DIR (ops.jsonl, samples.jsonl,
hooks.jsonl, faults.txt, nodes, endpoints), PostgreSQL through psql, Redis
through redis-cli and every node's domains file (SLIPWAY_DOMAINS_FILE),
prints the figures as tables (operations, faults, violations by invariant,
with up to 5 examples of each violation) and exits 1 on any violation.
Standard library only.
"""
import collections
import re
import json
import os
import statistics
import subprocess
import sys

DIR, DB, REDIS = sys.argv[1:4]
LIVE = ("running", "stopped", "suspended")
TERMINAL = LIVE + ("terminated", "failed")

violations = collections.OrderedDict()
examples = collections.defaultdict(list)


def invariant(name):
    violations.setdefault(name, 0)


def violate(name, example):
    violations[name] = violations.get(name, 0) + 1
    if len(examples[name]) < 5:
        examples[name].append(example)


def sql(q):
    p = subprocess.run(["psql", DB, "-qAt", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", q],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        sys.exit("check: psql failed: %s\n%s" % (p.stderr, q))
    return [l.split("\t") for l in p.stdout.splitlines() if l != ""]


def redis(*args):
    # as the stack's admin user: REDISCLI_AUTH holds its password (run.sh)
    p = subprocess.run(["redis-cli", "--user", "admin", "-s", REDIS] + list(args),
                       capture_output=True, text=True, timeout=30)
    return p.stdout.strip()


def jsonl(name):
    path = os.path.join(DIR, name)
    if not os.path.exists(path):
        return []
    out = []
    for line in open(path):
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def table(title, header, rows):
    rows = [[str(c) for c in r] for r in rows]
    w = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    print("\n%s" % title)
    print("  " + "  ".join(h.ljust(w[i]) for i, h in enumerate(header)))
    print("  " + "  ".join("-" * x for x in w))
    for r in rows:
        print("  " + "  ".join(c.ljust(w[i]) for i, c in enumerate(r)))


# ---- operations ----
ops = jsonl("ops.jsonl")
by_op = collections.OrderedDict()
for o in ops:
    k = by_op.setdefault(o["op"], [0, 0, 0, 0])
    st = o["status"]
    if 200 <= st < 300:
        k[0] += 1
    elif 400 <= st < 500:
        k[1] += 1
    else:
        k[2] += 1
    if o.get("tries", 1) > 1:
        k[3] += 1
rows = [[op, sum(v[:3]), v[0], v[1], v[2], v[3]] for op, v in sorted(by_op.items())]
rows.append(["total", len(ops), sum(v[0] for v in by_op.values()),
             sum(v[1] for v in by_op.values()), sum(v[2] for v in by_op.values()),
             sum(v[3] for v in by_op.values())])
table("operations (accepted: 2xx; rejected: 4xx, e.g. 409 busy or no longer there; "
      "failed: 5xx or no answer within 120 s of retries)",
      ["op", "sent", "accepted", "rejected", "failed", "retried"], rows)
rej = collections.Counter("%s %s %s" % (o["op"], o["status"], o.get("code", "-"))
                          for o in ops if not 200 <= o["status"] < 300)
if rej:
    print("  not accepted, by op/status/code: " +
          ", ".join("%s: %d" % kv for kv in sorted(rej.items())))

# ---- faults ----
faults = collections.Counter()
if os.path.exists(os.path.join(DIR, "faults.txt")):
    for line in open(os.path.join(DIR, "faults.txt")):
        parts = line.split()
        if len(parts) >= 3:
            kind = parts[1]
            target = parts[2]
            if kind == "kill9" or kind == "died_on_its_own":
                target = target.rstrip("0123456789") or target
                faults["%s %s" % (kind, target)] += 1
            else:
                faults[kind] += 1
table("faults injected", ["fault", "count"], sorted(faults.items()) or [["(none)", 0]])

# ---- orders: none lost ----
invariant("order lost (accepted, not terminal in PostgreSQL)")
invariant("order duplicated by a retry (two servers for one request)")
srv = {r[0]: {"state": r[1], "node": r[2] or None, "error": r[3] or None, "ipv4": r[4] or None,
              "ipv6": r[5] or None, "hostname": r[6], "kind": r[7]}
       for r in sql("select s.id, s.state, s.node_id, s.error, host(s.ipv4), host(s.ipv6), s.hostname,"
                    " p.kind from servers s join plans p on p.id = s.plan_id")}
orders = {r[0]: {"server": r[1], "state": r[2]} for r in sql("select id, server_id, state from orders")}
create = {r[0]: {"state": r[1], "code": r[2] or None, "error": r[3] or None}
          for r in sql("select server_id, state, error_code, error from jobs where type = 'create'")}
accepted = [o for o in ops if o["op"] == "order" and 200 <= o["status"] < 300]
for o in accepted:
    sid, oid = o.get("server"), o.get("order")
    s = srv.get(sid)
    if s is None or oid not in orders:
        violate("order lost (accepted, not terminal in PostgreSQL)",
                "order %s server %s: not in PostgreSQL" % (oid, sid))
        continue
    why = None
    if s["state"] not in TERMINAL:
        why = "server %s" % s["state"]
    elif s["state"] == "failed" and not (s["error"] or (create.get(sid) or {}).get("code")):
        why = "failed with no reason"
    elif orders[oid]["state"] == "accepted":
        why = "order still accepted (server %s)" % s["state"]
    if why:
        violate("order lost (accepted, not terminal in PostgreSQL)",
                "order %s server %s: %s" % (oid, sid, why))
reached = collections.Counter()
for o in accepted:
    s = srv.get(o.get("server"))
    if s and s["state"] in TERMINAL:
        c = (create.get(o["server"]) or {}).get("code") if s["state"] == "failed" else None
        reached[s["state"] + (" (%s)" % c if c else "")] += 1
print("\norders: %d accepted (2xx), %d reached a terminal state: %s"
      % (len(accepted), sum(reached.values()),
         ", ".join("%s %d" % kv for kv in sorted(reached.items())) or "none"))
hosts = collections.Counter(s["hostname"] for s in srv.values())
for h, n in hosts.items():
    if n > 1:
        violate("order duplicated by a retry (two servers for one request)", "%s: %d servers" % (h, n))

# ---- jobs and servers stuck ----
invariant("job stuck (queued or running)")
invariant("server stuck (pending, provisioning or terminating)")
for r in sql("select id, type, state, server_id, attempts from jobs where state in ('queued', 'running')"):
    violate("job stuck (queued or running)", "job %s %s %s server %s attempts %s" % tuple(r))
for sid, s in srv.items():
    if s["state"] not in TERMINAL:
        violate("server stuck (pending, provisioning or terminating)", "server %s %s" % (sid, s["state"]))
# A server the node should run always has its domain there (reconciliation
# brings it back before the engine takes jobs), so no job finds it missing;
# but a terminating server is not brought back, so a job queued before its
# terminate may find it gone (engines/README.md, "Reconciliation").
invariant("job failed not_found (its server's domain missing on its node)")
for r in sql("select j.id, j.type, j.server_id, j.error from jobs j where j.state in ('failed', 'dead') "
             "and j.error_code = 'not_found' and not exists (select 1 from jobs t where "
             "t.server_id = j.server_id and t.type = 'terminate' and t.created_at <= j.finished_at)"):
    violate("job failed not_found (its server's domain missing on its node)",
            "job %s %s server %s: %s" % tuple(r))

# ---- domains (the engines' domain files) ----
invariant("live server without exactly one domain on its node")
invariant("domain state differs from its server's")
invariant("server with a domain on another node (or two nodes)")
invariant("orphan domain (server not live)")
invariant("domains file missing")
invariant("live server without exactly its volumes on its node")
invariant("orphan volume (server not live)")
domains = collections.defaultdict(list)  # server id -> [(node, state)]
volumes = collections.defaultdict(list)  # server id -> [(node, pool, volume)]
VOL = re.compile(r"^sw-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-")
nodes = {}
for line in open(os.path.join(DIR, "nodes")):
    nid, path, name = line.split()
    nodes[nid] = name
    if not os.path.exists(path):
        violate("domains file missing", "%s (%s)" % (path, name))
        continue
    for d in open(path):
        if d.startswith("#") or not d.strip():
            continue
        if d.startswith("vol "):
            _, pool, vname = d.split()
            m = VOL.match(vname)
            volumes[m.group(1) if m else vname].append((nid, pool, vname))
            continue
        dname, duuid, dstate = d.split()
        domains[duuid.lower()].append((nid, dstate, dname))
ndomains = sum(len(v) for v in domains.values())
# a suspended ha server recovered from a failed node is defined there and
# left stopped, still suspended (migrations/0039): its unsuspend boots it
recovered_ids = {r[0] for r in sql("select distinct server_id from jobs where type = 'recover' "
                                   "and state = 'succeeded'")}
for sid, s in srv.items():
    ds = domains.get(sid, [])
    if s["state"] in LIVE:
        mine = [d for d in ds if d[0] == s["node"]]
        if len(mine) != 1:
            violate("live server without exactly one domain on its node",
                    "server %s %s on %s: %d domains there" % (sid, s["state"], nodes.get(s["node"]), len(mine)))
        elif mine[0][1] != s["state"] and not (s["state"] == "suspended" and mine[0][1] == "stopped"
                                                and sid in recovered_ids):
            violate("domain state differs from its server's",
                    "server %s is %s, its domain on %s is %s" % (sid, s["state"], nodes.get(s["node"]), mine[0][1]))
        for d in ds:
            if d[0] != s["node"]:
                violate("server with a domain on another node (or two nodes)",
                        "server %s on %s has a domain on %s" % (sid, nodes.get(s["node"]), nodes.get(d[0])))
    else:
        for d in ds:
            violate("orphan domain (server not live)",
                    "%s on %s (%s): server %s" % (d[2], nodes.get(d[0]), d[1], s["state"]))
for duuid, ds in domains.items():
    if duuid not in srv:
        for d in ds:
            violate("orphan domain (server not live)", "%s on %s: no such server" % (d[2], nodes.get(d[0])))

nvolumes = sum(len(v) for v in volumes.values())
for sid, s in srv.items():
    vs = volumes.get(sid, [])
    if s["state"] in LIVE:
        # every kind boots from one root volume on its node; hvm and pv have
        # their NoCloud seed beside it, a container has its files inside
        roots = [v for v in vs if v[0] == s["node"] and "-root-" in v[2]]
        seeds = [v for v in vs if v[0] == s["node"] and v[2].endswith("-seed.iso")]
        want_seeds = 0 if s["kind"] == "container" else 1
        away = [v for v in vs if v[0] != s["node"]]
        other = len(vs) - len(roots) - len(seeds) - len(away)
        if len(roots) != 1 or len(seeds) != want_seeds or other or away:
            violate("live server without exactly its volumes on its node",
                    "server %s (%s) %s on %s: %d root and %d seed volume(s) there, %d other, %d elsewhere"
                    % (sid, s["kind"], s["state"], nodes.get(s["node"]), len(roots), len(seeds), other, len(away)))
    elif s["state"] not in ("provisioning", "terminating"):
        for v in vs:
            violate("orphan volume (server not live)",
                    "%s/%s on %s: server %s" % (v[1], v[2], nodes.get(v[0]), s["state"]))
for sid, vs in volumes.items():
    if sid not in srv:
        for v in vs:
            violate("orphan volume (server not live)", "%s/%s on %s: no such server"
                    % (v[1], v[2], nodes.get(v[0])))

# ---- addresses ----
invariant("addresses: more than one IPv4/IPv6 per server, or shared, or held by a dead server")
fam = collections.defaultdict(lambda: collections.Counter())
holders = collections.defaultdict(set)
for addr, family, sid in sql("select host(address), family, server_id from ip_assignments"):
    fam[sid][family] += 1
    holders[addr].add(sid)
    s = srv.get(sid)
    if s is None or s["state"] not in LIVE:
        violate("addresses: more than one IPv4/IPv6 per server, or shared, or held by a dead server",
                "%s held by server %s (%s)" % (addr, sid, s and s["state"]))
    elif addr not in (s["ipv4"], s["ipv6"]):
        violate("addresses: more than one IPv4/IPv6 per server, or shared, or held by a dead server",
                "%s assigned to %s which shows %s/%s" % (addr, sid, s["ipv4"], s["ipv6"]))
for sid, c in fam.items():
    for f, n in c.items():
        if n > 1:
            violate("addresses: more than one IPv4/IPv6 per server, or shared, or held by a dead server",
                    "server %s has %d IPv%s" % (sid, n, f))
for addr, ss in holders.items():
    if len(ss) > 1:
        violate("addresses: more than one IPv4/IPv6 per server, or shared, or held by a dead server",
                "%s held by %d servers" % (addr, len(ss)))
for sid, s in srv.items():
    if s["state"] not in LIVE and (s["ipv4"] or s["ipv6"]):
        violate("addresses: more than one IPv4/IPv6 per server, or shared, or held by a dead server",
                "server %s %s still shows %s %s" % (sid, s["state"], s["ipv4"], s["ipv6"]))

# ---- the ledger: allocations and capacity ----
invariant("allocation: live server without one on its node, or one for a dead server")
invariant("node over capacity in a class (sampled during the run, and at the end)")
alloc = {r[0]: r[1] for r in sql("select server_id, node_id from allocations")}
for sid, s in srv.items():
    if s["state"] in LIVE and alloc.get(sid) != s["node"]:
        violate("allocation: live server without one on its node, or one for a dead server",
                "server %s %s on %s: allocation on %s" % (sid, s["state"], nodes.get(s["node"]),
                                                          nodes.get(alloc.get(sid))))
    if s["state"] not in LIVE and sid in alloc:
        violate("allocation: live server without one on its node, or one for a dead server",
                "server %s %s holds an allocation" % (sid, s["state"]))
samples = jsonl("samples.jsonl")
ok_samples = [x for x in samples if x.get("ok")]
invariant("server moving twice at once: two migrate or recover jobs in flight (sampled)")
for x in ok_samples:
    for o in x["over"]:
        violate("node over capacity in a class (sampled during the run, and at the end)",
                "at %.0f: %s" % (x["t"], o))
    for sid in x.get("moving_twice", []):
        violate("server moving twice at once: two migrate or recover jobs in flight (sampled)",
                "at %.0f: server %s" % (x["t"], sid))
final_over = sql("""with u as (
  select n.name, coalesce(sum(a.vcpus), 0) v, coalesce(sum(a.mem_guar_mb), 0) g,
         coalesce(sum(a.mem_max_mb), 0) m, coalesce(sum(a.disk_gb), 0) d,
         floor(n.cpus * n.cpu_ratio) cv, greatest(n.ram_mb - n.reserved_ram_mb, 0) cg,
         floor(greatest(n.ram_mb - n.reserved_ram_mb, 0) * n.ram_ratio) cm, n.disk_gb cd
  from nodes n left join allocations a on a.node_id = n.id group by n.id)
  select name, v || '/' || cv, g || '/' || cg, m || '/' || cm, d || '/' || cd from u
  where v > cv or g > cg or m > cm or d > cd""")
for r in final_over:
    violate("node over capacity in a class (sampled during the run, and at the end)",
            "at the end: %s VCPU %s MEM_GUAR %s MEM_MAX %s DISK %s" % tuple(r))

# ---- evacuations (issue 15) ----
E_RUN = "evacuation: still running after the settle"
E_LEFT = "evacuation: a live server left on a node in maintenance, not listed unmovable"
E_TWO = "evacuation: two of its migrate jobs in flight at once for one server"
for n in (E_RUN, E_LEFT, E_TWO):
    invariant(n)
for r in sql("select id, node_id from evacuations where state = 'running'"):
    violate(E_RUN, "evacuation %s of %s" % (r[0], nodes.get(r[1])))
# the latest evacuation of each node still in maintenance: every live server
# on the node is one it could not move
for r in sql("""select s.id, s.state, n.name, e.id from nodes n
  join lateral (select * from evacuations e where e.node_id = n.id order by created_at desc limit 1) e on true
  join servers s on s.node_id = n.id
 where n.state = 'maintenance' and e.state = 'completed' and s.state in ('running', 'stopped', 'suspended')
   and not exists (select 1 from evacuation_servers x where x.evacuation_id = e.id
                     and x.server_id = s.id and x.state = 'unmovable')"""):
    violate(E_LEFT, "server %s %s on %s after evacuation %s" % tuple(r))
for r in sql("""select a.server_id, a.id, b.id from jobs a join jobs b on b.server_id = a.server_id
                   and b.id > a.id and b.type = 'migrate' and b.params ? 'evacuation_id'
 where a.type = 'migrate' and a.params ? 'evacuation_id'
   and b.created_at < coalesce(a.finished_at, 'infinity') and a.created_at < coalesce(b.finished_at, 'infinity')"""):
    violate(E_TWO, "server %s: jobs %s and %s" % tuple(r))
ev = sql("select count(*), count(*) filter (where state = 'completed'), "
         "(select count(*) from evacuation_servers where state = 'moved'), "
         "(select count(*) from evacuation_servers where state = 'unmovable') from evacuations")[0]
print("  evacuations: %s (completed %s), servers moved %s, unmovable %s" % tuple(ev))

# ---- node deaths, recoveries and their events (issue 15) ----
D_FENCE = "node death: not suspect, then fenced once and failed once, before it came back"
D_BACK = "node death: the node never came back (not failed, or not set active)"
D_FALSE = "node fenced or failed while it was not dead (a pause or a late beat taken for a death)"
D_ONCE = "ha server of a dead node: not run again exactly once (succeeded recover jobs)"
D_WHERE = "ha server recovered onto its dead node or another dead one"
D_LOST = "ha server lost (server.lost) not failed with its reason, or also recovered"
D_EVENTS = "events: not one server.recovered per recovery, server.migrated per move, node.evacuated per evacuation"
D_EVAC = "evacuation: completed with a server not moved, gone, nor unmovable with a reason"
for n in (D_FENCE, D_BACK, D_FALSE, D_ONCE, D_WHERE, D_LOST, D_EVENTS, D_EVAC):
    invariant(n)
deaths = []  # {node, name, mode, t, at, ha, back}
path = os.path.join(DIR, "deaths")
for line in open(path) if os.path.exists(path) else []:
    p = line.split()
    if p[0] == "death":
        deaths.append({"node": p[1], "name": p[2], "mode": p[3], "t": int(p[4]), "at": int(p[5]),
                       "ha": None if p[6] == "?" else [x for x in p[6].split(",") if x != "-"],
                       "back": None})
    elif p[0] == "revive":
        for d in deaths:
            if d["node"] == p[1] and d["back"] is None:
                d["back"] = int(p[3])


def dead_at(node, t):
    """The death of NODE whose window (killed .. set active again) holds T."""
    for d in deaths:
        if d["node"] == node and d["t"] <= t <= (d["back"] or float("inf")):
            return d
    return None


hev = collections.defaultdict(list)  # (type, node or server) -> [(ms, data)]
for typ, data, ms in sql("select type, data::text, (extract(epoch from created_at) * 1000)::bigint "
                         "from events where type in ('node.suspect', 'node.fenced', 'node.failed', "
                         "'node.evacuated', 'server.recovered', 'server.migrated', 'server.lost') "
                         "order by created_at"):
    data = json.loads(data)
    hev[typ].append((int(ms), data))
for typ in ("node.fenced", "node.failed"):
    for ms, data in hev[typ]:
        if dead_at(data["node_id"], ms) is None:
            violate(D_FALSE, "%s of %s at %d" % (typ, nodes.get(data["node_id"]), ms))
rjobs = [{"id": r[0], "server": r[1], "state": r[2], "code": r[3] or None, "from": r[4],
          "t": int(r[5]), "end": int(r[6]) if r[6] else None}
         for r in sql("select id, server_id, state, error_code, params->>'from_node', "
                      "(extract(epoch from created_at) * 1000)::bigint, "
                      "(extract(epoch from finished_at) * 1000)::bigint from jobs where type = 'recover'")]
recovered_ev = collections.Counter(d.get("job_id") for _, d in hev["server.recovered"])
lost_ev = {d["server_id"]: ms for ms, d in hev["server.lost"]}
for ms, d in hev["server.recovered"]:
    if d.get("node_id") == d.get("from_node") or dead_at(d.get("node_id"), ms):
        violate(D_WHERE, "server %s at %d onto %s (from %s)" % (d["server_id"], ms, nodes.get(d.get("node_id")),
                                                                nodes.get(d.get("from_node"))))


def later(sid, d):
    """Succeeded recoveries of SID after death D, from another node."""
    return [j for j in rjobs if j["server"] == sid and j["state"] == "succeeded"
            and j["t"] > d["t"] and j["from"] != d["node"]]


death_rows = []
back_s = []
for d in deaths:
    end = d["back"] or float("inf")

    def inwin(typ):
        return [ms for ms, x in hev[typ] if x.get("node_id") == d["node"] and d["t"] <= ms <= end]
    sus, fen, fail = inwin("node.suspect"), inwin("node.fenced"), inwin("node.failed")
    if d["back"] is None:
        violate(D_BACK, "%s (%s) dead since %d s" % (d["name"], d["mode"], d["at"]))
    if not sus or len(fen) != 1 or len(fail) != 1 or not sus[0] <= fen[0] <= fail[0]:
        violate(D_FENCE, "%s: %d node.suspect, %d node.fenced, %d node.failed" % (d["name"], len(sus), len(fen), len(fail)))
    mine = [j for j in rjobs if j["from"] == d["node"] and d["t"] <= j["t"] <= end]
    outcome = collections.Counter()
    last = None
    for sid in d["ha"] if d["ha"] is not None else sorted({j["server"] for j in mine}):
        s = srv.get(sid, {"state": "gone", "error": None})
        ok = [j for j in mine if j["server"] == sid and j["state"] == "succeeded"]
        failed = [j for j in mine if j["server"] == sid and j["state"] != "succeeded"]
        if sid in lost_ev:
            what = "lost"
            # failed with the reason, unless its customer terminated it since
            if ok or (s["state"] != "failed" or "local storage" not in (s["error"] or "")) \
                    and s["state"] not in ("terminated", "terminating"):
                violate(D_LOST, "server %s: %s, %d recoveries, error %s" % (sid, s["state"], len(ok), s["error"]))
        elif len(ok) == 1:
            what = "recovered"
            last = max(last or 0, ok[0]["end"])
        elif len(ok) > 1:
            what = "recovered %d times" % len(ok)
            violate(D_ONCE, "server %s of %s: %d succeeded recover jobs" % (sid, d["name"], len(ok)))
        elif [j for j in failed if j["code"] == "node_failed"] and len(later(sid, d)) == 1:
            # its recovery went to a node that died before it ran: recovered from there
            what = "recovered, its first target dead too"
            last = max(last or 0, later(sid, d)[0]["end"])
        elif s["state"] in ("terminated", "terminating"):
            what = s["state"]  # its customer's terminate (a terminating one is a stuck server)
        elif failed and s["state"] == "failed" and (s["error"] or failed[0]["code"]):
            what = "failed (%s)" % failed[0]["code"]
        else:
            what = "not recovered"
            violate(D_ONCE, "server %s of %s: no recovery, %s on %s" % (sid, d["name"], s["state"], nodes.get(s.get("node"))))
        outcome[what] += 1
    secs = lambda ms: "%.1f" % ((ms - d["t"]) / 1000.0) if ms else "-"
    if last:
        back_s.append((last - d["t"]) / 1000.0)
    death_rows.append([d["name"], d["mode"], d["at"], "?" if d["ha"] is None else len(d["ha"]),
                       secs(sus[0] if sus else None), secs(fen[0] if fen else None),
                       secs(fail[0] if fail else None), secs(last),
                       ", ".join("%s %d" % kv for kv in sorted(outcome.items())) or "-",
                       secs(d["back"])])
for j in rjobs:
    want = 1 if j["state"] == "succeeded" else 0
    if recovered_ev[j["id"]] != want:
        violate(D_EVENTS, "recover job %s %s: %d server.recovered" % (j["id"], j["state"], recovered_ev[j["id"]]))
migrated = collections.Counter(d["server_id"] for _, d in hev["server.migrated"])
for sid, n in sql("select server_id, count(*) filter (where state = 'succeeded') from jobs "
                  "where type = 'migrate' group by 1"):
    if migrated[sid] != int(n):
        violate(D_EVENTS, "server %s: %s migrate jobs succeeded, %d server.migrated" % (sid, n, migrated[sid]))
evacuated = collections.Counter(d["evacuation_id"] for _, d in hev["node.evacuated"])
for eid, state in sql("select id, state from evacuations"):
    if evacuated[eid] != (1 if state == "completed" else 0):
        violate(D_EVENTS, "evacuation %s %s: %d node.evacuated" % (eid, state, evacuated[eid]))
for r in sql("""select e.id, x.server_id, x.state, coalesce(x.reason, '') from evacuations e
                  join evacuation_servers x on x.evacuation_id = e.id
                 where e.state = 'completed' and not (x.state in ('moved', 'gone')
                       or (x.state = 'unmovable' and coalesce(x.reason, '') <> ''))"""):
    violate(D_EVAC, "evacuation %s server %s: %s %s" % tuple(r))
table("node deaths (seconds after the kill; back: the node set active again)",
      ["node", "how", "at (s)", "ha servers", "suspect", "fenced", "failed", "all recovered",
       "outcomes", "back"], death_rows or [["(none)"] + ["-"] * 9])
if back_s:
    print("  node death to its last ha server running elsewhere: median %.1f s of %d (heartbeat %s s, "
          "suspect after %s s)" % (statistics.median(back_s), len(back_s),
                                   os.environ.get("SLIPWAY_HEARTBEAT_INTERVAL", "?"),
                                   os.environ.get("SLIPWAY_HA_SUSPECT_S", "?")))
print("  events: " + ", ".join("%s %d" % (t, len(hev[t])) for t in sorted(hev)))

# ---- billing ----
invariant("billing: sw_billing_check() rows (ledger balanced, samples billed once, ...)")
for r in sql("select * from sw_billing_check()"):
    violate("billing: sw_billing_check() rows (ledger balanced, samples billed once, ...)",
            " ".join(r))

# ---- webhooks ----
W_SIG = "webhooks: request with a bad signature"
W_ID = "webhooks: received id is not that event (unknown id, other type or data)"
W_NODEL = "webhooks: received without a delivery for that endpoint"
W_LOST = "webhooks: delivered in PostgreSQL but never received (2xx) by the endpoint"
W_FAIL = "webhooks: delivery failed or not scheduled"
W_FAN = "webhooks: event for an endpoint without a delivery"
for n in (W_SIG, W_ID, W_NODEL, W_LOST, W_FAIL, W_FAN):
    invariant(n)
endpoints = {}  # path -> webhook id
for line in open(os.path.join(DIR, "endpoints")):
    wid, path = line.split()
    endpoints[path] = wid
events = {r[0]: (r[1], r[2]) for r in sql("select id, type, data::text from events")}
deliv = {(r[0], r[1]): r[2] for r in sql(
    "select webhook_id, event_id, state || case when state = 'pending' and next_at is null "
    "then '-unscheduled' else '' end from webhook_deliveries")}
hooks = jsonl("hooks.jsonl")
received = collections.defaultdict(set)  # path -> ids answered 200
for h in hooks:
    if not h["sig_ok"]:
        violate(W_SIG, "%s id %s" % (h["path"], h["id"]))
    ev = events.get(h["id"])
    if ev is None or ev[0] != h["type"] or json.loads(ev[1]) != h["data"]:
        violate(W_ID, "%s id %s type %s" % (h["path"], h["id"], h["type"]))
    wid = endpoints.get(h["path"])
    if wid is None or (wid, h["id"]) not in deliv:
        violate(W_NODEL, "%s id %s" % (h["path"], h["id"]))
    if h["status"] == 200:
        received[h["path"]].add(h["id"])
paths = {w: p for p, w in endpoints.items()}
dstates = collections.Counter()
for (wid, eid), st in deliv.items():
    if wid not in paths:
        continue
    dstates[st] += 1
    if st == "delivered" and eid not in received[paths[wid]]:
        violate(W_LOST, "%s event %s" % (paths[wid], eid))
    elif st not in ("delivered", "pending"):
        violate(W_FAIL, "%s event %s: %s" % (paths[wid], eid, st))
# fan-out: every event made after the endpoint that it may see has a delivery
for wid, eid, etype in sql("""
    select w.id, e.id, e.type from webhook_endpoints w join events e
      on e.created_at > w.created_at and e.type = any (w.events)
     and (exists (select 1 from accounts o where o.id = w.account_id and o.kind = 'operator')
          or e.account_id = w.account_id
          or e.account_id in (select id from accounts c where c.reseller_id = w.account_id))
    where w.state = 'active' and e.fanned_out_at is not null
      and not exists (select 1 from webhook_deliveries d where d.webhook_id = w.id and d.event_id = e.id)"""):
    violate(W_FAN, "%s event %s %s" % (paths.get(wid, wid), eid, etype))

# ---- figures ----
st = collections.Counter(s["state"] for s in srv.values())
jobs = sql("select type, state, count(*) from jobs group by 1, 2 order by 1, 2")
table("servers by final state", ["state", "count"], sorted(st.items()))
jt = collections.defaultdict(dict)
for t, s, n in jobs:
    jt[t][s] = n
jstates = ["succeeded", "failed", "dead", "queued", "running"]
table("jobs by type and final state", ["type"] + jstates,
      [[t] + [jt[t].get(s, 0) for s in jstates] for t in sorted(jt)])
codes = sql("select type, coalesce(error_code, '-'), count(*) from jobs where state in ('failed', 'dead') "
            "group by 1, 2 order by 1, 2")
if codes:
    print("  failed/dead jobs by type and code: " + ", ".join("%s %s: %s" % tuple(r) for r in codes))
dead = {}
for key in redis("--scan", "--pattern", "dead:*").split():
    dead[key] = redis("XLEN", key)
usage = sql("select count(*), count(distinct server_id) from usage_samples")[0]
print("\nother figures")
print("  domains on the nodes: %d; volumes: %d; accepted orders: %d; usage samples: %s (servers: %s)"
      % (ndomains, nvolumes, len(accepted), usage[0], usage[1]))
print("  ledger samples: %d taken, %d while PostgreSQL did not answer"
      % (len(ok_samples), len(samples) - len(ok_samples)))
print("  webhook requests received: %d (answered 200: %d), deliveries: %s"
      % (len(hooks), sum(1 for h in hooks if h["status"] == 200),
         ", ".join("%s %d" % kv for kv in sorted(dstates.items())) or "none"))
print("  Redis dead letters (after the last Redis restart): %s"
      % (", ".join("%s %s" % kv for kv in sorted(dead.items())) or "none"))

table("violations by invariant (0 expected)", ["invariant", "violations"],
      [[k, v] for k, v in violations.items()])
for k, ex in examples.items():
    if ex:
        print("  %s, e.g.:" % k)
        for e in ex:
            print("    - %s" % e)
total = sum(violations.values())
print("\nsoak: %d violation%s" % (total, "" if total == 1 else "s"))
sys.exit(1 if total else 0)
