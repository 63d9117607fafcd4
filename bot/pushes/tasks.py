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

import redis

from domain import clock
from bot.pushes.delivery import Push, in_quiet_hours, stats as push_stats
from domain.keys import key
from domain.privacy import COMPACT_DUE, expired_contacts, forget_person
from domain.pseudonyms import user_ref
from domain.profiles import branch_members_key

log = logging.getLogger(__name__)

BATCH = 500
EVENT_REMINDERS = (("24h", 24 * 3600), ("2h", 2 * 3600))


class Ran(dict):
    """What a task did: counts by outcome ({"sent": 9}); `why` says why nothing went out when nothing did."""

    def __init__(self, counts: dict | None = None, why: str = ""):
        super().__init__(counts or {})
        self.why = why
        if not self.why and self and not self.get("sent") and self.get("skipped"):
            self.why = "every one was skipped by the delivery rules (`youthbot pushes stats` shows why)"

    def __str__(self) -> str:
        done = ", ".join(f"{k} {v}" for k, v in self.items())
        if done:
            return done + (f" ({self.why})" if self.why else "")
        return f"nothing sent: {self.why}" if self.why else "nothing sent"


def _quiet(bot) -> Ran:
    start, end = bot.settings.quiet_hours.split("-")
    return Ran(why=f"quiet hours ({bot.settings.quiet_hours} Beijing time); run it again after {end}")


def fan_out(bot, deliverer, pushes: Iterable[Push], now: float) -> Ran:
    """Deliver each push (a stream, taken in batches), skipping keys already done."""
    counts: dict[str, int] = {}
    with ThreadPoolExecutor(max(1, bot.settings.push_concurrency)) as pool:
        for batch in _batches(pushes, BATCH):
            todo = [p for p, done in zip(batch, deliverer.already_done([p.idem_key for p in batch])) if not done]
            for result in pool.map(lambda p: deliverer.deliver(p, now), todo):
                counts[result.status.value] = counts.get(result.status.value, 0) + 1
            if counts.get("quiet"):
                break  # quiet hours began: the rest waits for the next run
    return Ran(counts)


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
def drain_outbox(bot, deliverer, now: float) -> Ran:
    """Send what the webhook and the handlers queued (late replies, promotions, event changes, broadcasts),
    then the failed pushes whose time to try again has come (backoff, or a retry by hand)."""
    counts = bot.outbox.drain(lambda item: deliverer.deliver(
        Push(item["openid"], item["text"], item["kind"], item["key"], expires=item.get("expires")), now).status.value)
    for status, n in retry_pushes(bot, deliverer, now).items():
        counts[status] = counts.get(status, 0) + n
    return Ran(counts, "" if counts else "the outbox is empty and no failed push is due")


def retry_pushes(bot, deliverer, now: float) -> dict[str, int]:
    """Try failed pushes again when their time comes (backoff), while they still make sense (drain_outbox calls it)."""
    counts: dict[str, int] = {}
    for failed in deliverer.failed.due(now):
        if failed.expires <= now:
            deliverer.failed.give_up(failed.key, "expired", now)
            status = "given_up"
        else:
            status = deliverer.redeliver(failed, now).status.value
        counts[status] = counts.get(status, 0) + 1
    return counts


def quiz_opening_notice(bot, deliverer, now: float) -> Ran:
    """Tell every member that this week's session is open (once per session)."""
    session = bot.quiz.open_session(now)
    if session is None:
        return Ran(why="no quiz session is open")
    if in_quiet_hours(bot.settings, now):
        return _quiet(bot)
    text = bot.texts.get("pushes.quiz_open", title=session.title, closes=clock.fmt(session.closes),
                         count=len(session.questions))
    ran = fan_out(bot, deliverer, (Push(o, text, "quiz_open", f"quiz_open:{session.id}:{o}", {"title": session.title},
                                        session.closes) for o in _members(bot.redis)), now)
    return ran if ran else Ran(why=_nobody(bot, "members to tell, or every member was told before"))


def quiz_reminders(bot, deliverer, now: float) -> Ran:
    """Remind members who have not completed the open session (once per session and day)."""
    quiz = bot.quiz
    session = quiz.open_session(now)
    if session is None:
        return Ran(why="no quiz session is open")
    if in_quiet_hours(bot.settings, now):
        return _quiet(bot)
    day = clock.local(now).strftime("%Y%m%d")
    text = bot.texts.get("pushes.quiz_reminder", title=session.title, closes=clock.fmt(session.closes),
                         count=len(session.questions))
    ran = fan_out(bot, deliverer, (Push(o, text, "quiz_reminder", f"quiz_reminder:{session.id}:{day}:{o}",
                                        {"title": session.title}, session.closes)
                                    for o in quiz.iter_non_completers(session.id, BATCH)),
                  now)
    return ran if ran else Ran(why=_nobody(bot, "members left to remind today (all done, or reminded already)"))


def _nobody(bot, otherwise: str) -> str:
    if not any(True for _ in _members(bot.redis)):
        return "no one has chosen a branch (支部) yet: quiz pushes go to branch members only"
    return f"no {otherwise}"


