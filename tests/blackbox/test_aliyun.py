"""
The sms_aliyun channel end to end: the real daemon sends through a loopback
fake of Aliyun's SMS API (fake_aliyun.py, which checks every request as
Aliyun documents it), and Aliyun's HTTP batch pushes (SmsReport receipts,
SmsUp replies) are posted to the daemon's inbound endpoint.
"""

import json
import secrets
import signal
import sqlite3
import threading
import time

import pytest

from conftest import ADMIN, HL, NH, full_phones, scaled
from fake_aliyun import FakeAliyun

ROLES = ["grid_leader", "building_leader", "unit_leader", "villager_rep",
         "duty_officer"]
KEY_ID = "LTAI5tTestKeyId"
KEY_SECRET = "aliyun-" + secrets.token_hex(12)
INBOUND_SECRET = "ali-" + secrets.token_hex(12)
TEMPLATE_PARAM = '{"title":"{drill}{title}","code":"{code}","kind":"{kind}"}'
ZHANG = "13800000001"	# 张伟
LINA = "13800000002"	# 李娜
OK_ANSWER = {"code": 0, "msg": "接收成功"}


def cfg_str(s):
    """s as a libconfig string."""
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def aliyun_channel(fake, name="ali", template_param=TEMPLATE_PARAM,
                   limit_retry_after=2, extra=""):
    """The config group of an sms_aliyun channel on the fake."""
    return ('{ name = "%s"; plugin = "sms_aliyun"; '
            'access_key_id = "%s"; access_key_secret = "%s"; '
            'sign_name = "南湖街道"; template_code = "SMS_465930001"; '
            'template_param = %s; endpoint = "%s"; limit_retry_after = %d; '
            'inbound_secret = "%s"; %s }'
            % (name, KEY_ID, KEY_SECRET, cfg_str(template_param), fake.url,
               limit_retry_after, INBOUND_SECRET, extra))


@pytest.fixture
def aliyun(daemons):
    """A daemon routing every role to an sms_aliyun channel on the fake."""
    fake = FakeAliyun(KEY_ID, KEY_SECRET)
    chans = ('channels = ( %s );\nrouting = { %s };'
             % (aliyun_channel(fake),
                " ".join('%s = [ "ali" ];' % r for r in ROLES)))
    d = daemons(start=False, name="aliyun", channels=chans)
    # No {url} in the text: every recipient's text is the same, so the
    # daemon hands the plugin whole batches.
    d.write_config(extra='templates = { drill = "{title}：{body} '
                   '回复1确认收到"; emergency = "{title}：{body} '
                   '回复1确认收到"; };')
    d.start()
    d.load()
    yield d, fake
    fake.stop()
    assert fake.problems == [], fake.problems
    assert full_phones(d.log()) == [], "a full phone number was logged"
    assert KEY_SECRET not in d.log()


def create(d, title, kind="drill"):
    doc = {"kind": kind, "severity": "yellow" if kind == "drill" else "red",
           "title": title, "body": "请各楼栋长转告居民。",
           "targets": [NH, HL], "roles": ROLES,
           "responses": ["收到", "已通知到户", "需要支援"]}
    r = d.request("POST", "/v1/alerts", token=ADMIN,
                  body=json.dumps(doc, ensure_ascii=False),
                  content_type="application/json")
    assert r.status == 201, r
    return r.json()


def states(d, aid):
    r = d.get("/v1/alerts/%d/recipients" % aid)
    assert r.status == 200, r
    return {x["phone"]: x for x in r.json()["recipients"]}


def wait_states(d, aid, pred, timeout=15):
    end = time.monotonic() + scaled(timeout)
    while True:
        st = states(d, aid)
        if pred(st):
            return st
        assert time.monotonic() < end, (st, d.log_tail())
        time.sleep(0.1)


def numbers_taken(reqs):
    return sum(len(r["numbers"]) for r in reqs if r["code"] == "OK")


def all_sent(fake, n, timeout=15):
    return fake.wait(lambda reqs: numbers_taken(reqs) >= n, timeout)


