"""
The daemon under systemd: its service unit (filled in the way make fills
it) passes systemd-analyze verify and has a low exposure score, and the
daemon speaks sd_notify to a NOTIFY_SOCKET the test listens on: READY=1
once it serves, WATCHDOG=1 at half of WATCHDOG_USEC, STATUS= with the
queue, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on SIGTERM.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import SANZHANGD, SRCDIR, scaled

UNIT_IN = os.path.join(SRCDIR, "contrib", "systemd", "sanzhangd.service.in")
# The exposure systemd-analyze security may report at most ("OK" is < 4).
MAX_EXPOSURE = 2.5


def need(tool):
    if shutil.which(tool) is None:
        if os.environ.get("CI"):
            pytest.fail(tool + " not found")
        pytest.skip(tool + " not found")


def filled_unit(tmp_path):
    """The unit as make writes it, with this build's daemon."""
    text = open(UNIT_IN, encoding="utf-8").read()
    text = (text.replace("@sbindir@", os.path.dirname(SANZHANGD))
            .replace("@sysconfdir@", str(tmp_path)))
    assert not re.search(r"@[a-z]+@", text), "an unfilled @VAR@"
    path = tmp_path / "sanzhangd.service"
    path.write_text(text, encoding="utf-8")
    return path


def test_service_unit_verifies(tmp_path):
    need("systemd-analyze")
    unit = filled_unit(tmp_path)
    p = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                       capture_output=True, text=True, timeout=60,
                       cwd=tmp_path)
    assert p.returncode == 0 and p.stderr.strip() == "", p.stderr
    text = unit.read_text(encoding="utf-8")
    for want in ("Type=notify", "NotifyAccess=main", "WatchdogSec=",
                 "Restart=on-failure", "ExecStartPre=%s -t" % SANZHANGD,
                 "ExecReload=/bin/kill -HUP $MAINPID", "StateDirectory=",
                 "RuntimeDirectory=", "ConfigurationDirectory=",
                 "ProtectSystem=strict", "NoNewPrivileges=yes",
                 "PrivateTmp=yes", "PrivateDevices=yes",
                 "ProtectKernelTunables=yes", "ProtectKernelModules=yes",
                 "RestrictAddressFamilies=", "CapabilityBoundingSet=\n",
                 "SystemCallFilter=@system-service"):
        assert want in text, want


def test_service_unit_exposure(tmp_path):
    need("systemd-analyze")
    unit = filled_unit(tmp_path)
    p = subprocess.run(["systemd-analyze", "security", "--offline=true",
                        "--no-pager", str(unit)], capture_output=True,
                       text=True, timeout=60, cwd=tmp_path)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", p.stdout)
    assert m, p.stdout + p.stderr
    score = float(m.group(1))
    print("systemd-analyze security: exposure %.1f" % score)
    assert score <= MAX_EXPOSURE, p.stdout


class Notify:
    """The service manager's end: a datagram socket NOTIFY_SOCKET names."""

    def __init__(self, path):
        self.path = path
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(path)
        self.got = []	# (monotonic time, {key: value})

    def read(self, timeout):
        self.s.settimeout(timeout)
        try:
            data = self.s.recv(4096).decode("utf-8", "replace")
        except socket.timeout:
            return None
        msg = dict(line.split("=", 1) for line in data.splitlines()
                   if "=" in line)
        self.got.append((time.monotonic(), msg))
        return msg

    def wait_for(self, key, value=None, timeout=10.0):
        end = time.monotonic() + scaled(timeout)
        while time.monotonic() < end:
            msg = self.read(max(0.01, end - time.monotonic()))
            if msg and key in msg and (value is None or msg[key] == value):
                return msg
        pytest.fail("no %s=%s within %.0f s; got %r" % (
            key, value or "*", timeout, [m for _, m in self.got]))

    def close(self):
        self.s.close()


def built_with_notify():
    out = subprocess.run([SANZHANGD, "-V"], capture_output=True, text=True,
                         timeout=10).stdout
    return "sd_notify: yes" in out


@pytest.mark.timing		# the watchdog's beats, by the clock
def test_notify_protocol(daemons, tmp_path):
    if not built_with_notify():
        if os.environ.get("CI"):
            pytest.fail("sanzhangd was built without sd_notify under CI")
        pytest.skip("built without libsystemd")
    n = Notify(str(tmp_path / "notify.sock"))
    env = dict(os.environ, NOTIFY_SOCKET=n.path, WATCHDOG_USEC="400000")
    try:
        d = daemons(start=False, env=env)
        d.spawn()
        msg = n.wait_for("READY", "1")
        # READY means serving: the API answers at once.
        assert d.get("/healthz", token=None).status == 200
        assert msg.get("STATUS", "").startswith("serving")
        # Keep-alives at half of WATCHDOG_USEC (200 ms), with the status.
        t0 = time.monotonic()
        beats = 0
        while time.monotonic() - t0 < 1.2:
            m = n.read(0.5)
            if m and m.get("WATCHDOG") == "1":
                beats += 1
        assert 3 <= beats <= 9, beats
        assert any("queued" in m.get("STATUS", "") for _, m in n.got), n.got
        # A reload: RELOADING=1, then READY=1 again.
        d.proc.send_signal(signal.SIGHUP)
        n.wait_for("RELOADING", "1")
        n.wait_for("READY", "1")
        assert d.get("/healthz", token=None).status == 200
        # A stop: STOPPING=1, then a clean exit.
        d.proc.send_signal(signal.SIGTERM)
        n.wait_for("STOPPING", "1")
        assert d.proc.wait(10) == 0
    finally:
        n.close()


def test_no_notify_socket_no_messages(daemons, tmp_path):
    """Without NOTIFY_SOCKET nothing is sent and nothing breaks."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    d = daemons(env=env)
    assert d.get("/healthz", token=None).status == 200
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    assert d.get("/healthz", token=None).status == 200
