"""
The duty room's page (GET /, 值班室大屏): served without a token and with
no data in it, strict headers, nothing from other hosts; in a real headless
Chromium it shows what the JSON API says (per alert, per community and per
grid: acknowledged, reached, pending, failed; the silent list), updates by
itself, refuses a wrong token with a clear message and no data, and works
over the control socket without one.

The alerts go out through a webhook to a loopback receiver that answers by
phone: 401 for one leader (a permanent failure), 503 for another (retried,
so pending), 200 for the rest (sent); some leaders answer through
POST /a/TOKEN as they would from the notice page.
"""

import base64
import hashlib
import os
import re
import socket
import threading
import time
import urllib.parse

import pytest

import browser
from conftest import NHC, VIEWER, full_phones, scaled
from test_fanout import (ALL_ROLES, Receiver, by_alert, create, drill,
                         emergency, get_alert, routing_all, rows_to,
                         start_fanout, wait_counts, webhook_channel,
                         zero_counts)

REFRESH_S = 5.0			# the page's refresh period (REFRESH_MS)
ZHANG, LINA, ZHAO = "13800000001", "13800000002", "13800000009"
WULEI, SUNLI, QIANJIN = "13700000021", "13900000012", "15900000013"
MASKED_RE = re.compile(r"1[3-9][0-9][*]{4}[0-9]{4}")
SILENT_STATES = ("pending", "sent", "delivered", "failed")
WALL = {"width": 1600, "height": 1000, "deviceScaleFactor": 1,
        "mobile": False}


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    if not browser.installed():
        msg = "%s not installed (run contrib/deps.sh)" % browser.CHROMIUM
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    with browser.Browser(str(tmp_path_factory.mktemp("chromium"))) as b:
        yield b


class PhoneReceiver(Receiver):
    """A Receiver whose answer depends on the recipient's phone."""

    def __init__(self, status_of):
        self.status_of = status_of
        self.local = threading.local()	# _check and answer share a thread
        super().__init__(answer=lambda n: self.local.status)

    def _check(self, path, headers, body):
        r = super()._check(path, headers, body)
        phone = ((r["doc"] or {}).get("recipient") or {}).get("phone")
        self.local.status = self.status_of.get(phone, 200)
        return r


class UnixRelay:
    """A loopback TCP port relayed to a unix socket (as ssh -L would)."""

    def __init__(self, path):
        self.path = path
        self.lsock = socket.create_server(("127.0.0.1", 0))
        self.port = self.lsock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            u.connect(self.path)
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b),
                                 daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.lsock.close()


def base(d):
    return "http://127.0.0.1:%d" % d.port


def wall_page(chromium):
    page = chromium.new_page()
    page.call("Emulation.setDeviceMetricsOverride", WALL)
    return page


def tally(c):
    """The page's four numbers from a counts object of the API."""
    return {"acked": c["acked"], "reached": c["sent"] + c["delivered"],
            "pending": c["pending"], "failed": c["failed"]}


def add(a, b):
    return {k: a.get(k, 0) + b[k] for k in b}


def shown(page, aid):
    """The numbers the page shows for one alert: total, by community, grid."""
    return page.eval("""(() => {
        const card = document.querySelector('section.alert[data-id="%d"]');
        if (!card) return null;
        const nums = row => Object.fromEntries(
            ['acked', 'reached', 'pending', 'failed'].map(k =>
                [k, Number(row.querySelector('.n-' + k + ' b').textContent)]));
        const by = attr => Object.fromEntries(Array.from(
            card.querySelectorAll('.row[' + attr + ']')).map(r =>
                [r.getAttribute(attr), nums(r)]));
        return {total: nums(card.querySelector('.row[data-scope=alert]')),
                grids: by('data-grid'), communities: by('data-community'),
                text: card.innerText, kind: card.dataset.kind};
    })()""" % aid)


def silent_shown(page):
    return page.eval("""(() => {
        const box = document.getElementById('silent');
        if (box.hidden) return null;
        return {id: Number(box.dataset.id),
                count: Number(box.querySelector('.silent-count').textContent),
                rows: Array.from(box.querySelectorAll('tbody tr')).map(tr =>
                    [tr.querySelector('.name').textContent,
                     tr.querySelector('.phone').textContent])};
    })()""")


def mask(phone):
    return phone[:3] + "****" + phone[7:]


def silent_api(d, aid):
    """(name, masked phone) of everyone who has not answered, from the API."""
    out = []
    for s in SILENT_STATES:
        r = d.get("/v1/alerts/%d/recipients?state=%s" % (aid, s),
                  token=VIEWER)
        assert r.status == 200, r
        out += [(x["name"], mask(x["phone"])) for x in r.json()["recipients"]]
    return sorted(out)


def expect(d, aid):
    """What the page must show for an alert, from GET /v1/alerts/ID."""
    doc = get_alert(d, aid)
    grids = {g: tally(c) for g, c in doc["grids"].items()}
    comms = {}
    for g, t in grids.items():
        comms[g.split("/")[0]] = add(comms.get(g.split("/")[0], {}), t)
    return {"total": tally(doc["counts"]), "grids": grids,
            "communities": comms}


