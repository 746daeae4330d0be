"""
systemd as PID 1 of a private PID, mount, cgroup, UTS and IPC namespace,
for tests that run a unit under a real service manager on a machine (or
a CI container) that has no systemd running.

Nothing of the machine is touched: /etc, /var and /usr/local become
overlays whose upper layers are on a tmpfs that dies with the namespace;
/run, /tmp and /sys/fs/cgroup (a cgroup2 rooted at a cgroup made for the
test) are private; /proc/sys and /sys are read-only; PID 1's console is a
file of the work directory.  Only the units of the work directory exist
(SYSTEMD_UNIT_PATH) and no generator runs.  The network namespace is the
machine's, so a test reaches a service's TCP port and a service reaches
the test's loopback servers directly.

systemctl talks to PID 1 over its private socket (/run/systemd/private,
no D-Bus), run in the namespace with nsenter.  kill() ends the namespace
(SIGKILL to its PID 1 takes every process with it), waits for it and
removes the cgroup.

It needs root with CAP_SYS_ADMIN, systemd, util-linux (unshare, nsenter,
setpriv), overlayfs and a writable cgroup2 hierarchy: the Debian 12
containers we build and test in have them all (cgroup2 at
/sys/fs/cgroup/unified beside the v1 hierarchies).  check_preconditions()
skips a test that lacks one and says which, and under CI (env CI set)
fails it instead, because CI runs in that kind of container.
"""

import os
import re
import signal
import shutil
import subprocess
import time

import pytest

from conftest import free_port

SYSTEMD = "/lib/systemd/systemd"
CMD_TIMEOUT = 20	# seconds for any one command in the namespace
BOOT_TIMEOUT = 15	# seconds for the private systemd to be running

# Run by unshare as the namespace's PID 1 before it becomes systemd; $1 is
# the test's work directory.  Every mount lands in the new mount namespace.
NS_SETUP = r"""
set -eu
W=$1
mount --make-rprivate /
mount -t tmpfs -o mode=0700 sz-scratch "$W/scratch"
for d in etc var usr/local; do
    n=$(echo "$d" | tr / _)
    mkdir "$W/scratch/$n.up" "$W/scratch/$n.work"
    mount -t overlay overlay \
        -o "lowerdir=/$d,upperdir=$W/scratch/$n.up,workdir=$W/scratch/$n.work" \
        "/$d"
done
mount -o bind,ro /proc/sys /proc/sys
mount -o remount,bind,ro /sys
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir /run/sanzhang-test
mount --bind "$W/boot" /run/sanzhang-test
mount --bind "$W/console.log" /dev/console
mount -t tmpfs -o mode=1777 tmpfs /tmp
export container=sanzhang-test
export SYSTEMD_UNIT_PATH=/run/sanzhang-test/units
export SYSTEMD_GENERATOR_PATH=/run/sanzhang-test/none
export SYSTEMD_ENVIRONMENT_GENERATOR_PATH=/run/sanzhang-test/none
exec {systemd} --system --unit=sanzhang-test.target \
    --log-target=journal --log-level=debug
"""

# The units of the private boot: empty targets for the default
# dependencies, journald (for journalctl), and what the test installs.
BOOT_UNITS = {
    "sanzhang-test.target": "[Unit]\nDescription=sanzhang test boot\n"
                            "Wants=systemd-journald.socket "
                            "systemd-journald.service\n",
    "systemd-journald.socket": """[Unit]
DefaultDependencies=no
[Socket]
ListenDatagram=/run/systemd/journal/socket
ListenStream=/run/systemd/journal/stdout
PassCredentials=yes
PassSecurity=yes
SocketMode=0666
Service=systemd-journald.service
""",
    "systemd-journald.service": """[Unit]
DefaultDependencies=no
Requires=systemd-journald.socket
After=systemd-journald.socket
[Service]
Type=notify
ExecStart=/lib/systemd/systemd-journald
Sockets=systemd-journald.socket
RuntimeDirectory=systemd/journal
RuntimeDirectoryPreserve=yes
StandardOutput=null
FileDescriptorStoreMax=4224
""",
}
for _t in ("sysinit", "basic", "sockets", "paths", "timers", "slices",
           "local-fs", "shutdown", "network-online"):
    BOOT_UNITS[_t + ".target"] = "[Unit]\nDescription=%s\n" % _t


def unavailable(why):
    if os.environ.get("CI"):
        pytest.fail("cannot boot a private systemd under CI: " + why)
    pytest.skip("cannot boot a private systemd here: " + why)


def cgroup2_base():
    """The directory of this process's cgroup in a cgroup2 mount, or None."""
    mount = None
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] == "cgroup2" and fields[3] == "/":
                mount = fields[4]
                break
    if mount is None:
        return None
    with open("/proc/self/cgroup", encoding="utf-8") as f:
        for line in f:
            if line.startswith("0::"):
                return os.path.join(mount, line[3:].strip().lstrip("/"))
    return None


