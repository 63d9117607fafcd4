"""Content parsers: YAML (and the staff's spreadsheets) into records for the domain's stores.

Each parser reads one file into records and collects every problem it finds
(a Collector) instead of stopping at the first; nothing here writes. Writing
is bot/importers/__init__.py's apply step, run only when no file had an error.
"""
from __future__ import annotations

import re

import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.importers.files import Collector, ContentError, header_key, plain_number, read_sheet, read_yaml, require
from domain import clock
from domain.events import Occurrence
from domain.jobs import Posting, default_expiry
from domain.fields import EVENT_FIELDS, POSTING_FIELDS, required
from domain.limits import EVENT_LIMITS, POSTING_LIMITS, long_fields
from domain.quiz import KINDS, LETTERS, Question, Session, parse_answer

KIND_NAMES = {"单选": "single", "单选题": "single", "多选": "multi", "多选题": "multi",
              "判断": "judge", "判断题": "judge", "single": "single", "multi": "multi", "judge": "judge"}
SHEET_COLUMNS = {  # header in the sheet (as files.header_key reads it; the first for a field is the template's) -> field
    "期号": "session", "期数": "session", "期": "session",
    "标题": "title", "本期标题": "title", "名称": "title",
    "学习内容": "summary", "内容": "summary", "内容简介": "summary", "简介": "summary",
    "链接": "link", "学习链接": "link", "网址": "link",
    "开始": "opens", "开始时间": "opens", "开始日期": "opens",
    "截止": "closes", "截止时间": "closes", "截止日期": "closes", "结束": "closes", "结束时间": "closes",
    "题目": "question", "题干": "question", "问题": "question",
    "题型": "type", "类型": "type",
    "答案": "answer", "正确答案": "answer", "标准答案": "answer",
    "解析": "explain", "答案解析": "explain", "说明": "explain",
}
QUIZ_REQUIRED = ("session", "title", "summary", "opens", "closes", "question", "answer")


@dataclass
class Branches:
    pairs: list[tuple[str, str]]


@dataclass
class FileEvent:
    occ: Occurrence
    demo_signups: int = 0  # demo content only: made-up volunteers signed up when the demo loads


@dataclass
class DemoMembers:
    path: Path
    seed: int
    surnames: list
    given_names: list
    per_branch: int
    branch_trend: dict  # branch id -> how much keener its members were late than early


def when(data: dict, path: Path, field: str, row: int | None = None, column: str | None = None) -> float:
    try:
        return clock.parse_when(data[field])
    except KeyError:
        raise ContentError(path, column or field, "没有填", row) from None
    except ValueError:
        raise ContentError(path, column or field, f"「{data[field]}」不是日期时间，请写成 2026-12-03 16:30",
                           row) from None


# -- branches -------------------------------------------------------------------
def parse_branches(path: Path, errors: list) -> list:
    c = Collector(path, errors)
    data = c.check(read_yaml, path)
    branches = c.check(require, data, path, "branches", list) if data else None
    if not branches:
        return []
    good = True
    for i, b in enumerate(branches, start=1):
        if not isinstance(b, dict) or not b.get("id") or not b.get("name"):
            c.add(f"branches[{i}]", "每个支部都要有 id 和 name")
            good = False
    return [Branches([(str(b["id"]), str(b["name"])) for b in branches])] if good else []


# -- quizzes --------------------------------------------------------------------
def question_from(raw: dict, c: Collector, where: str = "", row: int | None = None,
                  column=lambda f: f) -> Question | None:
    """A question from a YAML entry or a sheet row; every problem recorded in c, None if any."""
    before = len(c.errors)
    for f, problem in long_fields({k: v for k, v in raw.items() if k in ("question", "options", "explain", "answer")}):
        c.add(where + column(f) if f != "options" else where + f, problem, row)
    text = str(raw.get("question") or "").strip()
    if not text:
        c.add(where + column("question"), "没有填", row)
    kind = KIND_NAMES.get(str(raw.get("type") or "single").strip().lower())
    if kind not in KINDS:
        c.add(where + column("type"), f"「{raw.get('type')}」不是题型：写 单选、多选 或 判断", row)
        kind = None
    options = [str(o).strip() for o in (raw.get("options") or []) if str(o).strip()]
    if kind in ("single", "multi") and not 2 <= len(options) <= len(LETTERS):
        c.add(where + column("options"), f"选择题要有2到{len(LETTERS)}个选项，现在有{len(options)}个", row)
    given = str(raw.get("answer") or "").strip()
    answer = parse_answer(given, kind, len(options)) if kind else None
    if kind and not given:
        c.add(where + column("answer"), "没有填", row)
    elif kind and answer is None:
        shown = "对 或 错" if kind == "judge" else f"A–{LETTERS[max(len(options), 1) - 1]}"
        c.add(where + column("answer"), f"「{given}」不是选项（{shown}）", row)
    explain = str(raw.get("explain") or "").strip()
    if len(explain) > 200:
        c.add(where + column("explain"), f"最多200字，现在{len(explain)}字", row)
    if len(c.errors) > before:
        return None
    return Question(text, kind, options, answer, explain)


