"""Content loaders: YAML (and the staff's spreadsheets) into the domain's stores.

Each loader checks every field and raises ContentError naming the file, the
row (for sheets) and the field; loading the same file twice changes nothing.
"""
from __future__ import annotations

import csv
import random
from datetime import timedelta
from pathlib import Path

from domain import clock
from bot.importers.files import ContentError, read_yaml, require
from domain.keys import user_key
from domain.events import Events, Occurrence
from domain.jobs import Jobs, Posting, default_expiry
from domain.profiles import BRANCHES, Profiles
from domain.quiz import KINDS, LETTERS, Question, Quiz, Session, parse_answer

KIND_NAMES = {"单选": "single", "单选题": "single", "多选": "multi", "多选题": "multi",
              "判断": "judge", "判断题": "judge", "single": "single", "multi": "multi", "judge": "judge"}
SHEET_COLUMNS = {  # header in the sheet -> field
    "期号": "session", "标题": "title", "学习内容": "summary", "链接": "link", "开始": "opens", "截止": "closes",
    "题目": "question", "题型": "type", "答案": "answer", "解析": "explain",
}


def when(data: dict, path: Path, field: str, row: int | None = None) -> float:
    try:
        return clock.parse_when(data[field])
    except (KeyError, ValueError) as exc:
        raise ContentError(path, field, str(exc) if isinstance(exc, ValueError) else "missing", row) from None


# -- branches -------------------------------------------------------------------
def load_branches(bot, path: Path) -> int:
    data = read_yaml(path)
    branches = require(data, path, "branches", list)
    for i, b in enumerate(branches, start=1):
        if not isinstance(b, dict) or not b.get("id") or not b.get("name"):
            raise ContentError(path, f"branches[{i}]", "each branch needs an id and a name")
    bot.redis.hset(BRANCHES, mapping={str(b["id"]): str(b["name"]) for b in branches})
    return len(branches)


# -- quizzes --------------------------------------------------------------------
def question_from(raw: dict, path: Path, where: str, row: int | None = None) -> Question:
    text = str(raw.get("question") or "").strip()
    if not text:
        raise ContentError(path, f"{where}question", "missing", row)
    kind = KIND_NAMES.get(str(raw.get("type") or "single").strip().lower())
    if kind not in KINDS:
        raise ContentError(path, f"{where}type", f"use one of single/multi/judge (单选/多选/判断), got {raw.get('type')!r}", row)
    options = [str(o).strip() for o in (raw.get("options") or []) if str(o).strip()]
    if kind != "judge" and not 2 <= len(options) <= len(LETTERS):
        raise ContentError(path, f"{where}options", f"a {kind} question needs 2 to {len(LETTERS)} options", row)
    answer = parse_answer(str(raw.get("answer") or ""), kind, len(options))
    if answer is None:
        raise ContentError(path, f"{where}answer", f"{raw.get('answer')!r} is not one of the options", row)
    explain = str(raw.get("explain") or "").strip()
    if len(explain) > 200:
        raise ContentError(path, f"{where}explain", f"at most 200 characters, got {len(explain)}", row)
    return Question(text, kind, options, answer, explain)


def load_quizzes(bot, path: Path) -> int:
    quiz = Quiz(bot.redis)
    sessions = _sessions_from_sheet(path) if path.suffix.lower() in (".xlsx", ".csv") else [_session_from_yaml(path)]
    for session in sessions:
        quiz.save_session(session)
    return len(sessions)


def _session_from_yaml(path: Path) -> Session:
    data = read_yaml(path)
    questions = [question_from(q if isinstance(q, dict) else {}, path, f"questions[{i}].")
                 for i, q in enumerate(require(data, path, "questions", list), start=1)]
    if not questions:
        raise ContentError(path, "questions", "at least one question")
    session = Session(require(data, path, "id"), require(data, path, "title"), require(data, path, "summary"),
                      when(data, path, "opens"), when(data, path, "closes"), questions, str(data.get("link") or ""))
    if session.closes <= session.opens:
        raise ContentError(path, "closes", "must be after opens")
    return session


