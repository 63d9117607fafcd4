"""Baseline for the webhook benchmark: a minimal Flask + wechatpy echo bot.

Signature check, parse, reply; no state. What any WeChat bot must at least do.
"""
import os

from flask import Flask, abort, request
from wechatpy import create_reply, parse_message
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

TOKEN = os.environ.get("WECHAT_TOKEN", "benchtoken")
app = Flask(__name__)


@app.post("/wechat")
def echo():
    try:
        check_signature(TOKEN, request.args.get("signature", ""), request.args.get("timestamp", ""),
                        request.args.get("nonce", ""))
    except InvalidSignatureException:
        abort(403)
    msg = parse_message(request.get_data())
    return create_reply(msg.content if msg.type == "text" else "success", msg).render()
