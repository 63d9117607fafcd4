"""How logs name a user: a stable pseudonym instead of the openid.

12 hex digits of sha256(appid:openid): the same person's lines can be followed
through the logs without naming them, and the openid (which WeChat's API takes to
reach them) is never written to journald or a log file. bot/ops/logs.py sets the
salt (the account's appid) when a process configures its logging.
"""
from __future__ import annotations

import hashlib

_salt = b""


def set_salt(appid: str) -> None:
    global _salt
    _salt = (appid + ":").encode()


def user_ref(openid: str) -> str:
    return hashlib.sha256(_salt + (openid or "").encode()).hexdigest()[:12]
