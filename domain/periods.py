"""The periods staff report on, offered as one-click choices: the half years (上半年 1 January – 30 June,
下半年 1 July – 31 December) and whole years, the current ones first."""
from __future__ import annotations

from datetime import date


def presets(today: date) -> list[tuple[str, str, str]]:
    """(label, first day, last day): this half year, the one before, this year, last year."""
    year = today.year
    this_first = (f"{year}年上半年", date(year, 1, 1), date(year, 6, 30))
    this_second = (f"{year}年下半年", date(year, 7, 1), date(year, 12, 31))
    last_second = (f"{year - 1}年下半年", date(year - 1, 7, 1), date(year - 1, 12, 31))
    halves = [this_first, last_second] if today.month <= 6 else [this_second, this_first]
    years = [(f"{year}年全年", date(year, 1, 1), date(year, 12, 31)),
             (f"{year - 1}年全年", date(year - 1, 1, 1), date(year - 1, 12, 31))]
    return [(label, f"{a}", f"{b}") for label, a, b in halves + years]