def check_preconditions():
    if os.geteuid() != 0:
        unavailable("not root")
    with open("/proc/self/status", encoding="utf-8") as f:
        capeff = int(re.search(r"CapEff:\s*([0-9a-f]+)", f.read()).group(1),
                     16)
    if not capeff & (1 << 21):
        unavailable("no CAP_SYS_ADMIN")
    for tool in ("unshare", "nsenter", "setpriv", "systemd-sysusers"):
        if shutil.which(tool) is None:
            unavailable(tool + " not found")
    if not os.access(SYSTEMD, os.X_OK):
        unavailable(SYSTEMD + " not found")
    with open("/proc/filesystems", encoding="utf-8") as f:
        if "overlay" not in f.read():
            unavailable("no overlayfs")
    base = cgroup2_base()
    if base is None or not os.access(base, os.W_OK):
        unavailable("no writable cgroup2 hierarchy")
    if not os.path.exists("/dev/console"):
        unavailable("no /dev/console to bind PID 1's console over")
    return base


class PrivateSystemd:
    """systemd as PID 1 of its own namespaces, and ways to reach inside."""

    def __init__(self, workdir, cgroup_base):
        self.workdir = workdir
        self.cgroup = os.path.join(cgroup_base,
                                   "sanzhang-test-%d" % os.getpid())
        self.units = os.path.join(workdir, "boot", "units")
        self.proc = None	# unshare, in our PID namespace
        self.pid1 = None	# its child: systemd, PID 1 inside
        self.port = free_port()	# the daemon's API (same network namespace)

    def boot(self):
        for d in ("scratch", "boot/units", "boot/none"):
            os.makedirs(os.path.join(self.workdir, d))
        open(os.path.join(self.workdir, "console.log"), "w").close()
        for name, text in BOOT_UNITS.items():
            self.write_unit(name, text)
        os.mkdir(self.cgroup)
        script = NS_SETUP.replace("{systemd}", SYSTEMD)
        # The shell moves itself into the test's cgroup, then unshare
        # makes that the root of the new cgroup namespace.
        cmd = ('echo $$ > "%s/cgroup.procs" && exec unshare --cgroup --pid '
               '--fork --mount --uts --ipc --mount-proc sh -c "$0" setup "$1"'
               % self.cgroup)
        log = open(os.path.join(self.workdir, "boot.log"), "wb")
        try:
            self.proc = subprocess.Popen(
                ["sh", "-c", cmd, script, self.workdir],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True)
        finally:
            log.close()
        end = time.monotonic() + BOOT_TIMEOUT
        state = None
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                pytest.fail("the namespace's PID 1 exited with %d:\n%s" % (
                    self.proc.returncode, self.diagnostics()))
            if self.pid1 is None:
                self.pid1 = self.find_pid1()
            elif os.path.exists(self.path("/run/systemd/private")):
                state = self.run(["systemctl", "is-system-running"],
                                 check=False).stdout.strip()
                if state in ("running", "degraded"):
                    assert state == "running", self.status_text()
                    return self
            time.sleep(0.1)
        pytest.fail("the private systemd is not running within %d s "
                    "(state %r):\n%s" % (BOOT_TIMEOUT, state,
                                         self.diagnostics()))

    def find_pid1(self):
        try:
            with open("/proc/%d/task/%d/children" % (
                    self.proc.pid, self.proc.pid)) as f:
                kids = f.read().split()
            if not kids:
                return None
            with open("/proc/%s/comm" % kids[0]) as f:
                return int(kids[0]) if f.read().strip() == "systemd" else None
        except OSError:
            return None

    def path(self, p):
        """A path inside the namespace, as this process can open it."""
        return "/proc/%d/root%s" % (self.pid1, p)

    def write_unit(self, name, text):
        with open(os.path.join(self.units, name), "w", encoding="utf-8") as f:
            f.write(text)

    def run(self, argv, check=True, input=None, timeout=CMD_TIMEOUT):
        """argv run in the namespace (its mounts and PIDs), as root."""
        p = subprocess.run(["nsenter", "-t", str(self.pid1), "-m", "-p",
                            "--"] + argv, input=input, capture_output=True,
                           text=True, timeout=timeout)
        if check:
            assert p.returncode == 0, "%s: exit %d\n%s%s\n%s" % (
                " ".join(argv), p.returncode, p.stdout, p.stderr,
                self.diagnostics())
        return p

    def systemctl(self, *args, check=True):
        return self.run(["systemctl", "--no-pager"] + list(args),
                        check=check)

    def show(self, unit, *props):
        out = self.systemctl("show", unit,
                             "-p", ",".join(props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines()
                    if "=" in line)

    def journal(self, *args):
        return self.run(["journalctl", "--no-pager", "-o", "short-monotonic"]
                        + list(args), check=False).stdout

    def status_text(self):
        return self.systemctl("status", "--all", check=False).stdout

    def diagnostics(self):
        out = []
        for name in ("boot.log", "console.log"):
            try:
                with open(os.path.join(self.workdir, name),
                          encoding="utf-8", errors="replace") as f:
                    out.append("---- %s ----\n%s" % (name, f.read()[-4000:]))
            except OSError:
                pass
        return "\n".join(out)

    def kill(self):
        """End every process of the namespace; remove its cgroup."""
        if self.proc is not None and self.proc.poll() is None:
            pid1 = self.pid1 or self.find_pid1()
            if pid1:
                os.kill(pid1, signal.SIGKILL)
            else:
                os.killpg(self.proc.pid, signal.SIGKILL)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        end = time.monotonic() + 5
        while os.path.isdir(self.cgroup):
            for top, dirs, _ in os.walk(self.cgroup, topdown=False):
                try:
                    os.rmdir(top)
                except OSError:
                    pass
            if time.monotonic() > end:
                break
            time.sleep(0.05)
        assert not os.path.isdir(self.cgroup), "cgroup left: " + self.cgroup


