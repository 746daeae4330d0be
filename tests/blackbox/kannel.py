"""
A real Kannel SMS gateway on loopback for black-box tests (Debian 12,
kannel 1.4.5 and kannel-extras).  Standard library only.

    with Kannel(workdir, service_url=DAEMON + "/v1/inbound/sms") as k:
        status, body = k.sendsms(to="13800000001", text="...", coding=2,
                                 charset="UTF-8", **{"from": "10086"})
        msgs = k.wait_received(1)
        k.inject("13800000001", "10086", "收到")

One config file, three processes, all ours: bearerbox (core, one fake SMSC,
internal DLR storage), fakesmsc (the "phones": it prints every MT message
it gets and sends MO replies) and smsbox (sendsms HTTP, sms-service).  Every
port is a free loopback port, so a system Kannel started by the package
(admin 13000, smsbox 13001, wapbox 13002) never collides with ours.

Facts seen with 1.4.5 that callers depend on:
- fakesmsc prints an MT message as
  "Got message N: <FROM TO TYPE DATA>", TYPE "text" (DATA as is), "data"
  (8-bit, URL-encoded), "ucs-2" (UTF-16BE, URL-encoded) or, for a part of
  a concatenated message, "udh UDH data DATA" (both URL-encoded; the coding
  is not shown, see _decode_guess).
- MO replies: interactive fakesmsc reads "FROM TO TYPE DATA" lines on
  stdin (TYPE text, data, ucs2, ...).  smsbox runs with mo-recode = true, so
  a UCS-2 reply reaches get-url as UTF-8 (%a, %b URL-encoded).
"""

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from conftest import free_port, scaled

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"

START_TIMEOUT = 15.0	# seconds for the whole gateway to come up
STOP_TIMEOUT = 5.0	# seconds per process between SIGTERM and SIGKILL
POLL = 0.05

# Appended to a service_url that carries no Kannel escape of its own.
SERVICE_QUERY = "from=%p&to=%P&text=%a"

# fakesmsc reads stdin with fgets() into 256 bytes.
FAKESMSC_LINE_MAX = 254

GOT_RE = re.compile(r"Got message \d+: <(.*)>\s*$")
SENT_RE = re.compile(r"fakesmsc: sent message (\d+)")


def installed():
    """True when bearerbox, smsbox and fakesmsc are all executable."""
    return all(os.access(p, os.X_OK) for p in (BEARERBOX, SMSBOX, FAKESMSC))


def free_ports(n):
    """n distinct free loopback TCP ports (conftest.free_port)."""
    return [free_port() for _ in range(n)]


class KannelError(Exception):
    pass


# ---- fakesmsc lines ---------------------------------------------------------

def _unquote(s):
    return urllib.parse.unquote_to_bytes(s.replace("+", " "))


def _decode_guess(data):
    """
    Text of a message whose coding the line does not say (UDH parts):
    UTF-16BE when it has a NUL byte or is not UTF-8, else UTF-8.  Chinese
    UTF-16BE is practically never valid UTF-8, and ASCII in it has NULs.
    """
    if len(data) % 2 == 0 and data:
        if b"\0" in data:
            return data.decode("utf-16-be", "replace")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("utf-16-be", "replace")
    return data.decode("utf-8", "replace")


def _concat_info(udh):
    """(ref, total, seq) from a concatenation UDH, or None."""
    i = 1
    while i + 1 < len(udh):
        iei, ln = udh[i], udh[i + 1]
        v = udh[i + 2:i + 2 + ln]
        if iei == 0x00 and ln == 3:
            return (v[0], v[1], v[2])
        if iei == 0x08 and ln == 4:
            return ((v[0] << 8) | v[1], v[2], v[3])
        i += 2 + ln
    return None


def parse_line(line):
    """
    One fakesmsc line "FROM TO TYPE ..." -> dict with from, to, type, text
    and, for a UDH part, udh (bytes) and data (bytes).  None if malformed.
    """
    f = line.split(" ", 3)
    if len(f) < 3:
        return None
    sender, receiver, kind = f[0], f[1], f[2]
    rest = f[3] if len(f) > 3 else ""
    m = {"from": sender, "to": receiver, "type": kind}
    if kind == "text":
        m["text"] = rest
    elif kind == "data":
        m["data"] = _unquote(rest)
        m["text"] = m["data"].decode("utf-8", "replace")
    elif kind in ("ucs-2", "ucs2"):
        m["data"] = _unquote(rest)
        m["text"] = m["data"].decode("utf-16-be", "replace")
    elif kind == "udh":
        u = rest.split(" ", 2)
        if len(u) != 3 or u[1] != "data":
            return None
        m["udh"] = _unquote(u[0])
        m["data"] = _unquote(u[2])
        m["text"] = _decode_guess(m["data"])
    else:
        return None
    return m


