"""Request size limit: max_body from the config, 413 beyond it."""

from conftest import BASE_ROWS, NH, NHN, NHC, NHCN, R, to_csv


def big_roster(n):
    rows = [R(NH, NHN, NHC, NHCN, "G01", str(b), "", "building_leader", 1,
              "楼长%d" % b, "138%08d" % b) for b in range(1, n + 1)]
    return to_csv(rows).encode()


def test_body_over_max_413(daemons):
    d = daemons(extra="max_body = 4096;")
    d.load()
    before = d.export_rows()
    body = big_roster(200)
    assert len(body) > 4096 * 2
    r = d.post_staged("/v1/roster?mode=replace", body)
    assert r.status == 413, r
    assert d.export_rows() == before
    # just over the limit is refused too, just under is accepted
    small = to_csv(BASE_ROWS).encode()
    assert len(small) < 4096
    assert d.import_csv(small).status == 200
    over = small + b"\n" * (4097 - len(small))
    r = d.post_staged("/v1/roster?mode=replace", over)
    assert r.status == 413, r
    # and the daemon keeps serving
    assert d.get("/healthz", token=None).status == 200


def test_default_max_body_accepts_a_real_roster(daemon):
    body = big_roster(2000)
    assert len(body) > 100000
    r = daemon.import_csv(body)
    assert r.status == 200, r
    assert r.json()["rows"] == 2000
