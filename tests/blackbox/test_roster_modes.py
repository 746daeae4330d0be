"""mode=merge adds and updates; mode=replace makes the roster (within the
token's scope) exactly the file."""

from conftest import (BASE_ROWS, HELONG_ADMIN, HL, HLN, CJD, CJDN, SANZU, NH,
                      NHN, NHC, NHCN, R, node_codes, to_csv)


def replace_field(row, **kw):
    idx = {"name": 9, "phone": 10, "channels": 11}
    r = list(row)
    for k, v in kw.items():
        r[idx[k]] = v
    return tuple(r)


G01_LEADER = BASE_ROWS[2]		# G01 grid_leader rank 1
SUN_LI = BASE_ROWS[9]			# 三组 villager_rep 13900000012


def test_merge_adds_and_updates_removes_nothing(loaded):
    updated = replace_field(G01_LEADER, name="张伟伟", phone="13800000099")
    new = R(NH, NHN, NHC, NHCN, "G01", "12", "5", "unit_leader", 1, "郑浩",
            "13800000005")
    r = loaded.import_csv(to_csv([updated, new]), mode="merge")
    assert r.status == 200, r
    doc = r.json()
    assert doc["mode"] == "merge", doc
    assert doc["rows"] == 2, doc
    assert doc["posts_added"] == 1, doc
    assert doc["posts_updated"] == 1, doc
    assert doc["posts_removed"] == 0, doc
    assert doc["nodes_removed"] == 0, doc
    expect = [r for r in BASE_ROWS if r != G01_LEADER] + [updated, new]
    assert loaded.export_rows() == sorted(expect)


def test_merge_villager_rep_identity_is_phone(loaded):
    # same phone, new name: the same post, updated
    renamed = replace_field(SUN_LI, name="孙丽丽")
    r = loaded.import_csv(to_csv([renamed]), mode="merge")
    assert r.status == 200, r
    assert (r.json()["posts_added"], r.json()["posts_updated"]) == (0, 1), r
    # same name, new phone: another representative, the old one stays
    moved = replace_field(renamed, phone="13900000099")
    r = loaded.import_csv(to_csv([moved]), mode="merge")
    assert r.status == 200, r
    assert (r.json()["posts_added"], r.json()["posts_updated"]) == (1, 0), r
    expect = [x for x in BASE_ROWS if x != SUN_LI] + [renamed, moved]
    assert loaded.export_rows() == sorted(expect)


def test_merge_leader_identity_is_rank(loaded):
    # G01 grid_leader rank 2 with another phone replaces the backup holder
    backup = R(NH, NHN, NHC, NHCN, "G01", "", "", "grid_leader", 2, "冯涛",
               "13800000044")
    r = loaded.import_csv(to_csv([backup]), mode="merge")
    assert r.status == 200, r
    assert (r.json()["posts_added"], r.json()["posts_updated"]) == (0, 1), r
    expect = [x for x in BASE_ROWS if x != BASE_ROWS[3]] + [backup]
    assert loaded.export_rows() == sorted(expect)


def test_replace_is_exactly_the_file(loaded):
    keep = [BASE_ROWS[1], BASE_ROWS[2], BASE_ROWS[8]]
    changed = replace_field(BASE_ROWS[4], name="李娜娜")
    rows = keep + [changed]
    r = loaded.import_csv(to_csv(rows), mode="replace")
    assert r.status == 200, r
    doc = r.json()
    assert doc["mode"] == "replace", doc
    assert doc["rows"] == 4, doc
    assert doc["posts_updated"] == 1, doc
    assert doc["posts_added"] == 0, doc
    assert doc["posts_removed"] == len(BASE_ROWS) - 4, doc
    assert doc["nodes_removed"] == \
        len(node_codes(BASE_ROWS) - node_codes(rows)), doc
    assert loaded.export_rows() == sorted(rows)
    # removed nodes are gone from the tree
    assert loaded.get("/v1/nodes/%s/G01/12/3" % NHC).status == 404
    assert loaded.get("/v1/nodes/220104001002").status == 404


def test_replace_same_file_changes_nothing(loaded):
    r = loaded.import_csv(to_csv(BASE_ROWS), mode="replace")
    assert r.status == 200, r
    doc = r.json()
    assert (doc["posts_added"], doc["posts_updated"], doc["posts_removed"],
            doc["nodes_removed"]) == (0, 0, 0, 0), doc
    assert loaded.export_rows() == sorted(BASE_ROWS)


def test_scoped_replace_touches_only_its_scope(loaded):
    helong = [r for r in BASE_ROWS if r[0] == HL]
    fewer = [r for r in helong if r[9] != "钱进"]
    r = loaded.import_csv(to_csv(fewer), mode="replace", token=HELONG_ADMIN)
    assert r.status == 200, r
    assert r.json()["posts_removed"] == 1, r
    expect = [r for r in BASE_ROWS if r[9] != "钱进"]
    assert loaded.export_rows() == sorted(expect)


def test_scoped_admin_outside_scope_403(loaded):
    before = loaded.export_rows()
    inside = R(HL, HLN, CJD, CJDN, SANZU, "", "", "villager_rep", 1, "何平",
               "13900000077")
    outside = R(NH, NHN, NHC, NHCN, "G09", "", "", "grid_leader", 1, "蒋文",
                "13800000077")
    for rows in ([outside], [inside, outside]):
        for mode in ("merge", "replace"):
            r = loaded.import_csv(to_csv(rows), mode=mode, token=HELONG_ADMIN)
            assert r.status == 403, (mode, r)
            assert r.error()["code"] == "forbidden", r
    assert loaded.export_rows() == before
