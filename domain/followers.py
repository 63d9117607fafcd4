"""Followers of the official account: subscribed or not, and when they last wrote.

The last interaction matters for pushes: WeChat accepts customer-service
messages only within 48 h of it. Follows and unfollows are also logged with
their time, and who interacted on each day is kept for a year, so that the
committee's report can count followers gained, lost and active in any period.

An interaction is written at most every TOUCH_EVERY seconds per follower (and
on a follower's first message of a day), so that most messages write nothing:
a push may then take the 48-h window to close up to that much earlier than it
does, never later.
"""
from __future__ import annotations

import time

from domain import clock
from domain.keys import key, user_key

ACTIVE = key("followers", "active")  # openids that follow the account now
TOUCH_EVERY = 300
FOLLOWS = key("followers", "follows")  # zset: "<openid>|<time>" -> time of each follow
UNFOLLOWS = key("followers", "unfollows")  # zset: "<openid>|<time>" -> time of each unfollow
DAY_KEPT = 400 * 86400  # who interacted on a day is kept this long (seconds)
MAX_KEEP_DAYS = 730  # the follow logs are kept at most the privacy notice's two years


def seen_key(day: str) -> str:
    return key("followers", "seen", day)  # set: openids that interacted on day (YYYYMMDD, local)


def reminders_off_key(openid: str) -> str:
    return user_key(openid, "reminders_off")


class Followers:
    def __init__(self, redis):
        self._redis = redis

    def queue_seen(self, pipe, openid: str) -> None:
        """Queue the reads touch_due() needs on a caller's pipeline (2 commands)."""
        pipe.hget(user_key(openid, "follower"), "last_seen")
        pipe.sismember(ACTIVE, openid)

    @staticmethod
    def touch_due(seen, now: float) -> bool:
        """Whether the interaction needs recording, given the results of queue_seen()."""
        last_seen, active = seen
        if not active or not last_seen or now - int(last_seen) >= TOUCH_EVERY:
            return True
        return clock.local(int(last_seen)).date() != clock.local(now).date()  # each day's set of who interacted

    def touch(self, pipe, openid: str, now: float | None = None) -> None:
        """Record an interaction, on a pipeline the caller executes."""
        now = int(now or time.time())
        seen = seen_key(f"{clock.local(now):%Y%m%d}")
        pipe.hset(user_key(openid, "follower"), "last_seen", now)
        pipe.sadd(ACTIVE, openid)  # only followers can write to the account
        pipe.sadd(seen, openid)
        pipe.expire(seen, DAY_KEPT)

    def subscribe(self, openid: str, now: float | None = None) -> bool:
        """Mark openid as following; return True when they followed before (a return)."""
        k = user_key(openid, "follower")
        now = int(now or time.time())
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(FOLLOWS, {f"{openid}|{now}": now})
        pipe.hsetnx(k, "first_seen", now)
        pipe.hincrby(k, "subscriptions", 1)
        pipe.hset(k, mapping={"subscribed": 1, "last_seen": now})
        pipe.sadd(ACTIVE, openid)
        _, _, times, *_ = pipe.execute()
        return times > 1

    def unsubscribe(self, openid: str, now: float | None = None) -> None:
        """Mark openid inactive: nothing is pushed to them until they follow again."""
        now = int(now or time.time())
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(UNFOLLOWS, {f"{openid}|{now}": now})
        pipe.hset(user_key(openid, "follower"), mapping={"subscribed": 0, "left_at": now})
        pipe.srem(ACTIVE, openid)
        pipe.execute()

    def is_active(self, openid: str) -> bool:
        return bool(self._redis.sismember(ACTIVE, openid))

    def set_reminders(self, openid: str, on: bool) -> None:
        """Stop (`退订提醒`) or resume quiz and event reminders for openid."""
        if on:
            self._redis.delete(reminders_off_key(openid))
        else:
            self._redis.set(reminders_off_key(openid), int(time.time()))

    def first_seen(self, openids: list[str]) -> dict[str, int]:
        """{openid: when they first followed} for those who did (one round trip)."""
        pipe = self._redis.pipeline(transaction=False)
        for openid in openids:
            pipe.hget(user_key(openid, "follower"), "first_seen")
        return {o: int(t) for o, t in zip(openids, pipe.execute()) if t}

    def last_seen(self, openid: str) -> int | None:
        value = self._redis.hget(user_key(openid, "follower"), "last_seen")
        return int(value) if value else None

    # -- figures for reports -------------------------------------------------------
    def followed_between(self, start: float, end: float) -> list[str]:
        """Distinct openids that followed in [start, end)."""
        return _distinct(self._redis.zrangebyscore(FOLLOWS, start, f"({end}"))

    def unfollowed_between(self, start: float, end: float) -> list[str]:
        """Distinct openids that unfollowed in [start, end)."""
        return _distinct(self._redis.zrangebyscore(UNFOLLOWS, start, f"({end}"))

    def seen_between(self, start: float, end: float) -> list[str]:
        """Distinct openids that interacted on the local days from start's to the one before end."""
        seen: set[str] = set()
        for day in clock.days_between(start, end):  # one key per day: SUNION across days would cross cluster slots
            seen.update(self._redis.sscan_iter(seen_key(day), count=1000))  # a batch at a time, not a year at once
        return sorted(seen)

    def count(self) -> int:
        """Followers now: those who may be pushed to, and those whose last logged event is a follow."""
        latest: dict[str, tuple[float, bool]] = {}
        for zkey, following in ((FOLLOWS, True), (UNFOLLOWS, False)):
            for member, at in self._redis.zrange(zkey, 0, -1, withscores=True):
                openid = member.rsplit("|", 1)[0]
                if openid not in latest or latest[openid][0] <= at:
                    latest[openid] = (at, following)
        logged = {o for o, (_, following) in latest.items() if following}
        return len(logged | self._redis.smembers(ACTIVE))

    def trim(self, keep_days: float, now: float) -> int:
        """Delete follows and unfollows logged more than keep_days ago (never more than MAX_KEEP_DAYS; 0: that);
        return how many went. The report's periods (a half year and the one before) need less than a year."""
        keep_days = min(keep_days, MAX_KEEP_DAYS) if keep_days > 0 else MAX_KEEP_DAYS
        cutoff = f"({now - keep_days * 86400}"
        pipe = self._redis.pipeline(transaction=False)
        pipe.zremrangebyscore(FOLLOWS, "-inf", cutoff)
        pipe.zremrangebyscore(UNFOLLOWS, "-inf", cutoff)
        return sum(pipe.execute())

    # -- history imported from elsewhere (the demo): logged and counted, never pushed to --
    def log_follow(self, openid: str, at: float, left_at: float | None = None) -> None:
        """Log a past follow (and unfollow); unlike subscribe() it does not make openid pushable."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(FOLLOWS, {f"{openid}|{int(at)}": int(at)})
        if left_at:
            pipe.zadd(UNFOLLOWS, {f"{openid}|{int(left_at)}": int(left_at)})
        pipe.execute()

    def log_seen(self, pipe, openid: str, at: float) -> None:
        """Log that openid wrote on at's day, on a pipeline the caller executes."""
        seen = seen_key(f"{clock.local(at):%Y%m%d}")
        pipe.sadd(seen, openid)
        pipe.expire(seen, DAY_KEPT)


def _distinct(members: list[str]) -> list[str]:
    return sorted({m.rsplit("|", 1)[0] for m in members})
