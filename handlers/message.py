"""One incoming WeChat message or event, as the ledger, the router and the handlers read it.

The webhook builds it from the XML WeChat posts (bot/web/webhook.py); nothing past
the webhook sees XML or wechatpy's classes.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Incoming:
    sender: str  # FromUserName: the user's openid
    recipient: str  # ToUserName: the account
    kind: str  # MsgType, lower case: text, voice, image, event, ...
    time: int  # CreateTime, seconds
    msg_id: str = ""  # MsgId (messages only)
    content: str = ""  # Content of a text message
    recognition: str = ""  # Recognition of a voice message, when WeChat's speech recognition is on
    event: str = ""  # Event, lower case (subscribe, unsubscribe, click, scan, ...)
    key: str = ""  # EventKey: a menu key, or a QR code's scene ("qrscene_…" on a follow)

    @property
    def is_event(self) -> bool:
        return self.kind == "event"

    @property
    def text(self) -> str | None:
        """What the user said in words: a text, or a recognised voice message; None for anything else."""
        if self.kind == "text":
            return self.content
        if self.kind == "voice" and self.recognition:
            return self.recognition
        return None
