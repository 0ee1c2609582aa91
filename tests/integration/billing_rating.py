#!/usr/bin/env python3
"""billing_rating.py - the rater against an independent computation.

Generates random server histories (plan periods with prices, resizes inside
a month, periods still open, a reseller's subtree, tax rates, traffic and disk space as
usage samples), stores them, runs `slipwayctl invoice run --draft` and then
`slipwayctl invoice run` (finalization) for two months, and compares every
invoice, line, subtotal, tax and total with what this file computes on its
own from the same histories, in exact fractions (Python's Fraction): the
test passes only with 0 minor units of difference.

This is written apart from core/rate.c on purpose: only the rules of
billing/README.md are shared, not code.

Environment: SLIPWAY_DATABASE_URL; SW_RATING_SERVERS (default 400),
SW_RATING_SEED.
"""
import collections
import json
import math
import os
import random
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from fractions import Fraction

DB = os.environ["SLIPWAY_DATABASE_URL"]
NSERVERS = int(os.environ.get("SW_RATING_SERVERS", "400"))
SEED = int(os.environ.get("SW_RATING_SEED", str(random.randrange(1 << 30))))
rng = random.Random(SEED)
GB = 10 ** 9


def psql(sql):
    r = subprocess.run(["psql", DB, "-qAt", "-v", "ON_ERROR_STOP=1", "-1", "-f", "-"],
                       input=sql, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"psql failed: {r.stderr}")
    return r.stdout


def ts(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S+00")


def month_bounds(y, m):
    a = datetime(y, m, 1, tzinfo=timezone.utc)
    b = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=timezone.utc)
    return int(a.timestamp()), int(b.timestamp())


def half_up(x):
    """round half up of an exact non-negative fraction"""
    return math.floor(x + Fraction(1, 2))


MONTHS = [("2024-02", *month_bounds(2024, 2)), ("2024-03", *month_bounds(2024, 3))]
START, END = MONTHS[0][1] - 5 * 86400, MONTHS[-1][2] + 5 * 86400


def q(v):
    return "NULL" if v is None else "'" + str(v) + "'"


