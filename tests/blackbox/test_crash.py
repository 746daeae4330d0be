"""
SIGKILL at random moments, then a restart, over and over: during a large
webhook fan-out with alerts being created, during roster imports, and
during acknowledgement traffic.  Once the queue has drained:

- every recipient of every alert answered 201 got at least one request at
  the receiver; an alert whose create got no answer is either absent or
  there in full (every recipient, every delivery);
- the extra requests (one webhook-id sent more than once) stay within
  kills x the window a kill can lose (CRASH_WINDOW below);
- a roster is exactly the old or the new one after each kill, and the new
  one when its import was answered 200;
- every answer whose POST /a/TOKEN got its 303 is recorded;
- PRAGMA integrity_check is "ok" on the state file once stopped.

SANZHANG_CRASH_KILLS (default 5) kills per test, SANZHANG_CRASH_UNITS
(default 3000, under valgrind 1000: conftest.volume) people in the roster;
SANZHANG_CRASH_SEED replays the random choices (kill moments, targets) of
a run, which each test prints.
tests/long/crash.sh runs these with 50 kills and a larger roster.
"""

import http.client
import json
import os
import queue
import random
import signal
import sqlite3
import threading
import time
import urllib.parse

import pytest

from conftest import ADMIN, NHC, to_csv, volume
from test_fanout import (by_alert, crash_rows, create, drill, get_alert,
                         phone_of, routing_all, start_fanout, webhook_channel)
from test_fanout import receivers  # noqa: F401 - a fixture, used by name

KILLS = int(os.environ.get("SANZHANG_CRASH_KILLS", "5"))
UNITS = int(os.environ.get("SANZHANG_CRASH_UNITS") or volume(3000))
SEED = int(os.environ.get("SANZHANG_CRASH_SEED") or
           random.SystemRandom().randrange(1 << 32))
CONCURRENCY = 64
BATCH = 1		# the webhook plugin: one message a request
# What one SIGKILL can make the daemon send again: the requests in flight
# (concurrency x batch) and the outcomes answered but not yet committed.
# Outcomes are written in groups (dispatch_priv.h DISPATCH_FLUSH_MIN = 512
# gathered, or whatever a 20 ms tick has); a group the writer is
# committing and the next one being gathered can both be lost.
FLUSH_MIN = 512
CRASH_WINDOW = CONCURRENCY * BATCH + 2 * FLUSH_MIN
# Imports large enough that a kill can land inside one (~0.3 s here).
ROSTER_ROWS = 10 * UNITS
DRAIN_TIMEOUT = 60 + UNITS * KILLS / 1000.0


def rng_for(name):
    """A random source per test, replayable from the printed seed."""
    print("crash %s: SANZHANG_CRASH_SEED=%d SANZHANG_CRASH_KILLS=%d "
          "SANZHANG_CRASH_UNITS=%d" % (name, SEED, KILLS, UNITS))
    return random.Random("%d/%s" % (SEED, name))


def lost_answer(e):
    """Whether an exception means the answer never came (reset, refused)."""
    return isinstance(e, (http.client.HTTPException, OSError))


class Killer:
    """SIGKILLs d and starts it again; `up` is set while it runs."""

    def __init__(self, d):
        self.d = d
        self.up = threading.Event()
        self.up.set()
        self.kills = 0
        self.down_s = 0.0

    def kill_and_restart(self):
        self.up.clear()
        self.d.stop(sig=signal.SIGKILL)
        self.kills += 1
        t0 = time.monotonic()
        self.d.start()
        self.down_s += time.monotonic() - t0
        self.up.set()


