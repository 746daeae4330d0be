"""
A loopback stand-in for the three group-robot webhooks, standard library
only, checking each POST as its provider documents it:

  DingTalk custom robot  POST /dingtalk/robot/send?access_token=T
      with 加签: &timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256, key =
      secret, message = timestamp "\\n" secret>, timestamp within an hour;
      body {"msgtype": "markdown", "markdown": {"title", "text"},
      "at": {"atMobiles": [...], "isAtAll": false}}, each mobile @-named in
      the text.  Answers {"errcode": 0, "errmsg": "ok"}; throttled
      130101 "send too fast, exceed 20 times per minute"; 310000 "sign not
      match" for a bad signature.
  WeCom group robot      POST /wecom/cgi-bin/webhook/send?key=K
      body {"msgtype": "text", "text": {"content" (<= 2048 bytes),
      "mentioned_mobile_list"}} or markdown {"content"} (<= 4096 bytes).
      Answers {"errcode": 0, "errmsg": "ok"}; 45009 "api freq out of
      limit"; 93000 "invalid webhook url" for an unknown key.
  Feishu custom bot      POST /feishu/open-apis/bot/v2/hook/H
      with 签名校验: body "timestamp" (seconds, within an hour) and "sign" =
      base64 HMAC-SHA256 keyed with timestamp "\\n" secret over no bytes;
      body {"msg_type": "post", "content": {"post": {"zh_cn": {"title",
      "content": [[elements]]}}}} at most 20 KB.  Answers {"code": 0,
      "data": {}, "msg": "success"}; 11232 "frequency limited"; 19021
      "sign match fail or timestamp is not within one hour from current
      time".

    fake = FakeRobots(secrets={"g01": "SECabc"})   # robot id -> secret
    fake.script("g01", ["throttle", "ok"])          # next answers for g01
    url = fake.url("dingtalk", "g01")
    ... fake.posts (accepted: (provider, id, body)) ... fake.problems ...
"""

import base64
import hashlib
import hmac
import http.server
import json
import re
import threading
import time
import urllib.parse

WINDOW = 3600
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")

ANSWERS = {
    "dingtalk": {
        "ok": {"errcode": 0, "errmsg": "ok"},
        "throttle": {"errcode": 130101,
                     "errmsg": "send too fast, exceed 20 times per minute"},
        "sign": {"errcode": 310000,
                 "errmsg": "sign not match, more: [https://ding-doc."
                           "dingtalk.com/doc#/serverapi2/qf2nxq]"},
    },
    "wecom": {
        "ok": {"errcode": 0, "errmsg": "ok"},
        "throttle": {"errcode": 45009,
                     "errmsg": "api freq out of limit, hint: [1651125626_1]"},
        "sign": {"errcode": 93000,
                 "errmsg": "invalid webhook url, hint: [1651125626_2]"},
    },
    "feishu": {
        "ok": {"code": 0, "data": {}, "msg": "success"},
        "throttle": {"code": 11232, "data": {},
                     "msg": "frequency limited psm[lark.oapi.app_platform_"
                            "runtime]appID[1]"},
        "sign": {"code": 19021, "data": {},
                 "msg": "sign match fail or timestamp is not within one "
                        "hour from current time"},
    },
}


def b64_hmac(key, msg):
    return base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


def dingtalk_sign(secret, ts_ms):
    return b64_hmac(secret.encode(), ("%s\n%s" % (ts_ms, secret)).encode())


def feishu_sign(secret, ts_s):
    return b64_hmac(("%s\n%s" % (ts_s, secret)).encode(), b"")


