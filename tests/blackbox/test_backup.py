"""
README's backup, as an administrator runs it: sqlite3's online .backup of
the state file while the daemon serves and writes, integrity_check ok;
then a new daemon on the restored file (refused until phone.key is there,
then with ack.key and phone.key kept) has the roster, the alert and its
answers, and the links sent before still work.
"""

import os
import shutil
import subprocess
import threading

import pytest

from conftest import ADMIN
from test_ack import answer, create, file_daemon, links, recipient

SQLITE3 = "/usr/bin/sqlite3"


def sqlite3(*args):
    p = subprocess.run([SQLITE3] + list(args), capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_online_backup_and_restore(daemons):
    if not os.access(SQLITE3, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail("sqlite3 is not installed")
        pytest.skip("sqlite3 is not installed")
    d = file_daemon(daemons, name="live")
    a = create(d, title="备份演练")
    a["title"] = "备份演练"
    got = links(d, a, a["recipients"])
    phones = sorted(got)
    assert answer(d, got[phones[0]], 1).status == 303

    # Back up while the daemon answers and writes (answers keep coming).
    stop = threading.Event()
    statuses = []

    def traffic():
        for p in phones[1:]:
            if stop.is_set():
                break
            statuses.append(answer(d, got[p], 1).status)

    t = threading.Thread(target=traffic, daemon=True)
    t.start()
    backup = os.path.join(daemons.workdir, "backup.db")
    sqlite3(d.db_path, ".backup '%s'" % backup)
    stop.set()
    t.join(30)
    assert statuses and all(s == 303 for s in statuses), statuses
    assert sqlite3(backup, "PRAGMA integrity_check") == "ok"
    roster = d.export_rows()
    d.stop()

    # Restore into a new state directory.  Without phone.key the numbers
    # cannot be read: the start is refused, saying so, and makes no key.
    r = daemons(start=False, name="restored")
    shutil.copy(backup, r.db_path)
    shutil.copy(os.path.join(d.state_dir, "ack.key"),
                os.path.join(r.state_dir, "ack.key"))
    assert r.spawn().wait(30) != 0
    assert "restore that key file" in r.log(), r.log_tail()
    assert not os.path.exists(os.path.join(r.state_dir, "phone.key"))
    # With the keys kept apart from the backups, it is whole again.
    shutil.copy(os.path.join(d.state_dir, "phone.key"),
                os.path.join(r.state_dir, "phone.key"))
    r.start()
    assert r.export_rows() == roster
    doc = r.get("/v1/alerts/%d" % a["id"], token=ADMIN).json()
    assert doc["title"] == "备份演练", doc
    assert recipient(r, a["id"], phones[0])["state"] == "acked"
    # A link sent before the backup still answers after the restore.
    last = phones[-1]
    assert answer(r, got[last], 2).status == 303
    assert recipient(r, a["id"], last)["state"] == "acked"
