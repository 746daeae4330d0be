"""
SIGHUP reloads the configuration: new tokens, templates and channels take
effect at once (messages queued for a changed channel go out on the new
one, none twice); a broken file, a channel its plugin refuses, or one that
changes what only a restart can (listen, max_body, ...), is refused with
the reason and the old one keeps serving; and 100 reloads, each reopening
the channel, in the middle of a fan-out and of API traffic lose no message
and no request.
"""

import signal
import threading
import time

import pytest

from conftest import ADMIN, TOKENS, Token, config_text, scaled, volume
from test_fanout import (by_alert, create, crash_rows, drill, phone_of,
                         receivers, routing_all, wait_counts,
                         webhook_channel, zero_counts)

assert receivers	# the fixture, imported for the tests below

NEWCOMER = Token("night-operator", "operator")
NH = "220104001"


def write_conf(d, rec, tokens=TOKENS, template="{title}：{body}", extra="",
               port=None, hook_extra="", more=(), route=("hook",)):
    """
    conftest's config with our channel (and the channel groups in more),
    routing and drill template.
    """
    text = config_text(d.state_dir, port or d.port, d.sock, tokens=tokens,
                       extra=extra)
    lines = [ln for ln in text.split("\n")
             if not ln.startswith(("channels =", "routing ="))]
    chans = ([webhook_channel(rec, extra=hook_extra)] if rec else []) + \
        list(more)
    lines.insert(len(lines) - 1, "channels = ( %s );" % ", ".join(chans))
    lines.insert(len(lines) - 1, routing_all(*route))
    lines.insert(len(lines) - 1,
                 'templates = { drill = "%s"; };' % template)
    with open(d.conf, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def reloaded(d, n, timeout=10.0):
    """Wait until the daemon has logged n reload outcomes in all."""
    end = time.monotonic() + scaled(timeout)
    while time.monotonic() < end:
        done = sum(1 for ln in d.log().splitlines() if "reload: " in ln)
        if done >= n:
            return
        time.sleep(0.05)
    pytest.fail("%d reloads not logged within %.0f s:\n%s" % (
        n, timeout, d.log_tail()))


def hup(d, n):
    d.proc.send_signal(signal.SIGHUP)
    reloaded(d, n)


def last_reload_line(d):
    return [ln for ln in d.log().splitlines() if "reload: " in ln][-1]


def started(daemons, rec, **kw):
    d = daemons(start=False)
    write_conf(d, rec, **kw)
    d.start()
    d.load(crash_rows(20))
    return d


def test_reload_applies_tokens_and_templates(daemons, receivers):
    rec = receivers()
    d = started(daemons, rec, template="旧：{title}")
    assert d.get("/v1/alerts", token=NEWCOMER).status == 401
    a = create(d, drill(targets=[NH], roles=["unit_leader"]))
    rec.wait(20, 20)
    assert all(r["doc"]["text"].startswith("【演练】旧：")
               for r in rec.snapshot()), rec.snapshot()[0]["doc"]["text"]

    write_conf(d, rec, tokens=TOKENS + [NEWCOMER], template="新：{title}")
    hup(d, 1)
    assert "in effect" in last_reload_line(d), last_reload_line(d)
    assert d.get("/v1/alerts", token=NEWCOMER).status == 200
    b = create(d, drill(targets=[NH], roles=["unit_leader"]))
    reqs = rec.wait(40, 20)
    new = [r for r in reqs if r["doc"]["alert"]["id"] == b["id"]]
    assert len(new) == 20 and all(
        r["doc"]["text"].startswith("【演练】新：") for r in new), new[0]
    assert b["id"] != a["id"]

    # Taking a token away works the same way.
    write_conf(d, rec, tokens=TOKENS, template="新：{title}")
    hup(d, 2)
    assert d.get("/v1/alerts", token=NEWCOMER).status == 401
    assert d.get("/v1/alerts", token=ADMIN).status == 200


def test_reload_refuses_broken_and_restart_only_changes(daemons, receivers):
    rec = receivers()
    d = started(daemons, rec, tokens=TOKENS + [NEWCOMER])
    good = open(d.conf, encoding="utf-8").read()

    # A syntax error: file and line in the log, the old config serving.
    with open(d.conf, "w", encoding="utf-8") as f:
        f.write(good + "\nlog_level = ;\n")
    hup(d, 1)
    line = last_reload_line(d)
    bad_line = good.count("\n") + 2
    assert "%s:%d" % (d.conf, bad_line) in line, line
    assert "still running" in line, line
    assert d.get("/v1/alerts", token=NEWCOMER).status == 200

    # A channel its plugin refuses: file and line, nothing applied.
    write_conf(d, rec, tokens=TOKENS, hook_extra='colour = "red";')
    hup(d, 2)
    line = last_reload_line(d)
    assert "%s:" % d.conf in line and "channel" in line and \
        "colour" in line and "still running" in line, line
    assert d.get("/v1/alerts", token=NEWCOMER).status == 200

    # What only a restart can change: named, and nothing else applied.
    cases = [
        (dict(port=d.port + 1), "listen"),
        (dict(extra="max_body = 2048;"), "max_body"),
    ]
    for n, (kw, what) in enumerate(cases, start=3):
        write_conf(d, rec, tokens=TOKENS, **kw)
        hup(d, n)
        line = last_reload_line(d)
        assert what in line and "restart" in line, line
        # The newcomer's token is still there: nothing was half-applied.
        assert d.get("/v1/alerts", token=NEWCOMER).status == 200

    # And the good one still goes through afterwards.
    write_conf(d, rec, tokens=TOKENS)
    hup(d, len(cases) + 3)
    assert d.get("/v1/alerts", token=NEWCOMER).status == 401
    a = create(d, drill(targets=[NH], roles=["unit_leader"]))
    assert len(by_alert(rec.wait(20, 20), a["id"])) == 20


def log_has(d, text, timeout=10.0):
    end = time.monotonic() + scaled(timeout)
    while text not in d.log():
        if time.monotonic() > end:
            pytest.fail("%r not logged:\n%s" % (text, d.log_tail()))
        time.sleep(0.05)


def test_reload_changes_channels(daemons, receivers):
    """
    A changed channel (another receiver, another secret) takes over what
    is queued for it; what the old one had in flight finishes there; no
    message is sent twice or lost.  Then channels are added and removed.
    """
    old, new, third = receivers(delay=0.02), receivers(), receivers()
    n = 600
    d = daemons(start=False)
    write_conf(d, old, hook_extra="concurrency = 4;")
    d.start()
    d.load(crash_rows(n))
    a = create(d, drill(targets=[NH], roles=["unit_leader"]))
    old.wait(40, 20)
    write_conf(d, new, hook_extra="concurrency = 4;")
    hup(d, 1)
    assert "in effect" in last_reload_line(d), last_reload_line(d)
    log_has(d, "channels (hook changed)")
    wait_counts(d, a["id"], zero_counts(sent=n), 60)
    # Both receivers check the signature with their own secret.
    got_old = [r["id"] for r in by_alert(old.snapshot(), a["id"])]
    got_new = [r["id"] for r in by_alert(new.snapshot(), a["id"])]
    assert len(got_old) >= 40 and got_new, (len(got_old), len(got_new))
    assert len(set(got_old) | set(got_new)) == n
    assert len(got_old) + len(got_new) == n, "sent twice"
    log_has(d, "hook: the configuration before the reload is closed")

    # A channel added and routed to; then the first one removed.
    write_conf(d, new, hook_extra="concurrency = 4;",
               more=[webhook_channel(third, name="hook2")],
               route=("hook2", "hook"))
    hup(d, 2)
    log_has(d, "channels (hook2 added)")
    b = create(d, drill(targets=[NH], roles=["unit_leader"]))
    assert len(by_alert(third.wait(n, 20), b["id"])) == n
    write_conf(d, None, more=[webhook_channel(third, name="hook2")],
               route=("hook2",))
    hup(d, 3)
    log_has(d, "channels (hook removed)")
    c = create(d, drill(targets=[NH], roles=["unit_leader"]))
    assert len(by_alert(third.wait(2 * n, 20), c["id"])) == n
    assert len(by_alert(new.snapshot(), c["id"])) == 0
    assert d.get("/v1/inbound/hook").status == 404


def test_reloads_keep_the_channels_concurrency(daemons, receivers):
    """
    A reload in the middle of a fan-out adds nothing to the channel's
    concurrency: what the replaced configuration still has in flight
    counts against the new one, so the gateway never has more requests
    at once than configured, however many reloads land meanwhile.
    """
    rec = receivers(delay=0.5)	# each request held half a second
    d = started(daemons, rec, hook_extra="concurrency = 4;")
    n = 40
    d.load(crash_rows(n))
    a = create(d, drill(targets=["220104001001"], roles=["unit_leader"]))
    rec.wait(4, 10)
    for i in range(1, 7):
        # Another timeout makes it a changed channel, opened anew.
        write_conf(d, rec, hook_extra="concurrency = 4; timeout_ms = %d;"
                   % (20000 + i))
        hup(d, i)
        assert "(hook changed)" in last_reload_line(d), last_reload_line(d)
    wait_counts(d, a["id"], zero_counts(sent=n), 60)
    assert rec.peak == 4, "%d requests at once, concurrency 4" % rec.peak
    assert sorted(r["id"] for r in rec.snapshot()) == \
        sorted({r["id"] for r in rec.snapshot()})


def test_hundred_reloads_under_load(daemons, receivers):
    """
    No message, no request lost while the config is swapped 100 times,
    each time with the channel's concurrency changed: every reload opens
    the channel anew and retires the one sending.
    """
    rec = receivers(delay=0.01)	# ~2 s for 3,000 at 16 at once
    d = daemons(start=False)
    write_conf(d, rec, template="甲：{title}",
               hook_extra="concurrency = 16;")
    d.start()
    n = volume(3000)
    d.load(crash_rows(n))
    statuses = []
    stop = threading.Event()
    reloads = [0]
    during = []	# requests the receiver had seen at each reload

    def traffic():
        while not stop.is_set():
            r = d.get("/v1/alerts?limit=5")
            statuses.append(r.status)

    def reloading():
        # Alternate the template, at least 100 times, until the fan-out
        # is over: reloads land before, during and after it.
        while not stop.is_set() or reloads[0] < 100:
            odd = reloads[0] % 2
            write_conf(d, rec, template="乙：{title}" if odd
                       else "甲：{title}",
                       hook_extra="concurrency = %d;" % (15 if odd else 16))
            reloads[0] += 1
            hup(d, reloads[0])
            during.append(len(rec.snapshot()))

    threads = [threading.Thread(target=f, daemon=True)
               for f in (traffic, reloading)]
    for t in threads:
        t.start()
    try:
        while reloads[0] < 3:
            time.sleep(0.01)
        a = create(d, drill(targets=["220104001001"],
                            roles=["unit_leader"]))
        assert a["recipients"] == n, a
        wait_counts(d, a["id"], zero_counts(sent=n), 90)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert statuses and all(s == 200 for s in statuses), \
        sorted(set(statuses))
    reqs = rec.snapshot()
    per = {}
    for r in reqs:
        per[r["id"]] = per.get(r["id"], 0) + 1
    assert len(per) == n and all(v == 1 for v in per.values()), \
        "%d ids, %d sent twice" % (len(per),
                                   sum(1 for v in per.values() if v > 1))
    assert {phone_of(r) for r in reqs} == {r[10] for r in crash_rows(n)}
    # Reloads landed while the fan-out was going on, and every message
    # is whole, with one template or the other.
    mid = [k for k in during if 0 < k < n]
    assert len(mid) >= 3, during
    texts = {r["doc"]["text"][:6] for r in reqs}
    assert texts <= {"【演练】甲：", "【演练】乙："}, texts
    ok = [ln for ln in d.log().splitlines() if "in effect" in ln]
    assert len(ok) == reloads[0] >= 100, (len(ok), reloads[0])
    assert d.running()
    print("reload: %d API requests, %d messages, %d reloads (%d during "
          "the fan-out)" % (len(statuses), len(reqs), reloads[0], len(mid)))
