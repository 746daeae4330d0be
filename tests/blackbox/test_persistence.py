"""What was imported survives a clean restart (and the schema reopens)."""

from conftest import BASE_ROWS, NHC, to_csv


def test_roster_survives_restart(loaded):
    before_csv = loaded.export_csv_raw().body
    before_json = loaded.get("/v1/roster").json()
    node = loaded.get("/v1/nodes/" + NHC + "/G01").json()
    loaded.restart()
    assert loaded.export_csv_raw().body == before_csv
    assert loaded.get("/v1/roster").json() == before_json
    assert loaded.get("/v1/nodes/" + NHC + "/G01").json() == node


def test_merge_after_restart_then_restart_again(loaded):
    loaded.restart()
    extra = BASE_ROWS[2][:9] + ("张伟伟", "13800000077", "")
    r = loaded.import_csv(to_csv([extra]), mode="merge")
    assert r.status == 200, r
    assert r.json()["posts_updated"] == 1, r
    expect = sorted([x for x in BASE_ROWS if x != BASE_ROWS[2]] + [extra])
    assert loaded.export_rows() == expect
    loaded.restart()
    assert loaded.export_rows() == expect
