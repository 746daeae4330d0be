"""
Faults from outside at the SMS gateways (issue 7), as test_faults.py has
them for the webhook.  Aliyun's and Tencent's APIs are their loopback
fakes with the faults of gateway_faults.py: a bare HTTP 500, throttling,
a hang until the daemon's timeout, a reset, an answer dripped byte by
byte, 429/503 with Retry-After, and the whole gateway gone for a while;
then providers that say a failure is permanent.  Kannel is the real one
(kannel.py): its smsbox goes away for a while, or its SMSC is down and
Kannel queues.

Each message ends as the README says: retried with backoff and delivered
once the gateway is back (exactly once, or at least once where an answer
was lost on the way), handed at once to the next channel of its role's
routing, or failed with the provider's reason.  /healthz is sampled
throughout and stays fast.

The daemon's backoff is fixed (5 s, doubling, +-25%), so a test does not
wait for one fault after another: each message of one alert meets its own
fault on its first try.  The template variables carry {name}, so every
number goes in a request of its own.
"""

import secrets
import sqlite3
import time

import pytest

import gateway_faults as gf
import kannel
from conftest import call_failed, full_phones, scaled
from fake_aliyun import ANSWERS as ALIYUN_ANSWERS, FakeAliyun
from fake_tencent import FakeTencent
from test_aliyun import KEY_ID, KEY_SECRET, aliyun_channel, states
from test_fanout import (EVERYONE, create, drill, get_alert, kannel_daemon,
                         require_kannel, start_fanout, wait_counts,
                         zero_counts)
from test_faults import HealthProbe, channel_stats
from test_tencent import (APP_ID, SECRET_ID, SECRET_KEY, TEMPLATE_ID,
                          tencent_channel)

N = len(EVERYONE)
ROLES = ["grid_leader", "building_leader", "unit_leader", "villager_rep",
         "duty_officer"]
TIMEOUT_S = 2.0			# the channels' timeout_ms
LIMIT_RETRY_S = 7		# Aliyun's limit_retry_after
# Seconds from a failed try to the next, as the gateway sees them: the
# first backoff is 3.75..6.25 s; after a timeout it starts TIMEOUT_S late.
BACKOFF = (3.5, 7.0)
AFTER_TIMEOUT = (TIMEOUT_S + 3.5, TIMEOUT_S + 7.0)
RETRY_AFTER_7 = (6.9, 8.5)		# not the plain backoff's 3.75..6.25 s
FAST_DRIP = 0.002		# ~0.6 s for a whole answer: within the timeout
SLOW_DRIP = 0.02		# ~5 s: the daemon gives up first

# Backoff intervals and the /healthz p99 by the clock (parallel.py).
pytestmark = pytest.mark.timing


def wait_for(what, pred, timeout):
    end = time.monotonic() + scaled(timeout)
    while not pred():
        assert time.monotonic() < end, what
        time.sleep(0.05)


# ---- the two providers, seen alike ------------------------------------------

class Try:
    """One request for one number, as the fake saw it."""

    def __init__(self, got, taken, msg_id, at):
        self.got = got		# "ok", a provider code, "reset", "http 500"...
        self.taken = taken	# the fake took the message (answered OK)
        self.msg_id = msg_id	# OutId / SessionContext
        self.at = at

    def __repr__(self):
        return "<%s%s %s>" % (self.got, " taken" if self.taken else "",
                              self.msg_id)


class Aliyun:
    name = "ali"

    def __init__(self):
        self.fake = FakeAliyun(KEY_ID, KEY_SECRET)

    def channel(self):
        return aliyun_channel(
            self.fake, name=self.name, limit_retry_after=LIMIT_RETRY_S,
            template_param='{"title":"{drill}{title}","name":"{name}"}',
            extra="concurrency = 16; timeout_ms = %d;" % (TIMEOUT_S * 1000))

    def tries(self):
        """{phone: [Try, ...]} in the order the fake saw them."""
        out = {}
        with self.fake.cond:
            reqs = list(self.fake.requests)
        for r in reqs:
            got = gf.describe(r["fault"]) if gf.is_fault(r["fault"]) \
                else "ok" if r["code"] == "OK" else r["code"]
            for n in r["numbers"]:
                out.setdefault(n, []).append(Try(
                    got, r["code"] == "OK", r["params"]["OutId"], r["at"]))
        return out

    @staticmethod
    def got(fault):
        """What Try.got says of a request that got fault."""
        if isinstance(fault, str):
            return ALIYUN_ANSWERS[fault][1]
        return gf.describe(fault)

    def problems(self):
        return list(self.fake.problems)

    def stop(self):
        self.fake.stop()


