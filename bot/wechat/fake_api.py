"""A fake WeChat API server for tests and demos: `youthbot fake-wechat --port N`.

Serves what youthbot calls (token, stable token, custom send, template send,
menu create, parametric QR codes, user info), records what it received, and can be told to fail:

    POST /_fake/fail   {"errcode": 40001, "times": 1}    next call(s) answer that error
                       ("endpoint": "stable_token" aims it at the token endpoints instead)
                       (any errcode, or "http": 500 for a server error)
    GET  /_fake/messages?touser=OPENID&after=N           what was sent, after the N-th
    GET  /_fake/qrcodes                                  the parametric QR codes issued, with their scenes
    GET  /_fake/stats                                    counts by endpoint
    POST /_fake/reset
"""
from __future__ import annotations

import secrets
import threading
from collections import Counter

from flask import Flask, jsonify, request


class FakeWeChat:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.tokens: set[str] = set()
            self.messages: list[dict] = []
            self.menus: list[dict] = []
            self.qrcodes: dict[str, dict] = {}  # ticket -> {"scene", "expire_seconds", "url"}
            self.failures: list[dict] = []
            self.calls: Counter = Counter()

    def new_token(self) -> str:
        token = "FAKE_" + secrets.token_hex(64)  # real tokens are long: reserve 512 characters
        self.tokens.add(token)
        return token

    def record(self, touser: str, kind: str, text: str, **extra) -> int:
        """Keep one message as received; return its number."""
        with self.lock:
            self.messages.append({"n": len(self.messages) + 1, "touser": touser, "type": kind, "text": text, **extra})
            return len(self.messages)

    def take_failure(self, endpoint: str | None = None) -> dict | None:
        """The next injected failure for a call: aimed at `endpoint`, or (None) at any API call."""
        with self.lock:
            failure = next((f for f in self.failures if f.get("endpoint") == endpoint), None)
            if failure is None:
                return None
            failure["times"] -= 1
            if failure["times"] <= 0:
                self.failures.remove(failure)
            return failure


def create_fake_app(fake: FakeWeChat | None = None) -> Flask:
    fake = fake or FakeWeChat()
    app = Flask("fake_wechat")
    app.extensions["fake_wechat"] = fake

    def failure_response(endpoint=None):
        failure = fake.take_failure(endpoint)
        if failure is None:
            return None
        if failure.get("http"):
            return "server error", int(failure["http"])
        return jsonify(errcode=failure["errcode"], errmsg=failure.get("errmsg", "injected by fake-wechat"))

    def checked(endpoint):
        fake.calls[endpoint] += 1
        injected = failure_response()
        if injected is not None:
            return injected
        if request.args.get("access_token") not in fake.tokens:
            return jsonify(errcode=40001, errmsg="invalid credential, access_token is invalid or not latest")
        return None

    @app.get("/cgi-bin/token")
    def token():
        fake.calls["token"] += 1
        return jsonify(access_token=fake.new_token(), expires_in=7200)

    @app.post("/cgi-bin/stable_token")
    def stable_token():
        fake.calls["stable_token"] += 1
        injected = failure_response("stable_token")
        if injected is not None:
            return injected
        body = request.get_json(silent=True) or {}
        if body.get("force_refresh"):
            fake.tokens.clear()
        return jsonify(access_token=fake.new_token(), expires_in=7200)

    @app.post("/cgi-bin/message/custom/send")
    def custom_send():
        bad = checked("custom_send")
        if bad is not None:
            return bad
        body = request.get_json(force=True)
        fake.record(body["touser"], "custom", body.get("text", {}).get("content", ""))
        return jsonify(errcode=0, errmsg="ok")

    @app.post("/cgi-bin/message/template/send")
    def template_send():
        bad = checked("template_send")
        if bad is not None:
            return bad
        body = request.get_json(force=True)
        data = body.get("data", {})
        n = fake.record(body["touser"], "template", " ".join(str(v.get("value", "")) for v in data.values()),
                        template_id=body["template_id"], data=data)
        return jsonify(errcode=0, errmsg="ok", msgid=n)

    @app.post("/cgi-bin/menu/create")
    def menu_create():
        bad = checked("menu_create")
        if bad is not None:
            return bad
        fake.menus.append(request.get_json(force=True))
        return jsonify(errcode=0, errmsg="ok")

    @app.post("/cgi-bin/qrcode/create")
    def qrcode_create():
        bad = checked("qrcode_create")
        if bad is not None:
            return bad
        body = request.get_json(force=True)
        scene = (body.get("action_info") or {}).get("scene") or {}
        value = scene.get("scene_str") or scene.get("scene_id")
        temporary = body.get("action_name") in ("QR_SCENE", "QR_STR_SCENE")
        if not value or (isinstance(value, str) and len(value) > 64):
            return jsonify(errcode=40097, errmsg="invalid args")
        expire = min(int(body.get("expire_seconds") or 60), 2_592_000) if temporary else None
        ticket = "gQ" + secrets.token_urlsafe(40)
        url = "http://weixin.qq.com/q/" + secrets.token_urlsafe(16)
        with fake.lock:
            fake.qrcodes[ticket] = {"scene": str(value), "expire_seconds": expire, "url": url}
        return jsonify(ticket=ticket, url=url, **({"expire_seconds": expire} if temporary else {}))

    @app.get("/_fake/qrcodes")
    def qrcodes():
        """The codes issued: the scene behind each URL (what a test's phone would "scan")."""
        with fake.lock:
            return jsonify(qrcodes=[{"ticket": t, **q} for t, q in fake.qrcodes.items()])

    @app.get("/cgi-bin/user/info")
    def user_info():
        bad = checked("user_info")
        if bad is not None:
            return bad
        return jsonify(subscribe=1, openid=request.args.get("openid"), language="zh_CN")

    @app.post("/_fake/fail")
    def fail():
        body = request.get_json(force=True)
        with fake.lock:
            fake.failures.append({"errcode": body.get("errcode"), "http": body.get("http"),
                                  "times": int(body.get("times", 1)), "endpoint": body.get("endpoint")})
        return jsonify(ok=True)

    @app.get("/_fake/messages")
    def messages():
        after, touser = int(request.args.get("after", 0)), request.args.get("touser")
        with fake.lock:
            found = [m for m in fake.messages[after:] if touser in (None, m["touser"])]
            return jsonify(messages=found, total=len(fake.messages))

    @app.get("/_fake/stats")
    def stats():
        return jsonify(calls=dict(fake.calls), messages=len(fake.messages), menus=len(fake.menus))

    @app.post("/_fake/reset")
    def reset():
        fake.reset()
        return jsonify(ok=True)

    return app


def serve(host: str, port: int) -> None:
    from werkzeug.serving import run_simple

    run_simple(host, port, create_fake_app(), threaded=True)
