"""
Power cuts.  The daemon runs with the LD_PRELOAD shim of tests/powercut
(powercut.py): a cut is a SIGKILL, then every file of the state directory
put back to what the disk held (its contents as of its last fsync, its
name as of the directory's last fsync), then a start.  What a 2xx answer
promised must be there; what was written without waiting for the disk may
be gone (README, "Guarantees").

- test_shim_loses_what_was_not_synced: the shim itself, under SQLite in a
  child process: a commit with synchronous=FULL survives a cut, one with
  NORMAL does not, though a SIGKILL alone keeps both; a file never synced
  is gone, and so is a synced one whose directory was not.
- test_power_cuts: cuts right after a roster import's 200, an alert's 201,
  answers' 303 and 200, a cancel's 200, and once a fan-out is over (its
  send outcomes, committed without a sync, are lost: every delivery goes
  out again, which shows that the shim works on the daemon too), then at
  random moments while alerts are created and answered.  After each cut
  the database passes PRAGMA integrity_check; once the queue has drained,
  every alert answered 201 is there with every recipient, each of whom got
  a request; every answer that got its 303 is recorded; the links sent
  before a cut still work after it.

SANZHANG_POWER_CUTS (default 4) random cuts, SANZHANG_POWER_UNITS
(default 900) people; SANZHANG_POWER_SEED replays the random choices of a
run, which the test prints.  tests/long/powercut.sh runs it with 50 cuts.
"""

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.parse

from conftest import ADMIN, NHC, scaled
from powercut import (SHIM, integrity_of_copy, power_env, power_restore,
                      require_shim)
from test_crash import (Ackers, Creator, Killer, duplicates, db_query,
                        every_one_sent, kill_at_random,
                        stop_and_check_integrity, unanswered_or_whole,
                        wait_drained)
from test_fanout import (by_alert, crash_rows, create, drill, get_alert,
                         phone_of, routing_all, start_fanout,
                         webhook_channel)
from test_fanout import receivers  # noqa: F401 - a fixture, used by name

CUTS = int(os.environ.get("SANZHANG_POWER_CUTS", "4"))
UNITS = int(os.environ.get("SANZHANG_POWER_UNITS", "900"))
SEED = int(os.environ.get("SANZHANG_POWER_SEED") or
           random.SystemRandom().randrange(1 << 32))
DRAIN_TIMEOUT = scaled(30 + UNITS * (CUTS + 4) / 1000.0)
LINK_ACKS = 40		# answers by link before the cut right after them


# ---- the shim on its own ----------------------------------------------------

CHILD = textwrap.dedent("""
    import os, signal, sqlite3, sys
    d = sys.argv[1]
    con = sqlite3.connect(os.path.join(d, "t.db"), isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = FULL")
    con.execute("CREATE TABLE t (x)")
    con.execute("INSERT INTO t VALUES ('synced')")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute("INSERT INTO t VALUES ('not synced')")
    with open(os.path.join(d, "written"), "wb") as f:
        f.write(b"never synced")
    with open(os.path.join(d, "synced"), "wb") as f:
        f.write(b"synced, not its directory")
        os.fsync(f.fileno())
    os.kill(os.getpid(), signal.SIGKILL)
""")


def rows_of(state_dir):
    con = sqlite3.connect(os.path.join(state_dir, "t.db"))
    try:
        return [r[0] for r in con.execute("SELECT x FROM t ORDER BY rowid")]
    finally:
        con.close()


def test_shim_loses_what_was_not_synced():
    require_shim()
    work = tempfile.mkdtemp(prefix="szpower-shim-", dir="/tmp")
    state, shadow = os.path.join(work, "state"), os.path.join(work, "shadow")
    os.mkdir(state)
    with open(os.path.join(state, "before"), "wb") as f:
        f.write(b"there when the process started")
    p = subprocess.run([sys.executable, "-c", CHILD, state],
                       env=power_env(state, shadow), capture_output=True,
                       timeout=scaled(30))
    assert p.returncode == -signal.SIGKILL, (p.returncode, p.stderr)
    assert p.stderr == b"", p.stderr
    # A SIGKILL alone loses nothing: both commits are in the WAL.
    crashed = os.path.join(work, "crashed")
    os.mkdir(crashed)
    for name in ("t.db", "t.db-wal"):
        with open(os.path.join(state, name), "rb") as src, \
                open(os.path.join(crashed, name), "wb") as dst:
            dst.write(src.read())
    assert rows_of(crashed) == ["synced", "not synced"]
    # The power cut: what was not synced is gone.
    names = power_restore(state, shadow)
    assert "written" not in names and "synced" not in names, names
    assert sorted(os.listdir(state)) == names
    assert {"before", "t.db", "t.db-wal"} <= set(names), names
    with open(os.path.join(state, "before"), "rb") as f:
        assert f.read() == b"there when the process started"
    assert rows_of(state) == ["synced"], \
        "the shim kept a commit that was never synced (%s)" % SHIM
    shutil.rmtree(work)


