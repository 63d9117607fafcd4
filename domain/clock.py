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


def fmt(ts: float, with_weekday: bool = True) -> str:
    """12月3日(周三) 16:30 — how dates are shown to users."""
    d = local(ts)
    day = f"{d.month}月{d.day}日" + (f"(周{WEEKDAYS[d.weekday()]})" if with_weekday else "")
    return f"{day} {d:%H:%M}"


def fmt_date(ts: float) -> str:
    d = local(ts)
    return f"{d.year}年{d.month}月{d.day}日"


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
