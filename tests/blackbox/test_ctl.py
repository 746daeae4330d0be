"""sanzhangctl end to end: over the control socket and over --url/--token,
its output, and its exit codes (0 ok, 1 failed, 2 usage, 3 unreachable)."""

import hashlib
import json
import os
import re

import pytest

from conftest import (ADMIN, BASE_PHONES, BASE_ROWS, HEADER, NHC, VIEWER,
                      full_phones, free_port, parse_csv, rows_from_posts,
                      run_ctl, to_csv, NH)


def write(d, name, text):
    path = os.path.join(d.workdir, name)
    with open(path, "wb") as f:
        f.write(text.encode() if isinstance(text, str) else text)
    return path


def test_health(daemon):
    rc, out, err = daemon.ctl("health")
    assert rc == 0, err
    assert "ok" in out.lower(), out


def test_import_export_round_trip(daemon):
    path = write(daemon, "roster.csv", to_csv(BASE_ROWS))
    rc, out, err = daemon.ctl("roster", "import", path, "--replace")
    assert rc == 0, err
    assert re.search(r"\b%d\b" % len(BASE_ROWS), out), out
    rc, out, err = daemon.ctl("roster", "export")
    assert rc == 0, err
    header, rows = parse_csv(out)
    assert header == HEADER
    assert rows == sorted(BASE_ROWS)
    # -o FILE, the same bytes as the HTTP export
    dest = os.path.join(daemon.workdir, "out.csv")
    rc, out, err = daemon.ctl("roster", "export", "-o", dest)
    assert rc == 0, err
    with open(dest, "rb") as f:
        data = f.read()
    assert data == daemon.export_csv_raw().body
    # json
    rc, out, err = daemon.ctl("roster", "export", "--format", "json")
    assert rc == 0, err
    doc = json.loads(out)
    posts = doc["posts"] if isinstance(doc, dict) else doc
    assert rows_from_posts(posts) == sorted(BASE_ROWS)
    # --under
    rc, out, err = daemon.ctl("roster", "export", "--under", NHC)
    assert rc == 0, err
    assert parse_csv(out)[1] == sorted(r for r in BASE_ROWS if r[2] == NHC)


@pytest.mark.parametrize("fmt", ["csv", "json", "html"])
def test_public_export(loaded, fmt):
    rc, out, err = loaded.ctl("roster", "export", "--public", "--format", fmt)
    assert rc == 0, err
    assert out.strip()
    assert full_phones(out) == []
    for p in BASE_PHONES:
        assert p[:3] + "****" + p[-4:] in out, p
    if fmt == "html":
        assert "<html" in out.lower()


def test_html_export_is_public_even_without_flag(loaded):
    rc, out, err = loaded.ctl("roster", "export", "--format", "html")
    assert rc == 0, err
    assert full_phones(out) == []


def test_import_without_replace_merges(loaded):
    row = list(BASE_ROWS[2])
    row[9] = "张伟伟"
    path = write(loaded, "one.csv", to_csv([tuple(row)]))
    rc, out, err = loaded.ctl("roster", "import", path)
    assert rc == 0, err
    expect = [r for r in BASE_ROWS if r != BASE_ROWS[2]] + [tuple(row)]
    assert loaded.export_rows() == sorted(expect)
    # and --replace with the same file leaves only it
    rc, out, err = loaded.ctl("roster", "import", path, "--replace")
    assert rc == 0, err
    assert loaded.export_rows() == [tuple(row)]


def test_import_invalid(loaded):
    before = loaded.export_rows()
    text = to_csv(BASE_ROWS).replace("13800000001", "12800000001")
    text = text.replace(",villager_rep,1,钱进", ",villager_rep,5,钱进")
    path = write(loaded, "bad.csv", text)
    for extra in ([], ["--replace"]):
        rc, out, err = loaded.ctl("roster", "import", path, *extra)
        assert rc == 1, (rc, out, err)
        lines = err.splitlines()
        assert lines[0].startswith(
            "sanzhangctl: roster import failed: 400 invalid_roster: "), err
        named = [int(m.group(1)) for m in
                 (re.match(r"^  line (\d+): \S", l) for l in lines[1:]) if m]
        assert sorted(named) == [4, 12], err
    assert loaded.export_rows() == before


def test_import_missing_file(loaded):
    rc, out, err = loaded.ctl("roster", "import",
                              os.path.join(loaded.workdir, "nonexistent.csv"))
    assert rc not in (0, 3), (rc, err)
    assert err.startswith("sanzhangctl:"), err


def test_show(loaded):
    rc, out, err = loaded.ctl("roster", "show", NHC + "/G01")
    assert rc == 0, err
    for s in ("G01", "张伟", "陈静"):
        assert s in out, (s, out)
    assert "12" in out  # the building child
    rc, out, err = loaded.ctl("roster", "show", "220183105201/三组")
    assert rc == 0, err
    for s in ("刘洋", "孙丽", "钱进"):
        assert s in out, (s, out)


