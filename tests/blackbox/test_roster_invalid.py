"""An invalid roster is refused whole: 400 invalid_roster naming every bad
line (CSV line numbers, header = 1) and nothing in the store changes."""

import re

import pytest

from conftest import (BASE_ROWS, HEADER, HEADER_LINE, NH, NHN, NHC, NHCN, R,
                      to_csv, to_json_items)


def check_invalid(r, expected, allowed=None):
    """Assert an invalid_roster answer naming expected lines (and no line
    outside allowed); returns the error object."""
    assert r.status == 400, r
    err = r.error()
    assert err["code"] == "invalid_roster", err
    lines = [row["line"] for row in err["rows"]]
    for row in err["rows"]:
        assert isinstance(row["line"], int), row
        assert isinstance(row["reason"], str) and row["reason"].strip(), row
    allowed = set(expected) | set(allowed or ())
    assert set(expected) <= set(lines), (expected, err)
    assert set(lines) <= allowed, (allowed, err)
    assert err["more"] == 0, err
    n = len(err["rows"])
    assert re.match(r"^%d rows? (are|is) invalid; nothing was changed" % n,
                    err["message"]), err["message"]
    return err


def test_every_bad_line_named_and_nothing_changed(loaded):
    before_csv = loaded.export_rows()
    before_json = loaded.export_json_rows()
    rows = [",".join(r) for r in BASE_ROWS]
    # lines 2.. are rows; break lines 4 (phone), 7 (rank) and 11 (role)
    rows[2] = rows[2].replace("13800000001", "12800000001")
    rows[5] = ",".join(BASE_ROWS[5][:8] + ("7",) + BASE_ROWS[5][9:])
    rows[9] = rows[9].replace("villager_rep", "unit_leader")
    text = HEADER_LINE + "\n" + "\n".join(rows) + "\n"
    for mode in ("replace", "merge"):
        r = loaded.import_csv(text, mode=mode)
        err = check_invalid(r, {4, 7, 11})
        assert len(err["rows"]) == 3, err
        assert err["message"].startswith("3 rows are invalid"), err
    assert loaded.export_rows() == before_csv
    assert loaded.export_json_rows() == before_json


def test_json_item_numbers(loaded):
    before = loaded.export_rows()
    items = to_json_items(BASE_ROWS[:4])
    items[1]["phone"] = "123"
    items[3]["rank"] = 9
    r = loaded.import_json(items)
    check_invalid(r, {2, 4})
    assert loaded.export_rows() == before


# ---- one case per validation class ---------------------------------------

# A small valid roster (lines 2-5) to which each case appends line 6.
SMALL = [
    R(NH, NHN, NHC, NHCN, "", "", "", "duty_officer", 1, "赵强", "13800000009"),
    R(NH, NHN, NHC, NHCN, "G01", "", "", "grid_leader", 1, "张伟", "13800000001"),
    R(NH, NHN, NHC, NHCN, "G01", "12", "", "building_leader", 1, "李娜",
      "13800000002"),
    R("220183105", "合隆镇", "220183105201", "陈家店村", "三组", "", "", "villager_rep",
      1, "孙丽", "13900000012"),
]


def small_plus(*fields, line=6):
    return to_csv(SMALL + [R(*fields)]).encode(), {line}, ()


def grid(role="grid_leader", rank=1, phone="13800000055", name="钱七", **kw):
    f = dict(street=NH, sname=NHN, comm=NHC, cname=NHCN, grid="G02", bldg="",
             unit="", role=role, rank=rank, name=name, phone=phone)
    f.update(kw)
    return (f["street"], f["sname"], f["comm"], f["cname"], f["grid"],
            f["bldg"], f["unit"], f["role"], str(f["rank"]), f["name"],
            f["phone"])


