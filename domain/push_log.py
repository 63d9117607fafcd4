"""How many pushes went out on each day, by kind and outcome: the figures a report needs.

The push sender (bot/pushes.py) adds one to a day's count in the same script
that records a push's outcome; days are local (Asia/Shanghai) dates.
"""
from __future__ import annotations

from domain import clock
from domain.keys import key


def daily_key(day: str) -> str:
    return key("{push}", "daily", day)  # hash: "<kind>:<status>" -> count, for one local day (YYYYMMDD)


def daily_counts(redis, start: float, end: float) -> dict[str, dict[str, int]]:
    """{YYYYMMDD: {"<kind>:<status>": count}} for the days from start's to the one before end."""
    days = clock.days_between(start, end)
    pipe = redis.pipeline(transaction=False)
    for day in days:  # one key per day, read in one round trip
        pipe.hgetall(daily_key(day))
    return {day: {k: int(v) for k, v in row.items()} for day, row in zip(days, pipe.execute()) if row}


def record_history(redis, day: str, kind: str, status: str, count: int) -> None:
    """Add past deliveries to a day's counts (importing another system's history; the demo)."""
    redis.hincrby(daily_key(day), f"{kind}:{status}", count)