class Tencent:
    name = "tx"

    def __init__(self):
        self.fake = FakeTencent(SECRET_ID, SECRET_KEY, APP_ID, TEMPLATE_ID, 2)

    def channel(self):
        return tencent_channel(
            self.fake, name=self.name, params="{title},{name}",
            extra="concurrency = 16; timeout_ms = %d;" % (TIMEOUT_S * 1000))

    def tries(self):
        out = {}
        for r in self.fake.snapshot():
            if r["doc"] is None:
                continue
            rsp = (r["answer"] or {}).get("Response", {})
            codes = {s["PhoneNumber"]: s["Code"]
                     for s in rsp.get("SendStatusSet", [])}
            for p in r["doc"]["PhoneNumberSet"]:
                code = rsp.get("Error", {}).get("Code") or codes.get(p)
                got = "ok" if code == "Ok" else code
                if gf.is_fault(r["fault"]):
                    got = gf.describe(r["fault"])
                out.setdefault(p[3:], []).append(Try(
                    got, code == "Ok", r["doc"]["SessionContext"], r["at"]))
        return out

    @staticmethod
    def got(fault):
        if isinstance(fault, dict):
            [fault] = fault.values()
        return fault if isinstance(fault, str) else gf.describe(fault)

    def problems(self):
        return [r["error"] for r in self.fake.bad()]

    def stop(self):
        self.fake.close()


@pytest.fixture
def providers():
    made = []

    def make(cls):
        made.append(cls())
        return made[-1]

    yield make
    for p in made:
        p.stop()
    for p in made:
        assert p.problems() == [], (p.name, p.problems())


def routing(by_role):
    """routing = { role = [ channels ]; ... } from {role: [names]}."""
    return "routing = { %s };" % " ".join(
        "%s = [ %s ];" % (role, ", ".join('"%s"' % c for c in chans))
        for role, chans in by_role.items())


def sms_daemon(daemons, channels, by_role):
    d = start_fanout(daemons, [c.channel() for c in channels],
                     routing(by_role))
    d.load()
    return d


def deliveries(d, aid):
    """{phone: [(channel, state, attempts, next_at - updated_at, error)]}.
    The database holds numbers sealed: the recipients list (in row id
    order) says whose each recipient row is."""
    r = d.get("/v1/alerts/%d/recipients" % aid)
    assert r.status == 200, r
    con = sqlite3.connect("file:%s?mode=ro" % d.db_path, uri=True, timeout=5)
    try:
        ids = [x[0] for x in con.execute(
            "SELECT id FROM recipients WHERE alert_id = ? ORDER BY id",
            (aid,))]
        rows = con.execute(
            "SELECT x.recipient_id, x.channel, x.state, x.attempts, "
            "x.next_at - x.updated_at, x.error FROM deliveries x "
            "WHERE x.alert_id = ? ORDER BY x.id", (aid,)).fetchall()
    finally:
        con.close()
    phone = dict(zip(ids, (x["phone"] for x in r.json()["recipients"])))
    assert len(phone) == len(ids) == len(r.json()["recipients"])
    out = {}
    for row in rows:
        out.setdefault(phone[row[0]], []).append(row[1:])
    return out


def failed_reasons(d, aid):
    r = d.get("/v1/alerts/%d/report" % aid)
    assert r.status == 200, r
    return {x["phone"]: x["error"] for x in r.json()["failed_numbers"]}


# ---- 1. every fault at once, one per message --------------------------------

def tx_code(phone, code):
    """Tencent's SendStatusSet Code for this one number."""
    return {"+86" + phone: code}


