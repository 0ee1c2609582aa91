#!/usr/bin/env python3
"""hostile.py - hostile tenants: an attacker with a valid customer token and,
separately, a valid reseller token (issue 7). Python 3 standard library only.

Run by hostile.sh, which starts PostgreSQL, Redis, two panels on one
database (SW_URL, SW_URL2), an engine, a provisioner and a billing daemon,
and passes SW_OP_TOKEN, SLIPWAY_DATABASE_URL and the inventory's ids
(SW_LOC, SW_PLAN, SW_TPL). `hostile.py main` runs every case but one;
`hostile.py redirect` runs the redirect case against a billing daemon that
allows private addresses. Each case is a row of the table printed at the
end (case, expected, observed, PASS/FAIL/INFO); any FAIL fails the run.
INFO rows record a measured fact or a design choice the case cannot judge.

Actors: reseller R1 (the attacking reseller) with customers A (the
attacking customer) and A2; reseller R2 (the victim) with customer B.
"""
import base64
import concurrent.futures
import http.client as httpclient
import ipaddress
import select
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

URL = os.environ["SW_URL"].rstrip("/")
URL2 = os.environ.get("SW_URL2", URL).rstrip("/")
DB = os.environ["SLIPWAY_DATABASE_URL"]
OP = os.environ["SW_OP_TOKEN"]
LOC, PLAN, TPL = os.environ.get("SW_LOC"), os.environ.get("SW_PLAN"), os.environ.get("SW_TPL")
HTTP_TIMEOUT = int(os.environ.get("SLIPWAY_HTTP_TIMEOUT", "30"))
PER_IP = int(os.environ.get("SLIPWAY_HTTP_MAX_PER_IP", "512"))
ORDER_RATE = int(os.environ.get("SLIPWAY_ORDER_RATE", "60"))
FAIL_ACCT = int(os.environ.get("SLIPWAY_LOGIN_FAILURES_PER_ACCOUNT", "10"))
FAIL_ADDR = int(os.environ.get("SLIPWAY_LOGIN_FAILURES_PER_ADDRESS", "50"))
AUTHCACHE_TTL_S = 5  # panel/authcache.h SW_AUTHCACHE_TTL_S
T0 = time.monotonic()
ROWS = []
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
UUID_ANY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def log(msg):
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def row(case, expected, observed, ok):
    """ok: True (PASS), False (FAIL) or None (INFO)."""
    verdict = "INFO" if ok is None else ("PASS" if ok else "FAIL")
    ROWS.append((str(case), str(expected), str(observed), verdict))
    log(f"{verdict}: {case}: {observed}")


# ---------------------------------------------------------------- plumbing

def split(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port


def http(method, path, token=None, body=None, headers=None, base=None, raw=None, src=None,
         timeout=20):
    """One request on a fresh connection; returns (status, text, headers).
    body: JSON-encoded; raw: bytes sent as they are. Status 0: no answer."""
    host, port = split(base or URL)
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    elif data is None and method in ("POST", "PATCH", "PUT"):
        data = b""
    c = httpclient.HTTPConnection(host, port, timeout=timeout,
                                   source_address=(src, 0) if src else None)
    try:
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read().decode("utf-8", "replace")
        return r.status, text, dict(r.getheaders())
    except Exception as e:  # refused, reset, timeout: not an answer
        return 0, f"{type(e).__name__}: {e}", {}
    finally:
        c.close()


def rawreq(data, base=None, src=None, timeout=10):
    """Sends bytes on a fresh connection; returns (status, text). Status 0:
    the server closed the connection without an answer."""
    host, port = split(base or URL)
    s = socket.create_connection((host, port), timeout=timeout,
                                 source_address=(src, 0) if src else None)
    try:
        try:
            s.sendall(data)
        except OSError:
            pass
        buf = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, OSError):
                break
            if not chunk:
                break
            buf += chunk
            if b"\r\n\r\n" in buf:
                head, _, rest = buf.partition(b"\r\n\r\n")
                m = re.search(rb"content-length:\s*(\d+)", head, re.I)
                if m and len(rest) >= int(m.group(1)):
                    break
        m = re.match(rb"HTTP/1\.[01] (\d{3})", buf)
        return (int(m.group(1)) if m else 0), buf.decode("utf-8", "replace")
    finally:
        s.close()