def assemble(parts):
    """
    Messages from parsed lines, concatenated parts joined (by sender,
    receiver and reference) once all have arrived; incomplete ones are left
    out.  Each message: {from, to, text, parts}.
    """
    out, groups = [], {}
    for m in parts:
        ci = _concat_info(m["udh"]) if "udh" in m else None
        if ci is None:
            out.append({"from": m["from"], "to": m["to"],
                        "text": m["text"], "parts": 1})
            continue
        ref, total, seq = ci
        key = (m["from"], m["to"], ref, total)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"seen": {}, "slot": len(out)}
            out.append(None)
        g["seen"][seq] = m["data"]
        if len(g["seen"]) == total:
            data = b"".join(g["seen"][i] for i in sorted(g["seen"]))
            out[g["slot"]] = {"from": m["from"], "to": m["to"],
                              "text": _decode_guess(data), "parts": total}
            del groups[key]
    return [m for m in out if m is not None]


# ---- the gateway ------------------------------------------------------------

class Kannel:
    """
    Kannel(workdir, dlr_url_base=None, service_url=None, replies=(),
           reply_count=None, reply_interval=0.1, http_request_retry=0)

    dlr_url_base: the sendsms-user's dlr-url, used when a request has a
    dlr-mask but no dlr-url of its own.  service_url: where the default
    sms-service GETs replies (with %p sender, %P receiver, %a text unless
    the URL has escapes of its own); None = swallow replies.  text_back:
    smsbox texts get-url's non-empty answer back to the sender.  replies:
    fakesmsc command-line messages ("FROM TO text ...", sent reply_count
    times, chosen at random if several); without them fakesmsc runs
    interactively and inject() sends replies one by one.
    """

    def __init__(self, workdir, dlr_url_base=None, service_url=None,
                 replies=(), reply_count=None, reply_interval=0.1,
                 http_request_retry=0, name="kannel", text_back=False):
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.name = name
        self.dlr_url_base = dlr_url_base
        self.service_url = service_url
        self.replies = list(replies)
        self.reply_count = reply_count
        self.reply_interval = reply_interval
        self.http_request_retry = http_request_retry
        self.text_back = text_back
        (self.admin_port, self.smsbox_port, self.smsc_port,
         self.sendsms_port) = free_ports(4)
        self.admin_password = secrets.token_hex(8)
        self.username = "sanzhang"
        self.password = secrets.token_hex(8)
        self.conf_path = os.path.join(self.workdir, name + ".conf")
        self.logs = {p: os.path.join(self.workdir, "%s-%s.log" % (name, p))
                     for p in ("bearerbox", "fakesmsc", "smsbox")}
        self.procs = {}
        self._fakesmsc_runs = 0
        self._smsbox_runs = 0
        self._fakesmsc_log_start = 0	# where the current run's log begins
        self._injected = 0	# replies written to the current run
        self.timings = {}

    # -- config ----------------------------------------------------------

    def service_get_url(self):
        if self.service_url is None:
            return None
        if "%" in self.service_url:
            return self.service_url
        sep = "&" if "?" in self.service_url else "?"
        return self.service_url + sep + SERVICE_QUERY

    def config(self):
        def q(v):
            return '"%s"' % str(v).replace("\\", "\\\\").replace('"', '\\"')

        core = [
            ("admin-port", self.admin_port),
            ("admin-interface", q("127.0.0.1")),
            ("admin-password", q(self.admin_password)),
            ("admin-deny-ip", q("*.*.*.*")),
            ("admin-allow-ip", q("127.0.0.1")),
            ("smsbox-port", self.smsbox_port),
            ("box-deny-ip", q("*.*.*.*")),
            ("box-allow-ip", q("127.0.0.1")),
            ("dlr-storage", "internal"),
            ("log-level", 0),
        ]
        smsc = [
            ("smsc", "fake"),
            ("smsc-id", "fake"),
            ("port", self.smsc_port),
            ("our-host", q("127.0.0.1")),
            ("connect-allow-ip", q("127.0.0.1")),
        ]
        smsbox = [
            ("bearerbox-host", q("127.0.0.1")),
            ("sendsms-port", self.sendsms_port),
            ("sendsms-interface", q("127.0.0.1")),
            # UCS-2 replies reach get-url as UTF-8, not as raw UTF-16BE.
            ("mo-recode", "true"),
            ("http-request-retry", self.http_request_retry),
            ("http-queue-delay", 1),
            ("log-level", 0),
        ]
        user = [
            ("username", q(self.username)),
            ("password", q(self.password)),
            ("user-allow-ip", q("127.0.0.1")),
            ("max-messages", 10),
            ("concatenation", "true"),
        ]
        if self.dlr_url_base:
            user.append(("dlr-url", q(self.dlr_url_base)))
        service = [("keyword", "default")]
        url = self.service_get_url()
        if url is None:
            service.append(("text", q("")))
        else:
            service.append(("get-url", q(url)))
        # The HTTP answer goes back to the phone as an SMS only with
        # text_back (and an empty answer never does).
        service.append(("max-messages", 1 if self.text_back else 0))
        service.append(("omit-empty", "true"))
        # The answer's X-Kannel-Coding: 2 makes it UCS-2 (Chinese).
        service.append(("accept-x-kannel-headers", "true"))

        out = []
        for group, items in (("core", core), ("smsc", smsc),
                             ("smsbox", smsbox), ("sendsms-user", user),
                             ("sms-service", service)):
            out.append("group = " + group)
            out.extend("%s = %s" % (k, v) for k, v in items)
            out.append("")
        return "\n".join(out)

    # -- processes -------------------------------------------------------

    def _spawn(self, what, argv, stdin=subprocess.DEVNULL, append=False):
        log = open(self.logs[what], "ab" if append else "wb")
        try:
            p = subprocess.Popen(argv, stdin=stdin, stdout=log,
                                 stderr=subprocess.STDOUT, cwd=self.workdir,
                                 start_new_session=True, close_fds=True)
        finally:
            log.close()
        self.procs[what] = p
        return p

    def _check_alive(self, what):
        p = self.procs.get(what)
        if p is not None and p.poll() is not None:
            raise KannelError("%s exited with %s\n%s" % (
                what, p.returncode, self.log_tail(what)))

    def _wait(self, what, cond, timeout, deadline_msg):
        end = time.monotonic() + scaled(timeout)
        while True:
            for w in list(self.procs):
                self._check_alive(w)
            if cond():
                return
            if time.monotonic() > end:
                raise KannelError("%s within %.1f s\n%s" % (
                    deadline_msg, timeout, self.log_tail(what)))
            time.sleep(POLL)

    def start(self):
        if not installed():
            raise KannelError("kannel or kannel-extras is not installed")
        t0 = time.monotonic()
        end = t0 + START_TIMEOUT
        with open(self.conf_path, "w") as f:
            f.write(self.config())
        try:
            self._spawn("bearerbox", [BEARERBOX, self.conf_path])
            self._wait("bearerbox", lambda: "FAKE:%d" % self.smsc_port
                       in self.status(), end - time.monotonic(),
                       "bearerbox admin status did not list the fake SMSC")
            self.timings["bearerbox"] = time.monotonic() - t0
            self.start_fakesmsc(timeout=end - time.monotonic())
            self.start_smsbox(timeout=end - time.monotonic())
            self.timings["start"] = time.monotonic() - t0
        except BaseException:
            self.stop()
            raise
        return self

    def start_smsbox(self, timeout=10.0):
        """(Re)start smsbox; wait until it is connected and serves sendsms."""
        if self.procs.get("smsbox") is not None:
            self.stop_smsbox()
        self._spawn("smsbox", [SMSBOX, self.conf_path],
                    append=self._smsbox_runs > 0)
        self._smsbox_runs += 1
        self._wait("smsbox", self._smsbox_ready, timeout,
                   "smsbox did not connect and answer on sendsms-port")

    def stop_smsbox(self):
        """
        Take smsbox down: sendsms is refused, and delivery reports and
        replies wait in bearerbox until an smsbox connects again.
        """
        p = self.procs.pop("smsbox", None)
        if p is not None:
            _terminate(p)
        end = time.monotonic() + STOP_TIMEOUT
        while self.procs.get("bearerbox") and time.monotonic() < end:
            if "smsbox:" not in self.status():
                break
            time.sleep(POLL)

    def _smsbox_ready(self):
        if "smsbox:" not in self.status():
            return False
        try:
            urllib.request.urlopen(self.base_url() + "/cgi-bin/sendsms",
                                   timeout=1).close()
        except urllib.error.HTTPError:
            return True	# any HTTP answer (403 without a user) will do
        except OSError:
            return False
        return True

    def start_fakesmsc(self, replies=None, reply_count=None, timeout=10.0):
        """(Re)start fakesmsc and wait until bearerbox sees the SMSC online."""
        if self.procs.get("fakesmsc") is not None:
            self.stop_fakesmsc()
        if replies is not None:
            self.replies = list(replies)
            self.reply_count = reply_count
        argv = [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.smsc_port),
                "-i", str(self.reply_interval)]
        stdin = subprocess.DEVNULL
        if self.replies:
            n = self.reply_count
            argv += ["-m", str(len(self.replies) if n is None else n)]
            argv += self.replies
        else:
            # Interactive: lines on stdin are replies.  The pipe stays
            # open: at EOF fakesmsc would call strlen(NULL).
            stdin = subprocess.PIPE
        log = self.logs["fakesmsc"]
        self._fakesmsc_log_start = (os.path.getsize(log) if
                                    self._fakesmsc_runs and
                                    os.path.exists(log) else 0)
        self._injected = 0
        self._spawn("fakesmsc", argv, stdin=stdin,
                    append=self._fakesmsc_runs > 0)
        self._fakesmsc_runs += 1
        self._wait("fakesmsc", self.smsc_online, timeout,
                   "fake SMSC did not come online")

    def stop_fakesmsc(self):
        """Take the SMSC down; received() keeps what it got so far."""
        p = self.procs.pop("fakesmsc", None)
        if p is not None:
            _terminate(p)
        end = time.monotonic() + STOP_TIMEOUT
        while self.procs.get("bearerbox") and time.monotonic() < end:
            if not self.smsc_online():
                break
            time.sleep(POLL)

    def stop(self):
        """SIGTERM every process (all at once), SIGKILL what is left."""
        t0 = time.monotonic()
        procs = [self.procs.pop(w) for w in ("smsbox", "fakesmsc",
                                              "bearerbox") if w in self.procs]
        for p in procs:
            _signal(p, signal.SIGTERM)
        end = time.monotonic() + STOP_TIMEOUT
        for p in procs:
            try:
                p.wait(max(0.0, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(p, signal.SIGKILL)
                p.wait(STOP_TIMEOUT)
            _close_stdin(p)
        self.timings["stop"] = time.monotonic() - t0

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- HTTP ------------------------------------------------------------

    def base_url(self):
        return "http://127.0.0.1:%d" % self.sendsms_port

    def sendsms_url(self, **params):
        """cgi-bin/sendsms URL with our user and password, plus params."""
        q = [("username", self.username), ("password", self.password)]
        q += [(k.replace("_", "-"), str(v)) for k, v in params.items()]
        return "%s/cgi-bin/sendsms?%s" % (self.base_url(),
                                          urllib.parse.urlencode(q))

    def sendsms(self, timeout=10.0, **params):
        """GET sendsms; returns (status, body text) for any HTTP status."""
        try:
            with urllib.request.urlopen(self.sendsms_url(**params),
                                        timeout=timeout) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def status(self):
        """bearerbox status.txt, or "" if the admin port does not answer."""
        url = "http://127.0.0.1:%d/status.txt?password=%s" % (
            self.admin_port, self.admin_password)
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                return r.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def smsc_online(self):
        for line in self.status().splitlines():
            if "FAKE:%d" % self.smsc_port in line:
                return "(online" in line
        return False

    # -- the phones ------------------------------------------------------

    def inject(self, sender, receiver, text, timeout=5.0):
        """
        A reply from a phone, through interactive fakesmsc: plain "text" for
        printable ASCII, else "ucs2" (UTF-16BE), as a handset sends Chinese.
        Returns once fakesmsc has sent it to bearerbox.
        """
        p = self.procs.get("fakesmsc")
        if p is None or p.stdin is None:
            raise KannelError("fakesmsc is not interactive (replies given)")
        if text.isascii() and text.isprintable() and text.strip() == text:
            line = "%s %s text %s" % (sender, receiver, text)
        else:
            line = "%s %s ucs2 %s" % (sender, receiver, urllib.parse.quote(
                text.encode("utf-16-be"), safe=""))
        if len(line) > FAKESMSC_LINE_MAX or "\n" in text:
            raise ValueError("reply too long for fakesmsc: %d" % len(line))
        p.stdin.write(line.encode("ascii") + b"\n")
        p.stdin.flush()
        self._injected += 1
        # fakesmsc select()s on stdin but reads it with fgets(): a line
        # left in its stdio buffer waits for the next wakeup.  So wait
        # until it says it sent this one, poking meanwhile.
        end = time.monotonic() + scaled(timeout)
        while self._fakesmsc_sent() < self._injected:
            self._check_alive("fakesmsc")
            if time.monotonic() > end:
                raise KannelError("fakesmsc did not send reply %d in %.1f s"
                                  "\n%s" % (self._injected, timeout,
                                            self.log_tail("fakesmsc")))
            time.sleep(POLL)
            self._poke()

    def _fakesmsc_sent(self):
        """How many messages the current fakesmsc run says it sent."""
        with open(self.logs["fakesmsc"], "rb") as f:
            f.seek(self._fakesmsc_log_start)
            raw = f.read().decode("utf-8", "replace")
        nums = [int(n) for n in SENT_RE.findall(raw)]
        return max(nums) if nums else 0

    def _poke(self):
        """
        Interactive fakesmsc prints what it got only between 1 s waits on
        stdin; an empty line (which it ignores) ends the wait at once.
        """
        p = self.procs.get("fakesmsc")
        if p is not None and p.stdin is not None and p.poll() is None:
            try:
                p.stdin.write(b"\n")
                p.stdin.flush()
            except BrokenPipeError:
                pass

    def received_lines(self):
        """Every "Got message" line fakesmsc printed (all runs), parsed."""
        try:
            with open(self.logs["fakesmsc"], "rb") as f:
                raw = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return []
        out = []
        for line in raw.splitlines():
            m = GOT_RE.search(line)
            if m:
                p = parse_line(m.group(1))
                if p is not None:
                    out.append(p)
        return out

    def received(self):
        """Messages the phones got: [{from, to, text, parts}], in order."""
        return assemble(self.received_lines())

    def wait_received(self, n, timeout=10.0, match=None):
        """
        At least n received messages (those match(msg) accepts, if given)
        within timeout, else KannelError.  Returns the matching ones.
        """
        end = time.monotonic() + scaled(timeout)
        while True:
            self._poke()
            got = [m for m in self.received() if match is None or match(m)]
            if len(got) >= n:
                return got
            if time.monotonic() > end:
                raise KannelError("fakesmsc got %d of %d messages in %.1f s:"
                                  " %r\n%s" % (len(got), n, timeout, got,
                                               self.log_tail("fakesmsc")))
            time.sleep(POLL)

    # -- diagnostics -----------------------------------------------------

    def log_tail(self, what, n=40):
        try:
            with open(self.logs[what], "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except FileNotFoundError:
            return "(no %s log)" % what
        return "---- %s (%s) ----\n%s" % (what, self.logs[what],
                                          "\n".join(lines[-n:]))

    def all_logs(self, n=40):
        return "\n".join(self.log_tail(w, n) for w in self.logs)


@contextlib.contextmanager
def running(name, failed, **kw):
    """
    A started Kannel(workdir, name=name, **kw) in a temporary directory of
    its own.  On the way out it is stopped; its directory is removed, or,
    when failed() says the test failed, kept and its logs printed.
    """
    workdir = tempfile.mkdtemp(prefix="szkannel-%s-" % name, dir="/tmp")
    k = Kannel(workdir, name=name, **kw)
    k.start()
    try:
        yield k
    finally:
        k.stop()
        if failed():
            print("---- kannel %s in %s, timings %r\n%s" % (
                name, workdir, k.timings, k.all_logs()))
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _signal(p, sig):
    """Signal p's own process group (start_new_session), children too."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass


def _terminate(p):
    _signal(p, signal.SIGTERM)
    try:
        p.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        _signal(p, signal.SIGKILL)
        p.wait(STOP_TIMEOUT)
    _close_stdin(p)


def _close_stdin(p):
    if p.stdin:
        try:
            p.stdin.close()
        except BrokenPipeError:
            pass
