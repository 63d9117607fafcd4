"""Property-based fuzzing of the webhook (issue 11): whatever arrives, WeChat never sees a 5xx,
the log never holds a traceback, and a reply is always well-formed XML addressed to the sender.

A bounded, reproducible number of examples runs in CI; set FUZZ_EXAMPLES=5000 (and
FUZZ_SEED to vary the run) to search harder.
"""
from __future__ import annotations

import base64
import logging
import os
import time

import xmltodict
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import HealthCheck, event, given, settings as hsettings, strategies as st

from bot.wechat.simulator import ACCOUNT, sign
from tests.helpers import AES_KEY, APPID, TOKEN

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
FUZZ = hsettings(max_examples=EXAMPLES, deadline=None, derandomize="FUZZ_SEED" not in os.environ,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                        HealthCheck.data_too_large])

FIELDS = ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event", "EventKey",
          "Recognition", "MediaId", "PicUrl", "Format", "Ticket", "Latitude", "Encrypt"]
KINDS = ["text", "event", "voice", "image", "location", "link", "video", "shortvideo", "file", "TEXT", ""]
EVENTS = ["subscribe", "unsubscribe", "CLICK", "VIEW", "SCAN", "LOCATION", "scancode_push", "pic_sysphoto", ""]
COMMANDS = ["帮助", "答题", "志愿", "报名 1", "岗位", "搜 司机", "类别 物流司机", "订阅岗位", "删除我的信息",
            "确认删除", "积分", "排行", "签到 123456", "签退", "更多", "取消", "A", "对"]

words = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)  # what people type
texts = st.one_of(words, words, words, st.text(max_size=60), st.sampled_from(COMMANDS), st.sampled_from(COMMANDS),
                  st.sampled_from(COMMANDS).flatmap(lambda c: words.map(lambda t: c + " " + t)),
                  st.sampled_from(["]]>", "<![CDATA[", "&amp;", "&#0;", "<x/>", "\x00", "\ud7ff", "13912345678"]))
numbers = st.one_of(st.integers(-(2**70), 2**70).map(str), st.text(max_size=12))


def mostly(good, bad):
    """good four times in five."""
    return st.one_of(good, good, good, good, bad)


@st.composite
def fields_xml(draw) -> str:
    """A message: the right fields mostly, each wrapped as WeChat does, or raw, or nested, or repeated."""
    kind = draw(mostly(st.sampled_from(["text", "event"]), st.sampled_from(KINDS)))
    values = {"ToUserName": ACCOUNT, "FromUserName": draw(mostly(st.just("o_fuzz"), st.text(max_size=30))),
              "CreateTime": draw(mostly(st.just(str(int(time.time()))), numbers)), "MsgType": kind,
              "MsgId": draw(mostly(st.integers(1, 10**19).map(str), numbers))}
    if kind == "event":
        values["Event"] = draw(st.sampled_from(EVENTS))
        values["EventKey"] = draw(st.one_of(st.sampled_from(["HELP", "QUIZ_START", "qrscene_1"]), texts))
    else:
        values["Content"] = draw(texts)
    for extra in draw(st.lists(st.sampled_from(FIELDS), max_size=3)):
        values.setdefault(extra, draw(texts))
    parts = []
    for name, value in values.items():
        style = draw(st.sampled_from(["cdata"] * 12 + ["raw", "escaped", "nested", "twice", "empty", "missing"]))
        if style == "missing":
            continue
        depth = draw(st.integers(1, 2000)) if style == "nested" else 0
        inner = {"cdata": f"<![CDATA[{value}]]>", "raw": value, "escaped": _escape(value), "empty": "",
                 "nested": "<a>" * depth + _escape(value) + "</a>" * depth,
                 "twice": f"<![CDATA[{value}]]></{name}><{name}>{_escape(value)}"}[style]
        parts.append(f"<{name}>{inner}</{name}>")
    return "<xml>" + "".join(draw(st.permutations(parts))) + "</xml>"


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def mutated(draw, base) -> bytes:
    """A message, then byte-level damage: cut, inserted, flipped, re-encoded."""
    body = draw(base).encode("utf-8", "surrogatepass")
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 1, 2, 3]))):
        op = draw(st.sampled_from(["cut", "insert", "flip", "truncate"]))
        at = draw(st.integers(0, max(len(body) - 1, 0)))
        if op == "cut":
            body = body[:at] + body[at + draw(st.integers(1, 20)):]
        elif op == "insert":
            body = body[:at] + draw(st.binary(max_size=12)) + body[at:]
        elif op == "flip" and body:
            body = body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1:]
        else:
            body = body[:at]
    encoding = draw(st.sampled_from([None] * 6 + ["utf-8", "gbk", "utf-16", "latin-1", "ascii", "bogus"]))
    if encoding:
        body = f'<?xml version="1.0" encoding="{encoding}"?>'.encode() + body
        if encoding in ("gbk", "utf-16"):
            body = body.decode("utf-8", "ignore").encode(encoding, "ignore")
    return body


def _post(client, body: bytes, args: dict):
    return client.post("/wechat", query_string=args, data=body, content_type="text/xml")


def _signed_args(**extra) -> dict:
    ts, nonce = str(int(time.time())), "4242"
    return {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}