def generate():
    sql = []
    loc, node, tpl = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    sql.append(f"INSERT INTO locations (id, code, name) VALUES ('{loc}', 'r1', 'r1');")
    sql.append(f"INSERT INTO nodes (id, name, location_id, engine_uri, kinds, cpus, ram_mb, disk_gb)"
               f" VALUES ('{node}', 'rn1', '{loc}', 'test:///default', '{{hvm}}', 8, 8192, 100);")
    sql.append(f"INSERT INTO templates (id, name, kind, os) VALUES ('{tpl}', 'rt', 'hvm', 'debian');")
    plans = []
    for i in range(12):
        p = dict(id=uuid.uuid4(), currency=rng.choice(["EUR", "EUR", "USD", "JPY"]))
        plans.append(p)
        sql.append(f"INSERT INTO plans (id, name, kind, vcpus, ram_mb, disk_gb, currency)"
                   f" VALUES ('{p['id']}', 'rate-{i}', 'hvm', 1, 512, 10, '{p['currency']}');")
    accounts = []  # (id, billed id)
    tax = {}
    resellers = []
    for i in range(6):
        r = uuid.uuid4()
        resellers.append(r)
        tax[r] = rng.choice([0, 1900, 2000, 700, 2500, 10000, 1])
        sql.append(f"INSERT INTO accounts (id, kind, email, tax_rate_bp) VALUES ('{r}', 'reseller',"
                   f" 'rr{i}@x', {tax[r]});")
        accounts.append((r, r))
        for k in range(4):
            c = uuid.uuid4()
            sql.append(f"INSERT INTO accounts (id, kind, email, reseller_id, tax_rate_bp) VALUES"
                       f" ('{c}', 'customer', 'rc{i}-{k}@x', '{r}', {rng.choice([0, 1900])});")
            accounts.append((c, r))
    for i in range(30):
        c = uuid.uuid4()
        tax[c] = rng.choice([0, 1900, 2000, 700, 1234, 1])
        sql.append(f"INSERT INTO accounts (id, kind, email, tax_rate_bp) VALUES ('{c}', 'customer',"
                   f" 'oc{i}@x', {tax[c]});")
        accounts.append((c, c))
    servers = []
    for i in range(NSERVERS):
        owner, billed = rng.choice(accounts)
        sid = uuid.uuid4()
        cur = rng.choice(["EUR", "EUR", "USD", "JPY"])
        cands = [p for p in plans if p["currency"] == cur] or plans[:1]
        cur = cands[0]["currency"]
        sql.append(f"INSERT INTO servers (id, owner_id, plan_id, template_id, hostname, state) VALUES"
                   f" ('{sid}', '{owner}', '{cands[0]['id']}', '{tpl}', 's{i}', 'pending');")
        t = rng.randrange(START, MONTHS[-1][2])
        periods = []
        for k in range(rng.choice([1, 1, 1, 2, 3, 5])):
            plan = rng.choice(cands)
            length = rng.choice([rng.randrange(1, 7200), rng.randrange(1, 40 * 86400),
                                 rng.randrange(1, 10 * 86400)])
            h = rng.choice([0, 1, 2, 3, 7, 13, 55, 120, 999])
            m = rng.choice([0, 1, 400, 999, 2000, 20000, h * 744, h * 672 + 1, h * 730 - 1])
            per = dict(plan=plan["id"], start=t, end=t + length, h=h, m=max(m, 0),
                       pbw=rng.choice([0, 1, 3, 100, 1000]), bw=rng.choice([0, 1, 10, 1000]),
                       pdisk=rng.choice([0, 0, 1, 7, 40, 1000]))
            periods.append(per)
            t += length
            if rng.random() < 0.1:
                t += rng.randrange(1, 86400)  # a gap (terminated and a new period is odd, but fine)
        if rng.random() < 0.3:
            periods[-1]["end"] = None
        for per in periods:
            sql.append(
                "INSERT INTO server_periods (server_id, plan_id, price_hourly, price_monthly,"
                " price_bandwidth_gb, bandwidth_gb, price_disk_gb_month, currency, started_at,"
                " ended_at) VALUES"
                f" ('{sid}', '{per['plan']}', {per['h']}, {per['m']}, {per['pbw']}, {per['bw']},"
                f" {per['pdisk']},"
                f" '{cur}', '{ts(per['start'])}', {q(ts(per['end'])) if per['end'] else 'NULL'});")
        # traffic: a few samples per server, some outside the months
        samples = []
        for k in range(rng.randrange(0, 6)):
            at = rng.randrange(START, END)
            rx = rng.choice([0, 10 ** 6, rng.randrange(0, 3000 * GB), rng.randrange(0, 20 * GB)])
            tx = rng.randrange(0, 500 * GB)
            # disk held, over a sample period of up to a day (a petabyte now and then)
            disk = rng.choice([0, rng.randrange(0, 200 * GB), rng.randrange(0, 10 ** 15)])
            per_s = rng.choice([60, 300, 86400])
            samples.append((at, rx, tx, disk, per_s))
            sql.append(
                "INSERT INTO usage_samples (sample_id, server_id, node_id, ts, period_s, cpu_ns,"
                " mem_mb, mem_max_mb, net_rx_bytes, net_tx_bytes, disk_rd_bytes, disk_wr_bytes,"
                " disk_bytes)"
                f" VALUES ('{sid}:{at}', '{sid}', '{node}', to_timestamp({at}), {per_s}, 1, 1, 1,"
                f" {rx}, {tx}, 0, 0, {disk}) ON CONFLICT DO NOTHING;")
        samples = list({s[0]: s for s in samples}.values())
        servers.append(dict(id=sid, owner=owner, billed=billed, currency=cur, periods=periods,
                            samples=samples))
    # usage_hourly follows from the samples (the trigger of 0011)
    return "\n".join(sql), servers, tax


