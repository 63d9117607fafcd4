"""Followers of the official account: subscribed or not, and when they last wrote.

The last interaction matters for pushes: WeChat accepts customer-service
messages only within 48 h of it. It is written at most every TOUCH_EVERY
seconds per follower, so that most messages write nothing: a push may then
take the window to close up to that much earlier than it does, never later.
"""
from __future__ import annotations

import time

from domain.keys import key, user_key

ACTIVE = key("followers", "active")  # openids that follow the account now
TOUCH_EVERY = 300


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
        return not active or not last_seen or now - int(last_seen) >= TOUCH_EVERY

    def touch(self, pipe, openid: str, now: float | None = None) -> None:
        """Record an interaction, on a pipeline the caller executes."""
        pipe.hset(user_key(openid, "follower"), "last_seen", int(now or time.time()))
        pipe.sadd(ACTIVE, openid)  # only followers can write to the account

    def subscribe(self, openid: str) -> bool:
        """Mark openid as following; return True when they followed before (a return)."""
        k = user_key(openid, "follower")
        now = int(time.time())
        pipe = self._redis.pipeline(transaction=False)
        pipe.hsetnx(k, "first_seen", now)
        pipe.hincrby(k, "subscriptions", 1)
        pipe.hset(k, mapping={"subscribed": 1, "last_seen": now})
        pipe.sadd(ACTIVE, openid)
        _, times, *_ = pipe.execute()
        return times > 1

    def unsubscribe(self, openid: str) -> None:
        """Mark openid inactive: nothing is pushed to them until they follow again."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(user_key(openid, "follower"), mapping={"subscribed": 0, "left_at": int(time.time())})
        pipe.srem(ACTIVE, openid)
        pipe.execute()

    def is_active(self, openid: str) -> bool:
        return bool(self._redis.sismember(ACTIVE, openid))

    def last_seen(self, openid: str) -> int | None:
        value = self._redis.hget(user_key(openid, "follower"), "last_seen")
        return int(value) if value else None
