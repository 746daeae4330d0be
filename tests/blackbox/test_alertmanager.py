"""
Prometheus Alertmanager as a source (POST /v1/inbound/alertmanager): the
real prometheus-alertmanager from Debian, fed an alert through its API,
notifies the daemon, which raises one alert however often Alertmanager
repeats itself, and cancels it when the alert resolves.  Also the mapping
and refusals, with notifications posted directly.
"""

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import NH, NHC, TOKENS, Token, free_port, scaled
from test_fanout import receivers
from test_reload import write_conf

assert receivers	# the fixture, imported for the tests below

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
SENSOR = Token("water-sensors", "operator", [NH])
PATH = "/v1/inbound/alertmanager"


def notification(status="firing", labels=None, starts="2026-11-28T10:00:00Z",
                 group="{}:{alertname=\"WaterLevelHigh\"}", annotations=None):
    labels = dict({"alertname": "WaterLevelHigh", "severity": "critical",
                   "sanzhang_targets": NHC}, **(labels or {}))
    annotations = annotations or {"summary": "南湖水位超警戒",
                                  "description": "南湖水位站超警戒水位0.5米，"
                                  "请立即组织沿湖居民转移。"}
    alert = {"status": status, "labels": labels, "annotations": annotations,
             "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": "http://prometheus.local/graph",
             "fingerprint": "c0ffee"}
    return {"version": "4", "groupKey": group, "truncatedAlerts": 0,
            "status": status, "receiver": "sanzhang",
            "groupLabels": {"alertname": "WaterLevelHigh"},
            "commonLabels": labels, "commonAnnotations": annotations,
            "externalURL": "http://alertmanager.local", "alerts": [alert]}


def post(d, doc, token=SENSOR):
    return d.request("POST", PATH, token=token,
                     body=json.dumps(doc, ensure_ascii=False),
                     content_type="application/json")


@pytest.fixture
def source(daemons, receivers):
    d = daemons(start=False)
    write_conf(d, receivers(), tokens=TOKENS + [SENSOR])
    d.start()
    d.load()
    return d


def alerts(d):
    r = d.get("/v1/alerts")
    assert r.status == 200, r
    return r.json()["alerts"]


def test_notification_raises_one_alert_per_episode(source):
    d = source
    r = post(d, notification())
    assert r.status == 201, r
    a = r.json()
    assert a["kind"] == "emergency" and a["severity"] == "red", a
    assert a["recipients"] > 0
    # Alertmanager repeats the notification: nothing new.
    for _ in range(3):
        r = post(d, notification())
        assert r.status == 201 and r.json()["replayed"], r
        assert r.json()["id"] == a["id"]
    doc = d.get("/v1/alerts/%d" % a["id"]).json()
    assert doc["title"] == "南湖水位超警戒", doc
    assert doc["body"].startswith("南湖水位站超警戒水位"), doc
    # The same group firing again later is a new episode, a new alert.
    r = post(d, notification(starts="2026-11-28T15:00:00Z"))
    assert r.status == 201 and not r.json()["replayed"], r
    assert len(alerts(d)) == 2
    # Resolved: the episode's alert is cancelled (the other stays).
    r = post(d, notification(status="resolved"))
    assert r.status == 200 and r.json()["state"] == "cancelled", r
    assert d.get("/v1/alerts/%d" % a["id"]).json()["state"] == "cancelled"
    states = sorted(x["state"] for x in alerts(d))
    assert states == ["active", "cancelled"], states


def test_mapping_of_labels(source):
    d = source
    r = post(d, notification(labels={
        "severity": "warning", "sanzhang_kind": "drill",
        "sanzhang_roles": "grid_leader building_leader",
        "sanzhang_on_resolve": "notice"}, group="g-drill"))
    assert r.status == 201, r
    a = r.json()
    assert a["kind"] == "drill" and a["severity"] == "yellow", a
    doc = d.get("/v1/alerts/%d" % a["id"]).json()
    assert sorted(doc["roles"]) == ["building_leader", "grid_leader"], doc
    # Resolved with on_resolve=notice: a 解除 notice to the same targets.
    r = post(d, notification(status="resolved", labels={
        "sanzhang_kind": "drill", "sanzhang_on_resolve": "notice"},
        group="g-drill"))
    assert r.status == 201, r
    n = d.get("/v1/alerts/%d" % r.json()["id"]).json()
    assert n["kind"] == "notice" and n["title"].startswith("解除："), n
    assert d.get("/v1/alerts/%d" % a["id"]).json()["state"] == "active"
    # Long texts are cut to the API's limits, not refused.
    long = notification(group="g-long", annotations={
        "summary": "水" * 100, "description": "位" * 900})
    r = post(d, long)
    assert r.status == 201, r


