"""
Acknowledging by SMS reply through a real Kannel: the phones (fakesmsc)
answer "1", "收到", "2 A7"...; Kannel's sms-service brings the reply to
/v1/inbound/sms/SECRET; what cannot be taken as an answer is texted back.
"""

import json
import os
import secrets
import shutil
import tempfile
import time

import pytest

import kannel
from conftest import ADMIN, HL, NH, full_phones, scaled

ROLES = ["grid_leader", "building_leader", "unit_leader", "villager_rep",
         "duty_officer"]
RESPONSES = ["收到", "已通知到户", "需要支援"]
SMS_FROM = "10690000"
ZHANG = "13800000001"	# 张伟
LINA = "13800000002"	# 李娜
WANG = "13800000003"	# 王芳
STRANGER = "13600000099"
SECRET = "rp-" + secrets.token_hex(12)


def require_kannel():
    if not kannel.installed():
        msg = "kannel/kannel-extras not installed (run contrib/deps.sh)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture
def setup(daemons, request):
    """A daemon routing everyone to SMS, and a Kannel that texts back."""
    require_kannel()
    d = daemons(start=False, name="smsreply")
    workdir = tempfile.mkdtemp(prefix="szreply-kannel-", dir="/tmp")
    k = kannel.Kannel(workdir, name="reply", text_back=True,
                      service_url="http://127.0.0.1:%d/v1/inbound/sms/%s"
                      % (d.port, SECRET))
    k.start()
    chans = ('channels = ( { name = "sms"; plugin = "sms_kannel"; url = "%s"; '
             'username = "%s"; password = "%s"; from = "%s"; '
             'inbound_secret = "%s"; } );\nrouting = { %s };'
             % (k.base_url() + "/cgi-bin/sendsms", k.username, k.password,
                SMS_FROM, SECRET, " ".join('%s = [ "sms" ];' % r
                                           for r in ROLES)))
    d.channels = chans
    # 王芳's silence makes 李娜, her building's leader, a recipient too.
    d.write_config(extra='escalation = { drill = ( { after = 2; '
                   'action = "notify_parent"; } ); };')
    d.start()
    d.load()
    yield d, k
    k.stop()
    if request.session.testsfailed:
        print("---- kannel in %s\n%s" % (workdir, k.all_logs()))
    else:
        shutil.rmtree(workdir, ignore_errors=True)


def create(d, k, title, kind="drill"):
    doc = {"kind": kind, "title": title, "body": "请各楼栋长转告居民。",
           "targets": [NH, HL], "responses": RESPONSES}
    if kind != "notice":
        doc["severity"] = "yellow" if kind == "drill" else "red"
    r = d.request("POST", "/v1/alerts", token=ADMIN,
                  body=json.dumps(doc, ensure_ascii=False),
                  content_type="application/json")
    assert r.status == 201, r
    a = r.json()
    k.wait_received(a["recipients"], timeout=20,
                    match=lambda m: title in m["text"])
    return a


def state_of(d, aid, phone):
    r = d.get("/v1/alerts/%d/recipients" % aid)
    assert r.status == 200, r
    hit = [x for x in r.json()["recipients"] if x["phone"] == phone]
    assert len(hit) == 1, r.json()
    return hit[0]


def wait_acked(d, aid, phone, response, timeout=10):
    end = time.monotonic() + scaled(timeout)
    while True:
        x = state_of(d, aid, phone)
        if x["state"] == "acked" and x["response"] == response:
            return x
        assert time.monotonic() < end, (phone, x, d.log_tail())
        time.sleep(0.05)


def texts_to(k, phone, since=0):
    return [m["text"] for m in k.received()[since:] if m["to"] == phone]


def wait_text_to(k, phone, since, timeout=10):
    end = time.monotonic() + scaled(timeout)
    while True:
        got = texts_to(k, phone, since)
        if got:
            return got
        assert time.monotonic() < end, ("nothing texted back to", phone)
        time.sleep(0.1)


def test_reply_1_acknowledges_the_only_open_alert(setup):
    d, k = setup
    a = create(d, k, "演练R1")
    k.inject(ZHANG, SMS_FROM, "1")
    x = wait_acked(d, a["id"], ZHANG, 1)
    assert x["acked_at"] is not None
    k.inject(LINA, SMS_FROM, "收到")
    wait_acked(d, a["id"], LINA, 1)
    # Full-width, with the code, and an option by its text.
    k.inject(WANG, SMS_FROM, "已通知到户 Ａ%d" % a["id"])
    wait_acked(d, a["id"], WANG, 2)
    r = d.get("/v1/alerts/%d" % a["id"]).json()
    assert r["answers"] == {"收到": 2, "已通知到户": 1, "需要支援": 0}, r
    assert full_phones(d.log()) == [], "a full phone number was logged"


def test_several_open_alerts(setup):
    d, k = setup
    a = create(d, k, "演练R2")
    b = create(d, k, "停水R2", kind="notice")
    n = len(k.received())
    # Two open, neither answered: asked which, nothing recorded.
    k.inject(LINA, SMS_FROM, "1")
    back = wait_text_to(k, LINA, n)
    assert "A%d" % a["id"] in back[0] and "A%d" % b["id"] in back[0], back
    assert state_of(d, a["id"], LINA)["state"] != "acked"
    assert state_of(d, b["id"], LINA)["state"] != "acked"
    # Naming the code answers that one alone.
    k.inject(LINA, SMS_FROM, "2 A%d" % b["id"])
    wait_acked(d, b["id"], LINA, 2)
    assert state_of(d, a["id"], LINA)["state"] != "acked"
    # Now one is left unanswered: a bare "1" is for it.
    k.inject(LINA, SMS_FROM, "1")
    wait_acked(d, a["id"], LINA, 1)


def test_what_is_not_an_answer(setup):
    d, k = setup
    a = create(d, k, "演练R3")
    n = len(k.received())
    # Not an answer: told the options (a drill's text marked as one).
    k.inject(ZHANG, SMS_FROM, "今天几点集合")
    back = wait_text_to(k, ZHANG, n)
    assert back[0].startswith("【演练】") and "1 收到" in back[0], back
    assert state_of(d, a["id"], ZHANG)["state"] != "acked"
    # A stranger's "1" changes nothing and gets nothing back.
    k.inject(STRANGER, SMS_FROM, "1")
    time.sleep(1.0)
    assert texts_to(k, STRANGER) == []
    doc = d.get("/v1/alerts/%d" % a["id"]).json()
    assert doc["counts"]["acked"] == 0, doc["counts"]
    assert "no open alert" in d.log()


def test_someone_told_by_an_escalation_answers_by_sms(setup):
    d, k = setup
    a = create(d, k, "演练R4")
    # 李娜 and 张伟 answer; 王芳 stays silent, so 李娜 is told about her.
    k.inject(LINA, SMS_FROM, "1")
    k.inject(ZHANG, SMS_FROM, "1")
    wait_acked(d, a["id"], LINA, 1)
    k.wait_received(1, timeout=15, match=lambda m: m["to"] == LINA and
                    "尚未回复" in m["text"])
    # Her "1" now answers the escalation message (her own is answered).
    k.inject(LINA, SMS_FROM, "1")
    end = time.monotonic() + scaled(10)
    while True:
        steps = d.get("/v1/alerts/%d" % a["id"]).json()["escalations"]
        if steps[0]["told_acked"] == 1:
            break
        assert time.monotonic() < end, steps
        time.sleep(0.1)
