"""POST/GET /v1/alerts, recipients and cancel: who an alert reaches (one
person per phone, backups, vacancies), its counts, validation, the drill
mark, Idempotency-Key, scopes, the audit rows and a restart.

Nothing is sent yet (the fan-out comes later), so every recipient stays
"pending" until the alert is cancelled."""

import datetime
import json
import re
import signal
import time

import pytest

from conftest import (ADMIN, BASE_ROWS, CJD, DHC, HELONG_ADMIN, HL,
                      NANHU_VIEWER, NH, NHC, NHCN, NHN, R, SANZU, TOKENS,
                      VIEWER, Factory, Token, full_phones)

CITY_OP = Token("city-operator", "operator")
NANHU_OP = Token("nanhu-operator", "operator", [NH])
ALERT_TOKENS = TOKENS + [CITY_OP, NANHU_OP]

# Policies for the kinds' default names, plus one an alert may name.
ESCALATION = """escalation = {
  emergency = ( { after = 120; action = "resend"; },
                { after = 300; action = "notify_parent"; } );
  drill = ( { after = 300; action = "resend"; } );
  notice = ();
  fast = ( { after = 60; action = "resend"; } );
};"""

STATES = ["pending", "sent", "delivered", "acked", "failed", "cancelled",
          "expired"]
DEFAULT_ROLES = ["grid_leader", "building_leader", "unit_leader",
                 "villager_rep"]
ALL_ROLES = DEFAULT_ROLES + ["duty_officer"]
DRILL_MARK = "【演练】"
RFC3339_RE = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$")

G01 = NHC + "/G01"
B12 = G01 + "/12"
G02 = DHC + "/G02"
SANZU_GRID = CJD + "/" + SANZU

DROP = object()		# alert_doc(key=DROP) leaves the key out


def alert_doc(**kw):
    """A valid drill for 南湖社区; keyword arguments replace or DROP keys."""
    doc = {"kind": "drill", "severity": "yellow", "title": "消防疏散演练",
           "body": "11月30日10:00开展消防疏散演练，请单元长组织本单元居民参加。",
           "targets": [NHC]}
    for k, v in kw.items():
        if v is DROP:
            doc.pop(k, None)
        else:
            doc[k] = v
    return doc


def b36(n):
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    s = ""
    while True:
        n, r = divmod(n, 36)
        s = digits[r] + s
        if n == 0:
            return s


def rfc3339(s):
    assert isinstance(s, str) and RFC3339_RE.match(s), s
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


# ---- requests ---------------------------------------------------------------

def post_alert(d, doc, token=CITY_OP, headers=None):
    body = doc if isinstance(doc, (bytes, str)) else \
        json.dumps(doc, ensure_ascii=False)
    return d.request("POST", "/v1/alerts", body=body, token=token,
                     headers=headers, content_type="application/json")


def create(d, doc=None, token=CITY_OP, headers=None):
    r = post_alert(d, alert_doc() if doc is None else doc, token=token,
                   headers=headers)
    assert r.status == 201, r
    return r.json()


def get_alert(d, aid, token=ADMIN):
    r = d.get("/v1/alerts/%d" % aid, token=token)
    assert r.status == 200, r
    return r.json()


def list_alerts(d, token=ADMIN, query=""):
    r = d.get("/v1/alerts" + query, token=token)
    assert r.status == 200, r
    doc = r.json()
    assert isinstance(doc.get("alerts"), list), doc
    return doc["alerts"]


def recipients(d, aid, state=None, token=ADMIN):
    path = "/v1/alerts/%d/recipients" % aid
    if state is not None:
        path += "?state=" + state
    r = d.get(path, token=token)
    assert r.status == 200, r
    doc = r.json()
    assert isinstance(doc.get("recipients"), list), doc
    return doc["recipients"]


def cancel(d, aid, token=CITY_OP):
    return d.request("POST", "/v1/alerts/%d/cancel" % aid, token=token)


def who(rcpts):
    """{name: sorted (code, role, rank) of their posts} of a recipient list;
    asserts one entry per phone."""
    phones = [x["phone"] for x in rcpts]
    assert len(phones) == len(set(phones)), rcpts
    out = {}
    for x in rcpts:
        assert x["name"] not in out, rcpts
        out[x["name"]] = sorted((p["code"], p["role"], p["rank"])
                                for p in x["posts"])
    return out


def vacancy_set(vacancies):
    return sorted((v["code"], v["role"], v["notify"]) for v in vacancies)


def zero_counts(**kw):
    c = {s: 0 for s in STATES}
    c.update(kw)
    return c