def matches(page, d, aid):
    got = shown(page, aid)
    want = expect(d, aid)
    return got is not None and all(got[k] == want[k] for k in want)


def ack(d, url):
    """Answer 1 on a notice page's form, as a leader's browser would."""
    path = urllib.parse.urlsplit(url).path
    r = d.request("POST", path, body="response=1", token=None,
                  content_type="application/x-www-form-urlencoded")
    assert r.status == 303, r


def ack_urls(rec, aid):
    return {r["doc"]["recipient"]["phone"]: r["doc"]["ack_url"]
            for r in by_alert(rec.snapshot(), aid)}


def wait_until(pred, timeout, what):
    end = time.monotonic() + scaled(timeout)
    while not pred():
        if time.monotonic() > end:
            pytest.fail("%s: not within %.1f s" % (what, timeout))
        time.sleep(0.1)


@pytest.fixture
def live(daemons):
    """A daemon with a drill (9 leaders) and an emergency (4) under way."""
    rec = PhoneReceiver({WULEI: 401, QIANJIN: 503})
    d = start_fanout(daemons, [webhook_channel(rec)], routing_all("hook"),
                     name="dash")
    d.load(rows_to(rec))
    dr = create(d, drill())
    em = create(d, emergency(targets=[NHC], roles=ALL_ROLES))
    wait_counts(d, dr["id"], zero_counts(sent=7, failed=1, pending=1), 15)
    wait_counts(d, em["id"], zero_counts(sent=4), 15)
    wait_until(lambda: len(ack_urls(rec, dr["id"])) >= 8 and
               len(ack_urls(rec, em["id"])) == 4, 10, "webhook requests")
    for phone in (ZHANG, SUNLI):
        ack(d, ack_urls(rec, dr["id"])[phone])
    ack(d, ack_urls(rec, em["id"])[ZHAO])
    wait_counts(d, dr["id"], zero_counts(acked=2, sent=5, failed=1,
                                         pending=1), 10)
    wait_counts(d, em["id"], zero_counts(acked=1, sent=3), 10)
    yield d, rec, dr, em
    rec.close()


# ---- plain HTTP -------------------------------------------------------------

def test_page_over_plain_http(live):
    d, rec, dr, em = live
    r = d.request("GET", "/", token=None)
    assert r.status == 200, r
    h = r.headers
    assert h["content-type"] == "text/html; charset=utf-8", h
    assert h["cache-control"] == "no-store", h
    assert h["x-frame-options"] == "DENY", h
    assert h["referrer-policy"] == "no-referrer", h
    assert h["x-content-type-options"] == "nosniff", h
    csp = h["content-security-policy"]
    for part in ("default-src 'none'", "connect-src 'self'",
                 "frame-ancestors 'none'", "form-action 'none'"):
        assert part in csp, csp
    assert "unsafe" not in csp, csp
    # The inline style and script are exactly the ones the policy allows.
    body = r.text
    for tag, directive in (("style", "style-src"), ("script", "script-src")):
        inner = re.findall(r"<%s>(.*?)</%s>" % (tag, tag), body, re.S)
        assert len(inner) == 1, tag
        digest = base64.b64encode(hashlib.sha256(
            inner[0].encode()).digest()).decode()
        assert "%s 'sha256-%s'" % (directive, digest) in csp, (tag, csp)
    # No data: no title, name or phone of the alerts under way.
    for s in ("燃气泄漏", "消防疏散演练", "张伟", "吴磊", "南湖社区"):
        assert s not in body, s
    assert full_phones(body) == [] and MASKED_RE.search(body) is None
    # Nothing from elsewhere: no absolute URL at all, no src attribute.
    assert re.findall(r"(?i)https?:|//[a-z0-9.-]+\.[a-z]", body) == []
    assert re.search(r"(?i)\ssrc\s*=", body) is None
    assert "值班室" in body and "未叫醒名单" in body
    # The same page over the control socket; only GET.
    u = d.unix("GET", "/")
    assert u.status == 200 and u.body == r.body, u
    r = d.request("POST", "/", token=None, body="x=1",
                  content_type="application/x-www-form-urlencoded")
    assert r.status == 405 and r.headers.get("allow") == "GET", r
    assert r.error()["code"] == "method_not_allowed"


# ---- in Chromium ------------------------------------------------------------

