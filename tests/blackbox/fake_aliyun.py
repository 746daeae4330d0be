"""
A loopback stand-in for Aliyun's SMS API (dysmsapi 2017-05-25, RPC style),
standard library only.  It checks each SendSms POST the way Aliyun
documents it: every common and SendSms parameter present, the HMAC-SHA1
signature (SignatureVersion 1.0) re-computed with the secret, Timestamp in
ISO 8601 UTC within 15 minutes of now, SignatureNonce never seen before,
PhoneNumbers 1 to 1000 mainland numbers, TemplateParam a JSON object of
strings.  It answers with the documented bodies:

    OK        {"Message":"OK","RequestId":...,"Code":"OK","BizId":...}
    "limit"   isv.BUSINESS_LIMIT_CONTROL (flow control on a number)
    "throttle" HTTP 400 Throttling.User (the API's QPS limit)
    "template" isv.SMS_TEMPLATE_ILLEGAL (a permanent error)
    "day_limit" isv.DAY_LIMIT_CONTROL (the console's daily total: permanent)

and, for a request that breaks a rule, the error Aliyun gives for it
(SignatureDoesNotMatch, SignatureNonceUsed, InvalidTimeStamp.Expired,
MissingParameter, isv.MOBILE_NUMBER_ILLEGAL ...), noting the problem in
.problems so a test can insist there are none.

    fake = FakeAliyun("LTAI...", "secret")
    fake.script(["limit", "ok"])     # answers for the next requests
    ...  fake.url  ...  fake.requests  ...  fake.stop()

Faults (gateway_faults.py): fake.fault, when set, is called with the
numbers of each valid request and returns None (the script's answer), one
of the answers above by name, or a fault below HTTP (a bare 500, a reset,
a hang, a drip).  fake.away() refuses connections until fake.back().
"""

import base64
import datetime
import hashlib
import hmac
import http.server
import json
import re
import threading
import time
import urllib.parse
import uuid

import gateway_faults
from conftest import scaled

REQUIRED = ("AccessKeyId", "Action", "Format", "PhoneNumbers", "RegionId",
            "SignName", "Signature", "SignatureMethod", "SignatureNonce",
            "SignatureVersion", "TemplateCode", "Timestamp", "Version")
PHONE = re.compile(r"^1[3-9][0-9]{9}$")
WINDOW = 15 * 60
# The error answers a script may name: (HTTP status, Code, Message).
ANSWERS = {
    "limit": (200, "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1"),
    "throttle": (400, "Throttling.User", "Request was denied due to user "
                 "flow control."),
    "template": (200, "isv.SMS_TEMPLATE_ILLEGAL", "模板不合法"),
    "day_limit": (200, "isv.DAY_LIMIT_CONTROL", "触发日发送限额"),
}


def pct(s):
    """Aliyun's percent-encoding: RFC 3986 unreserved kept, '~' too."""
    return urllib.parse.quote(s, safe="~")