def jb(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


def psql(sql):
    r = subprocess.run(["psql", DB, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"psql: {r.stderr.strip()[:500]}")
    return r.stdout.strip()


def q(s):
    return "'" + str(s).replace("'", "''") + "'"


def wait_for(fn, secs, step=0.1):
    end = time.monotonic() + secs
    while True:
        v = fn()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)


def error_shape(text, code=None):
    b = jb(text)
    ok = (isinstance(b, dict) and isinstance(b.get("error"), dict)
          and isinstance(b["error"].get("code"), str) and isinstance(b["error"].get("message"), str))
    return ok and (code is None or b["error"]["code"] == code)


def healthy(base=None):
    return http("GET", "/healthz", base=base)[0] == 200


# ---------------------------------------------------------------- actors

class Acct:
    def __init__(self, label, id, email, password, token=None):
        self.label, self.id, self.email, self.password, self.token = label, id, email, password, token


def mk_account(label, kind, reseller=None, external_id=None):
    email = f"{label.lower()}-{uuid.uuid4().hex[:8]}@hostile.example.com"
    password = f"{label}-hostile-password"
    body = {"kind": kind, "email": email, "name": label, "password": password}
    if reseller:
        body["reseller_id"] = reseller.id
    st, text, _ = http("POST", "/v1/admin/accounts", OP, body)
    if st != 201:
        raise RuntimeError(f"creating {label}: {st} {text}")
    a = Acct(label, jb(text)["id"], email, password)
    if external_id:
        psql(f"UPDATE accounts SET external_id = {q(external_id)} WHERE id = {q(a.id)}")
    a.token = login(a)
    return a


def login(a, src=None):
    st, text, _ = http("POST", "/v1/auth/login", None, {"email": a.email, "password": a.password},
                       src=src)
    if st != 200:
        raise RuntimeError(f"login of {a.label}: {st} {text}")
    return jb(text)["token"]


def order(token, hostname=None):
    return http("POST", "/v1/orders", token, {"plan_id": PLAN, "template_id": TPL,
                                              "hostname": hostname or f"h{uuid.uuid4().hex[:8]}.example.com"})


def server_state(token, sid):
    st, text, _ = http("GET", f"/v1/servers/{sid}", token)
    return (jb(text) or {}).get("state") if st == 200 else None


# ---------------------------------------------------------------- cases

def ids_in(text):
    return set(UUID_ANY.findall(text or ""))


def case_enumeration(R1, A, R2, B, V):
    """V: the victims' objects: kind -> id (B's, R2's)."""
    rnd = lambda: str(uuid.uuid4())
    reads = [("server", "GET", "/v1/servers/{}"), ("server usage", "GET", "/v1/servers/{}/usage"),
             ("order", "GET", "/v1/orders/{}"), ("job", "GET", "/v1/jobs/{}"),
             ("invoice", "GET", "/v1/invoices/{}")]
    writes = [("server", "DELETE", "/v1/servers/{}", None),
              ("server", "POST", "/v1/servers/{}/actions", {"type": "stop"})]
    rs_reads = [("webhook", "GET", "/v1/webhooks/{}/deliveries"),
                ("customer", "GET", "/v1/reseller/customers/{}")]
    rs_writes = [("webhook", "DELETE", "/v1/webhooks/{}", None),
                 ("customer", "PATCH", "/v1/reseller/customers/{}", {"name": "pwned"}),
                 ("customer", "DELETE", "/v1/reseller/customers/{}", None),
                 ("customer", "POST", "/v1/reseller/customers/{}/orders",
                  {"plan_id": PLAN, "template_id": TPL, "hostname": "x.example.com"}),
                 ("server", "POST", "/v1/reseller/servers/{}/suspend", {}),
                 ("server", "POST", "/v1/reseller/servers/{}/terminate", {}),
                 ("token", "DELETE", "/v1/account/tokens/{}", None)]
    plan = [(A, k, m, p, None) for k, m, p in reads] + [(A, k, m, p, b) for k, m, p, b in writes]
    plan += [(R1, k, m, p, None) for k, m, p in reads + rs_reads]
    plan += [(R1, k, m, p, b) for k, m, p, b in writes + rs_writes]
    plan += [(A, "token", "DELETE", "/v1/account/tokens/{}", None)]
    for who, kind, method, pat, body in plan:
        vid = V[kind.split()[0]]
        st1, t1, _ = http(method, pat.format(vid), who.token, body)
        r = rnd()
        st2, t2, _ = http(method, pat.format(r), who.token, body)
        same = st1 == 404 and st2 == 404 and t1.replace(vid, "ID") == t2.replace(r, "ID")
        row(f"{who.label}: {method} {pat.format('<' + kind + ' of R2/B>')}",
            "404, body as for a random id", f"{st1} vs random {st2}{'' if same else ': ' + t1[:120]}",
            same)
    still = psql(f"SELECT s.state || ',' || (SELECT count(*) FROM webhook_endpoints"
                 f" WHERE id = {q(V['webhook'])} AND state = 'active') || ',' || a.name"
                 f" || ',' || a.state FROM servers s, accounts a WHERE s.id = {q(V['server'])}"
                 f" AND a.id = {q(V['customer'])}")
    row("the victims' objects after every write attempt (PG)", "running,1,B,active", still,
        still == "running,1,B,active")

    # Timing: an existing object of another tenant vs an id naming nothing.
    def timed(path):
        t = time.perf_counter()
        st, _, _ = http("GET", path, A.token)
        return (time.perf_counter() - t) * 1000, st
    ex, rn = [], []
    for i in range(200):
        for lst, path in ((ex, f"/v1/servers/{V['server']}"), (rn, f"/v1/servers/{rnd()}")):
            ms, st = timed(path)
            if st == 404:
                lst.append(ms)
    me, mr = statistics.median(ex or [0]), statistics.median(rn or [0])
    gross = abs(me - mr) > max(5.0, 0.5 * min(me, mr))
    row("timing: A GETs B's server vs random ids, 200 each (median ms)",
        "no gross difference (< max(5 ms, 50%))",
        f"existing {me:.2f} ms, random {mr:.2f} ms ({len(ex)}+{len(rn)} answers 404)",
        len(ex) == 200 and len(rn) == 200 and not gross)

    # List cursors and filters set to other tenants' ids.
    for who, path in ((A, "/v1/servers"), (A, "/v1/orders"), (A, "/v1/invoices"),
                      (R1, "/v1/servers"), (R1, "/v1/reseller/servers"),
                      (R1, "/v1/reseller/customers"), (R1, "/v1/webhooks"), (A, "/v1/account/tokens")):
        kind = {"/v1/orders": "order", "/v1/invoices": "invoice", "/v1/reseller/customers": "customer",
                "/v1/webhooks": "webhook", "/v1/account/tokens": "token"}.get(path, "server")
        vid, r = V[kind], rnd()
        st1, t1, _ = http("GET", f"{path}?cursor={vid}&limit=1", who.token)
        st2, t2, _ = http("GET", f"{path}?cursor={r}&limit=1", who.token)
        row(f"{who.label}: GET {path}?cursor=<{kind} of R2/B>", "same answer as a random cursor",
            f"{st1} vs {st2}", st1 == st2 and t1.replace(vid, "ID") == t2.replace(r, "ID")
            and not (ids_in(t1) & set(V.values())))
    st1, t1, _ = http("GET", f"/v1/reseller/servers?customer_id={B.id}", R1.token)
    r = rnd()
    st2, t2, _ = http("GET", f"/v1/reseller/servers?customer_id={r}", R1.token)
    row("R1: GET /v1/reseller/servers?customer_id=<B, R2's customer>", "same as a random id, no B server",
        f"{st1} vs {st2}", st1 == st2 and t1.replace(B.id, "ID") == t2.replace(r, "ID")
        and V["server"] not in t1)
    st, t, _ = http("GET", "/v1/reseller/customers?external_id=victim-ext", R1.token)
    row("R1: GET /v1/reseller/customers?external_id=<B's external id under R2>",
        "nothing of B", f"{st} {t[:100]}", B.id not in t and st in (200, 404))
    st, t, _ = http("POST", "/v1/reseller/customers", R1.token,
                    {"email": f"ext-{uuid.uuid4().hex[:6]}@hostile.example.com", "name": "E",
                     "external_id": "victim-ext"})
    row("R1 creates a customer with B's external id", "201: external ids are per reseller (no oracle)",
        st, st == 201)
    # Emails are global login names (a unique index on lower(email)), so
    # the answer is 409 conflict (API.md), the same whoever holds the email;
    # it tells nothing of B beyond that, and B stays R2's.
    st, t, _ = http("POST", "/v1/reseller/customers", R1.token,
                    {"email": B.email.upper(), "name": "E"})
    holders = psql("SELECT string_agg(id || ':' || coalesce(reseller_id::text, '-'), ' ')"
                   f" FROM accounts WHERE lower(email) = lower({q(B.email)})")
    row("R1 creates a customer with B's email (case-varied)",
        "409 conflict, nothing of B in the body; B the only holder, still R2's",
        f"{st} {t[:80]}; holders {holders}",
        st == 409 and error_shape(t, "conflict") and B.id not in t and R2.id not in t
        and holders == f"{B.id}:{R2.id}")

    # Every id the API handed out is a random UUID v4.
    seen = set()
    for who, path in ((A, "/v1/servers"), (A, "/v1/orders"), (A, "/v1/invoices"),
                      (A, "/v1/account/tokens"), (A, "/v1/account/sessions"),
                      (R1, "/v1/reseller/customers"),
                      (R1, "/v1/webhooks"), (R1, "/v1/reseller/servers"), (OP, "/v1/admin/jobs"),
                      (OP, "/v1/admin/accounts")):
        st, t, _ = http("GET", path + "?limit=200", who if isinstance(who, str) else who.token)
        for it in (jb(t) or {}).get("items", []):
            for k, v in it.items():
                if (k == "id" or k.endswith("_id")) and isinstance(v, str) and UUID_ANY.fullmatch(v):
                    seen.add(v)
    seen |= set(V.values())
    bad = sorted(i for i in seen if not UUID4.match(i))
    row("every id the API shows is a random UUID v4 (version 4, variant 10)",
        "no other", f"{len(seen)} ids, {len(bad)} not v4 {bad[:3]}", len(seen) > 20 and not bad)
    cols = psql("SELECT string_agg(table_name || '.' || column_name || '=' || coalesce(column_default,"
                " 'none'), ' ') FROM information_schema.columns WHERE table_schema = 'public'"
                " AND column_name = 'id' AND data_type <> 'uuid' AND table_name IN ('servers',"
                " 'orders', 'jobs', 'invoices', 'webhook_endpoints', 'accounts', 'api_tokens')")
    row("tenant objects' primary keys are uuid columns (PG)", "all uuid", cols or "all uuid", not cols)


def case_mass_assignment(R1, A, A2, srv):
    forbidden = ["owner_id", "account_id", "reseller_id", "price", "price_amount", "node_id",
                 "state", "role", "kind", "tax_rate_bp", "price_monthly", "price_hourly", "scope"]
    base_order = lambda: {"plan_id": PLAN, "template_id": TPL,
                          "hostname": f"m{uuid.uuid4().hex[:6]}.example.com"}
    targets = [
        ("POST /v1/orders (A)", A, "POST", "/v1/orders", base_order),
        ("POST /v1/reseller/customers/{A}/orders (R1)", R1, "POST",
         f"/v1/reseller/customers/{A.id}/orders", base_order),
        ("POST /v1/servers/{id}/actions (A)", A, "POST", f"/v1/servers/{srv}/actions",
         lambda: {"type": "reboot"}),
        ("POST /v1/reseller/customers (R1)", R1, "POST", "/v1/reseller/customers",
         lambda: {"email": f"ma{uuid.uuid4().hex[:6]}@hostile.example.com", "name": "MA"}),
        ("PATCH /v1/reseller/customers/{A2} (R1)", R1, "PATCH", f"/v1/reseller/customers/{A2.id}",
         lambda: {"name": "A2"}),
        ("POST /v1/account/tokens (A)", A, "POST", "/v1/account/tokens", lambda: {"name": "ma"}),
        ("POST /v1/webhooks (R1)", R1, "POST", "/v1/webhooks",
         lambda: {"url": "https://hooks.example.com/ma", "events": ["order.created"]}),
    ]
    snap_sql = ("SELECT (SELECT count(*) FROM orders) || ',' || (SELECT count(*) FROM servers)"
                " || ',' || (SELECT count(*) FROM jobs) || ',' || (SELECT count(*) FROM accounts)"
                " || ',' || (SELECT count(*) FROM api_tokens) || ',' || (SELECT count(*) FROM"
                " webhook_endpoints) || ',' || (SELECT string_agg(id || kind || coalesce(reseller_id::text,"
                " '') || state || name || tax_rate_bp, ';' ORDER BY id) FROM accounts)"
                " || ',' || (SELECT string_agg(id || coalesce(node_id::text, '') || owner_id || state"
                " || plan_id, ';' ORDER BY id) FROM servers)"
                " || ',' || (SELECT string_agg(id || scope || kind, ';' ORDER BY id) FROM api_tokens)")
    before = psql(snap_sql)
    bad = []
    n = 0
    for label, who, method, path, mk in targets:
        for f in forbidden:
            body = mk()
            body[f] = R1.id if f.endswith("_id") else ("operator" if f in ("role", "kind")
                                                      else ("full" if f == "scope" else 0))
            st, t, _ = http(method, path, who.token, body)
            n += 1
            msg = ((jb(t) or {}).get("error") or {}).get("message", "")
            if st != 400 or "unknown field" not in msg or f not in msg:
                bad.append(f"{label}+{f}: {st} {msg[:60]}")
    after = psql(snap_sql)
    row(f"mass assignment: {len(forbidden)} forbidden fields x {len(targets)} bodies",
        "400 'unknown field \"<f>\"' each", f"{n} tried, {len(bad)} not: {bad[:3]}", not bad)
    row("mass assignment changed nothing (PG: counts, owners, resellers, states, tax, nodes, scopes)",
        "same snapshot", "same" if before == after else "CHANGED", before == after)


def case_headers():
    results = []

    def one(label, expect, got, detail=""):
        st = got[0]
        ok = expect(st)
        results.append(ok)
        want = {is4xx: "a clear 4xx", is400: "400", is401: "401", is413: "413",
                is404: "404 (or 401)", is4xx_or_close: "4xx or closed"}.get(expect, "?")
        row(f"headers: {label}", want, f"{st} {detail}".strip(), ok)

    host = split(URL)
    hdr = f"Host: {host[0]}:{host[1]}\r\n".encode()
    one("Authorization of 100 KiB", is4xx,
        rawreq(b"GET /v1/account HTTP/1.1\r\n" + hdr + b"Authorization: Bearer " + b"a" * 102400
               + b"\r\nConnection: close\r\n\r\n"))
    one("Authorization of 8 KiB", is401,
        http("GET", "/v1/account", "a" * 8192)[:1])
    one("2000 headers", is4xx,
        rawreq(b"GET /healthz HTTP/1.1\r\n" + hdr + b"".join(b"X-H%d: v\r\n" % i for i in range(2000))
               + b"Connection: close\r\n\r\n"))
    one("header value with NUL", is4xx,
        rawreq(b"GET /v1/account HTTP/1.1\r\n" + hdr + b"Authorization: Bearer ab\x00cd\r\n"
               b"Connection: close\r\n\r\n"))
    one("header value with a bare CR", is4xx,
        rawreq(b"GET /v1/account HTTP/1.1\r\n" + hdr + b"Authorization: Bearer ab\rX-Evil: 1\r\n"
               b"Connection: close\r\n\r\n"))
    one("header name with a space (smuggling shape)", is4xx,
        rawreq(b"POST /v1/auth/login HTTP/1.1\r\n" + hdr + b"Content-Length : 5\r\n"
               b"Connection: close\r\n\r\n{}{}{"))
    one("Content-Length and chunked together", is4xx,
        rawreq(b"POST /v1/auth/login HTTP/1.1\r\n" + hdr + b"Content-Length: 4\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n"))
    one("URL of 100 KiB", is4xx,
        rawreq(b"GET /v1/servers/" + b"a" * 102400 + b" HTTP/1.1\r\n" + hdr + b"Connection: close\r\n\r\n"))
    one("path of 4 KiB (a non-UUID id)", is404,
        http("GET", "/v1/servers/" + "a" * 4096)[:1])
    tok = A_TOKEN[0]
    st, t, _ = http("POST", "/v1/account/tokens", tok, {"name": "ik"},
                    headers={"Idempotency-Key": "k" * 300})
    one("Idempotency-Key of 300 bytes", is400, (st,), t[:80])
    st, t, _ = http("POST", "/v1/account/tokens", tok, {"name": "ik"},
                    headers={"Idempotency-Key": "k" * 60000})
    one("Idempotency-Key of 60 KB", is4xx, (st,), t[:60])
    st, t, _ = http("POST", "/v1/account/tokens", tok, raw=b'{"name": "\xff\xfe\xc0\xaf"}',
                    headers={"Content-Type": "application/json"})
    one("invalid UTF-8 in JSON", is400, (st,), t[:80])
    st, t, _ = http("POST", "/v1/account/tokens", tok, raw=b'{"name": "a\\u0000b"}',
                    headers={"Content-Type": "application/json"})
    one("\\u0000 in a JSON string", is400, (st,), t[:80])
    deep = b'{"name": ' + b"[" * 100000 + b"]" * 100000 + b"}"
    st, t, _ = http("POST", "/v1/account/tokens", tok, raw=deep,
                    headers={"Content-Type": "application/json"})
    one("JSON nested 100000 deep", is400, (st,), t[:80])
    st, t, _ = http("POST", "/v1/account/tokens", tok, raw=b'{"name": "a", "name": "b"}',
                    headers={"Content-Type": "application/json"})
    one("duplicate keys in JSON", is400, (st,), t[:80])
    st, t, _ = http("POST", "/v1/account/tokens", tok, raw=b'{"name": "a"} {"name": "b"}',
                    headers={"Content-Type": "application/json"})
    one("two JSON documents in one body", is400, (st,), t[:80])
    one("body of 2 MiB with Content-Length", is413,
        rawreq(b"POST /v1/account/tokens HTTP/1.1\r\n" + hdr + b"Authorization: Bearer "
               + tok.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
               b"Connection: close\r\n\r\n" % (2 << 20) + b"x" * (2 << 20), timeout=20))
    big = b"x" * (2 << 20)
    chunked = b"".join(b"%x\r\n" % len(big[i:i + 65536]) + big[i:i + 65536] + b"\r\n"
                       for i in range(0, len(big), 65536)) + b"0\r\n\r\n"
    one("body of 2 MiB chunked (no Content-Length)", is413,
        rawreq(b"POST /v1/account/tokens HTTP/1.1\r\n" + hdr + b"Authorization: Bearer "
               + tok.encode() + b"\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
               b"Connection: close\r\n\r\n" + chunked, timeout=20))
    st, t, _ = http("POST", "/v1/account/tokens", tok, raw=b"Content-Length: 99999999999999999999",
                    headers={"Content-Length": "99999999999999999999"})
    one("absurd Content-Length", is4xx, (st,), t[:60])
    st, t, _ = http("POST", "/v1/account/tokens", tok, raw=b"name=x",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    one("a form body (wrong Content-Type)", is400, (st,), t[:80])
    st, t, _ = http("POST", "/v1/account/tokens", tok, raw=b'{"name": "ct"}',
                    headers={"Content-Type": "text/plain"})
    row("headers: JSON sent as text/plain", "bearer auth, no cookies: no CSRF; accepted or 415",
        st, None if st in (201, 415) else False)
    st, t, _ = http("POST", "/v1/account/tokens", tok, raw=b'[1,2,3]',
                    headers={"Content-Type": "application/json"})
    one("a JSON array body", is400, (st,), t[:80])
    st, t, _ = http("GET", "/v1/account", None, headers={"Authorization": "Basic " +
                                                         base64.b64encode(b"a:b").decode()})
    one("Basic instead of Bearer", is401, (st,))
    one("HTTP/0.9-style request line", is4xx_or_close,
        rawreq(b"GET /healthz\r\n\r\n"))
    one("garbage request line", is4xx_or_close,
        rawreq(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(200)))
    ok = healthy() and healthy(URL2)
    row("the panels keep serving after the malformed requests", "/healthz 200 on both", ok, ok)
    st, t, _ = http("GET", "/v1/account", tok)
    row("and A's token still works", 200, st, st == 200)


def is4xx(s):
    return 400 <= s < 500


def is400(s):
    return s == 400


def is401(s):
    return s == 401


def is413(s):
    return s == 413


def is404(s):
    return s in (401, 404)


def is4xx_or_close(s):
    return s == 0 or 400 <= s < 500


A_TOKEN = [None]


def closed_now(socks, wait=0.2):
    """The sockets of socks the peer has closed (readable: EOF or reset;
    the panel never sends unasked)."""
    if not socks:
        return set()
    r, _, _ = select.select(socks, [], [], wait)
    out = set()
    for s in r:
        try:
            if not s.recv(4096):
                out.add(s)
        except OSError:
            out.add(s)
    return out


def mark_closed(conns):
    gone = closed_now([c[0] for c in conns if c[0] is not None])
    for c in conns:
        if c[0] in gone:
            c[0].close()
            c[0] = None


def case_slow_clients():
    """Slowloris on panel 1 (per-address limit SLIPWAY_HTTP_MAX_PER_IP) from
    127.0.0.2, slow bodies from 127.0.0.3; a normal client on 127.0.0.1."""
    host, port = split(URL)
    stop = threading.Event()
    socks, held = [], []
    lock = threading.Lock()
    n_attack = PER_IP * 3
    line = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10000

    def open_slow(src, n, prefix):
        out = []
        for _ in range(n):
            try:
                s = socket.create_connection((host, port), timeout=2, source_address=(src, 0))
                s.sendall(prefix[:1])
                out.append([s, 1, prefix])
            except OSError:
                pass
        return out

    lorises = open_slow("127.0.0.2", n_attack, line)
    body_prefix = (b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Content-Length: 5000\r\n\r\n")
    bodies = []
    for _ in range(10):
        try:
            s = socket.create_connection((host, port), timeout=2, source_address=("127.0.0.3", 0))
            s.sendall(body_prefix)
            bodies.append([s, 0, b"x" * 5000])
        except OSError:
            pass

    def trickle():
        # one more byte every 0.5 s on each connection (under the idle timeout)
        while not stop.is_set():
            for c in lorises + bodies:
                s, i, data = c
                if s is None:
                    continue
                try:
                    s.sendall(data[i:i + 1])
                    c[1] = i + 1
                except OSError:
                    c[0] = None
            stop.wait(0.5)
    th = threading.Thread(target=trickle, daemon=True)
    th.start()
    time.sleep(1.0)
    lat = []
    for _ in range(120):
        t = time.perf_counter()
        st, _, _ = http("GET", "/healthz", timeout=5)
        lat.append((time.perf_counter() - t) * 1000 if st == 200 else 99999)
        time.sleep(0.03)
    lat.sort()
    p99 = lat[int(len(lat) * 0.99) - 1]
    row(f"slowloris: {n_attack} trickling connections from 127.0.0.2 + 10 slow bodies from"
        f" 127.0.0.3; a normal client's /healthz", "all 200, p99 < 1000 ms",
        f"p50 {lat[len(lat) // 2]:.1f} ms, p99 {p99:.1f} ms, max {lat[-1]:.1f} ms", p99 < 1000)
    st, _, _ = http("GET", "/v1/account", A_TOKEN[0])
    row("slowloris: an authenticated request meanwhile", 200, st, st == 200)
    mark_closed(lorises)
    mark_closed(bodies)
    alive = sum(1 for c in lorises if c[0] is not None)
    row(f"slowloris: connections from 127.0.0.2 the panel keeps (per-IP limit {PER_IP})",
        f"at most {PER_IP}", f"{alive} of {len(lorises)} still open", alive <= PER_IP)
    alive_b = sum(1 for c in bodies if c[0] is not None)
    row("slow bodies (a byte every 0.5 s) are still being read", "open (not idle)", alive_b,
        alive_b == len(bodies))
    # Now everyone goes silent: the panel must close them after its timeout.
    stop.set()
    th.join()
    t0 = time.monotonic()
    conns = [c[0] for c in lorises + bodies if c[0] is not None]
    closed_at = {}
    while time.monotonic() - t0 < HTTP_TIMEOUT + 8 and len(closed_at) < len(conns):
        for s in closed_now([s for s in conns if s not in closed_at]):
            closed_at[s] = time.monotonic() - t0
    last = max(closed_at.values()) if closed_at else -1
    row(f"idle connections are closed after SLIPWAY_HTTP_TIMEOUT={HTTP_TIMEOUT} s",
        f"all {len(conns)} closed within {HTTP_TIMEOUT + 3} s of silence",
        f"{len(closed_at)} closed, the last after {last:.1f} s",
        len(closed_at) == len(conns) and last <= HTTP_TIMEOUT + 3)
    for s in conns:
        s.close()
    # A connection that never sends anything.
    s = socket.create_connection((host, port), timeout=HTTP_TIMEOUT + 8)
    t0 = time.monotonic()
    try:
        s.recv(1)
    except OSError:
        pass
    dt = time.monotonic() - t0
    s.close()
    row("a connection that sends nothing is closed", f"after ~{HTTP_TIMEOUT} s",
        f"after {dt:.1f} s", HTTP_TIMEOUT - 1 <= dt <= HTTP_TIMEOUT + 3)


def case_connection_limit():
    """Panel 2 holds at most SLIPWAY_HTTP_MAX_CONNECTIONS=24 (no per-IP
    limit): 60 idle connections from several addresses, then count."""
    host, port = split(URL2)
    conns = []
    for i in range(60):
        try:
            s = socket.create_connection((host, port), timeout=2,
                                         source_address=(f"127.0.1.{1 + i % 4}", 0))
            conns.append(s)
        except OSError:
            pass
    time.sleep(0.5)
    for s in conns:
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        except OSError:
            pass
    answered, closed = set(), set()
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        pending = [s for s in conns if s not in answered and s not in closed]
        if not pending:
            break
        r, _, _ = select.select(pending, [], [], 0.1)
        for s in r:
            try:
                d = s.recv(4096)
            except OSError:
                d = b""
            (answered if d.startswith(b"HTTP/1.1 200") else closed).add(s)
    row("panel 2 (SLIPWAY_HTTP_MAX_CONNECTIONS=24): 60 connections from 4 addresses, each asks"
        " /healthz", "at most 24 served at once (the rest refused or left waiting)",
        f"{len(answered)} served, {len(closed)} closed, {len(conns) - len(answered) - len(closed)}"
        " waiting", 1 <= len(answered) <= 24)
    for s in conns:
        s.close()
    ok = wait_for(lambda: healthy(URL2), 5)
    row("panel 2 answers once they are gone", "/healthz 200", ok, bool(ok))


def case_floods(R1, A, A2, B):
    # Orders per account per minute.
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        fl = list(ex.map(lambda _: order(A2.token), range(3 * ORDER_RATE)))
        st_b, t_b, _ = order(B.token)
        st_b2, _, _ = http("GET", "/v1/servers", B.token)
    acc = sum(1 for s, _, _ in fl if s == 202)
    lim = [t for s, t, _ in fl if s == 429]
    row(f"order flood by A2: {3 * ORDER_RATE} orders at once (SLIPWAY_ORDER_RATE={ORDER_RATE})",
        f"<= {2 * ORDER_RATE} accepted (a window may turn), the rest 429 rate_limited",
        f"{acc} x 202, {len(lim)} x 429, others {sorted(set(s for s, _, _ in fl) - {202, 429})}",
        acc <= 2 * ORDER_RATE and len(lim) >= ORDER_RATE
        and all(error_shape(t, "rate_limited") for t in lim) and acc + len(lim) == len(fl))
    row("during the flood B orders and lists", "202, 200", f"{st_b}, {st_b2}",
        st_b == 202 and st_b2 == 200)
    # Failed logins per account (from 127.0.0.5), then per address (127.0.0.6).
    sts = [http("POST", "/v1/auth/login", None, {"email": A2.email.upper(), "password": "wrong"},
                src="127.0.0.5")[0] for _ in range(FAIL_ACCT + 2)]
    st_right, t_right, _ = http("POST", "/v1/auth/login", None,
                                {"email": A2.email, "password": A2.password}, src="127.0.0.7")
    row(f"login failures for A2's account (limit {FAIL_ACCT}, case-varied email)",
        f"{FAIL_ACCT} x 401, then 429; the right password from elsewhere 429 too",
        f"{sts}, right password: {st_right}",
        sts[:FAIL_ACCT] == [401] * FAIL_ACCT and set(sts[FAIL_ACCT:]) == {429}
        and st_right == 429 and error_shape(t_right, "rate_limited"))
    sts = [http("POST", "/v1/auth/login", None,
                {"email": f"nobody{i}@hostile.example.com", "password": "x"}, src="127.0.0.6")[0]
           for i in range(FAIL_ADDR + 2)]
    st_r1 = http("POST", "/v1/auth/login", None, {"email": R1.email, "password": R1.password},
                 src="127.0.0.6")[0]
    st_other = http("POST", "/v1/auth/login", None, {"email": R1.email, "password": R1.password})[0]
    row(f"login failures from 127.0.0.6 over many accounts (limit {FAIL_ADDR})",
        f"{FAIL_ADDR} x 401 then 429, R1's right password from there 429, from 127.0.0.1 200",
        f"{sts.count(401)} x 401, {sts.count(429)} x 429; R1 there {st_r1}, elsewhere {st_other}",
        sts[:FAIL_ADDR] == [401] * FAIL_ADDR and set(sts[FAIL_ADDR:]) == {429}
        and st_r1 == 429 and st_other == 200)
    st, _, _ = http("GET", "/v1/account", A.token)
    row("A's token works throughout", 200, st, st == 200)


def until_401(token, base, secs, t0):
    """ms from t0 until token is refused on base; None: not within secs."""
    ok = wait_for(lambda: http("GET", "/v1/account", token, base=base)[0] == 401, secs, 0.01)
    return (time.monotonic() - t0) * 1000 if ok else None


def case_tokens(R1, A, A2):
    bound = AUTHCACHE_TTL_S + 0.5

    def both_fail(token, label, t0):
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            f1 = ex.submit(until_401, token, URL, bound, t0)
            f2 = ex.submit(until_401, token, URL2, bound, t0)
            r1, r2 = f1.result(), f2.result()
        ok = r1 is not None and r2 is not None
        row(label, f"401 on both panels within {AUTHCACHE_TTL_S} s (NOTIFY: at once)",
            f"panel1 {'never' if r1 is None else f'{r1:.0f} ms'}, panel2 "
            f"{'never' if r2 is None else f'{r2:.0f} ms'}", ok)

    def warm(token):
        return [http("GET", "/v1/account", token, base=b)[0] for b in (URL, URL, URL2, URL2)]

    # Revocation.
    st, t, _ = http("POST", "/v1/account/tokens", A.token, {"name": "to-revoke"})
    tk = jb(t)
    w = warm(tk["token"])
    t0 = time.monotonic()
    st, _, _ = http("DELETE", f"/v1/account/tokens/{tk['id']}", A.token)
    both_fail(tk["token"], f"a revoked token (cached on both panels: {w}; DELETE {st})", t0)
    # Expiry.
    st, t, _ = http("POST", "/v1/account/tokens", A.token, {"name": "short", "ttl_s": 2})
    tk = jb(t)
    w = warm(tk["token"])
    exp = float(psql(f"SELECT extract(epoch FROM expires_at) FROM api_tokens WHERE id = {q(tk['id'])}"))
    # Use it on both panels (their caches warm) from before its expiry to
    # after: no request that starts after expires_at may succeed.
    seen = []
    while time.time() < exp + 1.0:
        for base in (URL, URL2):
            t = time.time()
            seen.append((t - exp, http("GET", "/v1/account", tk["token"], base=base)[0]))
        time.sleep(0.005)
    late_ok = [d for d, st in seen if st == 200 and d > 0.02]
    last_ok = max([d for d, st in seen if st == 200] or [float("nan")])
    first_no = min([d for d, st in seen if st == 401] or [float("nan")])
    row("an expired token (ttl_s 2, used on both panels across its expires_at)",
        "no request started after expires_at succeeds",
        f"cached {w}; {len(seen)} requests, last 200 started {last_ok:+.3f} s, first 401"
        f" {first_no:+.3f} s from expires_at; {len(late_ok)} late 200s",
        w == [200] * 4 and not late_ok and seen[-1][1] == 401 and seen[0][1] == 200)
    # A read-scope token writing.
    st, t, _ = http("POST", "/v1/account/tokens", A.token, {"name": "ro", "scopes": ["read"]})
    ro = jb(t)["token"]
    sid = psql(f"SELECT id FROM servers WHERE owner_id = {q(A.id)} LIMIT 1")
    writes = [("POST", "/v1/orders", {"plan_id": PLAN, "template_id": TPL, "hostname": "ro.example.com"}),
              ("POST", f"/v1/servers/{sid}/actions", {"type": "stop"}),
              ("DELETE", f"/v1/servers/{sid}", None),
              ("POST", "/v1/account/tokens", {"name": "escalate", "scopes": ["full"]}),
              ("DELETE", f"/v1/account/tokens/{tk['id']}", None)]
    sts = [http(m, p, ro, b)[0] for m, p, b in writes]
    reads = [http("GET", p, ro)[0] for p in ("/v1/account", "/v1/servers")]
    row("a read-scope token: 5 writes, 2 reads", "403 x 5, 200 x 2", f"{sts} {reads}",
        sts == [403] * 5 and reads == [200, 200])
    st, t, _ = http("POST", "/v1/account/tokens", R1.token, {"name": "ro", "scopes": ["read"]})
    ro_r = jb(t)["token"]
    sts = [http("POST", "/v1/reseller/customers", ro_r, {"email": "x@hostile.example.com", "name": "x"})[0],
           http("POST", "/v1/webhooks", ro_r, {"url": "https://h.example.com/", "events": ["order.created"]})[0],
           http("POST", "/v1/account/hook-secret", ro_r, {})[0]]
    row("a reseller's read-scope token: 3 writes", "403 x 3", sts, sts == [403] * 3)
    # Suspension of the account.
    w = warm(A2.token)
    t0 = time.monotonic()
    st, _, _ = http("POST", f"/v1/admin/accounts/{A2.id}/suspend", OP, {})
    both_fail(A2.token, f"A2's token after the operator suspends A2 (cached: {w}; suspend {st})", t0)
    http("POST", f"/v1/admin/accounts/{A2.id}/unsuspend", OP, {})
    # A deleted customer's session token.
    email = f"del-{uuid.uuid4().hex[:6]}@hostile.example.com"
    st, t, _ = http("POST", "/v1/reseller/customers", R1.token,
                    {"email": email, "name": "Del", "password": "del-hostile-password"})
    dacct = Acct("D", jb(t)["id"], email, "del-hostile-password")
    dtok = login(dacct)
    w = warm(dtok)
    t0 = time.monotonic()
    st, _, _ = http("DELETE", f"/v1/reseller/customers/{dacct.id}", R1.token)
    both_fail(dtok, f"a deleted customer's session token (cached: {w}; DELETE {st})", t0)
    st = http("POST", "/v1/auth/login", None, {"email": dacct.email, "password": dacct.password})[0]
    row("the deleted customer logs in again", 401, st, st == 401)


def case_idempotency(R1, A, A2, srv):
    key = "hostile-" + uuid.uuid4().hex
    st1, t1, _ = http("POST", "/v1/account/tokens", A.token, {"name": "idem"},
                      headers={"Idempotency-Key": key})
    st2, t2, h2 = http("POST", "/v1/account/tokens", A2.token, {"name": "idem"},
                       headers={"Idempotency-Key": key})
    b1, b2 = jb(t1) or {}, jb(t2) or {}
    row("A2 reuses A's Idempotency-Key with the same body", "a new token of A2's, not A's replayed",
        f"{st1}/{st2}, same id: {b1.get('id') == b2.get('id')}, replayed header: "
        f"{h2.get('Idempotent-Replayed')}",
        st1 == 201 and st2 == 201 and b1.get("id") != b2.get("id") and b2.get("token")
        and b1.get("token") != b2.get("token") and h2.get("Idempotent-Replayed") is None
        and psql(f"SELECT account_id FROM api_tokens WHERE id = {q(b2.get('id'))}") == A2.id)
    st3, t3, h3 = http("POST", "/v1/account/tokens", A.token, {"name": "idem"},
                       headers={"Idempotency-Key": key})
    row("A retries its own key", "the same token id, secret not replayed",
        f"{st3} replayed={h3.get('Idempotent-Replayed')} token={(jb(t3) or {}).get('token')!r}",
        st3 == 201 and (jb(t3) or {}).get("id") == b1.get("id") and not (jb(t3) or {}).get("token"))
    # Secrets shown once are not kept in idempotency_keys.response.
    secrets = {}
    k = "hostile-wh-" + uuid.uuid4().hex
    st, t, _ = http("POST", "/v1/webhooks", R1.token,
                    {"url": "https://hooks.example.com/idem", "events": ["order.created"]},
                    headers={"Idempotency-Key": k})
    secrets["webhook secret"] = (k, R1.id, (jb(t) or {}).get("secret"))
    k = "hostile-hs-" + uuid.uuid4().hex
    st, t, _ = http("POST", "/v1/account/hook-secret", R1.token, {}, headers={"Idempotency-Key": k})
    secrets["hook secret"] = (k, R1.id, (jb(t) or {}).get("secret"))
    k = "hostile-pw-" + uuid.uuid4().hex
    st, t, _ = http("POST", f"/v1/servers/{srv}/actions", A.token, {"type": "reset_password"},
                    headers={"Idempotency-Key": k})
    secrets["server password (reset_password)"] = (k, A.id, (jb(t) or {}).get("password"))
    secrets["API token"] = (key, A.id, b1.get("token"))
    for label, (k, acct, secret) in secrets.items():
        resp = psql(f"SELECT coalesce(response::text, '') FROM idempotency_keys WHERE key = {q(k)}"
                    f" AND account_id = {q(acct)}")
        ok = bool(secret) and bool(resp) and secret not in resp
        row(f"idempotency_keys.response of a {label}", "kept without the secret",
            f"secret shown: {bool(secret)}, row: {bool(resp)}, secret in row: "
            f"{bool(secret) and secret in resp}", ok)
    # And nowhere else in the database as plain text (the token's hash only).
    dump = subprocess.run(["pg_dump", "--data-only", DB], capture_output=True, text=True).stdout
    tok = secrets["API token"][2]
    row("the API token's secret appears nowhere in a pg_dump", "absent",
        "absent" if tok and tok not in dump else "PRESENT", bool(tok) and tok not in dump)


# ---------------------------------------------------------------- webhooks

class Receiver:
    """Logs every request; /redirect answers 302 to /target on itself."""

    def __init__(self):
        self.hits = []
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                outer.hits.append(self.path)
                if self.path.startswith("/redirect"):
                    self.send_response(307 if self.path.startswith("/redirect307") else 302)
                    self.send_header("Location", f"http://127.0.0.1:{outer.port}/target")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()


def hook_row(account, url):
    wid = str(uuid.uuid4())
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    psql("INSERT INTO webhook_endpoints (id, account_id, url, events, secret) VALUES"
         f" ({q(wid)}, {q(account)}, {q(url)}, '{{order.created}}', {q(secret)})")
    return wid


def delivery_summary(wid):
    """(deliveries, not failed, attempts, attempts with an HTTP status,
    attempts the deliverer refused before connecting: by the address it
    would connect to, or by the URL itself, billing/hooks.c)"""
    r = psql("SELECT count(DISTINCT d.id), count(DISTINCT d.id) FILTER (WHERE d.state <> 'failed'),"
             " count(a.id), count(a.status_code),"
             " count(a.id) FILTER (WHERE a.error LIKE 'refused to connect to %'"
             "  OR a.error = 'the endpoint''s url is not valid')"
             " FROM webhook_deliveries d LEFT JOIN webhook_attempts a"
             f" ON a.delivery_id = d.id WHERE d.webhook_id = {q(wid)}")
    return tuple(int(x) for x in r.split("|"))


def loopback_names():
    """Names (not "localhost", which the panel refuses by name) that
    resolve here to loopback addresses only: the host's own names and the
    aliases /etc/hosts gives 127/8 or ::1 (Debian writes ip6-localhost
    there, Docker too)."""
    cands = [socket.gethostname(), socket.getfqdn()]
    try:
        with open("/etc/hosts") as f:
            for line in f:
                w = line.split("#")[0].split()
                if len(w) > 1 and w[0].startswith(("127.", "::1")):
                    cands += w[1:]
    except OSError:
        pass
    names = []
    for c in cands:
        low = c.lower().rstrip(".")
        if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", low) or low == "localhost" \
                or low.endswith(".localhost") or low in names:
            continue
        try:
            addrs = {a[4][0] for a in socket.getaddrinfo(low, None, proto=socket.IPPROTO_TCP)}
        except OSError:
            continue
        if addrs and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs):
            names.append(low)
    return names[:3]


def deliveries(wid):
    return psql("SELECT coalesce(string_agg(d.state || ':' || coalesce(a.status_code::text, '-')"
                " || ':' || coalesce(a.error, ''), ' | ' ORDER BY a.n), '') FROM webhook_deliveries d"
                f" LEFT JOIN webhook_attempts a ON a.delivery_id = d.id WHERE d.webhook_id = {q(wid)}")


def case_webhooks(R1):
    rcv = Receiver()
    p = rcv.port
    refused = [
        "http://127.0.0.1/", "http://localhost/", "http://LOCALHOST:8080/", "http://x.localhost/", "http://localhost./",
        "http://10.0.0.1/", "http://172.16.0.1/", "http://172.31.255.255/", "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/", "http://[::]/", "http://0.0.0.0/", "http://[fe80::1]/",
        "http://[fc00::1]/", "http://100.64.0.1/", "http://2130706433/", "http://0x7f000001/",
        "http://017700000001/", "http://0177.0.0.1/", "http://127.1/", "http://0x7f.1/",
        "http://[fe80::1%25lo]/", "file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO",
        "ftp://example.com/", "dict://127.0.0.1:6379/", "javascript:alert(1)",
        "http://user:pass@example.com/", "http://example.com@127.0.0.1/", "http://:@127.0.0.1/",
        "http:/example.com/", "http://", "https://[::1]:443/", "http://127.0.0.1:6379/",
        "http://example.com:0/", "http://example.com:99999/", "http://exa mple.com/",
        "http://example.com/\r\nX-Evil: 1",
    ]
    bad = []
    for u in refused:
        st, t, _ = http("POST", "/v1/webhooks", R1.token, {"url": u, "events": ["order.created"]})
        if st not in (400, 422) or not error_shape(t):
            bad.append(f"{u} -> {st}")
    n_rows = psql("SELECT count(*) FROM webhook_endpoints WHERE url = ANY (ARRAY["
                  + ",".join(q(u) for u in refused) + "])")
    row(f"webhook URLs naming internal addresses, odd IP forms, other schemes, credentials"
        f" ({len(refused)})", "each 422 (or 400 when malformed) at creation, no row",
        f"{len(refused) - len(bad)} refused, {n_rows} rows; accepted: {bad[:4]}",
        not bad and n_rows == "0")

    # Names the panel cannot judge (they resolve only at delivery), and rows
    # that bypass the panel (written before the rule, or by hand): the
    # deliverer must refuse to connect.
    loop = loopback_names()
    row("a name other than localhost resolves to loopback here (for the next rows)",
        "at least one (host name or /etc/hosts alias)", loop or "none: add one to /etc/hosts",
        bool(loop))
    names = [f"http://localhost.:{p}/dot"] + [f"http://{h}:{p}/dns" for h in loop]
    made = {}
    for u in names:
        st, t, _ = http("POST", "/v1/webhooks", R1.token, {"url": u, "events": ["order.created"]})
        if st == 201:
            made[u] = jb(t)["id"]
        else:
            row(f"webhook to {u}", "refused at creation or at delivery", f"{st} at creation",
                st in (400, 422))
    for u in (f"http://127.0.0.1:{p}/lit", f"http://[::ffff:127.0.0.1]:{p}/mapped",
              f"http://[::1]:{p}/v6", f"http://2130706433:{p}/dec"):
        made[u + " (row written in PG)"] = hook_row(R1.id, u)
    psql(f"SELECT sw_event_emit('order.created', {q(R1.id)}, '{{}}'::jsonb)")
    def done():
        return all(s[0] > 0 and s[1] == 0 for s in map(delivery_summary, made.values()))
    wait_for(done, 20, 0.25)
    for u, w in made.items():
        n, pending, att, with_status, refused = delivery_summary(w)
        ok = n > 0 and pending == 0 and att >= n and with_status == 0 and refused == att
        row(f"delivery to {u}", "failed; every attempt refused before connecting",
            f"{n} deliveries, {pending} not failed, {att} attempts, {with_status} answered,"
            f" {refused} refused: {deliveries(w)[:90]}", ok)
    row("the receiver on 127.0.0.1 got nothing", "0 requests", len(rcv.hits), not rcv.hits)
    rcv.srv.shutdown()


def case_redirect():
    """With a deliverer that allows private addresses (scripts/up), a 302
    or 307 to another address is never followed."""
    rcv = Receiver()
    R = mk_account("RR", "reseller")
    w302 = hook_row(R.id, f"http://127.0.0.1:{rcv.port}/redirect")
    w307 = hook_row(R.id, f"http://127.0.0.1:{rcv.port}/redirect307")
    psql(f"SELECT sw_event_emit('order.created', {q(R.id)}, '{{}}'::jsonb)")
    wait_for(lambda: all(deliveries(w).startswith("failed") for w in (w302, w307)), 20, 0.25)
    for label, w in (("302", w302), ("307", w307)):
        d = deliveries(w)
        row(f"a webhook answered by a {label} to another address", "not delivered, 3xx recorded",
            d[:120], d.startswith("failed") and f":{label[0]}0" in d)
    row("the redirect's target was never fetched", "/target: 0 requests",
        f"{rcv.hits.count('/target')} (receiver saw {len(rcv.hits)} requests)",
        "/target" not in rcv.hits and len(rcv.hits) >= 2)
    rcv.srv.shutdown()


# ---------------------------------------------------------------- main

def table():
    w = [max(len(r[i]) for r in ROWS + [("case", "expected", "observed", "")]) for i in range(3)]
    w = [min(x, 80) for x in w]
    print()
    print(f"| {'case':<{w[0]}} | {'expected':<{w[1]}} | {'observed':<{w[2]}} | result |")
    print(f"|{'-' * (w[0] + 2)}|{'-' * (w[1] + 2)}|{'-' * (w[2] + 2)}|--------|")
    for r in ROWS:
        cells = [r[i].replace("|", "/").replace("\n", " ") for i in range(3)]
        print(f"| {cells[0]:<{w[0]}} | {cells[1]:<{w[1]}} | {cells[2]:<{w[2]}} | {r[3]:<6} |")
    fails = [r for r in ROWS if r[3] == "FAIL"]
    print(f"\n{len(ROWS)} cases: {sum(r[3] == 'PASS' for r in ROWS)} pass, {len(fails)} fail,"
          f" {sum(r[3] == 'INFO' for r in ROWS)} info")
    return not fails


def main_phase():
    R1 = mk_account("R1", "reseller")
    R2 = mk_account("R2", "reseller")
    A = mk_account("A", "customer", R1)
    A2 = mk_account("A2", "customer", R1)
    B = mk_account("B", "customer", R2, external_id="victim-ext")
    A_TOKEN[0] = A.token
    # Orders that really run: B's server (the victim's) and A's.
    st, t, _ = order(B.token)
    bo = jb(t) or {}
    st2, t2, _ = order(A.token)
    ao = jb(t2) or {}
    if st != 202 or st2 != 202:
        raise RuntimeError(f"orders: {st} {t} / {st2} {t2}")
    bs, as_ = bo["server"]["id"], ao["server"]["id"]
    ok = wait_for(lambda: server_state(B.token, bs) == "running"
                  and server_state(A.token, as_) == "running", 40, 0.25)
    row("B's and A's orders run through provisioner and engine", "both servers running",
        f"{server_state(B.token, bs)}, {server_state(A.token, as_)}", bool(ok))
    st, t, _ = http("POST", "/v1/webhooks", R2.token,
                    {"url": "https://hooks.example.com/victim", "events": ["order.created"]})
    wh = (jb(t) or {}).get("id")
    # A draft invoice of B's appears once billing rates its usage.
    inv = wait_for(lambda: psql("SELECT id FROM invoices WHERE account_id IN"
                                f" ({q(B.id)}, {q(R2.id)}) LIMIT 1"), 30, 0.5)
    row("the victim has an invoice made by billing", "an invoice id", inv or "none", bool(inv))
    V = {"server": bs, "order": bo["order"]["id"], "job": bo["job"]["id"], "invoice": inv or str(uuid.uuid4()),
         "webhook": wh, "customer": B.id,
         "token": psql(f"SELECT id FROM api_tokens WHERE account_id = {q(B.id)} LIMIT 1")}
    steps = [("enumeration", lambda: case_enumeration(R1, A, R2, B, V)),
             ("mass assignment", lambda: case_mass_assignment(R1, A, A2, as_)),
             ("headers", case_headers),
             ("idempotency", lambda: case_idempotency(R1, A, A2, as_)),
             ("webhooks", lambda: case_webhooks(R1)),
             ("slow clients", case_slow_clients),
             ("connection limit", case_connection_limit),
             ("floods", lambda: case_floods(R1, A, A2, B)),
             ("tokens", lambda: case_tokens(R1, A, A2))]
    for name, fn in steps:
        log(f"---- {name}")
        try:
            fn()
        except Exception as e:  # a case that crashes is a failed case
            import traceback
            traceback.print_exc()
            row(f"{name}: the cases ran", "no exception", f"{type(e).__name__}: {e}", False)
    ok = healthy() and healthy(URL2)
    row("both panels still serve at the end", "/healthz 200", ok, ok)


if __name__ == "__main__":
    phase = sys.argv[1] if len(sys.argv) > 1 else "main"
    if phase == "main":
        main_phase()
    else:
        case_redirect()
    sys.exit(0 if table() else 1)