def push(d, items, secret=INBOUND_SECRET):
    path = "/v1/inbound/ali" + ("/" + secret if secret else "")
    return d.request("POST", path, token=None,
                     body=json.dumps(items, ensure_ascii=False),
                     content_type="application/json")


def report(phone, biz_id, success=True, code="DELIVERED"):
    return {"phone_number": phone, "send_time": "2024-11-30 10:00:00",
            "report_time": "2024-11-30 10:00:03", "success": success,
            "err_code": code, "err_msg": "用户接收成功" if success else "失败",
            "sms_size": "1", "biz_id": biz_id, "out_id": "whatever"}


def test_drill_goes_out_batched_and_marked(aliyun):
    d, fake = aliyun
    a = create(d, "消防疏散演练")
    n = a["recipients"]
    phones = sorted(states(d, a["id"]))
    assert len(phones) == n > 1, a
    reqs = all_sent(fake, n)
    numbers = [x for r in reqs for x in r["numbers"]]
    assert sorted(numbers) == phones
    assert len(reqs) < n, "not batched: %d requests for %d numbers" % (
        len(reqs), n)
    for r in reqs:
        p = r["params"]
        assert p["SignName"] == "南湖街道" and p["TemplateCode"] == \
            "SMS_465930001"
        assert r["template_param"] == {"title": "【演练】消防疏散演练",
                                       "code": "A%d" % a["id"],
                                       "kind": "演练"}, r
        assert p["OutId"].isdigit(), p["OutId"]
    wait_states(d, a["id"], lambda st: all(x["state"] == "sent"
                                           for x in st.values()))


def test_emergency_is_not_marked(aliyun):
    d, fake = aliyun
    a = create(d, "燃气泄漏", kind="emergency")
    reqs = all_sent(fake, a["recipients"])
    for r in reqs:
        assert r["template_param"]["title"] == "燃气泄漏", r
        assert r["template_param"]["kind"] == "突发事件", r
    assert a["id"] > 0


def test_flow_control_is_retried_at_the_providers_pace(aliyun):
    d, fake = aliyun
    fake.script(["limit", "throttle"])
    a = create(d, "演练限流")
    # The daemon's backoff (5 s, then 10 s, +-25%) or more: up to ~20 s.
    reqs = all_sent(fake, a["recipients"], timeout=40)
    assert [r["code"] for r in reqs[:2]] == ["isv.BUSINESS_LIMIT_CONTROL",
                                              "Throttling.User"], reqs
    # Each number that was refused went again, with its OutId, a new
    # nonce, and not before limit_retry_after (2 s) had passed.
    first = reqs[0]
    again = [r for r in reqs[1:] if set(r["numbers"]) & set(first["numbers"])
             and r["code"] == "OK"]
    assert again, reqs
    assert again[0]["at"] - first["at"] >= 2.0
    assert again[0]["params"]["SignatureNonce"] != \
        first["params"]["SignatureNonce"]
    out_ids = {r["params"]["OutId"] for r in reqs}
    assert first["params"]["OutId"] in out_ids
    wait_states(d, a["id"], lambda st: all(x["state"] == "sent"
                                           for x in st.values()))


def test_a_template_error_fails_the_channel(aliyun):
    d, fake = aliyun
    fake.script(["template"] * 50)
    a = create(d, "演练模板")
    wait_states(d, a["id"], lambda st: all(x["state"] == "failed"
                                           for x in st.values()))
    assert "isv.SMS_TEMPLATE_ILLEGAL" in d.log()