# A session's id is part of its console address (/admin/quizzes/<id>): letters, digits, . _ - only.
SESSION_ID = re.compile(r"[^\W_][\w.-]{0,39}")
SESSION_ID_RULE = "期号只能用字母、数字、汉字和 . _ -（最多40个字符，不能有空格、斜杠或换行）"


def parse_quizzes(path: Path, errors: list) -> list:
    if path.suffix.lower() in (".xlsx", ".csv"):
        return _sessions_from_sheet(path, errors)
    session = _session_from_yaml(path, errors)
    return [session] if session else []


def _session_from_yaml(path: Path, errors: list) -> Session | None:
    c = Collector(path, errors)
    before = len(errors)
    data = c.check(read_yaml, path)
    if data is None:
        return None
    raw_questions = c.check(require, data, path, "questions", list) or []
    questions = [question_from(q if isinstance(q, dict) else {}, c, f"questions[{i}].")
                 for i, q in enumerate(raw_questions, start=1)]
    if "questions" in data and not raw_questions:
        c.add("questions", "至少要有一道题")
    for f, problem in long_fields({k: v for k, v in data.items() if k in ("id", "title", "summary", "link")}):
        c.add(f, problem)
    sid, title, summary = (c.check(require, data, path, f) for f in ("id", "title", "summary"))
    if sid is not None and not SESSION_ID.fullmatch(sid):
        c.add("id", SESSION_ID_RULE)
    opens, closes = c.check(when, data, path, "opens"), c.check(when, data, path, "closes")
    if opens is not None and closes is not None and closes <= opens:
        c.add("closes", "截止时间要晚于开始时间")
    if len(errors) > before:
        return None
    return Session(sid, title, summary, opens, closes, questions, str(data.get("link") or ""))


def _sessions_from_sheet(path: Path, errors: list) -> list[Session]:
    c = Collector(path, errors)
    sheet = c.check(read_sheet, path, SHEET_COLUMNS, LETTERS)
    if sheet is None:
        return []
    missing = [f for f in QUIZ_REQUIRED if f not in sheet.headers]
    for f in missing:
        c.add(_header(f), "表格里缺少这一列", 1)
    if missing:
        return []
    before = len(errors)
    sessions: dict[str, Session] = {}
    for row_no, row in sheet.rows:
        sid = str(row.get("session") or "").strip()
        if not sid:
            c.add(sheet.column("session"), "没有填", row_no)
            continue
        if not SESSION_ID.fullmatch(sid):
            c.add(sheet.column("session"), SESSION_ID_RULE, row_no)
            continue
        for f, problem in long_fields({k: v for k, v in row.items() if k in ("title", "summary", "link")}):
            c.add(sheet.column(f), problem, row_no)
        if sid not in sessions:
            ok = True
            for f in ("title", "summary", "opens", "closes"):
                if not row.get(f):
                    c.add(sheet.column(f), "每期第一行要填（标题、学习内容、开始、截止）", row_no)
                    ok = False
            opens = c.check(when, row, path, "opens", row_no, sheet.column("opens")) if ok else None
            closes = c.check(when, row, path, "closes", row_no, sheet.column("closes")) if ok else None
            if opens is not None and closes is not None and closes <= opens:
                c.add(sheet.column("closes"), "截止时间要晚于开始时间", row_no)
            sessions[sid] = Session(sid, str(row.get("title") or ""), str(row.get("summary") or ""), opens or 0,
                                    closes or 0, [], str(row.get("link") or ""))
        row["options"] = [row[letter] for letter in LETTERS if row.get(letter) not in (None, "")]
        q = question_from(row, c, "", row_no, sheet.column)
        if q:
            sessions[sid].questions.append(q)
    if not sheet.rows:
        c.add("", "表格里没有题目行")
    return [] if len(errors) > before else list(sessions.values())


def _header(field: str) -> str:
    return next((h for h, f in SHEET_COLUMNS.items() if f == field), field)


# -- volunteer events -------------------------------------------------------------
def parse_events(path: Path, errors: list) -> list:
    c = Collector(path, errors)
    data = c.check(read_yaml, path)
    if data is None:
        return []
    before = len(errors)
    occurrences = occurrences_from(data, c)
    demo = c.check(require, data, path, "demo_signups", int) if data.get("demo_signups") else 0
    return [] if len(errors) > before else [FileEvent(o, demo or 0) for o in occurrences]


