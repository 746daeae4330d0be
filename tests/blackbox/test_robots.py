"""
The group-robot channels (dingtalk, wecom, feishu) end to end: the real
daemon posts to a loopback fake of each provider (fake_robots.py, which
checks signatures, timestamps and bodies as the providers document them
and answers with their documented bodies).  One alert to a roster of
grids gives exactly one post per grid, to the robot the grid's rows name,
listing that grid's leaders with their ack links; throttling is retried;
secrets may come from a secrets_file only the daemon's user can read.
"""

import json
import os
import re
import time
import urllib.request

import pytest

from conftest import (ADMIN, NH, NHN, NHC, NHCN, R, full_phones, run_daemon,
                      scaled)
from fake_robots import FakeRobots

ROLES = ["grid_leader", "building_leader", "unit_leader"]
DING_SECRET = "SECc0ffee" + "5e" * 20
FEI_SECRET = "feishu-" + "ab" * 8


def roster(fake, provider):
    """Grid G01 names its robot on the grid leader's row only; G02 on a
    building leader's row; G03 names none."""
    g01, g02 = fake.url(provider, "g01"), fake.url(provider, "g02")
    return [
        R(NH, NHN, NHC, NHCN, "G01", "", "", "grid_leader", 1, "张伟",
          "13800000001", "%s=%s" % (provider, g01)),
        R(NH, NHN, NHC, NHCN, "G01", "12", "", "building_leader", 1, "李娜",
          "13800000002"),
        R(NH, NHN, NHC, NHCN, "G01", "12", "3", "unit_leader", 1, "王芳",
          "13800000003", "webhook=https://im.example/h/abc"),
        R(NH, NHN, NHC, NHCN, "G02", "", "", "grid_leader", 1, "吴磊",
          "13700000021"),
        R(NH, NHN, NHC, NHCN, "G02", "7", "", "building_leader", 1, "郑丽",
          "13700000022", "%s=%s" % (provider, g02)),
        R(NH, NHN, NHC, NHCN, "G03", "", "", "grid_leader", 1, "冯刚",
          "13600000031"),
    ]


G01 = {"13800000001": "张伟", "13800000002": "李娜", "13800000003": "王芳"}
G02 = {"13700000021": "吴磊", "13700000022": "郑丽"}


def channel(provider, extra=""):
    return ('channels = ( { name = "bot"; plugin = "%s"; rate = 10.0; '
            'throttle_retry_after = 1; %s } );\nrouting = { %s };'
            % (provider, extra,
               " ".join('%s = [ "bot" ];' % r for r in ROLES)))


@pytest.fixture
def robot(daemons, request):
    provider = request.param
    fake = FakeRobots(secrets={"g01": DING_SECRET if provider == "dingtalk"
                               else FEI_SECRET, "g02": DING_SECRET
                               if provider == "dingtalk" else FEI_SECRET}
                      if provider != "wecom" else {})
    sec = {"dingtalk": 'secret = "%s";' % DING_SECRET,
           "feishu": 'secret = "%s";' % FEI_SECRET}.get(provider, "")
    d = daemons(name=provider, channels=channel(provider, sec))
    d.load(roster(fake, provider))
    yield d, fake, provider
    fake.stop()
    assert fake.problems == [], fake.problems
    assert full_phones(d.log()) == [], "a full phone number was logged"
    assert DING_SECRET not in d.log() and FEI_SECRET not in d.log()
    assert "access_token=g0" not in d.log(), "a robot URL was logged"


def create(d, title="消防疏散演练", kind="drill"):
    doc = {"kind": kind, "severity": "yellow", "title": title,
           "body": "11月30日10:00开展消防疏散演练。", "targets": [NHC],
           "roles": ROLES, "responses": ["收到", "需要支援"]}
    r = d.request("POST", "/v1/alerts", token=ADMIN,
                  body=json.dumps(doc, ensure_ascii=False),
                  content_type="application/json")
    assert r.status == 201, r
    return r.json()


def states(d, aid):
    r = d.get("/v1/alerts/%d/recipients" % aid)
    assert r.status == 200, r
    return {x["phone"]: x["state"] for x in r.json()["recipients"]}


def wait_for(pred, what, timeout=20):
    end = time.monotonic() + scaled(timeout)
    while not pred():
        assert time.monotonic() < end, what
        time.sleep(0.1)