def test_receipts_move_deliveries(aliyun):
    d, fake = aliyun
    a = create(d, "演练回执")
    all_sent(fake, a["recipients"])
    wait_states(d, a["id"], lambda st: all(x["state"] == "sent"
                                           for x in st.values()))
    biz = fake.accepted()
    r = push(d, [report(ZHANG, biz[ZHANG]),
                 report("+86" + LINA, biz[LINA], success=False,
                        code="MK:0001")])
    assert r.status == 200, r
    assert r.json() == OK_ANSWER
    assert r.headers["content-type"].startswith("application/json")
    st = wait_states(d, a["id"], lambda st: st[ZHANG]["state"] ==
                     "delivered" and st[LINA]["state"] == "failed")
    others = [x["state"] for p, x in st.items() if p not in (ZHANG, LINA)]
    assert set(others) == {"sent"}, st
    counts = d.get("/v1/alerts/%d" % a["id"]).json()["counts"]
    assert counts["delivered"] == 1 and counts["failed"] == 1, counts
    # A receipt for a BizId nobody sent: taken, changes nothing.
    r = push(d, [report(ZHANG, "999^0")])
    assert r.status == 200 and r.json() == OK_ANSWER


def test_sms_reply_acknowledges(aliyun):
    d, fake = aliyun
    a = create(d, "演练回复")
    all_sent(fake, a["recipients"])
    r = push(d, [{"phone_number": ZHANG, "send_time": "2024-11-30 10:01:00",
                  "content": "1", "sign_name": "南湖街道",
                  "dest_code": "1234", "sequence_id": 1234567890}])
    assert r.status == 200, r
    assert r.json() == OK_ANSWER
    st = wait_states(d, a["id"], lambda st: st[ZHANG]["state"] == "acked")
    assert st[ZHANG]["response"] == 1


def test_two_replies_in_one_push(aliyun):
    d, fake = aliyun
    a = create(d, "演练两条")
    all_sent(fake, a["recipients"])
    items = [{"phone_number": ZHANG, "content": "1", "sequence_id": 11},
             {"phone_number": LINA, "content": "收到", "sequence_id": 12}]
    # Both taken at once, answered when both are recorded.
    r = push(d, items)
    assert r.status == 200 and r.json() == OK_ANSWER, r
    wait_states(d, a["id"], lambda st: st[ZHANG]["state"] == "acked" and
                st[LINA]["state"] == "acked")


def test_malformed_pushes_change_nothing(aliyun):
    d, fake = aliyun
    a = create(d, "演练坏包")
    all_sent(fake, a["recipients"])
    biz = fake.accepted()
    good = report(ZHANG, biz[ZHANG])
    for body, why in (
            ("not json", "not JSON"),
            ({"phone_number": ZHANG}, "not a JSON array"),
            ([good, {"phone_number": ZHANG, "content": 1}],
             "element 1 of the push"),
            ([good, {"phone_number": "10086", "content": "1"}],
             "not a mainland mobile number")):
        r = d.request("POST", "/v1/inbound/ali/" + INBOUND_SECRET,
                      token=None, body=body if isinstance(body, str) else
                      json.dumps(body, ensure_ascii=False),
                      content_type="application/json")
        assert r.status == 400, (body, r)
        assert why in r.text, (why, r)
    # Without the inbound secret: refused before the plugin sees it.
    assert push(d, [good], secret=None).status == 404
    assert push(d, [good], secret="x" * 24).status == 404
    time.sleep(0.5)
    st = states(d, a["id"])
    assert st[ZHANG]["state"] == "sent", st


def test_a_receipt_is_on_disk_before_its_200(aliyun):
    """The gateway hears 200 only once the receipt is written: held back
    while another process locks the database, and kept through a SIGKILL
    right after the answer."""
    d, fake = aliyun
    a = create(d, "回执落盘")
    all_sent(fake, a["recipients"])
    wait_states(d, a["id"], lambda st: all(x["state"] == "sent"
                                           for x in st.values()))
    biz = fake.accepted()
    lock = sqlite3.connect(d.db_path, timeout=5, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    answer = []
    t = threading.Thread(target=lambda: answer.append(
        push(d, [report(ZHANG, biz[ZHANG])])))
    t.start()
    time.sleep(1.0)
    assert answer == [], "answered while the receipt could not be written"
    lock.execute("ROLLBACK")
    lock.close()
    t.join(10)
    assert answer and answer[0].status == 200, answer
    d.stop(sig=signal.SIGKILL)
    d.start()
    assert states(d, a["id"])[ZHANG]["state"] == "delivered"
