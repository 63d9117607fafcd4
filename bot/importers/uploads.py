"""Files staff upload (question banks, postings sheets): every bad row reported, all or nothing loaded.

The console's upload pages come here. A file is read whole and each row checked
with the same rules `youthbot content load` applies (domain.loaders); when any
row is wrong, nothing from the file is saved and every problem is listed with
its row and column, so staff fix the sheet once instead of once per error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.importers import loaders
from bot.importers.files import ContentError, read_yaml, require
from domain.events import Events
from domain.jobs import Jobs, Posting
from domain.quiz import LETTERS, Quiz, Session

SUFFIXES = {".xlsx", ".csv", ".yaml", ".yml"}


@dataclass
class Upload:
    """What a file held: the records read from it, and every problem found (then nothing was saved)."""

    records: list = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    saved: bool = False


_HEADERS = {**{f: h for h, f in loaders.SHEET_COLUMNS.items()}, **{f: h for h, f in loaders.JOB_COLUMNS.items()},
            "options": "选项", "type": "题型", "question": "题目"}
_PROBLEMS = [  # the loaders' wording -> what staff read
    (re.compile(r"^missing on the first row of this session$"), "这一期的第一行必须填写"),
    (re.compile(r"^missing$"), "没有填写"),
    (re.compile(r"^(.*) is not one of the options$"), r"答案 \1 不在选项中"),
    (re.compile(r"^use one of single/multi/judge .*got (.*)$"), r"题型须为 单选/多选/判断，现在是 \1"),
    (re.compile(r"^a (\w+) question needs 2 to (\d+) options$"), r"选择题需要2到\2个选项"),
    (re.compile(r"^at most 200 characters, got (\d+)$"), r"解析最多200字，现在\1字"),
    (re.compile(r"^expected a whole number, got (.*)$"), r"应为整数，现在是 \1"),
    (re.compile(r"^not a date: (.*?) \(.*$"), r"不是日期：\1（应写成 2026-12-03 16:30）"),
    (re.compile(r"^use open/filled/expired .*$"), "状态须为 招聘中/已招满/已过期"),
]


def say(exc: ContentError) -> str:
    """A loader's error in the staff's words: file, row, column, problem."""
    problem = exc.problem
    for pattern, words in _PROBLEMS:
        if pattern.match(problem):
            problem = pattern.sub(words, problem)
            break
    field_name = exc.field.rsplit(".", 1)[-1] if exc.field else ""
    column = _HEADERS.get(field_name, exc.field)
    item = re.match(r"(questions|postings)\[([^\]]+)\]\.", exc.field or "")
    where = f"{exc.path.name}" + (f" 第{exc.row}行" if exc.row else "") + \
        (f" 第{item[2]}{'题' if item[1] == 'questions' else '号岗位'}" if item else "") + (f"「{column}」" if column else "")
    return f"{where}：{problem}"


def read_quiz_bank(path: Path) -> Upload:
    """Sessions from a question bank (sheet or YAML), with every bad row."""
    up = Upload()
    if path.suffix.lower() not in SUFFIXES:
        up.errors.append(f"{path.name}: 请上传 .xlsx、.csv 或 .yaml 文件")
        return up
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            up.records = [_session_from_yaml(path, up.errors)]
        else:
            up.records = _sessions_from_sheet(path, up.errors)
    except ContentError as exc:  # the file as a whole: unreadable, no rows
        up.errors.append(say(exc))
    except Exception as exc:  # noqa: BLE001 - a damaged XLSX raises anything from zipfile to openpyxl
        up.errors.append(f"{path.name}: 无法读取这个文件（{exc.__class__.__name__}），请另存为 .xlsx 后再试")
    return up


def load_quiz_bank(redis, path: Path) -> Upload:
    up = read_quiz_bank(path)
    if up.errors or not up.records:
        up.records = [] if up.errors else up.records
        return up
    quiz = Quiz(redis)
    for session in up.records:
        quiz.save_session(session)
    up.saved = True
    return up


def _session_from_yaml(path: Path, errors: list[str]) -> Session | None:
    data = read_yaml(path)
    questions = []
    for i, q in enumerate(require(data, path, "questions", list), start=1):
        try:
            questions.append(loaders.question_from(q if isinstance(q, dict) else {}, path, f"questions[{i}]."))
        except ContentError as exc:
            errors.append(say(exc))
    try:
        session = Session(require(data, path, "id"), require(data, path, "title"), require(data, path, "summary"),
                          loaders.when(data, path, "opens"), loaders.when(data, path, "closes"), questions,
                          str(data.get("link") or ""))
    except ContentError as exc:
        errors.append(say(exc))
        return None
    _check_session(session, path, errors)
    return session


def _sessions_from_sheet(path: Path, errors: list[str]) -> list[Session]:
    sessions: dict[str, Session] = {}
    for row_no, row in loaders._sheet_rows(path):
        try:
            sid = str(row.get("session") or "").strip()
            if not sid:
                raise ContentError(path, "期号", "missing", row_no)
            if sid not in sessions:
                sessions[sid] = _session_head(sid, row, path, row_no)
            row["options"] = [row[letter] for letter in LETTERS if row.get(letter) not in (None, "")]
            sessions[sid].questions.append(loaders.question_from(row, path, "", row_no))
        except ContentError as exc:
            errors.append(say(exc))
    if not sessions and not errors:
        errors.append(f"{path.name}: 没有题目行（第一行应是表头：期号 标题 学习内容 链接 开始 截止 题目 题型 A B C D 答案 解析）")
    for session in sessions.values():
        _check_session(session, path, errors)
    return list(sessions.values())


def _session_head(sid: str, row: dict, path: Path, row_no: int) -> Session:
    for name in ("title", "summary", "opens", "closes"):
        if not row.get(name):
            raise ContentError(path, loaders._header(name), "missing on the first row of this session", row_no)
    return Session(sid, str(row["title"]), str(row["summary"]), loaders.when(row, path, "opens", row_no),
                   loaders.when(row, path, "closes", row_no), [], str(row.get("link") or ""))


def _check_session(session: Session, path: Path, errors: list[str]) -> None:
    if session.closes <= session.opens:
        errors.append(f"{path.name}: 期号 {session.id}: 截止时间须晚于开始时间")
    if not session.questions and not errors:
        errors.append(f"{path.name}: 期号 {session.id}: 至少要有一道题")


def read_postings(path: Path) -> Upload:
    """Postings from a sheet (or a fair's YAML), with every bad row."""
    up = Upload()
    if path.suffix.lower() not in SUFFIXES:
        up.errors.append(f"{path.name}: 请上传 .xlsx、.csv 或 .yaml 文件")
        return up
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            data = read_yaml(path)
            fair = loaders.occurrences_from(data["fair"], path, kind="job_fair")[0] if data.get("fair") else None
            rows = [(None, p) for p in require(data, path, "postings", list)]
        else:
            fair, rows = None, list(loaders._sheet_rows(path, loaders.JOB_COLUMNS))
        up.records = [fair] if fair else []
        for row_no, raw in rows:
            try:
                up.records.append(loaders.posting_from(raw if isinstance(raw, dict) else {}, path, row_no,
                                                       fair.event_id if fair else ""))
            except ContentError as exc:
                up.errors.append(say(exc))
        if not rows and not up.errors:
            up.errors.append(f"{path.name}: 没有岗位行")
    except ContentError as exc:
        up.errors.append(say(exc))
    except Exception as exc:  # noqa: BLE001 - a damaged XLSX raises anything from zipfile to openpyxl
        up.errors.append(f"{path.name}: 无法读取这个文件（{exc.__class__.__name__}），请另存为 .xlsx 后再试")
    return up


def load_postings(redis, path: Path) -> Upload:
    up = read_postings(path)
    if up.errors:
        up.records = []
        return up
    jobs, events = Jobs(redis), Events(redis)
    for record in up.records:
        jobs.save(record) if isinstance(record, Posting) else events.save(record)
    up.saved = True
    return up
