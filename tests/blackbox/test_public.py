"""The public posting (挂牌公示): masked phones, no channels, no full
number anywhere."""

import pytest

from conftest import (BASE_PHONES, BASE_ROWS, HEADER, NHC, full_phones,
                      parse_csv)


def masked(phone):
    return phone[:3] + "****" + phone[-4:]


def test_public_json(shared_loaded):
    r = shared_loaded.get("/v1/roster?public=1")
    assert r.status == 200, r
    assert full_phones(r.body) == [], r
    posts = r.json()["posts"]
    assert len(posts) == len(BASE_ROWS)
    assert sorted(p["phone"] for p in posts) == \
        sorted(masked(row[10]) for row in BASE_ROWS)
    for p in posts:
        assert p.get("channels") in ("", None), p
    assert "im.example" not in r.text


def test_public_csv(shared_loaded):
    r = shared_loaded.get("/v1/roster.csv?public=1")
    assert r.status == 200, r
    assert full_phones(r.body) == [], r
    header, rows = parse_csv(r.body)
    assert header == HEADER
    expect = sorted(row[:10] + (masked(row[10]), "") for row in BASE_ROWS)
    assert rows == expect
    assert "im.example" not in r.text


def test_public_csv_under(shared_loaded):
    r = shared_loaded.get("/v1/roster.csv?public=1&under=" + NHC)
    assert r.status == 200, r
    assert full_phones(r.body) == []
    assert len(parse_csv(r.body)[1]) == len([x for x in BASE_ROWS
                                              if x[2] == NHC])


def test_public_html(shared_loaded):
    r = shared_loaded.get("/v1/roster.html")
    assert r.status == 200, r
    assert r.headers.get("content-type", "").startswith("text/html"), r.headers
    html = r.body.decode("utf-8")
    assert "<html" in html.lower()
    assert full_phones(html) == [], full_phones(html)
    for p in BASE_PHONES:
        assert p not in html
        assert masked(p) in html, p
    for name in ("张伟", "王芳", "三组", "南湖社区", "陈家店村"):
        assert name in html, name
    assert "im.example" not in html


@pytest.mark.parametrize("path", ["/v1/roster.html?public=1",
                                  "/v1/roster.html?under=" + NHC])
def test_public_html_variants(shared_loaded, path):
    r = shared_loaded.get(path)
    assert r.status == 200, r
    assert full_phones(r.body) == []


def test_private_export_has_full_phones(shared_loaded):
    """The check above can fail: the non-public export does carry them."""
    r = shared_loaded.get("/v1/roster.csv")
    assert sorted(set(full_phones(r.body))) == BASE_PHONES
