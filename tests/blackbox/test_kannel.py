"""
The Kannel harness (kannel.py) against a real Kannel 1.4.5 on loopback:
sendsms with UCS-2 Chinese to two numbers, delivery reports on dlr-url,
replies on the sms-service get-url, and what sendsms answers while the
SMSC is down.  These tests need no sanzhangd; they pin down what Kannel
really does so the sms_kannel plugin's tests can rely on it.
"""

import http.server
import os
import secrets
import threading
import time
import urllib.parse

import pytest

import kannel
from conftest import call_failed, scaled

DRILL_TEXT = ("【演练】11月30日10:00开展消防疏散演练，"
              "请单元长组织本单元居民参加。")
LONG_TEXT = "【演练】" + "消防疏散演练，请单元长组织本单元居民参加。" * 4
SHORT_CODE = "10086"
WAIT = 10.0


class Recorder:
    """A loopback HTTP server that records every request (GET or POST)."""

    def __init__(self):
        self.requests = []
        self.cond = threading.Condition()
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _record(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                u = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
                with rec.cond:
                    rec.requests.append({
                        "method": self.command, "path": u.path,
                        "raw": self.path, "body": body,
                        "q": {k: v[0] for k, v in q.items()},
                        "at": time.monotonic()})
                    rec.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _record

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.server.server_address[1], path)

    def matching(self, pred):
        with self.cond:
            return [r for r in self.requests if pred(r)]

    def wait(self, pred, n=1, timeout=WAIT):
        end = time.monotonic() + scaled(timeout)
        with self.cond:
            while True:
                got = [r for r in self.requests if pred(r)]
                if len(got) >= n:
                    return got
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("%d of %d requests in %.1f s: %r" % (
                        len(got), n, timeout, self.requests[-10:]))
                self.cond.wait(left)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def dlr_url(rec, ident):
    # %d type, %p the phone it went to, %P our sender, %A SMSC reply,
    # %i smsc-id, %F foreign (SMSC) message id.
    return rec.url("/dlr?id=%s&type=%%d&to=%%p&from=%%P&reply=%%A"
                   "&smsc=%%i&fid=%%F" % ident)


def dlrs_for(rec, ident):
    return rec.matching(lambda r: r["path"] == "/dlr" and
                        r["q"].get("id") == ident)


def wait_dlr_types(rec, ident, want, timeout=WAIT):
    """DLRs of one id until every type in want has come, plus 0.3 s."""
    end = time.monotonic() + scaled(timeout)
    while time.monotonic() < end:
        types = sorted(int(r["q"]["type"]) for r in dlrs_for(rec, ident))
        if set(want) <= set(types):
            time.sleep(0.3)	# anything after the last expected one?
            return dlrs_for(rec, ident)
        time.sleep(0.02)
    raise AssertionError("DLR types for %s: %r, want %r" % (
        ident, [r["q"] for r in dlrs_for(rec, ident)], want))


def require_kannel():
    if not kannel.installed():
        msg = "kannel/kannel-extras not installed (run contrib/deps.sh)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="module")
def rec():
    r = Recorder()
    yield r
    r.close()


@pytest.fixture(scope="module")
def gw(request, rec):
    """One gateway for the module's tests that keep the SMSC up."""
    require_kannel()
    with kannel.running("shared", lambda: request.session.testsfailed > 0,
                        service_url=rec.url("/v1/inbound/sms")) as k:
        yield k


@pytest.fixture
def own_gw(request, rec):
    require_kannel()
    with kannel.running("own", lambda: call_failed(request),
                        service_url=rec.url("/v1/inbound/sms")) as k:
        yield k


def test_sendsms_ucs2_to_two_numbers(gw):
    a, b = "13800000011", "13900000012"
    status, body = gw.sendsms(**{"from": SHORT_CODE, "to": a + " " + b,
                                 "text": DRILL_TEXT, "coding": 2,
                                 "charset": "UTF-8"})
    assert (status, body) == (202, "0: Accepted for delivery")
    got = gw.wait_received(2, match=lambda m: m["to"] in (a, b))
    assert sorted(m["to"] for m in got) == [a, b], gw.log_tail("fakesmsc")
    for m in got:
        assert m["from"] == SHORT_CODE
        assert m["text"] == DRILL_TEXT
        assert m["parts"] == 1
    # The wire format fakesmsc shows for coding=2: "ucs-2", UTF-16BE.
    lines = [p for p in gw.received_lines() if p["to"] == a]
    assert lines[0]["type"] == "ucs-2"
    assert lines[0]["data"] == DRILL_TEXT.encode("utf-16-be")


