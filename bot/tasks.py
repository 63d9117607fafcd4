"""What the scheduler runs. Each job is a plain function of (bot, deliverer, now).

Every push a job makes has an idempotency key (kind + target + user), so a job
that runs twice, or is killed half-way and run again, sends nobody anything
twice and carries on where it stopped. Recipients are read in batches, never
all at once.
"""
from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Iterator

from domain import clock
from bot.pushes import Push, in_quiet_hours, stats as push_stats
from domain.keys import key
from domain.events import Events
from domain.jobs import Jobs
from domain.profiles import branch_members_key
from domain.quiz import Quiz

log = logging.getLogger(__name__)

BATCH = 500
EVENT_REMINDERS = (("24h", 24 * 3600), ("2h", 2 * 3600))


def fan_out(bot, deliverer, pushes: Iterable[Push], now: float) -> dict[str, int]:
    """Deliver each push (a stream, taken in batches), skipping keys already done."""
    counts: dict[str, int] = {}
    with ThreadPoolExecutor(max(1, bot.settings.push_concurrency)) as pool:
        for batch in _batches(pushes, BATCH):
            todo = [p for p, done in zip(batch, deliverer.already_done([p.idem_key for p in batch])) if not done]
            for result in pool.map(lambda p: deliverer.deliver(p, now), todo):
                counts[result.status.value] = counts.get(result.status.value, 0) + 1
            if counts.get("quiet"):
                break  # quiet hours began: the rest waits for the next run
    return counts


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _members(redis) -> Iterator[str]:
    """Every member of every branch, streamed (SSCAN); a member is in one branch only."""
    for bid in redis.hkeys(key("{quiz}", "branches")):
        yield from redis.sscan_iter(branch_members_key(bid), count=BATCH)


# -- the jobs ------------------------------------------------------------------------
def drain_outbox(bot, deliverer, now: float) -> dict[str, int]:
    """Send what the webhook and the handlers queued: late replies, promotions, event changes."""
    return bot.outbox.drain(lambda item: deliverer.deliver(
        Push(item["openid"], item["text"], item["kind"], item["key"]), now).status.value)


def quiz_opening_notice(bot, deliverer, now: float) -> dict[str, int]:
    """Tell every member that this week's session is open (once per session)."""
    session = Quiz(bot.redis).open_session(now)
    if session is None or in_quiet_hours(bot.settings, now):
        return {}
    text = bot.texts.get("pushes.quiz_open", title=session.title, closes=clock.fmt(session.closes),
                         count=len(session.questions))
    return fan_out(bot, deliverer, (Push(o, text, "quiz_open", f"quiz_open:{session.id}:{o}", {"title": session.title})
                                    for o in _members(bot.redis)), now)


def quiz_reminders(bot, deliverer, now: float) -> dict[str, int]:
    """Remind members who have not completed the open session (once per session and day)."""
    quiz = Quiz(bot.redis)
    session = quiz.open_session(now)
    if session is None or in_quiet_hours(bot.settings, now):
        return {}
    day = clock.local(now).strftime("%Y%m%d")
    text = bot.texts.get("pushes.quiz_reminder", title=session.title, closes=clock.fmt(session.closes),
                         count=len(session.questions))
    return fan_out(bot, deliverer, (Push(o, text, "quiz_reminder", f"quiz_reminder:{session.id}:{day}:{o}",
                                         {"title": session.title}) for o in quiz.iter_non_completers(session.id, BATCH)),
                   now)


def event_reminders(bot, deliverer, now: float) -> dict[str, int]:
    """Remind confirmed volunteers 24 h and 2 h before the start; never after it.

    Only the reminder of the window we are in goes out: someone who signs up an
    hour before the start gets the 2-hour one, not "see you tomorrow" as well."""
    events = Events(bot.redis)
    counts: dict[str, int] = {}
    for occ in events.upcoming(now):
        due = [(label, before) for label, before in EVENT_REMINDERS if occ.start - before <= now < occ.start]
        if not due:
            continue
        label, _ = min(due, key=lambda d: d[1])
        text = bot.texts.get(f"pushes.event_reminder_{label}", title=occ.title, when=clock.fmt(occ.start),
                             place=occ.place, number=occ.number, day=clock.day_word(occ.start, now),
                             left=clock.fmt_span(occ.start - now))
        version = events.version(occ.id)
        result = fan_out(bot, deliverer, (Push(o, text, "event_reminder", f"event_{label}:{occ.id}:{version}:{o}",
                                               {"title": occ.title}) for o in events.confirmed(occ.id)), now)
        for k, v in result.items():
            counts[k] = counts.get(k, 0) + v
    return counts


def job_digest(bot, deliverer, now: float) -> dict[str, int]:
    """Today's new postings in each subscriber's categories, one message a day at most."""
    return fan_out(bot, deliverer, _digests(bot, now), now)


def _digests(bot, now: float) -> Iterator[Push]:
    """Today's digest push for each subscriber with something new in their categories."""
    jobs = Jobs(bot.redis)
    day = clock.local(now).strftime("%Y%m%d")
    for openid, categories in jobs.iter_subscribers():
        new = jobs.new_since(now - 86400, now, categories)
        if new:
            rows = "\n".join(bot.texts.get("jobs.digest_row", number=p.number, title=p.title, employer=p.employer,
                                           salary=p.salary) for p in new[:8])
            yield Push(openid, bot.texts.get("jobs.digest", count=len(new), rows=rows), "job_digest",
                       f"job_digest:{day}:{openid}", {"count": len(new)})


def stats_rollup(bot, deliverer, now: float) -> dict[str, int]:
    """Keep a nightly snapshot of the figures the committee reports."""
    quiz = Quiz(bot.redis)
    session = quiz.current_session(now)
    snapshot = {
        "at": int(now),
        "followers_active": bot.redis.scard(key("followers", "active")),
        "quiz_session": session.id if session else None,
        "quiz_participants": len(quiz.participants(session.id)) if session else 0,
        "quiz_members": len(quiz.members()),
        "pushes": push_stats(bot.redis),
    }
    day = clock.local(now).strftime("%Y-%m-%d")
    bot.redis.hset(key("stats", "daily"), day, json.dumps(snapshot, ensure_ascii=False))
    return {"rollup": 1}
