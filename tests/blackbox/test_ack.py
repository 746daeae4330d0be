"""
Acknowledgement by link (GET /a/TOKEN shows, POST answers), answer counts,
closed alerts, forged links and their rate limit, and an operator recording
an answer given by telephone (API and sanzhangctl ack, audited).
"""

import json
import os
import re
import time
import urllib.parse

import pytest

from conftest import ADMIN, HL, NH, VIEWER, full_phones, scaled

ROLES = ["grid_leader", "building_leader", "unit_leader", "villager_rep",
         "duty_officer"]
RESPONSES = ["收到", "已通知到户", "需要支援"]
ZHANG = "13800000001"	# 张伟, grid leader of G01
LINA = "13800000002"	# 李娜, two posts


def file_daemon(daemons, name="ack"):
    log = os.path.join(daemons.workdir, name + "-messages.log")
    chans = ('channels = ( { name = "f"; plugin = "file"; path = "%s"; } );\n'
             'routing = { %s };' % (log, " ".join(
                 '%s = [ "f" ];' % r for r in ROLES)))
    d = daemons(channels=chans, name=name)
    d.load()
    d.messages = log
    return d


def create(d, kind="drill", title="消防疏散演练", **kw):
    doc = {"kind": kind, "title": title,
           "body": "11月30日10:00开展消防疏散演练，请单元长组织本单元居民参加。",
           "targets": [NH, HL], "responses": RESPONSES}
    if kind != "notice":
        doc["severity"] = "red" if kind == "emergency" else "yellow"
    doc.update(kw)
    r = d.request("POST", "/v1/alerts", token=ADMIN,
                  body=json.dumps(doc, ensure_ascii=False),
                  content_type="application/json")
    assert r.status == 201, r
    return r.json()


def links(d, alert, n, timeout=10):
    """phone -> ack path (/a/TOKEN) from the file channel's lines."""
    end = time.monotonic() + scaled(timeout)
    while True:
        got = {}
        try:
            with open(d.messages, encoding="utf-8") as f:
                for ln in f:
                    m = json.loads(ln)
                    if alert["title"] in m["text"]:
                        got[m["phone"]] = urllib.parse.urlsplit(
                            m["ack_url"]).path
        except FileNotFoundError:
            pass
        if len(got) >= n:
            return got
        assert time.monotonic() < end, got
        time.sleep(0.05)


def alert_doc(d, aid):
    r = d.get("/v1/alerts/%d" % aid)
    assert r.status == 200, r
    return r.json()


def recipient(d, aid, phone):
    r = d.get("/v1/alerts/%d/recipients" % aid)
    assert r.status == 200, r
    hits = [x for x in r.json()["recipients"] if x["phone"] == phone]
    assert len(hits) == 1, r.json()
    return hits[0]


def answer(d, path, n, **kw):
    return d.request("POST", path, token=None, body="response=%s" % n,
                     content_type="application/x-www-form-urlencoded", **kw)


@pytest.fixture
def drill(daemons):
    d = file_daemon(daemons)
    a = create(d, title="消防疏散演练K")
    a["title"] = "消防疏散演练K"
    return d, a, links(d, a, a["recipients"])


def test_get_shows_and_never_answers(drill):
    d, a, link = drill
    for _ in range(3):
        r = d.get(link[ZHANG], token=None)
        assert r.status == 200, r
        assert r.headers["content-type"].startswith("text/html")
        assert "no-store" in r.headers["cache-control"]
        page = r.text
        assert "消防疏散演练K" in page and "张伟" in page, page
        # The post by the community's name, not its division code.
        assert "南湖社区 · G01" in page and "网格长" in page, page
        assert "演练" in page.split("消防疏散演练K")[0], "no drill banner"
        values = re.findall(r'name="response"\s+value="(\d+)"', page)
        assert values == ["1", "2", "3"], page
        for label in RESPONSES:
            assert label in page
    doc = alert_doc(d, a["id"])
    assert doc["counts"]["acked"] == 0, doc["counts"]
    assert doc["answers"] == {k: 0 for k in RESPONSES}, doc
    assert recipient(d, a["id"], ZHANG)["state"] != "acked"


