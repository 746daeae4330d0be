"""
Phone numbers at rest: the database holds seals under STATE_DIR/phone.key,
never a number in clear.  A start without that key, with another key, or
with a key others may read is refused with a message that says what to
do, and makes no new key.  A database from before seals (schema 4, clear
numbers) has every number sealed on its first start, leaves none behind
in its file, and works as before: export, answers by phone and by SMS.
"""

import csv
import io
import json
import os
import secrets
import sqlite3
import time
import urllib.parse

from conftest import BASE_PHONES, HL, NH, START_TIMEOUT, scaled
from test_ack import links

SECRET = "ps-" + secrets.token_hex(8)
ROLES = ["grid_leader", "building_leader", "unit_leader", "villager_rep",
         "duty_officer"]


def seal_daemon(daemons, name):
    log = os.path.join(daemons.workdir, name + "-messages.log")
    chans = ('channels = ( { name = "f"; plugin = "file"; path = "%s"; }, '
             '{ name = "sms"; plugin = "sms_kannel"; '
             'url = "http://127.0.0.1:1/cgi-bin/sendsms"; username = "u"; '
             'password = "p"; from = "10690000"; inbound_secret = "%s"; } );\n'
             'routing = { %s };' % (log, SECRET, " ".join(
                 '%s = [ "f" ];' % r for r in ROLES)))
    d = daemons(channels=chans, name=name)
    d.load()
    d.messages = log
    return d


def create(d, title):
    doc = {"kind": "drill", "severity": "yellow", "title": title,
           "body": "请单元长组织本单元居民参加。", "targets": [NH, HL],
           "responses": ["收到", "已通知到户"]}
    r = d.request("POST", "/v1/alerts", body=json.dumps(
        doc, ensure_ascii=False), content_type="application/json")
    assert r.status == 201, r
    a = r.json()
    a["title"] = title
    return a


def recipients(d, aid):
    r = d.get("/v1/alerts/%d/recipients" % aid)
    assert r.status == 200, r
    return r.json()["recipients"]


def clear_numbers(state_dir):
    """(file, number) for each roster number found in clear."""
    hits = []
    for name in sorted(os.listdir(state_dir)):
        with open(os.path.join(state_dir, name), "rb") as f:
            data = f.read()
        hits += [(name, p) for p in BASE_PHONES if p.encode() in data]
    return hits


def key_path(d):
    return os.path.join(d.state_dir, "phone.key")


def refused(d, *words):
    """The daemon exits non-zero at start, its log saying each of words."""
    start = len(d.log())
    p = d.spawn()
    rc = p.wait(START_TIMEOUT)
    d.rc = rc
    d.valgrind_check()
    said = d.log()[start:]
    assert rc != 0, said
    for w in words:
        assert w in said, (w, said)
    return said


def test_numbers_are_sealed_and_the_key_is_checked(daemons):
    d = seal_daemon(daemons, "sealed")
    a = create(d, "封存演练")
    got = links(d, a, a["recipients"])
    before = (d.export_rows(), recipients(d, a["id"]))
    assert {r["phone"] for r in before[1]} == set(got)
    d.stop()
    assert clear_numbers(d.state_dir) == []
    mode = os.stat(key_path(d)).st_mode & 0o777
    assert mode == 0o600, oct(mode)
    with open(key_path(d), "rb") as f:
        key = f.read()
    assert len(key) == 32

    # No key: refused, and no new key made in its place.
    os.rename(key_path(d), key_path(d) + ".saved")
    refused(d, "phone.key: no such file", "restore that key file")
    assert not os.path.exists(key_path(d))
    # Another key: refused, naming both ids.
    with open(os.open(key_path(d), os.O_WRONLY | os.O_CREAT, 0o600),
              "wb") as f:
        f.write(os.urandom(32))
    said = refused(d, "has id", "sealed with id",
                   "restore the phone.key that belongs with this database")
    assert key.hex() not in said
    # The right key, readable by others: refused.
    os.replace(key_path(d) + ".saved", key_path(d))
    os.chmod(key_path(d), 0o644)
    refused(d, "chmod 600")
    os.chmod(key_path(d), 0o600)

    d.start()
    assert (d.export_rows(), recipients(d, a["id"])) == before


