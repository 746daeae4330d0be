"""
A loopback stand-in for Tencent Cloud SMS API 3.0 (SendSms, 2021-01-11),
standard library only.  It checks each request as Tencent documents it
and answers in Tencent's shapes:

- POST / with Content-Type "application/json; charset=utf-8", a Host
  header, X-TC-Action SendSms, X-TC-Version 2021-01-11, X-TC-Region, and
  X-TC-Timestamp within 5 minutes of now (else AuthFailure.SignatureExpire);
- Authorization "TC3-HMAC-SHA256 Credential=ID/DATE/sms/tc3_request,
  SignedHeaders=content-type;host, Signature=HEX", recomputed here with
  the secret key over the headers and body as received (DATE is the UTC
  day of the timestamp); a mismatch is AuthFailure.SignatureFailure, an
  unknown SecretId AuthFailure.SecretIdNotFound;
- a JSON body with PhoneNumberSet (1 to 200 "+86" mobile numbers, no
  repeats), SmsSdkAppId, SignName, TemplateId, TemplateParamSet (strings,
  as many as the template has variables) and SessionContext.

A good request is answered by `script(n, doc)` (n = 1, 2, ... over good
requests): None for every number "Ok", a string for a whole-call
Response.Error code, or a dict {"+86...": code} for per-number codes
(numbers not in it get "Ok").  Every number taken gets a SerialNo; the
status callback quotes it as "sid".  Everything received is recorded.

Faults (gateway_faults.py): fake.fault, when set, is called with the
numbers (11 digits) of each good request and returns None (the script
decides), a code or dict as script returns them, or a fault below HTTP
(a bare 500, a reset, a hang, a drip).  fake.away() refuses connections
until fake.back().
"""

import hashlib
import hmac
import http.server
import json
import re
import threading
import time
import uuid
from datetime import datetime, timezone

import gateway_faults
from conftest import scaled

CTYPE = "application/json; charset=utf-8"
AUTH_RE = re.compile(r"^TC3-HMAC-SHA256 Credential=([A-Za-z0-9]+)/"
                     r"(\d{4}-\d{2}-\d{2})/sms/tc3_request, "
                     r"SignedHeaders=content-type;host, "
                     r"Signature=([0-9a-f]{64})$")
E164_RE = re.compile(r"^\+861[3-9][0-9]{9}$")
MAX_NUMBERS = 200
SKEW = 300


