"""
The authorisation matrix: every route the daemon serves, by every kind of
caller (no token, a wrong token, each role unscoped and scoped to 南湖街道),
on a node or alert inside and outside the caller's scope.  A missing or
unknown token gets 401; a role too weak or an object out of scope 403
`forbidden`, and every 403 leaves an `access.denied` row in the audit table
naming the token.  The route table of daemon/http.c is read too, so a route
added there without a row here fails the test.
"""

import collections
import json
import os
import re
import sqlite3
import stat
import time

import pytest

from conftest import (ADMIN, CJD, HL, NANHU_VIEWER, NH, NHC, SRCDIR, TOKENS,
                      VIEWER, BASE_ROWS, Factory, Token, scaled,
                      to_csv)
from test_alertmanager import notification

NANHU_ADMIN = Token("nanhu-admin", "admin", [NH])
CITY_OP = Token("matrix-city-op", "operator")
NANHU_OP = Token("matrix-nanhu-op", "operator", [NH])
BAD = Token("not-configured", "admin")		# a secret the daemon never saw
CALLERS = [ADMIN, NANHU_ADMIN, CITY_OP, NANHU_OP, VIEWER, NANHU_VIEWER]
RANK = {"viewer": 1, "operator": 2, "admin": 3}

ZHANG = "13800000001"	# 张伟, grid leader in 南湖社区 (in scope)
LIU = "13900000011"	# 刘洋, grid leader in 陈家店村 (out of scope)


def alert_body(target):
    return json.dumps({"kind": "notice", "title": "权限测试",
                       "body": "授权矩阵测试。", "targets": [target]},
                      ensure_ascii=False)


class Route:
    """One row of the matrix: how to call it for a side ("in" or "out")."""

    def __init__(self, method, table_path, min_role, path, body=None,
                 ctype=None, scoped=True):
        self.method = method
        self.table_path = table_path	# as in http.c's route table
        self.min_role = min_role	# None: no token needed
        self.path = path		# side -> path (side is "in" or "out")
        self.body = body or (lambda side: None)
        self.ctype = ctype
        self.scoped = scoped		# an object a scope can exclude

    def __repr__(self):
        return "%s %s" % (self.method, self.path("in"))


def by_side(inside, outside):
    return lambda side: inside if side == "in" else outside


def alert_path(fmt):
    return lambda side: fmt % ALERTS[side]


# Filled by the module fixture: side -> alert id, and its code (A7).
ALERTS = {"in": "ID", "out": "ID"}
CODES = {}