def post_text(provider, body):
    """The post's whole readable text, and the mobiles it mentions."""
    if provider == "dingtalk":
        return body["markdown"]["text"], body["at"]["atMobiles"]
    if provider == "wecom":
        return body["text"]["content"], body["text"]["mentioned_mobile_list"]
    paras = body["content"]["post"]["zh_cn"]["content"]
    text = "\n".join("".join(e.get("text", "") + " " + e.get("href", "")
                             for e in p) for p in paras)
    return body["content"]["post"]["zh_cn"]["title"] + "\n" + text, []


def leaders_in(d, text):
    """{name: ack link} for each line naming an ack link of this daemon."""
    base = "http://127.0.0.1:%d/a/" % d.port
    out = {}
    for line in text.splitlines():
        m = re.search(r"(?:- |· |^)(\S+?)（.*?(%s[A-Za-z0-9_-]+)"
                      % re.escape(base), line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


@pytest.mark.parametrize("robot", ["dingtalk", "wecom", "feishu"],
                         indirect=True)
def test_one_post_per_grid_with_its_leaders(robot):
    d, fake, provider = robot
    a = create(d)
    assert a["recipients"] == 6, a
    wait_for(lambda: fake.posts_for("g01") and fake.posts_for("g02"),
             "no posts: %s" % d.log_tail())
    wait_for(lambda: states(d, a["id"]).get("13600000031") == "failed",
             "G03 without a robot did not fail")
    time.sleep(0.5)
    assert len(fake.posts_for("g01")) == 1, fake.posts_for("g01")
    assert len(fake.posts_for("g02")) == 1, fake.posts_for("g02")
    assert len(fake.requests) == 2, fake.requests
    for rid, grid, label in (("g01", G01, "南湖社区 G01网格"),
                             ("g02", G02, "南湖社区 G02网格")):
        text, mentioned = post_text(provider, fake.posts_for(rid)[0])
        assert text.count("【演练】") >= 1 and "消防疏散演练" in text, text
        assert label in text, text
        links = leaders_in(d, text)
        assert sorted(links) == sorted(grid.values()), (text, links)
        if provider != "feishu":
            assert sorted(mentioned) == sorted(grid), mentioned
        for link in links.values():
            with urllib.request.urlopen(link, timeout=5) as r:
                assert r.status == 200
    st = states(d, a["id"])
    for phone in list(G01) + list(G02):
        assert st[phone] == "sent", st
    assert "no robot URL" in d.log()


@pytest.mark.parametrize("robot", ["dingtalk", "feishu"], indirect=True)
def test_throttled_post_is_retried(robot):
    d, fake, provider = robot
    fake.script("g01", ["throttle"])
    a = create(d, kind="emergency", title="燃气泄漏")
    wait_for(lambda: states(d, a["id"]).get("13700000021") == "sent",
             "G02 not sent")
    assert states(d, a["id"])["13800000001"] == "pending"
    wait_for(lambda: fake.posts_for("g01"), "G01 never retried", timeout=30)
    wait_for(lambda: all(states(d, a["id"])[p] == "sent" for p in G01),
             "G01 not sent after the retry")
    assert len(fake.posts_for("g01")) == 1
    assert "【演练】" not in post_text(provider, fake.posts_for("g01")[0])[0]


# ---- secrets_file ---------------------------------------------------------

def write(path, text, mode):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)


def test_secret_from_secrets_file_signs(daemons, tmp_path):
    fake = FakeRobots(secrets={"g01": DING_SECRET, "g02": DING_SECRET})
    sec = tmp_path / "secrets.conf"
    write(sec, 'secrets = { bot = { secret = "%s"; }; };\n' % DING_SECRET,
          0o600)
    d = daemons(name="sec", channels=channel("dingtalk"), start=False)
    d.write_config(extra='secrets_file = "%s";' % sec)
    rc, out, err = run_daemon(["-t", "-c", d.conf])
    assert rc == 0, err
    d.start()
    d.load(roster(fake, "dingtalk"))
    create(d)
    wait_for(lambda: fake.posts_for("g01") and fake.posts_for("g02"),
             "no signed posts")
    fake.stop()
    assert fake.problems == [], fake.problems
    assert DING_SECRET not in d.log()


