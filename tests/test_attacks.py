"""Each defect found by attacking the webhook from outside (issue 11), reproduced.

Every test here failed before its fix: the request that broke the service,
sent as the attacker sent it, and what must happen instead.
"""
from __future__ import annotations

import base64
import struct
import time
from dataclasses import replace

import pytest
import xmltodict
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.app import create_app
from bot.wechat.simulator import ACCOUNT, event_xml, sign, text_xml
from tests.helpers import AES_KEY, APPID, TOKEN, WeChat


def _reply_xml(resp) -> dict:
    """The reply must be well-formed XML addressed to the sender."""
    assert resp.status_code == 200, resp.data
    return xmltodict.parse(resp.data)["xml"]


# -- 1. a non-ASCII signature -----------------------------------------------------------
@pytest.mark.parametrize("method", ["get", "post"])
def test_non_ascii_signature_is_403_not_500(client, method):
    resp = getattr(client, method)("/wechat?signature=%C3%A9&timestamp=1&nonce=1&echostr=x")
    assert resp.status_code == 403


# -- 2. user text that closes the CDATA section ----------------------------------------------
@pytest.mark.parametrize("typed", ["搜 a]]>b", "类别 x]]><y/>", "订阅岗位 ]]>]]>"])
def test_user_text_echoed_in_a_reply_cannot_break_its_xml(wechat, typed):
    data = _reply_xml(wechat.post(text_xml("o_eve", typed)))
    assert data["ToUserName"] == "o_eve"
    assert "]]>" in data["Content"]  # what the user typed comes back whole, inside a reply that parses


def test_a_wrong_phone_entry_that_closes_cdata_is_answered(wechat, bot):
    from tests.helpers import make_event

    number = make_event(bot.events, "e_cdata").number
    wechat.send(f"报名 {number}", "o_eve")
    wechat.send("同意", "o_eve")
    wechat.send("李晓", "o_eve")
    data = _reply_xml(wechat.post(text_xml("o_eve", "]]><x/>")))
    assert "手机号" in data["Content"]


def test_safe_mode_reply_with_cdata_breaker_decrypts(wechat_aes):
    resp = wechat_aes.post(text_xml("o_eve", "搜 a]]>b"))
    assert "a]]>b" in wechat_aes.reply(resp)


# -- 6. deep nesting ---------------------------------------------------------------------------
def _nested(depth: int) -> str:
    return "<a>" * depth + "1" + "</a>" * depth


@pytest.mark.parametrize("field", ["MsgId", "ToUserName", "CreateTime", "FromUserName", "Content"])
def test_deeply_nested_fields_are_refused_before_handling(wechat, bot, field):
    xml = text_xml("o_deep", "帮助", msg_id=4242)
    start, end = xml.index(f"<{field}>") + len(field) + 2, xml.index(f"</{field}>")
    xml = xml[:start] + _nested(1000) + xml[end:]
    resp = wechat.post(xml)
    assert resp.status_code == 200 and resp.data == b"success"
    assert not bot.followers.is_active("o_deep")  # nothing was handled


@pytest.mark.parametrize("field", ["CreateTime", "EventKey"])
def test_deeply_nested_event_fields_are_refused(wechat, bot, field):
    xml = event_xml("o_deep", "CLICK", key="HELP")
    start, end = xml.index(f"<{field}>") + len(field) + 2, xml.index(f"</{field}>")
    resp = wechat.post(xml[:start] + _nested(1000) + xml[end:])
    assert resp.status_code == 200 and resp.data == b"success"
    assert not bot.followers.is_active("o_deep")


def test_a_body_nested_deeper_than_any_message_is_refused(wechat):
    resp = wechat.post("<xml>" + _nested(5_000) + "</xml>")  # 35 KB: under the body limit
    assert resp.status_code == 200 and resp.data == b"success"


# -- 7. malformed safe-mode ciphertexts ------------------------------------------------------------
def _aes_cipher():
    key = base64.b64decode(AES_KEY + "=")
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def _encrypt_raw(plain: bytes) -> str:
    enc = _aes_cipher().encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


def _post_ciphertext(client, encrypt: str):
    ts, nonce = str(int(time.time())), "777"
    body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    args = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
            "msg_signature": sign(TOKEN, ts, nonce, encrypt)}
    return client.post("/wechat", query_string=args, data=body.encode())