def make_clear(d, alert_ids):
    """
    Turn d's database into one made before seals: schema 4, every number
    (and every slot that is a number) in clear, no phone.key.  The CSV
    export and the recipients lists are in row id order.
    """
    text = d.export_csv_raw().body.decode("utf-8").lstrip("\ufeff")
    phones = [r[10] for r in list(csv.reader(io.StringIO(text)))[1:] if r]
    rcpts = [r["phone"] for aid in alert_ids for r in recipients(d, aid)]
    d.stop()
    con = sqlite3.connect(d.db_path)
    ids = [r[0] for r in con.execute("SELECT id FROM posts ORDER BY id")]
    assert len(ids) == len(phones)
    for pid, phone in zip(ids, phones):
        con.execute("UPDATE posts SET slot = CASE typeof(slot) WHEN 'blob' "
                    "THEN ?1 ELSE slot END, phone = ?1 WHERE id = ?2",
                    (phone, pid))
    ids = [r[0] for r in con.execute(
        "SELECT id FROM recipients ORDER BY alert_id, id")]
    assert len(ids) == len(rcpts)
    for rid, phone in zip(ids, rcpts):
        con.execute("UPDATE recipients SET phone = ? WHERE id = ?",
                    (phone, rid))
    con.execute("DROP TABLE meta")
    con.execute("PRAGMA user_version = 4")
    con.commit()
    con.close()
    os.unlink(key_path(d))


def sms_reply(d, phone, text):
    q = urllib.parse.urlencode({"from": phone, "to": "10690000",
                                "text": text})
    return d.request("GET", "/v1/inbound/sms/%s?%s" % (SECRET, q), token=None)


def wait_acked(d, aid, phone, timeout=10):
    end = time.monotonic() + scaled(timeout)
    while True:
        state = {x["phone"]: x["state"] for x in recipients(d, aid)}
        if state[phone] == "acked":
            return
        assert time.monotonic() < end, (phone, state, d.log_tail())
        time.sleep(0.05)


def test_a_database_from_before_seals_is_sealed_on_start(daemons):
    d = seal_daemon(daemons, "old")
    a = create(d, "升级演练")
    b = create(d, "升级演练二")
    got = links(d, b, b["recipients"])
    roster = d.export_rows()
    lists = [recipients(d, a["id"]), recipients(d, b["id"])]
    make_clear(d, [a["id"], b["id"]])
    # The numbers are in the file in clear now (so the search can find them).
    assert {p for _, p in clear_numbers(d.state_dir)} == set(BASE_PHONES)

    d.start()
    log = d.log()
    n_posts = len(roster)
    n_rcpts = len(lists[0]) + len(lists[1])
    assert ("sealed the phone numbers of %d posts and %d recipients"
            % (n_posts, n_rcpts)) in log, d.log_tail()
    assert "made %s" % key_path(d) in log
    assert clear_numbers(d.state_dir) == []
    assert d.export_rows() == roster
    assert [recipients(d, a["id"]), recipients(d, b["id"])] == lists

    # Answers find their people: by the operator (a phoned answer), by SMS
    # (alerts from before are searched by scanning), and by the links.
    phones = sorted(got)
    r = d.request("POST", "/v1/alerts/%d/ack" % a["id"], body=json.dumps(
        {"phone": phones[0], "response": 1}), content_type="application/json")
    assert r.status == 200, r
    assert sms_reply(d, phones[1], "2 A%d" % b["id"]).status == 200
    wait_acked(d, b["id"], phones[1])
    assert d.request("POST", got[phones[2]], token=None, body="response=1",
                     content_type="application/x-www-form-urlencoded"
                     ).status == 303
    # A new alert (sorted by seal) finds its people by SMS too.
    c = create(d, "升级后演练")
    assert sms_reply(d, phones[3], "1 A%d" % c["id"]).status == 200
    wait_acked(d, c["id"], phones[3])
    d.stop()
    assert clear_numbers(d.state_dir) == []
    # The second start seals nothing more.
    d.start()
    assert d.log().count("sealed the phone numbers") == 1
