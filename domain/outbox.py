"""The push seam: messages that go to a user outside a webhook reply.

Anything that must reach a user later (a reply that missed WeChat's 5-second
window, a waitlist promotion, an event change) is enqueued here with an
idempotency key; enqueuing the same key twice queues it once. The scheduler
drains the queue through bot.pushes.delivery (every few seconds).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import StrEnum

from domain.push_kinds import rules
from domain.keys import key
from domain.scripting import register

QUEUE = key("{outbox}", "queue")
TAKEN = key("{outbox}", "taken")  # items being delivered; put back if the drainer died

# Mark the key seen and queue the item in one atomic step, indexed under its person (the keys share the
# {outbox} hash tag, so this also runs on a Redis Cluster).
_ENQUEUE_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('SADD', KEYS[3], ARGV[2])
  return 1
end
return 0
"""


def seen_key(idem_key: str) -> str:
    return key("{outbox}", "seen", idem_key)  # set while an item with that idempotency key may not be queued again


def queued_of_key(openid: str) -> str:
    return key("{outbox}", "queued_of", openid)  # set: the items queued for openid, as queued (a deletion finds them)


def failed_of_key(openid: str) -> str:
    return key("{outbox}", "failed_of", openid)  # set: idempotency keys of openid's failed pushes


@dataclass
class Prepared:
    """A notice for a person a script will pick (the volunteer promoted from the waitlist): the queued item
    without its openid. The script completes it (openid; the idempotency key is idem_prefix + openid), marks
    seen_prefix + that key for ttl seconds, pushes it on queue and adds it to queued_of_prefix + openid (the
    person's index), once: what enqueue() does."""

    outbox: "Outbox"
    text: str
    kind: str
    idem_prefix: str
    expires: float | None = None

    queue = QUEUE
    seen_prefix = seen_key("")
    queued_of_prefix = queued_of_key("")

    @property
    def ttl(self) -> int:
        return self.outbox.seen_ttl

    def item(self) -> str:
        return json.dumps(self.outbox.item("", self.text, self.kind, self.idem_prefix, self.expires), ensure_ascii=False)

    def send_to(self, openid: str) -> bool:
        """Queue it for openid from here (where no script picked the person in the same step)."""
        return self.outbox.enqueue(openid, self.text, self.kind, self.idem_prefix + openid, self.expires)


class Outbox:
    def __init__(self, redis, seen_ttl: int = 30 * 24 * 3600):
        self._redis = redis
        self._seen_ttl = seen_ttl
        self._enqueue_once = register(redis, _ENQUEUE_ONCE)

    def enqueue(self, openid: str, text: str, kind: str, idem_key: str, expires: float | None = None) -> bool:
        """Queue a text for openid once per idem_key; return False if it was queued before.
        `expires`: when it stops making sense (a promotion: the event's start), for retries."""
        item = self.item(openid, text, kind, idem_key, expires)
        payload = json.dumps(item, ensure_ascii=False)
        return bool(self._enqueue_once(keys=[seen_key(idem_key), QUEUE, queued_of_key(openid)],
                                       args=[self._seen_ttl, payload]))

    @property
    def seen_ttl(self) -> int:
        return self._seen_ttl

    @staticmethod
    def item(openid: str, text: str, kind: str, idem_key: str, expires: float | None = None) -> dict:
        """What the queue holds for one message."""
        rules(kind)  # a kind the table does not declare is refused before anything is queued
        item = {"openid": openid, "text": text, "kind": kind, "key": idem_key, "at": int(time.time())}
        if expires:
            item["expires"] = int(expires)
        return item

    def prepare(self, text: str, kind: str, idem_prefix: str, expires: float | None = None) -> Prepared:
        """A notice whose person a script picks (see Prepared)."""
        self.item("", text, kind, idem_prefix, expires)  # a kind the table does not declare: refused now
        return Prepared(self, text, kind, idem_prefix, expires)

    def pending(self) -> list[dict]:
        return [json.loads(raw) for raw in self._redis.lrange(QUEUE, 0, -1)]

    def forget(self, openid: str) -> int:
        """Drop every queued or failed message for openid (they deleted their data); return how many.
        Found through the person's index, not by reading the queue."""
        mine = self._redis.smembers(queued_of_key(openid))
        pipe = self._redis.pipeline(transaction=True)  # one slot: the items and their index go together
        for raw in mine:
            pipe.lrem(QUEUE, 0, raw)
        pipe.delete(queued_of_key(openid))
        dropped = sum(pipe.execute()[:-1])
        return dropped + FailedPushes(self._redis).forget(openid)

    def drain(self, deliver, limit: int = 1000) -> dict[str, int]:
        """Hand queued items to deliver(item) -> status name; items held by quiet hours ("quiet") go back."""
        while self._redis.lmove(TAKEN, QUEUE, "RIGHT", "LEFT"):  # left by a drainer that died
            pass
        counts: dict[str, int] = {}
        held = []
        for _ in range(limit):
            raw = self._redis.lmove(QUEUE, TAKEN, "LEFT", "RIGHT")
            if raw is None:
                break
            item = json.loads(raw)
            status = deliver(item)  # "sent", "skipped", ..., "quiet"
            counts[status] = counts.get(status, 0) + 1
            pipe = self._redis.pipeline(transaction=True)
            pipe.lrem(TAKEN, 1, raw)
            if status == "quiet":
                held.append(raw)
            else:
                pipe.srem(queued_of_key(item.get("openid", "")), raw)
            pipe.execute()
        if held:
            self._redis.rpush(QUEUE, *held)
        return counts


