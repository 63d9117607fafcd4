"""Forgetting a person: the one operation behind `删除我的信息` (and the console's deletion).

Each feature contributes its part here, so nothing is left behind when a
feature is added: upcoming sign-ups are cancelled (waitlists promote), job
interests withdrawn, digest subscriptions dropped, the name taken off issued
service records, and the name, phone number and details deleted.
"""
from __future__ import annotations

from dataclasses import dataclass

from domain.certificates import Certificates
from domain.events import Events, Occurrence
from domain.jobs import Jobs
from domain.profiles import Profiles


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
    had_contact = profiles.get(openid).has_contact
    cancelled = Events(redis).forget_user(openid, now)
    withdrawn = jobs.withdraw_all(openid)
    jobs.unsubscribe(openid)
    profiles.forget_contact(openid)
    Certificates(redis).forget_name(openid)  # service records stay checkable, without the name
    return Forgotten(had_contact, cancelled, withdrawn)