def db_query(d, sql, args=()):
    """Rows of a read-only query beside the running daemon."""
    con = sqlite3.connect("file:%s?mode=ro" % d.db_path, uri=True,
                          timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def stop_and_check_integrity(d, seed=SEED):
    """A clean SIGTERM stop, then PRAGMA integrity_check on the file."""
    rc = d.stop()
    assert rc == 0, "exit %r on SIGTERM:\n%s" % (rc, d.log_tail())
    con = sqlite3.connect(d.db_path, timeout=10)
    try:
        res = [r[0] for r in con.execute("PRAGMA integrity_check")]
    finally:
        con.close()
    assert res == ["ok"], "integrity_check (seed %d): %r" % (seed, res[:20])


def webhook_daemon(daemons, rec, name):
    return start_fanout(daemons, [webhook_channel(
        rec, extra="concurrency = %d;" % CONCURRENCY)],
        routing_all("hook"), name=name)


def wait_drained(d, aid, n, timeout, seed=SEED):
    """Counts of alert aid once none of its n recipients is pending."""
    end = time.monotonic() + timeout
    while True:
        c = get_alert(d, aid)["counts"]
        if c["pending"] == 0 and sum(c.values()) == n:
            return c
        if time.monotonic() > end:
            pytest.fail("alert %d not drained in %.0f s (seed %d): %r\n%s"
                        % (aid, timeout, seed, c, d.log_tail(20)))
        time.sleep(0.2)


def duplicates(reqs):
    """(extra requests, ids sent more than once) among reqs."""
    per = {}
    for r in reqs:
        per[r["id"]] = per.get(r["id"], 0) + 1
    return (sum(c - 1 for c in per.values()),
            sum(1 for c in per.values() if c > 1))


# ---- 1. fan-out with alerts being created -----------------------------------

def every_one_sent(rec, accepted, seed):
    """rec's requests, all valid and answered 200, with one at least to
    every person of every accepted (alert id, {phone})."""
    reqs = rec.snapshot()
    bad = [r for r in reqs if not r["valid"] or r["status"] != 200]
    assert not bad, bad[:3]
    for aid, want in accepted:
        got = {phone_of(r) for r in by_alert(reqs, aid)}
        assert got == want, "seed %d: alert %d: %d of %d never sent" % (
            seed, aid, len(want - got), len(want))
    return reqs


def kill_at_random(killer, creator, rng, n, longest, after=lambda: None):
    """n kills (or power cuts) 0.2 to longest seconds apart; every other
    one aims at a create of creator on its way in."""
    for k in range(n):
        time.sleep(rng.uniform(0.2, longest))
        if k % 2:
            creator.sending.clear()
            creator.sending.wait(5)
            time.sleep(rng.uniform(0.0, 0.012))
        killer.kill_and_restart()
        after()


class Creator(threading.Thread):
    """
    Creates alerts to random grids until stopped, pausing while the daemon
    is down.  Each create is kept with its answer: the 201 document, or
    None when the answer never came.
    """

    def __init__(self, d, killer, rng, grids):
        super().__init__(daemon=True)
        self.d, self.killer, self.rng, self.grids = d, killer, rng, grids
        self.made = []		# (title, grids, 201 doc or None)
        self.stopping = threading.Event()
        self.sending = threading.Event()	# set as a create goes out
        self.error = None
        self.took = []		# seconds each answered create took

    def one(self, title, grids):
        doc = drill(title=title, roles=["unit_leader"],
                    targets=[NHC + "/" + g for g in grids])
        self.sending.set()
        t0 = time.monotonic()
        try:
            r = self.d.request("POST", "/v1/alerts", token=ADMIN,
                               body=json.dumps(doc, ensure_ascii=False),
                               content_type="application/json")
        except Exception as e:		# noqa: BLE001 - judged below
            if not lost_answer(e):
                raise
            return None
        if r.status != 201:
            raise AssertionError("create %s: %r" % (title, r))
        self.took.append(time.monotonic() - t0)
        return r.json()

    def run(self):
        try:
            while not self.stopping.is_set():
                self.killer.up.wait()
                k = self.rng.randint(1, 3)
                grids = sorted(self.rng.sample(self.grids, k))
                title = "演练k%d-%d" % (self.killer.kills, len(self.made))
                self.made.append((title, grids, self.one(title, grids)))
                self.stopping.wait(self.rng.uniform(0.15, 0.5))
        except Exception as e:		# noqa: BLE001 - reported by the test
            self.error = e


def unanswered_or_whole(d, made, by_grid, seed=SEED):
    """
    (alert id, phones) of every create answered 201, and of every create
    whose answer never came but which is there: then in full.
    """
    out = []
    for title, grids, doc in made:
        want = set().union(*(by_grid[g] for g in grids))
        if doc is not None:
            assert doc["recipients"] == len(want), (title, doc)
            out.append((doc["id"], want))
            continue
        got = db_query(d, "SELECT id FROM alerts WHERE title = ?", (title,))
        if got:
            n = db_query(d, "SELECT count(*), count(DISTINCT phone) FROM "
                         "recipients WHERE alert_id = ?", (got[0][0],))[0]
            assert n == (len(want), len(want)), \
                "seed %d: %s is there in part: %r of %d" % (
                    seed, title, n, len(want))
            out.append((got[0][0], want))
    return out


def test_sigkill_during_fanout(daemons, receivers):
    rng = rng_for("fanout")
    rec = receivers(delay=0.001)
    d = webhook_daemon(daemons, rec, "crash-fanout")
    rows = crash_rows(UNITS)
    d.load(rows)
    by_grid = {}
    for r in rows:
        by_grid.setdefault(r[4], set()).add(r[10])
    t0 = time.monotonic()
    killer = Killer(d)
    big = create(d, drill(targets=[NHC], roles=["unit_leader"]))
    creator = Creator(d, killer, rng, sorted(by_grid))
    creator.start()
    at_kill = []
    kill_at_random(killer, creator, rng, KILLS, 1.5,
                   lambda: at_kill.append(len(rec.snapshot())))
    creator.stopping.set()
    creator.join(30)
    assert creator.error is None, "seed %d: %r" % (SEED, creator.error)

    accepted = [(big["id"], {r[10] for r in rows})]
    accepted += unanswered_or_whole(d, creator.made, by_grid)
    for aid, want in accepted:
        c = wait_drained(d, aid, len(want), DRAIN_TIMEOUT)
        assert c["sent"] == len(want), (aid, c)
    time.sleep(0.5)		# anything sent twice more would show by now
    drained = time.monotonic() - t0
    reqs = every_one_sent(rec, accepted, SEED)
    # One delivery id per person and alert, however often it went out.
    assert len({r["id"] for r in reqs}) == sum(len(w) for _, w in accepted)
    extra, ids = duplicates(reqs)
    unanswered = sum(1 for m in creator.made if m[2] is None)
    in_full = len(accepted) - 1 - (len(creator.made) - unanswered)
    print("crash fanout: %d kills, %d alerts accepted (%d creates got no "
          "answer, %d of them there in full), creates took %.0f-%.0f ms, "
          "%d requests for %d deliveries, %d extra requests "
          "(%d ids), bound %d; requests at each kill %r; %.1f s in all, "
          "%.1f s restarting" % (
              killer.kills, len(accepted), unanswered, in_full,
              1000 * min(creator.took), 1000 * max(creator.took), len(reqs),
              sum(len(w) for _, w in accepted), extra, ids,
              killer.kills * CRASH_WINDOW, at_kill, drained,
              killer.down_s))
    assert extra <= killer.kills * CRASH_WINDOW, (SEED, extra)
    stop_and_check_integrity(d)


# ---- 2. roster imports ----------------------------------------------------------

def roster_version(v, n=ROSTER_ROWS):
    """Roster v: n - 7 * (v % 3) people with names and phones of their own."""
    out = []
    for i, r in enumerate(crash_rows(n - 7 * (v % 3))):
        out.append(r[:9] + ("单元长%d-%d" % (v, i), "13%d%08d" % (v % 10, i))
                   + r[11:])
    return sorted(out)


def test_sigkill_during_roster_import(daemons):
    rng = rng_for("roster")
    d = daemons(name="crash-roster")
    old = roster_version(0)
    t0 = time.monotonic()
    d.load(old)
    took = time.monotonic() - t0
    assert d.export_rows() == old
    killer = Killer(d)
    seen = {"old": 0, "new": 0, "answered": 0, "cut": 0}
    for k in range(1, KILLS + 1):
        new = roster_version(k)
        answer = []

        def post():
            try:
                answer.append(d.import_csv(to_csv(new)).status)
            except Exception as e:	# noqa: BLE001 - judged below
                answer.append(e)
        t = threading.Thread(target=post, daemon=True)
        t.start()
        time.sleep(rng.uniform(0.0, 1.3 * took))
        killer.kill_and_restart()
        t.join(30)
        got = d.export_rows()
        a = answer[0] if answer else None
        if a == 200:
            seen["answered"] += 1
            assert got == new, "seed %d kill %d: import answered 200, " \
                "roster not the new one" % (SEED, k)
        else:
            seen["cut"] += 1
            assert a is None or (not isinstance(a, int) and lost_answer(a)),\
                "seed %d kill %d: import answered %r" % (SEED, k, a)
            assert got in (old, new), "seed %d kill %d: a mixed roster: " \
                "%d rows, %d from the old, %d from the new" % (
                    SEED, k, len(got), len(set(got) & set(old)),
                    len(set(got) & set(new)))
        seen["new" if got == new else "old"] += 1
        old = got
    print("crash roster: %d kills, %d rows an import (%.2f s each); %d "
          "imports cut off by the kill; after it the new roster %d times "
          "(%d of them answered 200), the old %d times; %.1f s restarting"
          % (killer.kills, len(old), took, seen["cut"], seen["new"],
             seen["answered"], seen["old"], killer.down_s))
    stop_and_check_integrity(d)


# ---- 3. acknowledgements ---------------------------------------------------------

class Ackers:
    """
    Threads answering ack links at a steady rate, pausing while the
    daemon is down.  A POST answered 303 goes to `recorded`; one whose
    answer never came to `unknown`; a refused connection (the daemon not
    yet listening) is put back to try later.
    """

    THREADS = 8

    def __init__(self, d, killer, links, rate):
        self.d, self.killer = d, killer
        self.todo = queue.Queue()
        for phone, path in links:
            self.todo.put((phone, path))
        self.gap = self.THREADS / rate
        self.recorded, self.unknown, self.errors = set(), set(), []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True)
                        for _ in range(self.THREADS)]

    def start(self):
        for t in self.threads:
            t.start()

    def one(self, phone, path):
        self.killer.up.wait()
        try:
            r = self.d.request("POST", path, token=None, body="response=1",
                               content_type="application/"
                               "x-www-form-urlencoded")
        except ConnectionRefusedError:
            self.todo.put((phone, path))
            return
        except Exception as e:		# noqa: BLE001 - judged here
            if not lost_answer(e):
                raise
            with self.lock:
                self.unknown.add(phone)
            return
        with self.lock:
            if r.status == 303:
                self.recorded.add(phone)
            else:
                self.errors.append((phone[:3] + "****", r.status))

    def run(self):
        while not self.stopping.is_set():
            try:
                phone, path = self.todo.get(timeout=0.1)
            except queue.Empty:
                continue
            self.one(phone, path)
            self.stopping.wait(self.gap)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(30)


