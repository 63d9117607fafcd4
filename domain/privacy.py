"""Forgetting a person: the one operation behind `删除我的信息` (and the console's deletion).

Each feature contributes its part here, so nothing is left behind when a
feature is added: upcoming sign-ups are cancelled (waitlists promote), job
interests withdrawn (the posting's counts keep them, without the person), digest
subscriptions dropped, the name taken off issued service records, the name, phone number and details deleted, and the
replies kept for WeChat's retries, the pages waiting for `更多` and the pushes
waiting to be sent to the person scrubbed.

What stays is pseudonymous, keyed by the openid WeChat gives this account (no
name, no number): quiz scores and answers, branch membership, attendance and
hours, service record numbers, push outcomes, the follow state. The openid
links them to each other, not to a person, once the contact details are gone.

The audit log never names a resident (domain/audit.py); entries an earlier
version wrote with the name or phone number are rewritten without them. The
store's files on disk (the AOF, the RDB snapshot) still hold the deleted values
until they are rewritten: forget_person marks COMPACT_DUE, and the scheduler's
compact_store job (every 5 minutes, bot/tasks.py) rewrites them.

Contact details are also deleted RETENTION_SECONDS after the person's last
activity (the consent notice: 最长为最后一次活动后2年); bot/pushes/tasks.py runs
expired_contacts() nightly, which reads an index of who may be due, not every profile.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from domain import ledger_index
from domain.audit import Audit, person_ref
from domain.certificates import Certificates
from domain.events import Events, Occurrence
from domain.jobs import Jobs
from domain.keys import key, user_key
from domain.outbox import Outbox
from domain.push_log import forget_texts
from domain.profiles import DUE, Profiles

RETENTION_SECONDS = 2 * 365 * 86400 + 86400  # two years (a leap day included)
_BATCH = 500
COMPACT_DUE = key("privacy", "compact_due")  # when set: a deletion since the store's files were last rewritten


@dataclass(frozen=True)
class Forgotten:
    had_contact: bool
    cancelled: list[tuple[Occurrence, str | None]]  # (event, openid promoted from its waitlist, if any)
    interests_withdrawn: int

    @property
    def anything(self) -> bool:
        return self.had_contact or bool(self.cancelled) or bool(self.interests_withdrawn)


def forget_person(redis, openid: str, now: float) -> Forgotten:
    """Delete openid's personal data across every feature; return what was done (for the reply)."""
    profiles, jobs = Profiles(redis), Jobs(redis)
    profile = profiles.get(openid)
    had_contact = profile.has_contact
    cancelled = Events(redis).forget_user(openid, now)
    withdrawn = jobs.withdraw_all(openid)
    jobs.unsubscribe(openid)
    profiles.forget_contact(openid)
    Outbox(redis).forget(openid)
    forget_texts(redis, openid)
    redis.delete(user_key(openid, "more"))
    _scrub_ledger(redis, openid)
    Certificates(redis).forget_name(openid)  # service records stay checkable, without the name
    Audit(redis).scrub([profile.name, profile.phone], person_ref(openid))
    redis.set(COMPACT_DUE, int(now))
    return Forgotten(had_contact, cancelled, withdrawn)


def _scrub_ledger(redis, openid: str) -> None:
    """Delete the replies kept for WeChat's retries (they may quote a name or a number), found by the person's
    ledger index (domain/ledger_index.py), not by scanning the keyspace.

    Markers (a claim in flight, "answered nothing") start with a NUL byte and hold no text: kept."""
    keys = ledger_index.entries(redis, openid)
    if keys:
        pipe = redis.pipeline(transaction=False)  # the keys are in many slots: no MGET on a cluster
        for k in keys:
            pipe.get(k)
        values = pipe.execute()
        for k, v in zip(keys, values):
            if v is not None and not v.startswith("\x00"):
                pipe.delete(k)
        pipe.execute()
    redis.delete(ledger_index.index_key(openid))


def expired_contacts(redis, now: float) -> Iterator[str]:
    """The people whose contact details are kept RETENTION_SECONDS past their last activity
    (their last message to the account, or their consent when they never wrote after it).

    Reads only who may be due: the index DUE (domain/profiles.py) scores each person with contact details by a
    time at or before their last activity; a candidate who wrote since is scored again by that message and
    waits for its own two years."""
    cutoff = now - RETENTION_SECONDS
    candidates, start = [], 0
    while True:  # all the candidates first (ids only), then each checked: rescoring does not move the pages
        page = redis.zrangebyscore(DUE, "-inf", f"({cutoff}", start=start, num=_BATCH)
        candidates += page
        start += _BATCH
        if len(page) < _BATCH:
            break
    for at in range(0, len(candidates), _BATCH):
        openids = candidates[at:at + _BATCH]
        pipe = redis.pipeline(transaction=False)
        for openid in openids:
            pipe.hmget(user_key(openid, "profile"), "consent_at", "phone", "name")
            pipe.hget(user_key(openid, "follower"), "last_seen")
        rows = pipe.execute()
        later, gone = {}, []
        for i, openid in enumerate(openids):
            (consent_at, phone, name), last_seen = rows[2 * i], rows[2 * i + 1]
            if not (phone or name or consent_at):
                gone.append(openid)  # deleted already
                continue
            last = max(int(consent_at or 0), int(last_seen or 0))
            if now - last > RETENTION_SECONDS:
                yield openid
            else:
                later[openid] = last
        if later or gone:
            fix = redis.pipeline(transaction=False)
            if later:
                fix.zadd(DUE, later, gt=True)
            if gone:
                fix.zrem(DUE, *gone)
            fix.execute()
