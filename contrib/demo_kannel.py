#!/usr/bin/python3
"""
demo_kannel.py - the demo's SMS gateway: a real Kannel on loopback
(bearerbox, smsbox, and fakesmsc playing the leaders' phones), started
with the test suite's harness (tests/blackbox/kannel.py).

    demo_kannel.py DIR SERVICE_URL

SERVICE_URL is where smsbox sends the phones' replies (the daemon's
/v1/inbound/CHANNEL/SECRET).  Once Kannel is up it writes DIR/kannel.env
(KANNEL_URL, KANNEL_USER, KANNEL_PASS, for the daemon's sms_kannel
channel), then until SIGTERM or SIGINT:
  - every SMS a phone receives is appended to DIR/phones.log as
    "TO<TAB>TEXT" (one line per message, concatenated parts joined);
  - every line "FROM TO TEXT" written to the FIFO DIR/reply is sent as a
    reply from phone FROM to the gateway's number TO.
Exits 1 with the reason when Kannel is missing or does not start.
"""

import os
import select
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "blackbox"))
import kannel  # noqa: E402  (the path is set just above)

POLL_S = 0.2


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: demo_kannel.py DIR SERVICE_URL\n")
        return 2
    workdir, service_url = sys.argv[1], sys.argv[2]
    if not kannel.installed():
        sys.stderr.write("demo_kannel.py: Kannel is not installed "
                         "(run contrib/deps.sh)\n")
        return 1
    os.makedirs(workdir, exist_ok=True)
    fifo = os.path.join(workdir, "reply")
    if not os.path.exists(fifo):
        os.mkfifo(fifo, 0o600)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))

    k = kannel.Kannel(workdir, service_url=service_url, text_back=True,
                      name="demo")
    try:
        k.start()
    except kannel.KannelError as e:
        sys.stderr.write("demo_kannel.py: Kannel did not start: %s\n" % e)
        return 1
    try:
        env = os.path.join(workdir, "kannel.env")
        with open(env + ".tmp", "w") as f:
            f.write("KANNEL_URL=%s/cgi-bin/sendsms\nKANNEL_USER=%s\n"
                    "KANNEL_PASS=%s\n" % (k.base_url(), k.username,
                                          k.password))
        os.replace(env + ".tmp", env)
        serve(k, fifo, os.path.join(workdir, "phones.log"), stopping)
    finally:
        k.stop()
    return 0


def serve(k, fifo, phones_log, stopping):
    # Read and write: the FIFO never reaches EOF when a writer closes.
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    pending = b""
    shown = 0
    with open(phones_log, "a", encoding="utf-8") as out:
        while not stopping:
            try:
                ready, _, _ = select.select([fd], [], [], POLL_S)
            except InterruptedError:
                continue
            if ready:
                pending += os.read(fd, 4096)
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    reply(k, line.decode("utf-8", "replace"))
            got = k.wait_received(0)
            for m in got[shown:]:
                out.write("%s\t%s\n" % (m["to"], m["text"].replace("\n", " ")))
            out.flush()
            shown = len(got)
    os.close(fd)


def reply(k, line):
    parts = line.strip().split(None, 2)
    if len(parts) != 3:
        if line.strip():
            sys.stderr.write("demo_kannel.py: ignored %r: want FROM TO TEXT\n"
                             % line)
        return
    try:
        k.inject(*parts)
    except (kannel.KannelError, ValueError) as e:
        sys.stderr.write("demo_kannel.py: reply not sent: %s\n" % e)


if __name__ == "__main__":
    sys.exit(main())