def test_post_answers_once_and_keeps_first_time(drill):
    d, a, link = drill
    r = answer(d, link[ZHANG], 2)
    # Post/redirect/get: the page after an answer is a GET, so a reload
    # never answers again.
    assert r.status == 303, r
    assert r.headers["location"] == link[ZHANG] + "?ok=1", r.headers
    # Small, not kept, and the token in Location not passed on.
    assert r.body == b"" and r.headers["cache-control"] == "no-store" and \
        r.headers["referrer-policy"] == "no-referrer", (r.headers, r.body)
    r = d.get(r.headers["location"], token=None)
    assert r.status == 200, r
    assert "已收到您的回复" in r.text and "已通知到户" in r.text, r.text
    # Without ?ok=1, or for someone who has not answered, no thanks.
    assert "已收到您的回复" not in d.get(link[ZHANG], token=None).text
    assert "已收到您的回复" not in d.get(link[LINA] + "?ok=1",
                                       token=None).text
    first = recipient(d, a["id"], ZHANG)
    assert first["state"] == "acked" and first["response"] == 2, first
    doc = alert_doc(d, a["id"])
    assert doc["counts"]["acked"] == 1, doc["counts"]
    assert doc["answers"] == {"收到": 0, "已通知到户": 1, "需要支援": 0}, doc
    # The same answer again changes nothing; a new one changes the answer
    # and keeps the first time.
    time.sleep(1.1)
    assert answer(d, link[ZHANG], 2).status == 303
    assert recipient(d, a["id"], ZHANG) == first
    assert answer(d, link[ZHANG], 3).status == 303
    later = recipient(d, a["id"], ZHANG)
    assert later["response"] == 3 and later["acked_at"] == first["acked_at"]
    doc = alert_doc(d, a["id"])
    assert doc["counts"]["acked"] == 1, doc["counts"]
    assert doc["answers"] == {"收到": 0, "已通知到户": 0, "需要支援": 1}, doc
    # One person, two posts: one link, one answer for both.
    assert answer(d, link[LINA], 1).status == 303
    assert alert_doc(d, a["id"])["counts"]["acked"] == 2
    # The answer survives a restart (it was durable before the page).
    d.restart()
    assert recipient(d, a["id"], ZHANG)["response"] == 3
    assert full_phones(d.log()) == [], "a full phone number was logged"


@pytest.mark.parametrize("body", ["", "response=", "response=0",
                                  "response=4", "response=x", "resp=1",
                                  "response=1e3", "response=-1"])
def test_bad_answers_change_nothing(drill, body):
    d, a, link = drill
    r = d.request("POST", link[ZHANG], token=None, body=body,
                  content_type="application/x-www-form-urlencoded")
    assert r.status == 400, (body, r)
    assert recipient(d, a["id"], ZHANG)["state"] != "acked"


def test_forged_links_get_nothing_then_429(daemons):
    d = file_daemon(daemons, name="forge")
    a = create(d, title="演练F")
    a["title"] = "演练F"
    link = links(d, a, a["recipients"])[ZHANG]
    token = link[len("/a/"):]
    # A changed character, a short one, garbage: the same plain page.
    forged = [token[:-1] + ("a" if token[-1] != "a" else "b"), token[:10],
              "x" * len(token), "%2e%2e", ""]
    bodies = set()
    for t in forged:
        r = d.get("/a/" + t, token=None)
        assert r.status == 404, (t, r)
        bodies.add(r.text)
    assert len(bodies) == 1, "forged links must all look alike"
    assert "链接无效" in bodies.pop()
    # Keep guessing: 429 within the burst, and a valid link still works.
    statuses = [d.get("/a/" + forged[2], token=None).status
                for _ in range(40)]
    assert 429 in statuses, statuses
    assert statuses[-1] == 429
    assert d.get(link, token=None).status == 200
    assert answer(d, link, 1).status == 303


