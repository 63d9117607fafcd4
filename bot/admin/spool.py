"""Uploads in the console: where the sheet waits while it is read, and how its records are saved.

The sheet waits in a folder of this process in DATA_DIR/tmp (0700).

Never the system's /tmp: a sheet holds names and phone numbers. The folder goes when the
request ends; one left by a worker killed mid-upload is removed by the next upload (any
worker) and when the app starts (bot/app.py), because its process is gone
(bot/runtime/workdirs.py).

Its records are saved all at once or not at all (atomically: bot/runtime/staged.py), so a
worker killed half way leaves the store as it was.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, TypeVar

from flask import request

from bot.admin.access import bot
from bot.runtime.workdirs import WORK, work_folder

BUSY = "另一份表格正在保存，请过一会儿再上传"
CONTENDED = "这份表格涉及的活动或岗位正被频繁修改，未保存任何内容，请稍后再上传"
UNSUPPORTED = "这次没能保存表格，未保存任何内容：数据库的设置不支持整表保存，请联系系统管理员（详见服务日志）"
T = TypeVar("T")

# Names the importers can open: the base name only, no control characters, not too long (in characters, and in
# UTF-8 bytes: a file system takes 255 bytes, 85 Chinese characters).
MAX_NAME = 120
MAX_NAME_BYTES = 200


def safe_name(filename: str) -> str:
    name = Path(filename.replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable() and ch not in "/\0")
    if name in ("", ".", ".."):
        return "upload"
    if len(name) > MAX_NAME:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[:MAX_NAME - len(suffix) - 1] + "." + suffix) if dot and len(suffix) <= 10 else name[:MAX_NAME]
    while len(name.encode()) > MAX_NAME_BYTES:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[:-1] + "." + suffix) if dot and stem and len(suffix) <= 10 else name[:-1]
    return name


@contextmanager
def uploaded(field: str):
    """The uploaded file of a form field, saved under its own name in this process's private folder
    (None if absent)."""
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        yield None
        return
    with work_folder(Path(bot().settings.data_dir) / WORK, "upload") as folder:
        path = Path(folder) / safe_name(upload.filename)
        upload.save(path)
        yield path


def atomically(bot, work: Callable[[object], T], refused: Callable[[str], T]) -> T:
    """work(bot on a staged client): every change it makes lands at once, or none does (a worker killed
    half way leaves the store as it was). refused(sentence) when it cannot run now."""
    from bot.runtime import staged

    try:
        return staged.run(bot.redis, lambda client: work(staged.bot_on(bot, client)))
    except staged.Busy:
        return refused(BUSY)
    except staged.Contended:
        return refused(CONTENDED)
    except staged.StagedError as exc:
        logging.getLogger(__name__).error("an upload could not be staged: %s", exc)
        return refused(UNSUPPORTED)


def saving(bot) -> Callable:
    """run(work) for bot/importers/uploads.py: work(staged bot) all at once, or the sentence saying why not."""
    return lambda work: atomically(bot, work, lambda sentence: sentence)
