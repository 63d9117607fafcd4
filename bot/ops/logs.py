"""Logs: one JSON line per record for machines (journald, files), plain text in a terminal.

What a handled message or a push logs (event="message" / "push"): the time, the
handler, the latency, the outcome and `user`, a salted hash of the openid: it
lets one follow a user's messages through the logs without naming them. Never
names, phone numbers or message text.
"""
from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

from pythonjsonlogger.json import JsonFormatter

from gunicorn.glogging import Logger as GunicornBaseLogger

from domain import pseudonyms

_MARK = "_youthbot_handler"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def json_formatter() -> logging.Formatter:
    return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                         rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                         json_ensure_ascii=False)


LOG_FILE_MODE = 0o640  # the service's user writes, its group (e.g. adm) may read; nobody else
LOG_DIR_MODE = 0o750


class LogFile(logging.handlers.WatchedFileHandler):
    """LOG_DIR/youthbot-<role>.log, one file per role shared by its processes (appends of whole lines),
    mode 0640 in a 0750 folder. Rotation: logrotate (deploy/logrotate/youthbot) renames the file and
    every process reopens it at its next line (WatchedFileHandler), so nothing is written to a
    rotated-away file and no per-process files pile up."""

    def __init__(self, folder, role: str):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(folder, LOG_DIR_MODE)
        except OSError:
            pass  # not ours (a shared folder): leave it
        super().__init__(folder / f"youthbot-{role}.log", encoding="utf-8")

    def _open(self):
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, LOG_FILE_MODE)
        try:
            if os.fstat(fd).st_mode & 0o777 != LOG_FILE_MODE:
                os.fchmod(fd, LOG_FILE_MODE)
        except OSError:
            pass
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


def wants_json(settings, stream=None) -> bool:
    fmt = settings.log_format.lower()
    return fmt == "json" or (fmt not in ("text",) and not _isatty(stream or sys.stderr))


def setup(settings, stream=None, role: str = "web") -> None:
    """Configure the root logger once per process: JSON or text on stderr, JSON files in LOG_DIR."""
    pseudonyms.set_salt(settings.wechat_appid)
    stream = stream or sys.stderr
    as_json = wants_json(settings, stream)
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(h)
        h.close()
    console = logging.StreamHandler(stream)
    console.setFormatter(json_formatter() if as_json else logging.Formatter(TEXT_FORMAT))
    handlers = [console]
    if settings.log_dir:
        file_handler = LogFile(settings.log_dir, role)
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
    """A stable pseudonym for an openid in logs: 12 hex digits of sha256(appid:openid) (domain/pseudonyms.py)."""
    return pseudonyms.user_ref(openid)


def sampled(ref: str, share: float) -> bool:
    """Whether the user with this pseudonym is among the `share` (0..1) whose routine lines are logged.

    Decided by the pseudonym, not by chance per line: a sampled user's messages are all in the log,
    in order, and the same users are sampled in every process."""
    if share >= 1:
        return True
    return share > 0 and int(ref[:8], 16) < share * 0x100000000


class GunicornLogger(GunicornBaseLogger):
    """gunicorn's own lines (start-up, WORKER TIMEOUT, a worker's traceback, signals) as JSON under
    LOG_FORMAT=json (or auto off a terminal), like every other line; also into LOG_DIR's web file.
    bot/runtime/gunicorn_conf.py names it as gunicorn's logger_class."""

    def setup(self, cfg):
        super().setup(cfg)
        from bot.config import Settings

        settings = Settings.from_env()
        pseudonyms.set_salt(settings.wechat_appid)
        if wants_json(settings):
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(json_formatter())
        if settings.log_dir:
            handler = LogFile(settings.log_dir, "console" if settings.serve_role == "console" else "web")
            handler.setFormatter(json_formatter())
            handler._gunicorn = True  # removed again when gunicorn sets its logging up anew (HUP)
            self.error_log.addHandler(handler)