def test_show_unknown(loaded):
    rc, out, err = loaded.ctl("roster", "show", NHC + "/G99")
    assert rc not in (0, 2, 3), (rc, out, err)
    assert err.startswith("sanzhangctl:"), err
    assert "404" in err.splitlines()[0], err


def test_unreachable_exit_3(daemons):
    tmp = daemons.workdir
    rc, out, err = run_ctl(["--socket", os.path.join(tmp, "none.sock"),
                            "health"])
    assert rc == 3, (rc, err)
    assert err.startswith("sanzhangctl:"), err
    rc, out, err = run_ctl(["--url", "http://127.0.0.1:%d" % free_port(),
                            "--token", "x", "roster", "export"])
    assert rc == 3, (rc, err)
    assert err.startswith("sanzhangctl:"), err


@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["roster"],
    ["roster", "frobnicate"],
    ["roster", "import"],
    ["roster", "export", "--format", "xml"],
    ["token", "new", "--name", "x"],
    ["token", "new", "--role", "viewer"],
    ["--no-such-option", "health"],
])
def test_usage_exit_2(daemon, args):
    rc, out, err = daemon.ctl(*args)
    assert rc == 2, (args, rc, out, err)
    assert err.strip(), "usage errors say something on stderr"


def test_url_and_token(loaded):
    url = "http://127.0.0.1:%d" % loaded.port
    rc, out, err = run_ctl(["--url", url, "--token", ADMIN.secret,
                            "roster", "export"])
    assert rc == 0, err
    assert parse_csv(out)[1] == sorted(BASE_ROWS)
    rc, out, err = run_ctl(["--url", url, "roster", "export"],
                           env={"SANZHANG_TOKEN": VIEWER.secret})
    assert rc == 0, err
    assert parse_csv(out)[1] == sorted(BASE_ROWS)
    # a wrong token: the first line says what failed
    rc2, out2, err2 = run_ctl(["--url", url, "--token", "wrong",
                               "roster", "export"])
    assert rc2 == 1, (rc2, err2)
    assert err2.startswith("sanzhangctl:") and "401" in err2.splitlines()[0], err2
    # a viewer cannot import
    path = write(loaded, "r.csv", to_csv(BASE_ROWS[:2]))
    rc, out, err = run_ctl(["--url", url, "--token", VIEWER.secret,
                            "roster", "import", path])
    assert rc == 1, (rc, err)
    first = err.splitlines()[0]
    assert first.startswith("sanzhangctl: roster import failed: 403"), err
    assert "forbidden" in first, err
    assert loaded.export_rows() == sorted(BASE_ROWS)


def test_token_new(daemons):
    rc, out, err = run_ctl(["token", "new", "--name", "chaoyang-viewer",
                            "--role", "viewer", "--scope", NH,
                            "--scope", "220183105201"])
    assert rc == 0, err
    m = re.search(r'sha256\s*=\s*"([0-9a-f]{64})"', out)
    assert m, out
    digest = m.group(1)
    words = set()
    for w in re.findall(r"[A-Za-z0-9_+/=.~:-]{16,}", out):
        words.add(w)
        words.update(re.split(r"[=:]", w))
        words.add(w.rstrip("=."))
    secrets = [w for w in words
               if hashlib.sha256(w.encode()).hexdigest() == digest]
    assert len(secrets) == 1, "the secret whose SHA-256 is printed: %r" % out
    secret = secrets[0]
    assert len(secret) >= 20, "a guessable secret"
    assert secret not in m.group(0)
    # a second run gives another secret
    rc2, out2, _ = run_ctl(["token", "new", "--name", "x", "--role", "admin"])
    assert rc2 == 0 and digest not in out2
    # the printed config line works as is
    line = next(l for l in out.splitlines() if digest in l).strip()
    if not line.startswith("tokens"):
        line = "tokens = ( %s );" % line.rstrip(",;").rstrip()
    d = daemons(tokens=[], extra=line, start=False)
    d.start()
    assert d.unix("POST", "/v1/roster?mode=replace", body=to_csv(BASE_ROWS),
                  content_type="text/csv").status == 200
    assert d.get("/v1/nodes/" + NHC, token=secret).status == 200
    assert d.get("/v1/nodes/220183105201", token=secret).status == 200
    assert d.get("/v1/nodes/220183105", token=secret).status == 403
    assert d.import_csv(to_csv(BASE_ROWS), token=secret).status == 403


def test_bad_role_rejected(daemon):
    rc, out, err = run_ctl(["token", "new", "--name", "x", "--role", "root"])
    assert rc == 2, (rc, out, err)
    assert "sha256" not in out
