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


def parse_when(value, base: float | None = None) -> float:
    """Parse '2026-12-03 16:30', a datetime, or 'today+3 16:30' (relative to base's day)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=TZ)).timestamp()
    text = str(value).strip()
    m = _RELATIVE.match(text)
    if m:
        day = local(base if base is not None else now()).replace(hour=0, minute=0, second=0, microsecond=0)
        day += timedelta(days=int(m[1].replace(" ", "")) if m[1] else 0)
        return day.replace(hour=int(m[2] or 0), minute=int(m[3] or 0)).timestamp()
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=TZ).timestamp()
        except ValueError:
            continue
    raise ValueError(f"not a date: {value!r} (use 2026-12-03 16:30 or today+3 16:30)")


def days_between(start: float, end: float) -> list[str]:
    """The local days (YYYYMMDD) from start's day to the one before end, for per-day keys."""
    days, day = [], local(start).replace(hour=0, minute=0, second=0, microsecond=0)
    while day.timestamp() < end:
        days.append(f"{day:%Y%m%d}")
        day = local(day.timestamp() + 36 * 3600).replace(hour=0)
    return days