ROUTES = [
    Route("GET", "/", None, lambda s: "/", scoped=False),
    Route("GET", "/healthz", None, lambda s: "/healthz", scoped=False),
    Route("GET", "/metrics", "viewer", lambda s: "/metrics", scoped=False),
    Route("GET", "/v1/roster", "viewer",
          by_side("/v1/roster?under=" + NHC, "/v1/roster?under=" + CJD)),
    Route("POST", "/v1/roster", "admin",
          lambda s: "/v1/roster?mode=merge",
          body=by_side(to_csv([r for r in BASE_ROWS if r[0] == NH]),
                       to_csv([r for r in BASE_ROWS if r[0] == HL])),
          ctype="text/csv"),
    Route("GET", "/v1/roster.csv", "viewer",
          by_side("/v1/roster.csv?under=" + NH, "/v1/roster.csv?under=" + HL)),
    Route("GET", "/v1/roster.html", "viewer",
          by_side("/v1/roster.html?under=" + NH,
                  "/v1/roster.html?under=" + HL)),
    Route("GET", "/v1/nodes", "viewer", lambda s: "/v1/nodes", scoped=False),
    Route("GET", "/v1/nodes/", "viewer",
          by_side("/v1/nodes/" + NHC, "/v1/nodes/" + CJD)),
    Route("GET", "/v1/alerts", "viewer", lambda s: "/v1/alerts",
          scoped=False),
    Route("POST", "/v1/alerts", "operator", lambda s: "/v1/alerts",
          body=by_side(alert_body(NHC), alert_body(CJD)),
          ctype="application/json"),
    Route("GET", "/v1/alerts/", "viewer", alert_path("/v1/alerts/%s")),
    Route("GET", "/v1/alerts/", "viewer",
          alert_path("/v1/alerts/%s/recipients")),
    Route("GET", "/v1/alerts/", "viewer", alert_path("/v1/alerts/%s/report")),
    Route("GET", "/v1/alerts/", "viewer",
          alert_path("/v1/alerts/%s/report?format=csv")),
    Route("GET", "/v1/alerts/", "viewer",
          alert_path("/v1/alerts/%s/report?format=html")),
    Route("POST", "/v1/alerts/", "operator",
          alert_path("/v1/alerts/%s/ack"),
          body=by_side(json.dumps({"phone": ZHANG, "response": 1}),
                       json.dumps({"phone": LIU, "response": 1})),
          ctype="application/json"),
    # Last of the alert routes: it closes the alerts for what follows.
    Route("POST", "/v1/alerts/", "operator",
          alert_path("/v1/alerts/%s/cancel")),
    Route("POST", "/v1/inbound/alertmanager", "operator",
          lambda s: "/v1/inbound/alertmanager",
          body=by_side(json.dumps(notification(group="in")),
                       json.dumps(notification(
                           group="out", labels={"sanzhang_targets": CJD}))),
          ctype="application/json"),
    # The gateways' and the recipients' routes carry their own credential
    # (the channel's secret, the link's MAC): a bearer token is no matter.
    Route("GET", "/v1/inbound/", None, lambda s: "/v1/inbound/hold",
          scoped=False),
    Route("POST", "/v1/inbound/", None, lambda s: "/v1/inbound/hold",
          scoped=False),
    Route("GET", "/a/", None, lambda s: "/a/AAAAAAAAAAAAAAAAAAAAAAAA",
          scoped=False),
    Route("POST", "/a/", None, lambda s: "/a/AAAAAAAAAAAAAAAAAAAAAAAA",
          body=lambda s: "response=1",
          ctype="application/x-www-form-urlencoded", scoped=False),
]

ROUTE_RE = re.compile(r'\{\s*"([^"]*)",\s*(?:true|false),\s*EVHTTP_REQ_(\w+),')