class FakeRobots:
    def __init__(self, secrets=None):
        self.secrets = dict(secrets or {})
        self.scripts = {}
        self.posts = []
        self.requests = []
        self.problems = []
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                code, answer = fake.handle(self.path, self.headers, body)
                out = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def url(self, provider, rid):
        base = "http://127.0.0.1:%d" % self.port
        return {"dingtalk": base + "/dingtalk/robot/send?access_token=" + rid,
                "wecom": base + "/wecom/cgi-bin/webhook/send?key=" + rid,
                "feishu": base + "/feishu/open-apis/bot/v2/hook/" + rid,
                }[provider]

    def script(self, rid, answers):
        with self.lock:
            self.scripts.setdefault(rid, []).extend(answers)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def posts_for(self, rid):
        with self.lock:
            return [b for (_, r, b) in self.posts if r == rid]

    # ---- checks ---------------------------------------------------------

    def problem(self, what):
        self.problems.append(what)

    def handle(self, path, headers, raw):
        u = urllib.parse.urlsplit(path)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        ctype = headers.get("Content-Type", "")
        if not ctype.startswith("application/json"):
            self.problem("Content-Type %r" % ctype)
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            self.problem("body is not UTF-8 JSON")
            return 400, {"errcode": 400, "errmsg": "bad json"}
        if u.path == "/dingtalk/robot/send":
            provider, rid = "dingtalk", q.get("access_token", [""])[0]
            ok = self.check_dingtalk(rid, q, body)
        elif u.path == "/wecom/cgi-bin/webhook/send":
            provider, rid = "wecom", q.get("key", [""])[0]
            ok = self.check_wecom(body)
        elif u.path.startswith("/feishu/open-apis/bot/v2/hook/"):
            provider, rid = "feishu", u.path.rsplit("/", 1)[1]
            ok = self.check_feishu(rid, body, len(raw))
        else:
            self.problem("unknown path %s" % u.path)
            return 404, {}
        with self.lock:
            self.requests.append((provider, rid, body))
            if not ok:
                return 200, ANSWERS[provider]["sign"]
            step = self.scripts.get(rid, [])
            what = step.pop(0) if step else "ok"
            if what == "ok":
                self.posts.append((provider, rid, body))
        return 200, ANSWERS[provider][what]

    def check_ts(self, ts, scale):
        try:
            t = int(ts) / scale
        except (TypeError, ValueError):
            self.problem("timestamp %r is not an integer" % (ts,))
            return False
        if abs(time.time() - t) > WINDOW:
            self.problem("timestamp %r outside the hour" % ts)
            return False
        return True

    def check_dingtalk(self, rid, q, body):
        secret = self.secrets.get(rid)
        if secret is not None:
            ts, sign = q.get("timestamp", [None])[0], q.get("sign", [None])[0]
            if not self.check_ts(ts, 1000.0):
                return False
            # parse_qs has URL-decoded sign once, as DingTalk does.
            if sign != dingtalk_sign(secret, ts):
                self.problem("dingtalk sign does not match")
                return False
        md = body.get("markdown", {})
        at = body.get("at", {})
        if body.get("msgtype") != "markdown" or not isinstance(
                md.get("title"), str) or not isinstance(md.get("text"), str):
            self.problem("dingtalk body shape: %r" % body)
            return False
        for m in at.get("atMobiles", []):
            if not MOBILE.match(m) or "@" + m not in md["text"]:
                self.problem("atMobiles %r not @-named in the text" % m)
        if at.get("isAtAll") is not False:
            self.problem("isAtAll is not false")
        return True

    def check_wecom(self, body):
        t = body.get("msgtype")
        if t == "text":
            c = body.get("text", {}).get("content")
            if not isinstance(c, str) or len(c.encode()) > 2048:
                self.problem("wecom text content missing or over 2048 bytes")
            for m in body["text"].get("mentioned_mobile_list", []):
                if not MOBILE.match(m):
                    self.problem("mentioned_mobile_list entry %r" % m)
        elif t == "markdown":
            c = body.get("markdown", {}).get("content")
            if not isinstance(c, str) or len(c.encode()) > 4096:
                self.problem("wecom markdown content missing or too long")
        else:
            self.problem("wecom msgtype %r" % t)
        return True

    def check_feishu(self, rid, body, size):
        secret = self.secrets.get(rid)
        if size > 20 * 1024:
            self.problem("feishu body over 20 KB")
        if secret is not None:
            ts, sign = body.get("timestamp"), body.get("sign")
            if not isinstance(ts, str) or not self.check_ts(ts, 1.0):
                return False
            if sign != feishu_sign(secret, ts):
                self.problem("feishu sign does not match")
                return False
        post = body.get("content", {}).get("post", {}).get("zh_cn", {})
        if body.get("msg_type") != "post" or not isinstance(
                post.get("title"), str) or not isinstance(
                post.get("content"), list):
            self.problem("feishu body shape: %r" % body)
        return True
