"""What staff do to events that residents must hear about: the one place the CLI and the console call.

Each action changes the domain and queues the notice for everyone it concerns,
in the committee's words (content/texts/volunteer.yaml).
"""
from __future__ import annotations

from domain import clock
from domain.event_report import notify_all, tell_promoted
from domain.events import Events, Occurrence


def cancel_event(bot, occ: Occurrence, reason: str = "") -> int:
    """Cancel occ and tell everyone signed up or waitlisted; return how many will be told."""
    Events(bot.redis).set_status(occ, "cancelled")
    text = bot.texts.get("volunteer.event_cancelled", title=occ.title, when=clock.fmt(occ.start),
                         reason=reason or bot.texts.get("volunteer.no_reason"))
    return notify_all(bot.redis, bot.outbox, occ, text, "event_cancelled")


def move_event(bot, occ: Occurrence, new_start: float) -> tuple[Occurrence, int]:
    """Move occ to new_start (same length) and tell everyone; return the moved event and how many."""
    old = clock.fmt(occ.start)
    occ = Events(bot.redis).move(occ, new_start)
    text = bot.texts.get("volunteer.event_moved", title=occ.title, old=old, new=clock.fmt(occ.start),
                         number=occ.number)
    return occ, notify_all(bot.redis, bot.outbox, occ, text, "event_moved")


EDITABLE = ("title", "place", "description", "capacity", "requirements", "signup_deadline", "cancel_cutoff", "end")


def update_event(bot, occ: Occurrence, **changes) -> tuple[Occurrence, list[str]]:
    """Change an occurrence's details; a raised capacity promotes from the waitlist, and each promoted
    volunteer is told. Return the saved occurrence and who was promoted. Raise ValueError for a change
    that breaks a rule."""
    events = Events(bot.redis)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"cannot change {', '.join(sorted(unknown))} here")
    confirmed, _ = events.counts(occ.id)
    if "capacity" in changes and int(changes["capacity"]) < max(confirmed, 1):
        raise ValueError(f"名额不能少于已报名的{confirmed}人（请先联系志愿者取消）" if confirmed else "名额至少为1")
    for name, value in changes.items():
        setattr(occ, name, value)
    if occ.end <= occ.start:
        raise ValueError("结束时间须晚于开始时间")
    events.save(occ)
    promoted = events.fill_from_waitlist(occ)
    for openid in promoted:
        tell_promoted(bot.outbox, bot.texts, occ, openid)
    return occ, promoted
