"""Indexes the request paths read instead of scanning the store, built once for a store written before them.

Each index is kept by the writes it reflects (see each module); a store from an earlier version has the
records but not the index. `ensure(redis)` builds what is missing, step by step, each in batches: a step
remembers its SCAN cursor (or its offset) after every batch, so a start killed half-way carries on where
it stopped, and marks itself done; a done step is never run again (running one again would add nothing).
One process builds at a time (a lock with an expiry); another waits for it, then finds the steps done.

Run at start-up by the web master (before any worker serves), by every app and by the scheduler, and by
`youthbot store index`: on a store that has them all it costs one read.
"""
from __future__ import annotations

import time
from typing import Callable

from domain.keys import key

DONE = key("indexes")  # hash: step -> version built; "<step>:at" -> the step's cursor while it runs
LOCK = key("indexes", "lock")
LOCK_TTL = 30  # seconds; renewed after every batch
WAIT = 300.0  # seconds a process waits for another one's build before building itself (the lock lapsed)


def _steps() -> dict[str, tuple[int, Callable]]:
    """step -> (version, build(redis, cursor) -> next cursor, 0 when done)."""
    from domain import jobs, ledger_index, outbox, profiles, quiz

    return {
        "people": (1, profiles.build_index),  # names, phone numbers, who may be due for retention
        "outbox": (1, outbox.build_index),  # queued and failed pushes by person
        "quiz": (1, quiz.build_index),  # when each session closes: the open ones without reading all
        "jobs": (1, jobs.build_index),  # live postings by deadline
        "ledger": (1, ledger_index.build_index),  # a person's message-ledger entries (deletion reads them)
    }


def missing(redis) -> list[str]:
    done = redis.hgetall(DONE)
    return [name for name, (version, _) in _steps().items() if done.get(name) != str(version)]


def ensure(redis, say: Callable[[str], None] | None = None) -> list[str]:
    """Build every index the store lacks; return the steps this process built."""
    todo = missing(redis)
    if not todo:
        return []
    if redis.dbsize() == 0:  # a new store: no record to index, each index grows with the writes from now on
        redis.hset(DONE, mapping={name: version for name, (version, _) in _steps().items()})
        return []
    token = f"{time.time()}"
    deadline = time.monotonic() + WAIT
    while not redis.set(LOCK, token, nx=True, ex=LOCK_TTL):
        if not missing(redis):
            return []
        if time.monotonic() > deadline:
            break  # the builder stalled without releasing: building twice adds nothing twice
        time.sleep(0.2)
    built = []
    try:
        steps = _steps()
        for name in missing(redis):
            version, build = steps[name]
            cursor = int(redis.hget(DONE, f"{name}:at") or 0)
            while True:
                cursor = build(redis, cursor)
                pipe = redis.pipeline(transaction=False)
                if cursor:
                    pipe.hset(DONE, f"{name}:at", cursor)
                else:
                    pipe.hset(DONE, name, version)
                    pipe.hdel(DONE, f"{name}:at")
                pipe.expire(LOCK, LOCK_TTL)
                pipe.execute()
                if not cursor:
                    break
            built.append(name)
    finally:
        if redis.get(LOCK) == token:
            redis.delete(LOCK)
    if say and built:
        say(f"store indexes built: {', '.join(built)}")
    return built
