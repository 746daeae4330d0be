"""
Faults below HTTP for the loopback fakes of the SMS providers
(fake_aliyun.py, fake_tencent.py), standard library only: a listener that
can go away (connections refused, open ones closed) and come back on the
same port, and answers that are not what the provider would give.

A fault, decided per request, is one of:

    None                      the provider's own answer
    http_error(500, {...})    a bare HTTP error page instead (a proxy's or
                              a load balancer's), with those headers
    RESET                     the request is read, then the connection is
                              reset (RST), with no answer
    HANG                      the request is read and nothing is answered
                              until the client gives up and closes
    drip(seconds[, answer])   the provider's own answer (or the fake's
                              answer named), one byte every `seconds`

and a fake may take other values as answers of its own (a provider's
error code).  Plan turns {phone: [fault of its 1st request, 2nd, ...]}
into the per-request decision.
"""

import http.client
import http.server
import socket
import struct
import threading
import time

from conftest import free_port

RESET = ("reset",)
HANG = ("hang",)
HANG_MAX = 60.0		# a hang ends by itself after this many seconds
KINDS = ("http", "reset", "hang", "drip")


def http_error(status, headers=None):
    return ("http", status, dict(headers or {}))


def drip(seconds, answer=None):
    return ("drip", seconds, answer)


def is_fault(f):
    """Whether f is one of the faults above (not a fake's own answer)."""
    return isinstance(f, tuple) and bool(f) and f[0] in KINDS


def replaces_answer(f):
    """Whether f takes the place of the provider's answer (all but drip)."""
    return is_fault(f) and f[0] != "drip"


def answer_of(f):
    """The fake's own answer f names (a drip's, or f itself), or None."""
    if is_fault(f):
        return f[2] if f[0] == "drip" else None
    return f


def describe(f):
    """A short name: "ok", "http 500", "reset", "drip", "drip limit"..."""
    if f is None:
        return "ok"
    if not is_fault(f):
        return str(f)
    if f[0] == "http":
        return "http %d" % f[1]
    if f[0] == "drip" and f[2] is not None:
        return "drip %s" % f[2]
    return f[0]


class Plan:
    """
    Faults by phone number: {number: [fault of its first request, of its
    second, ...]}; later requests, and numbers not in the plan, get None.
    A request for several numbers counts for each and takes the fault of
    the first one planned.  Calls come from the fake's handler threads.
    """

    def __init__(self, plan):
        self.plan = {k: list(v) for k, v in plan.items()}
        self.tries = {}
        self.lock = threading.Lock()

    def __call__(self, numbers):
        out, found = None, False
        with self.lock:
            for n in numbers:
                k = self.tries.get(n, 0)
                self.tries[n] = k + 1
                steps = self.plan.get(n)
                if steps is not None and not found:
                    found = True
                    out = steps[k] if k < len(steps) else None
        return out


# ---- answering ------------------------------------------------------------

def _raw(h, status, headers, body):
    lines = ["%s %d %s" % (h.protocol_version, status,
                           http.client.responses.get(status, "Status"))]
    lines += ["%s: %s" % kv for kv in headers.items()]
    lines.append("Content-Length: %d" % len(body))
    if h.close_connection:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _reset(h):
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
    # The RST goes out when the handler's last reference closes.
    h.connection.close()


def _hang(h):
    c = h.connection
    c.settimeout(1.0)
    end = time.monotonic() + HANG_MAX
    while time.monotonic() < end:
        try:
            if not c.recv(4096):
                return		# the client gave up
        except socket.timeout:
            continue
        except OSError:
            return


def _drip(h, out, seconds):
    try:
        for i in range(len(out)):
            h.connection.sendall(out[i:i + 1])
            time.sleep(seconds)
    except OSError:
        pass			# the client gave up first


def respond(h, status, headers, body, fault=None):
    """
    Answer on handler h (a BaseHTTPRequestHandler that has read the
    request) with status, headers (a dict) and body (bytes), as fault
    says.  A faulty answer also ends the connection.
    """
    if fault is not None:
        h.close_connection = True
    kind = fault[0] if fault is not None else None
    if kind == "http":
        page = ("<html><body><h1>%d %s</h1></body></html>" % (
            fault[1], http.client.responses.get(fault[1], ""))).encode()
        hdr = {"Content-Type": "text/html"}
        hdr.update(fault[2])
        h.wfile.write(_raw(h, fault[1], hdr, page))
    elif kind == "reset":
        _reset(h)
    elif kind == "hang":
        _hang(h)
    elif kind == "drip":
        _drip(h, _raw(h, status, headers, body), fault[1])
    else:
        h.wfile.write(_raw(h, status, headers, body))


# ---- a listener that can go away --------------------------------------------

class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, conns):
        self.conns = conns
        super().__init__(addr, handler)

    def process_request(self, request, client_address):
        with self.conns[0]:
            self.conns[1].add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.conns[0]:
            self.conns[1].discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        pass		# a client that timed out or went away mid-answer


class Listener:
    """
    A threading HTTP server for handler on a loopback port.  away() stops
    listening (new connections are refused) and closes the open ones,
    kept-alive included; back() listens on the same port again.
    """

    def __init__(self, handler):
        self.handler = handler
        # Not port 0: the port must stay free while away (free_port).
        self.port = free_port()
        self.server = None
        self.thread = None
        self.conns = (threading.Lock(), set())
        self.back()

    def back(self):
        assert self.server is None
        self.server = _Server(("127.0.0.1", self.port), self.handler,
                              self.conns)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def away(self):
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self.server = None
        with self.conns[0]:
            open_now = list(self.conns[1])
        for c in open_now:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    stop = away
