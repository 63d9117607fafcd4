"""The webhook WeChat calls: check, decrypt, parse, hand to the router, render.

Everything a message means is decided behind bot.web.handling and the router; this
view only speaks the official-account protocol (docs/platform.md).
"""
from __future__ import annotations

import hmac
import logging
import re
import threading
import time
from xml.etree import ElementTree

from flask import Blueprint, current_app, request
from werkzeug.exceptions import HTTPException, InternalServerError, abort
from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import WeChatSigner

from bot.web import handling
from bot.wechat.outgoing import reply_xml
from bot.runtime import topology
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
    _check_signature(current_app.extensions["youthbot"].settings, request)
    # Plain text, never sniffed: echostr is whatever the caller put in the URL.
    resp = current_app.response_class(request.args.get("echostr", ""), mimetype="text/plain")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.post("/wechat")
def receive():
    """The route as the console's permission table and url_for know it; WeChat's messages are answered by
    WebhookFirst below before Flask sees them (an app without it, e.g. one a test builds by hand, lands here)."""
    body, mimetype = answer(current_app.extensions["youthbot"], request, breaker_of(current_app.extensions))
    return current_app.response_class(body, mimetype=mimetype)


def breaker_of(extensions: dict) -> "StoreBreaker":
    return extensions.setdefault("youthbot.store_breaker", StoreBreaker())


class WebhookFirst:
    """WSGI: POST /wechat answered here, everything else passed to the Flask app.

    A message needs none of Flask's request machinery (URL matching, the app and request contexts, the
    session, CSRF, before- and after-request hooks) nor a Response object for its reply: 0.26 of the 0.44 ms
    of CPU `帮助` took in one process was Flask and Werkzeug around the message. What the app's hooks did for
    /wechat is done here: its security headers (`headers`) and the response counter (`count`); a store error is
    answered 503 and counted as the app's handler does (`store_unavailable`), an HTTP error (403, 413) as
    Werkzeug answers it, a bug 500 with its traceback logged, as Flask would. `add_headers(headers)` is the
    app's own (bot/app.py), applied once here to the replies' header list."""

    ROUTE = "/wechat"

    def __init__(self, app_wsgi, bot, extensions: dict, add_headers, count, store_unavailable):
        self.app_wsgi, self.bot, self.extensions = app_wsgi, bot, extensions
        self.add_headers, self.count, self.store_unavailable = add_headers, count, store_unavailable
        added = Headers()
        add_headers(added)
        self.headers = added.to_wsgi_list()  # every reply's: built once

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != self.ROUTE or environ.get("REQUEST_METHOD") != "POST":
            return self.app_wsgi(environ, start_response)
        req = Request(environ)
        req.max_content_length = self.bot.settings.max_body_bytes
        try:
            body, mimetype = answer(self.bot, req, breaker_of(self.extensions))
        except HTTPException as exc:
            return self._send(exc.get_response(environ), environ, start_response)
        except topology.STORE_ERRORS as exc:
            return self._send(self.store_unavailable(exc, self.ROUTE), environ, start_response)
        except Exception:  # a bug: logged with its traceback and answered 500, as Flask would
            log.exception("Exception on /wechat [POST]")
            return self._send(InternalServerError().get_response(environ), environ, start_response)
        data = body.encode("utf-8")
        start_response("200 OK", [("Content-Type", f"{mimetype}; charset=utf-8"), ("Content-Length", str(len(data))),
                                  *self.headers])
        self.count(200, self.ROUTE)
        return [data]

    def _send(self, response, environ, start_response):
        self.add_headers(response.headers)
        self.count(response.status_code, self.ROUTE)
        return response(environ, start_response)


def answer(bot, req, breaker: "StoreBreaker"):
    """(body, mimetype) of the answer to one message: its reply's XML, or `success` (no reply). Requests that
    are not WeChat's raise 403 or 413 (werkzeug's HTTPException)."""
    settings = bot.settings
    if (req.content_length or 0) > settings.max_body_bytes:
        abort(413)
    _check_signature(settings, req)
    body = req.get_data(cache=False)
    if len(body) > settings.max_body_bytes:
        abort(413)
    encrypted = req.args.get("encrypt_type", "raw").lower() == "aes"
    if settings.wechat_safe_mode_only and not encrypted:
        refuse("plaintext", req)  # the token alone must not be enough to speak for a user
    try:
        msg = parse_incoming(_decrypt(bot, body, req) if encrypted else body)
    except BadMessage as exc:
        log.info("unreadable message answered with success: %s", exc)
        return NOTHING, "text/html"
    nodes = topology.nodes_of_keys(bot.redis, handling.first_keys(msg))
    if breaker.is_open(nodes):
        reply = bot.texts.get("general.unavailable")
    else:
        try:
            reply = handling.handle(bot, msg, peer=req.remote_addr or "")
        except topology.STORE_ERRORS as exc:
            # The store (or the Cluster node holding this message's keys) is down or frozen: say so in
            # words that need no store, never a 500 (a 500 makes WeChat retry and show the user an error).
            log.warning("store unavailable, answered with the fixed text: %s: %s", type(exc).__name__, exc)
            failed = topology.error_node(exc)
            breaker.trip(failed if failed and nodes else None)
            reply = bot.texts.get("general.unavailable")
    if reply is None:
        return NOTHING, "text/html"  # what Flask sent for a view's returned string
    xml = reply_xml(msg.sender, msg.recipient, reply)
    if encrypted:
        xml = bot.crypto.encrypt_message(xml, req.args.get("nonce", ""), str(int(time.time())))
    return xml, "application/xml"