@pytest.mark.parametrize("encrypt", [
    "",  # an empty <Encrypt>
    _encrypt_raw(b"x" * 15 + b"\x00"),  # one block whose padding byte is 0
    _encrypt_raw(bytes(range(7, 23)) + b"\x00" * 16),  # padding 0 after an arbitrary block
    _encrypt_raw(bytes(range(40, 56)) + struct.pack(">I", 10**6) + b"ab" + b"\x0a" * 10),  # length past the end
    _encrypt_raw(b"\x10" * 16),  # one block, all padding: nothing left
    base64.b64encode(b"short").decode(),  # not a whole block
    "!!!not base64!!!",
])
def test_malformed_ciphertext_gets_success_not_500(client, encrypt):
    resp = _post_ciphertext(client, encrypt)
    assert resp.status_code == 200 and resp.data == b"success"


# -- 8. an element as Content -----------------------------------------------------------------------
def test_an_element_inside_content_is_unreadable_input(wechat, bot):
    xml = text_xml("o_elem", "x", msg_id=99).replace("<Content><![CDATA[x]]></Content>", "<Content><b>x</b></Content>")
    resp = wechat.post(xml)
    assert resp.status_code == 200 and resp.data == b"success"


@pytest.mark.parametrize("change", [
    ("<FromUserName><![CDATA[o_field]]></FromUserName>",
     "<FromUserName><![CDATA[o_field]]></FromUserName><FromUserName><![CDATA[o_other]]></FromUserName>"),
    ("<Content><![CDATA[帮助]]></Content>", '<Content lang="zh"><![CDATA[帮助]]></Content>'),
    ("<xml>", '<xml xmlns="urn:x">'),
])
def test_a_field_given_twice_or_with_attributes_or_a_foreign_root_is_unreadable_input(wechat, change):
    """WeChat's <xml> is flat: a repeated sender, a field with attributes, a namespaced root are no message."""
    xml = text_xml("o_field", "帮助", msg_id=98)
    assert change[0] in xml
    resp = wechat.post(xml.replace(change[0], change[1]))
    assert resp.status_code == 200 and resp.data == b"success"


def test_whitespace_around_a_field_is_trimmed_as_before(wechat):
    xml = text_xml("o_space", "帮助", msg_id=97).replace("<Content><![CDATA[帮助]]></Content>",
                                                        "<Content>\n  <![CDATA[帮助]]>\n</Content>")
    assert "青年大学习" in wechat.reply(wechat.post(xml))


# -- 10. a whole mobile number is never echoed -------------------------------------------------------
@pytest.mark.parametrize("typed", ["搜 13912345678", "类别 13912345678", "订阅岗位 139 1234 5678"])
def test_a_mobile_number_typed_is_masked_in_the_reply(wechat, typed):
    reply = wechat.send(typed, "o_num")
    digits = "".join(ch for ch in reply if ch.isdigit())
    assert "13912345678" not in digits.replace(" ", "")
    assert "139****5678" in reply


# -- 11. safe mode only -------------------------------------------------------------------------------
def test_safe_mode_only_refuses_plaintext_posts(redis_client, settings):
    app = create_app(replace(settings, wechat_safe_mode_only=True), redis_client)
    plain, encrypted = WeChat(app.test_client()), WeChat(app.test_client(), aes=True)
    assert plain.post(text_xml("o_forger", "帮助")).status_code == 403
    compat = text_xml("o_forger", "帮助").replace("</xml>", "<Encrypt><![CDATA[x]]></Encrypt></xml>")
    assert plain.post(compat).status_code == 403
    assert "青年大学习" in encrypted.reply(encrypted.post(text_xml("o_alice", "帮助")))


def test_safe_mode_only_without_an_aes_key_refuses_to_start(redis_client, settings):
    with pytest.raises(ValueError, match="WECHAT_AES_KEY"):
        create_app(replace(settings, wechat_safe_mode_only=True, wechat_aes_key=""), redis_client)


