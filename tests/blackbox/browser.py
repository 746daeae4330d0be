"""
A real headless Chromium for black-box tests, driven through the Chrome
DevTools Protocol (CDP) over a WebSocket.  Standard library only: the
WebSocket client (RFC 6455) is here too.

    with Browser(workdir) as b:
        page = b.new_page()
        page.mobile()                       # 390x844 @2x, mobile
        page.goto("http://127.0.0.1:%d/r/abc" % port)
        assert page.status == 200
        assert page.navigation_methods() == ["GET"]
        assert "请确认" in page.text()
        page.tap('button[name="response"][value="2"]')  # waits for load
        assert page.navigation_methods()[-2:] == ["POST", "GET"]  # 303
        page.screenshot(os.path.join(workdir, "after.png"))

One browser process group, all ours: Chromium is started in its own session
(start_new_session) with a fresh --user-data-dir and HOME under workdir and
--remote-debugging-port=0; the port is read from DevToolsActivePort in the
profile.  One WebSocket to the browser target carries every page's commands
(Target.attachToTarget with flatten=true: one sessionId per page).  Nothing
here uses threads: a call reads messages until its answer arrives, and the
events met on the way are handed to their page.

Facts seen with Debian 12's chromium 156 (headless=new) that this relies on:
- /usr/bin/chromium is a shell wrapper that execs /usr/lib/chromium/chromium
  (same pid).  It prints "[: ...: unexpected operator" on stderr when
  findmnt lists /dev/shm twice: harmless.
- As root, --no-sandbox is required; without a system D-Bus Chromium logs
  many "dbus/..." errors: harmless, they are left out of log_tail().
- A page target's id is its main frame's id; Page.navigate answers with the
  loaderId whose lifecycle "load" event ends the navigation.
- After each page load Chromium fetches /favicon.ico (a GET, type "Other"
  in page.requests, often after the load event) unless the page declares
  an icon, e.g. <link rel="icon" href="data:,">.  Count server-side
  requests with that in mind.
- Page.navigate itself answers only once the response has started, so a
  server that never answers times out in Page.navigate (goto() says
  "response not within"); one that answers but holds a subresource times
  out waiting for "load".
- A data: page's requests to 127.0.0.1 fail with net::ERR_FAILED (Local
  Network Access): serve test pages over http from loopback instead.
- mobile() without <meta name="viewport"> gives the 980 px desktop layout
  width, as a real phone would.
- chrome_crashpad_handler runs even with --disable-crash-reporter, in its
  own session (outside our process group); stop() finds it by the profile
  path in its argv.  (--disable-crashpad-for-testing kills the network
  service in this build: do not use it.)
"""

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

CHROMIUM = os.environ.get("SANZHANG_CHROMIUM", "/usr/bin/chromium")

START_TIMEOUT = 20.0	# seconds for DevToolsActivePort and the WebSocket
STOP_TIMEOUT = 5.0	# seconds between Browser.close/SIGTERM and SIGKILL
CALL_TIMEOUT = 10.0	# seconds for one CDP command's answer
LOAD_TIMEOUT = 10.0	# seconds for a navigation's load event
POLL = 0.05

FLAGS = [
    "--headless=new",
    "--no-sandbox",		# we run as root
    "--disable-gpu",
    "--remote-debugging-port=0",
    "--remote-debugging-address=127.0.0.1",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--no-pings",
    "--password-store=basic",
    "--hide-scrollbars",
    "--mute-audio",
    "--lang=zh-CN",
]

MOBILE = {"width": 390, "height": 844, "deviceScaleFactor": 2,
          "mobile": True}

# Lines of Chromium's stderr that say nothing about a failure.
NOISE_RE = re.compile(r"dbus/|unexpected operator|Fontconfig error")

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def installed():
    return os.access(CHROMIUM, os.X_OK)


class BrowserError(Exception):
    pass


class BrowserTimeout(BrowserError):
    pass


class WebSocketClosed(BrowserError):
    pass


# ---- RFC 6455 client ----------------------------------------------------

