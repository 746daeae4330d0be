"""
The fan-out through real parts: a signed webhook to a loopback receiver
(one request per person, Standard Webhooks signatures, the drill mark),
retries of a 5xx under the same webhook-id, fallback to the next channel
on 410, SMS through a real Kannel (fakesmsc as the phones, delivery
reports back to /v1/inbound/CHANNEL) and a SIGKILL in the middle of a
3,000-person alert (at least once, duplicates bounded by what was in
flight).

conftest's config_text() always writes `channels` and `routing` (every
role to a file channel); libconfig refuses a key given twice, so these
tests create the daemon unstarted and write its config themselves: the
same text with those two lines replaced by their own.
"""

import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import secrets
import signal
import threading
import time

import pytest

import kannel
from conftest import (ADMIN, BASE_ROWS, HL, NH, NHC, NHN, R, TOKENS,
                      config_text, full_phones, scaled, volume)

ALL_ROLES = ["grid_leader", "building_leader", "unit_leader",
             "villager_rep", "duty_officer"]
STATES = ["pending", "sent", "delivered", "acked", "failed", "cancelled",
          "expired"]
DRILL_MARK = "【演练】"
B12 = NHC + "/G01/12"
WANGFANG = "13800000003"	# has a webhook= target in BASE_ROWS
# Who a drill to [NH, HL] with every role reaches: all of BASE_ROWS but
# the backup 陈静 (13800000004); 李娜 once for her two posts.
EVERYONE = sorted({r[10] for r in BASE_ROWS} - {"13800000004"})
TITLE = "消防疏散演练"
BODY = "11月30日10:00开展消防疏散演练，请单元长组织本单元居民参加。"
SMS_FROM = "10690000"


def zero_counts(**kw):
    c = {s: 0 for s in STATES}
    c.update(kw)
    return c


# ---- a Standard Webhooks receiver -------------------------------------------

class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256	# 64 connections at once must not be dropped

    def handle_error(self, request, client_address):
        pass		# a daemon SIGKILLed mid-request resets its sockets


class Receiver:
    """
    A loopback HTTP server that checks each request's Standard Webhooks
    headers against key and records it.  answer(n) gives the status for
    the n-th request (1, 2, ...) with that webhook-id; a request with a
    bad signature or timestamp gets 401.
    """

    def __init__(self, answer=lambda n: 200, delay=0.0):
        self.raw_key = secrets.token_bytes(24)
        self.secret = "whsec_" + base64.b64encode(self.raw_key).decode()
        self.answer = answer
        self.delay = delay
        self.requests = []
        self.seen = {}		# webhook-id -> requests so far
        self.busy = 0		# requests being answered now
        self.peak = 0		# the most at once
        self.cond = threading.Condition()
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                with rec.cond:
                    rec.busy += 1
                    rec.peak = max(rec.peak, rec.busy)
                try:
                    status = self._take()
                finally:
                    # Before the answer: the sender's next request may
                    # follow it at once, on another thread.
                    with rec.cond:
                        rec.busy -= 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _take(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                r = rec._check(self.path, self.headers, body)
                with rec.cond:
                    k = rec.seen[r["id"]] = rec.seen.get(r["id"], 0) + 1
                    r["nth"] = k
                    r["status"] = (rec.answer(k) if r["valid"] else 401)
                    rec.requests.append(r)
                    rec.cond.notify_all()
                if rec.delay:
                    time.sleep(rec.delay)
                return r["status"]

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def _check(self, path, headers, body):
        wid = headers.get("webhook-id")
        ts = headers.get("webhook-timestamp")
        sigs = (headers.get("webhook-signature") or "").split()
        r = {"path": path, "id": wid, "ts": ts, "raw": body,
             "ctype": headers.get("Content-Type"), "at": time.monotonic(),
             "sig_ok": False, "ts_ok": False, "doc": None}
        if wid and ts and ts.isdigit():
            r["ts_ok"] = abs(time.time() - int(ts)) <= 300
            mac = hmac.new(self.raw_key, wid.encode() + b"." + ts.encode() +
                           b"." + body, hashlib.sha256).digest()
            want = "v1," + base64.b64encode(mac).decode()
            r["sig_ok"] = any(hmac.compare_digest(s, want) for s in sigs)
        try:
            r["doc"] = json.loads(body.decode("utf-8"))
        except ValueError:
            pass
        r["valid"] = r["sig_ok"] and r["ts_ok"] and r["doc"] is not None
        return r

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.server.server_address[1], path)

    def snapshot(self):
        with self.cond:
            return list(self.requests)

    def wait(self, n, timeout):
        """At least n requests within timeout, else AssertionError."""
        end = time.monotonic() + scaled(timeout)
        with self.cond:
            while len(self.requests) < n:
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("%d of %d webhook requests in "
                                         "%.1f s" % (len(self.requests), n,
                                                     timeout))
                self.cond.wait(left)
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    """Factory: receivers(answer=..., delay=...) -> a running Receiver."""
    made = []

    def make(**kw):
        made.append(Receiver(**kw))
        return made[-1]

    yield make
    for r in made:
        r.close()


