"""
A whole working session at log_level debug — roster imports good and bad,
a drill through the file channel, a signed webhook and SMS (Kannel, whose
replies come in on the inbound route), answers by link, by SMS and by an
operator, escalation, forged links, wrong tokens and secrets, a reload —
and then: the daemon's log holds no full phone number of the roster, no
API token, no acknowledgement token of any link, no webhook secret, no
inbound secret and no gateway password; and the state directory (the
database, its WAL) holds no API token, no acknowledgement token and no
phone number of the roster in clear — not even those an escalation's
messages name for a call back.
"""

import json
import os
import re
import secrets
import signal
import time
import urllib.parse

from conftest import (ADMIN, BASE_PHONES, BASE_ROWS, HL, NANHU_VIEWER, NH,
                      NHC, TOKENS, VIEWER, full_phones, to_csv,
                      to_json_items, scaled)
from test_ack import answer
from test_fanout import (ALL_ROLES, drill, file_channel, receivers,
                         rows_to, webhook_channel)

assert receivers	# the fixture, imported for the test below

INBOUND_SECRET = "in-" + secrets.token_hex(12)
KANNEL_PASSWORD = "pw-" + secrets.token_hex(8)
ZHANG, LINA, WANG, LIU = ("13800000001", "13800000002", "13800000003",
                          "13900000011")
ROUTES = {"grid_leader": "hook", "duty_officer": "hook",
          "building_leader": "file", "villager_rep": "file",
          "unit_leader": "sms"}
ESCALATION = ('escalation = { drill = ( { after = 1; action = "resend"; }, '
              '{ after = 2; action = "notify_parent"; }, '
              '{ after = 3; action = "notify_duty"; } ); };')


def session_daemon(daemons, rec):
    d = daemons(start=False, name="secrets")
    d.messages = os.path.join(daemons.workdir, "messages.log")
    sms = ('{ name = "sms"; plugin = "sms_kannel"; '
           'url = "http://127.0.0.1:1/cgi-bin/sendsms"; username = "sz"; '
           'password = "%s"; from = "10690000"; inbound_secret = "%s"; }'
           % (KANNEL_PASSWORD, INBOUND_SECRET))
    d.channels = "channels = ( %s, %s, %s );\nrouting = { %s };" % (
        webhook_channel(rec), file_channel(d.messages), sms,
        " ".join('%s = [ "%s" ];' % kv for kv in ROUTES.items()))
    d.write_config(extra=ESCALATION)
    return d.start()


def ack_paths(d, rec, aid, want, timeout=10):
    """phone -> /a/TOKEN from the file channel and the webhook bodies."""
    end = time.monotonic() + scaled(timeout)
    while True:
        got = {}
        for r in rec.snapshot():
            if r["doc"] and r["doc"]["alert"]["id"] == aid:
                got[r["doc"]["recipient"]["phone"]] = r["doc"]["ack_url"]
        if os.path.exists(d.messages):
            with open(d.messages, encoding="utf-8") as f:
                for ln in f:
                    m = json.loads(ln)
                    got.setdefault(m["phone"], m["ack_url"])
        got = {p: urllib.parse.urlsplit(u).path for p, u in got.items()}
        if want <= set(got) or time.monotonic() > end:
            assert want <= set(got), (sorted(got), d.log_tail())
            return got
        time.sleep(0.05)


def sms_reply(d, phone, text, secret=INBOUND_SECRET):
    q = urllib.parse.urlencode({"from": phone, "to": "10690000",
                                "text": text})
    return d.request("GET", "/v1/inbound/sms/%s?%s" % (secret, q), token=None)


def roster_work(d):
    assert d.import_csv(to_csv(rows_to_hook)).status == 200
    assert d.import_json(to_json_items(rows_to_hook), mode="merge").status \
        == 200
    bad = to_csv(BASE_ROWS).replace(ZHANG, "12800000001")
    assert d.import_csv(bad).status == 400
    dup = to_csv(BASE_ROWS + [BASE_ROWS[2]])
    assert d.import_csv(dup).status == 400
    assert d.import_csv(to_csv(BASE_ROWS), token=VIEWER).status == 403
    assert d.get("/v1/nodes/" + HL, token=NANHU_VIEWER).status == 403
    assert d.get("/v1/roster.csv?under=" + NHC).status == 200


