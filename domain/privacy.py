"""Forgetting a person: what `删除我的信息` in chat and the console's delete button both do.

Deletes name, phone, consent and details; cancels upcoming sign-ups (the first
on each waitlist is promoted and told); withdraws job interests and the digest
subscription. Anonymous counts (quiz scores, hours served, the branch) stay.
"""
from __future__ import annotations

from dataclasses import dataclass

from domain.event_report import tell_promoted
from domain.events import Events, Occurrence
from domain.jobs import Jobs
from domain.profiles import Profiles


@dataclass
class Forgotten:
    had_contact: bool
    cancelled: list[Occurrence]
    interests: int

    @property
    def anything(self) -> bool:
        return self.had_contact or bool(self.cancelled) or bool(self.interests)


def forget_person(redis, outbox, texts, openid: str, now: float) -> Forgotten:
    profiles, jobs = Profiles(redis), Jobs(redis)
    had = profiles.get(openid).has_contact
    cancelled = Events(redis).forget_user(openid, now)
    for occ, promoted in cancelled:
        if promoted:
            tell_promoted(outbox, texts, occ, promoted)
    interests = jobs.withdraw_all(openid)
    jobs.unsubscribe(openid)
    profiles.forget_contact(openid)
    return Forgotten(had, [occ for occ, _ in cancelled], interests)