@pytest.mark.parametrize("mode", [0o640, 0o604])
def test_secrets_file_readable_by_others_is_refused(daemons, tmp_path, mode):
    sec = tmp_path / "secrets.conf"
    write(sec, 'secrets = { bot = { secret = "%s"; }; };\n' % DING_SECRET,
          mode)
    d = daemons(name="perm", channels=channel("dingtalk"), start=False)
    d.write_config(extra='secrets_file = "%s";' % sec)
    rc, out, err = run_daemon(["-t", "-c", d.conf])
    assert rc != 0
    assert "%s:" % d.conf in err and str(sec) in err, err
    assert "chmod 600" in err and DING_SECRET not in err + out, err


def test_secrets_file_errors_name_file_and_line(daemons, tmp_path):
    sec = tmp_path / "secrets.conf"
    d = daemons(name="bad", channels=channel("dingtalk"), start=False)
    d.write_config(extra='secrets_file = "%s";' % sec)
    cases = [
        # a setting the plugin does not mark secret
        ('secrets = {\n  bot = {\n    timeout_ms = 5;\n  };\n};\n',
         "%s:3: channel 'bot': 'timeout_ms' is not a secret setting" % sec),
        # a channel the config does not have
        ('secrets = {\n  nobot = { secret = "x"; };\n};\n',
         "%s:2: secrets for unknown channel 'nobot'" % sec),
        # not libconfig
        ('secrets = {\n  bot = { secret = ; };\n};\n', "%s: line 2:" % sec),
    ]
    for text, want in cases:
        write(sec, text, 0o600)
        rc, out, err = run_daemon(["-t", "-c", d.conf])
        assert rc != 0 and want in err, (want, err)
    os.unlink(sec)
    rc, out, err = run_daemon(["-t", "-c", d.conf])
    assert rc != 0 and "No such file" in err, err


def test_required_secret_missing_everywhere(daemons, tmp_path):
    """sms_aliyun needs access_key_secret: neither file has it."""
    sec = tmp_path / "secrets.conf"
    write(sec, 'secrets = { ali = { }; };\n', 0o600)
    chans = ('channels = ( { name = "ali"; plugin = "sms_aliyun"; '
             'access_key_id = "LTAI5t"; sign_name = "南湖街道"; '
             'template_code = "SMS_1"; template_param = "{\\"t\\":\\"{drill}{title}\\"}"; } );\n'
             'routing = { grid_leader = [ "ali" ]; };')
    d = daemons(name="ali", channels=chans, start=False)
    d.write_config(extra='secrets_file = "%s";' % sec)
    rc, out, err = run_daemon(["-t", "-c", d.conf])
    assert rc != 0 and "access_key_secret" in err, err
    write(sec, 'secrets = { ali = { access_key_secret = "s3"; }; };\n', 0o600)
    rc, out, err = run_daemon(["-t", "-c", d.conf])
    assert rc == 0, err


@pytest.mark.parametrize("robot", ["wecom"], indirect=True)
def test_long_notice_is_cut_to_fit_the_post(robot):
    """A WeCom text post is at most 2048 bytes: a long body is cut short,
    marked, and every leader's line and link still goes out."""
    d, fake, provider = robot
    doc = {"kind": "drill", "severity": "yellow", "title": "防汛演练" * 15,
           "body": "请沿河各楼栋组织居民有序撤离到安置点。" * 26 + "请注意安全。",
           "targets": [NHC], "roles": ROLES}
    # The longest title and body an alert may have: 2,000 bytes of notice.
    assert len(doc["title"]) == 60 and len(doc["body"]) == 500
    r = d.request("POST", "/v1/alerts", token=ADMIN,
                  body=json.dumps(doc, ensure_ascii=False),
                  content_type="application/json")
    assert r.status == 201, r
    a = r.json()
    wait_for(lambda: fake.posts_for("g01"), "no post: %s" % d.log_tail())
    text, _ = post_text(provider, fake.posts_for("g01")[0])
    assert len(text.encode()) <= 2048
    assert "……" in text, text
    assert set(leaders_in(d, text)) == set(G01.values()), text
    wait_for(lambda: all(states(d, a["id"]).get(p) in ("sent", "acked")
                         for p in G01), "G01 not sent: %s" % states(d, a["id"]))