def by_alert(reqs, aid):
    return [r for r in reqs if r["doc"] and
            r["doc"].get("alert", {}).get("id") == aid]


def phone_of(r):
    return r["doc"]["recipient"]["phone"]


def test_receiver_refuses_what_is_not_signed(receivers):
    """The checker itself: a wrong key, an old timestamp, no signature."""
    rec = receivers()
    body = b'{"type":"sanzhang.alert"}'

    def post(key, ts, sig=True):
        mac = hmac.new(key, b"m1." + str(ts).encode() + b"." + body,
                       hashlib.sha256).digest()
        h = {"webhook-id": "m1", "webhook-timestamp": str(ts),
             "Content-Type": "application/json"}
        if sig:
            h["webhook-signature"] = "v0,x v1," + \
                base64.b64encode(mac).decode()
        conn = http.client.HTTPConnection("127.0.0.1",
                                          rec.server.server_address[1],
                                          timeout=5)
        try:
            conn.request("POST", "/hook", body=body, headers=h)
            return conn.getresponse().status
        finally:
            conn.close()

    now = int(time.time())
    assert post(rec.raw_key, now) == 200
    assert post(secrets.token_bytes(24), now) == 401
    assert post(rec.raw_key, now - 400) == 401
    assert post(rec.raw_key, now, sig=False) == 401


# ---- the daemon with its own channels and routing ---------------------------

def webhook_channel(rec, name="hook", extra=""):
    return ('{ name = "%s"; plugin = "webhook"; url = "%s"; secret = "%s"; '
            '%s }' % (name, rec.url("/hook"), rec.secret, extra))


def file_channel(path, name="file"):
    return '{ name = "%s"; plugin = "file"; path = "%s"; }' % (name, path)


def routing_all(*chans):
    route = "[ %s ]" % ", ".join('"%s"' % c for c in chans)
    return "routing = { %s };" % " ".join("%s = %s;" % (role, route)
                                          for role in ALL_ROLES)


def start_fanout(daemons, channels, routing, extra="", **kw):
    """
    A started daemon whose config is conftest's but for the channels and
    routing lines, which are replaced (not repeated: libconfig refuses a
    duplicate key).  kw go to the daemons factory (name, state_dir).
    """
    d = daemons(start=False, **kw)
    text = config_text(d.state_dir, d.port, d.sock, tokens=TOKENS,
                       extra=extra)
    lines = text.split("\n")
    kept = [ln for ln in lines
            if not ln.startswith(("channels =", "routing ="))]
    assert len(lines) - len(kept) == 2, \
        "conftest's config_text() no longer writes one channels and one " \
        "routing line:\n" + text
    kept.insert(len(kept) - 1, "channels = ( %s );" % ", ".join(channels))
    kept.insert(len(kept) - 1, routing)
    with open(d.conf, "w", encoding="utf-8") as f:
        f.write("\n".join(kept))
    return d.start()


def rows_to(rec):
    """BASE_ROWS with 王芳's own webhook target on rec, not im.example."""
    out = []
    for r in BASE_ROWS:
        if r[10] == WANGFANG:
            r = r[:11] + ("webhook=" + rec.url("/h/wangfang"),)
        out.append(r)
    return out


def drill(**kw):
    doc = {"kind": "drill", "severity": "yellow", "title": TITLE,
           "body": BODY, "targets": [NH, HL], "roles": ALL_ROLES}
    doc.update(kw)
    return doc