@pytest.mark.parametrize("change,code,why", [
    (lambda n: n.update(version="3"), 400, "version must be"),
    (lambda n: n.update(status="pending"), 400, "status must be"),
    (lambda n: n.update(alerts=[]), 400, "non-empty array"),
    (lambda n: [n["commonLabels"].pop("sanzhang_targets", None),
                n["alerts"][0]["labels"].pop("sanzhang_targets", None)], 400,
     "sanzhang_targets"),
    (lambda n: n["commonLabels"].update(sanzhang_on_resolve="later"), 400,
     "sanzhang_on_resolve"),
    (lambda n: n["commonLabels"].update(sanzhang_targets="220183105"), 403,
     "outside"),
    (lambda n: n["commonLabels"].update(sanzhang_kind="party"), 400, "kind"),
])
def test_bad_notifications_change_nothing(source, change, code, why):
    d = source
    n = notification()
    change(n)
    r = post(d, n)
    assert r.status == code, r
    assert why in r.text, r
    assert alerts(d) == []


def test_needs_an_operator_token(source):
    d = source
    assert post(d, notification(), token=None).status == 401
    viewer = [t for t in TOKENS if t.role == "viewer"][0]
    assert post(d, notification(), token=viewer).status == 403
    r = d.request("POST", PATH, token=SENSOR, body="{not json",
                  content_type="application/json")
    assert r.status == 400 and "invalid_json" in r.text, r
    assert alerts(d) == []


# ---- the real Alertmanager ----------------------------------------------------

class Alertmanager:
    """prometheus-alertmanager on loopback, notifying the daemon."""

    def __init__(self, workdir, daemon_url, token):
        self.port = free_port()
        self.dir = os.path.join(workdir, "am")
        os.makedirs(self.dir, exist_ok=True)
        conf = os.path.join(self.dir, "am.yml")
        with open(conf, "w") as f:
            f.write(
                "route:\n"
                "  receiver: sanzhang\n"
                "  group_by: [alertname]\n"
                "  group_wait: 500ms\n"
                "  group_interval: 1s\n"
                "  repeat_interval: 2s\n"
                "receivers:\n"
                "- name: sanzhang\n"
                "  webhook_configs:\n"
                "  - url: %s%s\n"
                "    send_resolved: true\n"
                "    http_config:\n"
                "      authorization:\n"
                "        credentials: %s\n" % (daemon_url, PATH, token))
        self.log = open(os.path.join(self.dir, "am.log"), "wb")
        self.proc = subprocess.Popen(
            [ALERTMANAGER, "--config.file=" + conf,
             "--storage.path=" + self.dir,
             "--web.listen-address=127.0.0.1:%d" % self.port,
             "--cluster.listen-address="],
            stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            assert self.proc.poll() is None, self.tail()
            try:
                urllib.request.urlopen(self.url("/-/ready"), timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail("alertmanager not ready in 20 s:\n" + self.tail())

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def fire(self, labels, annotations, ends=None):
        doc = [{"labels": labels, "annotations": annotations}]
        if ends is not None:
            doc[0]["endsAt"] = ends
        req = urllib.request.Request(self.url("/api/v2/alerts"),
                                     data=json.dumps(doc).encode(),
                                     headers={"Content-Type":
                                              "application/json"})
        urllib.request.urlopen(req, timeout=5).read()

    def tail(self):
        with open(os.path.join(self.dir, "am.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")[-3000:]

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()


def wait_for(cond, timeout, what):
    end = time.monotonic() + scaled(timeout)
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    pytest.fail("no %s within %.0f s" % (what, timeout))


def test_real_alertmanager_raises_and_resolves(source, tmp_path):
    if not os.access(ALERTMANAGER, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail("prometheus-alertmanager is not installed")
        pytest.skip("prometheus-alertmanager is not installed")
    d = source
    am = Alertmanager(str(tmp_path), "http://127.0.0.1:%d" % d.port,
                      SENSOR.secret)
    try:
        labels = {"alertname": "GasLeak", "severity": "critical",
                  "sanzhang_targets": NHC}
        notes = {"summary": "燃气泄漏报警", "description":
                 "南湖社区12号楼燃气探测器报警，请立即组织撤离。"}
        am.fire(labels, notes)
        got = wait_for(lambda: alerts(d), 20, "alert from Alertmanager")
        assert len(got) == 1, got
        a = got[0]
        assert a["kind"] == "emergency" and a["severity"] == "red", a
        assert a["title"] == "燃气泄漏报警", a
        # Alertmanager repeats the notification (repeat_interval 2 s):
        # several notifications, still one alert.
        def repeats():
            m = d.get("/metrics").text
            for line in m.splitlines():
                if line.startswith("sanzhang_http_requests_total{route=\"%s"
                                   "\"" % PATH) and 'code="201"' in line:
                    return float(line.rsplit(" ", 1)[1]) >= 3
            return False
        wait_for(repeats, 30, "three notifications")
        assert len(alerts(d)) == 1
        # Resolved in Alertmanager: the alert is cancelled.
        am.fire(labels, notes, ends=time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                   time.gmtime()))
        wait_for(lambda: d.get("/v1/alerts/%d" % a["id"]).json()["state"]
                 == "cancelled", 30, "cancel on resolve")
    finally:
        am.stop()
    if os.environ.get("KEEP_AM_LOG"):
        shutil.copy(os.path.join(am.dir, "am.log"), str(tmp_path))