def check_counts(c):
    assert isinstance(c, dict), c
    assert sorted(c) == sorted(STATES), c
    assert all(is_int(v) and v >= 0 for v in c.values()), c


def bad_alert(d, doc, field, status=400, code="invalid_alert"):
    """Refused with field named, and no alert created."""
    before = len(list_alerts(d))
    r = post_alert(d, doc)
    assert r.status == status, (field, r)
    err = r.error()
    assert err["code"] == code, (field, err)
    assert err.get("field") == field, (field, err)
    assert len(list_alerts(d)) == before
    return err


# ---- fixtures ---------------------------------------------------------------

def start_alerting(daemons, rows=BASE_ROWS, **kw):
    d = daemons(tokens=ALERT_TOKENS, extra=ESCALATION, **kw)
    d.load(rows)
    return d


@pytest.fixture
def ad(daemons):
    """A daemon holding BASE_ROWS, with operator tokens and policies."""
    return start_alerting(daemons)


@pytest.fixture(scope="module")
def shared_ad(request):
    """One such daemon for a module of checks that create nothing."""
    f = Factory()
    d = f(name="shared-alerts", tokens=ALERT_TOKENS, extra=ESCALATION)
    d.load()
    yield d
    f.finish(request.session.testsfailed > 0)


# A roster with holes: building 12 has units but no building leader, unit
# 12/4 and building 8 only a backup, grid G03 no grid leader.
VAC_ROWS = [
    R(NH, NHN, NHC, NHCN, "G01", "", "", "grid_leader", 1, "张伟",
      "13800000001"),
    R(NH, NHN, NHC, NHCN, "G01", "", "", "grid_leader", 2, "陈静",
      "13800000004"),
    R(NH, NHN, NHC, NHCN, "G01", "12", "3", "unit_leader", 1, "王芳",
      "13800000003"),
    R(NH, NHN, NHC, NHCN, "G01", "12", "4", "unit_leader", 2, "赵六",
      "13800000066"),
    R(NH, NHN, NHC, NHCN, "G01", "8", "", "building_leader", 2, "孙八",
      "13800000088"),
    R(NH, NHN, NHC, NHCN, "G03", "7", "", "building_leader", 1, "钱七",
      "13800000077"),
]


# ---- creating ---------------------------------------------------------------

def test_create_201_shape(ad):
    r = post_alert(ad, alert_doc())
    assert r.status == 201, r
    assert r.headers.get("content-type", "").startswith("application/json")
    doc = r.json()
    for k in ("id", "code", "kind", "severity", "recipients", "posts",
              "vacancies", "sms_parts"):
        assert k in doc, (k, doc)
    for k in ("id", "recipients", "posts", "sms_parts"):
        assert is_int(doc[k]), (k, doc)
    assert doc["id"] > 0
    assert doc["code"] == "A" + b36(doc["id"]), doc
    assert (doc["kind"], doc["severity"]) == ("drill", "yellow"), doc
    # 张伟, 李娜 (building 12 and unit 12/4), 王芳; not the backup 陈静
    assert (doc["recipients"], doc["posts"]) == (3, 4), doc
    assert doc["vacancies"] == [], doc
    assert doc["sms_parts"] >= 1, doc


def test_code_is_base36_of_id(ad):
    ids = [create(ad, alert_doc(title="通知%d" % i)) for i in range(3)]
    assert len({x["id"] for x in ids}) == 3
    for x in ids:
        assert x["code"] == "A" + b36(x["id"]), x
        assert x["code"] == x["code"].upper()


def test_get_alert_detail_defaults(ad):
    before = datetime.datetime.now(datetime.timezone.utc)
    made = create(ad)
    after = datetime.datetime.now(datetime.timezone.utc)
    doc = get_alert(ad, made["id"])
    want = alert_doc()
    assert doc["id"] == made["id"] and doc["code"] == made["code"], doc
    for k in ("kind", "severity", "title", "body", "targets"):
        assert doc[k] == want[k], (k, doc)
    assert sorted(doc["roles"]) == sorted(DEFAULT_ROLES), doc
    assert doc["responses"] == ["收到"], doc
    assert doc["escalation"] == "drill", doc
    assert doc["state"] == "active", doc
    assert doc["created_by"] == CITY_OP.name, doc
    assert doc["recipients"] == 3, doc
    assert doc["vacancies"] == [], doc
    created, expires = rfc3339(doc["created_at"]), rfc3339(doc["expires_at"])
    slack = datetime.timedelta(seconds=2)
    assert before - slack <= created <= after + slack, (doc, before, after)
    assert abs((expires - created).total_seconds() - 86400) <= 1, doc
    check_counts(doc["counts"])
    assert doc["counts"] == zero_counts(pending=3), doc


