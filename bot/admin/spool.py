"""Where an uploaded sheet waits while it is read: a folder of this process in DATA_DIR/tmp (0700).

Never the system's /tmp: a sheet holds names and phone numbers. The folder goes when the
request ends; one left by a worker killed mid-upload is removed by the next upload (any
worker) and when the app starts (bot/app.py), because its process is gone
(bot/runtime/workdirs.py).
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from flask import request

from bot.admin.access import bot
from bot.runtime.workdirs import WORK, work_folder

# Names the importers can open: the base name only, no control characters, not too long.
MAX_NAME = 120


def safe_name(filename: str) -> str:
    name = Path(filename.replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable() and ch not in "/\0")
    if name in ("", ".", ".."):
        return "upload"
    if len(name) > MAX_NAME:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[:MAX_NAME - len(suffix) - 1] + "." + suffix) if dot and len(suffix) <= 10 else name[:MAX_NAME]
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