def emergency(**kw):
    return drill(kind="emergency", severity="red", title="燃气泄漏",
                 body="请立即组织12号楼居民撤离。", **kw)


def create(d, doc):
    r = d.request("POST", "/v1/alerts", token=ADMIN,
                  body=json.dumps(doc, ensure_ascii=False),
                  content_type="application/json")
    assert r.status == 201, r
    return r.json()


def get_alert(d, aid):
    r = d.get("/v1/alerts/%d" % aid)
    assert r.status == 200, r
    return r.json()


def log_tail(d, n=30):
    """The daemon's last lines, without our own polling's access lines."""
    lines = [ln for ln in d.log().splitlines()
             if "http: city-admin /v1/alerts" not in ln]
    return "\n".join(lines[-n:])


def wait_counts(d, aid, want, timeout):
    """
    The alert's counts once they equal want (a dict, or a predicate on
    the counts), or fail (bounded poll).
    """
    ok = want if callable(want) else (lambda c: c == want)
    end = time.monotonic() + scaled(timeout)
    while True:
        doc = get_alert(d, aid)
        if ok(doc["counts"]):
            return doc
        if time.monotonic() > end:
            pytest.fail("alert %d counts %r, want %r after %.0f s\n%s" % (
                aid, doc["counts"], want, timeout, log_tail(d)))
        time.sleep(0.1)


def recipient_states(d, aid):
    r = d.get("/v1/alerts/%d/recipients" % aid)
    assert r.status == 200, r
    return {x["phone"]: x["state"] for x in r.json()["recipients"]}


# ---- 1. webhook fan-out -----------------------------------------------------

def test_webhook_fanout_one_signed_request_per_person(daemons, receivers):
    rec = receivers()
    d = start_fanout(daemons, [webhook_channel(rec)], routing_all("hook"))
    d.load(rows_to(rec))
    dr = create(d, drill())
    em = create(d, emergency())
    assert dr["recipients"] == em["recipients"] == len(EVERYONE), (dr, em)
    for a in (dr, em):
        wait_counts(d, a["id"], zero_counts(sent=len(EVERYONE)), 15)
    time.sleep(0.5)		# anything sent twice would show by now
    reqs = rec.snapshot()
    assert len(reqs) == 2 * len(EVERYONE), [(r["id"], r["nth"]) for r in reqs]
    bad = [(r["id"], r["sig_ok"], r["ts_ok"]) for r in reqs if not r["valid"]]
    assert not bad, bad
    ids = [r["id"] for r in reqs]
    assert len(set(ids)) == len(ids), ids
    for a in (dr, em):
        got = by_alert(reqs, a["id"])
        assert sorted(phone_of(r) for r in got) == EVERYONE, got
        for r in got:
            doc = r["doc"]
            assert r["ctype"] == "application/json", r
            assert doc["type"] == "sanzhang.alert", doc
            assert doc["alert"]["kind"] == a["kind"], doc
            assert doc["alert"]["code"] == a["code"], doc
            assert doc["ack_url"].startswith(
                "http://127.0.0.1:%d/a/" % d.port), doc
            text = doc["text"]
            if a["kind"] == "drill":
                assert text.startswith(DRILL_MARK), text
            else:
                assert not text.startswith(DRILL_MARK), text
                assert DRILL_MARK not in text, text
            want = "/h/wangfang" if phone_of(r) == WANGFANG else "/hook"
            assert r["path"] == want, (phone_of(r), r["path"])
            if phone_of(r) == "13800000002":	# 李娜, two posts
                posts = sorted((p["code"], p["role"])
                               for p in doc["recipient"]["posts"])
                assert posts == [(B12, "building_leader"),
                                 (B12 + "/4", "unit_leader")], doc
            else:
                assert len(doc["recipient"]["posts"]) == 1, doc
        assert set(recipient_states(d, a["id"]).values()) == {"sent"}
    assert full_phones(d.log()) == [], d.log_tail()


# ---- 2. retries -------------------------------------------------------------

