"""
Self-tests of browser.py: a real headless Chromium against a small
http.server on loopback (a Chinese page with a POST form of two buttons),
plus the WebSocket client against a scripted server.  No sanzhangd here.
"""

import base64
import hashlib
import html
import os
import shutil
import socket
import struct
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import browser

TITLE = "三长联络测试"
NOTICE = "南湖社区：明日停水，请确认您已收到本通知。"
CHOICES = {"1": "收到", "2": "无法转达"}

# The data: icon keeps Chromium from fetching /favicon.ico after each load.
FORM_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>%s</title></head>
<body><h1>%s</h1><p>%s</p>
<form method="post" action="/r/form">
<button type="submit" name="response" value="1">%s</button>
<button type="submit" name="response" value="2">%s</button>
</form></body></html>
""" % (TITLE, TITLE, NOTICE, CHOICES["1"], CHOICES["2"])

DONE_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<link rel="icon" href="data:,"><title>已提交</title></head>
<body><p>已收到您的答复：%s</p></body></html>
"""


def require_chromium():
    if not browser.installed():
        msg = "%s not installed (apt-get install chromium)" % browser.CHROMIUM
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


# ---- the site -------------------------------------------------------------

class Site:
    """A threaded http.server that records every request it gets."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = []		# (method, path, body bytes)
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _record(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with site.lock:
                    site.seen.append((self.command, self.path, body))
                return body

            def _send(self, status, text=None, headers=()):
                data = text.encode("utf-8") if text is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._record()
                path, _, query = self.path.partition("?")
                if path == "/r/form":
                    self._send(200, FORM_PAGE)
                elif path == "/r/done":
                    q = urllib.parse.parse_qs(query)
                    v = q.get("response", ["?"])[0]
                    self._send(200, DONE_PAGE % CHOICES.get(v, v))
                elif path == "/r/image":
                    # A page with one image from elsewhere (?src=URL).
                    q = urllib.parse.parse_qs(query)
                    self._send(200, '<link rel="icon" href="data:,">'
                               '<p>图片</p><img src="%s">' % html.escape(
                                   q.get("src", [""])[0]))
                else:
                    self._send(404, "<p>没有这个页面</p>")

            def do_POST(self):
                body = self._record()
                q = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
                v = q.get("response", [""])[0]
                if self.path == "/r/form" and v in CHOICES:
                    # Post/Redirect/Get, as a real answer form would.
                    self._send(303, headers=[("Location",
                                              "/r/done?response=" + v)])
                else:
                    self._send(400, "<p>bad</p>")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def requests(self):
        with self.lock:
            return list(self.seen)

    def clear(self):
        with self.lock:
            del self.seen[:]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


# ---- fixtures -------------------------------------------------------------

@pytest.fixture(scope="module")
def workdir(request):
    d = tempfile.mkdtemp(prefix="szbrowser-", dir="/tmp")
    yield d
    if request.session.testsfailed:
        print("---- browser test files kept in %s" % d)
    else:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def chromium(workdir, request):
    """One Chromium for the module; every test opens its own tab."""
    require_chromium()
    b = browser.Browser(workdir)
    b.start()
    pid = b.proc.pid
    try:
        yield b
    finally:
        b.stop()
        if request.session.testsfailed:
            print(b.log_tail(60))
    assert browser._group_members(pid) == [], "chromium left processes"


@pytest.fixture(scope="module")
def site_server():
    s = Site()
    yield s
    s.close()


@pytest.fixture
def site(site_server):
    site_server.clear()
    return site_server


@pytest.fixture
def page(chromium):
    p = chromium.new_page()
    yield p
    p.close()


# ---- tests ----------------------------------------------------------------

def test_open_issues_one_get_only(page, site):
    assert page.goto(site.url("/r/form")) == 200
    # Anything late (a favicon, a prefetch) would show up meanwhile.
    time.sleep(0.3)
    browser_side = page.request_methods()
    assert browser_side == ["GET"], page.requests
    assert page.navigation_methods() == ["GET"]
    server_side = site.requests()
    assert [(m, p) for m, p, _ in server_side] == [("GET", "/r/form")]
    assert page.url == site.url("/r/form")


def test_text_shows_chinese(page, site):
    page.goto(site.url("/r/form"))
    text = page.text()
    assert NOTICE in text
    assert CHOICES["1"] in text and CHOICES["2"] in text
    assert page.title() == TITLE
    html = page.html()
    assert html.startswith("<html")
    assert html.count('name="response"') == 2
    assert page.eval("document.characterSet") == "UTF-8"
    assert page.eval("1 + 2") == 3
    with pytest.raises(browser.BrowserError, match="nope"):
        page.eval("throw new Error('nope')")


@pytest.mark.parametrize("value", ["2", "1"])
def test_click_button_posts_its_value(page, site, value):
    page.goto(site.url("/r/form"))
    page.clear_requests()
    site.clear()
    status = page.click('button[name="response"][value="%s"]' % value)
    assert status == 200
    assert [(m, p, b) for m, p, b in site.requests()] == [
        ("POST", "/r/form", b"response=" + value.encode()),
        ("GET", "/r/done?response=" + value, b"")]
    navs = page.navigations()
    assert [(n["method"], n["redirect_status"]) for n in navs] == [
        ("POST", None), ("GET", 303)]
    assert navs[0]["post_data"] == "response=" + value
    assert page.url == site.url("/r/done?response=" + value)
    assert "已收到您的答复：" + CHOICES[value] in page.text()


def test_status_of_main_frame(page, site):
    assert page.goto(site.url("/nowhere")) == 404
    assert page.status == 404
    assert "没有这个页面" in page.text()
    assert page.goto(site.url("/r/form")) == 200


def test_mobile_screenshot(page, site, workdir):
    page.mobile()
    page.goto(site.url("/r/form"))
    assert page.viewport() == {"width": 390, "height": 844, "dpr": 2}
    assert page.eval("navigator.maxTouchPoints") > 0
    path = os.path.join(workdir, "form-mobile.png")
    n = page.screenshot(path)
    assert n > 1000 and os.path.getsize(path) == n
    assert browser.png_size(path) == (780, 1688)
    full = os.path.join(workdir, "form-full.png")
    page.screenshot(full, full_page=True)
    assert browser.png_size(full) is not None
    # A finger on the first button, as on a phone.
    site.clear()
    assert page.tap('button[name="response"][value="1"]') == 200
    assert [(m, b) for m, _, b in site.requests()] == [
        ("POST", b"response=1"), ("GET", b"")]
    assert "已收到您的答复：" + CHOICES["1"] in page.text()


def test_timeout_error_has_stderr_tail(page, site):
    # A server that accepts but never answers: the load never comes.
    mute = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        url = "http://127.0.0.1:%d/slow" % mute.getsockname()[1]
        t0 = time.monotonic()
        with pytest.raises(browser.BrowserTimeout) as e:
            page.goto(url, timeout=1.0)
        assert time.monotonic() - t0 < 5
        msg = str(e.value)
        assert "response not within 1.0 s" in msg and "/slow" in msg
        assert "---- chromium (" in msg and "DevTools listening" in msg
        # Committed, but an image never loads: no load event.  (From a
        # data: page Chromium refuses loopback subresources outright.)
        hang = site.url("/r/image?src=" + urllib.parse.quote(url + ".png"))
        with pytest.raises(browser.BrowserTimeout) as e:
            page.goto(hang, timeout=1.0)
        assert "load event: not within" in str(e.value)
        assert "---- chromium (" in str(e.value)
    finally:
        mute.close()


def test_browser_stops_clean(workdir):
    require_chromium()
    d = tempfile.mkdtemp(prefix="own-", dir=workdir)
    with browser.Browser(d, name="solo") as b:
        pid = b.proc.pid
        marks = [b.profile, b.home]
        p = b.new_page()
        targets = b.http_json("/json")
        assert any(t.get("id") == p.target_id and
                   t.get("webSocketDebuggerUrl") for t in targets), targets
        assert b.http_json("/json/version")["Browser"].startswith("Chrome/")
    assert b.proc.returncode is not None
    assert browser._group_members(pid) == []
    assert browser._pids_with_arg(marks) == []
    assert not os.path.exists(marks[0])


# ---- the WebSocket client against a scripted server ----------------------

def _frame(op, payload, fin=True):
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | op])
    if n < 126:
        head += bytes([n])
    elif n < 1 << 16:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


def _read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError("client went away")
        buf += chunk
    return buf


def _read_client_frame(conn):
    """(fin, opcode, masked, payload) of one client frame."""
    b0, b1 = _read_exact(conn, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", _read_exact(conn, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", _read_exact(conn, 8))[0]
    masked = bool(b1 & 0x80)
    mask = _read_exact(conn, 4) if masked else b"\0\0\0\0"
    data = _read_exact(conn, n)
    data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
    return bool(b0 & 0x80), b0 & 0x0F, masked, data


def test_websocket_framing():
    text = "三长联络：分片消息"
    raw = text.encode("utf-8")
    big = os.urandom(70000)		# 64-bit length
    mid = "x" * 300			# 16-bit length
    out_big, out_mid = "好" * 30000, "a" * 200
    got = {"frames": []}
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(5)

    def serve():
        try:
            conn, _ = lsock.accept()
            conn.settimeout(5)
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(4096)
            key = [l.split(b":", 1)[1].strip() for l in head.split(b"\r\n")
                   if l.lower().startswith(b"sec-websocket-key:")][0]
            accept = base64.b64encode(hashlib.sha1(
                key + browser.WS_GUID.encode()).digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
                         b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            # A text message in three fragments, cut inside UTF-8
            # sequences, with a ping between them.
            conn.sendall(_frame(1, raw[:4], fin=False) +
                         _frame(9, b"hb") +
                         _frame(0, raw[4:11], fin=False) +
                         _frame(0, raw[11:]) +
                         _frame(2, big) + _frame(1, mid.encode()))
            for _ in range(3):
                got["frames"].append(_read_client_frame(conn))
            conn.sendall(_frame(8, struct.pack("!H", 1000) + b"bye"))
            got["frames"].append(_read_client_frame(conn))
            conn.close()
        except Exception as e:	# reported by the assertions below
            got["error"] = repr(e)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        ws = browser.WebSocket("ws://127.0.0.1:%d/devtools/x" %
                               lsock.getsockname()[1], timeout=5)
        assert ws.recv(5) == text
        assert ws.recv(5) == big
        assert ws.recv(5) == mid
        ws.send_text(out_big)
        ws.send_text(out_mid)
        with pytest.raises(browser.WebSocketClosed, match="1000"):
            ws.recv(5)
        ws.close()
        t.join(5)
    finally:
        lsock.close()
    assert "error" not in got, got.get("error")
    frames = got["frames"]
    assert [(f[0], f[1], f[2]) for f in frames] == [
        (True, 10, True), (True, 1, True), (True, 1, True), (True, 8, True)]
    assert frames[0][3] == b"hb"
    assert frames[1][3].decode("utf-8") == out_big
    assert frames[2][3].decode("utf-8") == out_mid
    assert frames[3][3][:2] == struct.pack("!H", 1000)