class StoreBreaker:
    """After a Redis error, answer the fixed text at once for a moment instead of waiting on
    Redis again: a sync worker held 1 s per message by a frozen store would queue the
    messages behind it past WeChat's 5 s. Closes by itself; the next message tries Redis.

    On a Redis Cluster the error names its node, and only messages whose first keys live on
    that node get the fixed text: users on the healthy nodes go on being answered."""

    def __init__(self, cool_off: float = 1.0):
        self.cool_off, self._until = cool_off, 0.0
        self._nodes: dict[str, float] = {}

    def is_open(self, nodes=frozenset()) -> bool:
        now = time.monotonic()
        return now < self._until or any(now < self._nodes.get(n, 0.0) for n in nodes)

    def trip(self, node: str | None = None) -> None:
        if node is None:
            self._until = time.monotonic() + self.cool_off
        else:
            self._nodes[node] = time.monotonic() + self.cool_off


def _check_signature(settings, req) -> None:
    args = req.args
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    signer = WeChatSigner()
    signer.add_data(settings.wechat_token, timestamp, nonce)
    given = args.get("signature", "").encode("utf-8", "replace")
    if not hmac.compare_digest(signer.signature.encode("ascii"), given):  # bytes: any input compares
        refuse("signature", req)
    tolerance = settings.wechat_timestamp_tolerance
    if tolerance:
        try:
            skew = abs(time.time() - int(timestamp))
        except ValueError:
            refuse("timestamp", req)
        if skew > tolerance:
            refuse("timestamp", req)


REFUSAL_LOG_EVERY = 60.0  # seconds: at most one log line per reason and process, with the count since
_refusals: dict[str, list] = {}  # reason -> [last logged (monotonic), refused since]
_refusals_lock = threading.Lock()


def refuse(reason: str, req):
    """403, counted in /metrics (youthbot_webhook_refused_total{reason}) and logged at most once a
    minute per reason: a WECHAT_TOKEN that no longer matches the account must leave a trace."""
    from bot.ops import metrics

    metrics.WEBHOOK_REFUSED.labels(reason).inc()
    now = time.monotonic()
    with _refusals_lock:
        last = _refusals.setdefault(reason, [float("-inf"), 0])
        last[1] += 1
        due = now - last[0] >= REFUSAL_LOG_EVERY
        if due:
            count, last[0], last[1] = last[1], now, 0
    if due:
        log.warning("webhook request refused (403): reason=%s peer=%s refused=%d in the last %d s; "
                    "if WeChat's own requests are refused, WECHAT_TOKEN/WECHAT_AES_KEY no longer match the "
                    "account's developer settings", reason, req.remote_addr, count, int(REFUSAL_LOG_EVERY),
                    extra={"event": "refused", "reason": reason})
    abort(403)


def _decrypt(bot, body: bytes, req) -> bytes:
    if bot.crypto is None:
        raise BadMessage("safe-mode message but WECHAT_AES_KEY is not set")
    _refuse_dtd(body)
    args = req.args
    try:
        plain = bot.crypto.decrypt_message(body, args.get("msg_signature", ""),
                                           args.get("timestamp", ""), args.get("nonce", ""))
    except InvalidSignatureException:
        refuse("msg_signature", req)
    except Exception as exc:  # noqa: BLE001 - any ciphertext an attacker makes up (bad padding, short, empty)
        raise BadMessage(f"cannot decrypt: {type(exc).__name__}") from exc
    return plain.encode("utf-8") if isinstance(plain, str) else plain


def parse_incoming(xml: bytes) -> Incoming:
    """The message as an Incoming; BadMessage for anything that is not a well-formed one.

    The standard library's ElementTree (expat, in C; the DTD check above it refuses entity
    declarations, so nothing expands): about half of xmltodict's time for a message."""
    _refuse_dtd(xml)
    try:
        root = ElementTree.fromstring(xml)
    except (ElementTree.ParseError, ValueError, TypeError, LookupError, UnicodeError) as exc:
        # LookupError: an encoding declaration naming no codec (found by tests/test_fuzz.py)
        raise BadMessage(f"cannot parse: {type(exc).__name__}") from exc
    if root.tag != "xml":
        raise BadMessage("no fields")
    return _incoming(_fields(root))


_NOT_TEXT = object()  # a field holding an element, carrying attributes, or given twice


def _fields(root) -> dict:
    """{tag: its text, trimmed (None when empty)}, as WeChat's flat <xml> holds them."""
    fields: dict = {}
    for child in root:
        tag = child.tag
        if tag in fields or len(child) or child.attrib:
            fields[tag] = _NOT_TEXT
        else:
            fields[tag] = (child.text or "").strip() or None
    return fields


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
