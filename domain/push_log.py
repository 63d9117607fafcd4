"""How many pushes went out on each day, by kind and outcome: the figures a report needs.

The push sender (bot/pushes/delivery.py) adds one to a day's count in the same script
that records a push's outcome; days are local (Asia/Shanghai) dates.
"""
from __future__ import annotations

from domain import clock
from domain.keys import key


# Before one model of a failed push (domain/outbox.FailedPushes), the console kept its own index of failed
# pushes here, with their texts in the push's log: forget_texts still clears what such stores hold.
LEGACY_FAILED = key("{push}", "failed")


def log_key(idem_key: str) -> str:
    return key("{push}", "log", idem_key)  # hash: one push's outcome (a failed one keeps its text)


def forget_texts(redis, openid: str) -> int:
    """Drop the text an older version kept with openid's failed pushes (they deleted their data); the outcome stays."""
    keys = redis.zrange(LEGACY_FAILED, 0, -1)
    pipe = redis.pipeline(transaction=False)
    for k in keys:
        pipe.hget(log_key(k), "openid")
    mine = [k for k, who in zip(keys, pipe.execute()) if who == openid]
    for k in mine:
        pipe.hdel(log_key(k), "text")
        pipe.zrem(LEGACY_FAILED, k)  # nothing left to retry
    pipe.execute()
    return len(mine)


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
