"""Command-line flags, config checking, the state-dir lock and signals."""

import os
import re
import signal
import time

import pytest

from conftest import (PLUGIN_DIR, START_TIMEOUT, config_text, free_port,
                      run_daemon)


def write(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def base_lines(tmp):
    return [
        'state_dir = "%s";' % tmp,				# 1
        'listen = [ "127.0.0.1:%d" ];' % free_port(),		# 2
        'control_socket = "%s/c.sock";' % tmp,			# 3
        'log_level = "info";',					# 4
    ]


@pytest.fixture
def tmp(daemons):
    return daemons.workdir


def test_version(daemon):
    rc, out, err = run_daemon(["-V"])
    assert rc == 0, (out, err)
    text = out + err
    m = re.search(r"\d+\.\d+\.\d+", text)
    assert m, text
    version = daemon.get("/healthz", token=None).json()["version"]
    assert version in text, (version, text)


def test_check_good_config(tmp):
    conf = os.path.join(tmp, "good.conf")
    with open(conf, "w") as f:
        f.write(config_text(tmp, free_port(), tmp + "/c.sock"))
    rc, out, err = run_daemon(["-t", "-c", conf])
    assert rc == 0, (out, err)
    text = (out + err).lower()
    assert "ok" in text or "valid" in text, (out, err)
    assert "invalid" not in text and "error" not in text, (out, err)


def test_check_syntax_error_names_line(tmp):
    conf = write(os.path.join(tmp, "syntax.conf"),
                 base_lines(tmp) + ['public_url = = "http://x";'])
    rc, out, err = run_daemon(["-t", "-c", conf])
    assert rc != 0
    assert "%s:5:" % conf in err, err


def test_check_unknown_key_names_key_and_line(tmp):
    conf = write(os.path.join(tmp, "unknown.conf"),
                 base_lines(tmp) + ["", "colour_scheme = 1;"])
    rc, out, err = run_daemon(["-t", "-c", conf])
    assert rc != 0
    assert "%s:6:" % conf in err, err
    assert "colour_scheme" in err, err


def test_check_unknown_key_in_token_names_key_and_line(tmp):
    conf = write(os.path.join(tmp, "tokkey.conf"), base_lines(tmp) + [
        "tokens = (",							# 5
        '  { name = "a"; sha256 = "%s"; role = "admin";' % ("0" * 64),	# 6
        "    favourite = 1; }",						# 7
        ");",
    ])
    rc, out, err = run_daemon(["-t", "-c", conf])
    assert rc != 0
    assert "%s:7:" % conf in err, err
    assert "favourite" in err, err


def test_check_wrong_type_names_line(tmp):
    lines = base_lines(tmp)
    lines[1] = "listen = 5;"
    conf = write(os.path.join(tmp, "type.conf"), lines)
    rc, out, err = run_daemon(["-t", "-c", conf])
    assert rc != 0
    assert "%s:2:" % conf in err, err
    assert "listen" in err, err


@pytest.mark.parametrize("secret,why", [
    ("short", "16-128"),
    ("has/slash-and-more-than-16", "A-Z a-z 0-9"),
    ("has space and more than 16", "A-Z a-z 0-9"),
])
def test_check_bad_inbound_secret_names_line(tmp, secret, why):
    conf = write(os.path.join(tmp, "secret.conf"), base_lines(tmp) + [
        "channels = (",							# 5
        '  { name = "f"; plugin = "file"; path = "%s/m.log";' % tmp,	# 6
        '    inbound_secret = "%s"; }' % secret,				# 7
        ");",
    ])
    rc, out, err = run_daemon(["-t", "-c", conf])
    assert rc != 0
    assert "%s:7:" % conf in err, err
    assert "inbound_secret" in err and why in err, err
    assert secret not in err or len(secret) < 6, err


@pytest.mark.parametrize("value", ['"22:00"', '"22:00-22:00"', '"25:00-07:00"',
                                   '"22.00-07.00"', "2200"])
def test_check_bad_quiet_hours_names_line(tmp, value):
    conf = write(os.path.join(tmp, "quiet.conf"),
                 base_lines(tmp) + ["quiet_hours = %s;" % value])	# 5
    rc, out, err = run_daemon(["-t", "-c", conf])
    assert rc != 0
    assert "%s:5:" % conf in err and "quiet_hours" in err, err


@pytest.mark.parametrize("channel,why", [
    ('{ name = "x"; plugin = "nosuch"; }', "nosuch"),
    ('{ name = "x"; plugin = "webhook"; url = "http://127.0.0.1:9/h"; }',
     "secret"),
    ('{ name = "x"; plugin = "webhook"; url = "http://127.0.0.1:9/h"; '
     'secret = "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"; colour = "red"; }',
     "colour"),
])
def test_check_loads_the_plugins(tmp, channel, why):
    """-t (ExecStartPre) refuses what only a plugin can see, as a start would."""
    conf = write(os.path.join(tmp, "plug.conf"), base_lines(tmp) + [
        'plugin_dir = "%s";' % PLUGIN_DIR,				# 5
        "channels = (",							# 6
        "  " + channel,							# 7
        ");",
    ])
    rc, out, err = run_daemon(["-t", "-c", conf])
    assert rc != 0, (out, err)
    assert "%s:7:" % conf in err and why in err, err
    assert "valid" not in out, out


def test_bad_config_refuses_to_start(tmp):
    conf = write(os.path.join(tmp, "bad.conf"),
                 base_lines(tmp) + ["colour_scheme = 1;"])
    rc, out, err = run_daemon(["-f", "-c", conf], timeout=START_TIMEOUT)
    assert rc != 0
    assert "%s:5:" % conf in err, err


def test_second_daemon_same_state_dir_refused(daemons):
    first = daemons(name="first")
    second = daemons(name="second", state_dir=first.state_dir, start=False)
    p = second.spawn()
    try:
        rc = p.wait(START_TIMEOUT)
    except Exception:
        pytest.fail("second daemon on the same state dir kept running:\n" +
                    second.log_tail())
    assert rc != 0
    log = second.log().lower()
    assert "another sanzhangd" in log, log
    assert first.get("/healthz", token=None).status == 200
    assert first.running()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_clean_exit(daemon, sig):
    assert daemon.running()
    t0 = time.monotonic()
    rc = daemon.stop(sig)
    assert rc == 0, daemon.log_tail()
    assert time.monotonic() - t0 < 5
    assert "AddressSanitizer" not in daemon.log()


def test_restart_after_stop_same_state_dir(daemon):
    """The state-dir lock is released on exit: the same dir starts again."""
    daemon.restart()
    assert daemon.get("/healthz", token=None).status == 200
