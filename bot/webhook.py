"""The webhook WeChat calls: check, decrypt, parse, hand to the router, render.

Everything a message means is decided behind bot.handling and the router; this
view only speaks the official-account protocol (docs/platform.md).
"""
from __future__ import annotations

import hmac
import logging
import re
import time
from xml.parsers.expat import ExpatError

import xmltodict
from flask import Blueprint, abort, current_app, request
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import WeChatSigner

from bot import handling
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
    return request.args.get("echostr", "")


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
    try:
        msg = parse_incoming(_decrypt(bot, body) if encrypted else body)
    except BadMessage as exc:
        log.info("unreadable message answered with success: %s", exc)
        return NOTHING
    reply = handling.handle(bot, msg, peer=request.remote_addr or "")
    if reply is None:
        return NOTHING
    xml = TextReply(source=msg.recipient, target=msg.sender, content=reply).render()
    if encrypted:
        xml = bot.crypto.encrypt_message(xml, request.args.get("nonce", ""), str(int(time.time())))
    return current_app.response_class(xml, mimetype="application/xml")


def _check_signature(settings) -> None:
    args = request.args
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    signer = WeChatSigner()
    signer.add_data(settings.wechat_token, timestamp, nonce)
    if not hmac.compare_digest(signer.signature, args.get("signature", "")):
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
    except (InvalidAppIdException, ExpatError, ValueError, KeyError, TypeError) as exc:
        raise BadMessage(f"cannot decrypt: {type(exc).__name__}") from exc
    return plain.encode("utf-8") if isinstance(plain, str) else plain


def parse_incoming(xml: bytes) -> Incoming:
    """The message as an Incoming; BadMessage for anything that is not a well-formed one."""
    _refuse_dtd(xml)
    try:
        fields = xmltodict.parse(xml)["xml"]
    except (ExpatError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
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


def make_crypto(settings) -> WeChatCrypto | None:
    if not settings.wechat_aes_key:
        return None
    return WeChatCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_appid)
