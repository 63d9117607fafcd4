"""Files staff upload in the console (question banks, postings sheets): all or nothing, every problem listed.

A thin layer over the importer's check and apply steps (bot/importers/__init__.py):
the file is checked whole with the same rules and the same words as
`youthbot content load` (file, row, the column as the sheet names it); when
anything is wrong nothing is saved, and every problem is listed, so staff fix
the sheet once instead of once per error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bot.importers import _apply, check_file
from bot.importers.files import ContentError
from bot.importers.loaders import FileEvent

SUFFIXES = {".xlsx", ".csv", ".yaml", ".yml"}


@dataclass
class Upload:
    """What a file held: the records read from it, and every problem found (then nothing was saved)."""

    records: list = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    saved: bool = False
    notes: list[str] = field(default_factory=list)  # staff changes a reload kept (see the importer)


def say(exc: ContentError) -> str:
    """A problem in the staff's words: file, row, column, problem."""
    return str(exc)


def _read(path: Path, folder: str) -> tuple[Upload, dict]:
    if path.suffix.lower() not in SUFFIXES:
        return Upload(errors=[f"{path.name}：请上传 .xlsx、.csv 或 .yaml 文件"]), {}
    plan = check_file(path, folder)
    errors = [say(e) for e in plan.errors]
    records = plan.records.get(folder, [])
    if not records and not errors:
        errors.append(f"{path.name}：没有可导入的内容（第一行应是表头）")
    return Upload(records=[] if errors else records, errors=errors), plan.records


def read_quiz_bank(path: Path) -> Upload:
    """Sessions from a question bank (sheet or YAML), with every problem."""
    return _read(path, "quizzes")[0]


def read_postings(path: Path) -> Upload:
    """Postings from a sheet (or a fair's YAML, with its fair first), with every problem."""
    up, _ = _read(path, "jobs")
    up.records = [r.occ if isinstance(r, FileEvent) else r for r in up.records]
    return up


def load_quiz_bank(bot, path: Path, run: Callable | None = None) -> Upload:
    up, records = _read(path, "quizzes")
    return _save(bot, up, records, run)


def load_postings(bot, path: Path, run: Callable | None = None) -> Upload:
    """Postings (and a fair) from a file; a fair block may create a job fair or change one, never another event."""
    up, records = _read(path, "jobs")
    if not up.errors:
        up.errors = _not_fairs(bot.redis, path, records.get("jobs", []))
        if up.errors:
            up.records = []
    up = _save(bot, up, records, run)
    up.records = [r.occ if isinstance(r, FileEvent) else r for r in up.records]
    return up


def _not_fairs(redis, path: Path, records: list) -> list[str]:
    """The fair blocks that name a stored event that is not a job fair (a volunteer event: the organisers' own)."""
    from domain.events import Events

    events, errors = Events(redis), []
    for fe in (r for r in records if isinstance(r, FileEvent)):
        kinds = events.kinds_of(fe.occ.event_id)
        if kinds - {"job_fair"}:
            errors.append(f"{path.name}「fair.id」：编号 {fe.occ.event_id} 是志愿活动，不是招聘会；岗位表只能新建或修改招聘会，"
                          "请换一个编号")
    return errors


def _save(bot, up: Upload, records: dict, run: Callable | None = None) -> Upload:
    """Write the checked records. run(work): how to run work(bot) (the console: all at once or not at all,
    bot/admin/spool.py); it returns a sentence instead when the records could not be saved."""
    if up.errors:
        return up

    def work(b):
        return _apply(b, records, demo=False)

    report = run(work) if run else work(bot)
    if isinstance(report, str):
        up.errors = [report]
        return up
    up.saved, up.notes = True, report.notes
    return up