def test_explicit_fields_round_trip(ad):
    d = alert_doc(kind="emergency", severity="red", title="燃气泄漏",
                  body="请立即组织12号楼居民撤离。", targets=[B12],
                  roles=["unit_leader", "building_leader"],
                  responses=["收到", "已通知到户", "需要支援"],
                  escalation="fast", expires_in=7200)
    made = create(ad, d)
    assert (made["kind"], made["severity"]) == ("emergency", "red"), made
    doc = get_alert(ad, made["id"])
    for k in ("kind", "severity", "title", "body", "targets", "responses",
              "escalation"):
        assert doc[k] == d[k], (k, doc)
    assert sorted(doc["roles"]) == sorted(d["roles"]), doc
    span = rfc3339(doc["expires_at"]) - rfc3339(doc["created_at"])
    assert abs(span.total_seconds() - 7200) <= 1, doc
    r = create(ad, alert_doc(escalation="none"))
    assert get_alert(ad, r["id"])["escalation"] == "none"


def test_notice_severity_defaults_to_blue(ad):
    made = create(ad, alert_doc(kind="notice", severity=DROP,
                                title="停水通知", body="明日9:00-12:00停水。"))
    assert (made["kind"], made["severity"]) == ("notice", "blue"), made
    doc = get_alert(ad, made["id"])
    assert (doc["severity"], doc["escalation"]) == ("blue", "notice"), doc


def test_max_title_and_body_are_characters(ad):
    # 60 and 500 Chinese characters are 180 and 1500 bytes
    made = create(ad, alert_doc(title="演" * 60, body="练" * 500))
    doc = get_alert(ad, made["id"])
    assert (doc["title"], doc["body"]) == ("演" * 60, "练" * 500)


def test_sms_parts_grow_with_the_body(ad):
    short = create(ad, alert_doc(body="请注意。"))
    long = create(ad, alert_doc(body="请" * 500))
    # UCS-2: 67 units a part beyond the first, so 500 characters > 7 parts
    assert long["sms_parts"] >= 8, long
    assert long["sms_parts"] > short["sms_parts"] >= 1, (short, long)


def test_control_socket_creates_without_token(ad):
    r = ad.unix("POST", "/v1/alerts",
                body=json.dumps(alert_doc(), ensure_ascii=False),
                content_type="application/json")
    assert r.status == 201, r
    aid = r.json()["id"]
    assert get_alert(ad, aid)["recipients"] == 3


# ---- who gets it ------------------------------------------------------------

def test_one_recipient_per_phone(ad):
    made = create(ad)
    rc = recipients(ad, made["id"])
    assert len(rc) == made["recipients"] == 3, rc
    assert who(rc) == {
        "张伟": [(G01, "grid_leader", 1)],
        "李娜": [(B12, "building_leader", 1),
               (B12 + "/4", "unit_leader", 1)],
        "王芳": [(B12 + "/3", "unit_leader", 1)],
    }
    for x in rc:
        for k in ("name", "phone", "posts", "grid", "state", "response",
                  "acked_at"):
            assert k in x, (k, x)
        assert x["grid"] == G01, x
        assert x["state"] == "pending", x
        assert x["response"] is None and x["acked_at"] is None, x
        assert all(is_int(p["rank"]) for p in x["posts"]), x
    # full phones for viewers and up
    phones = {x["name"]: x["phone"] for x in recipients(ad, made["id"],
                                                         token=VIEWER)}
    assert phones == {"张伟": "13800000001", "李娜": "13800000002",
                      "王芳": "13800000003"}


def test_roles_filter(ad):
    made = create(ad, alert_doc(roles=["unit_leader"]))
    assert (made["recipients"], made["posts"]) == (2, 2), made
    assert who(recipients(ad, made["id"])) == {
        "李娜": [(B12 + "/4", "unit_leader", 1)],
        "王芳": [(B12 + "/3", "unit_leader", 1)],
    }
    made = create(ad, alert_doc(targets=[NH], roles=["duty_officer"]))
    got = who(recipients(ad, made["id"]))
    assert got == {"周军": [(NH, "duty_officer", 1)],
                   "赵强": [(NHC, "duty_officer", 1)]}, got
    made = create(ad, alert_doc(targets=[SANZU_GRID],
                                roles=["villager_rep"]))
    assert (made["recipients"], made["posts"]) == (2, 2), made
    assert sorted(who(recipients(ad, made["id"]))) == ["孙丽", "钱进"]