# ---- the daemon -------------------------------------------------------------

class PowerCutter(Killer):
    """Cuts d's power and starts it again; `up` is set while it runs."""

    def __init__(self, d, shadow):
        super().__init__(d)
        self.shadow = shadow
        self.restored = None

    def kill_and_restart(self):
        self.up.clear()
        self.d.stop(sig=signal.SIGKILL)
        self.kills += 1
        t0 = time.monotonic()
        self.restored = power_restore(self.d.state_dir, self.shadow)
        res = integrity_of_copy(self.d.state_dir)
        assert res == ["ok"], "seed %d, cut %d: integrity_check %r" % (
            SEED, self.kills, res[:20])
        self.d.start()
        self.down_s += time.monotonic() - t0
        self.up.set()


def ack_links(rec, aid):
    """{phone: /a/TOKEN} from the first request to each person for alert
    aid: links sent before the cuts that came since."""
    out = {}
    for r in by_alert(rec.snapshot(), aid):
        out.setdefault(phone_of(r), urllib.parse.urlsplit(
            r["doc"]["ack_url"]).path)
    return out


def answer(d, path):
    return d.request("POST", path, token=None, body="response=1",
                     content_type="application/x-www-form-urlencoded")


def acked(d, aid):
    r = d.get("/v1/alerts/%d/recipients?state=acked" % aid)
    assert r.status == 200, r
    return {x["phone"] for x in r.json()["recipients"]}


def cut_after_import_and_create(d, cutter):
    """A roster import, then a cut; an alert to everyone, then a cut.
    Returns the roster and the alert's 201 document."""
    rows = crash_rows(UNITS)
    d.load(rows)
    cutter.kill_and_restart()
    assert d.export_rows() == sorted(rows), "an import answered 200 is lost"
    # Made on the first start: without ack.key the links sent stop
    # working, without phone.key the daemon cannot open the numbers.
    for key in ("ack.key", "phone.key"):
        assert key in cutter.restored, "%s did not outlive the cut: %r" % (
            key, cutter.restored)

    big = create(d, drill(targets=[NHC], roles=["unit_leader"]))
    assert big["recipients"] == UNITS, big
    cutter.kill_and_restart()
    n = db_query(d, "SELECT (SELECT count(*) FROM recipients WHERE "
                 "alert_id = ?1), (SELECT count(*) FROM deliveries WHERE "
                 "alert_id = ?1)", (big["id"],))[0]
    assert n == (UNITS, UNITS), "alert answered 201, after the cut: %r" % (n,)
    return rows, big


def cut_after_answers(d, cutter, aid, links, phones):
    """Answers by link (303), then a cut; one by an operator (200), then
    a cut.  Each write class on its own, so that a later sync cannot
    carry an earlier write that did not sync itself."""
    for p in phones[:LINK_ACKS]:
        r = answer(d, links[p])
        assert r.status == 303, r
    cutter.kill_and_restart()
    lost = set(phones[:LINK_ACKS]) - acked(d, aid)
    assert not lost, "%d answers by link answered 303 lost by a cut" % (
        len(lost))
    op = phones[LINK_ACKS]
    r = d.request("POST", "/v1/alerts/%d/ack" % aid, token=ADMIN,
                  body=json.dumps({"phone": op, "response": 1}),
                  content_type="application/json")
    assert r.status == 200, r
    cutter.kill_and_restart()
    assert op in acked(d, aid), "an operator's answer (200) lost by a cut"
    # The links sent before the cuts still work after them.
    for p in phones[LINK_ACKS + 1:LINK_ACKS + 11]:
        r = answer(d, links[p])
        assert r.status == 303, "a link sent before a cut: %r" % r


