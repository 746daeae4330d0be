#!/usr/bin/python3
"""
kannel_bench.py - one run of the Kannel benchmark (bench/kannel.sh drives it).

    kannel_bench.py roster --recipients N --out FILE
    kannel_bench.py run --sanzhangd PATH --plugin-dir DIR --roster FILE
                        --recipients N --mode batch|single --workdir DIR
                        [--batch N] [--rate R] [--concurrency K]
                        [--dlr-mask M] [--kannel-log-level L]
                        [--timeout S] [--pidfile FILE]

`roster` writes N unit leaders of one community (南湖社区), each with a
distinct 11-digit mainland mobile number 13xxxxxxxxx, in the CSV format of
DESIGN.md.

`run` starts a real Kannel on loopback through tests/blackbox/kannel.py
(bearerbox, smsbox, fakesmsc as the phones), a fresh sanzhangd with one
sms_kannel channel, imports the roster over the control socket, posts one
drill to everyone and watches fakesmsc's output until every message has
arrived.  It prints one JSON object on stdout:

  recipients, sms_parts    from the 201 answer
  t201                     seconds from the POST to the 201
  span, rate               first to last message fakesmsc printed (s, msgs/s)
  post_span, post_rate     POST to the last message (s, msgs/s)
  lines, lines_rate        SMS parts fakesmsc printed, parts/s over span
  requests, messages       /healthz "requests"/"messages" deltas (sms channel)
  accepted, retried, failed  the same for those counters
  per_request              messages / requests
  smsbox_requests          sendsms requests smsbox logged (log level 0 only)
  inflight_max, inflight_mean  of the channel, /healthz sampled every 50 ms
  fakesmsc_rate            fakesmsc's own received msgs/s (parts) at SIGINT
  dlr_mask, delivered, dlr_span  delivery reports: recipients delivered,
                           seconds from the POST until all were (null if
                           not in time or none asked)
  received, distinct, drill_marked  checks on what the phones got (whole
                           messages, distinct numbers, texts with 【演练】)
  peak_rss_mb              the daemon's VmHWM
  cpu                      cores each process used from the POST to the
                           last message: sanzhangd, bearerbox, smsbox,
                           fakesmsc, kannel_bench (this script) and others
                           (the rest of the machine)

The last message is the one that brought the last new number: a number
sent twice counts once, and the extra sends show as messages > recipients
and received > distinct.

Modes: `batch` uses a drill template without a per-recipient placeholder
("【演练】{title}：{body} 回复1确认"), so every text is the same and the
plugin puts up to --batch numbers in one sendsms request; `single` keeps
the default templates, whose ack link ({url}) differs per recipient, so
each request carries one number.

No full phone number is printed: the checks report counts only.  Every
process started here is stopped on exit, on SIGTERM, SIGINT and SIGHUP too.
Standard library only; run it with /usr/bin/python3.
"""

import argparse
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "blackbox"))
import kannel  # noqa: E402  (the path is set just above)

STREET, STREET_NAME = "220104001", "南湖街道"
COMMUNITY, COMMUNITY_NAME = "220104001001", "南湖社区"
HEADER = ("street_code,street_name,community_code,community_name,grid,"
          "building,unit,role,rank,name,phone,channels")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂"
SMS_FROM = "10690000"
TITLE = "消防疏散演练"
BODY = "11月30日10:00开展消防疏散演练，请单元长组织本单元居民参加。"
BATCH_TEMPLATE = "【演练】{title}：{body} 回复1确认"
DRILL_MARK = "【演练】"
ROLES = ("grid_leader", "building_leader", "unit_leader", "villager_rep",
         "duty_officer")

START_TIMEOUT = 20.0	# daemon: until /healthz answers
STOP_TIMEOUT = 10.0	# daemon: SIGTERM, then SIGKILL
HTTP_TIMEOUT = 120.0	# one API request (the roster import, the alert)
POLL = 0.005		# fakesmsc log polling
SAMPLE = 0.05		# /healthz sampling during the run
QUIET = 0.5		# after the last message: duplicates or strays?


class Stop(Exception):
    pass


