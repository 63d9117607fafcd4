"""Content files: import the committee's quizzes, events and postings into Redis.

`youthbot content load DIR` and the first start of a demo both come here, and
the staff console checks uploads with the same functions. A load has two steps:

1. check: every file of every known folder is read into records and every
   problem is collected, named by file, row and column in the sheet's own
   words (check_dir, check_file: a Plan with .errors);
2. apply: only when nothing was wrong, the records are written (Plan.apply).

So a load either applies completely or changes nothing. Loading is idempotent
(records are upserted by id). Where staff changed something after a file was
loaded (moved an event, marked a posting filled), the staff's change is kept
and the load report says so; see README "Content files and staff changes".

Demo parts (the demo/ folder's made-up members, `demo_signups` in event files,
the history/ folder's past half year) are applied only in demo mode
(bot/config.py Settings.demo_mode).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from bot.importers import history, loaders, sheets
from bot.importers.files import ContentError, ContentErrors, LoadReport
from domain import clock, demo as demo_people
from domain.jobs import Posting
from domain.keys import key, user_key
from domain.profiles import BRANCHES
from domain.quiz import Session

log = logging.getLogger(__name__)

LOADED_MARK = key("content", "loaded")

YAML = (".yaml", ".yml")
SHEETS = (".yaml", ".yml", ".xlsx", ".csv")
# Folder -> (parser, file suffixes), in load order; demo/ near the end: its made-up
# members take part in what the other folders define; history/ (demo only) last:
# the past half year those members took part in.
LOADERS = {
    "branches": (sheets.parse_branches_file, SHEETS),  # YAML, or a sheet (bot/importers/sheets.py)
    "quizzes": (loaders.parse_quizzes, SHEETS),
    "events": (sheets.parse_events_file, SHEETS),
    "jobs": (loaders.parse_jobs, SHEETS),
    "programmes": (history.parse_programmes, YAML),
    "demo": (loaders.parse_demo, YAML),
    "history": (history.parse_history, YAML),
}

__all__ = ["ContentError", "ContentErrors", "LoadReport", "Plan", "check_dir", "check_file", "load_dir",
           "load_demo_if_empty", "LOADERS"]


@dataclass
class Plan:
    """What a load would write, and every problem found on the way (nothing is written while there is one)."""

    records: dict[str, list] = field(default_factory=dict)  # folder -> records, in LOADERS order
    errors: list[ContentError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def apply(self, bot, demo: bool | None = None) -> LoadReport:
        """Write the records (raises ContentErrors if the plan has errors); demo parts only in demo mode."""
        if self.errors:
            raise ContentErrors(self.errors)
        demo = bot.settings.demo_mode if demo is None else demo
        return _apply(bot, self.records, demo)


def check_file(path: Path, folder: str) -> Plan:
    """Check one file as if it were in `folder` (quizzes, events, jobs, branches, demo): an upload."""
    path = Path(path)
    if folder not in LOADERS:
        return Plan(errors=[ContentError(path, "", f"不认识的内容类别「{folder}」")])
    parse, suffixes = LOADERS[folder]
    if path.suffix.lower() not in suffixes:
        return Plan(errors=[ContentError(path, "", f"这一类只收 {'、'.join(suffixes)} 文件")])
    errors: list[ContentError] = []
    return Plan({folder: parse(path, errors)}, errors)


def check_dir(directory: Path) -> Plan:
    """Check every known folder below directory; the plan lists every record and every error."""
    directory = Path(directory)
    if not directory.is_dir():
        return Plan(errors=[ContentError(directory, "", "不是文件夹")])
    plan = Plan()
    for folder, (parse, suffixes) in LOADERS.items():
        sub = directory / folder
        files = sorted(p for p in sub.glob("*") if p.suffix.lower() in suffixes) if sub.is_dir() else []
        plan.records[folder] = [r for path in files for r in parse(path, plan.errors)]
    return plan


def load_dir(bot, directory: Path, demo: bool | None = None) -> LoadReport:
    """Check everything below directory, then write it all; ContentErrors (every problem) and nothing written."""
    return check_dir(directory).apply(bot, demo)


def load_demo_if_empty(bot) -> LoadReport | None:
    """Load content/ with its demo people on a demo's first start; one process does it, the others skip."""
    if bot.redis.exists(LOADED_MARK) or not bot.redis.set(key("content", "loading"), "1", nx=True, ex=60):
        return None
    try:
        report = load_dir(bot, bot.settings.content_dir, demo=True)
        bot.redis.set(LOADED_MARK, "1")
        log.warning("demo mode (%s): loaded %s from %s, with made-up members and sign-ups. "
                    "Remove the made-up people with `youthbot demo clear`; start from nothing by stopping the "
                    "service and deleting %s (the embedded store).", bot.settings.demo_reason,
                    str(report).replace("\n", "; "), bot.settings.content_dir, bot.settings.data_dir)
        return report
    finally:
        bot.redis.delete(key("content", "loading"))


