"""Events and branches from the staff's spreadsheets (XLSX or CSV with Chinese headers): all or nothing.

A sheet is read whole and every row checked before anything is saved; when any
row is wrong nothing from the file is saved and every problem is named by file,
row (as the spreadsheet numbers it) and column (as the sheet's own header says
it): `活动表.xlsx 第3行「开始」：不是日期“7月4日”（应写成 2026-07-04 09:00）`.

The console's upload pages (bot/admin/events.py, bot/admin/branches.py) and
`youthbot content load` (events/ and branches/ take .xlsx and .csv beside YAML:
bot/importers/__init__.py LOADERS) both come here.

Events sheet, one event a row (a weekly one: the first date in 开始, the weekdays in 每周):

    编号 活动名称 类别 地点 开始 结束 名额 报名截止（小时） 取消截止（小时） 最低年龄 仅限学生 每周 持续天数 项目 站点 活动说明 标签

(the event's fields, declared once in domain/fields.py: headers, aliases, required, limits, the template's examples).

Branches sheet: 编号 名称.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime
from pathlib import Path

from bot.importers import loaders
from bot.importers.files import Collector, ContentError, header_key, plain_number, read_rows, sheet_rows
from domain import clock, fields
from domain.fields import EVENT_FIELDS
from domain.limits import EVENT_LIMITS, too_long
from domain.events import Events, Occurrence
from domain.profiles import BranchError, Profiles, branch_id, branch_name

SUFFIXES = (".xlsx", ".csv")
WEEKDAY_CHARS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7, "七": 7}
YES, NO = {"是", "仅限", "限", "y", "yes", "true", "1", "√", "✓"}, {"", "否", "不限", "n", "no", "false", "0", "×"}


# The events sheet's columns are the event's fields (domain/fields.py): header (as files.header_key reads it, the
# label and its aliases) -> field; the template writes each field's label, in the table's order.
EVENT_COLUMNS = {header_key(h): f.key for f in EVENT_FIELDS for h in f.headers}
EVENT_TEMPLATE = fields.headers(EVENT_FIELDS)
EVENT_REQUIRED = fields.required(EVENT_FIELDS)
BRANCH_COLUMNS = {"编号": "id", "支部编号": "id", "名称": "name", "支部名称": "name", "支部": "name"}
BRANCH_TEMPLATE = ["编号", "名称"]
BRANCH_REQUIRED = ("id", "name")
HEADER_OF = {**{f.key: f.label for f in EVENT_FIELDS}, "name": "名称"}
FIELD = {f.key: f for f in EVENT_FIELDS}


@dataclass
class SheetUpload:
    """What a sheet held: the records read from it, and every problem found (then nothing was saved)."""

    records: list = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    saved: bool = False
    notes: list[str] = field(default_factory=list)  # what saving did besides (moves told, waitlists promoted)


class SheetErrors(ContentError):
    """Every problem in one sheet; nothing from it was loaded (for `youthbot content load`)."""

    def __init__(self, path, errors: list[str]):
        super().__init__(path, "", "；".join(errors))
        self.errors = list(errors)

    def __str__(self) -> str:
        return "\n".join(self.errors)


@dataclass
class _Sheet:
    path: Path
    rows: list[tuple[int, dict]]  # (row number as the spreadsheet shows it, {field: value})
    headers: dict[str, str]  # field -> the header as the sheet writes it

    def where(self, row: int | None, fld: str = "") -> str:
        header = self.headers.get(fld) or HEADER_OF.get(fld, fld)
        return f"{self.path.name}" + (f" 第{row}行" if row else "") + (f"「{header}」" if header else "")


def _read(path: Path, columns: dict[str, str], template: list[str], required: tuple[str, ...],
          errors: list[str]) -> _Sheet | None:
    """The sheet's rows as fields, or None (with the reason in errors) when it cannot be read at all."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        errors.append(f"{path.name}：请上传 .xlsx 或 .csv 表格")
        return None
    try:
        raw = read_rows(path)  # the one reader and header matcher every sheet uses (bot/importers/files.py)
    except ContentError as exc:
        errors.append(str(exc))
        return None
    rows, headers = sheet_rows(raw, columns)
    missing = [HEADER_OF[f] for f in required if f not in headers]
    if missing:
        errors.append(f"{path.name}：第一行（表头）缺少「{'」「'.join(missing)}」列；表头应为：{' '.join(template)}")
        return None
    if not rows:
        errors.append(f"{path.name}：表头下面没有数据行")
        return None
    return _Sheet(path, rows, headers)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# -- events ----------------------------------------------------------------------------------