def _on_signal(signum, frame):
    raise Stop("signal %d" % signum)


# ---- roster -------------------------------------------------------------------

def phone(i):
    """The i-th phone: 13 and nine digits, a bijection of i below 10^9."""
    return "13%09d" % ((i * 48271 + 2718281) % 1000000000)


def write_roster(n, path):
    """n unit leaders: 5 units a building, 100 buildings a grid."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(HEADER + "\n")
        for i in range(n):
            grid, rest = divmod(i, 500)
            building, unit = divmod(rest, 5)
            name = SURNAMES[i % len(SURNAMES)] + \
                GIVEN[(i // len(SURNAMES)) % len(GIVEN)]
            f.write("%s,%s,%s,%s,G%02d,%d,%d,unit_leader,1,%s,%s,\n" % (
                STREET, STREET_NAME, COMMUNITY, COMMUNITY_NAME, grid + 1,
                building + 1, unit + 1, name, phone(i)))


# ---- the daemon ---------------------------------------------------------------

class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


def call(sock, method, path, body=None, ctype=None, timeout=HTTP_TIMEOUT):
    """(status, bytes) of one request over the control socket."""
    c = UnixHTTPConnection(sock, timeout)
    try:
        headers = {}
        if ctype:
            headers["Content-Type"] = ctype
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def health(port, timeout=5.0):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", "/healthz")
        r = c.getresponse()
        return json.loads(r.read())
    finally:
        c.close()


def channel(doc, name="sms"):
    for ch in doc.get("channels", []):
        if ch.get("name") == name:
            return ch
    raise RuntimeError("/healthz has no channel %r: %r" % (name, doc))


def daemon_config(a, dport, sock, gw):
    chan = ('{ name = "sms"; plugin = "sms_kannel"; rate = %s; '
            'concurrency = %d; batch = %d;\n'
            '  url = "%s/cgi-bin/sendsms"; username = "%s"; password = "%s";'
            ' from = "%s"; dlr_mask = %d; }'
            % (repr(float(a.rate)), a.concurrency, a.batch, gw.base_url(),
               gw.username, gw.password, SMS_FROM, a.dlr_mask))
    lines = [
        'state_dir = "%s";' % os.path.join(a.workdir, "state"),
        'listen = [ "127.0.0.1:%d" ];' % dport,
        'control_socket = "%s";' % sock,
        'public_url = "http://127.0.0.1:%d";' % dport,
        'log_level = "warn";',
        'plugin_dir = "%s";' % os.path.abspath(a.plugin_dir),
        "channels = ( %s );" % chan,
        "routing = { %s };" % " ".join('%s = [ "sms" ];' % r for r in ROLES),
    ]
    if a.mode == "batch":
        lines.append('templates = { drill = "%s"; };' % BATCH_TEMPLATE)
    return "\n".join(lines) + "\n"


class Daemon:
    def __init__(self, path, conf, log):
        self.path, self.conf, self.log = path, conf, log
        self.proc = None

    def start(self, port, pidfile):
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([self.path, "-f", "-c", self.conf],
                                         stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log,
                                         start_new_session=True)
        note_pid(pidfile, self.proc.pid)
        end = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("sanzhangd exited with %s:\n%s" % (
                    self.proc.returncode, tail(self.log)))
            try:
                health(port, timeout=1.0)
                return
            except (OSError, ValueError, http.client.HTTPException):
                pass
            if time.monotonic() > end:
                raise RuntimeError("sanzhangd: no /healthz in %.0f s\n%s" % (
                    START_TIMEOUT, tail(self.log)))
            time.sleep(0.05)

    def rss_mb(self):
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) // 1024
        except OSError:
            pass
        return None

    def stop(self):
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            print("kannel_bench: sanzhangd ignored SIGTERM for %.0f s, "
                  "SIGKILL" % STOP_TIMEOUT, file=sys.stderr)
            p.kill()
            p.wait(STOP_TIMEOUT)


def note_pid(pidfile, pid):
    """Append a pid for the driver's last-resort cleanup."""
    if pidfile:
        with open(pidfile, "a") as f:
            f.write("%d\n" % pid)