@pytest.mark.parametrize("targets,names,posts", [
    ([NHC, G01], {"张伟", "李娜", "王芳"}, 4),
    ([G01, NHC], {"张伟", "李娜", "王芳"}, 4),
    ([B12, B12 + "/3"], {"李娜", "王芳"}, 3),
    ([NH, NHC, G02], {"张伟", "李娜", "王芳", "吴磊"}, 5),
    ([B12 + "/3", SANZU_GRID, DHC], {"王芳", "刘洋", "孙丽", "钱进", "吴磊"}, 5),
    ([NH, HL], {"张伟", "李娜", "王芳", "吴磊", "刘洋", "孙丽", "钱进"}, 8),
])
def test_several_and_overlapping_targets(ad, targets, names, posts):
    made = create(ad, alert_doc(targets=targets))
    rc = recipients(ad, made["id"])
    got = who(rc)			# asserts no phone twice
    assert set(got) == names, got
    assert made["recipients"] == len(names), made
    assert made["posts"] == posts, made
    assert sum(len(p) for p in got.values()) == posts, got
    assert get_alert(ad, made["id"])["targets"] == targets


def test_backup_only_when_primary_missing_and_vacancies(daemons):
    d = start_alerting(daemons, rows=VAC_ROWS)
    made = create(d, alert_doc(targets=[NHC]))
    got = who(recipients(d, made["id"]))
    assert got == {
        "张伟": [(G01, "grid_leader", 1)],		# 陈静 (B角) not asked
        "王芳": [(B12 + "/3", "unit_leader", 1)],
        "赵六": [(B12 + "/4", "unit_leader", 2)],	# only a backup
        "孙八": [(G01 + "/8", "building_leader", 2)],
        "钱七": [(NHC + "/G03/7", "building_leader", 1)],
    }, got
    assert (made["recipients"], made["posts"]) == (5, 5), made
    want = sorted([(B12, "building_leader", G01),
                   (NHC + "/G03", "grid_leader", NHC)])
    assert vacancy_set(made["vacancies"]) == want, made
    doc = get_alert(d, made["id"])
    assert vacancy_set(doc["vacancies"]) == want, doc
    for v in made["vacancies"]:
        assert sorted(v) == ["code", "notify", "role"], v


def test_vacancy_of_a_targeted_building(daemons):
    d = start_alerting(daemons, rows=VAC_ROWS)
    made = create(d, alert_doc(targets=[B12]))
    assert vacancy_set(made["vacancies"]) == \
        [(B12, "building_leader", G01)], made
    assert set(who(recipients(d, made["id"]))) == {"王芳", "赵六"}
    # a role not asked for is no vacancy
    made = create(d, alert_doc(targets=[B12], roles=["unit_leader"]))
    assert made["vacancies"] == [], made
    assert made["recipients"] == 2, made


def test_vacant_community_duty_officer_tells_the_street(ad):
    # 东湖社区 has no duty officer
    made = create(ad, alert_doc(targets=[DHC], roles=["duty_officer"]))
    assert vacancy_set(made["vacancies"]) == \
        [(DHC, "duty_officer", NH)], made
    assert made["recipients"] == 0, made
    made = create(ad, alert_doc(targets=[NHC], roles=["duty_officer"]))
    assert made["vacancies"] == [], made
    assert made["recipients"] == 1, made


# ---- counts -----------------------------------------------------------------

def test_counts_consistent_with_recipients(ad):
    made = create(ad, alert_doc(targets=[NH, HL]))
    doc = get_alert(ad, made["id"])
    check_counts(doc["counts"])
    assert sum(doc["counts"].values()) == made["recipients"] == 7, doc
    assert doc["counts"] == zero_counts(pending=7), doc
    assert len(recipients(ad, made["id"])) == 7
    grids = doc["grids"]
    assert isinstance(grids, dict), doc
    for c in grids.values():
        check_counts(c)
    for s in STATES:
        assert sum(c[s] for c in grids.values()) == doc["counts"][s], doc


def test_per_grid_counts(ad):
    made = create(ad, alert_doc(targets=[NH, HL], roles=ALL_ROLES))
    doc = get_alert(ad, made["id"])
    # 周军 and 赵强 hold street / community posts: they count there
    assert doc["grids"] == {
        G01: zero_counts(pending=3),
        G02: zero_counts(pending=1),
        SANZU_GRID: zero_counts(pending=3),
        NHC: zero_counts(pending=1),
        NH: zero_counts(pending=1),
    }, doc["grids"]
    assert doc["counts"] == zero_counts(pending=9), doc
    rc = {x["name"]: x["grid"] for x in recipients(ad, made["id"])}
    assert (rc["周军"], rc["赵强"], rc["吴磊"], rc["孙丽"]) == \
        (NH, NHC, G02, SANZU_GRID), rc