def _when(value, problem_of) -> float:
    """A date and time from a cell: as staff write it (clock.parse_when: 2026-07-04 09:00, 2026/7/4 9:00,
    2026年7月4日 9:00, today+3 09:00) or an Excel date."""
    if isinstance(value, datetime):
        if (value.hour, value.minute) == (0, 0):  # an Excel date cell without a time
            raise ValueError(problem_of(f"“{value:%Y-%m-%d}”没有时刻，应写成 {value:%Y-%m-%d} 09:00"))
        return clock.parse_when(value.replace(second=0, microsecond=0))
    try:
        when = clock.parse_when(_text(value))
    except ValueError:
        raise ValueError(problem_of(f"不是日期“{_text(value)}”（应写成 2026-07-04 09:00）")) from None
    if not clock.has_time(_text(value)):
        raise ValueError(problem_of(f"“{_text(value)}”没有时刻，应写成 {clock.local(when):%Y-%m-%d} 09:00"))
    return when


def _time_of_day(value) -> str | None:
    """'11:30' from a cell that holds only a time (text as staff type it: 11：30, 11点半; or an Excel time);
    None if it holds more."""
    if isinstance(value, dtime):
        return f"{value:%H:%M}"
    try:
        return clock.parse_time(_text(value))
    except ValueError:
        return None


def _weekdays(text: str) -> list[int]:
    """'一、三、五', '周一至周五', '1,3,5', '1-5' -> [1, 3, 5]; ValueError if a part is not a weekday."""
    named = {"工作日": [1, 2, 3, 4, 5], "每天": list(range(1, 8)), "每日": list(range(1, 8)), "周末": [6, 7]}
    if text.strip() in named:
        return named[text.strip()]
    text = re.sub(r"[周星期礼拜\s]", "", text)
    days: list[int] = []
    for part in re.split(r"[、,，;；/]", text):
        if not part:
            continue
        m = re.fullmatch(r"(.)(?:至|到|-|~|－|—)(.)", part)
        ends = [m[1], m[2]] if m else list(part) if all(c in WEEKDAY_CHARS for c in part) else [part]
        nums = []
        for e in ends:
            n = WEEKDAY_CHARS.get(e) or (int(e) if e.isdigit() and 1 <= int(e) <= 7 else None)
            if n is None:
                raise ValueError(e)
            nums.append(n)
        days += list(range(nums[0], nums[1] + 1)) if m else nums
    if not days:
        raise ValueError(text)
    return sorted(set(days))


def _number(value, cast, least, most, problem):
    text = plain_number(_text(value))
    try:
        n = cast(text)
    except ValueError:
        raise ValueError(problem(f"应为{'整数' if cast is int else '数字'}，现在是“{text}”")) from None
    if not least <= n <= most:
        raise ValueError(problem(f"应在{least}到{most}之间，现在是{text}"))
    return n