def tail(path, n=20):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return "(no log %s)" % path
    # The daemon never logs a full phone number; Kannel's logs do.
    return "\n".join(kannel_mask(ln) for ln in lines[-n:])


def kannel_mask(s):
    """s with every full mainland mobile number masked (138****0001)."""
    return re.sub(r"(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])",
                  r"\1****\2", s)


# ---- Kannel -------------------------------------------------------------------

class BenchKannel(kannel.Kannel):
    """The harness's Kannel, with a chosen log level for both boxes."""

    log_level = 0

    def config(self):
        text = super().config()
        return text.replace("log-level = 0", "log-level = %d" % self.log_level)


class Watcher(threading.Thread):
    """
    Follows fakesmsc's log: how many "Got message" lines (SMS parts) it has
    printed, how many whole messages (a plain line, or the last part of a
    concatenated one), to how many distinct numbers, when the first came
    and when the last new number came.  A number sent twice counts once.
    """

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.lines = 0
        self.messages = 0
        self.seen = set()
        self.first = None
        self.last = None	# when the last new number came
        self.done = threading.Event()
        self.error = None

    @property
    def distinct(self):
        return len(self.seen)

    def run(self):
        try:
            self._run()
        except Exception as e:	# reported by the main thread
            self.error = e

    def _run(self):
        buf = b""
        with open(self.path, "rb") as f:
            f.seek(0, os.SEEK_END)	# only what comes from now on
            while not self.done.is_set():
                chunk = f.read(1 << 20)
                if not chunk:
                    time.sleep(POLL)
                    continue
                now = time.time()
                buf += chunk
                cut = buf.rfind(b"\n")
                if cut < 0:
                    continue
                done, buf = buf[:cut + 1], buf[cut + 1:]
                seen = len(self.seen)
                for ln in done.split(b"\n"):
                    i = ln.find(b"Got message ")
                    if i < 0:
                        continue
                    self.lines += 1
                    to = self._whole(ln[i:])
                    if to is not None:
                        self.messages += 1
                        self.seen.add(to)
                if self.lines and self.first is None:
                    self.first = now
                if len(self.seen) > seen:
                    self.last = now

    @staticmethod
    def _whole(ln):
        """The receiver if the line ends a message, else None."""
        s = ln.decode("ascii", "replace")
        lt, gt = s.find("<"), s.rfind(">")
        m = kannel.parse_line(s[lt + 1:gt]) if 0 <= lt < gt else None
        if m is None:
            return None
        if "udh" in m:
            ci = kannel._concat_info(m["udh"])
            if ci is not None and ci[2] != ci[1]:
                return None
        return m["to"]


def cpu_seconds(pid):
    """User plus system CPU seconds of a process so far, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Self:
    pid = os.getpid()


def machine_busy():
    """CPU seconds the whole machine has been busy (all cores), or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def cpu_shares(c0, c1, secs):
    """Cores each process used between two cpu_all() readings."""
    out = {k: (round((c1[k] - c0[k]) / secs, 2) if c0[k] is not None and
               c1[k] is not None else None) for k in c0}
    machine = out.pop("machine")
    if machine is not None and None not in out.values():
        out["others"] = round(max(0.0, machine - sum(out.values())), 2)
    return out


def cpu_all(procs):
    out = {name: cpu_seconds(p.pid) for name, p in procs.items()}
    out["machine"] = machine_busy()
    return out


class Sampler(threading.Thread):
    """The channel's in_flight from /healthz every SAMPLE seconds."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.samples = []
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(SAMPLE):
            try:
                self.samples.append(channel(health(self.port))["in_flight"])
            except (OSError, ValueError, KeyError, RuntimeError,
                    http.client.HTTPException):
                pass


def sendsms_logged(gw):
    """sendsms requests smsbox has logged so far (it does at log level 0)."""
    with open(gw.logs["smsbox"], "rb") as f:
        return f.read().count(b"Got HTTP request </cgi-bin/sendsms>")


def fakesmsc_summary(gw):
    """fakesmsc's own received msgs/s (parts), after a SIGINT; or None."""
    p = gw.procs.get("fakesmsc")
    if p is None or p.poll() is not None:
        return None
    p.send_signal(signal.SIGINT)
    try:
        p.wait(3.0)
    except subprocess.TimeoutExpired:
        return None
    with open(gw.logs["fakesmsc"], "rb") as f:
        text = f.read().decode("utf-8", "replace")
    for ln in reversed(text.splitlines()):
        if "from first to last received message" in ln:
            try:
                return float(ln.rsplit(",", 1)[1].split()[0])
            except (IndexError, ValueError):
                return None
    return None