def _sessions_from_sheet(path: Path) -> list[Session]:
    sessions: dict[str, Session] = {}
    for row_no, row in _sheet_rows(path):
        sid = str(row.get("session") or "").strip()
        if not sid:
            raise ContentError(path, "期号", "missing", row_no)
        if sid not in sessions:
            for field in ("title", "summary", "opens", "closes"):
                if not row.get(field):
                    raise ContentError(path, _header(field), "missing on the first row of this session", row_no)
            sessions[sid] = Session(sid, str(row["title"]), str(row["summary"]), when(row, path, "opens", row_no),
                                    when(row, path, "closes", row_no), [], str(row.get("link") or ""))
        row["options"] = [row[letter] for letter in LETTERS if row.get(letter) not in (None, "")]
        sessions[sid].questions.append(question_from(row, path, "", row_no))
    if not sessions:
        raise ContentError(path, "", "no question rows")
    return list(sessions.values())


def _header(field: str) -> str:
    return next((h for h, f in SHEET_COLUMNS.items() if f == field), field)


def _sheet_rows(path: Path, columns: dict | None = None):
    """Yield (row number as the spreadsheet shows it, {field: value}) for each non-empty row."""
    columns = columns or SHEET_COLUMNS
    if path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    else:
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    if not rows:
        return
    fields = [columns.get(str(h or "").strip(), str(h or "").strip().lower()) for h in rows[0]]
    fields = [f.upper() if f.upper() in LETTERS and len(f) == 1 else f for f in fields]
    for number, values in enumerate(rows[1:], start=2):
        if all(v in (None, "") for v in values):
            continue
        yield number, {f: (v.strip() if isinstance(v, str) else v) for f, v in zip(fields, values)}


# -- volunteer events -------------------------------------------------------------
def load_events(bot, path: Path) -> int:
    data = read_yaml(path)
    occurrences = occurrences_from(data, path)
    events = Events(bot.redis)
    for occ in occurrences:
        events.save(occ)
        for i in range(int(data.get("demo_signups") or 0)):  # demo only: made-up volunteers
            events.sign_up(occ, f"o_demo_vol_{i:03d}")
    return len(occurrences)


def occurrences_from(data: dict, path: Path, kind: str = "volunteer") -> list[Occurrence]:
    """One occurrence for a dated event; one per matching day for a recurring one."""
    eid, capacity = require(data, path, "id"), require(data, path, "capacity", int)
    if capacity < 1:
        raise ContentError(path, "capacity", "must be at least 1")
    req = data.get("requirements") or {}
    if not isinstance(req, dict) or set(req) - {"min_age", "students_only"}:
        raise ContentError(path, "requirements", "only min_age and students_only are understood")
    deadline_h, cutoff_h = float(data.get("signup_deadline_hours", 2)), float(data.get("cancel_cutoff_hours", 24))
    spans = _recurring_spans(data, path) if data.get("recurrence") else [(when(data, path, "start"), when(data, path, "end"))]
    out = []
    for start, end in spans:
        if end <= start:
            raise ContentError(path, "end", "must be after start")
        out.append(Occurrence(
            id=f"{eid}@{clock.local(start):%Y%m%d}", event_id=eid, title=require(data, path, "title"),
            description=str(data.get("description") or "").strip(), place=require(data, path, "place"),
            start=start, end=end, capacity=capacity, signup_deadline=start - deadline_h * 3600,
            cancel_cutoff=start - cutoff_h * 3600, requirements=req, tags=list(data.get("tags") or []), kind=kind))
    return out


def _recurring_spans(data: dict, path: Path) -> list[tuple[float, float]]:
    rec = data["recurrence"]
    if not isinstance(rec, dict) or not rec.get("weekdays"):
        raise ContentError(path, "recurrence.weekdays", "list the weekdays, 1 = Monday … 7 = Sunday")
    first = clock.parse_when(f"{rec.get('from', 'today')}".split()[0] + " 00:00")
    days = int(rec.get("days", 14))
    spans = []
    for d in range(days):
        day = clock.local(first) + timedelta(days=d)
        if day.isoweekday() in rec["weekdays"]:
            date = f"{day:%Y-%m-%d}"
            spans.append((clock.parse_when(f"{date} {require(data, path, 'start')}"),
                          clock.parse_when(f"{date} {require(data, path, 'end')}")))
    return spans


