"""
SQL goes through bound parameters only: strings made to break SQL (and
LIKE patterns, NUL bytes, very long values) in every field a caller
controls — roster CSV and JSON, alert JSON, the Idempotency-Key, query
parameters, an operator's answer, inbound callbacks, a token's name —
are stored verbatim or refused with a 4xx, never a 5xx, and the database
stays whole: integrity_check ok, every table there, nothing extra matched.
(A token's name cannot carry such a string: the config refuses it.)
"""

import csv
import io
import json
import sqlite3
import urllib.parse

from conftest import (BASE_ROWS, HEADER, NH, NHC, NHCN, NHN, TOKENS, Token,
                      quote_code, run_daemon)
from test_inbound_auth import reply, sent_alert
from test_tencent import ZHANG, callback, fakes, report, states

assert fakes	# the fixture, imported for the inbound test

EVIL = ["'", "''", '"', "'; DROP TABLE audit; --", "x' OR '1'='1",
        "%", "_", "%_%", "\\", "a\x00b", "1); DELETE FROM posts; --",
        "☃'\"`;", "é" * 20]
LONG = "'" * 5000
SLY = Token("o'brien'); DROP TABLE audit; --%_", "admin")


def csv_text(rows):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(HEADER)
    w.writerows(rows)
    return out.getvalue()


def tables(d):
    con = sqlite3.connect("file:%s?mode=ro" % d.db_path, uri=True, timeout=5)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {name: con.execute('SELECT count(*) FROM "%s"' % name)
                .fetchone()[0] for (name,) in con.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        con.close()


def no_5xx(r, what):
    assert r.status < 500, (what, r)
    return r


def test_evil_strings_everywhere(daemons):
    # A token name made to break SQL never gets in: the config refuses it.
    sly = daemons(start=False, name="sly", tokens=TOKENS + [SLY])
    rc, out, err = run_daemon(["-t", "-c", sly.conf])
    assert rc == 1 and "tokens[4].name" in err, (rc, err)
    d = daemons()
    d.load()
    start = tables(d)
    assert "audit" in start

    # Roster: names and labels (CSV and JSON); refused or stored verbatim.
    stored = []
    for i, s in enumerate(EVIL + [LONG]):
        row = (NH, NHN, NHC, NHCN, "G01", "B%d" % i, "", "building_leader",
               "1", s, "1370000%04d" % i, "")
        r = no_5xx(d.import_csv(csv_text([row]), mode="merge"), s)
        if r.status == 200:
            stored.append(row)
        label = (NH, NHN, NHC, NHCN, s, "", "", "grid_leader", "1", "张三",
                 "1360000%04d" % i, "")
        no_5xx(d.import_csv(csv_text([label]), mode="merge"), s)
        doc = [dict(zip(HEADER, row))]
        doc[0]["channels"] = "webhook=https://x.example/" + s
        no_5xx(d.import_json(doc, mode="merge"), s)
    assert stored, "every evil name was refused"
    exported = [r[:11] for r in d.export_rows()]	# channels vary
    for row in stored:
        assert row[:11] in exported, row
    for s in EVIL + [LONG]:
        q = urllib.parse.quote(s, safe="")
        for path in ("/v1/roster?under=", "/v1/roster.csv?under=",
                     "/v1/nodes/", "/v1/roster?public=1&under=",
                     "/v1/alerts?state=", "/v1/alerts/1/recipients?state=",
                     "/v1/alerts/1/report?format="):
            r = no_5xx(d.get(path + q), path + s)
            assert r.status in (400, 403, 404), (path, s, r)
        no_5xx(d.get("/v1/nodes/" + quote_code(NHC + "/G01/") + q), s)
        no_5xx(d.request("POST", "/v1/roster?mode=" + q, body="x",
                         content_type="text/csv"), s)

    # Alerts: every text field, the targets, the key.
    ids = []
    for s in EVIL + [LONG]:
        doc = {"kind": "notice", "title": "通知" + s[:40],
               "body": "正文" + s, "targets": [NHC],
               "responses": ["收到" + s[:20], "好"]}
        r = no_5xx(d.request("POST", "/v1/alerts", body=json.dumps(doc),
                             content_type="application/json",
                             headers={"Idempotency-Key": (
                                 "k" + s[:60]).encode().decode("latin-1")}),
                   s)
        if r.status == 201:
            ids.append((r.json()["id"], doc))
        for field, value in (("targets", [s]), ("roles", [s]),
                             ("kind", s), ("severity", s),
                             ("escalation", s), ("expires_in", s)):
            bad = dict(doc, **{field: value})
            r = no_5xx(d.request("POST", "/v1/alerts", body=json.dumps(bad),
                                 content_type="application/json"), s)
            assert r.status in (400, 409), (field, s, r)
    assert ids, "no alert with an evil text was taken"
    for aid, doc in ids:
        got = d.get("/v1/alerts/%d" % aid).json()
        assert got["body"] == doc["body"], (got["body"][:80], doc["body"][:80])
        assert got["title"] == doc["title"]
        for s in EVIL:
            r = d.request("POST", "/v1/alerts/%d/ack" % aid,
                          body=json.dumps({"phone": s, "response": 1}),
                          content_type="application/json")
            assert r.status == 400, (s, r)
    # Keys are matched exactly, never as patterns.
    doc = dict(ids[0][1], title="另一个通知")
    for key in ("k%_", "k__", "k%%", "k%'"):
        r = d.request("POST", "/v1/alerts", body=json.dumps(doc),
                      content_type="application/json",
                      headers={"Idempotency-Key": key})
        assert r.status == 201 and r.json()["replayed"] is False, (key, r)
    r = d.request("POST", "/v1/alerts", body=json.dumps(doc),
                  content_type="application/json",
                  headers={"Idempotency-Key": "k%"})
    assert r.status == 201 and r.json()["replayed"] is True, r
    assert d.import_csv(csv_text([BASE_ROWS[0]]), mode="merge").status == 200

    end = tables(d)
    assert set(end) == set(start), (start, end)
    assert end["audit"] > start["audit"]
    assert d.get("/healthz", token=None).status == 200


def test_evil_strings_in_inbound_callbacks(daemons, fakes):
    d, a, serials = sent_alert(daemons, fakes)
    start = tables(d)
    before = states(d, a["id"])
    for s in EVIL + [LONG]:
        for body in ([report(ZHANG, s)], [report(s, serials[ZHANG])],
                     reply(ZHANG, s), reply(s, "1"),
                     [dict(report(ZHANG, serials[ZHANG]), report_status=s)]):
            no_5xx(callback(d, body), s)
        no_5xx(d.request("GET", "/v1/inbound/" + urllib.parse.quote(
            s, safe=""), token=None), s)
    after = states(d, a["id"])
    assert {p: st for p, st in after.items() if p != ZHANG} == \
        {p: st for p, st in before.items() if p != ZHANG}
    assert tables(d).keys() == start.keys()
