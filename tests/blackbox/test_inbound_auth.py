"""
The inbound route, /v1/inbound/CHANNEL/SECRET, as an attacker and as a
gateway that repeats itself: an unknown channel, a channel that takes no
callbacks, a missing or wrong secret all get the same plain 404 and change
nothing; a receipt or a reply posted twice changes nothing the second time
(and a late receipt never takes an answer back).

None of the SMS providers sign their callbacks (Kannel's get-url,
Aliyun's batch push and Tencent's callbacks carry no signature), so the
channel's inbound_secret in the URL is what authenticates them.
"""

import json
import time

from conftest import ADMIN, full_phones
from test_tencent import (INBOUND_SECRET, OK, ZHANG, callback, create,
                          fakes, report, states, tencent_daemon,
                          wait_counts)

assert fakes	# the fixture, imported for the tests below

LINA = "13800000002"


def reply(phone, text):
    return {"extend": "", "mobile": phone, "nationcode": "86",
            "sign": "南湖街道", "text": text, "time": int(time.time())}


def sent_alert(daemons, fakes):
    fake = fakes()
    d = tencent_daemon(daemons, fake)
    a = create(d)
    wait_counts(d, a["id"], lambda c: c["sent"] == a["recipients"], 20)
    return d, a, fake.accepted()


def recipient(d, aid, phone):
    r = d.get("/v1/alerts/%d/recipients" % aid)
    assert r.status == 200, r
    return [x for x in r.json()["recipients"] if x["phone"] == phone][0]


def test_refused_callbacks_are_alike_and_change_nothing(daemons, fakes):
    d, a, serials = sent_alert(daemons, fakes)
    before = states(d, a["id"])
    audit = len(d.audit_rows())
    good = json.dumps(reply(ZHANG, "1"), ensure_ascii=False)
    paths = ["/v1/inbound/tx", "/v1/inbound/tx/", "/v1/inbound/tx/wrong",
             "/v1/inbound/tx/" + INBOUND_SECRET[:-1],
             "/v1/inbound/tx/" + INBOUND_SECRET + "0",
             "/v1/inbound/tx/" + INBOUND_SECRET.upper(),
             "/v1/inbound/tx/" + INBOUND_SECRET + "/x",
             "/v1/inbound/nosuch", "/v1/inbound/nosuch/" + INBOUND_SECRET,
             "/v1/inbound/" + INBOUND_SECRET, "/v1/inbound/",
             "/v1/inbound/hold", "/v1/inbound/TX/" + INBOUND_SECRET]
    for path in paths:
        for method in ("POST", "GET"):
            r = d.request(method, path, token=None, content_type=(
                "application/json" if method == "POST" else None),
                body=good if method == "POST" else None)
            assert r.status == 404, (method, path, r)
            err = r.error()
            assert err["code"] == "not_found", r
            assert "inbound" in err["message"], r
            # What follows the channel's name is never echoed.
            if not path.startswith("/v1/inbound/" + INBOUND_SECRET):
                assert INBOUND_SECRET not in r.text, r
    # A bearer token is no key to the inbound route either.
    r = d.request("POST", "/v1/inbound/tx", body=good, token=ADMIN,
                  content_type="application/json")
    assert r.status == 404, r
    # Nothing moved, nothing was recorded.
    time.sleep(0.3)
    assert states(d, a["id"]) == before
    assert len(d.audit_rows()) == audit
    assert "refused" in d.log()
    assert INBOUND_SECRET not in d.log()
    # The same reply at the right address is taken.
    r = callback(d, reply(ZHANG, "1"))
    assert r.status == 200 and r.json() == OK, r
    assert recipient(d, a["id"], ZHANG)["state"] == "acked"


def test_replayed_receipts_and_replies_are_harmless(daemons, fakes):
    d, a, serials = sent_alert(daemons, fakes)
    n = a["recipients"]
    rep = [report(ZHANG, serials[ZHANG]), report(LINA, serials[LINA])]
    for _ in range(3):
        r = callback(d, rep)
        assert r.status == 200 and r.json() == OK, r
    c = wait_counts(d, a["id"], lambda c: c["delivered"] == 2, 10)
    assert c["sent"] == n - 2, c

    # The same answer three times: recorded once, its time kept.
    for _ in range(3):
        r = callback(d, reply(ZHANG, "1"))
        assert r.status == 200 and r.json() == OK, r
    first = recipient(d, a["id"], ZHANG)
    assert first["state"] == "acked", first
    r = d.get("/v1/alerts/%d" % a["id"])
    assert r.json()["counts"]["acked"] == 1, r.json()
    assert sum(r.json()["answers"].values()) == 1, r.json()

    # A receipt replayed after the answer does not take it back; neither
    # does a late failure report for the same delivery.
    for rp in (report(ZHANG, serials[ZHANG]),
               report(ZHANG, serials[ZHANG], ok=False)):
        r = callback(d, [rp])
        assert r.status == 200, r
    time.sleep(0.3)
    again = recipient(d, a["id"], ZHANG)
    assert again["state"] == "acked", again
    assert again == first
    assert states(d, a["id"])[LINA] == "delivered"
    m = d.get("/metrics").text
    assert 'sanzhang_acks_total{via="sms"} 1' in m, [
        ln for ln in m.splitlines() if "acks_total" in ln]
    assert full_phones(d.log()) == []
