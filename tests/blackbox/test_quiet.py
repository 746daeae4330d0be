"""
Quiet hours: a notice made inside them waits for their end (and says so
in its 201 answer); emergencies and drills never wait.
"""

import datetime
import json
import os
import time

from conftest import ADMIN, HL, NH, scaled

BEIJING = datetime.timezone(datetime.timedelta(hours=8))
ROLES = ["grid_leader", "building_leader", "unit_leader", "villager_rep",
         "duty_officer"]


def window(around_now):
    """'HH:MM-HH:MM' in Beijing time: now +-2 h, or a window 6 h away."""
    now = datetime.datetime.now(BEIJING)
    mins = now.hour * 60 + now.minute
    if around_now:
        start, end = (mins - 120) % 1440, (mins + 120) % 1440
    else:
        start, end = (mins + 360) % 1440, (mins + 480) % 1440
    return "%02d:%02d-%02d:%02d" % (start // 60, start % 60, end // 60,
                                      end % 60)


def quiet_daemon(daemons, tmp, around_now):
    log = os.path.join(tmp, "quiet-%s.log" % around_now)
    chans = ('channels = ( { name = "f"; plugin = "file"; path = "%s"; } );\n'
             'routing = { %s };' % (log, " ".join(
                 '%s = [ "f" ];' % r for r in ROLES)))
    d = daemons(channels=chans,
                extra='quiet_hours = "%s";' % window(around_now))
    d.load()
    return d, log


def create(d, kind, title):
    doc = {"kind": kind, "title": title, "body": "请各楼栋长转告居民。",
           "targets": [NH, HL]}
    if kind != "notice":
        doc["severity"] = "red" if kind == "emergency" else "yellow"
    r = d.request("POST", "/v1/alerts", token=ADMIN,
                  body=json.dumps(doc, ensure_ascii=False),
                  content_type="application/json")
    assert r.status == 201, r
    return r.json()


def lines_with(path, title):
    try:
        with open(path, encoding="utf-8") as f:
            return [ln for ln in f if title in ln]
    except FileNotFoundError:
        return []


def wait_lines(path, title, n, timeout=10):
    end = time.monotonic() + scaled(timeout)
    while len(lines_with(path, title)) < n:
        assert time.monotonic() < end, (title, lines_with(path, title))
        time.sleep(0.05)


def counts(d, aid):
    r = d.get("/v1/alerts/%d" % aid)
    assert r.status == 200, r
    return r.json()["counts"]


def test_notice_waits_in_quiet_hours_emergency_and_drill_do_not(daemons):
    d, log = quiet_daemon(daemons, daemons.workdir, True)
    notice = create(d, "notice", "停水通知Q")
    until = datetime.datetime.fromisoformat(notice["held_until"])
    now = datetime.datetime.now(BEIJING)
    assert now < until <= now + datetime.timedelta(hours=2, minutes=1), \
        notice
    assert notice["held_until"].endswith("+08:00"), notice
    emerg = create(d, "emergency", "燃气泄漏Q")
    drill = create(d, "drill", "消防演练Q")
    assert emerg["held_until"] is None and drill["held_until"] is None
    n = emerg["recipients"]
    wait_lines(log, "燃气泄漏Q", n)
    wait_lines(log, "消防演练Q", n)
    # The notice was queued before both, and is still held.
    time.sleep(0.5)
    assert lines_with(log, "停水通知Q") == []
    c = counts(d, notice["id"])
    assert c["pending"] == notice["recipients"] and c["sent"] == 0, c
    # A restart keeps it held: the hold is in the store, not in memory.
    d.restart()
    time.sleep(0.5)
    assert lines_with(log, "停水通知Q") == []


def test_notice_outside_quiet_hours_goes_at_once(daemons):
    d, log = quiet_daemon(daemons, daemons.workdir, False)
    notice = create(d, "notice", "停电通知Q")
    assert notice["held_until"] is None, notice
    wait_lines(log, "停电通知Q", notice["recipients"])