def test_recipients_state_filter(ad):
    made = create(ad)
    aid = made["id"]
    assert len(recipients(ad, aid, state="pending")) == 3
    for s in STATES[1:]:
        assert recipients(ad, aid, state=s) == [], s
    for bad in ("bogus", "pend"):
        r = ad.get("/v1/alerts/%d/recipients?state=%s" % (aid, bad))
        assert r.status == 400, (bad, r)
        r.error()


# ---- validation -------------------------------------------------------------

LONG_TARGETS = [G01] * 2001

INVALID = [
    ("kind", dict(kind=DROP)),
    ("kind", dict(kind="alarm")),
    ("kind", dict(kind="")),
    ("kind", dict(kind=1)),
    ("kind", dict(kind=None)),
    ("severity", dict(kind="emergency", severity=DROP)),
    ("severity", dict(kind="drill", severity=DROP)),
    ("severity", dict(severity="purple")),
    ("severity", dict(severity=3)),
    ("title", dict(title=DROP)),
    ("title", dict(title="")),
    ("title", dict(title="标" * 61)),
    ("title", dict(title=7)),
    ("body", dict(body=DROP)),
    ("body", dict(body="")),
    ("body", dict(body="文" * 501)),
    ("body", dict(body=["x"])),
    ("targets", dict(targets=DROP)),
    ("targets", dict(targets=[])),
    ("targets", dict(targets=NHC)),
    ("targets", dict(targets=[220104001001])),
    ("targets", dict(targets=LONG_TARGETS)),
    ("targets", dict(targets=["abc"])),
    ("roles", dict(roles=["mayor"])),
    ("roles", dict(roles=["unit_leader", "mayor"])),
    ("roles", dict(roles="unit_leader")),
    ("responses", dict(responses=[])),
    ("responses", dict(responses=["选项%d" % i for i in range(10)])),
    ("responses", dict(responses=[""])),
    ("responses", dict(responses=["回" * 21])),
    ("responses", dict(responses="收到")),
    ("responses", dict(responses=[1])),
    ("escalation", dict(escalation="nosuch")),
    ("escalation", dict(escalation=1)),
    ("expires_in", dict(expires_in=59)),
    ("expires_in", dict(expires_in=604801)),
    ("expires_in", dict(expires_in=0)),
    ("expires_in", dict(expires_in=-60)),
    ("expires_in", dict(expires_in="3600")),
    ("expires_in", dict(expires_in=3600.5)),
    ("expires_in", dict(expires_in=True)),
    ("priority", dict(priority="high")),
]


@pytest.mark.parametrize("field,change", INVALID,
                         ids=["%s-%d" % (f, i)
                              for i, (f, _) in enumerate(INVALID)])
def test_invalid_alert_names_field(shared_ad, field, change):
    bad_alert(shared_ad, alert_doc(**change), field)


UNKNOWN_CODES = [NHC + "/G99", "220104001999", B12 + "/9", NHC + "/" + SANZU]


@pytest.mark.parametrize("code", UNKNOWN_CODES)
def test_unknown_target_named(shared_ad, code):
    err = bad_alert(shared_ad, alert_doc(targets=[code]), "targets")
    assert code in err["message"], err


@pytest.mark.parametrize("code", UNKNOWN_CODES)
def test_unknown_target_beside_known_named(shared_ad, code):
    # also when a known target (南湖社区) would cover it
    err = bad_alert(shared_ad, alert_doc(targets=[NHC, code]), "targets")
    assert code in err["message"], err


def test_limits_accepted(ad):
    for v in (60, 604800):
        made = create(ad, alert_doc(expires_in=v))
        doc = get_alert(ad, made["id"])
        span = rfc3339(doc["expires_at"]) - rfc3339(doc["created_at"])
        assert abs(span.total_seconds() - v) <= 1, doc
    create(ad, alert_doc(responses=["选项%d" % i for i in range(9)]))
    create(ad, alert_doc(responses=["回" * 20]))


@pytest.mark.parametrize("body", [b"", b"{", b"kind=drill", b"\xff\xfe{}",
                                  b'{"kind": "drill",}'])
def test_body_not_json_400(shared_ad, body):
    before = len(list_alerts(shared_ad))
    r = post_alert(shared_ad, body)
    assert r.status == 400, r
    assert r.error()["code"] == "invalid_json", r
    assert len(list_alerts(shared_ad)) == before


@pytest.mark.parametrize("body", [b"[]", b'"drill"', b"null", b"42"])
def test_json_not_an_object_400(shared_ad, body):
    r = post_alert(shared_ad, body)
    assert r.status == 400, r
    r.error()


