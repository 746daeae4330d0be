"""
Escalation (叫应): a silent leader is sent the message again, then the
leader above is told, then the community's duty officer gets the list of
the silent; nothing fires for those who answered, nothing after a cancel,
and the timers survive a restart.
"""

import json
import os
import time
import urllib.parse

from conftest import ADMIN, full_phones, scaled
from test_ack import ZHANG, LINA, answer, links

NHC = "220104001001"
G01 = NHC + "/G01"
WANG = "13800000003"	# 王芳, unit leader of G01/12/3: stays silent
ZHAO = "13800000009"	# 赵强, duty officer of 南湖社区
ROLES = ["grid_leader", "building_leader", "unit_leader", "villager_rep",
         "duty_officer"]


def esc_daemon(daemons, name, steps):
    log = os.path.join(daemons.workdir, name + "-messages.log")
    chans = ('channels = ( { name = "f"; plugin = "file"; path = "%s"; } );\n'
             'routing = { %s };' % (log, " ".join(
                 '%s = [ "f" ];' % r for r in ROLES)))
    policy = "escalation = { drill = ( %s ); };" % ", ".join(
        '{ after = %d; action = "%s"; }' % s for s in steps)
    d = daemons(channels=chans, extra=policy, name=name)
    d.load()
    d.messages = log
    return d


def drill(d, title):
    doc = {"kind": "drill", "severity": "yellow", "title": title,
           "body": "请组织本单元居民参加演练。", "targets": [G01]}
    r = d.request("POST", "/v1/alerts", token=ADMIN,
                  body=json.dumps(doc, ensure_ascii=False),
                  content_type="application/json")
    assert r.status == 201, r
    a = r.json()
    a["title"] = title
    return a


def lines(d, title):
    try:
        with open(d.messages, encoding="utf-8") as f:
            return [json.loads(ln) for ln in f if title in ln]
    except FileNotFoundError:
        return []


def to(d, title, phone):
    return [m for m in lines(d, title) if m["phone"] == phone]


def wait_for(what, pred, timeout=15):
    end = time.monotonic() + scaled(timeout)
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < end, "timed out waiting for " + what
        time.sleep(0.1)


def escalations(d, aid):
    r = d.get("/v1/alerts/%d" % aid)
    assert r.status == 200, r
    return r.json()["escalations"]


def test_silent_one_is_resent_then_parent_then_duty(daemons):
    d = esc_daemon(daemons, "chain", [(2, "resend"), (3, "notify_parent"),
                                      (4, "notify_duty")])
    a = drill(d, "演练E1")
    link = links(d, a, a["recipients"])
    assert answer(d, link[ZHANG], 1).status == 303
    assert answer(d, link[LINA], 1).status == 303
    # resend: 王芳 gets the drill again; the two who answered do not.
    wait_for("the resend", lambda: len(to(d, "演练E1", WANG)) == 2)
    # notify_parent: 李娜, her building's leader, is told about her.
    told = wait_for("the parent", lambda: [
        m for m in to(d, "演练E1", LINA) if "王芳" in m["text"]])
    assert len(told) == 1, told
    t = told[0]["text"]
    assert t.startswith("【演练】") and "叫应提醒" in t and "尚未回复" in t, t
    assert "张伟" not in t and WANG not in t, t
    # notify_duty: the community's duty officer gets the silent list,
    # with the number to call.
    duty = wait_for("the duty officer", lambda: to(d, "演练E1", ZHAO))
    assert len(duty) == 1 and "未叫醒名单" in duty[0]["text"], duty
    assert "王芳" in duty[0]["text"] and WANG in duty[0]["text"], duty
    assert "张伟" not in duty[0]["text"]
    time.sleep(1.2)
    assert len(to(d, "演练E1", ZHANG)) == 1
    assert len(to(d, "演练E1", WANG)) == 2
    steps = escalations(d, a["id"])
    assert [s["action"] for s in steps] == ["resend", "notify_parent",
                                             "notify_duty"], steps
    assert all(s["fired_at_ms"] for s in steps), steps
    assert [s["silent"] for s in steps] == [1, 1, 1], steps
    assert steps[0]["resent"] == 1 and steps[1]["told"] == 1 and \
        steps[2]["told"] == 1, steps
    # The duty officer answers the escalation like any message.
    path = urllib.parse.urlsplit(duty[0]["ack_url"]).path
    assert answer(d, path, 1).status == 303
    assert escalations(d, a["id"])[2]["told_acked"] == 1
    # The alert's own counts are its recipients only.
    doc = d.get("/v1/alerts/%d" % a["id"]).json()
    assert doc["counts"]["acked"] == 2 and \
        sum(doc["counts"].values()) == a["recipients"], doc["counts"]
    assert full_phones(d.log()) == [], "a full phone number was logged"