# phone: (what its first request gets, seconds to the second or None: the
# first is taken, or "later": a retry is due later than this test waits).
ALIYUN_FAULTS = {
    "13800000001": (gf.http_error(500), BACKOFF),
    "13800000002": ("throttle", BACKOFF),	# HTTP 400 Throttling.User
    "13800000003": ("limit", (LIMIT_RETRY_S - 0.1, LIMIT_RETRY_S + 1.5)),
    "13800000009": (gf.HANG, AFTER_TIMEOUT),
    "13800000010": (gf.RESET, BACKOFF),
    "13700000021": (gf.drip(FAST_DRIP), None),
    "13900000011": (gf.drip(SLOW_DRIP), AFTER_TIMEOUT),
    "13900000012": (gf.http_error(429, {"Retry-After": "7"}), RETRY_AFTER_7),
    # Throttled, but the answer is cut short: no answer, not a refusal.
    "15900000013": (gf.drip(SLOW_DRIP, "throttle"), AFTER_TIMEOUT),
}
TENCENT_FAULTS = {
    "13800000001": (gf.http_error(500), BACKOFF),
    "13800000002": ("RequestLimitExceeded", BACKOFF),	# the whole call
    "13800000003": (gf.http_error(503, {"Retry-After": "7"}), RETRY_AFTER_7),
    "13800000009": (gf.HANG, AFTER_TIMEOUT),
    "13800000010": (gf.RESET, BACKOFF),
    "13700000021": (gf.drip(FAST_DRIP), None),
    "13900000011": (gf.drip(SLOW_DRIP), AFTER_TIMEOUT),
    "13900000012": (tx_code("13900000012",
                            "LimitExceeded.PhoneNumberThirtySecondLimit"),
                    "later"),
    "15900000013": (gf.drip(SLOW_DRIP, "RequestLimitExceeded"),
                    AFTER_TIMEOUT),
}


def check_tries(gw, phone, tries, expect):
    """One number's tries against (first fault, gap) of the table."""
    first, gap = expect
    assert tries[0].got == gw.got(first), (phone, tries)
    if gap is None or gap == "later":
        assert len(tries) == 1, (phone, tries)
        assert tries[0].taken == (gap is None), (phone, tries)
        return None
    assert len(tries) == 2 and tries[1].got == "ok", (phone, tries)
    # The same delivery id on every try, whatever became of the first.
    assert tries[0].msg_id == tries[1].msg_id, (phone, tries)
    took = tries[1].at - tries[0].at
    assert gap[0] <= took <= gap[1], (phone, tries[0].got, took, gap)
    # Taken once, but twice where the fake's OK was lost (at least once).
    lost_ok = gf.is_fault(first) and first[0] == "drip" and first[2] is None
    assert [t.taken for t in tries] == [lost_ok, True], (phone, tries)
    return took


@pytest.mark.parametrize("cls,faults", [(Aliyun, ALIYUN_FAULTS),
                                        (Tencent, TENCENT_FAULTS)],
                         ids=["aliyun", "tencent"])
def test_each_fault_is_retried_then_delivered(daemons, providers, cls,
                                              faults):
    gw = providers(cls)
    assert sorted(faults) == EVERYONE
    gw.fake.fault = gf.Plan({p: [f] for p, (f, _) in faults.items()
                             if f is not None})
    d = sms_daemon(daemons, [gw], {r: [gw.name] for r in ROLES})
    probe = HealthProbe(d)
    a = create(d, drill())
    later = [p for p, (_, gap) in faults.items() if gap == "later"]
    wait_counts(d, a["id"], zero_counts(sent=N - len(later),
                                        pending=len(later)), 20)
    probe.check("%s faults" % gw.name)
    tries = gw.tries()
    assert sorted(tries) == EVERYONE, tries
    for phone, expect in sorted(faults.items()):
        took = check_tries(gw, phone, tries[phone], expect)
        print("%s %s: %s%s" % (gw.name, phone, tries[phone][0].got,
                               "" if took is None else
                               ", again after %.2f s" % took))
    st = {p: "sent" for p in EVERYONE}
    st.update({p: "pending" for p in later})
    assert {p: x["state"] for p, x in
            states(d, a["id"]).items()} == st
    # A limit that lifts in 30 s: its retry is due then, not before.
    for phone in later:
        [(chan, state, attempts, due_in, error)] = deliveries(
            d, a["id"])[phone]
        assert (chan, state, attempts) == (gw.name, 0, 1), phone
        assert 29000 <= due_in <= 31000, (phone, due_in)
        assert "LimitExceeded.PhoneNumberThirtySecondLimit" in error
    log = d.log()
    assert "transport error 28: " in log, "no timeout (curl's 28)"
    # The slow drips: the status came, the rest did not.
    assert "answer cut short, transport error 28: " in log
    assert full_phones(log) == [], "a full phone number was logged"