# -- job postings ------------------------------------------------------------------
JOB_COLUMNS = {"编号": "id", "用人单位": "employer", "岗位": "title", "类别": "category", "薪资": "salary",
               "工作地点": "place", "学历要求": "education", "经验要求": "experience", "招聘人数": "headcount",
               "联系方式": "contact", "发布日期": "published", "截止日期": "expires", "状态": "status",
               "招聘会": "fair", "岗位说明": "description"}
JOB_STATUSES = {"open": "open", "filled": "filled", "expired": "expired", "招聘中": "open", "已招满": "filled",
                "已过期": "expired", "": "open"}


def load_jobs(bot, path: Path) -> int:
    jobs = Jobs(bot.redis)
    if path.suffix.lower() in (".xlsx", ".csv"):
        rows = list(_sheet_rows(path, JOB_COLUMNS))
        fair_id = ""
    else:
        data = read_yaml(path)
        fair_id = _load_fair(bot, data["fair"], path) if data.get("fair") else ""
        rows = [(None, p) for p in require(data, path, "postings", list)]
    for row_no, raw in rows:
        jobs.save(posting_from(raw, path, row_no, fair_id))
    return len(rows)


def _load_fair(bot, fair: dict, path: Path) -> str:
    occ = occurrences_from(fair, path, kind="job_fair")[0]
    Events(bot.redis).save(occ)
    return occ.event_id


def posting_from(raw: dict, path: Path, row: int | None, fair_id: str) -> Posting:
    where = "" if row else f"postings[{raw.get('id', '?')}]."
    for field in ("id", "employer", "title", "category", "contact"):
        if not str(raw.get(field) or "").strip():
            raise ContentError(path, where + field, "missing", row)
    try:
        headcount = int(raw.get("headcount") or 1)
    except (TypeError, ValueError):
        raise ContentError(path, where + "headcount", f"expected a whole number, got {raw.get('headcount')!r}", row)
    published = when(raw, path, "published", row) if raw.get("published") else clock.now()
    expires = when(raw, path, "expires", row) if raw.get("expires") else default_expiry(published)
    status = JOB_STATUSES.get(str(raw.get("status") or "").strip())
    if status is None:
        raise ContentError(path, where + "status", "use open/filled/expired (招聘中/已招满/已过期)", row)
    text = {f: str(raw.get(f) or "").strip() for f in ("salary", "place", "education", "experience", "description")}
    return Posting(str(raw["id"]).strip(), str(raw["employer"]).strip(), str(raw["title"]).strip(),
                   str(raw["category"]).strip(), text["salary"] or "面议", text["place"], text["education"] or "不限",
                   text["experience"] or "不限", headcount, str(raw["contact"]).strip(), published, expires, status,
                   str(raw.get("fair") or fair_id), text["description"])


# -- demo members and their past quiz results -----------------------------------------
def load_demo_members(bot, path: Path) -> int:
    """Demo members in each branch, with results for past sessions (a seeded, repeatable draw)."""
    data = read_yaml(path)
    rng = random.Random(require(data, path, "seed", int))
    surnames, given = require(data, path, "surnames", list), require(data, path, "given_names", list)
    per_branch = require(data, path, "members_per_branch", int)
    profiles, quiz = Profiles(bot.redis), Quiz(bot.redis)
    now = clock.now()
    past = [s for s in quiz.sessions() if s.closes <= now]
    count = 0
    for bid, _ in profiles.branches():
        for n in range(per_branch):
            openid = f"o_demo_{bid}_{n:03d}"
            profiles.set_branch(openid, bid)
            bot.redis.hset(user_key(openid, "profile"), "name", rng.choice(surnames) + rng.choice(given))
            diligence = rng.uniform(0.4, 1.0)
            for session in past:
                if rng.random() < diligence:
                    answers = [q.answer if rng.random() < 0.8 else _wrong(q, rng) for q in session.questions]
                    quiz.record_completed(openid, session, answers, session.opens + rng.randint(3600, 86400))
            count += 1
    return count


def _wrong(q: Question, rng: random.Random) -> str:
    if q.kind == "judge":
        return "F" if q.answer == "T" else "T"
    choices = [LETTERS[i] for i in range(len(q.options)) if LETTERS[i] != q.answer]
    return rng.choice(choices) if choices else q.answer
