"""Logs: one JSON line per record for machines (journald, files), plain text in a terminal.

What a handled message or a push logs (event="message" / "push"): the time, the
handler, the latency, the outcome and `user`, a salted hash of the openid: it
lets one follow a user's messages through the logs without naming them. Never
names, phone numbers or message text.
"""
from __future__ import annotations

import hashlib
import logging
import os
import sys
from pathlib import Path

from pythonjsonlogger.json import JsonFormatter

_MARK = "_youthbot_handler"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_salt = b""


def json_formatter() -> logging.Formatter:
    return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                         rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                         json_ensure_ascii=False)


def setup(settings, stream=None, role: str = "web") -> None:
    """Configure the root logger once per process: JSON or text on stderr, JSON files in LOG_DIR."""
    global _salt
    _salt = (settings.wechat_appid + ":").encode()
    stream = stream or sys.stderr
    fmt = settings.log_format.lower()
    as_json = fmt == "json" or (fmt not in ("text",) and not _isatty(stream))
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(h)
        h.close()
    console = logging.StreamHandler(stream)
    console.setFormatter(json_formatter() if as_json else logging.Formatter(TEXT_FORMAT))
    handlers = [console]
    if settings.log_dir:
        folder = Path(settings.log_dir)
        folder.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(folder / f"youthbot-{role}-{os.getpid()}.log", encoding="utf-8")
        file_handler.setFormatter(json_formatter())
        handlers.append(file_handler)
    for h in handlers:
        setattr(h, _MARK, True)
        root.addHandler(h)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    for noisy in ("apscheduler.executors", "apscheduler.scheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def user_ref(openid: str) -> str:
    """A stable pseudonym for an openid in logs: 12 hex digits of sha256(appid:openid)."""
    return hashlib.sha256(_salt + (openid or "").encode()).hexdigest()[:12]