def route_table():
    """(method, path) of every entry of http_routes[] in daemon/http.c."""
    with open(os.path.join(SRCDIR, "daemon", "http.c"), encoding="utf-8") as f:
        src = f.read()
    m = re.search(r"http_routes\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert m, "no http_routes[] table in daemon/http.c"
    return {(meth, path) for path, meth in ROUTE_RE.findall(m.group(1))}


def test_every_route_is_in_the_matrix():
    table = route_table()
    assert len(table) >= 15, table
    covered = {(r.method, r.table_path) for r in ROUTES}
    assert table - covered == set(), (
        "routes in daemon/http.c missing from the matrix: %r"
        % sorted(table - covered))
    assert covered - table == set(), sorted(covered - table)


@pytest.fixture(scope="module")
def matrix(request):
    f = Factory()
    d = f(name="matrix", tokens=TOKENS + [NANHU_ADMIN, CITY_OP, NANHU_OP])
    d.load()
    for side, target in (("in", NHC), ("out", CJD)):
        r = d.request("POST", "/v1/alerts", token=ADMIN,
                      body=alert_body(target), content_type="application/json")
        assert r.status == 201, r
        ALERTS[side] = r.json()["id"]
        CODES[side] = r.json()["code"]
    yield d
    f.finish(request.session.testsfailed > 0)


def denials(d):
    """Counter of (actor, target) over the audit's access.denied rows."""
    con = sqlite3.connect("file:%s?mode=ro" % d.db_path, uri=True, timeout=5)
    try:
        return collections.Counter(con.execute(
            "SELECT actor, target FROM audit WHERE action = 'access.denied'"))
    finally:
        con.close()


def wait_denial(d, before, actor, timeout=5.0):
    """The target of the one new denial row by actor since before."""
    end = time.monotonic() + scaled(timeout)
    while True:
        new = denials(d) - before
        mine = [t for (a, t), n in new.items() if a == actor for _ in range(n)]
        if mine or time.monotonic() > end:
            return mine
        time.sleep(0.02)


def expected(route, token, side):
    if route.min_role is None:
        return "open"
    if token is None or token is BAD:
        return 401
    if RANK[token.role] < RANK[route.min_role]:
        return 403
    if route.scoped and token.scope and side == "out":
        return 403
    return "ok"


def denied_target(route, token, side):
    """What the audit row of a refusal names: the path for a role too weak,
    else the object out of scope (a node, an alert, the roster)."""
    if RANK[token.role] < RANK[route.min_role]:
        return route.path(side).split("?")[0]
    if route.table_path.startswith("/v1/alerts/"):
        return CODES[side]
    if route.method == "POST" and route.table_path == "/v1/roster":
        return "roster"
    if route.table_path in ("/v1/roster.csv", "/v1/roster.html"):
        return HL
    return CJD


def call(d, route, token, side):
    body = route.body(side)
    return d.request(route.method, route.path(side), body=body, token=token,
                     content_type=route.ctype if body is not None else None)


@pytest.mark.parametrize("route", ROUTES, ids=repr)
def test_matrix(matrix, route):
    d = matrix
    wrong = []
    for token in [None, BAD] + CALLERS:
        for side in (("in", "out") if route.scoped else ("in",)):
            want = expected(route, token, side)
            before = denials(d)
            r = call(d, route, token, side)
            who = token.name if token else "(none)"
            if r.status >= 500:
                wrong.append((who, side, want, r))
            elif want == 401:
                if r.status != 401 or r.error()["code"] != "unauthorized" \
                        or "www-authenticate" not in r.headers:
                    wrong.append((who, side, want, r))
            elif want == 403:
                if r.status != 403 or r.error()["code"] != "forbidden":
                    wrong.append((who, side, want, r))
                elif wait_denial(d, before, token.name) != [
                        denied_target(route, token, side)]:
                    wrong.append((who, side, "audit row for %s" %
                                  denied_target(route, token, side),
                                  denials(d) - before))
            elif r.status in (401, 403):
                wrong.append((who, side, want, r))
            if want != 403 and (denials(d) - before):
                wrong.append((who, side, "no audit row", denials(d) - before))
    assert not wrong, "\n".join("%-18s %-3s want %s: %r" % w for w in wrong)


def test_no_token_and_unknown_tokens_are_not_audited(matrix):
    """A 401 has no token name to write: it is logged, not audited, so
    anonymous noise cannot fill the audit table."""
    before = len(matrix.audit_rows())
    for _ in range(5):
        assert matrix.get("/v1/nodes", token=BAD).status == 401
    time.sleep(0.3)
    assert len(matrix.audit_rows()) == before


def test_control_socket_is_admin_without_a_token(matrix):
    d = matrix
    mode = stat.S_IMODE(os.stat(d.sock).st_mode)
    assert mode & 0o007 == 0, "control socket open to others: %o" % mode
    for route in ROUTES:
        if route.min_role is None:
            continue
        for side in ("in", "out"):
            body = route.body(side)
            h = {"Content-Type": route.ctype} if body is not None else {}
            # A wrong bearer token changes nothing on the socket either.
            for extra in ({}, {"Authorization": "Bearer " + BAD.secret}):
                r = d.unix(route.method, route.path(side), body=body,
                           headers=dict(h, **extra))
                assert r.status not in (401, 403) and r.status < 500, (
                    route, side, extra, r)