def test_nothing_fires_for_those_who_answered(daemons):
    d = esc_daemon(daemons, "quiet", [(1, "resend"), (2, "notify_parent")])
    a = drill(d, "演练E2")
    link = links(d, a, a["recipients"])
    for phone, path in link.items():
        assert answer(d, path, 1).status == 303, phone
    wait_for("both steps", lambda: all(
        s["fired_at_ms"] for s in escalations(d, a["id"])))
    assert len(lines(d, "演练E2")) == a["recipients"]
    assert [s["silent"] for s in escalations(d, a["id"])] == [0, 0]


def test_cancel_stops_escalation(daemons):
    d = esc_daemon(daemons, "cancel", [(2, "notify_parent")])
    a = drill(d, "演练E3")
    links(d, a, a["recipients"])
    r = d.request("POST", "/v1/alerts/%d/cancel" % a["id"], token=ADMIN)
    assert r.status == 200, r
    time.sleep(3.2)
    assert len(lines(d, "演练E3")) == a["recipients"]
    assert escalations(d, a["id"])[0]["told"] == 0


def test_timers_survive_a_restart(daemons):
    d = esc_daemon(daemons, "restart", [(3, "notify_parent"),
                                        (4, "notify_duty")])
    a = drill(d, "演练E4")
    links(d, a, a["recipients"])
    t0 = time.monotonic()
    d.stop()
    time.sleep(4.5)		# both steps fall due while it is down
    d.start()
    wait_for("the overdue steps", lambda: all(
        s["fired_at_ms"] for s in escalations(d, a["id"])))
    time.sleep(1.5)
    # Each fired once, late, after the restart.  Nobody answered: 张伟's
    # leader is the duty officer too, so 赵强 hears twice, once per step.
    zhao = to(d, "演练E4", ZHAO)
    assert len([m for m in zhao if "未叫醒名单" in m["text"]]) == 1, zhao
    assert len([m for m in zhao if "尚未回复" in m["text"] and
                "张伟" in m["text"]]) == 1, zhao
    assert len([m for m in to(d, "演练E4", LINA) if "王芳" in m["text"]]) == 1
    assert time.monotonic() - t0 > 4


def test_backup_stands_in_for_a_silent_primary(daemons):
    d = esc_daemon(daemons, "backup", [(1, "backup")])
    a = drill(d, "演练E5")
    link = links(d, a, a["recipients"])
    for phone, path in link.items():
        if phone != ZHANG:	# 张伟, the grid's A角, stays silent
            assert answer(d, path, 1).status == 303
    chen = wait_for("the B角", lambda: to(d, "演练E5", "13800000004"))
    assert len(chen) == 1, chen
    t = chen[0]["text"]
    assert "张伟" in t and "B角" in t and "请组织本单元居民参加演练" in t, t
    time.sleep(0.5)
    assert escalations(d, a["id"])[0]["told"] == 1


def test_needs_help_tells_grid_leader_and_duty_officer(daemons):
    d = esc_daemon(daemons, "help", [(60, "notify_duty")])
    doc = {"kind": "drill", "severity": "yellow", "title": "演练E6",
           "body": "请组织本单元居民参加演练。", "targets": [G01],
           "responses": ["收到", "已通知到户", "需要支援"]}
    r = d.request("POST", "/v1/alerts", token=ADMIN,
                  body=json.dumps(doc, ensure_ascii=False),
                  content_type="application/json")
    assert r.status == 201, r
    a = r.json()
    a["title"] = "演练E6"
    link = links(d, a, a["recipients"])
    assert answer(d, link[WANG], 3).status == 303
    for phone in (ZHANG, ZHAO):
        note = wait_for("the note to " + phone, lambda: [
            m for m in to(d, "演练E6", phone) if "需要支援" in m["text"]])
        assert len(note) == 1 and "王芳" in note[0]["text"] and \
            WANG in note[0]["text"], note
    # An ordinary answer tells nobody.
    assert answer(d, link[LINA], 1).status == 303
    time.sleep(0.8)
    assert len(lines(d, "演练E6")) == a["recipients"] + 2
    assert full_phones(d.log()) == []