def refused_work(d, link):
    """Wrong tokens, forged links and secrets, phones in odd places."""
    for t in ("nope", ADMIN.secret + "x", ADMIN.secret[:-1]):
        assert d.get("/v1/alerts", token=t).status == 401
    forged = link[:-2] + ("AA" if not link.endswith("AA") else "BB")
    for _ in range(25):
        assert d.get(forged, token=None).status in (404, 429)
    assert answer(d, forged, 1).status in (404, 429)
    assert sms_reply(d, ZHANG, "1", secret=INBOUND_SECRET[:-1]).status == 404
    assert sms_reply(d, ZHANG, "1", secret=ADMIN.secret).status == 404
    for path in ("/v1/nodes/" + ZHANG, "/v1/alerts/" + ZHANG,
                 "/x/" + ZHANG, "/v1/roster?under=" + ZHANG):
        assert d.get(path).status < 500
    r = d.request("POST", "/v1/alerts/1/ack", body=json.dumps(
        {"phone": "13600000099"}), content_type="application/json")
    assert r.status == 404, r


def test_no_phone_or_secret_in_logs_or_clear_in_the_db(daemons, receivers):
    global rows_to_hook
    rec = receivers()
    rows_to_hook = rows_to(rec)
    d = session_daemon(daemons, rec)
    roster_work(d)
    r = d.request("POST", "/v1/alerts", body=json.dumps(
        drill(targets=[NH, HL], roles=ALL_ROLES,
              responses=["收到", "已通知到户", "需要支援"]),
        ensure_ascii=False), content_type="application/json")
    assert r.status == 201, r
    aid = r.json()["id"]
    links = ack_paths(d, rec, aid, {ZHANG, LINA, LIU})
    # Answers: a link, a link asking for help, an operator, SMS replies.
    assert answer(d, links[ZHANG], 1).status == 303
    assert d.get(links[ZHANG] + "?ok=1", token=None).status == 200
    assert answer(d, links[LINA], 3).status == 303
    r = d.request("POST", "/v1/alerts/%d/ack" % aid, body=json.dumps(
        {"phone": LIU, "response": 2}), content_type="application/json")
    assert r.status == 200, r
    assert sms_reply(d, WANG, "1").status == 200
    assert sms_reply(d, WANG, "你好").status == 200
    assert sms_reply(d, "13600000099", "1").status == 200
    assert d.request("GET", "/v1/inbound/sms/%s?t=8&p=%s&b=x" % (
        INBOUND_SECRET, WANG), token=None).status < 500
    refused_work(d, links[ZHANG])
    time.sleep(3.5)		# the escalation steps fire
    d.proc.send_signal(signal.SIGHUP)
    rc, out, err = d.ctl("alert", "recipients", str(aid))
    assert rc == 0, err
    d.stop()

    log = d.log()
    assert "escalat" in log or "notify" in log, log[-3000:]
    leaks = [ln for ln in log.splitlines() if full_phones(ln)]
    assert leaks == [], leaks[:10]
    for p in BASE_PHONES:
        assert p not in log, p
    secrets_ = [t.secret for t in TOKENS] + [rec.secret, INBOUND_SECRET,
                                            KANNEL_PASSWORD]
    secrets_ += [p.rsplit("/", 1)[1] for p in links.values()]
    for s in secrets_:
        assert s not in log, "a secret is in the log: %s..." % s[:6]

    # Escalations told people the numbers to call (sealed until sent).
    sent = [json.dumps(r["doc"], ensure_ascii=False)
            for r in rec.snapshot() if r["doc"] is not None]
    assert any(re.search("请尽快联系：%s" % LINA, t) for t in sent), sent[-3:]
    assert not any("{{phone:" in t for t in sent), sent

    # The state directory: no API token, no link's token, no phone number
    # in clear.
    clear = [t.secret for t in TOKENS] + [p.rsplit("/", 1)[1]
                                         for p in links.values()]
    clear += BASE_PHONES
    names = os.listdir(d.state_dir)
    assert "sanzhang.db" in names and "phone.key" in names, names
    for name in names:
        with open(os.path.join(d.state_dir, name), "rb") as f:
            data = f.read()
        for s in clear:
            assert s.encode() not in data, (name, s[:6])