@pytest.mark.timing		# the retry's interval, by the clock
def test_webhook_5xx_retried_under_the_same_id(daemons, receivers):
    rec = receivers(answer=lambda n: 500 if n == 1 else 200)
    d = start_fanout(daemons, [webhook_channel(rec)], routing_all("hook"))
    d.load(rows_to(rec))
    a = create(d, drill())
    n = len(EVERYONE)
    rec.wait(n, 10)
    # Between the 500s and the retries (5 s +-25%): nothing moved yet.
    time.sleep(0.5)
    assert get_alert(d, a["id"])["counts"] == zero_counts(pending=n)
    wait_counts(d, a["id"], zero_counts(sent=n), 20)
    time.sleep(0.3)
    reqs = rec.snapshot()
    assert all(r["valid"] for r in reqs), reqs
    per_phone = {}
    for r in reqs:
        per_phone.setdefault(phone_of(r), []).append(r)
    assert sorted(per_phone) == EVERYONE
    for phone, rs in per_phone.items():
        assert [x["status"] for x in rs] == [500, 200], (phone, rs)
        assert rs[0]["id"] == rs[1]["id"], (phone, rs)
        assert rs[0]["raw"] == rs[1]["raw"], phone
        gap = rs[1]["at"] - rs[0]["at"]
        assert 3.5 <= gap <= 10.0, (phone, gap)
    assert set(recipient_states(d, a["id"]).values()) == {"sent"}


# ---- 3. fallback ------------------------------------------------------------

@pytest.mark.timing		# "at once", by the clock
def test_webhook_410_falls_back_to_file_at_once(daemons, receivers):
    rec = receivers(answer=lambda n: 410)
    path = os.path.join(daemons.workdir, "fallback.jsonl")
    d = start_fanout(daemons, [webhook_channel(rec), file_channel(path)],
                     routing_all("hook", "file"))
    d.load(rows_to(rec))
    t0 = time.monotonic()
    a = create(d, drill())
    n = len(EVERYONE)
    wait_counts(d, a["id"], zero_counts(sent=n), 15)
    # A retried 410 would be tried 5 times (5 + 10 + 20 + 40 s) first.
    assert time.monotonic() - t0 < 3.5, time.monotonic() - t0
    with open(path, encoding="utf-8") as f:
        lines = [json.loads(ln) for ln in f if ln.strip()]
    assert sorted(x["phone"] for x in lines) == EVERYONE, lines
    for x in lines:
        assert x["text"].startswith(DRILL_MARK), x
    # No second request for any webhook-id, past the longest first backoff.
    reqs = rec.snapshot()
    last = max(r["at"] for r in reqs)
    time.sleep(max(0.0, last + 6.5 - time.monotonic()))
    reqs = rec.snapshot()
    assert sorted(phone_of(r) for r in reqs) == EVERYONE, reqs
    assert [r["nth"] for r in reqs] == [1] * n, reqs
    assert all(r["valid"] and r["status"] == 410 for r in reqs), reqs
    assert set(recipient_states(d, a["id"]).values()) == {"sent"}
    with open(path, encoding="utf-8") as f:
        assert len([ln for ln in f if ln.strip()]) == n


# ---- 4. Kannel --------------------------------------------------------------

def require_kannel():
    if not kannel.installed():
        msg = "kannel/kannel-extras not installed (run contrib/deps.sh)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="module")
def gw(request):
    """One real Kannel for the module (fakesmsc as the phones)."""
    require_kannel()
    with kannel.running("fanout",
                        lambda: request.session.testsfailed > 0) as k:
        yield k


INBOUND_SECRET = "in-" + secrets.token_hex(12)


def kannel_daemon(daemons, k, extra=""):
    # With an inbound secret: every delivery report must come back through
    # the URL that carries it.
    chan = ('{ name = "sms"; plugin = "sms_kannel"; url = "%s"; '
            'username = "%s"; password = "%s"; from = "%s"; batch = 100; '
            'inbound_secret = "%s"; %s }'
            % (k.base_url() + "/cgi-bin/sendsms", k.username, k.password,
               SMS_FROM, INBOUND_SECRET, extra))
    # No {url}: every recipient's text is the same, so one request.
    tmpl = 'templates = { drill = "{title}：{body}"; };'
    return start_fanout(daemons, [chan], routing_all("sms"), extra=tmpl)


