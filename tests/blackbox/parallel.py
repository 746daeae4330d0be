"""
Running the black-box tests in parallel (pytest-xdist, `-n N`; see
tests/blackbox.sh): every test starts its own daemons, gateways and
browsers on free ports in its own temporary directories, so tests share
nothing but the machine.

Sharing the machine is what a few tests cannot do with just any other:
they bound latencies or intervals of the daemon by the wall clock (e.g.
/healthz p99 under 100 ms while a gateway misbehaves, a retry 3.75 to
6.25 s after a failure), and a neighbour that takes the CPU just then
(a 3,000-person fan-out, a browser) breaks the bound, not the daemon.
Those are marked timing (@pytest.mark.timing, or pytestmark in their
module).  tests/blackbox.sh runs them after all the others, in a second
pytest run; they are light, mostly waiting for the daemon's timers, so
they run beside each other.

free_port() gives the ports of the listeners the tests start (daemons,
Kannel, Alertmanager): see there.  conftest.py imports this module's hook
and free_port.
"""

import os
import random
import socket


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "timing: bounds the daemon's timing by the wall clock; "
        "tests/blackbox.sh runs it apart from the others")


# ---- ports ------------------------------------------------------------------

# A port taken by binding port 0 comes from the kernel's ephemeral range,
# and once closed, the kernel may give it to any outgoing connection (or
# another bind to port 0) before the listener it was meant for binds it:
# with tests in parallel, each making thousands of connections, that
# happens (bearerbox: "Could not open smsbox port").  So the ports come
# from below the ephemeral range, which the kernel never hands out by
# itself; each xdist worker has its own slice of it, walked from a random
# place (another run may share the machine), skipping any port in use.
PORT_LOW = 10000
_ports = None		# [first, count, next offset] of this process's slice


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _port_slice():
    span = _ephemeral_low() - PORT_LOW
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:]
    index = int(worker) if worker.isdigit() else 0
    count = span // max(workers, 1)
    if count < 100:
        return None	# an odd ip_local_port_range: let the kernel choose
    return [PORT_LOW + (index % workers) * count, count,
            random.randrange(count)]


def _bindable(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port():
    """A loopback TCP port that nothing uses now, for a listener to come."""
    global _ports
    if _ports is None:
        _ports = _port_slice() or [0, 0, 0]
    first, count, _ = _ports
    for _ in range(count):
        port = first + _ports[2] % count
        _ports[2] += 1
        if _bindable(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
