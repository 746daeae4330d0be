"""
The sms_tencent channel end to end: the real daemon sends through a
loopback fake of Tencent Cloud SMS (fake_tencent.py, which checks every
request's headers and TC3 signature as documented and answers in
Tencent's shapes), then takes status and reply callbacks on
/v1/inbound/CHANNEL/SECRET as Tencent would post them.
"""

import http.client
import json
import secrets
import time

import pytest

from conftest import (ADMIN, BASE_ROWS, HL, NH, NHC, TOKENS, config_text,
                      full_phones, scaled)
from fake_tencent import CTYPE, FakeTencent, tc3_signature

ALL_ROLES = ["grid_leader", "building_leader", "unit_leader",
             "villager_rep", "duty_officer"]
# Who a drill to [NH, HL] with every role reaches: all but the backup 陈静.
EVERYONE = sorted({r[10] for r in BASE_ROWS} - {"13800000004"})
ZHANG, LINA, WANG = "13800000001", "13800000002", "13800000003"
QIAN = "15900000013"
SECRET_ID = "AKIDbb" + secrets.token_hex(8)
SECRET_KEY = "sk-" + secrets.token_hex(16)
APP_ID = "1400006666"
TEMPLATE_ID = "1234567"
INBOUND_SECRET = "tx-" + secrets.token_hex(12)
OK = {"result": 0, "errmsg": "OK"}
TITLE = "消防疏散演练"
BODY = "11月30日10:00开展消防疏散演练，请单元长组织本单元居民参加。"


@pytest.fixture
def fakes():
    made = []

    def make(script=None, n_params=2):
        made.append(FakeTencent(SECRET_ID, SECRET_KEY, APP_ID, TEMPLATE_ID,
                                n_params, script))
        return made[-1]

    yield make
    for f in made:
        f.close()


def tencent_channel(fake, name="tx", params="{title},{code}", extra=""):
    """The config group of an sms_tencent channel on the fake."""
    return ('{ name = "%s"; plugin = "sms_tencent"; '
            'secret_id = "%s"; secret_key = "%s"; sdk_app_id = "%s"; '
            'sign_name = "南湖街道"; template_id = "%s"; '
            'template_params = "%s"; endpoint = "%s"; '
            'inbound_secret = "%s"; batch = 200; %s }' % (
                name, SECRET_ID, SECRET_KEY, APP_ID, TEMPLATE_ID, params,
                fake.endpoint, INBOUND_SECRET, extra))


def tencent_daemon(daemons, fake, params="{title},{code}"):
    chans = ('channels = ( %s );\nrouting = { %s };' % (
        tencent_channel(fake, params=params),
        " ".join('%s = [ "tx" ];' % r for r in ALL_ROLES)))
    # No {url}: every text the same, so the host batches them.
    d = daemons(start=False, name="tencent", channels=chans)
    d.write_config(extra='templates = { drill = "{title}：{body}"; };')
    d.start()
    d.load()
    return d


def create(d, **kw):
    doc = {"kind": "drill", "severity": "yellow", "title": TITLE,
           "body": BODY, "targets": [NH, HL], "roles": ALL_ROLES}
    doc.update(kw)
    r = d.request("POST", "/v1/alerts", token=ADMIN,
                  body=json.dumps(doc, ensure_ascii=False),
                  content_type="application/json")
    assert r.status == 201, r
    return r.json()


def counts(d, aid):
    r = d.get("/v1/alerts/%d" % aid)
    assert r.status == 200, r
    return r.json()["counts"]


def wait_counts(d, aid, pred, timeout):
    end = time.monotonic() + scaled(timeout)
    while True:
        c = counts(d, aid)
        if pred(c):
            return c
        assert time.monotonic() < end, (c, d.log_tail())
        time.sleep(0.1)


def states(d, aid):
    r = d.get("/v1/alerts/%d/recipients" % aid)
    assert r.status == 200, r
    return {x["phone"]: x["state"] for x in r.json()["recipients"]}


def callback(d, body, path=None, method="POST"):
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body, ensure_ascii=False)
    return d.request(method, path or "/v1/inbound/tx/" + INBOUND_SECRET,
                     body=body if method == "POST" else None, token=None,
                     content_type="application/json")


def good(fake):
    return [r for r in fake.snapshot() if not r["error"]]


def report(phone, sid, ok=True):
    return {"user_receive_time": "2025-11-30 10:00:03", "nationcode": "86",
            "mobile": phone, "report_status": "SUCCESS" if ok else "FAIL",
            "errmsg": "DELIVRD" if ok else "MK:0001",
            "description": "用户短信送达成功" if ok else "空号", "sid": sid}


# ---- the fake itself ---------------------------------------------------------

def post_fake(fake, body, key=SECRET_KEY, ts=None, host=None):
    ts = int(time.time()) if ts is None else ts
    host = host or "127.0.0.1:%d" % fake.listener.port
    date = time.strftime("%Y-%m-%d", time.gmtime(ts))
    sig = tc3_signature(key, ts, host, CTYPE, body)
    h = {"Content-Type": CTYPE, "Host": host, "X-TC-Action": "SendSms",
         "X-TC-Version": "2021-01-11", "X-TC-Region": "ap-guangzhou",
         "X-TC-Timestamp": str(ts),
         "Authorization": "TC3-HMAC-SHA256 Credential=%s/%s/sms/tc3_request, "
                          "SignedHeaders=content-type;host, Signature=%s" % (
                              SECRET_ID, date, sig)}
    conn = http.client.HTTPConnection("127.0.0.1",
                                      fake.listener.port, timeout=5)
    try:
        conn.request("POST", "/", body=body, headers=h)
        return json.loads(conn.getresponse().read())["Response"]
    finally:
        conn.close()


