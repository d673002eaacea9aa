#!/usr/bin/env python3
"""Sends real requests to nginx on 127.0.0.1:PORT and checks what the client got and, from the
echo backends' answers, what each backend received.

    check.py PORT
"""
import http.client
import json
import sys

PORT = int(sys.argv[1])
failures = []


def request(method, target, headers):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, [(k.lower(), v) for k, v in resp.getheaders()], body


def header(headers, name):
    values = [v for k, v in headers if k == name]
    return values[0] if len(values) == 1 else (None if not values else values)


def check(what, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + what + ("" if cond else f": {detail}"))
    if not cond:
        failures.append(what)


def forwarded(what, method, target, headers, backend, path, expect_headers=(), absent=()):
    status, resp_headers, body = request(method, target, headers)
    if status != 200:
        check(what, False, f"status {status}: {body[:200]!r}")
        return None, None
    seen = json.loads(body)
    got = dict((k, v) for k, v in seen["headers"])
    problems = []
    if seen["backend"] != backend:
        problems.append(f"backend {seen['backend']} != {backend}")
    if seen["path"] != path:
        problems.append(f"path {seen['path']} != {path}")
    for k, v in expect_headers:
        if got.get(k) != v:
            problems.append(f"backend got {k}: {got.get(k)!r}, expected {v!r}")
    for k in absent:
        if k in got:
            problems.append(f"backend got {k}: {got[k]!r}, expected none")
    check(what, not problems, "; ".join(problems))
    return seen, resp_headers


host = [("Host", "app.test")]

# Header matches: the rule with a header match wins over the one without.
forwarded("header match x-version: 2 -> api-v2", "GET", "/api/items", host + [("X-Version", "2")],
          "api-v2", "/api/items")
forwarded("no header -> api-v1", "GET", "/api/items?page=2", host, "api-v1", "/api/items?page=2")
forwarded("other header value -> api-v1", "GET", "/api/items", host + [("X-Version", "3")],
          "api-v1", "/api/items")

# Prefix precedence: the longest matching PathPrefix wins, whatever the rule order.
forwarded("longer prefix /api/admin beats /api", "GET", "/api/admin/users", host, "admin",
          "/api/admin/users")
forwarded("/api/administrator is not under /api/admin", "GET", "/api/administrator", host,
          "api-v1", "/api/administrator")
forwarded("catch-all / -> web", "GET", "/anything", host, "web", "/anything")

# The canonical path is what is routed and what the backend receives.
forwarded("dot segments are removed before routing", "GET", "/static/../api/admin/x", host,
          "admin", "/api/admin/x")
forwarded("host is case-insensitive with a port", "GET", "/api/x", [("Host", f"APP.test:{PORT}")],
          "api-v1", "/api/x")

# Redirects are answered by nginx; no backend sees them.
status, headers, body = request("GET", "/old/page?q=1", host)
check("redirect status 301", status == 301, status)
check("redirect location", header(headers, "location") == f"http://app.test:{PORT}/new/page?q=1",
      header(headers, "location"))
check("redirect does not reach a backend", header(headers, "x-backend") is None, headers)

# Header edits and rewrites.
seen, resp = forwarded(
    "request header edits and path rewrite", "GET", "/edit/thing?x=1",
    host + [("X-Drop", "1"), ("X-Add", "first"), ("X-Set", "old1"), ("x-set", "old2")],
    "web", "/rewritten/thing?x=1",
    expect_headers=[("x-set", "yes"), ("x-add", "first,more"), ("host", "internal.test")],
    absent=["x-drop"])
if resp is not None:
    check("response header added", header(resp, "x-served-by") == "gateway", resp)
    check("response header removed", header(resp, "x-backend-secret") is None, resp)
    check("response header set", header(resp, "x-backend") == "rewritten", resp)
    check("only one x-set reached the backend",
          [v for k, v in seen["headers"] if k == "x-set"] == ["yes"], seen["headers"])
_, resp = forwarded("no edits elsewhere", "GET", "/api/x", host, "api-v1", "/api/x")
if resp is not None:
    check("backend response headers untouched elsewhere",
          header(resp, "x-backend-secret") == "do-not-leak" and header(resp, "x-served-by") is None,
          resp)

# Answers nginx gives itself.
status, headers, _ = request("GET", "/", [("Host", "nowhere.test")])
check("unknown host -> 404", status == 404, status)
status, _, _ = request("GET", "/broken", host)
check("invalid backendRef -> 500", status == 500, status)
status, _, _ = request("GET", "/%2e%2e/%2Fetc", host)
check("encoded slash -> 400", status == 400, status)

if failures:
    print(f"{len(failures)} checks failed")
    sys.exit(1)
print("all nginx checks passed")