def sendsms_requests(k):
    """sendsms requests smsbox has logged so far."""
    try:
        with open(k.logs["smsbox"], "rb") as f:
            log = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return 0
    return log.count("Got HTTP request </cgi-bin/sendsms>")


def test_kannel_fanout_and_delivery_reports(daemons, gw):
    d = kannel_daemon(daemons, gw)
    d.load()
    title = "演练%s" % secrets.token_hex(3)
    want = DRILL_MARK + title + "：" + BODY
    a = create(d, drill(title=title))
    n = len(EVERYONE)
    assert a["recipients"] == n and a["sms_parts"] == 1, a
    gw.wait_received(n, timeout=15, match=lambda m: title in m["text"])
    # Every report in: delivered for all.
    doc = wait_counts(d, a["id"], zero_counts(delivered=n), 20)
    for g in doc["grids"].values():
        assert g["delivered"] == sum(g.values()), doc["grids"]
    got = [m for m in gw.received() if title in m["text"]]
    assert sorted(m["to"] for m in got) == EVERYONE, got
    for m in got:
        assert m["text"] == want, m
        assert (m["from"], m["parts"]) == (SMS_FROM, 1), m
    assert set(recipient_states(d, a["id"]).values()) == {"delivered"}
    assert full_phones(d.log()) == [], d.log_tail()


def test_inbound_needs_the_channel_secret(daemons, gw):
    d = kannel_daemon(daemons, gw)
    report = "?t=1&p=13800000001&b=nosuchbatch"
    for path in ("/v1/inbound/sms", "/v1/inbound/sms/wrong-secret-123456",
                 "/v1/inbound/sms/" + INBOUND_SECRET[:-1],
                 "/v1/inbound/sms/" + INBOUND_SECRET + "x",
                 "/v1/inbound/nosuch/" + INBOUND_SECRET):
        r = d.request("GET", path + report, token=None)
        assert r.status == 404, (path, r)
        assert INBOUND_SECRET not in r.text, r.text
    r = d.request("GET", "/v1/inbound/sms/" + INBOUND_SECRET + report,
                  token=None)
    assert r.status == 200, r	# handed to the plugin, which took it
    assert "refused" in d.log()
    assert INBOUND_SECRET not in d.log(), "the secret was logged"


@pytest.mark.parametrize("targets,roles,n", [
    ([NHC], None, 3),			# 张伟, 李娜, 王芳
    ([NH, HL], ALL_ROLES, len(EVERYONE)),
])
def test_kannel_one_sendsms_request_per_batch(daemons, gw, targets, roles, n):
    d = kannel_daemon(daemons, gw)
    d.load()
    title = "演练%s" % secrets.token_hex(3)
    doc = drill(title=title, targets=targets)
    if roles is None:
        del doc["roles"]
    before = sendsms_requests(gw)
    a = create(d, doc)
    assert a["recipients"] == n, a
    wait_counts(d, a["id"], lambda c: c["sent"] + c["delivered"] == n, 15)
    gw.wait_received(n, timeout=15, match=lambda m: title in m["text"])
    # smsbox logs a request as it takes it; give it a moment.
    time.sleep(0.3)
    batches = [ln for ln in d.log().splitlines() if "sendsms batch" in ln]
    assert sendsms_requests(gw) - before == 1, batches
    assert len(batches) == 1 and (" %d of %d messages" % (n, n)) in \
        batches[0], batches


# ---- 5. a crash in the middle -----------------------------------------------

CRASH_UNITS = volume(3000)
CRASH_CONCURRENCY = 64
CRASH_DUP_MAX = 1100	# in flight (64 x 1) + one unflushed outcome group
ONCE_UNITS = volume(10000)	# enough pages for a read to overlap a commit


def crash_rows(n=CRASH_UNITS):
    rows = []
    for i in range(n):
        g, rest = divmod(i, 300)
        b, u = divmod(rest, 6)
        rows.append(R(NH, NHN, NHC, "南湖社区", "G%02d" % (g + 1),
                      str(b + 1), str(u + 1), "unit_leader", 1,
                      "单元长%d" % i, "1350%07d" % i))
    return rows


