"""
Power cuts for the black-box tests, with the LD_PRELOAD shim of
tests/powercut/powercut.c: a process started with power_env() keeps, in
a shadow directory, what the disk would hold if the power went off (the
contents of each file as of its last fsync, the directory's entries as of
its last fsync).  power_restore() puts that in place of the files once
the process is dead (SIGKILLed): what a restart after a real power cut
would find.  See powercut.c for the model.

The shim is $SANZHANG_POWERCUT (make check sets it), or the one beside
$SANZHANGD in its build directory (make check builds it).
"""

import os
import shutil
import sqlite3
import tempfile

import pytest

from conftest import SANITIZED, SANZHANGD

SHIM = os.environ.get("SANZHANG_POWERCUT") or os.path.join(
    os.path.dirname(SANZHANGD), "tests", "powercut", ".libs", "powercut.so")


def require_shim():
    """Skip (fail under CI) when the shim was not built.  It runs under
    valgrind (memcheck follows it like the daemon's own code) and under
    ASan (see power_env())."""
    if not os.path.exists(SHIM):
        msg = "no power-cut shim %s (make check builds it)" % SHIM
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


def power_env(state_dir, shadow):
    """The environment of a process whose state_dir is to lose power."""
    env = dict(os.environ)
    env["LD_PRELOAD"] = " ".join(
        p for p in (SHIM, env.get("LD_PRELOAD", "")) if p)
    env["POWERCUT_DIR"] = state_dir
    env["POWERCUT_SHADOW"] = shadow
    if SANITIZED:
        # ASan wants its runtime first in the load order; the shim, not
        # instrumented, may come before it.
        env["ASAN_OPTIONS"] = ":".join(
            p for p in (env.get("ASAN_OPTIONS", ""),
                        "verify_asan_link_order=0") if p)
    return env


def durable_listing(shadow):
    """{name: (image path or None, mode)} of what the disk holds."""
    out = {}
    with open(os.path.join(shadow, "dir"), encoding="utf-8") as f:
        for line in f:
            key, mode, name = line.rstrip("\n").split(" ", 2)
            img = os.path.join(shadow, key)
            out[name] = (img if os.path.exists(img) else None, int(mode, 8))
    return out


def power_restore(state_dir, shadow):
    """
    After the process was killed: every file of state_dir becomes what
    the disk holds (a file never made durable is gone, one whose contents
    never were is empty), and the shadow is dropped, so the next start
    takes the state as it is for durable.  Returns the names restored.
    """
    listing = durable_listing(shadow)
    for name in os.listdir(state_dir):
        path = os.path.join(state_dir, name)
        if os.path.isfile(path) or os.path.islink(path):
            os.unlink(path)
    for name, (img, mode) in listing.items():
        path = os.path.join(state_dir, name)
        if img is None:
            open(path, "wb").close()
        else:
            shutil.copyfile(img, path)
        os.chmod(path, mode)
    shutil.rmtree(shadow)
    return sorted(listing)


def integrity_of_copy(state_dir, db_name="sanzhang.db"):
    """PRAGMA integrity_check of a copy of state_dir's database (with its
    WAL): opening the files themselves would recover and change them."""
    tmp = tempfile.mkdtemp(prefix="szpower-check-", dir="/tmp")
    try:
        for suffix in ("", "-wal"):
            src = os.path.join(state_dir, db_name + suffix)
            if os.path.exists(src):
                shutil.copyfile(src, os.path.join(tmp, db_name + suffix))
        con = sqlite3.connect(os.path.join(tmp, db_name), timeout=10)
        try:
            return [r[0] for r in con.execute("PRAGMA integrity_check")]
        finally:
            con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