# -- 12. echostr ---------------------------------------------------------------------------------------
def test_echostr_is_served_as_plain_text(client):
    ts, nonce = str(int(time.time())), "42"
    resp = client.get("/wechat", query_string={"signature": sign(TOKEN, ts, nonce), "timestamp": ts,
                                               "nonce": nonce, "echostr": "<script>alert(1)</script>"})
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"


def test_pushed_text_is_masked_too(pushing, bot):
    from bot.pushes.delivery import Push

    deliverer, state = pushing
    bot.followers.subscribe("o_pushed")
    deliverer.deliver(Push("o_pushed", "你的号码 13912345678 已登记", "late_reply", "k-mask-1"))
    sent = [m for m in state.messages if m.get("touser") == "o_pushed"]
    assert sent and "13912345678" not in str(sent) and "139****5678" in str(sent)


def test_the_committees_own_example_number_is_not_masked(wechat):
    from bot.wechat.outgoing import safe_text

    assert safe_text("例如「13812345678」", frozenset({"13812345678"})) == "例如「13812345678」"
    assert safe_text("电话 13912345678，座机 010-12345678，编号 TW20260101-00001") == \
        "电话 139****5678，座机 010-12345678，编号 TW20260101-00001"


APPID_USED = APPID  # the simulator's account id (kept for the safe-mode tests above)


# -- 5. a message in flight at a crash ------------------------------------------------------------
def test_a_retry_after_a_crash_runs_the_message(redis_client, settings):
    from handlers.ledger import PENDING, message_key
    from bot.web.webhook import parse_incoming

    app = create_app(replace(settings, dedupe_pending_ttl=1), redis_client)
    sender = WeChat(app.test_client())
    xml = text_xml("o_crash", "帮助", msg_id=5151)
    # The first delivery's process claimed the message and was killed: only its claim is left.
    redis_client.set(message_key(parse_incoming(xml.encode())), PENDING, px=150)
    reply = sender.reply(sender.post(xml))  # WeChat's retry
    assert reply and "青年大学习" in reply
    assert "青年大学习" in sender.reply(sender.post(xml))  # and the next retry gets the same reply


def test_the_pending_claim_lapses_inside_wechats_retry_window():
    from bot.config import Settings

    s = Settings()
    # A live handler answers within the budget; WeChat's second delivery comes about 5 s after
    # the first and waits up to the budget: a dead owner's claim must lapse within that wait.
    assert s.reply_budget < s.dedupe_pending_ttl < 5 + s.reply_budget - 1


# -- 9. two same-time sign-ups sent at once --------------------------------------------------------
def test_the_sign_up_step_itself_refuses_an_overlap(bot):
    from tests.helpers import make_event

    a, b = make_event(bot.events, "same_a"), make_event(bot.events, "same_b")
    assert bot.events.sign_up(a, "o_twice").status == "confirmed"
    booking = bot.events.sign_up(b, "o_twice")  # the check ran before either was booked
    assert booking.status == "overlap" and booking.detail == a.title
    assert [o.id for o in bot.events.mine("o_twice", time.time())] == [a.id]


@pytest.mark.slow
def test_overlapping_sign_ups_sent_at_the_same_moment_book_one(live_server, bot):
    import threading

    from bot.wechat.simulator import WeChatSimulator
    from tests.helpers import post_signed
    from tests.helpers import make_event, with_profile

    a, b = make_event(bot.events, "at_once_a", capacity=100), make_event(bot.events, "at_once_b", capacity=100)
    users = [f"o_both{i:02d}" for i in range(40)]
    for u in users:
        with_profile(bot, u)
    sim = WeChatSimulator(TOKEN)
    barrier = threading.Barrier(len(users) * 2)

    def send(openid, number):
        barrier.wait()
        post_signed(live_server, sim, text_xml(openid, f"报名 {number}"))

    threads = [threading.Thread(target=send, args=(u, occ.number)) for u in users for occ in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    both = [u for u in users if len(bot.events.mine(u, time.time())) != 1]
    assert both == []


# -- found by the fuzz suite ----------------------------------------------------------------------
def test_an_unknown_encoding_declaration_gets_success_not_500(wechat):
    body = '<?xml version="1.0" encoding="bogus"?>' + text_xml("o_enc", "帮助")
    resp = wechat.post(body)
    assert resp.status_code == 200 and resp.data == b"success"