CASES = {
    # phones
    "phone_prefix_12": small_plus(*grid(phone="12800000055")),
    "phone_short": small_plus(*grid(phone="1380000005")),
    "phone_long": small_plus(*grid(phone="138000000555")),
    "phone_letter": small_plus(*grid(phone="1380000005x")),
    "phone_landline": small_plus(*grid(phone="043188888888")),
    # codes
    "street_code_8_digits": small_plus(*grid(street="22010400",
                                             comm="220104001001")),
    "street_code_letters": small_plus(*grid(street="22010400A",
                                            comm="22010400A001")),
    "community_code_11_digits": small_plus(*grid(comm="22010400100")),
    "community_not_under_street": small_plus(*grid(comm="220105001001")),
    # levels
    "unit_leader_at_grid": small_plus(*grid(role="unit_leader")),
    "building_leader_at_grid": small_plus(*grid(role="building_leader")),
    "grid_leader_at_building": small_plus(*grid(bldg="7")),
    "building_leader_at_community": small_plus(*grid(role="building_leader",
                                                     grid="")),
    "duty_officer_at_grid": small_plus(*grid(role="duty_officer")),
    "villager_rep_at_building": small_plus(*grid(role="villager_rep",
                                                 bldg="7")),
    "unit_leader_at_building": small_plus(*grid(role="unit_leader", bldg="7")),
    "unknown_role": small_plus(*grid(role="street_leader")),
    "grid_without_community": small_plus(*grid(comm="", cname="")),
    "building_without_grid": small_plus(*grid(role="building_leader", grid="",
                                              bldg="7")),
    "unit_without_building": small_plus(*grid(role="unit_leader", unit="2")),
    # rank
    "rank_3": small_plus(*grid(rank=3)),
    "rank_0": small_plus(*grid(rank=0)),
    "rank_letter": small_plus(*grid(rank="A")),
    # duplicates: line 6 repeats the post of line 3 (or 5)
    "duplicate_leader_post": (to_csv(SMALL + [R(*grid(grid="G01", name="冯涛"))])
                              .encode(), {6}, {3}),
    "duplicate_villager_rep": (to_csv(SMALL + [SMALL[3]]).encode(), {6}, {5}),
    # names
    "street_name_conflict": small_plus(*grid(sname="南湖街"))[:2] + ({2, 3, 4},),
    "community_name_conflict": small_plus(*grid(cname="北湖社区"))[:2] +
    ({2, 3, 4},),
    "name_too_long": small_plus(*grid(name="张" * 30)),
    # shape
    "too_few_columns": ((to_csv(SMALL) + ",".join(grid()) + "\n").encode(),
                        {6}, ()),
    "too_many_columns": ((to_csv(SMALL) + ",".join(grid()) + ",,x\n").encode(),
                         {6}, ()),
    "bad_utf8_name": (to_csv(SMALL).encode() +
                      ",".join(grid(name="X")).encode().replace(b",X,", b",\xff\xfe,")
                      + b",\n", {6}, ()),
    "bad_utf8_street_name": (to_csv(SMALL).encode() +
                             ",".join(grid(sname="X")).encode()
                             .replace(b",X,", b",\xc3\x28,") + b",\n", {6}, ()),
}

HEADER_CASES = {
    "header_missing_column": ",".join(HEADER[:-1]),
    "header_renamed_column": HEADER_LINE.replace("phone", "mobile"),
    "header_wrong_order": HEADER_LINE.replace("name,phone", "phone,name"),
    "header_absent": ",".join(SMALL[0]),
}
for _k, _h in HEADER_CASES.items():
    CASES[_k] = (to_csv(SMALL, header=_h).encode(), {1}, {2, 3, 4, 5})


@pytest.mark.parametrize("case", sorted(CASES))
def test_validation_class(shared_loaded, case):
    body, expected, allowed = CASES[case]
    before = shared_loaded.export_rows()
    r = shared_loaded.import_csv(body, mode="replace")
    check_invalid(r, expected, allowed)
    assert shared_loaded.export_rows() == before


def test_cases_are_valid_without_their_bad_line(shared_loaded):
    """The rows the cases start from, and the default line 6 they bend, are
    valid, so each case fails only for what it breaks."""
    r = shared_loaded.import_csv(to_csv(SMALL + [R(*grid())]), mode="merge")
    assert r.status == 200, r
    # put the shared state back exactly
    r = shared_loaded.import_csv(to_csv(BASE_ROWS), mode="replace")
    assert r.status == 200, r
    assert shared_loaded.export_rows() == sorted(BASE_ROWS)