@pytest.mark.parametrize("ctype", ["text/plain", "text/csv",
                                   "application/x-www-form-urlencoded",
                                   None])
def test_wrong_content_type_415(shared_ad, ctype):
    before = len(list_alerts(shared_ad))
    r = shared_ad.request("POST", "/v1/alerts", token=CITY_OP,
                          body=json.dumps(alert_doc(), ensure_ascii=False),
                          content_type=ctype)
    assert r.status == 415, (ctype, r)
    r.error()
    assert len(list_alerts(shared_ad)) == before


def test_json_with_charset_accepted(ad):
    r = ad.request("POST", "/v1/alerts", token=CITY_OP,
                   body=json.dumps(alert_doc(), ensure_ascii=False),
                   content_type="application/json; charset=utf-8")
    assert r.status == 201, r


# ---- the drill mark ---------------------------------------------------------

def test_drill_mark_only_on_drills(ad):
    title = DRILL_MARK + "消防疏散"
    made = create(ad, alert_doc(kind="drill", title=title))
    assert made["kind"] == "drill"
    before = len(list_alerts(ad))
    r = post_alert(ad, alert_doc(kind="emergency", severity="red",
                                 title=title))
    assert r.status == 400, r
    r.error()
    r = post_alert(ad, alert_doc(kind="emergency", severity="red",
                                 title="  " + title))
    assert r.status == 400, r
    assert len(list_alerts(ad)) == before
    # the same emergency without the mark is fine
    made = create(ad, alert_doc(kind="emergency", severity="red",
                                title="消防疏散"))
    assert made["kind"] == "emergency"


# ---- Idempotency-Key --------------------------------------------------------

def test_idempotency_key_replay(ad):
    key = {"Idempotency-Key": "evac-2024-11-30-0001"}
    r1 = post_alert(ad, alert_doc(), headers=key)
    assert r1.status == 201, r1
    first = r1.json()
    n = len(list_alerts(ad))
    r2 = post_alert(ad, alert_doc(), headers=key)
    assert r2.status == r1.status, r2
    # the same answer; a "replayed" flag may tell the two apart
    again = r2.json()
    assert again.get("replayed") in (None, True), again
    first.pop("replayed", None)
    again.pop("replayed", None)
    assert again == first, (first, r2)
    assert len(list_alerts(ad)) == n
    assert len(recipients(ad, first["id"])) == 3
    # a request without the key is a new alert
    other = create(ad)
    assert other["id"] != first["id"]
    assert len(list_alerts(ad)) == n + 1


def test_idempotency_key_is_per_token(ad):
    key = {"Idempotency-Key": "same-key"}
    a = create(ad, token=CITY_OP, headers=key)
    b = create(ad, token=ADMIN, headers=key)
    assert a["id"] != b["id"], (a, b)
    assert len(list_alerts(ad)) == 2
    assert get_alert(ad, b["id"])["created_by"] == ADMIN.name
    again = post_alert(ad, alert_doc(), token=ADMIN, headers=key)
    assert again.json()["id"] == b["id"], again
    assert len(list_alerts(ad)) == 2


def test_idempotency_key_survives_restart(ad):
    key = {"Idempotency-Key": "restart-key"}
    first = create(ad, headers=key)
    ad.restart()
    r = post_alert(ad, alert_doc(), headers=key)
    assert r.json()["id"] == first["id"], r
    assert len(list_alerts(ad)) == 1


@pytest.mark.parametrize("key", ["k" * 129, "键", "a\tb"])
def test_bad_idempotency_key_400(shared_ad, key):
    before = len(list_alerts(shared_ad))
    hdr = {"Idempotency-Key": key.encode("utf-8").decode("latin-1")}
    r = post_alert(shared_ad, alert_doc(), headers=hdr)
    assert r.status == 400, r
    r.error()
    assert len(list_alerts(shared_ad)) == before


# ---- tokens and scopes ------------------------------------------------------

def test_unauthenticated_401(shared_ad):
    r = post_alert(shared_ad, alert_doc(), token=None)
    assert r.status == 401, r
    for path in ("/v1/alerts", "/v1/alerts/1", "/v1/alerts/1/recipients"):
        assert shared_ad.get(path, token=None).status == 401, path
    r = shared_ad.request("POST", "/v1/alerts/1/cancel", token=None)
    assert r.status == 401, r


@pytest.mark.parametrize("token", [VIEWER, NANHU_VIEWER])
def test_viewer_cannot_create_403(ad, token):
    r = post_alert(ad, alert_doc(), token=token)
    assert r.status == 403, r
    assert r.error()["code"] == "forbidden", r
    assert list_alerts(ad) == []