def test_cancelled_and_expired_links_say_so(daemons):
    d = file_daemon(daemons, name="closed")
    a = create(d, title="演练C")
    a["title"] = "演练C"
    link = links(d, a, a["recipients"])
    r = d.request("POST", "/v1/alerts/%d/cancel" % a["id"], token=ADMIN)
    assert r.status == 200, r
    r = d.get(link[ZHANG], token=None)
    assert r.status == 410 and "已解除" in r.text, r
    r = answer(d, link[ZHANG], 1)
    assert r.status == 410, r
    assert recipient(d, a["id"], ZHANG)["state"] != "acked"

    e = create(d, title="演练E", expires_in=60)
    e["title"] = "演练E"
    elink = links(d, e, e["recipients"])
    assert d.get(elink[ZHANG], token=None).status == 200
    # Expire it in the store, as a minute passing would.
    import sqlite3
    con = sqlite3.connect(d.db_path, timeout=5)
    with con:
        con.execute("UPDATE alerts SET expires_at = 1 WHERE id = ?",
                    (e["id"],))
    con.close()
    r = d.get(elink[ZHANG], token=None)
    assert r.status == 410 and "已过期" in r.text, r
    assert answer(d, elink[ZHANG], 1).status == 410


def test_emergency_page_never_says_drill(daemons):
    d = file_daemon(daemons, name="emerg")
    a = create(d, kind="emergency", title="燃气泄漏K",
               body="请立即组织12号楼居民撤离。")
    a["title"] = "燃气泄漏K"
    r = d.get(links(d, a, a["recipients"])[ZHANG], token=None)
    assert r.status == 200, r
    assert "燃气泄漏K" in r.text and "演练" not in r.text, r.text


def test_operator_records_a_phoned_answer(drill):
    d, a, _ = drill
    r = d.request("POST", "/v1/alerts/%d/ack" % a["id"], token=ADMIN,
                  body=json.dumps({"phone": "138 0000 0001", "response": 2}),
                  content_type="application/json")
    assert r.status == 200, r
    assert r.json()["result"] == "recorded" and r.json()["phone"] == \
        "138****0001", r.json()
    assert recipient(d, a["id"], ZHANG)["response"] == 2
    rows = d.wait_audit(lambda row: "alert.ack" in row)
    assert rows and "138****0001" in rows[0] and ZHANG not in rows[0], rows
    # sanzhangctl ack, by short code; the default answer is the first.
    rc, out, err = d.ctl("ack", "A%d" % a["id"], LINA)
    assert rc == 0, (out, err)
    assert "138****0002" in out and "recorded" in out, out
    assert recipient(d, a["id"], LINA)["response"] == 1
    rc, out, err = d.ctl("ack", "A%d" % a["id"], LINA)
    assert rc == 0 and "already recorded" in out, (out, err)


@pytest.mark.parametrize("body,status", [
    ({"phone": "13800000099"}, 404),		# not a recipient
    ({"phone": "12345"}, 400),
    ({"phone": ZHANG, "response": 9}, 400),
    ({"phone": ZHANG, "response": "1"}, 400),
    ({}, 400),
])
def test_operator_ack_refusals(drill, body, status):
    d, a, _ = drill
    r = d.request("POST", "/v1/alerts/%d/ack" % a["id"], token=ADMIN,
                  body=json.dumps(body), content_type="application/json")
    assert r.status == status, (body, r)
    assert recipient(d, a["id"], ZHANG)["state"] != "acked"


def test_viewer_cannot_record_answers(drill):
    d, a, _ = drill
    r = d.request("POST", "/v1/alerts/%d/ack" % a["id"], token=VIEWER,
                  body=json.dumps({"phone": ZHANG}),
                  content_type="application/json")
    assert r.status == 403, r