def occurrences_from(data: dict, c: Collector, kind: str = "volunteer", where: str = "") -> list[Occurrence]:
    """One occurrence for a dated event; one per matching day for a recurring one (problems into c)."""
    path = c.path
    for f, problem in long_fields(data, EVENT_LIMITS):
        c.add(where + f, problem)
    # the event's fields (domain/fields.py): the required ones must be there, text is stripped, numbers bounded
    text = {f.key: str(data.get(f.key) or "").strip() for f in EVENT_FIELDS if f.text}
    for f in EVENT_FIELDS:
        if f.required and f.text:
            text[f.key] = c.check(require, data, path, f.key, column=where + f.key)
    numbers = {}
    for f in EVENT_FIELDS:
        if f.kind != "int" or f.record in ("requirements", "recurrence"):
            continue
        given = f.required or data.get(f.key) not in (None, "")
        numbers[f.key] = c.check(require, data, path, f.key, int, column=where + f.key) if given else f.default
        if numbers[f.key] is not None and f.bounds and numbers[f.key] < f.bounds[0]:
            c.add(where + f.key, f"至少为{f.bounds[0]:g}")
    req = data.get("requirements") or {}
    if not isinstance(req, dict) or set(req) - {"min_age", "students_only"}:
        c.add(where + "requirements", "只认 min_age 和 students_only")
    hours = {}
    for f in EVENT_FIELDS:
        if f.kind != "hours":
            continue
        try:
            hours[f] = float(data.get(f.key, f.default))
        except (TypeError, ValueError):
            c.add(where + f.key, f"应当是小时数，现在是「{data.get(f.key)}」")
    if data.get("recurrence"):
        spans = c.check(_recurring_spans, data, path, where) or []
    else:
        start = c.check(when, data, path, "start", column=where + "start")
        end = c.check(when, data, path, "end", column=where + "end")
        spans = [(start, end)] if start is not None and end is not None else []
    if not text["category"] and kind == "job_fair":
        text["category"] = "招聘会"
    out = []
    for start, end in spans:
        if end <= start:
            c.add(where + "end", "结束时间要晚于开始时间")
            continue
        if None in text.values() or None in numbers.values() or len(hours) < sum(f.kind == "hours" for f in EVENT_FIELDS):
            continue  # (each problem was said above)
        eid = text["id"]
        out.append(Occurrence(
            **{f.record: text[f.key] for f in EVENT_FIELDS if f.text and f.key != "id"},
            **{f.record: numbers[f.key] for f in EVENT_FIELDS if f.key in numbers},
            **{f.record: start - h * 3600 for f, h in hours.items()},
            id=f"{eid}@{clock.local(start):%Y%m%d}", event_id=eid, start=start, end=end,
            **{f.record: list(data.get(f.key) or []) for f in EVENT_FIELDS if f.kind == "words"},
            requirements=req if isinstance(req, dict) else {}, kind=kind))
    return out


def _recurring_spans(data: dict, path: Path, where: str = "") -> list[tuple[float, float]]:
    rec = data["recurrence"]
    if not isinstance(rec, dict) or not rec.get("weekdays"):
        raise ContentError(path, where + "recurrence.weekdays", "列出星期几：1 = 周一 … 7 = 周日")
    first = clock.parse_when(f"{rec.get('from', 'today')}".split()[0] + " 00:00")
    days = int(rec.get("days", 14))
    start_at, end_at = require(data, path, "start", column=where + "start"), require(data, path, "end", column=where + "end")
    spans = []
    for d in range(days):
        day = clock.local(first) + timedelta(days=d)
        if day.isoweekday() in rec["weekdays"]:
            date = f"{day:%Y-%m-%d}"
            try:
                spans.append((clock.parse_when(f"{date} {start_at}"), clock.parse_when(f"{date} {end_at}")))
            except ValueError:
                raise ContentError(path, where + "start", f"「{start_at}」或「{end_at}」不是时间，请写成 09:00") from None
    return spans


# -- job postings ------------------------------------------------------------------
# The postings sheet's columns are the posting's fields (domain/fields.py): header (the label and its aliases, as
# files.header_key reads them) -> field; a YAML file's postings use the keys.
JOB_COLUMNS = {header_key(h): f.key for f in POSTING_FIELDS for h in f.headers}
JOB_REQUIRED = required(POSTING_FIELDS)
JOB_STATUSES = {"open": "open", "filled": "filled", "expired": "expired", "招聘中": "open", "已招满": "filled",
                "已过期": "expired", "": "open"}


