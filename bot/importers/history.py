"""Content loaders for programmes (content/programmes/) and the demo's past half year (content/history/).

A programme file is real content: a programme such as 希望家园 with its sites
and period. The history files are demo only: past activities with their
volunteers' sign-ups, check-ins and check-outs and their organisers' outcomes,
interest and hires for a past fair's postings, follows and unfollows, who
wrote on which day, and the pushes sent — all made through the same domain
calls the bot uses, from a seeded random draw, so that `youthbot report` has a
believable half year to count on a fresh install. A history file is imported
once (a second load changes nothing).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from bot.importers.files import Collector, ContentError, read_yaml, require
from bot.importers.loaders import occurrences_from, when
from domain import clock
from domain.keys import key
from domain.outcomes import OutcomeError, Outcomes, Programme
from domain.profiles import Profiles, branch_members_key
from domain.push_log import record_history

IMPORTED = key("content", "history")  # set: history files already imported


@dataclass
class HistoryFile:
    """A demo history file, checked; written by load_history when a demo loads."""

    path: Path


def parse_programmes(path: Path, errors: list) -> list:
    """A programme file, checked whole (written by the importer's apply step)."""
    c = Collector(path, errors)
    data = c.check(read_yaml, path)
    if data is None:
        return []
    before = len(errors)
    sites = [str(s).strip() for s in (c.check(require, data, path, "sites", list) or []) if str(s).strip()]
    fields = [c.check(require, data, path, f) for f in ("id", "title", "category")]
    start, end = c.check(when, data, path, "start"), c.check(when, data, path, "end")
    if len(errors) > before:
        return []
    programme = Programme(*fields, start, end, sites, [str(s).strip() for s in data.get("new_sites") or []],
                          str(data.get("description") or "").strip(), [str(p) for p in data.get("partners") or []])
    if programme.end <= programme.start:
        c.add("end", "结束时间应晚于开始时间")
    unknown = [s for s in programme.new_sites if s not in programme.sites]
    if unknown:
        c.add("new_sites", f"{'、'.join(unknown)}不在站点名单（sites）中")
    return [] if len(errors) > before else [programme]


def parse_history(path: Path, errors: list) -> list:
    c = Collector(path, errors)
    data = c.check(read_yaml, path)
    if data is None or c.check(require, data, path, "seed", int) is None:
        return []
    return [HistoryFile(path)]


def save_programme(bot, programme: Programme) -> None:
    Outcomes(bot.redis).save_programme(programme)


def load_history(bot, path: Path) -> int:
    """Demo only: a past half year of activity (see the module's docstring)."""
    if not bot.redis.sadd(IMPORTED, path.name):
        return 0
    data = read_yaml(path)
    rng = random.Random(require(data, path, "seed", int))
    members = _members(bot.redis)
    pool = members + [f"o_demo_vol_{i:03d}" for i in range(int(data.get("other_volunteers") or 0))]
    count = 0
    for spec in data.get("activities") or []:
        count += _activity(bot, path, spec, pool, rng)
    for spec in data.get("interest") or []:
        count += _interest(bot, path, spec, members, rng)
    if data.get("open_session_share"):
        count += _open_session(bot, members, float(data["open_session_share"]), rng)
    if data.get("followers"):
        count += _followers(bot, path, data["followers"], members, rng)
    return count


def _members(redis) -> list[str]:
    out = []
    for bid, _ in Profiles(redis).branches():
        out.extend(sorted(redis.smembers(branch_members_key(bid))))
    return out


def _between(value, rng: random.Random) -> int:
    """A fixed number, or a draw from [low, high]."""
    return rng.randint(int(value[0]), int(value[1])) if isinstance(value, list) else int(value or 0)


def _activity(bot, path: Path, spec: dict, pool: list[str], rng: random.Random) -> int:
    """Save each occurrence, sign volunteers up, check them in and out, and record the outcome."""
    spec = {"capacity": 200, **spec}
    events, outcomes = bot.events, Outcomes(bot.redis)
    problems: list[ContentError] = []
    occurrences = occurrences_from(spec, Collector(path, problems), where=f"activities[{spec.get('id')}].")
    if problems:
        raise problems[0]
    if spec.get("pool"):
        first, size = int(spec["pool"].get("first", 0)), int(spec["pool"]["size"])
        pool = [f"{spec['pool']['prefix']}{i:03d}" for i in range(first, first + size)]
    for occ in occurrences:
        events.save(occ)
        people = rng.sample(pool, min(len(pool), _between(spec.get("volunteers"), rng)))
        early = set(rng.sample(people, min(len(people), _between(spec.get("left_early"), rng))))
        code = events.code(occ.id)
        for openid in people:
            events.sign_up(occ, openid)
            events.check_in(openid, code, occ.start - rng.randint(0, 900))
            leave = occ.start + 0.4 * (occ.end - occ.start) if openid in early else occ.end + rng.randint(0, 600)
            events.check_out(openid, leave)
        out = dict(spec.get("outcome") or {})
        if out:
            out["served"] = _between(out.get("served"), rng)
            try:
                outcomes.record(occ, **out, recorded_by="demo", now=occ.end + 3600)
            except (OutcomeError, TypeError) as exc:
                raise ContentError(path, f"activities[{spec.get('id')}].outcome", str(exc)) from None
    return len(occurrences)


def _interest(bot, path: Path, spec: dict, members: list[str], rng: random.Random) -> int:
    """People interested in a fair's postings the day after it, and those hired."""
    jobs = bot.jobs
    fair = require(spec, path, "fair")
    postings = [p for p in jobs.all() if p.fair == fair]
    if not postings:
        raise ContentError(path, "interest.fair", f"no postings of fair {fair!r}")
    people = rng.sample(members, min(len(members), int(spec.get("people") or 0)))
    chosen: dict[str, list[str]] = {}
    for openid in people:
        for p in rng.sample(postings, rng.randint(1, min(3, len(postings)))):
            jobs.register_interest(p, openid, "", p.published + rng.randint(3600, 3 * 86400))
            chosen.setdefault(p.id, []).append(openid)
    hires = int(spec.get("hired") or 0)
    for p in rng.sample(postings, len(postings)):
        for openid in chosen.get(p.id, [])[:min(p.headcount, hires)]:
            if jobs.set_outcome(p.id, openid, "hired"):
                hires -= 1
    return len(people)


def _open_session(bot, members: list[str], share: float, rng: random.Random) -> int:
    """Members who already took the quiz that is open now."""
    quiz, now = bot.quiz, clock.now()
    session = quiz.open_session(now)
    if session is None:
        return 0
    done = 0
    for openid in members:
        if rng.random() < share and session.opens + 3600 < now:
            answers = [q.answer if rng.random() < 0.8 else "" for q in session.questions]
            done += quiz.record_completed(openid, session, answers, rng.uniform(session.opens + 600, now - 600))
    return done


def _followers(bot, path: Path, spec: dict, members: list[str], rng: random.Random) -> int:
    """Follows before and during the period, some unfollows, who wrote each day, and the pushes sent.

    Logged for the report only: the made-up followers are never in the set of those pushes go to.
    """
    followers, now = bot.followers, clock.now()
    start = clock.parse_when(require(spec, path, "from"))
    others = [f"o_demo_fan_{i:04d}" for i in range(int(spec.get("others") or 0))]
    everyone = members + others
    joined = {}
    for openid in everyone:
        before = rng.random() < float(spec.get("before_share", 0.5))
        joined[openid] = start - rng.randint(1, 400) * 86400 if before else rng.uniform(start, now - 3600)
    left = set(rng.sample(others, min(len(others), int(spec.get("unfollows") or 0))))
    for openid in everyone:  # made-up people: logged and counted, never pushed to
        followers.log_follow(openid, joined[openid],
                             rng.uniform(max(joined[openid], start), now - 60) if openid in left else None)
    active_share = float(spec.get("daily_active_share", 0.1))
    pipe = bot.redis.pipeline(transaction=False)
    for day in clock.days_between(start, now):
        noon = clock.parse_when(f"{day[:4]}-{day[4:6]}-{day[6:]} 12:00")
        present = [o for o in everyone if joined[o] < noon and o not in left]
        for openid in rng.sample(present, int(active_share * len(present))):
            followers.log_seen(pipe, openid, min(now - 60, noon + rng.randint(-3 * 3600, 8 * 3600)))
        weekday = clock.local(noon).isoweekday()
        for push in spec.get("pushes") or []:
            if weekday in push.get("weekdays", range(1, 8)):
                sent = int(float(push["share"]) * len(present) * rng.uniform(0.8, 1.2))
                record_history(bot.redis, day, push["kind"], "sent", sent)
    pipe.execute()
    return len(everyone)