def test_dlr_types_smsc_accepted_then_delivered(gw, rec):
    ident = "t" + secrets.token_hex(4)
    to = "13800000021"
    status, body = gw.sendsms(**{"from": SHORT_CODE, "to": to,
                                 "text": DRILL_TEXT, "coding": 2,
                                 "charset": "UTF-8", "dlr-mask": 31,
                                 "dlr-url": dlr_url(rec, ident)})
    assert (status, body) == (202, "0: Accepted for delivery")
    got = wait_dlr_types(rec, ident, {8, 1})
    # Exactly one 8 (SMSC accepted) and one 1 (delivered), both as GET.
    assert sorted(int(r["q"]["type"]) for r in got) == [1, 8]
    by_type = {int(r["q"]["type"]): r for r in got}
    for r in got:
        assert r["method"] == "GET"
        assert r["q"]["to"] == to
        assert r["q"]["from"] == SHORT_CODE
        assert r["q"]["smsc"] == "fake"
    assert by_type[8]["q"]["reply"] == "ACK/"
    assert by_type[1]["q"]["reply"] == ""
    assert by_type[8]["q"]["fid"] == ""
    assert by_type[1]["q"]["fid"] != ""	# the message's UUID
    gw.wait_received(1, match=lambda m: m["to"] == to)


def test_long_message_two_parts_one_dlr_pair(gw, rec):
    ident = "t" + secrets.token_hex(4)
    to = "13800000031"
    assert len(LONG_TEXT) > 70	# more than one UCS-2 SMS
    status, body = gw.sendsms(**{"from": SHORT_CODE, "to": to,
                                 "text": LONG_TEXT, "coding": 2,
                                 "charset": "UTF-8", "dlr-mask": 31,
                                 "dlr-url": dlr_url(rec, ident)})
    assert (status, body) == (202, "0: Accepted for delivery")
    got = gw.wait_received(1, match=lambda m: m["to"] == to)
    assert len(got) == 1, gw.log_tail("fakesmsc")
    assert got[0]["parts"] == 2
    assert got[0]["text"] == LONG_TEXT
    parts = [p for p in gw.received_lines() if p["to"] == to]
    assert [p["type"] for p in parts] == ["udh", "udh"]
    # One 8 and one 1 for the whole message, not one pair per part.
    dl = wait_dlr_types(rec, ident, {8, 1})
    assert sorted(int(r["q"]["type"]) for r in dl) == [1, 8]


def test_reply_reaches_get_url(gw, rec):
    t0 = time.monotonic()
    gw.inject("13800000041", SHORT_CODE, "1")
    gw.inject("13800000042", SHORT_CODE, "收到 A&B+C")

    def inbound(phone):
        return lambda r: (r["path"] == "/v1/inbound/sms" and
                          r["q"].get("from") == phone)

    r1 = rec.wait(inbound("13800000041"))[0]
    r2 = rec.wait(inbound("13800000042"))[0]
    assert r1["method"] == "GET"
    assert r1["q"] == {"from": "13800000041", "to": SHORT_CODE, "text": "1"}
    # A UCS-2 reply arrives as UTF-8 (mo-recode), escaped in the query.
    assert r2["q"] == {"from": "13800000042", "to": SHORT_CODE,
                       "text": "收到 A&B+C"}
    assert "%E6%94%B6%E5%88%B0" in r2["raw"]
    assert r2["at"] - t0 < 5.0
    # max-messages = 0: the empty HTTP answer goes back to nobody.
    time.sleep(0.3)
    assert not [m for m in gw.received()
                if m["to"] in ("13800000041", "13800000042")]


def test_smsc_down_queues_then_delivers(own_gw, rec):
    k = own_gw
    k.stop_fakesmsc()
    assert not k.smsc_online()
    ident = "t" + secrets.token_hex(4)
    to = "13800000051"
    t0 = time.monotonic()
    status, body = k.sendsms(**{"from": SHORT_CODE, "to": to,
                                "text": DRILL_TEXT, "coding": 2,
                                "charset": "UTF-8", "dlr-mask": 31,
                                "dlr-url": dlr_url(rec, ident)})
    # Kannel 1.4.5 answers 202 (not 503) and keeps the message in
    # bearerbox; no DLR at all (not even 4 or 16) while the SMSC is down.
    assert (status, body) == (202, "3: Queued for later delivery")
    assert time.monotonic() - t0 < 2.0
    time.sleep(0.5)
    assert dlrs_for(rec, ident) == []

    # The SMSC comes back, here as fakesmsc on its command line sending one
    # reply: the queued message goes out, its DLRs follow, and the reply
    # reaches get-url.
    k.start_fakesmsc(replies=["13800000052 %s text 1" % SHORT_CODE],
                     reply_count=1)
    got = k.wait_received(1)
    assert [(m["to"], m["text"]) for m in got] == [(to, DRILL_TEXT)]
    dl = wait_dlr_types(rec, ident, {8, 1})
    assert sorted(int(r["q"]["type"]) for r in dl) == [1, 8]
    r = rec.wait(lambda r: r["path"] == "/v1/inbound/sms" and
                 r["q"].get("from") == "13800000052")[0]
    assert r["q"] == {"from": "13800000052", "to": SHORT_CODE, "text": "1"}