def test_dashboard_in_chromium(live, chromium, tmp_path):
    d, rec, dr, em = live
    page = wall_page(chromium)
    assert page.goto(base(d) + "/#token=" + VIEWER.secret) == 200
    page.wait_for("document.querySelectorAll('section.alert').length == 2 "
                  "&& !document.getElementById('silent').hidden")
    # The token left the address; no request carried it in its URL.
    assert page.eval("location.hash") == ""
    assert all(VIEWER.secret not in r["url"] for r in page.requests)
    assert all(r["url"].startswith(base(d) + "/") for r in page.requests), \
        page.requests
    # Newest first: the emergency, highlighted and selected; the drill marked.
    order = page.eval("Array.from(document.querySelectorAll('section.alert'))"
                      ".map(s => [Number(s.dataset.id), s.className])")
    assert [o[0] for o in order] == [em["id"], dr["id"]], order
    assert "kind-emergency" in order[0][1] and "selected" in order[0][1]
    assert "kind-drill" in order[1][1]
    assert silent_shown(page)["id"] == em["id"]
    # Every number shown equals the API's, once the names are in.
    for aid in (em["id"], dr["id"]):
        wait_until(lambda: matches(page, d, aid), REFRESH_S + 3,
                   "numbers of alert %d" % aid)
    s_dr, s_em = shown(page, dr["id"]), shown(page, em["id"])
    assert "演练" in s_dr["text"] and "演练" not in s_em["text"], s_em
    assert "突发事件" in s_em["text"] and "南湖社区" in s_em["text"]
    assert s_dr["total"] == {"acked": 2, "reached": 5, "pending": 1,
                             "failed": 1}, s_dr
    assert set(s_dr["communities"]) == {"220104001", NHC, "220104001002",
                                        "220183105201"}, s_dr
    assert s_dr["grids"][NHC + "/G01"]["acked"] == 1
    # The emergency's silent list: names, masked phones.
    sil = silent_shown(page)
    assert sorted(map(tuple, sil["rows"])) == silent_api(d, em["id"]), sil
    assert sil["count"] == 3
    # Select the drill: its silent list, failed and pending included.
    page.click('section.alert[data-id="%d"] h2' % dr["id"], navigate=False)
    page.wait_for("document.getElementById('silent').dataset.id == '%d'"
                  % dr["id"])
    sil = silent_shown(page)
    want = silent_api(d, dr["id"])
    assert sorted(map(tuple, sil["rows"])) == want, sil
    assert {n for n, _ in want} >= {"吴磊", "钱进", "李娜"}, want
    assert sil["count"] == len(want) == 7
    assert full_phones(page.html()) == [], "a full phone on the page"
    shot = str(tmp_path / "dashboard.png")
    assert page.screenshot(shot) > 10000
    assert browser.png_size(shot) == (1600, 1000)
    print("dashboard screenshot: %s" % shot)
    # One more answer: the page follows by itself within its period.
    navs = len(page.navigations())
    ack(d, ack_urls(rec, dr["id"])[LINA])
    t0 = time.monotonic()
    wait_counts(d, dr["id"], zero_counts(acked=3, sent=4, failed=1,
                                         pending=1), 5)
    page.wait_for("(() => { const r = document.querySelector("
                  "'section.alert[data-id=\"%d\"] .row[data-scope=alert] "
                  ".n-acked b'); return r && r.textContent == '3'; })()"
                  % dr["id"], timeout=REFRESH_S + 3)
    wait_until(lambda: silent_shown(page)["count"] == 6, 3, "silent list")
    assert time.monotonic() - t0 < REFRESH_S + 3
    assert matches(page, d, dr["id"])
    assert sorted(map(tuple, silent_shown(page)["rows"])) == \
        silent_api(d, dr["id"])
    assert "李娜" not in [n for n, _ in silent_shown(page)["rows"]]
    assert len(page.navigations()) == navs, "the page reloaded"
    assert not [m for m in page.console if m.startswith("exception")], \
        page.console
    page.screenshot(str(tmp_path / "dashboard-after.png"))
    page.close()


def test_wrong_token_then_the_form(live, chromium):
    d, rec, dr, em = live
    page = wall_page(chromium)
    assert page.goto(base(d) + "/#token=not-a-token") == 200
    page.wait_for("!document.getElementById('auth').hidden")
    text = page.text()
    assert "401" in text and "令牌无效" in text, text
    assert page.eval("document.querySelectorAll('section.alert').length") == 0
    for s in ("燃气泄漏", "消防疏散演练", "张伟", "****"):
        assert s not in text, (s, text)
    assert page.eval("sessionStorage.length") == 0
    # The form: the token goes to sessionStorage, never into the address.
    page.type("#tok", VIEWER.secret)
    page.click("#auth button[type=submit]", navigate=False)
    page.wait_for("document.querySelectorAll('section.alert').length == 2")
    assert page.eval("document.getElementById('auth').hidden")
    assert VIEWER.secret not in page.eval("location.href")
    assert all(VIEWER.secret not in r["url"] for r in page.requests)
    assert page.navigation_methods() == ["GET"], page.navigations()
    wait_until(lambda: matches(page, d, dr["id"]), REFRESH_S + 3, "numbers")
    page.close()


def test_control_socket_needs_no_token(live, chromium):
    d, rec, dr, em = live
    relay = UnixRelay(d.sock)
    try:
        page = wall_page(chromium)
        assert page.goto("http://127.0.0.1:%d/" % relay.port) == 200
        page.wait_for("document.querySelectorAll('section.alert').length "
                      "== 2")
        assert page.eval("document.getElementById('auth').hidden")
        wait_until(lambda: matches(page, d, em["id"]), REFRESH_S + 3,
                   "numbers")
        assert page.eval("sessionStorage.length") == 0
        page.close()
    finally:
        relay.close()