def test_fake_checks_what_tencent_checks(fakes):
    fake = fakes()
    doc = {"PhoneNumberSet": ["+8613800000001"], "SmsSdkAppId": APP_ID,
           "SignName": "南湖街道", "TemplateId": TEMPLATE_ID,
           "TemplateParamSet": ["a", "b"], "SessionContext": "d-1"}
    body = json.dumps(doc).encode()
    assert post_fake(fake, body)["SendStatusSet"][0]["Code"] == "Ok"
    assert post_fake(fake, body, key="wrong")["Error"]["Code"] == \
        "AuthFailure.SignatureFailure"
    assert post_fake(fake, body, ts=int(time.time()) - 600)["Error"][
        "Code"] == "AuthFailure.SignatureExpire"
    many = dict(doc, PhoneNumberSet=["+86138%08d" % i for i in range(201)])
    assert post_fake(fake, json.dumps(many).encode())["Error"]["Code"] == \
        "LimitExceeded.PhoneNumberCountLimit"
    short = dict(doc, TemplateParamSet=["a"])
    assert post_fake(fake, json.dumps(short).encode())["Error"]["Code"] == \
        "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"


# ---- the daemon through the fake ----------------------------------------------

def test_drill_batched_receipts_and_reply(daemons, fakes):
    fake = fakes()
    d = tencent_daemon(daemons, fake)
    a = create(d)
    n = len(EVERYONE)
    assert a["recipients"] == n, a
    c = wait_counts(d, a["id"], lambda c: c["sent"] == n, 20)
    assert c["pending"] == 0, c
    assert fake.bad() == [], fake.bad()
    reqs = good(fake)
    # One call for everyone: the same parameters, well under 200 numbers.
    assert len(reqs) == 1, [r["doc"]["PhoneNumberSet"] for r in reqs]
    doc = reqs[0]["doc"]
    assert sorted(p[3:] for p in doc["PhoneNumberSet"]) == EVERYONE
    assert doc["TemplateParamSet"] == ["【演练】" + TITLE, "A%d" % a["id"]]
    assert doc["SignName"] == "南湖街道"
    assert reqs[0]["headers"]["X-TC-Region"] == "ap-guangzhou"
    assert doc["SessionContext"].strip() != ""

    # Status callbacks: a wrong path is refused, garbage changes nothing.
    serials = fake.accepted()
    assert sorted(serials) == EVERYONE
    r = callback(d, [report(ZHANG, serials[ZHANG])], path="/v1/inbound/tx")
    assert r.status == 404, r
    for bad in ("not json", "[]", json.dumps([{"sid": "x"}])):
        r = callback(d, bad)
        assert r.status == 400, (bad, r)
        assert r.json()["result"] != 0, r
    assert counts(d, a["id"])["sent"] == n
    reports = [report(p, s, ok=(p != QIAN)) for p, s in serials.items()]
    r = callback(d, reports)
    assert r.status == 200, r
    assert r.json() == OK, r
    assert r.headers["content-type"].startswith("application/json"), r
    wait_counts(d, a["id"], lambda c: c["delivered"] == n - 1 and
                c["failed"] == 1, 10)
    st = states(d, a["id"])
    assert st[QIAN] == "failed" and st[ZHANG] == "delivered", st

    # A reply "1" acknowledges.
    r = callback(d, {"extend": "", "mobile": ZHANG, "nationcode": "86",
                     "sign": "南湖街道", "text": "1",
                     "time": int(time.time())})
    assert r.status == 200, r
    assert r.json() == OK, r
    end = time.monotonic() + scaled(10)
    while states(d, a["id"])[ZHANG] != "acked":
        assert time.monotonic() < end, d.log_tail()
        time.sleep(0.1)
    assert counts(d, a["id"])["acked"] == 1
    log = d.log()
    assert full_phones(log) == [], "a full phone number was logged"
    assert SECRET_KEY not in log, "the secret key was logged"


def test_throttling_is_retried(daemons, fakes):
    tries = {"zhang": 0}

    def script(n, doc):
        if n == 1:
            return "RequestLimitExceeded"	# the whole call
        if "+86" + ZHANG in doc["PhoneNumberSet"]:
            tries["zhang"] += 1
            if tries["zhang"] == 1:		# his number alone
                return {"+86" + ZHANG: "InternalError.Timeout"}
        return None

    fake = fakes(script)
    d = tencent_daemon(daemons, fake)
    a = create(d, targets=[NHC], roles=["grid_leader", "building_leader",
                                        "unit_leader"])
    assert a["recipients"] == 3, a
    wait_counts(d, a["id"], lambda c: c["sent"] == 3, 45)
    assert fake.bad() == [], fake.bad()
    reqs = good(fake)
    numbers = [sorted(p[3:] for p in r["doc"]["PhoneNumberSet"])
               for r in reqs]
    # The first call had everyone and was refused as a whole; the host
    # retries each delivery on its own backoff.
    assert numbers[0] == [ZHANG, LINA, WANG], numbers
    assert reqs[0]["answer"]["Response"]["Error"]["Code"] == \
        "RequestLimitExceeded"
    sent_to = [p for ns in numbers for p in ns]
    assert sent_to.count(ZHANG) == 3, numbers
    assert sent_to.count(LINA) == 2 and sent_to.count(WANG) == 2, numbers
    assert sorted(fake.accepted()) == [ZHANG, LINA, WANG]
    # Each try is signed anew; the parameters stay the same.
    for r in reqs:
        assert r["doc"]["TemplateParamSet"] == ["【演练】" + TITLE,
                                                "A%d" % a["id"]]
    st = states(d, a["id"])
    assert set(st.values()) == {"sent"}, st
    log = d.log()
    assert "RequestLimitExceeded" in log and "InternalError.Timeout" in log
    assert full_phones(log) == []
