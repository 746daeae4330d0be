"""The demo roster shipped in etc/ imports and exports back unchanged."""

import os

import pytest

from conftest import (HEADER, SRCDIR, full_phones, normalize_phone,
                      parse_csv)

DEMO = os.path.join(SRCDIR, "etc", "demo-roster.csv")


@pytest.mark.skipif(not os.path.exists(DEMO), reason="no etc/demo-roster.csv")
def test_demo_roster_round_trip(daemon):
    with open(DEMO, "rb") as f:
        header, rows = parse_csv(f.read())
    assert header == HEADER
    rows = sorted(r[:10] + (normalize_phone(r[10]),) + r[11:] for r in rows)
    rc, out, err = daemon.ctl("roster", "import", DEMO, "--replace")
    assert rc == 0, err
    assert daemon.export_rows() == rows
    r = daemon.get("/v1/roster.html")
    assert r.status == 200, r
    assert full_phones(r.body) == []
    r = daemon.get("/v1/nodes")
    assert r.status == 200 and r.json()["children"], r
