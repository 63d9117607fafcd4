"""Which of a person's message-ledger entries exist: an index, so that deleting a person reads no keyspace.

The ledger (handlers/ledger.py) keeps the reply to each message that changed something for WeChat's retries,
`done_ttl` long, under a key named by the message: "yb:{u:<openid>}:msg:<MsgId>". A reply may quote the
person's name or number, so `删除我的信息` deletes those entries (domain/privacy.py). Their names are random
(WeChat's MsgId): finding them took a SCAN of the whole keyspace per deletion. The index is a sorted set on the
person's slot, "yb:{u:<openid>}:msgs": entry key -> when it expires. Each recorded reply adds itself and drops
what has expired, and the set expires with its last entry, so it holds at most what the ledger holds.

A store written before the index gets it from `build_index` (run once by domain/indexes.py), which also finds
the entries in the ledger's earlier key format ("yb:msg:<openid>:<MsgId>").
"""
from __future__ import annotations

import time

from domain.keys import key, user_key
from domain.keyscan import scan_step

_NEW_PREFIX, _NEW_MARK = "yb:{u:", "}:msg:"
_OLD_PREFIX = key("msg", "")  # "yb:msg:"


def index_key(openid: str) -> str:
    return user_key(openid, "msgs")  # zset: ledger entry key -> its expiry (unix seconds)


def queue_add(pipe, openid: str, entry_key: str, ttl: int, now: float | None = None) -> None:
    """Queue, on the caller's pipeline (the one recording the entry), the entry's place in the index."""
    now = time.time() if now is None else now
    idx = index_key(openid)
    pipe.zremrangebyscore(idx, "-inf", now)
    pipe.zadd(idx, {entry_key: now + ttl})
    pipe.expire(idx, ttl)  # every entry lives `ttl`: the newest one is the last to go


def entries(redis, openid: str) -> list[str]:
    """The person's ledger entry keys that may still exist."""
    return redis.zrangebyscore(index_key(openid), time.time(), "+inf")


def _owner(name: str) -> str | None:
    if name.startswith(_NEW_PREFIX) and _NEW_MARK in name:
        return name[len(_NEW_PREFIX):name.index(_NEW_MARK)]
    if name.startswith(_OLD_PREFIX):
        return name[len(_OLD_PREFIX):].split(":", 1)[0] or None
    return None


def _index(redis, names: list[str]) -> None:
    owned = [(n, _owner(n)) for n in names]
    owned = [(n, o) for n, o in owned if o]
    if not owned:
        return
    people = sorted({o for _, o in owned})
    read = redis.pipeline(transaction=False)
    for name, _ in owned:
        read.ttl(name)
    for openid in people:
        read.ttl(index_key(openid))  # an index a recorded reply already keeps: never shortened
    found = read.execute()
    ttls, longest = found[:len(owned)], dict(zip(people, (max(t, 0) for t in found[len(owned):])))
    now = time.time()
    pipe = redis.pipeline(transaction=False)
    for (name, openid), ttl in zip(owned, ttls):
        if ttl is not None and ttl > 0:
            pipe.zadd(index_key(openid), {name: now + ttl})
            longest[openid] = max(longest[openid], ttl)
    for openid, ttl in longest.items():
        if ttl:
            pipe.expire(index_key(openid), ttl)
    pipe.execute()


def build_index(redis, cursor: int, batch: int = 500) -> int:
    """Index one batch of the ledger entries a store holds (both key formats); the next SCAN cursor, 0 when done."""
    return scan_step(redis, cursor, "yb:*msg:*", batch, _index)  # both formats; _index keeps the ledger's keys