# -- pushes that failed: tried again later, while they still make sense ---------------------------
RETRY_DUE = key("{outbox}", "retry")  # zset: idempotency key -> when to try again
GIVEN_UP = key("{outbox}", "given_up")  # zset: idempotency key -> when it was given up
RETRY_AFTER = (60, 5 * 60, 15 * 60, 3600, 3 * 3600, 6 * 3600)  # seconds after the 1st, 2nd, ... failure
# WeChat errors that another try cannot cure: the openid is wrong, the user left, blocked the
# account or refused, or the customer-service window closed.
PERMANENT = {"40003", "43004", "43019", "43101", "45015"}


def failed_key(idem_key: str) -> str:
    return key("{outbox}", "failed", idem_key)


class FailedState(StrEnum):
    RETRYING = "retrying"
    GIVEN_UP = "given_up"


@dataclass
class FailedPush:
    key: str  # the push's idempotency key
    openid: str
    kind: str
    text: str
    values: dict
    expires: float  # after this it no longer makes sense (an event's start, a quiz's close)
    failures: int  # how many times it failed
    errcode: str  # WeChat's last answer
    state: FailedState
    reason: str  # why it was given up: expired | attempts | permanent | a skip reason
    next_at: float  # when it is tried again (retrying)
    first_failed: float
    last_failed: float