def _check(resp, body: bytes, caplog, crypto=None, inner: bytes = b""):
    """The invariant, for one request (inner: the plaintext message inside a ciphertext)."""
    assert resp.status_code < 500, resp.data
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [r.getMessage() for r in bad]
    if resp.status_code != 200 or resp.data in (b"", b"success"):
        event(f"answered {resp.status_code} {resp.data[:7].decode(errors='replace')}")
        return
    event("answered with a reply")
    reply = xmltodict.parse(resp.data)["xml"]  # well-formed
    if crypto is not None:
        plain = crypto.decrypt_message(resp.data, reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"])
        reply = xmltodict.parse(plain)["xml"]
        body = inner
    sent = xmltodict.parse(body)["xml"]
    assert reply["ToUserName"] == sent["FromUserName"] and reply["MsgType"] == "text"
    assert isinstance(reply["Content"], str) and reply["Content"]


@FUZZ
@given(body=mutated(fields_xml()))
def test_fuzzed_plaintext_messages(client, caplog, body):
    caplog.clear()
    with caplog.at_level(logging.INFO):
        resp = _post(client, body, _signed_args())
    try:
        sent_ok = isinstance(xmltodict.parse(body)["xml"], dict)
    except Exception:  # noqa: BLE001 - the body is garbage: only `success` (or a 4xx) is right
        sent_ok = False
    if not sent_ok:
        assert resp.status_code < 500 and (resp.status_code != 200 or resp.data == b"success")
    _check(resp, body, caplog)


xml_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="".join(
    chr(c) for c in range(32) if chr(c) not in "\t\n\r") + "\ufffe\uffff")
said = st.one_of(st.sampled_from(COMMANDS), st.text(xml_chars, max_size=40),
                 st.sampled_from(COMMANDS).flatmap(lambda c: st.text(xml_chars, max_size=12).map(lambda t: c + t)))


@FUZZ
@given(openid=st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd")), min_size=1, max_size=28),
       messages=st.lists(said, min_size=1, max_size=6))
def test_fuzzed_conversations(client, caplog, openid, messages):
    """Well-formed messages carrying anything a person could type, in a row: each gets a
    well-formed reply to its sender (or `success`), whatever conversation it lands in."""
    from bot.wechat.simulator import text_xml

    caplog.clear()
    for text in messages:
        body = text_xml("o_" + openid, text).encode("utf-8")
        resp = _post(client, body, _signed_args())
        assert resp.status_code == 200
        _check(resp, body, caplog)


@FUZZ
@given(body=st.binary(max_size=600))
def test_random_bytes(client, caplog, body):
    caplog.clear()
    resp = _post(client, body, _signed_args())
    assert resp.status_code < 500 and (resp.status_code != 200 or resp.data == b"success")
    _check(resp, body, caplog)


query_values = st.one_of(st.text(max_size=50), st.sampled_from(["aes", "AES", "raw", "", "%C3%A9", "é" * 40]))


@FUZZ
@given(args=st.dictionaries(st.sampled_from(["signature", "timestamp", "nonce", "echostr", "encrypt_type",
                                             "msg_signature", "openid"]), query_values, max_size=7),
       method=st.sampled_from(["get", "post"]), keep_signature=st.booleans())
def test_fuzzed_query_strings(client, caplog, args, method, keep_signature):
    caplog.clear()
    if keep_signature:
        args = {**args, **_signed_args()}
    body = b"<xml><FromUserName>o_q</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>" \
           b"<Content>x</Content><MsgId>1</MsgId></xml>"
    resp = getattr(client, method)("/wechat", query_string=args, data=body)
    assert resp.status_code < 500
    if method == "get":  # the URL check echoes echostr: plain text, never markup
        assert resp.status_code != 200 or resp.mimetype == "text/plain"
        assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
        return
    _check(resp, body, caplog)


def _cipher():
    key = base64.b64decode(AES_KEY + "=")
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


@st.composite
def ciphertexts(draw) -> tuple[str, bytes]:
    """(Encrypt, the plaintext inside): WeChat's layout (16 random bytes, length, XML, appid,
    PKCS#7 padding) with any part wrong, or not a ciphertext at all."""
    inner = draw(st.one_of(fields_xml(), st.text(max_size=80))).encode("utf-8", "surrogatepass")
    layout = draw(st.sampled_from(["right"] * 4 + ["length", "appid", "padding", "short", "random", "notb64"]))
    if layout == "notb64":
        return draw(st.text(max_size=80)), b""
    if layout == "random":
        return base64.b64encode(draw(st.binary(max_size=200))).decode(), b""
    length = len(inner) if layout != "length" else draw(st.integers(0, 2**32 - 1))
    appid = APPID.encode() if layout != "appid" else draw(st.binary(max_size=20))
    plain = os.urandom(16) + length.to_bytes(4, "big") + inner + appid
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    if layout == "padding":
        plain = plain[:-1] + bytes([draw(st.integers(0, 255))])
    if layout == "short":
        plain = plain[: draw(st.integers(0, 2)) * 16]
    enc = _cipher().encryptor()
    data = enc.update(plain) + enc.finalize() if len(plain) % 16 == 0 else plain
    return base64.b64encode(data).decode(), inner


@FUZZ
@given(made=ciphertexts())
def test_fuzzed_safe_mode_ciphertexts(client, bot, caplog, made):
    caplog.clear()
    encrypt, inner = made
    ts, nonce = str(int(time.time())), "99"
    body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    args = {**_signed_args(), "timestamp": ts, "nonce": nonce, "signature": sign(TOKEN, ts, nonce),
            "encrypt_type": "aes", "msg_signature": sign(TOKEN, ts, nonce, encrypt.replace("]]>", ""))}
    resp = _post(client, body.encode("utf-8", "surrogatepass"), args)
    _check(resp, body.encode("utf-8", "surrogatepass"), caplog, crypto=bot.crypto, inner=inner)


def test_the_suite_runs_a_bounded_number_of_examples_in_ci():
    assert EXAMPLES >= 20  # and more with FUZZ_EXAMPLES
