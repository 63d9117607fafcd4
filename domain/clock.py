"""Time in the committee's time zone, and the relative dates demo content uses."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
WEEKDAYS = "一二三四五六日"

_RELATIVE = re.compile(r"^today\s*([+-]\s*\d+)?\s*(?:(\d{1,2}):(\d{2}))?$")


def now() -> float:
    return time.time()


def local(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, TZ)


def fmt(ts: float, with_weekday: bool = True, now: float | None = None) -> str:
    """12月3日(周三) 16:30 — how dates are shown to users; with the year when it is not this year."""
    d = local(ts)
    return f"{fmt_day(ts, now)}" + (f"(周{WEEKDAYS[d.weekday()]})" if with_weekday else "") + f" {d:%H:%M}"


def fmt_day(ts: float, now: float | None = None) -> str:
    """12月3日, or 2027年1月3日 when the day is not in the current year."""
    d = local(ts)
    year = f"{d.year}年" if d.year != local(now if now is not None else time.time()).year else ""
    return f"{year}{d.month}月{d.day}日"


def fmt_date(ts: float) -> str:
    d = local(ts)
    return f"{d.year}年{d.month}月{d.day}日"


def day_word(ts: float, now: float) -> str:
    """今天, 明天 or 后天 as seen from now (for "see you tomorrow"), else the date."""
    days = (local(ts).date() - local(now).date()).days
    return {0: "今天", 1: "明天", 2: "后天"}.get(days, fmt_day(ts, now))


def fmt_span(seconds: float) -> str:
    """2小时, 1小时30分钟, 2分钟: how long until something, rounded to the minute."""
    minutes = max(1, round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    return (f"{hours}小时" if hours else "") + (f"{minutes}分钟" if minutes or not hours else "")


def to_naive(ts: float | None) -> datetime | None:
    """The local time as a naive datetime: what a spreadsheet's date cell holds."""
    return None if ts is None else local(ts).replace(tzinfo=None)


# How staff write a date and a time (forms, sheets, the CLI): full-width digits and colons from the IME,
# 2026/12/15, 2026.12.15, 2026年12月15日, 8:00, 8点, 8点30, 8时30分, 上午/下午, an ISO "T" between.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９：／．－　", "0123456789:/.- ")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
_TIME = re.compile(r"(上午|早上|中午|下午|晚上)?\s*(\d{1,2})\s*(?::|点|时)\s*(?:(\d{1,2})\s*分?|(半))?"
                   r"(?::(\d{2}))?")


def parse_time(text) -> str:
    """'HH:MM' from a time of day as staff type it (11:30, 11：30, 11点半, 下午2点, 14时30分); ValueError if not one."""
    clean = re.sub(r"\s+", " ", str(text if text is not None else "").translate(_FULL_WIDTH)).strip()
    m = _TIME.fullmatch(clean)
    if not m:
        raise ValueError(f"not a time of day: {text!r}")
    hour, minute = int(m[2]), 30 if m[4] else int(m[3] or 0)
    if m[1] in ("下午", "晚上") and hour < 12:
        hour += 12
    if m[1] == "中午" and hour < 6:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"not a time of day: {text!r}")
    return f"{hour:02d}:{minute:02d}"


def _normal(text: str) -> str:
    """A date-time as staff type it, as '2026-12-15 08:00' (or '2026-12-15' without a time); text unchanged
    when it is neither."""
    clean = re.sub(r"\s+", " ", text.translate(_FULL_WIDTH)).strip()
    m = _DATE.match(clean)
    if not m:
        return clean
    day = f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}"
    rest = clean[m.end():].lstrip("T ").strip()
    if not rest:
        return day
    try:
        return f"{day} {parse_time(rest)}"
    except ValueError:
        return clean


def parse_when(value, base: float | None = None) -> float:
    """Parse a date and time as staff write it, a datetime, or 'today+3 16:30' (relative to base's day).

    The one parser every form, sheet and command uses: 2026-12-03 16:30, 2026/12/3 8:00, 2026.12.3 8:00,
    2026年12月3日 8:00, 2026年12月3日 下午4点半, full-width digits and colons (11：30), 2026-12-03T16:30.
    """
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=TZ)).timestamp()
    text = str(value).strip()
    m = _RELATIVE.match(text)
    if m:
        day = local(base if base is not None else now()).replace(hour=0, minute=0, second=0, microsecond=0)
        day += timedelta(days=int(m[1].replace(" ", "")) if m[1] else 0)
        return day.replace(hour=int(m[2] or 0), minute=int(m[3] or 0)).timestamp()
    m = _ANNIVERSARY.match(text)
    if m:
        return _anniversary(int(m[1]), int(m[2]), int(m[3].replace(" ", "")) if m[3] else 0, m[4], m[5], base)
    text = _normal(text)
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=TZ).timestamp()
        except ValueError:
            continue
    raise ValueError(f"not a date: {value!r} (use 2026-12-03 16:30 or today+3 16:30)")


# Demo content's dates that keep to the calendar: "last 05-04 08:00" is the latest 4 May whose week is over
# (a session on 五四 stays on 五四 whenever the demo is loaded); "last 05-04+7 08:00" is a week after it.
_ANNIVERSARY = re.compile(r"^last\s+(\d{1,2})-(\d{1,2})\s*([+-]\s*\d+)?\s*(?:(\d{1,2}):(\d{2}))?$")


def _anniversary(month: int, day: int, shift: int, hour, minute, base: float | None) -> float:
    today = local(base if base is not None else now()).replace(hour=0, minute=0, second=0, microsecond=0)
    year = today.year
    while True:
        when = today.replace(year=year, month=month, day=day)
        if when + timedelta(days=7) <= today:  # its week is over
            break
        year -= 1
    when += timedelta(days=shift)
    return when.replace(hour=int(hour or 0), minute=int(minute or 0)).timestamp()


def has_time(value) -> bool:
    """Whether a date as typed names a time of day too (2026/12/15 8:00 does, 2026年12月15日 does not)."""
    if isinstance(value, datetime):
        return (value.hour, value.minute) != (0, 0)
    return " " in _normal(str(value)) or bool(_RELATIVE.match(str(value).strip()) and ":" in str(value))


def days_between(start: float, end: float) -> list[str]:
    """The local days (YYYYMMDD) from start's day to the one before end, for per-day keys."""
    days, day = [], local(start).replace(hour=0, minute=0, second=0, microsecond=0)
    while day.timestamp() < end:
        days.append(f"{day:%Y%m%d}")
        day = local(day.timestamp() + 36 * 3600).replace(hour=0)
    return days
