"""Files staff upload in the console (question banks, postings sheets): all or nothing, every problem listed.

A thin layer over the importer's check and apply steps (bot/importers/__init__.py):
the file is checked whole with the same rules and the same words as
`youthbot content load` (file, row, the column as the sheet names it); when
anything is wrong nothing is saved, and every problem is listed, so staff fix
the sheet once instead of once per error.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, TypeVar

from bot.importers import _apply, check_file
from bot.importers.files import ContentError
from bot.importers.loaders import FileEvent

SUFFIXES = {".xlsx", ".csv", ".yaml", ".yml"}
BUSY = "另一份表格正在保存，请过一会儿再上传"
CONTENDED = "这份表格涉及的活动或岗位正被频繁修改，未保存任何内容，请稍后再上传"
T = TypeVar("T")


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


def staged_bot(bot, client):
    """bot with every service on `client` (a staged client: bot/runtime/staged.py)."""
    from domain.certificates import Certificates
    from domain.events import Events
    from domain.followers import Followers
    from domain.jobs import Jobs
    from domain.outbox import Outbox
    from domain.profiles import Profiles
    from domain.quiz import Quiz

    return replace(bot, redis=client, outbox=Outbox(client), events=Events(client), jobs=Jobs(client),
                   quiz=Quiz(client), profiles=Profiles(client), followers=Followers(client),
                   certificates=Certificates(client))


def atomically(bot, work: Callable[[object], T], refused: Callable[[str], T]) -> T:
    """work(bot on a staged client): every change it makes lands at once, or none does (a worker killed
    half way leaves the store as it was). refused(sentence) when it cannot run now."""
    from bot.runtime import staged

    try:
        return staged.run(bot.redis, lambda client: work(staged_bot(bot, client)))
    except staged.Busy:
        return refused(BUSY)
    except staged.StagedError:
        return refused(CONTENDED)


def load_quiz_bank(bot, path: Path) -> Upload:
    up, records = _read(path, "quizzes")
    return _save(bot, up, records)


def load_postings(bot, path: Path) -> Upload:
    up, records = _read(path, "jobs")
    up = _save(bot, up, records)
    up.records = [r.occ if isinstance(r, FileEvent) else r for r in up.records]
    return up


def _save(bot, up: Upload, records: dict) -> Upload:
    if up.errors:
        return up

    def work(staged):
        return _apply(staged, records, demo=False)

    report = atomically(bot, work, lambda sentence: sentence)
    if isinstance(report, str):
        up.errors = [report]
        return up
    up.saved, up.notes = True, report.notes
    return up

