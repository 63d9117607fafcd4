"""The webhook speaks WeChat's protocol and survives whatever arrives."""
from __future__ import annotations

import time

import flask

from bot.wechat.simulator import sign, text_xml
from tests.helpers import TOKEN

OFFICIAL = dict(token="spamtest", aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
                appid="wx2c2769f8efd9abc2", timestamp="1409735669", nonce="1320562132",
                msg_signature="5d197aaffba7e9b25a30732f161a50dee96bd5fa")
OFFICIAL_BODY = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>"
    "</FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]>"
    "</Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B65"
    "5HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWy"
    "WNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8t"
    "COp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumE"
    "Po5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=]]></Encrypt></xml>")


def test_url_check_echoes_echostr_when_signed(client):
    ts, nonce = str(int(time.time())), "42"
    resp = client.get("/wechat", query_string={"signature": sign(TOKEN, ts, nonce), "timestamp": ts,
                                               "nonce": nonce, "echostr": "hello123"})
    assert resp.status_code == 200 and resp.data == b"hello123"


def test_url_check_with_bad_or_missing_signature_is_403(client):
    ts = str(int(time.time()))
    assert client.get("/wechat", query_string={"signature": "0" * 40, "timestamp": ts, "nonce": "1",
                                               "echostr": "x"}).status_code == 403
    assert client.get("/wechat", query_string={"echostr": "x"}).status_code == 403


def test_forged_post_signature_is_403(client):
    ts = str(int(time.time()))
    resp = client.post("/wechat", query_string={"signature": sign("wrong-token", ts, "1"), "timestamp": ts,
                                                "nonce": "1"}, data=text_xml("o_x", "帮助"))
    assert resp.status_code == 403


def test_stale_or_future_timestamp_is_403(wechat):
    assert wechat.post(text_xml("o_x", "帮助"), timestamp=int(time.time()) - 301).status_code == 403
    assert wechat.post(text_xml("o_x", "帮助"), timestamp=int(time.time()) + 301).status_code == 403
    assert wechat.post(text_xml("o_x", "帮助"), timestamp=int(time.time()) - 200).status_code == 200


def test_replay_window_zero_turns_the_check_off(redis_client, settings):
    from dataclasses import replace

    from bot.app import create_app
    from tests.helpers import WeChat

    app = create_app(replace(settings, wechat_timestamp_tolerance=0), redis_client)
    resp = WeChat(app.test_client()).post(text_xml("o_x", "帮助"), timestamp=1409735669)
    assert resp.status_code == 200 and "青年大学习" in resp.data.decode()


def test_plaintext_text_message_gets_a_text_reply(wechat):
    reply = wechat.send("帮助")
    assert "青年大学习" in reply and "志愿" in reply


def test_reply_is_addressed_back_to_the_sender(wechat):
    import xmltodict

    data = xmltodict.parse(wechat.post(text_xml("o_bob", "帮助")).data)["xml"]
    assert data["ToUserName"] == "o_bob" and data["MsgType"] == "text"


def test_safe_mode_round_trip_is_encrypted_both_ways(wechat_aes):
    resp = wechat_aes.post(text_xml("o_alice", "帮助"))
    assert b"<Encrypt>" in resp.data and "青年大学习".encode() not in resp.data
    assert "青年大学习" in wechat_aes.reply(resp)


def test_safe_mode_checks_msg_signature_not_signature(wechat_aes):
    resp = wechat_aes.post(text_xml("o_alice", "帮助"), msg_signature="f" * 40)
    assert resp.status_code == 403


def test_compatible_mode_plaintext_beside_encrypt_is_read(wechat):
    xml = text_xml("o_alice", "帮助").replace("</xml>", "<Encrypt><![CDATA[ignored]]></Encrypt></xml>")
    assert "青年大学习" in wechat.reply(wechat.post(xml))


def test_official_sample_vector_decrypts(redis_client, settings):
    from dataclasses import replace

    from bot.app import create_app

    app = create_app(replace(settings, wechat_token=OFFICIAL["token"], wechat_aes_key=OFFICIAL["aes_key"],
                             wechat_appid=OFFICIAL["appid"], wechat_timestamp_tolerance=0), redis_client)
    bot = app.extensions["youthbot"]
    plain = bot.crypto.decrypt_message(OFFICIAL_BODY, OFFICIAL["msg_signature"], OFFICIAL["timestamp"],
                                       OFFICIAL["nonce"])
    assert "<Content><![CDATA[abcdteT]]></Content>" in plain
    assert "oyORnuP8q7ou2gfYjqLzSIWZf0rs" in plain and "6054768590064713728" in plain
    args = {"signature": sign(OFFICIAL["token"], OFFICIAL["timestamp"], OFFICIAL["nonce"]),
            "timestamp": OFFICIAL["timestamp"], "nonce": OFFICIAL["nonce"], "encrypt_type": "aes",
            "msg_signature": OFFICIAL["msg_signature"], "openid": "oyORnuP8q7ou2gfYjqLzSIWZf0rs"}
    resp = app.test_client().post("/wechat", query_string=args, data=OFFICIAL_BODY)
    assert resp.status_code == 200 and b"<Encrypt>" in resp.data  # abcdteT is not a command: help, encrypted


