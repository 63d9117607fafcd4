"""Demo content: made-up people who make a fresh demo look lived-in, and removing them again.

Demo members (with past quiz results) and demo sign-ups are loaded only in
demo mode (bot/config.py: the dev credentials, or LOAD_DEMO=1). Every made-up
person is listed in one set, so `youthbot demo clear` removes exactly them:
their profiles, branch places, quiz scores and evidence, and their event
places (a real person waiting behind them is promoted).
"""
from __future__ import annotations

from dataclasses import dataclass

from domain.events import Events, Occurrence, occ_key
from domain.followers import ACTIVE, FOLLOWS, UNFOLLOWS, seen_key
from domain.jobs import SUBSCRIBERS, Jobs
from domain.keys import key, user_key
from domain.profiles import BRANCHES, Profiles, branch_members_key
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
    """Remove every made-up person and what they took part in: places (a real person waiting behind
    one moves up), attendance, quiz results, branch places, job interests, follows and every key of theirs.

    What is not anyone's stays: the demo's past activities and their outcomes, and the daily push
    counts the history recorded (start from an empty store to be rid of those)."""
    people = sorted(set(redis.smembers(PEOPLE)) | _made_up_by_name(redis))
    gone = set(people)
    events, jobs = Events(redis), Jobs(redis)
    places, promoted = 0, []
    for occ_id in redis.zrange(key("{events}", "by_start"), 0, -1):
        occ = events.get(occ_id)
        if occ is None:
            continue
        on_it = set(events.confirmed(occ_id)) | set(events.waitlist(occ_id))
        for openid in sorted(on_it & gone):
            _, moved_up = events.cancel(occ, openid)
            places += 1
            if moved_up and moved_up not in gone:
                promoted.append((occ, moved_up))
        came = [o for o in redis.hkeys(occ_key(occ_id, "checkin")) if o in gone]
        if came:
            for part in ("checkin", "checkout", "minutes", "fixed"):
                redis.hdel(occ_key(occ_id, part), *came)
    profiles = Profiles(redis)
    for openid in people:
        jobs.withdraw_all(openid)
        profiles.forget_contact(openid)  # their entries in the people index (find, retention) go too
    sessions = redis.zrange(SESSIONS, 0, -1)
    branches = redis.hkeys(BRANCHES)
    for chunk in (people[i:i + 500] for i in range(0, len(people), 500)):
        pipe = redis.pipeline(transaction=False)
        for sid in sessions:
            pipe.zrem(scores_key(sid), *chunk)
            pipe.hdel(evidence_key(sid), *chunk)
        pipe.zrem(TOTAL, *chunk)
        pipe.zrem(DONE_COUNT, *chunk)
        pipe.srem(ACTIVE, *chunk)
        pipe.hdel(SUBSCRIBERS, *chunk)
        for bid in branches:
            pipe.srem(branch_members_key(bid), *chunk)
        pipe.execute()
    _forget_follows(redis, gone)
    for k in list(redis.scan_iter(match=_user_keys_pattern(), count=1000)):
        redis.delete(k)
    redis.delete(PEOPLE)
    return Cleared(len(people), places, promoted)


def _forget_follows(redis, gone: set[str]) -> None:
    for log in (FOLLOWS, UNFOLLOWS):
        entries = [m for m, _ in redis.zscan_iter(log, match="o_demo_*", count=1000) if m.split("|")[0] in gone]
        for i in range(0, len(entries), 500):
            redis.zrem(log, *entries[i:i + 500])
    for day in redis.scan_iter(match=seen_key("*"), count=1000):
        members = [m for m in redis.sscan_iter(day, match="o_demo_*", count=1000) if m in gone]
        if members:
            redis.srem(day, *members)


def _user_keys_pattern() -> str:
    tagged = user_key("o_demo_*", "")  # yb:{u:o_demo_*}: ; SCAN's pattern needs the braces escaped
    return tagged.replace("{", "\\{").replace("}", "\\}") + "*"


def _made_up_by_name(redis) -> set[str]:
    """Made-up people the demo's history created without listing them: their openids start with o_demo_."""
    return {k.split("{u:", 1)[1].split("}", 1)[0] for k in redis.scan_iter(match=_user_keys_pattern(), count=1000)}