def parse_jobs(path: Path, errors: list) -> list:
    c = Collector(path, errors)
    before = len(errors)
    records: list = []
    if path.suffix.lower() in (".xlsx", ".csv"):
        sheet = c.check(read_sheet, path, JOB_COLUMNS)
        if sheet is None:
            return []
        missing = [f for f in JOB_REQUIRED if f not in sheet.headers]
        for f in missing:
            c.add(next(x.label for x in POSTING_FIELDS if x.key == f), "表格里缺少这一列", 1)
        if missing:
            return []
        rows, fair_id, column = sheet.rows, "", sheet.column
    else:
        data = c.check(read_yaml, path)
        if data is None:
            return []
        fair_id = ""
        if data.get("fair"):
            fair = occurrences_from(data["fair"], c, kind="job_fair", where="fair.") \
                if isinstance(data["fair"], dict) else []
            records += [FileEvent(o) for o in fair[:1]]
            fair_id = fair[0].event_id if fair else ""
        rows = [(None, p if isinstance(p, dict) else {}) for p in (c.check(require, data, path, "postings", list) or [])]
        column = None
    seen = set()
    for row_no, raw in rows:
        p = posting_from(raw, c, row_no, fair_id, column)
        if p and p.id in seen:
            c.add(column("id") if column else f"postings[{p.id}].id", f"编号「{p.id}」重复", row_no)
        elif p:
            seen.add(p.id)
            records.append(p)
    return [] if len(errors) > before else records


def posting_from(raw: dict, c: Collector, row: int | None, fair_id: str, column=None) -> Posting | None:
    path = c.path
    name = column or (lambda f: f"postings[{raw.get('id', '?')}].{f}")
    before = len(c.errors)
    for f, problem in long_fields(raw, POSTING_LIMITS):
        c.add(name(f), problem, row)
    for f in JOB_REQUIRED:
        if not str(raw.get(f) or "").strip():
            c.add(name(f), "没有填", row)
    numbers = {}
    for f in POSTING_FIELDS:
        if f.kind == "int":
            try:
                numbers[f.key] = int(plain_number(raw.get(f.key) or f.default))
            except (TypeError, ValueError):
                c.add(name(f.key), f"应当是整数，现在是「{raw.get(f.key)}」", row)
    published = c.check(when, raw, path, "published", row, name("published")) if raw.get("published") else clock.now()
    expires = c.check(when, raw, path, "expires", row, name("expires")) if raw.get("expires") \
        else default_expiry(published or clock.now())
    status = JOB_STATUSES.get(str(raw.get("status") or "").strip())
    if status is None:
        c.add(name("status"), f"「{raw.get('status')}」不是状态：写 招聘中、已招满 或 已过期", row)
    if len(c.errors) > before:
        return None
    text = {f.record: str(raw.get(f.key) or "").strip() or (f.default or "") for f in POSTING_FIELDS if f.text}
    text["fair"] = str(raw.get("fair") or fair_id)
    return Posting(**text, **numbers, published=published, expires=expires, status=status)


# -- demo members and their past quiz results -----------------------------------------
def parse_demo(path: Path, errors: list) -> list:
    c = Collector(path, errors)
    data = c.check(read_yaml, path)
    if data is None:
        return []
    before = len(errors)
    spec = [c.check(require, data, path, "seed", int), c.check(require, data, path, "surnames", list),
            c.check(require, data, path, "given_names", list), c.check(require, data, path, "members_per_branch", int)]
    trend = data.get("branch_trend") or {}
    if not isinstance(trend, dict):
        c.add("branch_trend", "应当是「支部id: 数值」")
    return [] if len(errors) > before else [DemoMembers(path, *spec, trend)]


def demo_members(spec: DemoMembers, branches: list[tuple[str, str]], past: list[Session]):
    """Yield (openid, branch id, name, [(session, answers, started)]) for the made-up members (a seeded draw)."""
    rng = random.Random(spec.seed)
    for bid, _ in branches:
        for n in range(spec.per_branch):
            name = rng.choice(spec.surnames) + rng.choice(spec.given_names)
            diligence = rng.uniform(0.4, 1.0)
            trend = float(spec.branch_trend.get(bid, 0))
            results = []
            for i, session in enumerate(past):
                if rng.random() < diligence + trend * (i / max(1, len(past) - 1) - 0.5):
                    answers = [q.answer if rng.random() < 0.8 else _wrong(q, rng) for q in session.questions]
                    results.append((session, answers, session.opens + rng.randint(3600, 86400)))
            yield f"o_demo_{bid}_{n:03d}", bid, name, results


def _wrong(q: Question, rng: random.Random) -> str:
    if q.kind == "judge":
        return "F" if q.answer == "T" else "T"
    choices = [LETTERS[i] for i in range(len(q.options)) if LETTERS[i] != q.answer]
    return rng.choice(choices) if choices else q.answer