def test_sigkill_during_acks(daemons, receivers):
    rng = rng_for("acks")
    rec = receivers()
    d = webhook_daemon(daemons, rec, "crash-acks")
    rows = crash_rows(UNITS)
    d.load(rows)
    a = create(d, drill(targets=[NHC], roles=["unit_leader"]))
    wait_drained(d, a["id"], UNITS, DRAIN_TIMEOUT)
    links = sorted((phone_of(r), urllib.parse.urlsplit(
        r["doc"]["ack_url"]).path) for r in by_alert(rec.snapshot(), a["id"]))
    rng.shuffle(links)
    rounds = [rng.uniform(0.2, 1.0) for _ in range(KILLS)]
    # Enough links for every round, at a rate a 2-core machine keeps up.
    rate = min(400.0, 0.8 * len(links) / sum(rounds))
    killer = Killer(d)
    ackers = Ackers(d, killer, links, rate)
    ackers.start()
    for pause in rounds:
        time.sleep(pause)
        killer.kill_and_restart()
    time.sleep(0.5)
    ackers.stop()
    assert not ackers.errors, (SEED, ackers.errors[:5])
    r = d.get("/v1/alerts/%d/recipients?state=acked" % a["id"])
    assert r.status == 200, r
    acked = {x["phone"] for x in r.json()["recipients"]}
    missing = ackers.recorded - acked
    assert not missing, "seed %d: %d answers answered 303 and not " \
        "recorded" % (SEED, len(missing))
    stray = acked - ackers.recorded - ackers.unknown
    assert not stray, "seed %d: %d recorded that nobody sent" % (
        SEED, len(stray))
    print("crash acks: %d kills, %.0f answers/s, %d answered 303 (all "
          "recorded), %d cut off by a kill (%d of them recorded); %.1f s "
          "restarting" % (killer.kills, rate, len(ackers.recorded),
                          len(ackers.unknown),
                          len(ackers.unknown & acked), killer.down_s))
    stop_and_check_integrity(d)


