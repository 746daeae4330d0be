"""
GET /metrics: Prometheus text that Prometheus' own promtool accepts, with
every family named in the issue, and numbers that follow what happened:
messages out through a channel, an answer by link and one recorded by an
operator (time-to-ack histogram), HTTP requests by route and code.
"""

import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import ADMIN, VIEWER
from test_fanout import (create, crash_rows, drill, receivers, routing_all,
                         start_fanout, wait_counts, webhook_channel,
                         zero_counts)

assert receivers	# the fixture, imported for the tests below

FAMILIES = {
    "sanzhang_http_requests_total": "counter",
    "sanzhang_acks_total": "counter",
    "sanzhang_time_to_ack_seconds": "histogram",
    "sanzhang_channel_messages_total": "counter",
    "sanzhang_channel_requests_total": "counter",
    "sanzhang_deliveries_total": "counter",
    "sanzhang_receipts_total": "counter",
    "sanzhang_plugin_errors_total": "counter",
    "sanzhang_channel_in_flight": "gauge",
    "sanzhang_queue_depth": "gauge",
    "sanzhang_db_writes_total": "counter",
    "sanzhang_db_commits_total": "counter",
    "sanzhang_db_writable": "gauge",
    "sanzhang_start_time_seconds": "gauge",
}
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{family: type}, [(name, {label: value}, float)], strictly."""
    types, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            assert name not in types, "TYPE twice for " + name
            types[name] = typ
        elif line.startswith("#") or not line:
            continue
        else:
            m = SAMPLE_RE.match(line)
            assert m, "not a sample line: %r" % line
            labels = dict(LABEL_RE.findall(m.group(3) or ""))
            samples.append((m.group(1), labels, float(m.group(4))))
    return types, samples


def value(samples, name, **labels):
    got = [v for n, lab, v in samples
           if n == name and all(lab.get(k) == v2 for k, v2 in labels.items())]
    assert len(got) == 1, (name, labels, got)
    return got[0]


def scrape(d, token=VIEWER):
    r = d.get("/metrics", token=token)
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return r.body.decode("utf-8")


def promtool_check(text, tmp_path):
    if shutil.which("promtool") is None:
        if os.environ.get("CI"):
            pytest.fail("promtool not found (contrib/deps.sh installs "
                        "prometheus)")
        pytest.skip("promtool not found")
    p = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=60)
    # Lint remarks (naming style) go to stdout with rc 3; errors rc 1.
    assert p.returncode == 0, p.stdout + p.stderr


def test_metrics_follow_what_happened(daemons, receivers, tmp_path):
    rec = receivers()
    d = start_fanout(daemons, [webhook_channel(rec)], routing_all("hook"))
    assert d.get("/metrics", token=None).status == 401
    rows = crash_rows(30)
    d.load(rows)
    a = create(d, drill(targets=["220104001"], roles=["unit_leader"]))
    assert a["recipients"] == 30, a
    wait_counts(d, a["id"], zero_counts(sent=30), 30)
    # One answer through a link, one phoned in and recorded by an operator.
    first = rec.snapshot()[0]["doc"]
    link = first["ack_url"]
    path = "/a/" + link.rsplit("/a/", 1)[1]
    r = d.request("POST", path, token=None, body="response=1",
                  content_type="application/x-www-form-urlencoded")
    assert r.status == 303, r
    # Someone else: the same answer twice would not count again.
    phone = [row[10] for row in rows
             if row[10] != first["recipient"]["phone"]][0]
    r = d.request("POST", "/v1/alerts/%d/ack" % a["id"], token=ADMIN,
                  body='{"phone": "%s", "response": 1}' % phone,
                  content_type="application/json")
    assert r.status == 200 and r.json()["result"] == "recorded", r
    time.sleep(0.2)

    text = scrape(d)
    promtool_check(text, tmp_path)
    types, samples = parse(text)
    for fam, typ in FAMILIES.items():
        assert types.get(fam) == typ, (fam, types.get(fam))
    assert value(samples, "sanzhang_deliveries_total", channel="hook",
                 outcome="accepted") == 30
    assert value(samples, "sanzhang_channel_messages_total",
                 channel="hook") == 30
    assert value(samples, "sanzhang_channel_requests_total",
                 channel="hook") == 30
    assert value(samples, "sanzhang_acks_total", via="link") == 1
    assert value(samples, "sanzhang_acks_total", via="operator") == 1
    assert value(samples, "sanzhang_time_to_ack_seconds_count") == 2
    assert value(samples, "sanzhang_time_to_ack_seconds_bucket",
                 le="+Inf") == 2
    assert value(samples, "sanzhang_time_to_ack_seconds_bucket",
                 le="60") == 2	# both within a minute of the start
    assert 0 < value(samples, "sanzhang_time_to_ack_seconds_sum") < 120
    assert value(samples, "sanzhang_http_requests_total",
                 route="/v1/alerts", method="POST", code="201") == 1
    assert value(samples, "sanzhang_http_requests_total",
                 route="/a/", method="POST", code="303") == 1
    assert value(samples, "sanzhang_http_requests_total",
                 route="/metrics", method="GET", code="401") == 1
    assert value(samples, "sanzhang_db_writable") == 1
    assert value(samples, "sanzhang_db_commits_total") <= \
        value(samples, "sanzhang_db_writes_total")
    # Buckets are cumulative.
    les = [v for n, lab, v in samples
           if n == "sanzhang_time_to_ack_seconds_bucket"]
    assert les == sorted(les), les
    # No phone number, no token in it.
    assert not re.search(r"1[3-9][0-9]{9}", text), "a phone in /metrics"


def test_metrics_over_the_control_socket(daemon):
    r = daemon.unix("GET", "/metrics")
    assert r.status == 200, r
    types, _ = parse(r.body.decode("utf-8"))
    assert set(FAMILIES) <= set(types), set(FAMILIES) - set(types)