def tc3_signature(secret_key, timestamp, host, ctype, body, service="sms"):
    """Hex TC3-HMAC-SHA256 signature of a POST / with body (bytes)."""
    date = datetime.fromtimestamp(timestamp, timezone.utc).strftime(
        "%Y-%m-%d")
    canon = "POST\n/\n\ncontent-type:%s\nhost:%s\n\ncontent-type;host\n%s" % (
        ctype.lower(), host.lower(), hashlib.sha256(body).hexdigest())
    sts = "TC3-HMAC-SHA256\n%d\n%s/%s/tc3_request\n%s" % (
        timestamp, date, service,
        hashlib.sha256(canon.encode()).hexdigest())

    def mac(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    k = mac(("TC3" + secret_key).encode(), date)
    k = mac(mac(k, service), "tc3_request")
    return hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()


class FakeTencent:
    def __init__(self, secret_id, secret_key, app_id, template_id,
                 n_params, script=None):
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.app_id = app_id
        self.template_id = template_id
        self.n_params = n_params
        self.script = script or (lambda n, doc: None)
        self.requests = []	# every request, good or not
        self.good = 0
        self.serial = 0
        self.cond = threading.Condition()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                status, answer, fault = fake._handle(self.path,
                                                     self.headers, body)
                out = json.dumps(answer, ensure_ascii=False).encode()
                gateway_faults.respond(self, status, {"Content-Type": CTYPE},
                                       out, fault)

            def do_GET(self):
                fake._record({"path": self.path, "error":
                              "InvalidRequest: GET"})
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.fault = None
        self.listener = gateway_faults.Listener(Handler)

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.listener.port

    def close(self):
        self.listener.stop()

    def away(self):
        """Gone: connections refused (and open ones closed) until back()."""
        self.listener.away()

    def back(self):
        self.listener.back()

    # -- checking

    def _check_headers(self, path, h, body):
        if path != "/":
            return "InvalidAction", "the path must be /, not %r" % path
        if h.get("Content-Type") != CTYPE:
            return "InvalidParameter", "Content-Type %r" % h.get(
                "Content-Type")
        if h.get("X-TC-Action") != "SendSms":
            return "InvalidAction", "X-TC-Action %r" % h.get("X-TC-Action")
        if h.get("X-TC-Version") != "2021-01-11":
            return "NoSuchVersion", "X-TC-Version %r" % h.get("X-TC-Version")
        if not h.get("X-TC-Region"):
            return "MissingParameter", "no X-TC-Region"
        ts = h.get("X-TC-Timestamp") or ""
        if not ts.isdigit():
            return "MissingParameter", "X-TC-Timestamp %r" % ts
        if abs(time.time() - int(ts)) > SKEW:
            return "AuthFailure.SignatureExpire", "timestamp %s" % ts
        m = AUTH_RE.match(h.get("Authorization") or "")
        if not m:
            return "AuthFailure.InvalidAuthorization", "Authorization %r" % (
                h.get("Authorization"),)
        sid, date, sig = m.groups()
        if sid != self.secret_id:
            return "AuthFailure.SecretIdNotFound", "SecretId %r" % sid
        want_date = datetime.fromtimestamp(int(ts), timezone.utc).strftime(
            "%Y-%m-%d")
        if date != want_date:
            return "AuthFailure.SignatureFailure", "date %s, want %s" % (
                date, want_date)
        want = tc3_signature(self.secret_key, int(ts), h.get("Host") or "",
                             CTYPE, body)
        if not hmac.compare_digest(sig, want):
            return "AuthFailure.SignatureFailure", "signature mismatch"
        return None

    def _check_body(self, doc):
        if not isinstance(doc, dict):
            return "FailedOperation.FailResolvePacket", "not an object"
        phones = doc.get("PhoneNumberSet")
        if not isinstance(phones, list) or not phones:
            return "MissingParameter.EmptyPhoneNumberSet", "PhoneNumberSet"
        if len(phones) > MAX_NUMBERS:
            return "LimitExceeded.PhoneNumberCountLimit", "%d numbers" % len(
                phones)
        if not all(isinstance(p, str) and E164_RE.match(p) for p in phones):
            return "InvalidParameterValue.IncorrectPhoneNumber", "a number"
        if len(set(phones)) != len(phones):
            return "InvalidParameterValue.IncorrectPhoneNumber", "a repeat"
        if doc.get("SmsSdkAppId") != self.app_id:
            return "InvalidParameterValue.SdkAppIdNotExist", "SmsSdkAppId"
        if not isinstance(doc.get("SignName"), str) or not doc["SignName"]:
            return "FailedOperation.SignatureIncorrectOrUnapproved", "SignName"
        if doc.get("TemplateId") != self.template_id:
            return "FailedOperation.TemplateUnapprovedOrNotExist", "TemplateId"
        params = doc.get("TemplateParamSet", [])
        if not isinstance(params, list) or len(params) != self.n_params or \
                not all(isinstance(p, str) and p for p in params):
            return ("FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                    "TemplateParamSet %r" % (params,))
        if not isinstance(doc.get("SessionContext"), str):
            return "InvalidParameter", "SessionContext"
        return None

    # -- answering

    def _record(self, r):
        with self.cond:
            self.requests.append(r)
            self.cond.notify_all()

    def _error(self, code, message):
        return {"Response": {"Error": {"Code": code, "Message": message},
                             "RequestId": str(uuid.uuid4())}}

    def _statuses(self, doc, codes):
        out = []
        with self.cond:
            for p in doc["PhoneNumberSet"]:
                code = (codes or {}).get(p, "Ok")
                serial = ""
                if code == "Ok":
                    self.serial += 1
                    serial = "2433:%d" % self.serial
                out.append({"SerialNo": serial, "PhoneNumber": p,
                            "Fee": 1 if code == "Ok" else 0,
                            "SessionContext": doc["SessionContext"],
                            "Code": code,
                            "Message": "send success" if code == "Ok"
                            else code, "IsoCode": "CN"})
        return {"Response": {"SendStatusSet": out,
                             "RequestId": str(uuid.uuid4())}}

    def _handle(self, path, headers, body):
        """(status, answer, fault) for one request."""
        r = {"path": path, "headers": dict(headers.items()), "raw": body,
             "doc": None, "error": None, "answer": None, "fault": None,
             "at": time.monotonic()}
        bad = self._check_headers(path, headers, body)
        if bad is None:
            try:
                r["doc"] = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                bad = ("FailedOperation.JsonParseFail", "body is not JSON")
        if bad is None:
            bad = self._check_body(r["doc"])
        if bad is not None:
            r["error"] = "%s: %s" % bad
            r["answer"] = self._error(*bad)
            self._record(r)
            return 200, r["answer"], None
        with self.cond:
            self.good += 1
            n = self.good
        if self.fault is not None:
            r["fault"] = self.fault([p[3:] for p in
                                     r["doc"]["PhoneNumberSet"]])
        if gateway_faults.replaces_answer(r["fault"]):
            self._record(r)
            return None, None, r["fault"]
        what = gateway_faults.answer_of(r["fault"])
        if what is None:
            what = self.script(n, r["doc"])
        if isinstance(what, str):
            r["answer"] = self._error(what, "scripted " + what)
        else:
            r["answer"] = self._statuses(r["doc"], what)
        self._record(r)
        return 200, r["answer"], (r["fault"] if gateway_faults.is_fault(
            r["fault"]) else None)

    # -- what the test reads

    def snapshot(self):
        with self.cond:
            return list(self.requests)

    def bad(self):
        return [r for r in self.snapshot() if r["error"]]

    def wait(self, pred, timeout=15.0):
        """Requests while pred(requests) is false; fail after timeout."""
        end = time.monotonic() + scaled(timeout)
        with self.cond:
            while not pred(self.requests):
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("fake Tencent: condition not met "
                                         "in %.0f s; got %r" % (
                                             timeout, self.requests[-5:]))
                self.cond.wait(left)
            return list(self.requests)

    def accepted(self):
        """{phone (11 digits): SerialNo} of every number taken so far."""
        out = {}
        for r in self.snapshot():
            resp = (r["answer"] or {}).get("Response", {})
            for s in resp.get("SendStatusSet", []):
                if s["Code"] == "Ok":
                    out[s["PhoneNumber"][3:]] = s["SerialNo"]
        return out