@pytest.mark.parametrize("targets", [[CJD], [SANZU_GRID], [HL],
                                     [NHC, CJD]])
def test_scoped_operator_outside_scope_403_audited(ad, targets):
    r = post_alert(ad, alert_doc(targets=targets), token=NANHU_OP)
    assert r.status == 403, r
    assert r.error()["code"] == "forbidden", r
    assert list_alerts(ad) == []
    outside = [t for t in targets if not t.startswith(NH)][0]
    hits = ad.wait_audit(lambda row: NANHU_OP.name in row and
                         outside in row)
    assert hits, ad.audit_rows()[-10:]


def test_scoped_operator_inside_scope(ad):
    made = create(ad, alert_doc(targets=[G01, G02]), token=NANHU_OP)
    assert made["recipients"] == 4, made
    assert get_alert(ad, made["id"])["created_by"] == NANHU_OP.name


def test_scoped_tokens_list_only_their_alerts(ad):
    helong = create(ad, alert_doc(targets=[CJD]), token=ADMIN)["id"]
    both = create(ad, alert_doc(targets=[NHC, CJD]), token=ADMIN)["id"]
    nanhu = create(ad, alert_doc(targets=[G01]), token=NANHU_OP)["id"]
    nanhu2 = create(ad, alert_doc(targets=[NH]), token=CITY_OP)["id"]

    def ids(token):
        return [a["id"] for a in list_alerts(ad, token=token)]

    assert ids(ADMIN) == [nanhu2, nanhu, both, helong]
    assert ids(VIEWER) == [nanhu2, nanhu, both, helong]
    assert ids(NANHU_VIEWER) == [nanhu2, nanhu]
    assert ids(NANHU_OP) == [nanhu2, nanhu]
    assert ids(HELONG_ADMIN) == [helong]
    assert get_alert(ad, nanhu, token=NANHU_VIEWER)["id"] == nanhu
    assert len(recipients(ad, nanhu, token=NANHU_VIEWER)) == 3


@pytest.mark.parametrize("token", [NANHU_VIEWER, NANHU_OP])
def test_scoped_get_out_of_scope_403_audited(ad, token):
    aid = create(ad, alert_doc(targets=[NHC, CJD]), token=ADMIN)["id"]
    for path in ("/v1/alerts/%d" % aid, "/v1/alerts/%d/recipients" % aid):
        r = ad.get(path, token=token)
        assert r.status == 403, (path, r)
        assert r.error()["code"] == "forbidden", r
    hits = ad.wait_audit(lambda row: token.name in row)
    assert hits, ad.audit_rows()[-10:]
    # no such alert at all: 404, not 403
    r = ad.get("/v1/alerts/%d" % (aid + 1000), token=token)
    assert r.status == 404, r


def test_unknown_alert_404(shared_ad):
    for path in ("/v1/alerts/999999", "/v1/alerts/999999/recipients"):
        r = shared_ad.get(path)
        assert r.status == 404, (path, r)
        r.error()


# ---- listing ----------------------------------------------------------------

def test_list_entries(ad):
    a = create(ad)
    b = create(ad, alert_doc(kind="notice", severity=DROP, title="停水通知",
                             targets=[CJD]))
    got = list_alerts(ad, token=VIEWER)
    assert [x["id"] for x in got] == [b["id"], a["id"]], got
    for x in got:
        for k in ("id", "code", "kind", "severity", "title", "state",
                  "created_at", "expires_at", "recipients", "created_by"):
            assert k in x, (k, x)
        rfc3339(x["created_at"])
        rfc3339(x["expires_at"])
        assert x["state"] == "active", x
        assert x["created_by"] == CITY_OP.name, x
    assert (got[0]["code"], got[0]["kind"], got[0]["severity"],
            got[0]["title"], got[0]["recipients"]) == \
        (b["code"], "notice", "blue", "停水通知", 3), got[0]
    assert (got[1]["kind"], got[1]["recipients"]) == ("drill", 3), got[1]


def test_list_newest_first_at_most_100(ad):
    made = [create(ad, alert_doc(title="第%d次" % i))["id"]
            for i in range(102)]
    got = [x["id"] for x in list_alerts(ad)]
    assert got == sorted(made, reverse=True)[:100], got[:5]


# ---- cancel -----------------------------------------------------------------

