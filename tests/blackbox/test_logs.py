"""Logs (stderr at log_level debug) never carry a full phone number of the
roster, nor a token secret, whatever the daemon was asked to do."""

from conftest import (ADMIN, BASE_PHONES, BASE_ROWS, CJD, HL, NANHU_VIEWER,
                      NHC, SANZU, VIEWER, full_phones, quote_code, to_csv,
                      to_json_items)


def exercise(d):
    """Every roster path, good and bad, over TCP, the socket and the CLI."""
    assert d.import_csv(to_csv(BASE_ROWS)).status == 200
    assert d.import_json(to_json_items(BASE_ROWS), mode="merge").status == 200
    bad = to_csv(BASE_ROWS + [BASE_ROWS[2], BASE_ROWS[9]])	# duplicates
    assert d.import_csv(bad).status == 400
    bad = to_csv(BASE_ROWS).replace("13800000001", "12800000001")
    assert d.import_csv(bad).status == 400
    assert d.import_csv(to_csv(BASE_ROWS), token=VIEWER).status == 403
    assert d.import_csv(to_csv(BASE_ROWS), token="nope").status == 401
    for q in ("", "?public=1", "?under=" + NHC):
        assert d.get("/v1/roster" + q).status == 200
        assert d.get("/v1/roster.csv" + q).status == 200
    assert d.get("/v1/roster.html").status == 200
    assert d.get("/v1/nodes/" + quote_code(CJD + "/" + SANZU)).status == 200
    assert d.get("/v1/nodes/" + HL, token=NANHU_VIEWER).status == 403
    assert d.unix("GET", "/v1/nodes/" + NHC + "/G01/12/3").status == 200
    rc, out, err = d.ctl("roster", "show", NHC + "/G01")
    assert rc == 0, err
    rc, out, err = d.ctl("roster", "export")
    assert rc == 0, err


def test_no_phone_or_secret_in_logs(daemon):
    exercise(daemon)
    daemon.restart()
    assert daemon.get("/healthz", token=None).status == 200
    daemon.stop()
    log = daemon.log()
    assert log.strip(), "no log output at all at log_level debug"
    assert full_phones(log) == [], [l for l in log.splitlines()
                                    if full_phones(l)][:10]
    for p in BASE_PHONES:
        assert p not in log, p
    for t in (ADMIN, VIEWER, NANHU_VIEWER):
        assert t.secret not in log
