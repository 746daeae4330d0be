"""
Black-box fixtures: every test starts the real sanzhangd ($SANZHANGD) with
its own state dir on a free loopback port, drives it over HTTP (TCP and the
unix control socket) and with sanzhangctl ($SANZHANGCTL), then stops it with
SIGTERM.  Standard library only, apart from pytest itself.

Helpers that tests import by name live here too (from conftest import ...):
the tokens, a small roster in code, CSV/JSON conversions and the phone
pattern used to prove that nothing leaks a full number.
"""

import csv
import hashlib
import http.client
import io
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.parse

import pytest

# Parallel runs (pytest-xdist): the timing marker, and the ports for
# listeners (free_port, which tests import from here).
from parallel import pytest_configure  # noqa: F401
from parallel import free_port

SANZHANGD = os.path.abspath(os.environ.get("SANZHANGD", "./sanzhangd"))
SANZHANGCTL = os.path.abspath(os.environ.get("SANZHANGCTL", "./sanzhangctl"))
# The channel plugins of the build (libtool keeps the .so in .libs).
PLUGIN_DIR = os.path.abspath(os.environ.get("SANZHANG_PLUGIN_DIR",
                                            "./plugins/.libs"))
SRCDIR = os.environ.get("SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))

# SANZHANG_VALGRIND=1 runs every sanzhangd and sanzhangctl that these
# fixtures start under valgrind memcheck; see valgrind_argv() and
# valgrind_check().  Everything is then several times slower, so every wait
# of the fixtures and of the tests' wait helpers is multiplied by
# TIME_SCALE (SANZHANG_TIME_SCALE overrides it, e.g. for a slow machine).
VALGRIND = os.environ.get("SANZHANG_VALGRIND", "0") not in ("", "0", "no")
TIME_SCALE = float(os.environ.get("SANZHANG_TIME_SCALE") or
                   (6.0 if VALGRIND else 1.0))


def _sanitized(path):
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# A daemon built with --enable-sanitizers: ASan's allocator keeps freed
# memory in quarantine (RSS bounds do not hold), and LeakSanitizer needs
# what the systemd unit's hardening forbids.
SANITIZED = _sanitized(SANZHANGD)


def scaled(seconds):
    """A timeout or deadline, in seconds, stretched by TIME_SCALE."""
    return seconds * TIME_SCALE


def volume(n):
    """
    The size (people, rows) of a test of volume: n, but a third of it, in
    whole hundreds (Kannel's batches), under valgrind, whose checks need
    every code path, not the volume; the plain and sanitizer runs keep it.
    (Under memcheck the crash tests and the big fan-outs took a quarter of
    the suite's CPU.)
    """
    if not VALGRIND:
        return n
    third = n // 3
    return max(100, third - third % 100)


START_TIMEOUT = scaled(10.0)	# seconds for /healthz to answer after exec
STOP_TIMEOUT = scaled(10.0)	# seconds for a clean exit after SIGTERM
HTTP_TIMEOUT = scaled(10.0)
CTL_TIMEOUT = scaled(20.0)

# A full mainland mobile number not embedded in a longer digit run.
PHONE_RE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
SANITIZER_RE = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:")

HEADER = ["street_code", "street_name", "community_code", "community_name",
          "grid", "building", "unit", "role", "rank", "name", "phone",
          "channels"]
HEADER_LINE = ",".join(HEADER)


# ---- tokens ---------------------------------------------------------------

class Token:
    """An API token: the secret goes in requests, its SHA-256 in the config."""

    def __init__(self, name, role, scope=()):
        self.name = name
        self.role = role
        self.scope = list(scope)
        self.secret = "szbb-" + secrets.token_hex(16)

    @property
    def sha256(self):
        return hashlib.sha256(self.secret.encode()).hexdigest()

    def conf(self):
        s = '{ name = "%s"; sha256 = "%s"; role = "%s";' % (
            self.name, self.sha256, self.role)
        if self.scope:
            s += " scope = [ %s ];" % ", ".join('"%s"' % c for c in self.scope)
        return s + " }"


ADMIN = Token("city-admin", "admin")
VIEWER = Token("city-viewer", "viewer")
NANHU_VIEWER = Token("nanhu-viewer", "viewer", ["220104001"])
HELONG_ADMIN = Token("helong-admin", "admin", ["220183105"])
TOKENS = [ADMIN, VIEWER, NANHU_VIEWER, HELONG_ADMIN]


# ---- roster helpers -------------------------------------------------------

def R(street, sname, comm, cname, grid, bldg, unit, role, rank, name, phone,
      channels=""):
    """One roster row as a tuple of the 12 CSV fields (all strings)."""
    return (street, sname, comm, cname, grid, bldg, unit, role, str(rank),
            name, phone, channels)


NH, NHN = "220104001", "南湖街道"
NHC, NHCN = "220104001001", "南湖社区"
DHC, DHCN = "220104001002", "东湖社区"
HL, HLN = "220183105", "合隆镇"
CJD, CJDN = "220183105201", "陈家店村"
SANZU = "三组"

# Line numbers in a CSV made by to_csv(): header = 1, BASE_ROWS[i] = i + 2.
BASE_ROWS = [
    R(NH, NHN, "", "", "", "", "", "duty_officer", 1, "周军", "13800000010"),
    R(NH, NHN, NHC, NHCN, "", "", "", "duty_officer", 1, "赵强", "13800000009"),
    R(NH, NHN, NHC, NHCN, "G01", "", "", "grid_leader", 1, "张伟", "13800000001"),
    R(NH, NHN, NHC, NHCN, "G01", "", "", "grid_leader", 2, "陈静", "13800000004"),
    R(NH, NHN, NHC, NHCN, "G01", "12", "", "building_leader", 1, "李娜",
      "13800000002"),
    R(NH, NHN, NHC, NHCN, "G01", "12", "3", "unit_leader", 1, "王芳",
      "13800000003", "webhook=https://im.example/h/abc"),
    # one person holding a second post
    R(NH, NHN, NHC, NHCN, "G01", "12", "4", "unit_leader", 1, "李娜",
      "13800000002"),
    R(NH, NHN, DHC, DHCN, "G02", "", "", "grid_leader", 1, "吴磊", "13700000021"),
    R(HL, HLN, CJD, CJDN, SANZU, "", "", "grid_leader", 1, "刘洋", "13900000011"),
    R(HL, HLN, CJD, CJDN, SANZU, "", "", "villager_rep", 1, "孙丽",
      "13900000012", "households=15"),
    R(HL, HLN, CJD, CJDN, SANZU, "", "", "villager_rep", 1, "钱进",
      "15900000013", "households=12"),
]
BASE_PHONES = sorted({r[10] for r in BASE_ROWS})


def to_csv(rows, header=HEADER_LINE, eol="\n"):
    """CSV text for rows; fixtures never need quoting."""
    lines = [header] + [",".join(r) for r in rows]
    return eol.join(lines) + eol


def to_json_items(rows, rank_int=True):
    items = []
    for r in rows:
        d = dict(zip(HEADER, r))
        if rank_int:
            d["rank"] = int(d["rank"])
        items.append(d)
    return items


def parse_csv(text):
    """(header list, sorted list of row tuples) of an exported CSV."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    text = text.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if r]
    assert rows, "empty CSV"
    return rows[0], sorted(tuple(r) for r in rows[1:])


def rows_from_posts(posts):
    """Sorted row tuples from the JSON export's posts."""
    out = []
    for p in posts:
        assert isinstance(p["rank"], int), p
        out.append(tuple("" if p.get(k) is None else str(p[k]) for k in HEADER))
    return sorted(out)


def normalize_phone(p):
    p = re.sub(r"[ -]", "", p)
    for prefix in ("+86", "0086", "86"):
        if p.startswith(prefix) and len(p) == 11 + len(prefix):
            return p[len(prefix):]
    return p


def node_codes(rows):
    """Every node code a set of rows mentions (with ancestors)."""
    codes = set()
    for r in rows:
        codes.add(r[0])
        if not r[2]:
            continue
        path = r[2]
        codes.add(path)
        for seg in r[4:7]:
            if not seg:
                break
            path += "/" + seg
            codes.add(path)
    return codes


def full_phones(text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return PHONE_RE.findall(text)


# ---- HTTP -----------------------------------------------------------------

class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise AssertionError("not JSON (%s): %r" % (e, self.body[:500]))

    def error(self):
        """The error object of an error answer (asserts its shape)."""
        doc = self.json()
        assert isinstance(doc, dict) and isinstance(doc.get("error"), dict), doc
        err = doc["error"]
        assert isinstance(err.get("code"), str) and err["code"], doc
        assert isinstance(err.get("message"), str), doc
        return err

    def __repr__(self):
        return "<HTTP %d %r>" % (self.status, self.body[:600])


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over an AF_UNIX stream socket (the control socket)."""

    def __init__(self, path, timeout=HTTP_TIMEOUT):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.unix_path)
        except OSError:
            s.close()
            raise
        self.sock = s


def do_request(conn, method, path, body=None, headers=None):
    if isinstance(body, str):
        body = body.encode("utf-8")
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return Resp(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


def quote_code(code):
    """A node code as a URL path (Chinese segments percent-encoded)."""
    return urllib.parse.quote(code, safe="/")


# ---- valgrind ---------------------------------------------------------------

# Known noise of the libraries we link (never of our own code), each
# suppression commented with why.
VALGRIND_SUPP = os.path.join(SRCDIR, "tests", "blackbox", "valgrind.supp")
VALGRIND_EXIT = 99	# the exit status valgrind gives a run with errors
_vg_dir = None


def valgrind_argv(log_pattern):
    """The command-line prefix that runs a program under memcheck, writing
    its log to log_pattern (valgrind puts the pid in place of %p).  A
    definite leak counts as an error; the other kinds (the libraries'
    start-up allocations, still reachable at exit) do not."""
    return ["valgrind", "--tool=memcheck",
            "--error-exitcode=%d" % VALGRIND_EXIT,
            "--leak-check=full", "--show-leak-kinds=definite",
            "--errors-for-leak-kinds=definite", "--track-fds=no",
            "--num-callers=30", "--suppressions=" + VALGRIND_SUPP,
            "--log-file=" + log_pattern]


def valgrind_report(path):
    """None when the valgrind log at path shows no error and no definite
    leak, else what is wrong with the log's relevant part."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return "valgrind wrote no log %s" % path
    m = re.search(r"ERROR SUMMARY: ([0-9,]+) errors", text)
    lost = re.search(r"definitely lost: ([0-9,]+) bytes", text)
    nlost = int(lost.group(1).replace(",", "")) if lost else 0
    if m and int(m.group(1).replace(",", "")) == 0 and nlost == 0:
        return None
    why = ("no ERROR SUMMARY (valgrind did not finish)" if not m else
           "%s errors, %d bytes definitely lost" % (m.group(1), nlost))
    body = text
    if len(body) > 12000:
        body = body[:6000] + "\n[...]\n" + body[-6000:]
    return "valgrind: %s (%s):\n%s" % (why, path, body)


def valgrind_dir():
    """A directory for the logs of short-lived commands (one per session)."""
    global _vg_dir
    if _vg_dir is None:
        _vg_dir = tempfile.mkdtemp(prefix="szvg-", dir="/tmp")
    return _vg_dir


def run_tool(argv, name, timeout, **kw):
    """subprocess.run of one of our programs, under valgrind when asked;
    a valgrind report fails the test."""
    if not VALGRIND:
        return subprocess.run(argv, timeout=timeout, **kw)
    pattern = os.path.join(valgrind_dir(), name + ".%p.log")
    data = kw.pop("input", None)
    if data is not None:
        kw["stdin"] = subprocess.PIPE
    if kw.pop("capture_output", False):
        kw["stdout"] = kw["stderr"] = subprocess.PIPE
    with subprocess.Popen(valgrind_argv(pattern) + argv, **kw) as p:
        try:
            out, err = p.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise
    log = pattern.replace("%p", str(p.pid))
    report = valgrind_report(log)
    if report:
        pytest.fail("%s %s\n%s" % (name, " ".join(argv[1:]), report))
    os.unlink(log)
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


# ---- sanzhangctl ----------------------------------------------------------

def run_ctl(args, env=None, input=None, timeout=CTL_TIMEOUT):
    """Run sanzhangctl; returns (rc, stdout, stderr) as text."""
    e = dict(os.environ)
    e.pop("SANZHANG_TOKEN", None)
    e.pop("SANZHANG_SOCKET", None)
    if env:
        e.update(env)
    p = run_tool([SANZHANGCTL] + [str(a) for a in args], "sanzhangctl",
                 timeout, input=input, capture_output=True, env=e)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def run_daemon(args, timeout=CTL_TIMEOUT):
    p = run_tool([SANZHANGD] + [str(a) for a in args], "sanzhangd", timeout,
                 capture_output=True, stdin=subprocess.DEVNULL)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


# ---- the daemon -----------------------------------------------------------

# By default every role is routed to a webhook nobody answers (a closed
# port): sends are retried with backoff, so recipients stay "pending" for
# the length of a test and alert states are predictable.  Tests of the
# fan-out pass their own channels and routing.
HOLD_CHANNELS = (
    'channels = ( { name = "hold"; plugin = "webhook"; '
    'url = "http://127.0.0.1:1/closed"; '
    'secret = "whsec_aG9sZC1ob2xkLWhvbGQtaG9sZA=="; } );\n'
    'routing = { grid_leader = [ "hold" ]; building_leader = [ "hold" ]; '
    'unit_leader = [ "hold" ]; villager_rep = [ "hold" ]; '
    'duty_officer = [ "hold" ]; };')


def config_text(state_dir, port, sock, tokens=TOKENS, extra="",
                log_level="debug", channels=None):
    lines = [
        'state_dir = "%s";' % state_dir,
        'listen = [ "127.0.0.1:%d" ];' % port,
        'control_socket = "%s";' % sock,
        'public_url = "http://127.0.0.1:%d";' % port,
        'log_level = "%s";' % log_level,
        'plugin_dir = "%s";' % PLUGIN_DIR,
        HOLD_CHANNELS if channels is None else channels,
    ]
    if tokens:
        lines.append("tokens = (\n  " +
                     ",\n  ".join(t.conf() for t in tokens) + "\n);")
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


class Daemon:
    """One sanzhangd process with its own temp dir, config and port."""

    def __init__(self, workdir, name="d", state_dir=None, tokens=TOKENS,
                 extra="", log_level="debug", port=None, channels=None,
                 env=None):
        self.workdir = workdir
        self.env = env	# the process environment (None: the tests')
        self.name = name
        self.state_dir = state_dir or os.path.join(workdir, name + "-state")
        os.makedirs(self.state_dir, exist_ok=True)
        self.port = port or free_port()
        self.sock = os.path.join(workdir, name + ".sock")
        self.conf = os.path.join(workdir, name + ".conf")
        self.log_path = os.path.join(workdir, name + ".stderr")
        self.db_path = os.path.join(self.state_dir, "sanzhang.db")
        self.proc = None
        self.rc = None
        self.channels = channels
        self.write_config(tokens=tokens, extra=extra, log_level=log_level)

    def write_config(self, tokens=TOKENS, extra="", log_level="debug"):
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(config_text(self.state_dir, self.port, self.sock,
                                tokens=tokens, extra=extra,
                                log_level=log_level, channels=self.channels))

    # -- process control

    def spawn(self):
        """Start without waiting; the caller decides what to expect."""
        assert self.proc is None or self.proc.poll() is not None
        self.rc = None
        logf = open(self.log_path, "ab")
        try:
            argv = [SANZHANGD, "-f", "-c", self.conf]
            if VALGRIND:
                argv = valgrind_argv(os.path.join(
                    self.workdir, self.name + ".valgrind.%p")) + argv
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=logf,
                                         env=self.env)
        finally:
            logf.close()
        self.vg_checked = False
        return self.proc

    def valgrind_check(self):
        """Under valgrind, fail when the run that just ended had a memory
        error or a definite leak.  A run killed by a signal wrote no
        summary and is not judged."""
        if not VALGRIND or self.vg_checked or self.rc is None:
            return
        self.vg_checked = True
        if self.rc < 0:
            return
        report = valgrind_report(os.path.join(
            self.workdir, "%s.valgrind.%d" % (self.name, self.proc.pid)))
        if report:
            pytest.fail("%s (exit %d): %s" % (self.name, self.rc, report))

    def start(self):
        self.spawn()
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.rc = self.proc.returncode
                pytest.fail("sanzhangd exited with %d during start-up:\n%s" %
                            (self.rc, self.log_tail()))
            try:
                if (self.get("/healthz", token=None).status == 200 and
                        self.unix("GET", "/healthz").status == 200):
                    return self
            except OSError as e:
                last = e
            time.sleep(0.05)
        self.proc.kill()
        self.proc.wait(5)
        pytest.fail("sanzhangd not healthy within %.0f s (%s):\n%s" %
                    (START_TIMEOUT, last, self.log_tail()))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Signal, wait (bounded); SIGKILL and fail when it hangs."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self.rc = self.proc.returncode
                pytest.fail("sanzhangd did not exit within %.0f s of %s:\n%s"
                            % (timeout, signal.Signals(sig).name,
                               self.log_tail()))
        self.rc = self.proc.returncode
        self.valgrind_check()
        return self.rc

    def restart(self):
        rc = self.stop()
        assert rc == 0, "exit %r on SIGTERM:\n%s" % (rc, self.log_tail())
        return self.start()

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=60):
        return "\n".join(self.log().splitlines()[-n:])

    # -- HTTP over TCP and over the control socket

    def request(self, method, path, body=None, token=ADMIN, headers=None,
                content_type=None):
        h = dict(headers or {})
        if token is not None:
            secret = token.secret if isinstance(token, Token) else token
            h["Authorization"] = "Bearer " + secret
        if content_type:
            h["Content-Type"] = content_type
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=HTTP_TIMEOUT)
        return do_request(conn, method, path, body, h)

    def get(self, path, token=ADMIN, **kw):
        return self.request("GET", path, token=token, **kw)

    def unix(self, method, path, body=None, headers=None, content_type=None):
        h = dict(headers or {})
        if content_type:
            h["Content-Type"] = content_type
        return do_request(UnixHTTPConnection(self.sock), method, path, body, h)

    def post_staged(self, path, body, token=ADMIN, content_type="text/csv"):
        """POST that sends the headers, gives the server a moment to answer
        early (as evhttp does for an over-long Content-Length), and only
        then sends the body, so an early 413 is read, not lost to a reset."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=HTTP_TIMEOUT)
        try:
            conn.putrequest("POST", path)
            conn.putheader("Authorization", "Bearer " + token.secret)
            conn.putheader("Content-Type", content_type)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            ready, _, _ = select.select([conn.sock], [], [], scaled(1.0))
            if not ready:
                try:
                    conn.sock.sendall(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass
            r = conn.getresponse()
            return Resp(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    # -- roster conveniences

    def import_csv(self, text, mode="replace", token=ADMIN,
                   content_type="text/csv"):
        return self.request("POST", "/v1/roster?mode=" + mode, body=text,
                            token=token, content_type=content_type)

    def import_json(self, doc, mode="replace", token=ADMIN):
        return self.request("POST", "/v1/roster?mode=" + mode,
                            body=json.dumps(doc, ensure_ascii=False),
                            token=token, content_type="application/json")

    def load(self, rows=BASE_ROWS, mode="replace"):
        r = self.import_csv(to_csv(rows), mode=mode)
        assert r.status == 200, r
        return r.json()

    def export_csv_raw(self, token=ADMIN, query=""):
        r = self.get("/v1/roster.csv" + query, token=token)
        assert r.status == 200, r
        return r

    def export_rows(self, token=ADMIN, query=""):
        """Sorted row tuples of the CSV export (asserts the header)."""
        header, rows = parse_csv(self.export_csv_raw(token, query).body)
        assert header == HEADER
        return rows

    def export_json_rows(self, token=ADMIN, query=""):
        r = self.get("/v1/roster" + query, token=token)
        assert r.status == 200, r
        return rows_from_posts(r.json()["posts"])

    # -- sanzhangctl over the control socket

    def ctl(self, *args, **kw):
        return run_ctl(["--socket", self.sock] + list(args), **kw)

    # -- the audit table, read-only beside the running daemon

    def audit_rows(self):
        con = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True,
                              timeout=5)
        try:
            names = [r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")]
            assert "audit" in names, "no audit table; tables: %r" % names
            return [" | ".join("" if v is None else str(v) for v in row)
                    for row in con.execute("SELECT * FROM audit")]
        finally:
            con.close()

    def wait_audit(self, pred, timeout=5.0):
        """Audit rows matching pred, waiting for the writer thread's commit."""
        deadline = time.monotonic() + scaled(timeout)
        while True:
            hits = [r for r in self.audit_rows() if pred(r)]
            if hits or time.monotonic() > deadline:
                return hits
            time.sleep(0.1)


