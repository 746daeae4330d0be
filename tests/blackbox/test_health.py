"""GET /healthz, routing errors and the control socket's permissions."""

import os
import stat

import pytest

from conftest import ADMIN


def check_health(r):
    assert r.status == 200, r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    doc = r.json()
    assert doc["status"] == "ok", doc
    assert isinstance(doc["version"], str) and doc["version"], doc
    assert isinstance(doc["queue_depth"], int), doc
    assert not isinstance(doc["queue_depth"], bool), doc
    assert doc["queue_depth"] >= 0, doc
    assert doc["db"] == "ok", doc
    return doc


def test_healthz_tcp_no_auth(daemon):
    check_health(daemon.get("/healthz", token=None))


def test_healthz_control_socket(daemon):
    check_health(daemon.unix("GET", "/healthz"))


def test_control_socket_not_world_writable(daemon):
    st = os.stat(daemon.sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert st.st_mode & stat.S_IWOTH == 0, oct(st.st_mode)


@pytest.mark.parametrize("path", ["/nope", "/v1/nope", "/v1/rosterx",
                                  "/v1/alertsx/1"])
def test_unknown_route_404(daemon, path):
    r = daemon.get(path, token=ADMIN)
    assert r.status == 404, r
    r.error()


@pytest.mark.parametrize("method,path", [
    ("DELETE", "/v1/roster"),
    ("PUT", "/v1/roster"),
    ("POST", "/healthz"),
    ("POST", "/v1/roster.csv"),
    ("DELETE", "/v1/nodes/220104001"),
])
def test_wrong_method_405(loaded, method, path):
    r = loaded.request(method, path, body="x", token=ADMIN,
                       content_type="text/csv")
    assert r.status == 405, r
    r.error()
