"""
The acknowledgement page in a real browser (headless Chromium on a phone
sized viewport): opening a link only ever GETs and answers nothing; tapping
a button answers once; drills are marked and emergencies never are.
"""

import os

import pytest

import browser
from test_ack import (LINA, RESPONSES, ZHANG, alert_doc, create, file_daemon,
                      links, recipient)


def require_chromium():
    if not browser.installed():
        msg = "%s not installed (run contrib/deps.sh)" % browser.CHROMIUM
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    require_chromium()
    with browser.Browser(str(tmp_path_factory.mktemp("chromium"))) as b:
        yield b


def base(d):
    return "http://127.0.0.1:%d" % d.port


def test_open_then_tap_on_a_phone(daemons, chromium):
    d = file_daemon(daemons, name="phone")
    a = create(d, title="消防疏散演练B")
    a["title"] = "消防疏散演练B"
    link = links(d, a, a["recipients"])
    page = chromium.new_page(mobile=True)
    # A chat preview or a curious leader opens the link, twice.
    for _ in range(2):
        assert page.goto(base(d) + link[ZHANG]) == 200
    assert set(page.request_methods()) == {"GET"}, page.requests
    text = page.text()
    assert "消防疏散演练B" in text and "张伟" in text, text
    assert "演练" in text.split("消防疏散演练B")[0], text
    for label in RESPONSES:
        assert label in text
    assert alert_doc(d, a["id"])["counts"]["acked"] == 0
    page.screenshot(os.path.join(daemons.workdir, "ack-before.png"))
    # Every button is a real tap target on a phone.
    heights = page.eval("Array.from(document.querySelectorAll("
                        "'button[name=response]')).map(b => "
                        "b.getBoundingClientRect().height)")
    assert len(heights) == 3 and min(heights) >= 40, heights
    page.tap('button[name="response"][value="2"]')
    # The POST, then the GET its 303 sends the browser to.
    assert page.navigation_methods()[-2:] == ["POST", "GET"]
    assert page.status == 200
    assert "已收到您的回复" in page.text(), page.text()
    page.screenshot(os.path.join(daemons.workdir, "ack-after.png"))
    r = recipient(d, a["id"], ZHANG)
    assert r["state"] == "acked" and r["response"] == 2, r
    # Back on the link later: the answer is shown, nothing changes.
    assert page.goto(base(d) + link[ZHANG]) == 200
    assert "已通知到户" in page.text()
    assert recipient(d, a["id"], ZHANG) == r
    assert alert_doc(d, a["id"])["answers"]["已通知到户"] == 1
    # Another leader's link is theirs alone.
    assert recipient(d, a["id"], LINA)["state"] != "acked"


def test_emergency_page_in_the_browser_is_not_a_drill(daemons, chromium):
    d = file_daemon(daemons, name="emergb")
    a = create(d, kind="emergency", title="燃气泄漏B",
               body="请立即组织12号楼居民撤离。")
    a["title"] = "燃气泄漏B"
    page = chromium.new_page(mobile=True)
    assert page.goto(base(d) + links(d, a, a["recipients"])[ZHANG]) == 200
    assert "燃气泄漏B" in page.text()
    assert "演练" not in page.html()


def test_forged_link_in_the_browser(daemons, chromium):
    d = file_daemon(daemons, name="forgeb")
    page = chromium.new_page(mobile=True)
    assert page.goto(base(d) + "/a/" + "b" * 32) == 404
    assert "链接无效" in page.text()