# -- writing -----------------------------------------------------------------------------
def _apply(bot, records: dict[str, list], demo: bool) -> LoadReport:
    counts: dict[str, int] = {}
    notes: list[str] = []
    for b in records.get("branches", []):
        bot.redis.hset(BRANCHES, mapping=dict(b.pairs))
        counts["branches"] = counts.get("branches", 0) + len(b.pairs)
    quiz = bot.quiz
    for session in records.get("quizzes", []):
        quiz.save_session(session)
    counts["quizzes"] = len(records.get("quizzes", []))
    file_events = records.get("events", []) + [r for r in records.get("jobs", []) if isinstance(r, loaders.FileEvent)]
    counts["events"] = _apply_events(bot, file_events, demo, notes)
    postings = [r for r in records.get("jobs", []) if isinstance(r, Posting)]
    counts["jobs"] = _apply_postings(bot, postings, notes)
    for programme in records.get("programmes", []):
        history.save_programme(bot, programme)
    counts["programmes"] = len(records.get("programmes", []))
    if demo:
        counts["demo"] = sum(_apply_demo(bot, spec) for spec in records.get("demo", []))
        counts["history"] = sum(history.load_history(bot, h.path) for h in records.get("history", []))
    return LoadReport({k: v for k, v in counts.items() if v}, notes)


def _apply_events(bot, file_events: list, demo: bool, notes: list[str]) -> int:
    from domain import event_changes as staff  # notices go out in the committee's words

    events = bot.events
    for fe in sorted(file_events, key=lambda fe: fe.occ.start):  # new events are numbered in date order
        done = events.load_from_file(fe.occ)
        occ = done.occ
        for name, (staff_value, file_value, changed) in done.kept.items():
            shown = (lambda v: clock.fmt(v)) if name == "start" else (lambda v: v)
            what = "the time staff moved it to" if name == "start" else f"the {name} staff set"
            notes.append(f"event {occ.number} {occ.title}: kept {what}, {shown(staff_value)}; the file says "
                         f"{shown(file_value)}" + (" (the file changed it since: check which is right)" if changed else ""))
        if done.moved_from is not None:
            told = staff.announce_move(bot, occ, done.moved_from)
            if told:
                notes.append(f"event {occ.number} {occ.title}: the file moves it from {clock.fmt(done.moved_from)} "
                             f"to {clock.fmt(occ.start)}; {told} people will be told")
        if demo and fe.demo_signups:
            made_up = [f"o_demo_vol_{i:03d}" for i in range(fe.demo_signups)]
            demo_people.register(bot.redis, made_up)
            for openid in made_up:
                events.sign_up(occ, openid)
    return len(file_events)


def _apply_postings(bot, postings: list[Posting], notes: list[str]) -> int:
    jobs = bot.jobs
    for p in postings:
        known = jobs.get(p.id) if p.id.isdigit() else None
        by_number = jobs.by_number(p.id) if p.id.isdigit() and known is None else None
        if by_number is not None and (by_number.employer, by_number.title) == (p.employer, p.title):
            # the number the console shows (岗位 42) for the same job: update that posting, never a copy
            notes.append(f"编号 {p.id} 是岗位 {by_number.number} 的回复号：已更新这个岗位（它的表格编号是 {by_number.id}）")
            p.id = by_number.id
        file_says = p.status
        kept = jobs.load_from_file(p)
        if kept:
            notes.append(f"posting {p.number} {p.title}: kept the status staff set ({kept}); the file says {file_says}")
    return len(postings)


def _apply_demo(bot, spec: loaders.DemoMembers) -> int:
    """Made-up members in each branch, with results for past sessions (a seeded, repeatable draw)."""
    profiles, quiz = bot.profiles, bot.quiz
    past: list[Session] = [s for s in quiz.sessions() if s.closes <= clock.now()]
    members = list(loaders.demo_members(spec, profiles.branches(), past))
    demo_people.register(bot.redis, [m[0] for m in members])
    for openid, bid, name, results in members:
        profiles.set_branch(openid, bid)
        # as if they had agreed to the notice and given their name: staff find them on 人员 like anyone else
        profiles.save_imported_name(openid, name, int(clock.now()))  # a reload keeps the first consent
        for session, answers, started in results:
            quiz.record_completed(openid, session, answers, started)
    return len(members)
