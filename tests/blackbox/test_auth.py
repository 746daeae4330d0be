"""Bearer tokens, roles and scopes; refusals and roster changes are in the
audit table (read-only from STATE_DIR/sanzhang.db)."""

import pytest

from conftest import (ADMIN, BASE_ROWS, CJD, HELONG_ADMIN, HL, NANHU_VIEWER,
                      NH, NHC, SANZU, VIEWER, quote_code, to_csv)

READS = ["/v1/roster", "/v1/roster.csv", "/v1/nodes", "/v1/nodes/" + NH]


@pytest.mark.parametrize("path", READS + ["/v1/roster?public=1"])
@pytest.mark.parametrize("auth", [None, "Bearer wrong-secret", "Bearer ",
                                  "Basic " + "YWRtaW46YWRtaW4=", "bearer"])
def test_missing_or_bad_token_401(shared_loaded, path, auth):
    headers = {"Authorization": auth} if auth else {}
    r = shared_loaded.request("GET", path, token=None, headers=headers)
    assert r.status == 401, (auth, r)
    r.error()


def test_post_without_token_401_changes_nothing(loaded):
    before = loaded.export_rows()
    r = loaded.request("POST", "/v1/roster?mode=replace", token=None,
                       body=to_csv(BASE_ROWS[:1]), content_type="text/csv")
    assert r.status == 401, r
    assert loaded.export_rows() == before


@pytest.mark.parametrize("token", [VIEWER, NANHU_VIEWER])
def test_viewer_import_403_and_audited(loaded, token):
    before = loaded.export_rows()
    for mode in ("merge", "replace"):
        r = loaded.import_csv(to_csv(BASE_ROWS[:2]), mode=mode, token=token)
        assert r.status == 403, r
        assert r.error()["code"] == "forbidden", r
    assert loaded.export_rows() == before
    hits = loaded.wait_audit(lambda row: token.name in row)
    assert hits, "no audit row naming %s: %r" % (token.name,
                                                 loaded.audit_rows())


def test_viewers_can_read(shared_loaded):
    for token in (VIEWER, NANHU_VIEWER, ADMIN, HELONG_ADMIN):
        r = shared_loaded.get("/v1/nodes", token=token)
        assert r.status == 200, (token.name, r)


OUT_OF_SCOPE = [
    "/v1/nodes/" + HL,
    "/v1/nodes/" + CJD,
    "/v1/nodes/" + quote_code(CJD + "/" + SANZU),
    "/v1/roster?under=" + HL,
    "/v1/roster.csv?under=" + CJD,
    "/v1/roster?public=1&under=" + quote_code(CJD + "/" + SANZU),
]


@pytest.mark.parametrize("path", OUT_OF_SCOPE)
def test_scoped_viewer_other_street_403_and_audited(shared_loaded, path):
    r = shared_loaded.get(path, token=NANHU_VIEWER)
    assert r.status == 403, r
    assert r.error()["code"] == "forbidden", r
    target = CJD if CJD in path else HL
    hits = shared_loaded.wait_audit(
        lambda row: NANHU_VIEWER.name in row and target in row)
    assert hits, "no audit row naming %s and %s: %r" % (
        NANHU_VIEWER.name, target, shared_loaded.audit_rows()[-10:])


def test_scoped_viewer_sees_only_its_scope(shared_loaded):
    r = shared_loaded.get("/v1/nodes", token=NANHU_VIEWER)
    assert r.status == 200, r
    assert [c["code"] for c in r.json()["children"]] == [NH]
    rows = shared_loaded.export_rows(token=NANHU_VIEWER)
    assert rows == sorted(x for x in BASE_ROWS if x[0] == NH)
    rows = shared_loaded.export_json_rows(token=NANHU_VIEWER)
    assert rows == sorted(x for x in BASE_ROWS if x[0] == NH)
    r = shared_loaded.get("/v1/roster.html", token=NANHU_VIEWER)
    assert r.status == 200, r
    assert "陈家店村" not in r.text
    # inside its scope
    assert shared_loaded.get("/v1/nodes/" + NHC + "/G01",
                             token=NANHU_VIEWER).status == 200
    rows = shared_loaded.export_rows(token=NANHU_VIEWER,
                                     query="?under=" + NHC)
    assert rows == sorted(x for x in BASE_ROWS if x[2] == NHC)


def test_scoped_admin_reads_only_its_scope(shared_loaded):
    r = shared_loaded.get("/v1/nodes/" + NHC, token=HELONG_ADMIN)
    assert r.status == 403, r
    rows = shared_loaded.export_rows(token=HELONG_ADMIN)
    assert rows == sorted(x for x in BASE_ROWS if x[0] == HL)


def test_import_is_audited_with_token_name(loaded):
    r = loaded.import_csv(to_csv(BASE_ROWS[:3]), mode="merge",
                          token=HELONG_ADMIN)
    # rows outside the scope: refused, but that is audited too
    assert r.status == 403, r
    helong = [x for x in BASE_ROWS if x[0] == HL]
    r = loaded.import_csv(to_csv(helong), mode="merge", token=HELONG_ADMIN)
    assert r.status == 200, r
    hits = loaded.wait_audit(lambda row: HELONG_ADMIN.name in row)
    assert len(hits) >= 2, loaded.audit_rows()
    hits = loaded.wait_audit(lambda row: ADMIN.name in row)
    assert hits, loaded.audit_rows()	# the fixture's import


def test_audit_has_no_secrets(loaded):
    loaded.import_csv(to_csv(BASE_ROWS[:2]), mode="merge", token=VIEWER)
    loaded.get("/v1/nodes/" + HL, token=NANHU_VIEWER)
    loaded.wait_audit(lambda row: NANHU_VIEWER.name in row)
    text = "\n".join(loaded.audit_rows())
    for t in (ADMIN, VIEWER, NANHU_VIEWER, HELONG_ADMIN):
        assert t.secret not in text
        assert t.sha256 not in text