def _event_data(sheet: _Sheet, row_no: int, row: dict, errors: list[str]) -> dict | None:
    """The row as the fields an event file has (loaders.occurrences_from then makes the occurrences)."""
    before = len(errors)

    def problem_at(fld):
        return lambda words: f"{sheet.where(row_no, fld)}：{words}"

    for fld in EVENT_REQUIRED:
        if not _text(row.get(fld)):
            errors.append(problem_at(fld)("没有填写"))
    if len(errors) > before:
        return None
    data: dict = {f.key: _text(row.get(f.key)) for f in EVENT_FIELDS if f.text}
    data.update({f.key: [t for t in re.split(r"[、,，;；\s]+", _text(row.get(f.key))) if t]
                 for f in EVENT_FIELDS if f.kind == "words"})
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", data["id"]):
        errors.append(problem_at("id")(f"“{data['id']}”只能用字母、数字、- _ .，最多40个字符"))
    for f in EVENT_FIELDS:
        if f.key != "id" and f.key in data and (long := too_long(f.key, data[f.key], EVENT_LIMITS)):
            errors.append(problem_at(f.key)(long))
    for f in EVENT_FIELDS:  # the plain numbers (min_age and days go into requirements and recurrence, below)
        if f.kind not in ("int", "hours") or f.record in ("requirements", "recurrence"):
            continue
        given = row.get(f.key) if _text(row.get(f.key)) else f.default
        if given is None:  # not required (those were checked above) and left empty
            continue
        try:
            data[f.key] = _number(given, int if f.kind == "int" else float, *(f.bounds or (0, 10**9)), problem_at(f.key))
        except ValueError as exc:
            errors.append(str(exc))
    requirements = {}
    if _text(row.get("min_age")):
        try:
            requirements["min_age"] = _number(row["min_age"], int, *FIELD["min_age"].bounds, problem_at("min_age"))
        except ValueError as exc:
            errors.append(str(exc))
    students = _text(row.get("students_only")).lower()
    if students in YES:
        requirements["students_only"] = True
    elif students not in NO:
        errors.append(problem_at("students_only")(f"填“是”或留空，现在是“{_text(row.get('students_only'))}”"))
    data["requirements"] = requirements
    try:
        start = _when(row["start"], problem_at("start"))
    except ValueError as exc:
        errors.append(str(exc))
        return None
    day = f"{clock.local(start):%Y-%m-%d}"
    end_time = _time_of_day(row["end"])
    try:
        end = clock.parse_when(f"{day} {end_time}") if end_time else _when(row["end"], problem_at("end"))
    except ValueError as exc:
        errors.append(str(exc))
        return None
    if end <= start:
        errors.append(problem_at("end")(f"{clock.fmt(end)}不晚于开始时间{clock.fmt(start)}"))
    weekly = _text(row.get("weekdays"))
    if weekly:
        try:
            weekdays = _weekdays(weekly)
        except ValueError as exc:
            errors.append(problem_at("weekdays")(f"“{exc}”不是星期几：写成 一、三、五 或 周一至周五"))
            weekdays = []
        try:
            days = _number(row.get("days") if _text(row.get("days")) else FIELD["days"].default, int,
                           *FIELD["days"].bounds, problem_at("days"))
        except ValueError as exc:
            errors.append(str(exc))
            days = 0
        if end - start >= 86400:
            errors.append(problem_at("end")("每周重复的活动须在同一天内结束：结束只写时刻，如 17:30"))
        data.update(start=f"{clock.local(start):%H:%M}", end=f"{clock.local(end):%H:%M}",
                    recurrence={"weekdays": weekdays, "from": day, "days": days})
    else:
        if _text(row.get("days")):
            errors.append(problem_at("days")("只有每周重复的活动才填持续天数（请同时填写「每周」）"))
        data.update(start=clock.local(start).replace(tzinfo=None), end=clock.local(end).replace(tzinfo=None))
    return None if len(errors) > before else data


def read_events(path: Path, redis=None, may_change=None) -> SheetUpload:
    """Occurrences from an events sheet, with every problem found.

    With redis, rows are also checked against what is stored: a date already signed up for cannot get fewer
    places than its confirmed volunteers; may_change(event_id) -> bool (the console: an organiser's own events)
    refuses rows that would change someone else's event.
    """
    up = SheetUpload()
    sheet = _read(path, EVENT_COLUMNS, EVENT_TEMPLATE, EVENT_REQUIRED, up.errors)
    if sheet is None:
        return up
    seen: dict[str, int] = {}
    events = Events(redis) if redis is not None else None
    for row_no, row in sheet.rows:
        eid = _text(row.get("id"))
        if eid and eid in seen:
            up.errors.append(f"{sheet.where(row_no, 'id')}：编号 {eid} 和第{seen[eid]}行重复")
            continue
        seen.setdefault(eid, row_no)
        data = _event_data(sheet, row_no, row, up.errors)
        if data is None:
            continue
        problems: list[ContentError] = []
        occurrences = loaders.occurrences_from(data, Collector(sheet.path, problems))
        if problems:  # the checks above leave little: say it in the sheet's words anyway
            up.errors.extend(f"{sheet.where(row_no)}：{p.problem}" for p in problems)
            continue
        if not occurrences:
            up.errors.append(f"{sheet.where(row_no, 'weekdays')}：从开始日起{data['recurrence']['days']}天里没有所填的星期")
            continue
        if events is not None:
            if may_change is not None and events.has_event(eid) and not may_change(eid):
                up.errors.append(f"{sheet.where(row_no, 'id')}：编号 {eid} 是别人负责的活动，不能用表格修改")
                continue
            for occ in occurrences:
                old = events.get(occ.id)
                confirmed = events.counts(occ.id)[0] if old else 0
                if old and occ.capacity < confirmed:
                    up.errors.append(f"{sheet.where(row_no, 'capacity')}：{clock.fmt_date(occ.start)}那一场已有"
                                     f"{confirmed}人报名，名额不能少于{confirmed}")
        up.records += occurrences
    return up


def save_events(bot, occurrences: list[Occurrence]) -> list[str]:
    """Save checked occurrences; a date whose time changed is moved with the notice, freed places promote the
    waitlist (each told). Return what was done besides saving, for staff to read."""
    from domain import event_changes

    events, notes = bot.events, []
    for occ in occurrences:
        old = events.get(occ.id)
        if old is not None and old.status != "cancelled" and abs(old.start - occ.start) >= 60:
            moved, told = event_changes.move_event(bot, old, occ.start)
            if told:
                notes.append(f"「{occ.title}」改到{clock.fmt(moved.start)}，将通知{told}人")
        saved = events.save(occ)
        promoted = events.fill_from_waitlist(saved) if old is not None else []
        for openid in promoted:
            event_changes.tell_promoted(bot.outbox, bot.texts, saved, openid)
        if promoted:
            notes.append(f"「{occ.title}」{clock.fmt_date(occ.start)}名额增加，候补的{len(promoted)}人转为正式报名并会收到通知")
    return notes


