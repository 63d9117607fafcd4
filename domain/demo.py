"""Demo content: made-up people who make a fresh demo look lived-in, and removing them again.

Demo members (with past quiz results) and demo sign-ups are loaded only in
demo mode (bot/config.py: the dev credentials, or LOAD_DEMO=1). Every made-up
person is listed in one set, so `youthbot demo clear` removes exactly them:
their profiles, branch places, quiz scores and evidence, and their event
places (a real person waiting behind them is promoted).
"""
from __future__ import annotations

from dataclasses import dataclass

from domain.events import Events, Occurrence
from domain.keys import key, user_key
from domain.profiles import BRANCHES, branch_members_key
from domain.quiz import DONE_COUNT, SESSIONS, TOTAL, evidence_key, scores_key

PEOPLE = key("demo", "people")  # set: openids of made-up people


def register(redis, openids) -> None:
    """Remember these openids as made-up (before they get any data, so a crash leaves nothing unlisted)."""
    openids = list(openids)
    if openids:
        redis.sadd(PEOPLE, *openids)


@dataclass
class Cleared:
    people: int
    places: int
    promoted: list[tuple[Occurrence, str]]  # real people promoted from a waitlist: tell them


def clear(redis) -> Cleared:
    """Remove every made-up person and what they took part in."""
    people = sorted(redis.smembers(PEOPLE))
    events = Events(redis)
    places, promoted = 0, []
    for occ_id in redis.zrange(key("{events}", "by_start"), 0, -1):
        occ = events.get(occ_id)
        if occ is None:
            continue
        on_it = set(events.confirmed(occ_id)) | set(events.waitlist(occ_id))
        for openid in sorted(on_it & set(people)):
            _, moved_up = events.cancel(occ, openid)
            places += 1
            if moved_up and moved_up not in people:
                promoted.append((occ, moved_up))
    sessions = redis.zrange(SESSIONS, 0, -1)
    branches = redis.hkeys(BRANCHES)
    for chunk in (people[i:i + 500] for i in range(0, len(people), 500)):
        pipe = redis.pipeline(transaction=False)
        for sid in sessions:
            pipe.zrem(scores_key(sid), *chunk)
            pipe.hdel(evidence_key(sid), *chunk)
        pipe.zrem(TOTAL, *chunk)
        pipe.zrem(DONE_COUNT, *chunk)
        for bid in branches:
            pipe.srem(branch_members_key(bid), *chunk)
        for openid in chunk:
            pipe.delete(user_key(openid, "profile"), user_key(openid, "signups"), user_key(openid, "served"))
        pipe.execute()
    redis.delete(PEOPLE)
    return Cleared(len(people), places, promoted)