def test_sigkill_mid_fanout_resends_at_least_once(daemons, receivers):
    rec = receivers(delay=0.002)
    d = start_fanout(daemons, [webhook_channel(
        rec, extra="concurrency = %d;" % CRASH_CONCURRENCY)],
        routing_all("hook"), name="crash")
    rows = crash_rows()
    d.load(rows)
    a = create(d, drill(targets=[NHC], roles=["unit_leader"]))
    assert a["recipients"] == CRASH_UNITS, a
    # Once the fan-out is under way (not after a fixed time: a daemon
    # under valgrind or on a busy machine may not have sent anything).
    rec.wait(CRASH_UNITS // 10, 30)
    d.stop(sig=signal.SIGKILL)
    at_kill = len(rec.snapshot())
    assert 0 < at_kill < CRASH_UNITS, \
        "the kill did not land mid-fan-out (%d of %d sent)" % (
            at_kill, CRASH_UNITS)
    d.start()
    wait_counts(d, a["id"], zero_counts(sent=CRASH_UNITS), 60)
    time.sleep(0.3)
    reqs = rec.snapshot()
    assert all(r["valid"] and r["status"] == 200 for r in reqs), \
        [r for r in reqs if not r["valid"]][:3]
    phones = {phone_of(r) for r in reqs}
    assert phones == {r[10] for r in rows}, \
        "%d recipients never got a request" % (CRASH_UNITS - len(phones))
    counts = {}
    for r in reqs:
        counts[r["id"]] = counts.get(r["id"], 0) + 1
    # One delivery id per person, however often it was sent.
    assert len(counts) == CRASH_UNITS, len(counts)
    dups = sum(c - 1 for c in counts.values())
    print("crash: %d requests before SIGKILL, %d in all, %d duplicate "
          "webhook-ids (%d extra requests)" % (
              at_kill, len(reqs), sum(1 for c in counts.values() if c > 1),
              dups))
    assert dups <= CRASH_DUP_MAX, (at_kill, dups)


def test_large_fanout_sends_each_exactly_once(daemons, receivers):
    """
    Without a crash, nothing is sent twice: a page of the queue read while
    earlier outcomes were being written must not take those rows again.
    """
    rec = receivers()
    d = start_fanout(daemons, [webhook_channel(
        rec, extra="concurrency = %d;" % CRASH_CONCURRENCY)],
        routing_all("hook"), name="once")
    rows = crash_rows()
    d.load(rows)
    a = create(d, drill(targets=[NHC], roles=["unit_leader"]))
    assert a["recipients"] == CRASH_UNITS, a
    wait_counts(d, a["id"], zero_counts(sent=CRASH_UNITS), 60)
    time.sleep(0.5)
    reqs = rec.snapshot()
    counts = {}
    for r in reqs:
        counts[r["id"]] = counts.get(r["id"], 0) + 1
    twice = {k: v for k, v in counts.items() if v > 1}
    assert len(counts) == CRASH_UNITS and not twice, \
        "%d ids sent more than once, e.g. %r" % (len(twice),
                                                 list(twice.items())[:5])
    doc = d.get("/healthz").json()
    hook = [c for c in doc["channels"] if c["name"] == "hook"][0]
    assert hook["requests"] == hook["messages"] == CRASH_UNITS, hook


def test_kannel_batches_each_number_once(daemons, gw):
    """
    The same race through Kannel, where it showed: many numbers per
    request, pages read while batches settle; every phone gets one SMS.
    """
    n = ONCE_UNITS
    d = kannel_daemon(daemons, gw, extra="concurrency = 64;")
    d.load(crash_rows(n))
    title = "演练%s" % secrets.token_hex(3)
    before = sendsms_requests(gw)
    a = create(d, drill(title=title, targets=[NHC], roles=["unit_leader"]))
    assert a["recipients"] == n, a
    gw.wait_received(n, timeout=60, match=lambda m: title in m["text"])
    wait_counts(d, a["id"], lambda c: c["pending"] == 0, 30)
    time.sleep(1.0)
    got = [m for m in gw.received() if title in m["text"]]
    per = {}
    for m in got:
        per[m["to"]] = per.get(m["to"], 0) + 1
    twice = {k for k, v in per.items() if v > 1}
    assert len(per) == n and not twice, \
        "%d numbers got the drill more than once" % len(twice)
    assert sendsms_requests(gw) - before == n // 100