# ---- 2. both gateways gone for a while --------------------------------------

def test_gateways_away_then_back_deliver_each_once(daemons, providers):
    ali, tx = providers(Aliyun), providers(Tencent)
    by_role = {"grid_leader": ["ali"], "building_leader": ["ali"],
               "unit_leader": ["ali"], "villager_rep": ["tx"],
               "duty_officer": ["tx"]}
    d = sms_daemon(daemons, [ali, tx], by_role)
    ali.fake.away()
    tx.fake.away()
    probe = HealthProbe(d)
    a = create(d, drill())
    # Every first try refused: 5 numbers on ali, 4 on tx.
    wait_for("first tries refused",
             lambda: channel_stats(d, "ali")["retried"] >= 5 and
             channel_stats(d, "tx")["retried"] >= 4, 5)
    assert get_alert(d, a["id"])["counts"] == zero_counts(pending=N)
    ali.fake.back()
    tx.fake.back()
    back = time.monotonic()
    wait_counts(d, a["id"], zero_counts(sent=N), 10)
    took = time.monotonic() - back
    probe.check("away")
    print("away: all sent %.1f s after the gateways came back" % took)
    got = {}
    for gw in (ali, tx):
        for phone, tries in gw.tries().items():
            assert [(t.got, t.taken) for t in tries] == [("ok", True)], \
                (gw.name, phone, tries)
            got[phone] = gw.name
    assert sorted(got) == EVERYONE, got
    assert sorted(p for p, c in got.items() if c == "ali") == [
        "13700000021", "13800000001", "13800000002", "13800000003",
        "13900000011"], got
    # The next try comes 5 s (+-25%) after the refused one.
    assert took <= 7.5, took
    assert full_phones(d.log()) == []


# ---- 3. permanent failures: the next channel, or failed with the reason -----

def test_permanent_failures_fall_back_or_fail_with_reason(daemons, providers):
    ali, tx = providers(Aliyun), providers(Tencent)
    zhang, lina, wang = "13800000001", "13800000002", "13800000003"
    ali.fake.fault = gf.Plan({zhang: ["day_limit"], lina: ["template"],
                              wang: [gf.http_error(403)]})
    tx.fake.fault = gf.Plan({lina: [tx_code(
        lina, "LimitExceeded.PhoneNumberDailyLimit")]})
    d = sms_daemon(daemons, [ali, tx], {r: ["ali", "tx"] for r in ROLES})
    probe = HealthProbe(d)
    t0 = time.monotonic()
    a = create(d, drill())
    wait_counts(d, a["id"], zero_counts(sent=N - 1, failed=1), 10)
    # At once: a retried failure would wait 5 s first.
    assert time.monotonic() - t0 < 3.5, time.monotonic() - t0
    wait_for("enough /healthz samples", lambda: len(probe.ms) >= 25, 5)
    probe.check("permanent")
    for name in ("ali", "tx"):
        assert channel_stats(d, name)["retried"] == 0, channel_stats(d, name)
    on_ali, on_tx = ali.tries(), tx.tries()
    assert sorted(on_ali) == EVERYONE
    assert all(len(t) == 1 for t in on_ali.values()), on_ali
    assert [on_ali[p][0].got for p in (zhang, lina, wang)] == [
        "isv.DAY_LIMIT_CONTROL", "isv.SMS_TEMPLATE_ILLEGAL", "http 403"]
    assert {p: [(t.got, t.taken) for t in ts] for p, ts in
            on_tx.items()} == {
        zhang: [("ok", True)], wang: [("ok", True)],
        lina: [("LimitExceeded.PhoneNumberDailyLimit", False)]}
    st = {p: x["state"] for p, x in states(d, a["id"]).items()}
    assert st[lina] == "failed" and \
        list(st.values()).count("sent") == N - 1, st
    # Where each went, and why the failed one failed, is on record.
    dl = deliveries(d, a["id"])
    assert [(x[0], x[1]) for x in dl[zhang]] == [("ali", 3), ("tx", 1)]
    assert "isv.DAY_LIMIT_CONTROL" in dl[zhang][0][4], dl[zhang]
    reasons = failed_reasons(d, a["id"])
    assert list(reasons) == [lina], reasons
    assert "LimitExceeded.PhoneNumberDailyLimit" in reasons[lina], reasons
    assert full_phones(d.log()) == []