def event_reminders(bot, deliverer, now: float) -> Ran:
    """Remind confirmed volunteers 24 h and 2 h before the start; never after it, never one who
    has checked in already.

    Only the reminder of the window we are in goes out: someone who signs up an
    hour before the start gets the 2-hour one, not "see you tomorrow" as well."""
    events = bot.events
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
                                               {"title": occ.title}, occ.start) for o in events.not_arrived(occ.id)), now)
        for k, v in result.items():
            counts[k] = counts.get(k, 0) + v
    return Ran(counts, "" if counts else "no confirmed volunteer is due a reminder now (24 h or 2 h before a start)")


def job_digest(bot, deliverer, now: float) -> Ran:
    """Today's new postings in each subscriber's categories, one message a day at most."""
    ran = fan_out(bot, deliverer, _digests(bot, now), now)
    if ran:
        return ran
    if not bot.jobs.subscription_count():
        return Ran(why="nobody subscribed to new postings (订阅岗位)")
    return Ran(why="nothing new for any subscriber in the last 24 hours, or today's digest went out already")


def _digests(bot, now: float) -> Iterator[Push]:
    """Today's digest push for each subscriber with something new in their categories."""
    jobs = bot.jobs
    day = clock.local(now).strftime("%Y%m%d")
    for openid, categories in jobs.iter_subscribers():
        new = jobs.new_since(now - 86400, now, categories)
        if new:
            rows = "\n".join(bot.texts.get("jobs.digest_row", number=p.number, title=p.title, employer=p.employer,
                                           salary=p.salary) for p in new[:8])
            yield Push(openid, bot.texts.get("jobs.digest", count=len(new), rows=rows), "job_digest",
                       f"job_digest:{day}:{openid}", {"count": len(new)}, now + 6 * 3600)


def stats_rollup(bot, deliverer, now: float) -> Ran:
    """Keep a nightly snapshot of the figures the committee reports."""
    quiz = bot.quiz
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
    return Ran({"rollup": 1})


def nightly_backup(bot, deliverer, now: float) -> dict:
    """A backup archive of the store and the content folder; the oldest beyond BACKUP_KEEP are deleted."""
    from bot.ops.backup import nightly

    return nightly(bot.settings)


def wechat_token(bot, deliverer, now: float) -> dict:
    """Fetch the shared access token if it is missing, so that /readyz and the first push find it fresh."""
    from bot.ops import pushes_configured
    from bot.wechat.client import WeChatError

    if not pushes_configured(bot.settings):
        return {}
    try:
        ttl = deliverer.client.keep_fresh()
    except (WeChatError, OSError) as exc:
        log.warning("access token refresh failed: %s", exc)
        return {"token": "failed"}
    return {"token_valid_s": ttl} if ttl < 3600 else {}


def retention(bot, deliverer, now: float) -> dict[str, int]:
    """Delete the contact details of people idle for two years (the consent notice's promise)."""
    deleted = 0
    for openid in list(expired_contacts(bot.redis, now)):
        forget_person(bot.redis, openid, now)
        deleted += 1
        log.info("retention: contact details deleted after two idle years: user=%s", user_ref(openid))
    return {"deleted": deleted}


def compact_store(bot, deliverer, now: float) -> dict:
    """After a deletion (删除我的信息, the console, retention), have Redis rewrite its files on disk, so that
    the deleted name and phone number leave the append-only file and the RDB snapshot within minutes
    (the AOF would otherwise keep them until it doubles in size). At most once a run: every 5 minutes."""
    due = bot.redis.get(COMPACT_DUE)
    if not due:
        return {}
    try:
        info = bot.redis.info("persistence")
        if info.get("aof_rewrite_in_progress") or info.get("rdb_bgsave_in_progress"):
            return {"compact": "busy"}  # the next run
        done = {}
        if info.get("aof_enabled"):
            bot.redis.bgrewriteaof()
            done["aof"] = "rewrite started"
        if bot.redis.config_get("save").get("save"):
            bot.redis.execute_command("BGSAVE", "SCHEDULE")  # after the rewrite, if one runs
            done["rdb"] = "snapshot scheduled"
    except redis.ResponseError as exc:  # a managed Redis may forbid these: say so once a run
        log.warning("could not rewrite the store's files after a deletion: %s", exc)
        return {"compact": "refused"}
    if bot.redis.get(COMPACT_DUE) == due:
        bot.redis.delete(COMPACT_DUE)  # a deletion meanwhile keeps it due
    log.info("store files rewritten after a deletion: %s", done)
    return done


def audit_retention(bot, deliverer, now: float) -> dict[str, int]:
    """Delete audit-log entries older than AUDIT_KEEP_DAYS (0 or more than 730: 730)."""
    from domain.audit import Audit

    return {"audit_trimmed": Audit(bot.redis).trim(bot.settings.audit_keep_days, now)}


def follows_retention(bot, deliverer, now: float) -> dict[str, int]:
    """Delete follows and unfollows logged more than FOLLOWS_KEEP_DAYS ago (730, the privacy notice's two years)."""
    return {"follows_trimmed": bot.followers.trim(bot.settings.follows_keep_days, now)}


def pushes_retention(bot, deliverer, now: float) -> dict[str, int]:
    """Take given-up pushes whose record has expired (a month past their deadline) off the list of given-up ones."""
    from domain.outbox import FailedPushes

    return {"given_up_pruned": FailedPushes(bot.redis).prune_given_up()}
