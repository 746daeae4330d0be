"""
README's run command, contrib/demo.sh, end to end: the demo roster, a
drill going out (unit leaders by SMS through the demo's own Kannel),
answered by link, by a phoned answer and by an SMS reply, the silent ones
escalated, the drill report written; it stops cleanly on Ctrl-C, Kannel
with it.
"""

import os
import select
import signal
import subprocess
import time

from conftest import SANZHANGD, SRCDIR, free_port


def test_demo_runs_the_whole_loop(tmp_path):
    env = dict(os.environ, BUILD_DIR=os.path.dirname(SANZHANGD),
               DEMO_STATE=str(tmp_path / "state"), DEMO_PORT=str(free_port()))
    p = subprocess.Popen(["/bin/sh", os.path.join(SRCDIR, "contrib",
                                                  "demo.sh")],
                         env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    out = b""
    try:
        end = time.monotonic() + 90
        while b"Press Ctrl-C" not in out:
            assert time.monotonic() < end, out.decode(errors="replace")
            assert p.poll() is None, out.decode(errors="replace")
            r, _, _ = select.select([p.stdout], [], [], 1.0)
            if r:
                out += os.read(p.stdout.fileno(), 65536)
        text = out.decode()
        assert "answers: 收到 3, 已通知到户 1, 需要支援 0" in text, text
        for want in ("== leaders answer", "POST 303", "recorded",
                     "answers the SMS with", "answered A1 with 1 by SMS",
                     "step 1 resend: fired", "step 2 notify_parent: fired",
                     "step 3 notify_duty: fired", "叫应提醒", "未叫醒名单",
                     "grid,recipients,reached,acked"):
            assert want in text, (want, text)
        with open(tmp_path / "state" / "drill-report.html",
                  encoding="utf-8") as f:
            assert "未回复人员" in f.read()
        # The unit leaders' phones got the drill, marked, from Kannel.
        with open(tmp_path / "state" / "kannel" / "phones.log",
                  encoding="utf-8") as f:
            sms = [line.split("\t") for line in f.read().splitlines()]
        assert len(sms) >= 6, sms
        assert all(t.startswith("【演练】") for _, t in sms), sms
        os.killpg(p.pid, signal.SIGINT)
        assert p.wait(timeout=20) == 0
        assert not ours_running(str(tmp_path)), "Kannel outlived the demo"
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def ours_running(mark):
    """Pids of processes whose command line mentions mark."""
    pids = []
    for d in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if mark.encode() in f.read():
                    pids.append(int(d))
        except (OSError, ValueError):
            pass
    return pids