class WebSocket:
    """
    A minimal client: text and binary messages (fragmented or not, any
    length), masked client frames, ping answered with pong, close handshake.
    Every read has a deadline.
    """

    OP_CONT, OP_TEXT, OP_BIN, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10

    def __init__(self, url, timeout=CALL_TIMEOUT):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "ws":
            raise BrowserError("only ws:// URLs: %r" % url)
        self.host = u.hostname
        self.port = u.port or 80
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        self.buf = bytearray()
        self.closed = False
        self.sock = socket.create_connection((self.host, self.port),
                                             timeout=timeout)
        try:
            self._handshake(path, time.monotonic() + timeout)
        except BaseException:
            self.sock.close()
            raise

    def _handshake(self, path, deadline):
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        host = self.host if ":" not in self.host else "[%s]" % self.host
        req = ("GET %s HTTP/1.1\r\n"
               "Host: %s:%d\r\n"
               "Upgrade: websocket\r\n"
               "Connection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n"
               "\r\n" % (path, host, self.port, key))
        self.sock.sendall(req.encode("ascii"))
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise BrowserError("WebSocket handshake: headers too long")
            self._fill(deadline)
        end = self.buf.index(b"\r\n\r\n")
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[:end + 4]
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or parts[1] != "101":
            raise BrowserError("WebSocket handshake refused: %r" % head)
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        want = base64.b64encode(hashlib.sha1(
            (key + WS_GUID).encode("ascii")).digest()).decode("ascii")
        if headers.get("sec-websocket-accept") != want:
            raise BrowserError("WebSocket handshake: bad accept %r" % head)
        if headers.get("upgrade", "").lower() != "websocket":
            raise BrowserError("WebSocket handshake: no upgrade %r" % head)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("WebSocket read timed out")
        self.sock.settimeout(left)
        data = self.sock.recv(1 << 16)
        if not data:
            self.closed = True
            raise WebSocketClosed("WebSocket: connection closed by peer")
        self.buf += data

    def _read(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def _send_frame(self, opcode, payload, fin=True):
        n = len(payload)
        head = bytearray([(0x80 if fin else 0) | opcode])
        if n < 126:
            head.append(0x80 | n)
        elif n < 1 << 16:
            head.append(0x80 | 126)
            head += struct.pack("!H", n)
        else:
            head.append(0x80 | 127)
            head += struct.pack("!Q", n)
        mask = os.urandom(4)
        head += mask
        # XOR with the mask as one big integer: fast for large payloads.
        if n:
            m = (mask * (n // 4 + 1))[:n]
            payload = (int.from_bytes(payload, "big") ^
                       int.from_bytes(m, "big")).to_bytes(n, "big")
        self.sock.settimeout(CALL_TIMEOUT)
        self.sock.sendall(bytes(head) + payload)

    def send_text(self, text):
        if self.closed:
            raise WebSocketClosed("WebSocket is closed")
        self._send_frame(self.OP_TEXT, text.encode("utf-8"))

    def send_binary(self, data):
        if self.closed:
            raise WebSocketClosed("WebSocket is closed")
        self._send_frame(self.OP_BIN, bytes(data))

    def _read_frame(self, deadline):
        b0, b1 = self._read(2, deadline)
        fin, opcode = bool(b0 & 0x80), b0 & 0x0F
        if b0 & 0x70:
            raise BrowserError("WebSocket: reserved bits set (0x%02x)" % b0)
        masked, n = bool(b1 & 0x80), b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2, deadline))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8, deadline))[0]
        mask = self._read(4, deadline) if masked else None
        payload = self._read(n, deadline)
        if mask and n:
            m = (mask * (n // 4 + 1))[:n]
            payload = (int.from_bytes(payload, "big") ^
                       int.from_bytes(m, "big")).to_bytes(n, "big")
        return fin, opcode, payload

    def recv(self, timeout=CALL_TIMEOUT):
        """
        The next message: str for text, bytes for binary.  Raises
        socket.timeout after timeout seconds, WebSocketClosed on close.
        """
        deadline = time.monotonic() + timeout
        msg_op, parts = None, []
        while True:
            fin, op, payload = self._read_frame(deadline)
            if op == self.OP_PING:
                self._send_frame(self.OP_PONG, payload)
                continue
            if op == self.OP_PONG:
                continue
            if op == self.OP_CLOSE:
                if not self.closed:
                    try:
                        self._send_frame(self.OP_CLOSE, payload[:2])
                    except OSError:
                        pass
                self.closed = True
                code = (struct.unpack("!H", payload[:2])[0]
                        if len(payload) >= 2 else None)
                raise WebSocketClosed("WebSocket closed by peer (code %s %r)"
                                      % (code, payload[2:].decode(
                                          "utf-8", "replace")))
            if op in (self.OP_TEXT, self.OP_BIN):
                if msg_op is not None:
                    raise BrowserError("WebSocket: new message inside a "
                                       "fragmented one")
                msg_op = op
            elif op == self.OP_CONT:
                if msg_op is None:
                    raise BrowserError("WebSocket: continuation without start")
            else:
                raise BrowserError("WebSocket: unknown opcode %d" % op)
            parts.append(payload)
            if fin:
                data = b"".join(parts)
                return data.decode("utf-8") if msg_op == self.OP_TEXT else data

    def close(self, timeout=1.0):
        """Send close, wait (bounded) for the peer's, close the socket."""
        if not self.closed:
            try:
                self._send_frame(self.OP_CLOSE, struct.pack("!H", 1000))
                self.closed = True
                deadline = time.monotonic() + timeout
                while True:
                    fin, op, _ = self._read_frame(deadline)
                    if op == self.OP_CLOSE:
                        break
            except (OSError, BrowserError):
                pass
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


# ---- CDP connection -----------------------------------------------------

class CDPError(BrowserError):
    def __init__(self, method, error):
        self.method = method
        self.error = error
        super().__init__("%s failed: %s" % (method, error))


class Connection:
    """
    CDP over one WebSocket.  call() sends a command and reads until its
    answer; events read on the way go to on_event(sessionId, method,
    params).
    """

    def __init__(self, url, on_event, timeout=CALL_TIMEOUT):
        self.ws = WebSocket(url, timeout=timeout)
        self.on_event = on_event
        self.next_id = 0
        self.answers = {}

    def pump(self, deadline):
        """Read and dispatch one message (socket.timeout at deadline)."""
        raw = self.ws.recv(max(0.0, deadline - time.monotonic()))
        msg = json.loads(raw)
        if "id" in msg:
            self.answers[msg["id"]] = msg
        else:
            self.on_event(msg.get("sessionId"), msg.get("method"),
                          msg.get("params") or {})

    def send(self, method, params=None, session_id=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session_id:
            msg["sessionId"] = session_id
        self.ws.send_text(json.dumps(msg))
        return self.next_id

    def wait_answer(self, mid, method, timeout):
        deadline = time.monotonic() + timeout
        while mid not in self.answers:
            self.pump(deadline)
        msg = self.answers.pop(mid)
        if "error" in msg:
            raise CDPError(method, msg["error"])
        return msg.get("result") or {}

    def call(self, method, params=None, session_id=None, timeout=CALL_TIMEOUT):
        return self.wait_answer(self.send(method, params, session_id),
                                method, timeout)

    def close(self):
        self.ws.close()


# ---- the browser --------------------------------------------------------

class Browser:
    """One headless Chromium (its own process group, profile and HOME)."""

    def __init__(self, workdir, name="chromium", extra_flags=(),
                 start_timeout=START_TIMEOUT):
        self.workdir = workdir
        self.name = name
        self.extra_flags = list(extra_flags)
        self.start_timeout = start_timeout
        self.log_path = os.path.join(workdir, name + ".log")
        self.profile = None
        self.home = None
        self.proc = None
        self.conn = None
        self.port = None
        self.pages = {}		# sessionId -> Page
        self.timings = {}

    # -- process control

    def start(self):
        if not installed():
            raise BrowserError("%s is not installed" % CHROMIUM)
        t0 = time.monotonic()
        deadline = t0 + self.start_timeout
        self.profile = tempfile.mkdtemp(prefix=self.name + "-profile-",
                                        dir=self.workdir)
        self.home = tempfile.mkdtemp(prefix=self.name + "-home-",
                                     dir=self.workdir)
        env = dict(os.environ)
        env["HOME"] = self.home
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
        argv = ([CHROMIUM] + FLAGS + ["--user-data-dir=" + self.profile] +
                self.extra_flags + ["about:blank"])
        log = open(self.log_path, "ab")
        try:
            log.write(("---- %s\n" % " ".join(argv)).encode())
            log.flush()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, env=env,
                                         cwd=self.workdir,
                                         start_new_session=True,
                                         close_fds=True)
        finally:
            log.close()
        try:
            ws_url = self._wait_port(deadline)
            self.timings["port"] = time.monotonic() - t0
            self._connect(ws_url, deadline)
            self.timings["start"] = time.monotonic() - t0
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_port(self, deadline):
        path = os.path.join(self.profile, "DevToolsActivePort")
        while True:
            self._check_alive("during start-up")
            try:
                with open(path) as f:
                    lines = f.read().split("\n")
                if len(lines) >= 2 and lines[0].strip().isdigit() and \
                        lines[1].startswith("/devtools/browser/"):
                    self.port = int(lines[0])
                    return "ws://127.0.0.1:%d%s" % (self.port,
                                                    lines[1].strip())
            except FileNotFoundError:
                pass
            # Fallback: the stderr line.
            m = re.search(r"DevTools listening on (ws://\S+)", self.log())
            if m:
                self.port = urllib.parse.urlsplit(m.group(1)).port
                return m.group(1)
            if time.monotonic() > deadline:
                raise BrowserError("Chromium: no DevTools port within %.0f s"
                                   "\n%s" % (self.start_timeout,
                                             self.log_tail()))
            time.sleep(POLL)

    def _connect(self, ws_url, deadline):
        last = None
        while True:
            self._check_alive("during start-up")
            try:
                self.conn = Connection(ws_url, self._on_event,
                                       timeout=max(0.5, deadline -
                                                   time.monotonic()))
                self.version = self.conn.call("Browser.getVersion")
                return
            except (OSError, BrowserError) as e:
                last = e
                if self.conn is not None:
                    self.conn.close()
                    self.conn = None
            if time.monotonic() > deadline:
                raise BrowserError("Chromium: no DevTools WebSocket within "
                                   "%.0f s (%s)\n%s" % (
                                       self.start_timeout, last,
                                       self.log_tail()))
            time.sleep(POLL)

    def _check_alive(self, when=""):
        if self.proc is not None and self.proc.poll() is not None:
            raise BrowserError("Chromium exited with %s %s\n%s" % (
                self.proc.returncode, when, self.log_tail()))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """Browser.close, then SIGTERM and SIGKILL the whole group."""
        t0 = time.monotonic()
        asked = False
        if self.conn is not None:
            if self.running():
                try:
                    self.conn.send("Browser.close")
                    asked = True
                except (OSError, BrowserError):
                    pass
            self.conn.close()
            self.conn = None
        p = self.proc
        if p is not None:
            try:
                if not asked:
                    raise subprocess.TimeoutExpired(p.args, 0)
                p.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _killpg(p, signal.SIGTERM)
                try:
                    p.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    pass
            # Helpers (zygote, renderers, utility) share the group: make
            # sure none outlives the browser.
            _killpg(p, signal.SIGKILL)
            try:
                p.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
            self._wait_group_gone(p.pid, time.monotonic() + STOP_TIMEOUT)
        self._reap_strays()
        for d in (self.profile, self.home):
            if d:
                shutil.rmtree(d, ignore_errors=True)
        self.profile = self.home = None
        self.timings["stop"] = time.monotonic() - t0

    def _reap_strays(self):
        """
        chrome_crashpad_handler double-forks into its own session, out of
        our group: find ours by the profile/HOME paths in their argv, give
        them a moment to follow the browser, then SIGKILL them by pid.
        """
        marks = [d for d in (self.profile, self.home) if d]
        if not marks:
            return
        deadline = time.monotonic() + 2.0
        while True:
            left = _pids_with_arg(marks)
            if not left:
                return
            if time.monotonic() > deadline:
                break
            time.sleep(POLL)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        end = time.monotonic() + STOP_TIMEOUT
        while _pids_with_arg(marks) and time.monotonic() < end:
            time.sleep(POLL)

    @staticmethod
    def _wait_group_gone(pgid, deadline):
        """Until no live process has pgid as its group (zombies aside)."""
        while time.monotonic() < deadline:
            if not _group_members(pgid):
                return
            time.sleep(POLL)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- diagnostics

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=30, all_lines=False):
        lines = [l for l in self.log().splitlines()
                 if all_lines or not NOISE_RE.search(l)]
        return "---- %s (%s) ----\n%s" % (self.name, self.log_path,
                                          "\n".join(lines[-n:]))

    # -- CDP

    def call(self, method, params=None, session_id=None, timeout=CALL_TIMEOUT):
        """One CDP command; a timeout or a dead browser is a BrowserError."""
        if self.conn is None:
            raise BrowserError("browser not started")
        try:
            return self.conn.call(method, params, session_id, timeout)
        except socket.timeout:
            raise BrowserTimeout("%s: no answer within %.1f s\n%s" % (
                method, timeout, self.log_tail())) from None
        except (WebSocketClosed, OSError) as e:
            raise BrowserError("%s: %s (chromium %s)\n%s" % (
                method, e, "running" if self.running() else "exited",
                self.log_tail())) from None

    def pump(self, deadline):
        """Dispatch one message; False once deadline passed."""
        try:
            self.conn.pump(deadline)
            return True
        except socket.timeout:
            return False
        except (WebSocketClosed, OSError) as e:
            raise BrowserError("%s (chromium %s)\n%s" % (
                e, "running" if self.running() else "exited",
                self.log_tail())) from None

    def _on_event(self, session_id, method, params):
        page = self.pages.get(session_id)
        if page is not None:
            page._on_event(method, params)
        elif method == "Target.detachedFromTarget":
            page = self.pages.pop(params.get("sessionId"), None)
            if page is not None:
                page.detached = True

    def new_page(self, url=None, mobile=False):
        """A new tab, attached and with Page, Network and Runtime enabled."""
        target = self.call("Target.createTarget",
                           {"url": "about:blank"})["targetId"]
        sid = self.call("Target.attachToTarget",
                        {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, sid)
        self.pages[sid] = page
        page._setup()
        if mobile:
            page.mobile()
        if url:
            page.goto(url)
        return page

    def http_json(self, path="/json", timeout=5.0):
        """GET http://127.0.0.1:PORT/json... (target list, version)."""
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (
                self.port, path), timeout=timeout) as r:
            return json.loads(r.read().decode("utf-8"))


def _killpg(p, sig):
    try:
        os.killpg(p.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _proc_state(pid):
    """(state, ppid, pgrp) from /proc/PID/stat, or None."""
    try:
        with open("/proc/%s/stat" % pid, "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except OSError:
        return None
    rest = stat[stat.rfind(")") + 2:].split()
    return (rest[0], rest[1], rest[2]) if len(rest) > 2 else None


def _pids_with_arg(marks):
    """Live pids (not zombies) whose argv mentions one of marks."""
    out = []
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        if any(m in argv for m in marks):
            st = _proc_state(d)
            if st and st[0] not in "ZX":
                out.append(int(d))
    return out


def _group_members(pgid):
    """Live (non-zombie) pids whose process group is pgid."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = _proc_state(d)
            if st and st[2] == str(pgid) and st[0] not in "ZX":
                out.append(int(d))
    return out


# ---- one tab ------------------------------------------------------------

class Page:
    """
    One tab.  What it records (since it was opened):
      requests    every request the page made, in order: dicts with
                  method, url, type ("Document", "Script", ...), frame_id,
                  loader_id, post_data (when Chromium reports it) and
                  redirect_status (set on the request a redirect made)
      responses   every response: url, status, type, frame_id, mime
      status      the HTTP status of the last main-frame document
      url         the URL of the last main-frame document
      failed      requests that failed: url, type, error (net::...),
                  blocked (a blockedReason), canceled
      console     console messages and uncaught exceptions (strings)
    """

    def __init__(self, browser, target_id, session_id):
        self.browser = browser
        self.target_id = target_id
        self.session_id = session_id
        self.frame_id = target_id
        self.loader_id = None
        self.events = []		# (seq, method, params), for waits
        self.seq = 0
        self.requests = []
        self.responses = []
        self.status = None
        self.url = None
        self.console = []
        self.failed = []
        self.detached = False

    def call(self, method, params=None, timeout=CALL_TIMEOUT):
        if self.detached:
            raise BrowserError("page is closed")
        return self.browser.call(method, params, self.session_id, timeout)

    def _setup(self):
        self.call("Page.enable")
        self.call("Page.setLifecycleEventsEnabled", {"enabled": True})
        self.call("Network.enable")
        self.call("Runtime.enable")
        tree = self.call("Page.getFrameTree")["frameTree"]["frame"]
        self.frame_id = tree["id"]
        self.loader_id = tree.get("loaderId")

    # -- events

    def _on_event(self, method, p):
        self.seq += 1
        if method.startswith("Page."):
            self.events.append((self.seq, method, p))
        if method == "Page.frameNavigated":
            f = p.get("frame", {})
            if not f.get("parentId") and f.get("id") == self.frame_id:
                self.loader_id = f.get("loaderId")
        elif method == "Network.requestWillBeSent":
            req = p.get("request", {})
            if "redirectResponse" in p and self.requests:
                # The same requestId continues after a redirect.
                self._response(p, p["redirectResponse"])
            self.requests.append({
                "request_id": p.get("requestId"),
                "method": req.get("method"),
                "url": req.get("url"),
                "type": p.get("type"),
                "frame_id": p.get("frameId"),
                "loader_id": p.get("loaderId"),
                "post_data": _post_data(req),
                "redirect_status": (p["redirectResponse"].get("status")
                                    if "redirectResponse" in p else None),
            })
        elif method == "Network.responseReceived":
            self._response(p, p.get("response", {}))
        elif method == "Network.loadingFailed":
            urls = [r["url"] for r in self.requests
                    if r["request_id"] == p.get("requestId")]
            self.failed.append({
                "url": urls[-1] if urls else None, "type": p.get("type"),
                "error": p.get("errorText"),
                "blocked": p.get("blockedReason"),
                "canceled": p.get("canceled", False)})
        elif method == "Runtime.consoleAPICalled":
            args = [a.get("value", a.get("description", ""))
                    for a in p.get("args", [])]
            self.console.append("console.%s: %s" % (
                p.get("type"), " ".join(str(a) for a in args)))
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            exc = d.get("exception", {})
            self.console.append("exception: %s" % (
                exc.get("description") or d.get("text")))

    def _response(self, p, resp):
        r = {"url": resp.get("url"), "status": resp.get("status"),
             "type": p.get("type"), "frame_id": p.get("frameId"),
             "mime": resp.get("mimeType")}
        self.responses.append(r)
        if r["type"] == "Document" and r["frame_id"] == self.frame_id:
            self.status = r["status"]
            self.url = r["url"]

    def navigations(self):
        """Main-frame document requests (redirect hops included)."""
        return [r for r in self.requests
                if r["type"] == "Document" and r["frame_id"] == self.frame_id]

    def navigation_methods(self):
        return [r["method"] for r in self.navigations()]

    def request_methods(self):
        """The methods of every request the page made, in order."""
        return [r["method"] for r in self.requests]

    def clear_requests(self):
        del self.requests[:]
        del self.responses[:]
        del self.console[:]
        del self.failed[:]

    def _mark(self):
        """Forget past Page events; waits look after the returned seq."""
        del self.events[:]
        return self.seq

    def _wait_event(self, match, after, timeout, what):
        """The first Page.* event after seq `after` that match() accepts."""
        deadline = time.monotonic() + timeout
        i = 0
        while True:
            while i < len(self.events):
                seq, method, p = self.events[i]
                i += 1
                if seq > after and match(method, p):
                    return p
            if self.detached:
                raise BrowserError("page closed while waiting for %s" % what)
            if not self.browser.pump(deadline):
                break
        raise BrowserTimeout("%s: not within %.1f s (url %s, status %s)"
                             "\n%s" % (what, timeout, self.url, self.status,
                                       self.browser.log_tail()))

    def _wait_load(self, loader_id, after, timeout, what):
        def match(method, p):
            return (method == "Page.lifecycleEvent" and p.get("name") == "load"
                    and p.get("frameId") == self.frame_id and
                    (p.get("loaderId") == loader_id if loader_id else
                     p.get("loaderId") != old))
        old = self.loader_id
        self._wait_event(match, after, timeout, what)

    # -- navigation

    def goto(self, url, timeout=LOAD_TIMEOUT):
        """Navigate and wait for the load event; returns the HTTP status."""
        deadline = time.monotonic() + timeout
        mark = self._mark()
        # Page.navigate answers once the response has started (commit).
        try:
            r = self.call("Page.navigate", {"url": url}, timeout=timeout)
        except BrowserTimeout:
            raise BrowserTimeout("goto %s: response not within %.1f s"
                                 "\n%s" % (url, timeout,
                                           self.browser.log_tail())) from None
        if r.get("errorText"):
            raise BrowserError("navigation to %s failed: %s" % (
                url, r["errorText"]))
        if "loaderId" not in r:
            return self.status	# same-document (fragment) navigation
        self._wait_load(r["loaderId"], mark,
                        max(0.1, deadline - time.monotonic()),
                        "goto %s: load event" % url)
        return self.status

    def reload(self, timeout=LOAD_TIMEOUT):
        mark = self._mark()
        self.call("Page.reload")
        self._wait_load(None, mark, timeout, "load after reload of %s"
                        % self.url)
        return self.status

    def click(self, selector, navigate=True, timeout=LOAD_TIMEOUT):
        """
        A real mouse click (pressed/released at the element's centre, after
        scrolling it into view) on the first element matching a CSS
        selector; it must be visible, enabled and not covered.  With
        navigate, waits for the main frame's next document to load (a form
        submit, a link) and returns its HTTP status.
        """
        return self._press(selector, False, navigate, timeout)

    def tap(self, selector, navigate=True, timeout=LOAD_TIMEOUT):
        """click() with a finger (touchStart/touchEnd), as on a phone."""
        return self._press(selector, True, navigate, timeout)

    def _press(self, selector, touch, navigate, timeout):
        x, y = self._point_of(selector)
        mark = self._mark()
        old = self.loader_id
        if touch:
            for kind, pts in (("touchStart", [{"x": x, "y": y}]),
                              ("touchEnd", [])):
                self.call("Input.dispatchTouchEvent",
                          {"type": kind, "touchPoints": pts})
        else:
            for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
                ev = {"type": kind, "x": x, "y": y}
                if kind != "mouseMoved":
                    ev.update(button="left", clickCount=1)
                self.call("Input.dispatchMouseEvent", ev)
        if not navigate:
            return None
        deadline = time.monotonic() + timeout

        def committed(method, p):
            return (method == "Page.frameNavigated" and
                    p["frame"].get("id") == self.frame_id and
                    p["frame"].get("loaderId") != old)
        what = "%s on %r" % ("tap" if touch else "click", selector)
        nav = self._wait_event(committed, mark, timeout,
                               "navigation after " + what)
        self._wait_load(nav["frame"].get("loaderId"), mark,
                        max(0.1, deadline - time.monotonic()),
                        "load after " + what)
        return self.status

    def _point_of(self, selector):
        js = """(() => {
            const el = document.querySelector(%s);
            if (!el) return {error: "no element matches"};
            el.scrollIntoView({block: "center", inline: "center"});
            const r = el.getBoundingClientRect();
            if (r.width === 0 || r.height === 0)
                return {error: "element has no size (hidden?)"};
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            const top = document.elementFromPoint(x, y);
            if (!top || !(top === el || el.contains(top)))
                return {error: "element is covered by " +
                        (top ? top.outerHTML.slice(0, 200) : "nothing")};
            if (el.disabled) return {error: "element is disabled"};
            return {x: x, y: y};
        })()""" % json.dumps(selector)
        r = self.eval(js)
        if "error" in r:
            raise BrowserError("click %r: %s (url %s)" % (
                selector, r["error"], self.url))
        return r["x"], r["y"]

    def type(self, selector, text):
        """Focus an input or textarea and type text (Input.insertText)."""
        ok = self.eval("""(() => {
            const el = document.querySelector(%s);
            if (!el) return false;
            el.focus();
            return document.activeElement === el;
        })()""" % json.dumps(selector))
        if not ok:
            raise BrowserError("type: cannot focus %r (url %s)" % (
                selector, self.url))
        self.call("Input.insertText", {"text": text})

    # -- content

    def eval(self, expression, timeout=CALL_TIMEOUT):
        """Evaluate JS in the page (promises awaited); its value as JSON."""
        r = self.call("Runtime.evaluate", {
            "expression": expression, "returnByValue": True,
            "awaitPromise": True, "userGesture": True}, timeout=timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            desc = (d.get("exception", {}).get("description") or
                    d.get("text"))
            raise BrowserError("JS error in %r: %s" % (expression[:200], desc))
        return r.get("result", {}).get("value")

    def html(self):
        return self.eval("document.documentElement.outerHTML")

    def text(self):
        return self.eval("document.body ? document.body.innerText : ''")

    def title(self):
        return self.eval("document.title")

    def wait_for(self, expression, timeout=LOAD_TIMEOUT):
        """Until a JS expression is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            v = self.eval(expression)
            if v:
                return v
            if time.monotonic() > deadline:
                raise BrowserTimeout("%r not true within %.1f s (url %s)" % (
                    expression, timeout, self.url))
            # Let events (and time) flow meanwhile.
            self.browser.pump(min(deadline, time.monotonic() + 0.1))

    # -- rendering

    def mobile(self, width=MOBILE["width"], height=MOBILE["height"],
               scale=MOBILE["deviceScaleFactor"], touch=True):
        """A phone-sized viewport (390x844 CSS px, DPR 2, mobile)."""
        self.call("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": scale,
            "mobile": True})
        if touch:
            self.call("Emulation.setTouchEmulationEnabled",
                      {"enabled": True, "maxTouchPoints": 5})

    def viewport(self):
        return self.eval("({width: innerWidth, height: innerHeight, "
                         "dpr: devicePixelRatio})")

    def screenshot(self, path, full_page=False):
        """A PNG of the viewport (or the whole page); returns its size."""
        params = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            m = self.call("Page.getLayoutMetrics")
            size = m.get("cssContentSize") or m["contentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"],
                              "height": size["height"], "scale": 1}
        data = base64.b64decode(self.call("Page.captureScreenshot", params,
                                          timeout=20.0)["data"])
        with open(path, "wb") as f:
            f.write(data)
        return len(data)

    def close(self):
        if not self.detached:
            self.browser.call("Target.closeTarget",
                              {"targetId": self.target_id})
            self.detached = True
            self.browser.pages.pop(self.session_id, None)


def _post_data(req):
    """The request body as text, when Chromium included it."""
    if "postData" in req:
        return req["postData"]
    entries = req.get("postDataEntries")
    if entries:
        try:
            return b"".join(base64.b64decode(e.get("bytes", ""))
                            for e in entries).decode("utf-8", "replace")
        except ValueError:
            return None
    return None


def png_size(path):
    """(width, height) of a PNG file, or None if it is not a PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack("!II", head[16:24])
