"""Build requests exactly as WeChat's servers send them, and read the replies.

Used by `youthbot chat`, the tests and the benchmarks: signed query strings,
message XML, and AES safe mode when an EncodingAESKey is given.
"""
from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass
from xml.sax.saxutils import escape

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

ACCOUNT = "gh_youthbot0000"
_msg_ids = itertools.count(random.randrange(10**17, 10**18, 10**6))


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def text_xml(openid: str, content: str, msg_id: int | None = None, create_time: int | None = None) -> str:
    return ("<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{fr}]]></FromUserName>"
            "<CreateTime>{ct}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            "<Content><![CDATA[{content}]]></Content><MsgId>{mid}</MsgId></xml>").format(
        to=ACCOUNT, fr=openid, ct=create_time or int(time.time()),
        content=content.replace("]]>", "]]]]><![CDATA[>"), mid=msg_id or next(_msg_ids))


def event_xml(openid: str, event: str, key: str = "", create_time: int | None = None) -> str:
    key_part = f"<EventKey><![CDATA[{escape(key)}]]></EventKey>" if key else ""
    return ("<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{fr}]]></FromUserName>"
            "<CreateTime>{ct}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            "<Event><![CDATA[{ev}]]></Event>{key}</xml>").format(
        to=ACCOUNT, fr=openid, ct=create_time or int(time.time()), ev=event, key=key_part)


@dataclass
class WeChatSimulator:
    token: str
    aes_key: str = ""
    appid: str = ""

    @property
    def crypto(self) -> WeChatCrypto | None:
        return WeChatCrypto(self.token, self.aes_key, self.appid) if self.aes_key else None

    def params(self, timestamp: int | None = None, nonce: str | None = None) -> dict:
        """Signed query arguments of a plaintext request."""
        ts = str(timestamp or int(time.time()))
        nonce = nonce or str(random.randrange(10**9, 10**10))
        return {"signature": sign(self.token, ts, nonce), "timestamp": ts, "nonce": nonce}

    def request(self, xml: str, timestamp: int | None = None) -> tuple[dict, bytes]:
        """Return (query args, body) for one delivery of xml, encrypted when aes_key is set."""
        params = self.params(timestamp)
        if not self.aes_key:
            return params, xml.encode("utf-8")
        wrapped = self.crypto.encrypt_message(xml, params["nonce"], params["timestamp"])
        encrypt = xmltodict.parse(wrapped)["xml"]["Encrypt"]
        body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        params.update(encrypt_type="aes",
                      msg_signature=sign(self.token, params["timestamp"], params["nonce"], encrypt))
        return params, body.encode("utf-8")

    def reply_text(self, body: bytes | str, params: dict | None = None) -> str | None:
        """Return the Content of a reply body; None for `success` or an empty body."""
        body = body.decode("utf-8") if isinstance(body, bytes) else body
        if body.strip() in ("", "success"):
            return None
        data = xmltodict.parse(body)["xml"]
        if "Encrypt" in data:
            plain = self.crypto.decrypt_message(body, data["MsgSignature"], data["TimeStamp"], data["Nonce"])
            data = xmltodict.parse(plain)["xml"]
        return data.get("Content")