# ---- 4. for contrast: SIGTERM sends nothing twice ------------------------------

def test_sigterm_mid_fanout_sends_nothing_twice(daemons, receivers):
    """
    A clean stop lets the requests in flight finish and commits their
    outcomes before it exits: after the restart nobody gets a second
    request.
    """
    rec = receivers(delay=0.001)
    d = webhook_daemon(daemons, rec, "crash-term")
    rows = crash_rows(UNITS)
    d.load(rows)
    a = create(d, drill(targets=[NHC], roles=["unit_leader"]))
    rec.wait(UNITS // 5, 30)
    d.restart()			# SIGTERM, exit 0, start again
    at_stop = len(rec.snapshot())
    c = wait_drained(d, a["id"], UNITS, DRAIN_TIMEOUT)
    assert c["sent"] == UNITS, c
    time.sleep(0.5)
    reqs = rec.snapshot()
    assert {phone_of(r) for r in reqs} == {r[10] for r in rows}
    extra, ids = duplicates(reqs)
    print("crash sigterm: %d of %d sent before the stop, %d extra requests"
          % (at_stop, UNITS, extra))
    assert at_stop < UNITS, "the stop came after the fan-out"
    assert extra == 0, "%d ids sent again after a SIGTERM" % ids
    stop_and_check_integrity(d)
