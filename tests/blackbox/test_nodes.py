"""GET /v1/nodes and /v1/nodes/CODE: the tree, its posts and children."""

import pytest

from conftest import CJD, HL, NH, NHC, SANZU, quote_code


def node(d, code, status=200):
    r = d.get("/v1/nodes/" + quote_code(code))
    assert r.status == status, (code, r)
    return r.json() if status == 200 else r


def posts_of(doc):
    return sorted((p["role"], p["rank"], p["name"], p["phone"])
                  for p in doc["posts"])


def children_of(doc):
    return sorted((c["code"], c["kind"], c["name"]) for c in doc["children"])


def test_roots(shared_loaded):
    r = shared_loaded.get("/v1/nodes")
    assert r.status == 200, r
    kids = children_of(r.json())
    assert kids == [(NH, "street", "南湖街道"), (HL, "street", "合隆镇")]


def test_street(shared_loaded):
    doc = node(shared_loaded, NH)
    assert (doc["code"], doc["kind"], doc["name"]) == (NH, "street", "南湖街道")
    assert doc.get("parent") in (None, ""), doc
    assert posts_of(doc) == [("duty_officer", 1, "周军", "13800000010")]
    assert children_of(doc) == [(NHC, "community", "南湖社区"),
                                ("220104001002", "community", "东湖社区")]


def test_community_and_village(shared_loaded):
    doc = node(shared_loaded, NHC)
    assert (doc["kind"], doc["name"], doc["parent"]) == \
        ("community", "南湖社区", NH), doc
    assert doc["village"] is False, doc
    assert posts_of(doc) == [("duty_officer", 1, "赵强", "13800000009")]
    assert children_of(doc) == [(NHC + "/G01", "grid", "G01")]
    vil = node(shared_loaded, CJD)
    assert vil["village"] is True, vil
    assert vil["parent"] == HL, vil
    assert children_of(vil) == [(CJD + "/" + SANZU, "grid", SANZU)]


def test_grid_with_backup(shared_loaded):
    doc = node(shared_loaded, NHC + "/G01")
    assert (doc["code"], doc["kind"], doc["name"], doc["parent"]) == \
        (NHC + "/G01", "grid", "G01", NHC), doc
    assert posts_of(doc) == [("grid_leader", 1, "张伟", "13800000001"),
                             ("grid_leader", 2, "陈静", "13800000004")]
    assert children_of(doc) == [(NHC + "/G01/12", "building", "12")]


def test_building_and_units(shared_loaded):
    doc = node(shared_loaded, NHC + "/G01/12")
    assert (doc["kind"], doc["name"], doc["parent"]) == \
        ("building", "12", NHC + "/G01"), doc
    assert posts_of(doc) == [("building_leader", 1, "李娜", "13800000002")]
    assert children_of(doc) == [(NHC + "/G01/12/3", "unit", "3"),
                                (NHC + "/G01/12/4", "unit", "4")]
    unit = node(shared_loaded, NHC + "/G01/12/3")
    assert (unit["kind"], unit["name"], unit["parent"]) == \
        ("unit", "3", NHC + "/G01/12"), unit
    assert unit["children"] == []
    assert len(unit["posts"]) == 1
    p = unit["posts"][0]
    assert (p["role"], p["rank"], p["name"], p["phone"], p["channels"]) == \
        ("unit_leader", 1, "王芳", "13800000003",
         "webhook=https://im.example/h/abc"), p


def test_percent_encoded_chinese_grid(shared_loaded):
    path = "/v1/nodes/" + CJD + "/%E4%B8%89%E7%BB%84"
    assert quote_code(CJD + "/" + SANZU) == path[len("/v1/nodes/"):]
    r = shared_loaded.get(path)
    assert r.status == 200, r
    doc = r.json()
    assert (doc["code"], doc["kind"], doc["name"], doc["parent"]) == \
        (CJD + "/" + SANZU, "grid", SANZU, CJD), doc
    assert posts_of(doc) == [("grid_leader", 1, "刘洋", "13900000011"),
                             ("villager_rep", 1, "孙丽", "13900000012"),
                             ("villager_rep", 1, "钱进", "15900000013")]


@pytest.mark.parametrize("code", [
    "220104001999", NHC + "/G99", NHC + "/G01/99", NHC + "/G01/12/9",
    "999999999", NHC + "/" + SANZU,
])
def test_unknown_node_404(shared_loaded, code):
    r = node(shared_loaded, code, status=404)
    r.error()


def test_malformed_code_not_200(shared_loaded):
    for path in ("/v1/nodes/abc", "/v1/nodes/2201", "/v1/nodes/" + NHC + "//x"):
        r = shared_loaded.get(path)
        assert r.status in (400, 404), (path, r)
        r.error()


def test_viewer_reads_nodes(shared_loaded):
    from conftest import VIEWER
    r = shared_loaded.get("/v1/nodes/" + NHC, token=VIEWER)
    assert r.status == 200, r