def expected(servers, tax, period, mfrom, mto, now):
    """{(billed, currency): (subtotal, tax, total, sorted lines)}"""
    inv = collections.defaultdict(list)
    for s in servers:
        clipped = []
        for p in s["periods"]:
            a = max(p["start"], mfrom)
            b = min(p["end"] if p["end"] is not None else now, mto, now)
            if b > a:
                clipped.append((p, a, b))
        if not clipped:
            continue
        T = sum(b - a for _, a, b in clipped)
        lines = inv[(str(s["billed"]), s["currency"])]
        for p, a, b in clipped:
            sec = b - a
            amount = half_up(min(Fraction(p["h"] * sec, 3600), Fraction(p["m"] * sec, T)))
            lines.append((str(s["id"]), "server", sec, amount))
        traffic = sum(rx + tx for at, rx, tx, _, _ in s["samples"]
                      if mfrom <= (at // 3600) * 3600 < mto)
        # disk: bytes x seconds of the samples in the month, per GB held the
        # whole calendar month, at the last period's price
        byte_s = sum(d * ps for at, _, _, d, ps in s["samples"] if mfrom <= (at // 3600) * 3600 < mto)
        allowance = math.floor(sum(Fraction(p["bw"] * GB * (b - a), T) for p, a, b in clipped))
        over = max(0, traffic - allowance)
        if over > 0:
            last = max(clipped, key=lambda c: c[0]["start"])[0]
            lines.append((str(s["id"]), "bandwidth", over, half_up(Fraction(over * last["pbw"], GB))))
        last = max(clipped, key=lambda c: c[0]["start"])[0]
        disk_amount = half_up(Fraction(byte_s * last["pdisk"], GB * (mto - mfrom)))
        if disk_amount > 0:
            lines.append((str(s["id"]), "disk", byte_s // (mto - mfrom), disk_amount))
    out = {}
    for (billed, cur), lines in inv.items():
        sub = sum(l[3] for l in lines)
        t = half_up(Fraction(sub * tax[uuid.UUID(billed)], 10000))
        out[(billed, cur)] = (sub, t, sub + t, sorted(lines))
    return out


def actual(period):
    rows = psql(
        "SELECT json_build_object('account', i.account_id, 'currency', i.currency,"
        " 'state', i.state, 'number', i.number, 'subtotal', i.subtotal, 'tax', i.tax,"
        " 'total', i.total, 'lines', (SELECT coalesce(json_agg(json_build_array(l.server_id,"
        " l.kind, l.quantity, l.amount)), '[]') FROM invoice_lines l WHERE l.invoice_id = i.id))"
        f" FROM invoices i WHERE i.period = '{period}'")
    out = {}
    for r in rows.splitlines():
        v = json.loads(r)
        out[(v["account"], v["currency"])] = (
            v["subtotal"], v["tax"], v["total"], sorted(tuple(x) for x in v["lines"]), v["state"])
    return out


def compare(period, want, have, state):
    diff_units = 0
    problems = []
    for key in set(want) | set(have):
        w, h = want.get(key), have.get(key)
        if w is None or h is None:
            problems.append(f"{period} {key}: expected {w}, got {h}")
            diff_units += (w or h)[2]
            continue
        if h[4] != state:
            problems.append(f"{period} {key}: state {h[4]}, expected {state}")
        for i, name in enumerate(["subtotal", "tax", "total"]):
            if w[i] != h[i]:
                diff_units += abs(w[i] - h[i])
                problems.append(f"{period} {key}: {name} expected {w[i]}, got {h[i]}")
        if w[3] != h[3]:
            problems.append(f"{period} {key}: lines differ:\n  expected {w[3]}\n  got      {h[3]}")
            diff_units += sum(abs(a[3] - b[3]) for a, b in zip(w[3], h[3]))
    return diff_units, problems


def ctl(*args):
    r = subprocess.run(["slipwayctl", *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"slipwayctl {' '.join(args)} failed: {r.stderr}")
    return r.stdout.strip()


def main():
    print(f"seed {SEED}, {NSERVERS} servers")
    sql, servers, tax = generate()
    psql(sql)
    now = int(psql("SELECT extract(epoch FROM now())::bigint").strip())
    failed = False
    nlines = 0
    for stage, args, state in [("draft", ["--draft"], "draft"), ("final", [], None)]:
        for period, mfrom, mto in MONTHS:
            print(ctl("invoice", "run", "--period", period, *args))
            want = expected(servers, tax, period, mfrom, mto, now)
            have = actual(period)
            nlines += sum(len(v[3]) for v in want.values())
            # finalized: zero invoices are paid at once, the others open
            if state is None:
                for k in have:
                    st = "paid" if have[k][2] == 0 else "open"
                    if have[k][4] != st:
                        failed = True
                        print(f"FAIL {period} {k}: state {have[k][4]}, expected {st}")
                have = {k: v[:4] + (None,) for k, v in have.items()}
            units, problems = compare(period, want, have, state)
            for p in problems[:20]:
                print("FAIL", p)
            print(f"{stage} {period}: {len(want)} invoices, {units} minor units of difference")
            failed = failed or units != 0 or bool(problems)
    nums = psql("SELECT coalesce(string_agg(number::text, ',' ORDER BY number), '')"
                " FROM invoices").strip()
    n = int(psql("SELECT count(*) FROM invoices").strip())
    if nums != ",".join(str(i) for i in range(1, n + 1)):
        failed = True
        print(f"FAIL numbers are not 1..{n}: {nums[:200]}")
    kinds = psql("SELECT string_agg(kind || ' ' || n, ', ' ORDER BY kind) FROM"
                 " (SELECT kind, count(*) AS n FROM invoice_lines GROUP BY kind) k").strip()
    print(f"{nlines} lines compared ({kinds}); numbers 1..{n}")
    if "disk" not in kinds or "bandwidth" not in kinds:
        failed = True
        print("FAIL the histories made no bandwidth or no disk line: nothing was compared for them")
    # a second run changes nothing
    before = psql("SELECT md5(string_agg(sw_invoice_json(i)::text, '' ORDER BY id)) FROM invoices i")
    for period, _, _ in MONTHS:
        ctl("invoice", "run", "--period", period)
    after = psql("SELECT md5(string_agg(sw_invoice_json(i)::text, '' ORDER BY id)) FROM invoices i")
    if before != after:
        failed = True
        print("FAIL finalizing again changed invoices")
    sys.exit(1 if failed else 0)


main()