def signature(method, params, secret):
    canon = "&".join("%s=%s" % (pct(k), pct(v))
                     for k, v in sorted(params.items()) if k != "Signature")
    sts = "%s&%s&%s" % (method, pct("/"), pct(canon))
    mac = hmac.new((secret + "&").encode(), sts.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def parse_form(body):
    """The form's parameters; ValueError for a malformed or repeated one."""
    out = {}
    for pair in body.split("&"):
        k, sep, v = pair.partition("=")
        if not sep or "+" in pair:
            raise ValueError("malformed pair %r" % pair[:40])
        k = urllib.parse.unquote(k, errors="strict")
        if k in out:
            raise ValueError("%s twice" % k)
        out[k] = urllib.parse.unquote(v, errors="strict")
    return out


class FakeAliyun:
    def __init__(self, key_id, secret):
        self.key_id = key_id
        self.secret = secret
        self.requests = []	# every SendSms taken: dicts, see _record
        self.problems = []	# what broke the documented rules
        self.nonces = set()
        self.answers = []	# scripted answers, then "ok"
        self.cond = threading.Condition()
        self._biz = 100000000000000000
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode("utf-8", "replace")
                status, doc, fault = fake._handle(self.path, self.headers,
                                                  body)
                out = json.dumps(doc, ensure_ascii=False).encode()
                gateway_faults.respond(self, status, {
                    "Content-Type": "application/json;charset=utf-8"},
                    out, fault)

            def do_GET(self):
                fake._problem("GET %s: SendSms is POSTed here" % self.path)
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.fault = None
        self.listener = gateway_faults.Listener(Handler)
        self.url = "http://127.0.0.1:%d/" % self.listener.port

    def stop(self):
        self.listener.stop()

    def away(self):
        """Gone: connections refused (and open ones closed) until back()."""
        self.listener.away()

    def back(self):
        self.listener.back()

    def script(self, answers):
        """Answers for the next valid requests ("ok", "limit", ...)."""
        with self.cond:
            self.answers = list(answers)

    # -- checking

    def _problem(self, what):
        with self.cond:
            self.problems.append(what)

    def _error(self, status, code, message, what=None):
        if what is not None:
            self._problem(what)
        return status, {"Message": message, "RequestId": str(uuid.uuid4()),
                        "Recommend": "", "HostId": "dysmsapi.aliyuncs.com",
                        "Code": code}

    def _check(self, path, headers, body):
        """None, or the error answer for a request that breaks a rule."""
        if path != "/":
            return self._error(404, "InvalidAction.NotFound",
                               "Specified api is not found",
                               "path %r" % path)
        ctype = headers.get("Content-Type", "")
        if not ctype.startswith("application/x-www-form-urlencoded"):
            return self._error(400, "MissingParameter", "form expected",
                               "Content-Type %r" % ctype)
        try:
            p = parse_form(body)
        except (ValueError, UnicodeDecodeError) as e:
            return self._error(400, "InvalidParameter", str(e), str(e))
        missing = [k for k in REQUIRED if not p.get(k)]
        if missing:
            return self._error(400, "MissingParameter",
                               "missing " + ",".join(missing),
                               "missing %s" % missing)
        fixed = {"Action": "SendSms", "Format": "JSON", "Version": "2017-05-25",
                 "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
                 "RegionId": "cn-hangzhou"}
        for k, v in fixed.items():
            if p[k] != v:
                return self._error(400, "InvalidParameter", k,
                                   "%s = %r" % (k, p[k]))
        if p["AccessKeyId"] != self.key_id:
            return self._error(404, "InvalidAccessKeyId.NotFound",
                               "Specified access key is not found.",
                               "AccessKeyId %r" % p["AccessKeyId"])
        if not hmac.compare_digest(p["Signature"],
                                   signature("POST", p, self.secret)):
            return self._error(400, "SignatureDoesNotMatch",
                               "Specified signature is not matched with "
                               "our calculation.", "bad signature")
        return self._check_values(p) or p

    def _check_values(self, p):
        try:
            ts = datetime.datetime.strptime(p["Timestamp"],
                                            "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            return self._error(400, "InvalidTimeStamp.Format",
                               "Specified time stamp or date value is not "
                               "well formatted.", "Timestamp %r" %
                               p["Timestamp"])
        ts = ts.replace(tzinfo=datetime.timezone.utc).timestamp()
        if abs(ts - time.time()) > WINDOW:
            return self._error(400, "InvalidTimeStamp.Expired",
                               "Specified time stamp or date value is "
                               "expired.", "Timestamp %r" % p["Timestamp"])
        with self.cond:
            seen = p["SignatureNonce"] in self.nonces
            self.nonces.add(p["SignatureNonce"])
        if seen:
            return self._error(400, "SignatureNonceUsed",
                               "Specified signature nonce was used already.",
                               "nonce %s used twice" % p["SignatureNonce"])
        nums = p["PhoneNumbers"].split(",")
        if not 1 <= len(nums) <= 1000 or not all(PHONE.match(x)
                                                  for x in nums):
            return self._error(200, "isv.MOBILE_NUMBER_ILLEGAL",
                               "非法手机号", "PhoneNumbers malformed")
        if len(set(nums)) != len(nums):
            self._problem("a number twice in PhoneNumbers")
        try:
            tp = json.loads(p.get("TemplateParam", "{}"))
            assert isinstance(tp, dict) and all(
                isinstance(v, str) for v in tp.values())
        except (ValueError, AssertionError):
            return self._error(200, "isv.INVALID_JSON_PARAM",
                               "JSON参数不合法，只接受字符串值",
                               "TemplateParam %r" % p.get("TemplateParam"))
        return None

    # -- answering

    def _handle(self, path, headers, body):
        """(status, answer, fault) for one request."""
        p = self._check(path, headers, body)
        if isinstance(p, tuple):
            return p + (None,)
        fault = self.fault(p["PhoneNumbers"].split(",")) if self.fault \
            else None
        if gateway_faults.replaces_answer(fault):
            self._record(p, None, {"Code": None}, fault)
            return None, None, fault
        with self.cond:
            what = gateway_faults.answer_of(fault)
            if what is None:
                what = self.answers.pop(0) if self.answers else "ok"
        if what == "ok":
            with self.cond:
                self._biz += 1
                biz = "%d^0" % self._biz
            status, doc = 200, {"Message": "OK", "RequestId":
                                str(uuid.uuid4()), "Code": "OK",
                                "BizId": biz}
        elif what in ANSWERS:
            status, doc = self._error(*ANSWERS[what])
        else:
            raise AssertionError("unknown scripted answer %r" % what)
        self._record(p, status, doc, fault)
        return status, doc, fault if gateway_faults.is_fault(fault) else None

    def _record(self, p, status, doc, fault=None):
        with self.cond:
            self.requests.append({
                "params": p, "numbers": p["PhoneNumbers"].split(","),
                "template_param": json.loads(p.get("TemplateParam", "{}")),
                "code": doc["Code"], "biz_id": doc.get("BizId"),
                "status": status, "fault": fault, "at": time.monotonic()})
            self.cond.notify_all()

    # -- waiting

    def wait(self, pred, timeout=15.0):
        """Requests matching pred, once pred(requests) says enough."""
        end = time.monotonic() + scaled(timeout)
        with self.cond:
            while not pred(self.requests):
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("fake Aliyun waited %.0f s: %r; "
                                         "problems %r" % (
                                             timeout, self.requests[-5:],
                                             self.problems))
                self.cond.wait(left)
            return list(self.requests)

    def accepted(self):
        """{phone: biz_id} of every number an OK answer took."""
        with self.cond:
            return {n: r["biz_id"] for r in self.requests
                    if r["code"] == "OK" for n in r["numbers"]}
