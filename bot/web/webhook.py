"""The webhook WeChat calls: check, decrypt, parse, hand to the router, render.

Everything a message means is decided behind bot.web.handling and the router; this
view only speaks the official-account protocol (docs/platform.md).
"""
from __future__ import annotations

import hmac
import logging
import re
import time
from xml.parsers.expat import ExpatError

import redis
import xmltodict
from flask import Blueprint, abort, current_app, request
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import WeChatSigner

from bot.web import handling
from bot.wechat.outgoing import reply_xml
from handlers.message import Incoming

log = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__)

NOTHING = "success"  # WeChat's "no reply": it neither retries nor shows anything
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class BadMessage(Exception):
    """The body is not a message we can read; WeChat gets `success`."""


@bp.get("/wechat")
def verify():
    """URL check from the developer settings page: echo echostr when signed."""
    _check_signature(current_app.extensions["youthbot"].settings)
    # Plain text, never sniffed: echostr is whatever the caller put in the URL.
    resp = current_app.response_class(request.args.get("echostr", ""), mimetype="text/plain")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.post("/wechat")
def receive():
    bot = current_app.extensions["youthbot"]
    settings = bot.settings
    if (request.content_length or 0) > settings.max_body_bytes:
        abort(413)
    _check_signature(settings)
    body = request.get_data(cache=False)
    if len(body) > settings.max_body_bytes:
        abort(413)
    encrypted = request.args.get("encrypt_type", "raw").lower() == "aes"
    if settings.wechat_safe_mode_only and not encrypted:
        abort(403)  # the token alone must not be enough to speak for a user
    try:
        msg = parse_incoming(_decrypt(bot, body) if encrypted else body)
    except BadMessage as exc:
        log.info("unreadable message answered with success: %s", exc)
        return NOTHING
    breaker = current_app.extensions.setdefault("youthbot.store_breaker", StoreBreaker())
    if breaker.is_open():
        reply = bot.texts.get("general.unavailable")
    else:
        try:
            reply = handling.handle(bot, msg, peer=request.remote_addr or "")
        except redis.RedisError as exc:
            # The store is down or frozen: say so in words that need no store, never a 500
            # (a 500 makes WeChat retry and show the user an error).
            log.warning("store unavailable, answered with the fixed text: %s: %s", type(exc).__name__, exc)
            breaker.trip()
            reply = bot.texts.get("general.unavailable")
    if reply is None:
        return NOTHING
    xml = reply_xml(msg.sender, msg.recipient, reply)
    if encrypted:
        xml = bot.crypto.encrypt_message(xml, request.args.get("nonce", ""), str(int(time.time())))
    return current_app.response_class(xml, mimetype="application/xml")


class StoreBreaker:
    """After a Redis error, answer the fixed text at once for a moment instead of waiting on
    Redis again: a sync worker held 1 s per message by a frozen store would queue the
    messages behind it past WeChat's 5 s. Closes by itself; the next message tries Redis."""

    def __init__(self, cool_off: float = 1.0):
        self.cool_off, self._until = cool_off, 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self._until

    def trip(self) -> None:
        self._until = time.monotonic() + self.cool_off


def _check_signature(settings) -> None:
    args = request.args
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    signer = WeChatSigner()
    signer.add_data(settings.wechat_token, timestamp, nonce)
    given = args.get("signature", "").encode("utf-8", "replace")
    if not hmac.compare_digest(signer.signature.encode("ascii"), given):  # bytes: any input compares
        abort(403)
    tolerance = settings.wechat_timestamp_tolerance
    if tolerance:
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError:
            abort(403)
        if skew > tolerance:
            abort(403)


def _decrypt(bot, body: bytes) -> bytes:
    if bot.crypto is None:
        raise BadMessage("safe-mode message but WECHAT_AES_KEY is not set")
    _refuse_dtd(body)
    args = request.args
    try:
        plain = bot.crypto.decrypt_message(body, args.get("msg_signature", ""),
                                           args.get("timestamp", ""), args.get("nonce", ""))
    except InvalidSignatureException:
        abort(403)
    except Exception as exc:  # noqa: BLE001 - any ciphertext an attacker makes up (bad padding, short, empty)
        raise BadMessage(f"cannot decrypt: {type(exc).__name__}") from exc
    return plain.encode("utf-8") if isinstance(plain, str) else plain


def parse_incoming(xml: bytes) -> Incoming:
    """The message as an Incoming; BadMessage for anything that is not a well-formed one."""
    _refuse_dtd(xml)
    try:
        fields = xmltodict.parse(xml)["xml"]
    except (ExpatError, ValueError, KeyError, TypeError, LookupError, UnicodeError) as exc:
        # LookupError: an encoding declaration naming no codec (found by tests/test_fuzz.py)
        raise BadMessage(f"cannot parse: {type(exc).__name__}") from exc
    if not isinstance(fields, dict):
        raise BadMessage("no fields")
    return _incoming(fields)


def _incoming(fields: dict) -> Incoming:
    def text(name: str) -> str:
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            raise BadMessage(f"{name} is not text")  # an element inside a field, or a repeated field
        return value or ""

    sender, created, msg_id = text("FromUserName"), text("CreateTime"), text("MsgId")
    if not sender:
        raise BadMessage("no sender")
    if not created.isdigit() or (msg_id and not msg_id.isdigit()):
        raise BadMessage("no MsgId or CreateTime")
    return Incoming(sender=sender, recipient=text("ToUserName"), kind=text("MsgType").lower(),
                    time=int(created), msg_id=msg_id, content=text("Content"),
                    recognition=text("Recognition"), event=text("Event").lower(), key=text("EventKey"))


def _refuse_dtd(xml: bytes) -> None:
    # No WeChat message carries a DTD; one that does is an attack (entity expansion, XXE).
    if _DTD.search(xml):
        raise BadMessage("DTD or entity declaration")