def test_power_cuts(daemons, receivers):
    require_shim()
    rng = random.Random(SEED)
    print("power: SANZHANG_POWER_SEED=%d SANZHANG_POWER_CUTS=%d "
          "SANZHANG_POWER_UNITS=%d" % (SEED, CUTS, UNITS))
    t0 = time.monotonic()
    rec = receivers()
    state = os.path.join(daemons.workdir, "power-state")
    shadow = os.path.join(daemons.workdir, "power-shadow")
    os.mkdir(state)		# the shim watches it from the start
    d = start_fanout(daemons, [webhook_channel(
        rec, extra="concurrency = 16;")], routing_all("hook"),
        name="power", state_dir=state, env=power_env(state, shadow))
    cutter = PowerCutter(d, shadow)
    rows, big = cut_after_import_and_create(d, cutter)
    wait_drained(d, big["id"], UNITS, DRAIN_TIMEOUT, SEED)

    # Send outcomes are committed without a sync: a cut once the fan-out
    # is over sends it again.  Without the shim nothing would be.
    sent = len(rec.snapshot())
    cutter.kill_and_restart()
    wait_drained(d, big["id"], UNITS, DRAIN_TIMEOUT, SEED)
    again = len(rec.snapshot()) - sent
    assert again > 0, "a cut after the fan-out sent nothing again: the " \
        "shim (%s) lost no write made without a sync" % SHIM
    links = ack_links(rec, big["id"])
    assert set(links) == {r[10] for r in rows}
    phones = sorted(links)
    rng.shuffle(phones)
    cut_after_answers(d, cutter, big["id"], links, phones)

    # A cancel, then a cut.
    other = create(d, drill(targets=[NHC + "/G01"], roles=["unit_leader"]))
    r = d.request("POST", "/v1/alerts/%d/cancel" % other["id"], token=ADMIN)
    assert r.status == 200, r
    cutter.kill_and_restart()
    assert get_alert(d, other["id"])["state"] == "cancelled"

    # Cuts at random moments, with alerts being created and answered.
    by_grid = {}
    for r in rows:
        by_grid.setdefault(r[4], set()).add(r[10])
    creator = Creator(d, cutter, rng, sorted(by_grid))
    todo = [(p, links[p]) for p in phones[LINK_ACKS + 11:]]
    ackers = Ackers(d, cutter, todo, 100.0)
    creator.start()
    ackers.start()
    kill_at_random(cutter, creator, rng, CUTS, 1.0)
    time.sleep(0.3)
    creator.stopping.set()
    creator.join(30)
    ackers.stop()
    assert creator.error is None, "seed %d: %r" % (SEED, creator.error)
    assert not ackers.errors, (SEED, ackers.errors[:5])

    accepted = [(big["id"], {r[10] for r in rows})]
    accepted += unanswered_or_whole(d, creator.made, by_grid, SEED)
    for aid, want in accepted:
        wait_drained(d, aid, len(want), DRAIN_TIMEOUT, SEED)
    reqs = every_one_sent(rec, accepted, SEED)
    got = acked(d, big["id"])
    missing = ackers.recorded - got
    assert not missing, "seed %d: %d answers answered 303 and not " \
        "recorded" % (SEED, len(missing))
    stray = got - ackers.recorded - ackers.unknown - set(
        phones[:LINK_ACKS + 11])
    assert not stray, "seed %d: %d recorded that nobody sent" % (
        SEED, len(stray))
    extra, ids = duplicates(reqs)
    print("power: %d cuts, %d alerts accepted (%d creates got no answer), "
          "%d answers by link answered 303, %d requests for %d deliveries "
          "(%d extra, %d ids; %d of them after the cut that followed the "
          "fan-out), %.1f s in all, %.1f s restarting" % (
              cutter.kills, len(accepted),
              sum(1 for m in creator.made if m[2] is None),
              len(ackers.recorded) + LINK_ACKS + 10, len(reqs),
              sum(len(w) for _, w in accepted), extra, ids, again,
              time.monotonic() - t0, cutter.down_s))
    stop_and_check_integrity(d, SEED)