class FailedPushes:
    """Pushes WeChat refused: each tried again with backoff until it goes out, stops making
    sense (`expires`) or has failed len(RETRY_AFTER) + 1 times; then given up with the reason."""

    def __init__(self, redis):
        self._redis = redis

    def record(self, idem_key: str, openid: str, kind: str, text: str, values: dict | None,
               expires: float | None, errcode, now: float) -> FailedPush:
        """Note one more failure of a push and decide: try again at some time, or give up."""
        k = failed_key(idem_key)
        read = self._redis.pipeline(transaction=False)
        read.hgetall(k)
        read.ttl(failed_of_key(openid))
        old, index_ttl = read.execute()
        failures = int(old.get("failures", 0)) + 1
        expires = float(expires) if expires else float(old.get("expires") or now + rules(kind).lifetime)
        errcode = "" if errcode is None else str(errcode)
        next_at = now + RETRY_AFTER[failures - 1] if failures <= len(RETRY_AFTER) else None
        reason = "permanent" if errcode in PERMANENT else "attempts" if next_at is None else \
            "expired" if next_at >= expires else ""
        entry = {"openid": openid, "kind": kind, "text": text, "values": json.dumps(values or {}, ensure_ascii=False),
                 "expires": expires, "failures": failures, "errcode": errcode,
                 "state": FailedState.GIVEN_UP if reason else FailedState.RETRYING, "reason": reason,
                 "next_at": 0 if reason else next_at, "first_failed": old.get("first_failed", now),
                 "last_failed": now}
        pipe = self._redis.pipeline(transaction=True)  # one hash tag: atomic on a cluster too
        pipe.hset(k, mapping=entry)
        kept = int(max(expires - now, 0)) + 30 * 86400
        pipe.expire(k, kept)  # kept a month past its deadline for staff
        pipe.sadd(failed_of_key(openid), idem_key)  # the person's index lasts as long as their longest entry
        pipe.expire(failed_of_key(openid), max(kept, index_ttl or 0))
        if reason:
            pipe.zrem(RETRY_DUE, idem_key)
            pipe.zadd(GIVEN_UP, {idem_key: now})
        else:
            pipe.zadd(RETRY_DUE, {idem_key: next_at})
            pipe.zrem(GIVEN_UP, idem_key)
        pipe.execute()
        return _failed(idem_key, {k2: str(v) for k2, v in entry.items()})

    def due(self, now: float, limit: int = 200) -> list[FailedPush]:
        keys = self._redis.zrangebyscore(RETRY_DUE, "-inf", now, start=0, num=limit)
        return [p for p in self._many(keys) if p is not None]

    def later(self, idem_key: str, at: float) -> None:
        """Try again at `at` without counting a failure (quiet hours held it)."""
        self._redis.zadd(RETRY_DUE, {idem_key: at}, xx=True)

    def give_up(self, idem_key: str, reason: str, now: float) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(failed_key(idem_key), mapping={"state": FailedState.GIVEN_UP, "reason": reason, "next_at": 0})
        pipe.zrem(RETRY_DUE, idem_key)
        pipe.zadd(GIVEN_UP, {idem_key: now})
        pipe.execute()

    def resolve(self, idem_key: str) -> None:
        """It went out (or was handled elsewhere): no longer a failure."""
        openid = self._redis.hget(failed_key(idem_key), "openid")
        pipe = self._redis.pipeline(transaction=True)
        if openid is not None:
            pipe.srem(failed_of_key(openid), idem_key)
        pipe.delete(failed_key(idem_key))
        pipe.zrem(RETRY_DUE, idem_key)
        pipe.zrem(GIVEN_UP, idem_key)
        pipe.execute()

    def all(self) -> list[FailedPush]:
        """Every push that failed and has not gone out since: retrying first (soonest), then given up."""
        keys = self._redis.zrange(RETRY_DUE, 0, -1) + self._redis.zrevrange(GIVEN_UP, 0, -1)
        return [p for p in self._many(keys) if p is not None]

    def retry_now(self, now: float, keys: list[str] | None = None) -> tuple[int, int]:
        """Queue failed pushes (all, or these keys) to be tried at once; return (queued, expired)."""
        queued = expired = 0
        for p in self._many(keys if keys is not None else [p.key for p in self.all()]):
            if p is None:
                continue
            if p.expires <= now:
                expired += 1
                if p.state != FailedState.GIVEN_UP or p.reason != "expired":
                    self.give_up(p.key, "expired", now)
                continue
            pipe = self._redis.pipeline(transaction=True)
            pipe.hset(failed_key(p.key), mapping={"state": FailedState.RETRYING, "reason": "", "next_at": now})
            pipe.zadd(RETRY_DUE, {p.key: now})
            pipe.zrem(GIVEN_UP, p.key)
            pipe.execute()
            queued += 1
        return queued, expired

    def forget(self, openid: str) -> int:
        """Drop every failed push to openid (they deleted their data), found through the person's index."""
        keys = sorted(self._redis.smembers(failed_of_key(openid)))
        mine = [p.key for p in self._many(keys) if p is not None and p.openid == openid]
        for k in mine:
            self.resolve(k)
        self._redis.delete(failed_of_key(openid))
        return len(mine)

    def prune_given_up(self, batch: int = 500) -> int:
        """Take out of GIVEN_UP the pushes whose record has expired (a month past its deadline); return how many.
        The record expires by itself; without this its key would stay in the list for ever."""
        removed, start = 0, 0
        while True:
            keys = self._redis.zrange(GIVEN_UP, start, start + batch - 1)
            if not keys:
                return removed
            pipe = self._redis.pipeline(transaction=False)
            for k in keys:
                pipe.exists(failed_key(k))
            gone = [k for k, there in zip(keys, pipe.execute()) if not there]
            if gone:
                self._redis.zrem(GIVEN_UP, *gone)
            removed += len(gone)
            start += len(keys) - len(gone)

    def _many(self, keys: list[str]) -> list[FailedPush | None]:
        pipe = self._redis.pipeline(transaction=False)
        for k in keys:
            pipe.hgetall(failed_key(k))
        return [_failed(k, d) if d else None for k, d in zip(keys, pipe.execute())]


def _failed(idem_key: str, d: dict) -> FailedPush:
    return FailedPush(idem_key, d["openid"], d["kind"], d["text"], json.loads(d.get("values") or "{}"),
                      float(d["expires"]), int(d["failures"]), d.get("errcode", ""), FailedState(d["state"]),
                      d.get("reason", ""), float(d.get("next_at") or 0), float(d["first_failed"]),
                      float(d["last_failed"]))


def build_index(redis, start: int, batch: int = 500) -> int:
    """Index by person one batch of the queue and then of the failed pushes (offset start over both); return the
    next offset, 0 when done. Run once by domain/indexes.py for a store written before the index existed."""
    queued = redis.llen(QUEUE)
    if start < queued:
        pipe = redis.pipeline(transaction=False)
        for raw in redis.lrange(QUEUE, start, start + batch - 1):
            pipe.sadd(queued_of_key(json.loads(raw).get("openid", "")), raw)
        pipe.execute()
        return start + batch
    failed = FailedPushes(redis)
    keys = redis.zrange(RETRY_DUE, 0, -1) + redis.zrange(GIVEN_UP, 0, -1)
    chunk = keys[start - queued: start - queued + batch]
    pipe = redis.pipeline(transaction=False)
    for p in failed._many(chunk):
        if p is not None:
            pipe.sadd(failed_of_key(p.openid), p.key)
            pipe.expire(failed_of_key(p.openid), int(max(p.expires - time.time(), 0)) + 30 * 86400)
    pipe.execute()
    return start + batch if start - queued + batch < len(keys) else 0