def test_body_over_64_kib_is_413(wechat):
    resp = wechat.post(text_xml("o_alice", "x" * (65 * 1024)))
    assert resp.status_code == 413


def test_malformed_xml_gets_success_not_500(wechat):
    for body in ["<xml><FromUserName>", "not xml at all", "", "<xml></xml>",
                 "<xml><MsgType>text</MsgType></xml>",
                 "<xml><FromUserName>o_x</FromUserName><MsgType>text</MsgType><MsgId>abc</MsgId></xml>",
                 '{"json": true}', "\xff\xfe<xml>"]:
        resp = wechat.post(body)
        assert resp.status_code == 200 and resp.data == b"success", body


def test_xml_with_dtd_or_entities_gets_success(wechat):
    bomb = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            + text_xml("o_x", "&b;").replace("<![CDATA[&b;]]>", "&b;"))
    resp = wechat.post(bomb)
    assert resp.status_code == 200 and resp.data == b"success"


def test_unknown_message_type_gets_a_short_text(wechat):
    xml = text_xml("o_alice", "x").replace("<![CDATA[text]]>", "<![CDATA[hologram]]>")
    assert "文字" in wechat.reply(wechat.post(xml))


def test_image_message_gets_told_we_read_text(wechat):
    xml = text_xml("o_alice", "x").replace("<![CDATA[text]]>", "<![CDATA[image]]>").replace(
        "<Content><![CDATA[x]]></Content>", "<PicUrl><![CDATA[http://x/y.jpg]]></PicUrl><MediaId><![CDATA[m]]></MediaId>")
    assert "文字" in wechat.reply(wechat.post(xml))


def test_unknown_event_gets_success(wechat):
    assert wechat.event("some_future_event") is None


def test_safe_mode_without_aes_key_configured_gets_success(redis_client, settings):
    from dataclasses import replace

    from bot.app import create_app
    from tests.helpers import WeChat

    plain_app = create_app(replace(settings, wechat_aes_key=""), redis_client)
    sender = WeChat(plain_app.test_client(), aes=True)
    resp = sender.post(text_xml("o_alice", "帮助"))
    assert resp.status_code == 200 and resp.data == b"success"


def test_voice_with_speech_recognition_is_read_as_text(wechat):
    xml = (text_xml("o_alice", "x").replace("<![CDATA[text]]>", "<![CDATA[voice]]>")
           .replace("<Content><![CDATA[x]]></Content>",
                    "<MediaId><![CDATA[m]]></MediaId><Format><![CDATA[amr]]></Format>"
                    "<Recognition><![CDATA[帮助]]></Recognition>"))
    assert wechat.reply(wechat.post(xml)) == wechat.send("帮助", msg_id=991)


def test_a_follow_through_a_parametric_qr_code_is_welcomed(wechat):
    reply = wechat.event("subscribe", key="qrscene_checkin_123")
    assert reply and "欢迎" in reply


def test_settings_from_env_coerce_each_kind(monkeypatch):
    from pathlib import Path

    from bot.config import Settings

    monkeypatch.setenv("REPLY_BUDGET", "2.5")
    monkeypatch.setenv("CS_PER_WINDOW", "3")
    monkeypatch.setenv("LOAD_DEMO", "no")
    monkeypatch.setenv("DATA_DIR", "/tmp/yb")
    s = Settings.from_env(wechat_token="t")
    assert (s.reply_budget, s.cs_per_window, s.demo_mode, s.data_dir, s.wechat_token) == \
        (2.5, 3, False, Path("/tmp/yb"), "t")


# -- messages are answered before Flask's request machinery (bot/web/webhook.py, WebhookFirst) ----------------
def test_messages_skip_flasks_hooks_and_keep_the_answers_headers(app, wechat):
    """A POST to /wechat never reaches Flask's before-request hooks (the GET URL check and the console do), and
    its answers carry what the app's after-request hooks gave them: the security headers, no Cache-Control."""
    seen = []
    app.before_request(lambda: seen.append(flask.request.path))
    replied = wechat.post(text_xml("o_fast", "帮助"))
    nothing = wechat.post("<xml><ToUserName>gh</ToUserName></xml>")  # unreadable: `success`
    ts = str(int(time.time()))
    refused = wechat.client.post("/wechat", query_string={"signature": "0" * 40, "timestamp": ts, "nonce": "1"},
                                 data=text_xml("o_fast", "帮助"))
    assert [r.status_code for r in (replied, nothing, refused)] == [200, 200, 403]
    assert "青年大学习" in wechat.reply(replied) and nothing.data == b"success"
    for resp in (replied, nothing, refused):
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff" and "Cache-Control" not in resp.headers
    assert replied.mimetype == "application/xml" and seen == []
    wechat.client.get("/wechat", query_string={"echostr": "x"})
    assert seen == ["/wechat"]


def test_a_bug_in_a_handler_is_a_logged_500_with_the_headers_not_a_crash(app, wechat, monkeypatch, caplog):
    from bot.web import handling

    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(handling, "handle", broken)
    resp = wechat.post(text_xml("o_bug", "帮助"))
    assert resp.status_code == 500 and resp.headers["X-Frame-Options"] == "DENY"
    assert any(r.exc_info and "a bug" in str(r.exc_info[1]) for r in caplog.records)