def load_events(bot, path: Path, may_change=None) -> SheetUpload:
    """Check the whole sheet, then save every occurrence, or nothing when any row is wrong."""
    up = read_events(path, bot.redis, may_change)
    if up.errors:
        up.records = []
        return up
    up.notes = save_events(bot, up.records)
    up.saved = True
    return up


# -- branches ---------------------------------------------------------------------------------
def read_branches(path: Path, redis=None) -> SheetUpload:
    """(id, name) pairs from a branches sheet, with every problem; names are checked against the stored ones."""
    up = SheetUpload()
    sheet = _read(path, BRANCH_COLUMNS, BRANCH_TEMPLATE, BRANCH_REQUIRED, up.errors)
    if sheet is None:
        return up
    stored = Profiles(redis).branches() if redis is not None else []
    ids: dict[str, int] = {}
    names: dict[str, int] = {}
    pairs = []
    for row_no, row in sheet.rows:
        try:
            bid = branch_id(_text(row.get("id")))
        except BranchError as exc:
            up.errors.append(f"{sheet.where(row_no, 'id')}：{exc.problem}")
            bid = None
        try:  # another stored branch may have this name, unless this sheet renames that one too
            others = [(b, n) for b, n in stored if b not in {_text(r.get('id')) for _, r in sheet.rows}]
            name = branch_name(row.get("name"), others, bid or "")
        except BranchError as exc:
            up.errors.append(f"{sheet.where(row_no, 'name')}：{exc.problem}")
            name = None
        if bid and bid in ids:
            up.errors.append(f"{sheet.where(row_no, 'id')}：编号 {bid} 和第{ids[bid]}行重复")
            continue
        if name and name in names:
            up.errors.append(f"{sheet.where(row_no, 'name')}：“{name}”和第{names[name]}行重复")
            continue
        if bid and name:
            ids[bid], names[name] = row_no, row_no
            pairs.append((bid, name))
    up.records = pairs
    return up


def load_branches(redis, path: Path) -> SheetUpload:
    up = read_branches(path, redis)
    if up.errors:
        up.records = []
        return up
    Profiles(redis).save_branches(up.records)
    up.saved = True
    return up


# -- `youthbot content load`: events/ and branches/ take sheets beside YAML ---------------------------
def parse_events_file(path: Path, errors: list) -> list:
    """For `youthbot content load`: a YAML event file, or an events sheet checked row by row (nothing written)."""
    if path.suffix.lower() not in SUFFIXES:
        return loaders.parse_events(path, errors)
    up = read_events(path)
    errors.extend(ContentError(path, "", problem) for problem in up.errors)
    return [] if up.errors else [loaders.FileEvent(occ) for occ in up.records]


def parse_branches_file(path: Path, errors: list) -> list:
    """For `youthbot content load`: a YAML branches file, or a branches sheet (nothing written)."""
    if path.suffix.lower() not in SUFFIXES:
        return loaders.parse_branches(path, errors)
    up = read_branches(path)
    errors.extend(ContentError(path, "", problem) for problem in up.errors)
    return [] if up.errors else [loaders.Branches(list(up.records))]


def load_events_file(bot, path: Path) -> int:
    """A YAML event file (loaders.load_events) or an events sheet (every bad row: SheetErrors, nothing loaded)."""
    if path.suffix.lower() not in SUFFIXES:
        return loaders.load_events(bot, path)
    up = load_events(bot, path)
    if up.errors:
        raise SheetErrors(path, up.errors)
    return len(up.records)


def load_branches_file(bot, path: Path) -> int:
    """A YAML branches file (loaders.load_branches) or a branches sheet (all or nothing)."""
    if path.suffix.lower() not in SUFFIXES:
        return loaders.load_branches(bot, path)
    up = load_branches(bot.redis, path)
    if up.errors:
        raise SheetErrors(path, up.errors)
    return len(up.records)


def template_rows() -> dict[str, tuple[list[str], list[list]]]:
    """The upload pages' Excel templates: headers and example rows."""
    return {
        "events": (EVENT_TEMPLATE, fields.examples(EVENT_FIELDS, date.today().year)),
        "branches": (BRANCH_TEMPLATE, [["b1", "街道机关团支部"], ["b6", "新建社区团支部"]]),
    }