# ---- fixtures -------------------------------------------------------------

@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def pytest_sessionstart(session):
    for path in (SANZHANGD, SANZHANGCTL):
        if not os.access(path, os.X_OK):
            raise pytest.UsageError("not executable: %s (set SANZHANGD / "
                                    "SANZHANGCTL)" % path)


def pytest_sessionfinish(session):
    # The clean logs of short-lived commands are gone; keep the others.
    if _vg_dir is not None and not os.listdir(_vg_dir):
        os.rmdir(_vg_dir)


class Factory:
    def __init__(self):
        self.workdir = tempfile.mkdtemp(prefix="szbb-", dir="/tmp")
        self.daemons = []

    def __call__(self, start=True, **kw):
        kw.setdefault("name", "d%d" % len(self.daemons))
        d = Daemon(self.workdir, **kw)
        self.daemons.append(d)
        return d.start() if start else d

    def finish(self, failed):
        problems = []
        for d in self.daemons:
            try:
                d.stop()
            except pytest.fail.Exception as e:
                problems.append(str(e))
            log = d.log()
            m = SANITIZER_RE.search(log)
            if m:
                problems.append("%s: sanitizer report in stderr:\n%s" %
                                (d.name, log[max(0, m.start() - 200):][:4000]))
            if failed and log:
                print("---- %s stderr (tail) ----\n%s" % (d.name, d.log_tail()))
        if not failed and not problems:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if problems:
            pytest.fail("\n".join(problems))


def call_failed(request):
    """Whether the test of this fixture request failed (or never ran)."""
    rep = getattr(request.node, "rep_call", None)
    return rep is None or rep.failed


@pytest.fixture
def daemons(request):
    """Factory: daemons(**kw) -> a started Daemon; all stopped at teardown."""
    f = Factory()
    yield f
    f.finish(call_failed(request))


@pytest.fixture
def daemon(daemons):
    return daemons()


@pytest.fixture
def loaded(daemon):
    """A daemon holding BASE_ROWS."""
    daemon.load()
    return daemon


@pytest.fixture(scope="module")
def shared_loaded(request):
    """One daemon holding BASE_ROWS for a module of read-only checks."""
    f = Factory()
    d = f(name="shared")
    d.load()
    yield d
    f.finish(request.session.testsfailed > 0)
