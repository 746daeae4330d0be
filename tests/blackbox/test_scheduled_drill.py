"""
Scheduled drills run by systemd: the template units verify, the timer's
calendar is valid, and the unit's own command starts the example drill
against a real daemon, once per day however often it is triggered.
"""

import os
import re
import shutil
import subprocess

import pytest

from conftest import SANZHANGCTL, SRCDIR

UNITS = os.path.join(SRCDIR, "contrib", "systemd")
EXAMPLE = os.path.join(SRCDIR, "etc", "drills", "monthly-fire-drill.json")


def need(tool):
    if shutil.which(tool) is None:
        if os.environ.get("CI"):
            pytest.fail(tool + " not found")
        pytest.skip(tool + " not found")


def test_units_verify(tmp_path):
    need("systemd-analyze")
    for suffix in ("service", "timer"):
        shutil.copy(os.path.join(UNITS, "sanzhang-drill@." + suffix),
                    tmp_path / ("sanzhang-drill@fire." + suffix))
    # The daemon's own unit is another issue's; a stand-in for Requires=.
    (tmp_path / "sanzhangd.service").write_text(
        "[Unit]\nDescription=stand-in\n[Service]\nExecStart=/bin/true\n")
    p = subprocess.run(["systemd-analyze", "verify",
                        str(tmp_path / "sanzhang-drill@fire.service"),
                        str(tmp_path / "sanzhang-drill@fire.timer")],
                       capture_output=True, text=True, timeout=60,
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    timer = (tmp_path / "sanzhang-drill@fire.timer").read_text()
    cal = re.search(r"^OnCalendar=(.+)$", timer, re.M).group(1)
    p = subprocess.run(["systemd-analyze", "calendar", cal],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "Next elapse" in p.stdout, p.stderr


def test_the_units_command_starts_the_drill_once_a_day(daemons, tmp_path):
    d = daemons()
    with open(os.path.join(SRCDIR, "etc", "demo-roster.csv"),
              encoding="utf-8") as f:
        assert d.import_csv(f.read()).status == 200
    unit = open(os.path.join(UNITS, "sanzhang-drill@.service"),
                encoding="utf-8").read()
    cmd = re.search(r"^ExecStart=/bin/sh -c '(.+)'$", unit, re.M).group(1)
    # As systemd would run it for sanzhang-drill@monthly-fire-drill, with
    # this build's sanzhangctl and the example file from the tree.
    cmd = (cmd.replace("%%", "%").replace("%i", "monthly-fire-drill")
           .replace("/etc/sanzhang/drills/monthly-fire-drill.json", EXAMPLE)
           .replace("exec sanzhangctl", "exec " + SANZHANGCTL))
    env = dict(os.environ, SANZHANG_SOCKET=d.sock)
    first = subprocess.run(["/bin/sh", "-c", cmd], env=env,
                           capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert re.search(r"alert A\w+ \(id \d+\): drill", first.stdout), first
    again = subprocess.run(["/bin/sh", "-c", cmd], env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    r = d.get("/v1/alerts")
    assert r.status == 200
    assert len(r.json()["alerts"]) == 1, r.json()
