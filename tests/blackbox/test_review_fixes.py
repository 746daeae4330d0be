"""Behaviour pinned down after the first code review: a stop finishes the
answers it owes (and closes the connections they were on), refused imports
are audited, A/B changes of multi-holder posts are applied, and a scoped
import cannot rename what is above it."""

import signal
import socket
import threading
import time

from conftest import (ADMIN, BASE_ROWS, CJD, CJDN, HL, HOLD_CHANNELS, NH, R,
                      STOP_TIMEOUT, TOKENS, Token, free_port, scaled, to_csv)
from test_fanout import create, drill


def big_city_rows(n_units):
    rows = []
    for i in range(n_units):
        b, u = divmod(i, 4)
        rows.append(R(NH, "南湖街道", "220104001001", "南湖社区", "G01",
                      str(b + 1), str(u + 1), "unit_leader", 1,
                      "测试%d" % i, "1380%07d" % i))
    return rows


def test_stop_finishes_a_slow_export(daemons):
    d = daemons()
    r = d.import_csv(to_csv(big_city_rows(20000)))
    assert r.status == 200, r
    # A client that has not read its answer (~2 MB) yet when SIGTERM
    # arrives: a small receive window keeps most of it in the daemon.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.settimeout(30)
    s.connect(("127.0.0.1", d.port))
    s.sendall(b"GET /v1/roster.csv HTTP/1.1\r\nHost: x\r\n"
              b"Authorization: Bearer " + ADMIN.secret.encode() + b"\r\n"
              b"Connection: close\r\n\r\n")
    got = bytearray(s.recv(4096))
    stopper = threading.Thread(target=d.stop)
    stopper.start()
    time.sleep(0.5)
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    stopper.join(30)
    assert d.rc == 0, d.log_tail()
    head, _, body = bytes(got).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
              if line.lower().startswith(b"content-length:")]
    assert length and len(body) == length[0], (len(body), length)
    assert body.count(b"\n") == 20001


def read_all(s):
    got = bytearray()
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return bytes(got)
        got += chunk


def test_answers_during_a_stop_close_their_connection(daemons):
    """
    A request on a kept-alive connection answered once the stop has begun
    gets its answer, with Connection: close, and the connection ends: a
    client sending one request after another on it (Kannel's receipts)
    would otherwise keep the stop waiting until the grace is out.
    """
    # What the stop waits for: sends to a gateway that never answers.
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.bind(("127.0.0.1", free_port()))
    silent.listen(64)
    d = daemons(channels=HOLD_CHANNELS.replace(
        "127.0.0.1:1/closed", "127.0.0.1:%d/silent" % silent.getsockname()[1]))
    d.load()
    healthz = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    kept = socket.create_connection(("127.0.0.1", d.port), timeout=30)
    kept.sendall(healthz)
    first = kept.recv(65536)
    assert first.startswith(b"HTTP/1.1 200") and \
        b"Connection: close" not in first, first
    create(d, drill())
    deadline = time.monotonic() + scaled(10)
    while not any(c["in_flight"] for c in
                  d.get("/healthz", token=None).json()["channels"]):
        assert time.monotonic() < deadline, d.log_tail()
        time.sleep(0.05)
    d.proc.send_signal(signal.SIGTERM)
    while "signal 15: stopping" not in d.log():
        assert time.monotonic() < deadline, d.log_tail()
        time.sleep(0.05)
    kept.sendall(healthz)
    again = read_all(kept)	# to its end: the daemon closes it
    kept.close()
    silent.close()		# the sends fail: the stop ends
    d.proc.wait(STOP_TIMEOUT)	# (a second signal would cut the stop short)
    assert d.stop() == 0, d.log_tail()
    assert again.startswith(b"HTTP/1.1 200"), again[:300]
    assert b"\r\nConnection: close\r\n" in again, again[:300]


def test_invalid_import_is_audited(daemon):
    bad = to_csv([R(NH, "南湖街道", "", "", "", "", "", "duty_officer", 1,
                    "周军", "12345")])
    r = daemon.import_csv(bad)
    assert r.status == 400, r
    hits = daemon.wait_audit(lambda row: "roster.import" in row and
                             "invalid" in row and "city-admin" in row)
    assert hits, daemon.audit_rows()
    r = daemon.request("POST", "/v1/roster", body=b"x",
                       content_type="text/plain")
    assert r.status == 415
    hits = daemon.wait_audit(lambda row: "Content-Type" in row)
    assert hits, daemon.audit_rows()


def test_duty_officer_rank_change(loaded):
    moved = BASE_ROWS[0][:8] + ("2",) + BASE_ROWS[0][9:]
    r = loaded.import_csv(to_csv([moved]), mode="merge")
    assert r.status == 200, r
    assert r.json()["posts_updated"] == 1, r.json()
    assert moved in loaded.export_rows()
    assert BASE_ROWS[0] not in loaded.export_rows()


def test_scoped_import_cannot_rename_street(daemons):
    village_admin = Token("village-admin", "admin", [CJD])
    d = daemons(tokens=TOKENS + [village_admin])
    d.load()
    row = R(HL, "改了名的镇", CJD, CJDN, "三组", "", "", "grid_leader", 1,
            "刘洋", "13900000011")
    r = d.import_csv(to_csv([row]), mode="merge", token=village_admin)
    assert r.status == 200, r
    assert all(x[1] != "改了名的镇" for x in d.export_rows())


def test_overlapping_scope_exports_each_row_once(daemons):
    both = Token("both", "viewer", ["220104001", "220104001001"])
    d = daemons(tokens=TOKENS + [both])
    d.load()
    rows = d.export_rows(token=both)
    assert rows and len(rows) == len(set(rows)), rows
    assert rows == sorted(x for x in d.export_rows() if x[0] == "220104001")