def test_cancel(ad):
    made = create(ad, alert_doc(targets=[NH]))
    keep = create(ad, alert_doc(targets=[HL]))
    aid = made["id"]
    r = cancel(ad, aid)
    assert r.status == 200, r
    got = r.json()
    assert (got["id"], got["state"], got["cancelled"]) == \
        (aid, "cancelled", 4), got
    doc = get_alert(ad, aid)
    assert doc["state"] == "cancelled", doc
    assert doc["counts"] == zero_counts(cancelled=4), doc
    assert doc["grids"] == {G01: zero_counts(cancelled=3),
                            G02: zero_counts(cancelled=1)}, doc
    assert recipients(ad, aid, state="pending") == []
    rc = recipients(ad, aid, state="cancelled")
    assert len(rc) == 4 and all(x["state"] == "cancelled" for x in rc), rc
    # the other alert is untouched
    assert get_alert(ad, keep["id"])["counts"] == zero_counts(pending=3)
    assert [x["id"] for x in list_alerts(ad, query="?state=active")] == \
        [keep["id"]]
    assert [x["id"] for x in list_alerts(ad, query="?state=cancelled")] == \
        [aid]
    states = {x["id"]: x["state"] for x in list_alerts(ad)}
    assert states == {aid: "cancelled", keep["id"]: "active"}, states
    # twice: fine, nothing more to cancel
    r = cancel(ad, aid)
    assert r.status == 200, r
    got = r.json()
    assert (got["id"], got["state"], got["cancelled"]) == \
        (aid, "cancelled", 0), got
    assert get_alert(ad, aid)["counts"] == zero_counts(cancelled=4)


def test_cancel_refusals(ad):
    r = cancel(ad, 4242)
    assert r.status == 404, r
    r.error()
    aid = create(ad, alert_doc(targets=[CJD]), token=ADMIN)["id"]
    r = cancel(ad, aid, token=VIEWER)
    assert r.status == 403, r
    r = cancel(ad, aid, token=NANHU_OP)
    assert r.status == 403, r
    assert r.error()["code"] == "forbidden", r
    code = "A" + b36(aid)
    hits = ad.wait_audit(lambda row: NANHU_OP.name in row and
                         ("alert.cancel" in row or code in row))
    assert hits, ad.audit_rows()[-10:]
    assert get_alert(ad, aid)["state"] == "active"
    assert get_alert(ad, aid)["counts"] == zero_counts(pending=3)
    r = cancel(ad, aid, token=HELONG_ADMIN)
    assert r.status == 200, r
    assert r.json()["cancelled"] == 3, r


def test_cancel_over_control_socket(ad):
    aid = create(ad)["id"]
    r = ad.unix("POST", "/v1/alerts/%d/cancel" % aid)
    assert r.status == 200, r
    assert r.json()["cancelled"] == 3, r


# ---- durability, audit, logs ------------------------------------------------

def test_alert_survives_restart(ad):
    a = create(ad, alert_doc(targets=[NH, HL], roles=ALL_ROLES))
    b = create(ad, alert_doc(targets=[CJD]))
    assert cancel(ad, b["id"]).status == 200
    before = [get_alert(ad, x["id"]) for x in (a, b)]
    rc = [recipients(ad, x["id"]) for x in (a, b)]
    listed = list_alerts(ad)
    ad.restart()
    assert [get_alert(ad, x["id"]) for x in (a, b)] == before
    assert [recipients(ad, x["id"]) for x in (a, b)] == rc
    assert list_alerts(ad) == listed
    c = create(ad)
    assert c["id"] > b["id"], c


def test_alert_survives_sigkill(ad):
    # 201 only once the alert and its recipients are on disk
    made = create(ad, alert_doc(targets=[NH, HL]))
    ad.stop(sig=signal.SIGKILL)
    ad.start()
    doc = get_alert(ad, made["id"])
    assert (doc["recipients"], doc["counts"]) == \
        (7, zero_counts(pending=7)), doc
    assert len(recipients(ad, made["id"])) == 7


def test_audit_rows(ad):
    aid = create(ad)["id"]
    hits = ad.wait_audit(lambda row: "alert.create" in row and
                         CITY_OP.name in row)
    assert len(hits) == 1, ad.audit_rows()
    assert cancel(ad, aid, token=ADMIN).status == 200
    hits = ad.wait_audit(lambda row: "alert.cancel" in row and
                         ADMIN.name in row)
    assert len(hits) == 1, ad.audit_rows()
    text = "\n".join(ad.audit_rows())
    for t in ALERT_TOKENS:
        assert t.secret not in text
        assert t.sha256 not in text


def test_no_full_phone_in_log(ad):
    aid = create(ad, alert_doc(targets=[NH, HL], roles=ALL_ROLES))["id"]
    recipients(ad, aid)
    cancel(ad, aid)
    time.sleep(0.2)
    assert full_phones(ad.log()) == [], ad.log_tail()