# ---- one run ------------------------------------------------------------------

def run(a):
    os.makedirs(a.workdir, exist_ok=True)
    note_pid(a.pidfile, os.getpid())
    sock = os.path.join(a.workdir, "c.sock")
    for _ in range(10):	# Kannel picks its four ports itself: none ours
        dport = kannel.free_ports(1)[0]
        gw = BenchKannel(
            os.path.join(a.workdir, "kannel"),
            service_url="http://127.0.0.1:%d/v1/inbound/sms" % dport,
            # Non-interactive, sending nothing: fakesmsc then blocks on
            # its SMSC connection alone.  Interactive, it would read that
            # connection once a second between 1 s waits on stdin.
            replies=["10086 %s text 1" % SMS_FROM], reply_count=0,
            name="bench")
        if dport not in (gw.admin_port, gw.smsbox_port, gw.smsc_port,
                         gw.sendsms_port):
            break
    gw.log_level = a.kannel_log_level
    d = None
    watcher = sampler = None
    try:
        gw.start()
        for p in gw.procs.values():
            note_pid(a.pidfile, p.pid)
        conf = os.path.join(a.workdir, "d.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(daemon_config(a, dport, sock, gw))
        d = Daemon(a.sanzhangd, conf, os.path.join(a.workdir, "d.log"))
        d.start(dport, a.pidfile)

        with open(a.roster, "rb") as f:
            csv = f.read()
        st, body = call(sock, "POST", "/v1/roster?mode=replace", csv,
                        "text/csv")
        if st != 200:
            raise RuntimeError("roster import: %d %s" % (st, body[:300]))

        before = channel(health(dport))
        sendsms_before = (sendsms_logged(gw) if a.kannel_log_level == 0
                          else None)
        watcher = Watcher(gw.logs["fakesmsc"])
        watcher.start()
        sampler = Sampler(dport)
        procs = dict(gw.procs, sanzhangd=d.proc)
        procs["kannel_bench"] = Self()
        alert = {"kind": "drill", "severity": "yellow", "title": TITLE,
                 "body": BODY, "targets": [COMMUNITY],
                 "roles": ["unit_leader"]}
        cpu0 = cpu_all(procs)
        t0 = time.time()
        st, body = call(sock, "POST", "/v1/alerts",
                        json.dumps(alert, ensure_ascii=False).encode(),
                        "application/json")
        t1 = time.time()
        sampler.start()
        if st != 201:
            raise RuntimeError("POST /v1/alerts: %d %s" % (st, body[:300]))
        doc = json.loads(body)
        n, aid = doc["recipients"], doc["id"]
        if n != a.recipients:
            raise RuntimeError("the alert reached %d recipients, not %d" % (
                n, a.recipients))

        # Every message at the phones, within the timeout.
        end = t0 + a.timeout
        while watcher.distinct < n:
            if watcher.error is not None:
                raise watcher.error
            for w in list(gw.procs):
                gw._check_alive(w)
            if d.proc.poll() is not None:
                raise RuntimeError("sanzhangd exited with %s\n%s" % (
                    d.proc.returncode, tail(d.log)))
            if time.time() > end:
                ch = channel(health(dport))
                raise RuntimeError(
                    "fakesmsc got %d of %d numbers (%d lines) in %.0f s;"
                    " channel: %r" % (watcher.distinct, n, watcher.lines,
                                      a.timeout, ch))
            time.sleep(0.02)
        first, last = watcher.first, watcher.last
        cpu1 = cpu_all(procs)
        sampler.done.set()

        # Delivery reports: all delivered, within the same timeout.
        delivered, dlr_span = 0, None
        if a.dlr_mask & 1:
            while time.time() < end:
                st, body = call(sock, "GET", "/v1/alerts/%d" % aid,
                                timeout=10.0)
                if st == 200:
                    c = json.loads(body)["counts"]
                    delivered = c.get("delivered", 0) + c.get("acked", 0)
                    if delivered >= n:
                        dlr_span = time.time() - t0
                        break
                time.sleep(0.1)

        time.sleep(QUIET)
        after = channel(health(dport))
        watcher.done.set()
        watcher.join(5.0)
        lines_total = watcher.lines
        sampler.join(5.0)
        fs_rate = fakesmsc_summary(gw)

        got = kannel.assemble(gw.received_lines())
        to = {m["to"] for m in got}
        smsbox_requests = None
        if sendsms_before is not None:
            smsbox_requests = sendsms_logged(gw) - sendsms_before

        def delta(k):
            return after[k] - before[k]

        span = max(last - first, 1e-6)
        s = sampler.samples
        return {
            "mode": a.mode, "recipients": n,
            "sms_parts": doc.get("sms_parts"),
            "t201": t1 - t0,
            "span": span, "rate": n / span,
            "post_span": last - t0, "post_rate": n / (last - t0),
            "lines": lines_total, "lines_rate": lines_total / span,
            "requests": delta("requests"), "messages": delta("messages"),
            "accepted": delta("accepted"), "retried": delta("retried"),
            "failed": delta("failed"),
            "per_request": (delta("messages") / delta("requests")
                            if delta("requests") else None),
            "smsbox_requests": smsbox_requests,
            "inflight_max": max(s) if s else None,
            "inflight_mean": sum(s) / len(s) if s else None,
            "fakesmsc_rate": fs_rate,
            "dlr_mask": a.dlr_mask,
            "delivered": delivered, "dlr_span": dlr_span,
            "received": len(got), "distinct": len(to),
            "drill_marked": sum(1 for m in got
                                if m["text"].startswith(DRILL_MARK)),
            "peak_rss_mb": d.rss_mb(),
            # Share of one core each process used from the POST to the
            # last message (1.0 = a whole core).
            # "others": the machine's busy time less ours (other work on
            # a shared machine; kernel threads and softirqs count too).
            "cpu": cpu_shares(cpu0, cpu1, last - t0),
        }
    finally:
        for t in (watcher, sampler):
            if t is not None:
                t.done.set()
        if d is not None:
            d.stop()
        gw.stop()


def main(argv):
    p = argparse.ArgumentParser(prog="kannel_bench.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("roster")
    r.add_argument("--recipients", type=int, required=True)
    r.add_argument("--out", required=True)
    b = sub.add_parser("run")
    b.add_argument("--sanzhangd", required=True)
    b.add_argument("--plugin-dir", required=True)
    b.add_argument("--roster", required=True)
    b.add_argument("--recipients", type=int, required=True)
    b.add_argument("--mode", choices=("batch", "single"), required=True)
    b.add_argument("--workdir", required=True)
    b.add_argument("--batch", type=int, default=100)
    b.add_argument("--rate", type=float, default=0.0)
    b.add_argument("--concurrency", type=int, default=64)
    b.add_argument("--dlr-mask", type=int, default=31)
    b.add_argument("--kannel-log-level", type=int, default=0)
    b.add_argument("--timeout", type=float, default=300.0)
    b.add_argument("--pidfile")
    a = p.parse_args(argv)
    if a.cmd == "roster":
        if not 1 <= a.recipients <= 1000000:
            p.error("--recipients must be 1-1000000")
        write_roster(a.recipients, a.out)
        return 0
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    if not kannel.installed():
        print("kannel_bench: kannel or kannel-extras is not installed",
              file=sys.stderr)
        return 2
    try:
        res = run(a)
    except Stop as e:
        print("kannel_bench: stopped (%s)" % e, file=sys.stderr)
        return 1
    except (RuntimeError, OSError, kannel.KannelError,
            http.client.HTTPException, ValueError, KeyError) as e:
        print("kannel_bench: %s" % kannel_mask(str(e)), file=sys.stderr)
        return 1
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
