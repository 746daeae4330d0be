"""
Abuse of the HTTP listener gets bounded, clean answers while everyone
else is served: a body over max_body is refused with 413 before it is
read (declared or chunked), a client that dribbles its request is cut
off within http_timeout, and malformed request lines and headers get a
4xx; through all of it /healthz stays fast.
"""

import re
import socket
import threading
import time

import pytest

from conftest import ADMIN, BASE_ROWS, to_csv

MAX_BODY = 65536
TIMEOUT = 2		# http_timeout for these tests, seconds


@pytest.fixture(scope="module")
def abused(request):
    from conftest import Factory
    f = Factory()
    d = f(name="abuse", extra="max_body = %d;\nhttp_timeout = %d;"
          % (MAX_BODY, TIMEOUT))
    d.load()
    yield d
    f.finish(request.session.testsfailed > 0)


def connect(d):
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    return s


def read_answer(s, limit=10.0):
    """Everything the daemon sends until it closes or limit seconds pass."""
    s.settimeout(0.2)
    got = b""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            if got.count(b"\r\n\r\n") and _complete(got):
                break
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        got += chunk
    return got


def _complete(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)content-length:\s*(\d+)", head)
    return m is not None and len(body) >= int(m.group(1))


def status_of(raw):
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", raw)
    return int(m.group(1)) if m else None


def healthz_time(d):
    t = time.monotonic()
    assert d.get("/healthz", token=None).status == 200
    return time.monotonic() - t


def rss_kb(d):
    with open("/proc/%d/status" % d.proc.pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def head(path, length=None, extra=b"", method=b"POST"):
    h = (method + b" " + path + b" HTTP/1.1\r\nHost: x\r\n"
         b"Authorization: Bearer " + ADMIN.secret.encode() + b"\r\n"
         b"Content-Type: text/csv\r\n")
    if length is not None:
        h += b"Content-Length: %d\r\n" % length
    return h + extra + b"\r\n"


# ---- oversized bodies -------------------------------------------------------

def test_declared_huge_body_is_refused_at_once(abused):
    d = abused
    s = connect(d)
    t = time.monotonic()
    s.sendall(head(b"/v1/roster?mode=replace", length=10 ** 12))
    raw = read_answer(s, limit=5)
    s.close()
    assert status_of(raw) == 413, raw[:300]
    assert time.monotonic() - t < 2.0
    assert d.export_rows() == sorted(BASE_ROWS)


def test_chunked_body_over_max_is_cut_off(abused):
    d = abused
    before = rss_kb(d)
    s = connect(d)
    s.sendall(head(b"/v1/roster?mode=replace",
                   extra=b"Transfer-Encoding: chunked\r\n"))
    chunk = b"%x\r\n%s\r\n" % (16384, b"x" * 16384)
    sent = 0
    t = time.monotonic()
    try:
        while sent < 64 * 1024 * 1024 and time.monotonic() - t < 10:
            s.sendall(chunk)
            sent += 16384
    except (BrokenPipeError, ConnectionResetError):
        pass
    raw = read_answer(s, limit=5)
    s.close()
    assert sent < 16 * 1024 * 1024, "the daemon read %d bytes" % sent
    assert raw == b"" or status_of(raw) == 413, raw[:300]
    assert rss_kb(d) - before < 8192, "memory grew by %d kB" % (
        rss_kb(d) - before)
    assert d.export_rows() == sorted(BASE_ROWS)
    assert healthz_time(d) < 0.5


def test_body_shorter_than_declared_times_out(abused):
    d = abused
    s = connect(d)
    t = time.monotonic()
    s.sendall(head(b"/v1/roster?mode=merge", length=1000) + b"x" * 10)
    raw = read_answer(s, limit=TIMEOUT * 3 + 2)
    s.close()
    assert time.monotonic() - t < TIMEOUT * 2 + 1.5, raw
    assert d.export_rows() == sorted(BASE_ROWS)


# ---- slow clients -----------------------------------------------------------

def dribble(d, data, every, stop, result):
    """Send data a byte at a time; result[0] = seconds until cut off."""
    s = connect(d)
    t = time.monotonic()
    try:
        for i in range(len(data)):
            if stop.is_set():
                break
            s.sendall(data[i:i + 1])
            stop.wait(every)
            s.settimeout(0.001)
            try:
                if s.recv(4096) == b"":
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    result.append(time.monotonic() - t)
    s.close()


@pytest.mark.parametrize("what", ["headers", "body"])
def test_slowloris_is_cut_off_within_http_timeout(abused, what):
    d = abused
    if what == "headers":
        data = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
                b"X-Pad: " + b"a" * 400 + b"\r\n\r\n")
    else:
        body = to_csv(BASE_ROWS).encode()
        data = head(b"/v1/roster?mode=merge", length=len(body)) + body
    stop = threading.Event()
    results = []
    threads = [threading.Thread(target=dribble,
                                args=(d, data, 0.3, stop, results))
               for _ in range(20)]
    for t in threads:
        t.start()
    try:
        # Meanwhile everyone else is served at once.
        end = time.monotonic() + TIMEOUT + 1
        while time.monotonic() < end:
            assert healthz_time(d) < 0.5
            time.sleep(0.2)
        for t in threads:
            t.join(TIMEOUT * 2 + 3)
    finally:
        stop.set()
        for t in threads:
            t.join(5)
    assert len(results) == 20
    assert max(results) < TIMEOUT + 1.5, sorted(results)


def test_idle_connection_is_closed(abused):
    s = connect(abused)
    t = time.monotonic()
    assert read_answer(s, limit=TIMEOUT * 3) == b""
    s.close()
    assert time.monotonic() - t < TIMEOUT + 1.5


# ---- malformed requests -----------------------------------------------------

MALFORMED = [
    b"GARBAGE\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
    b"GET /healthz XTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n",
    b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n",
    b"GET /v1/nodes/\x00x HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/roster?under=%zz&%%% HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/nodes/%00 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /v1/roster HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"POST /v1/roster HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"POST /v1/roster HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
    b"Content-Length: 7\r\n\r\nabcde",
    b"POST /v1/roster HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    b"\r\nzz\r\nabc\r\n0\r\n\r\n",
    b"POST /v1/roster HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    b"\r\nffffffffffffffffff\r\nabc\r\n",
    b"BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"DELETE /v1/roster HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET http://evil.example/healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\r\n\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,  # TLS
]


@pytest.mark.parametrize("raw", MALFORMED, ids=lambda r: repr(r[:24]))
def test_malformed_request_gets_4xx_and_the_daemon_serves_on(abused, raw):
    d = abused
    s = connect(d)
    try:
        s.sendall(raw)
    except (BrokenPipeError, ConnectionResetError):
        pass
    got = read_answer(s, limit=TIMEOUT + 2)
    s.close()
    code = status_of(got)
    # An answer, when there is one, is a 4xx (or 200 for what evhttp
    # reads leniently, e.g. an absolute URI; 501 for a method HTTP does not
    # know); never an error of ours.
    # A NUL in a header value ends the value early: harmless, and taken.
    ok = (200, 501) if raw.startswith((b"GET http:", b"BREW")) or \
        b"X-Nul" in raw else ()
    assert code is None or 400 <= code < 500 or code in ok, got[:300]
    assert got == b"" or code is not None, got[:300]
    assert healthz_time(d) < 0.5
    assert d.running()