# ---- 4. a real Kannel: smsbox away, SMSC down -------------------------------

@pytest.fixture
def own_kannel(request):
    """A Kannel of the test's own, to take parts of it down."""
    require_kannel()
    with kannel.running("faults", lambda: call_failed(request)) as k:
        yield k


def one_sms_each(k, title):
    """What the phones got of this alert: exactly one SMS each."""
    got = [m for m in k.received() if title in m["text"]]
    per = {}
    for m in got:
        per[m["to"]] = per.get(m["to"], 0) + 1
    assert per == {p: 1 for p in EVERYONE}, per


def test_kannel_smsbox_away_then_back(daemons, own_kannel):
    k = own_kannel
    d = kannel_daemon(daemons, k)
    d.load()
    k.stop_smsbox()			# sendsms refused
    probe = HealthProbe(d)
    title = "演练%s" % secrets.token_hex(3)
    a = create(d, drill(title=title))
    wait_for("first try refused",
             lambda: channel_stats(d, "sms")["retried"] >= N, 5)
    assert get_alert(d, a["id"])["counts"] == zero_counts(pending=N)
    time.sleep(1.0)
    k.start_smsbox()
    back = time.monotonic()
    # Sent again with the backoff, then the SMSC's reports: delivered.
    wait_counts(d, a["id"], zero_counts(delivered=N), 12)
    print("smsbox away: all delivered %.1f s after it came back" % (
        time.monotonic() - back))
    probe.check("smsbox away")
    k.wait_received(N, match=lambda m: title in m["text"])
    time.sleep(0.5)			# anything sent twice would show by now
    one_sms_each(k, title)
    assert full_phones(d.log()) == []


def test_kannel_smsc_down_queues_and_reports_come_later(daemons, own_kannel):
    k = own_kannel
    d = kannel_daemon(daemons, k)
    d.load()
    k.stop_fakesmsc()			# the SMSC link is down
    probe = HealthProbe(d)
    title = "演练%s" % secrets.token_hex(3)
    a = create(d, drill(title=title))
    # Kannel takes them ("3: Queued for later delivery"): sent, no report,
    # and no phone has them yet.
    wait_counts(d, a["id"], zero_counts(sent=N), 10)
    time.sleep(1.0)
    assert get_alert(d, a["id"])["counts"] == zero_counts(sent=N)
    assert not [m for m in k.received() if title in m["text"]]
    # The way back for the reports goes too; then the SMSC comes back, and
    # bearerbox sends what it queued.  The reports wait in bearerbox.
    k.stop_smsbox()
    k.start_fakesmsc()
    k.wait_received(N, match=lambda m: title in m["text"])
    time.sleep(1.0)
    assert get_alert(d, a["id"])["counts"] == zero_counts(sent=N)
    k.start_smsbox()
    wait_counts(d, a["id"], zero_counts(delivered=N), 10)
    probe.check("smsc down")
    assert channel_stats(d, "sms")["retried"] == 0
    one_sms_each(k, title)
    assert set(x["state"] for x in states(d, a["id"]).values()) == {
        "delivered"}
    assert full_phones(d.log()) == []
