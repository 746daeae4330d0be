"""
The after-action report of a drill: per grid and community numbers that
match the scenario exactly, time to answer per role, who never answered,
escalations; as JSON, CSV and a printable HTML page; and sanzhangctl.
"""

import csv
import io
import json
import os
import re

from conftest import ADMIN, NANHU_VIEWER, full_phones
from test_ack import LINA, ZHANG, answer, links
from test_escalation import G01, NHC, WANG, esc_daemon, wait_for, escalations

HELONG_VIEWER_SCOPE = "220183105"


def scenario(daemons):
    """A drill to G01: 张伟 answers 1, 李娜 answers 2, 王芳 stays silent."""
    d = esc_daemon(daemons, "report", [(1, "notify_parent")])
    doc = {"kind": "drill", "severity": "yellow", "title": "消防疏散演练R",
           "body": "请组织本单元居民参加演练。", "targets": [G01],
           "responses": ["收到", "已通知到户", "需要支援"]}
    r = d.request("POST", "/v1/alerts", token=ADMIN,
                  body=json.dumps(doc, ensure_ascii=False),
                  content_type="application/json")
    assert r.status == 201, r
    a = r.json()
    a["title"] = doc["title"]
    link = links(d, a, a["recipients"])
    assert answer(d, link[ZHANG], 1).status == 303
    assert answer(d, link[LINA], 2).status == 303
    wait_for("the escalation", lambda: escalations(d, a["id"])[0][
        "fired_at_ms"])
    return d, a


def test_report_numbers_match_the_scenario(daemons):
    d, a = scenario(daemons)
    r = d.get("/v1/alerts/%d/report" % a["id"])
    assert r.status == 200, r
    rep = r.json()
    want = {"recipients": 3, "reached": 3, "acked": 2, "failed": 0,
            "silent": 1}
    assert rep["per_grid"] == {G01: want}, rep["per_grid"]
    assert rep["per_community"] == {NHC: want}, rep["per_community"]
    assert [p["name"] for p in rep["never_answered"]] == ["王芳"]
    assert rep["never_answered"][0]["phone"] == WANG
    assert rep["never_answered_more"] == 0
    assert rep["failed_numbers"] == []
    tta = rep["time_to_ack"]
    assert tta["grid_leader"]["answered"] == 1
    assert tta["building_leader"]["answered"] == 1
    assert tta["unit_leader"]["answered"] == 0
    assert tta["unit_leader"]["median_s"] is None
    assert 0 <= tta["grid_leader"]["median_s"] < 60
    assert sum(rep["acks_by_minute"]) == 2
    assert rep["answers"] == {"收到": 1, "已通知到户": 1, "需要支援": 0}
    assert rep["escalations"][0]["action"] == "notify_parent"
    assert rep["escalations"][0]["told"] == 1


def test_report_csv_and_html(daemons):
    d, a = scenario(daemons)
    r = d.get("/v1/alerts/%d/report?format=csv" % a["id"])
    assert r.status == 200 and r.headers["content-type"].startswith(
        "text/csv"), r
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows == [{"grid": G01, "recipients": "3", "reached": "3",
                     "acked": "2", "failed": "0", "silent": "1",
                     "acked_pct": "66.7"}], rows
    r = d.get("/v1/alerts/%d/report?format=html" % a["id"])
    assert r.status == 200 and r.headers["content-type"].startswith(
        "text/html"), r
    page = r.text
    assert page.count("<html") == 1 and page.rstrip().endswith("</html>")
    assert "演练" in page and "消防疏散演练R" in page
    assert "王芳" in page and "138****0003" in page
    assert full_phones(page) == [], "the page shows a full phone number"
    assert page.count("<svg") == 2 and "<script" not in page
    assert d.get("/v1/alerts/%d/report?format=pdf" % a["id"]).status == 400


def test_report_scope_and_ctl(daemons):
    d, a = scenario(daemons)
    # A viewer of 南湖街道 sees it; one of another street does not.
    assert d.get("/v1/alerts/%d/report" % a["id"],
                 token=NANHU_VIEWER).status == 200
    from conftest import HELONG_ADMIN
    assert d.get("/v1/alerts/%d/report" % a["id"],
                 token=HELONG_ADMIN).status == 403
    out = os.path.join(daemons.workdir, "report.html")
    rc, so, se = d.ctl("alert", "report", "A%d" % a["id"], "--format",
                       "html", "-o", out)
    assert rc == 0, (so, se)
    with open(out, encoding="utf-8") as f:
        assert "未回复人员" in f.read()
    rc, so, se = d.ctl("alert", "report", str(a["id"]), "--format", "csv")
    assert rc == 0 and so.startswith("grid,recipients"), (so, se)
    rc, so, se = d.ctl("alert", "report", str(a["id"]), "--format", "xml")
    assert rc == 2 and "json, csv or html" in se, se
    rc, so, se = d.ctl("alert", "report", "9999")
    assert rc == 1 and re.search(r"404 not_found: no alert A7PR", se), se


def test_watch_follows_until_everyone_answered(daemons):
    import subprocess
    import time
    from conftest import SANZHANGCTL
    from test_ack import create, file_daemon

    d = file_daemon(daemons, name="watch")
    a = create(d, title="演练W")
    a["title"] = "演练W"
    link = links(d, a, a["recipients"])
    p = subprocess.Popen([SANZHANGCTL, "--socket", d.sock, "alert", "watch",
                          "A%d" % a["id"], "--interval", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        time.sleep(1.5)
        assert p.poll() is None, p.communicate()
        for path in link.values():
            assert answer(d, path, 1).status == 303
        out, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    lines = out.strip().splitlines()
    assert lines[0].endswith("acked 0/%d, pending 0, sent %d, delivered 0, "
                             "failed 0" % (a["recipients"], a["recipients"])) \
        or "acked 0/" in lines[0], lines
    assert lines[-1].endswith("(everyone answered)"), lines
    assert "acked %d/%d" % (a["recipients"], a["recipients"]) in lines[-1]
    assert full_phones(out) == []
