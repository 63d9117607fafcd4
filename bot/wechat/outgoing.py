"""Text that leaves the service: the one place replies and pushes are made safe.

Every reply (bot/web/handling.py) and every push (bot/pushes/delivery.py) passes through
safe_text(): a whole mainland mobile number never leaves in chat, whoever typed
it — except the numbers the committee itself publishes in its texts (the
example in the phone question, a contact number), which are not anyone's data. Every reply is rendered into WeChat's XML by reply_xml(), the only place
that writes a CDATA section, so no text can close it early.
"""
from __future__ import annotations

import re
import time

# 13912345678, 139 1234 5678, 139-1234-5678, +8613912345678: not inside a longer run of digits.
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})(?![0-9])")


def safe_text(text: str | None, published: frozenset[str] = frozenset()) -> str | None:
    """text with every mobile number masked as 138****1234, but for the `published` ones."""
    if not text:
        return text
    return _MOBILE.sub(lambda m: m[0] if _digits(m) in published else f"{m[1]}****{m[3]}", text)


def published_numbers(texts) -> frozenset[str]:
    """The mobile numbers the committee's own texts show (content/texts/*.yaml)."""
    found = getattr(texts, "_published_numbers", None)
    if found is None:
        found = frozenset(_digits(m) for text in texts.values() for m in _MOBILE.finditer(str(text)))
        texts._published_numbers = found
    return found


def _digits(m: re.Match) -> str:
    return m[1] + m[2] + m[3]


def cdata(text: str) -> str:
    """A CDATA section holding text exactly; `]]>` inside is split across two sections."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def reply_xml(sender: str, account: str, text: str, now: float | None = None) -> str:
    """A passive text reply to `sender` from `account` (WeChat's reply format)."""
    return ("<xml><ToUserName>{to}</ToUserName><FromUserName>{fr}</FromUserName><CreateTime>{t}</CreateTime>"
            "<MsgType><![CDATA[text]]></MsgType><Content>{c}</Content></xml>").format(
        to=cdata(sender), fr=cdata(account), t=int(now or time.time()), c=cdata(_xml_chars(text)))


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml_chars(text: str) -> str:
    # Characters XML 1.0 cannot carry at all, even in CDATA (a control byte a user typed).
    return _NOT_XML.sub("", text)
