"""What staff do to events that residents must hear about: the one place the CLI and the console call.

Each action changes the domain and queues the notice for everyone it concerns,
in the committee's words (content/texts/volunteer.yaml). A move is checked
first: a time in the past, or a date without a time, is refused (EventChangeError).
"""
from __future__ import annotations

import re

from domain import clock
from domain.events import Events, Occurrence
from domain.fields import EVENT_FIELDS

_DATE_AND_TIME = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}[ T]+\d{1,2}:\d{2}(:\d{2})?\s*$")


class EventChangeError(ValueError):
    """A staff action refused, with why: reason is "not_a_date", "no_time" or "past"."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


def notify_all(redis, outbox, occ: Occurrence, text: str, kind: str) -> int:
    """Queue text for everyone signed up or waitlisted, once per person and change (the occurrence's
    version counts its moves: a move back to an earlier time is a new change)."""
    events = Events(redis)
    version = events.version(occ.id)
    queued = 0
    for openid in events.confirmed(occ.id) + events.waitlist(occ.id):
        queued += outbox.enqueue(openid, text, kind=kind, idem_key=f"{kind}:{occ.id}:v{version}:{openid}",
                                 expires=occ.start)
    return queued


def promotion_notice(outbox, texts, occ: Occurrence):
    """The notice for whoever a cancellation promotes from occ's waitlist (an outbox.Prepared: Events.cancel
    queues it in the cancellation's own step)."""
    text = texts.get("volunteer.promoted", title=occ.title, when=clock.fmt(occ.start), number=occ.number)
    return outbox.prepare(text, kind="waitlist_promotion", idem_prefix=f"promote:{occ.id}:", expires=occ.start)


def tell_promoted(outbox, texts, occ: Occurrence, openid: str) -> bool:
    """Queue the notice for a volunteer promoted from the waitlist (once per occurrence and person)."""
    return promotion_notice(outbox, texts, occ).send_to(openid)


def cancel_event(bot, occ: Occurrence, reason: str = "") -> int:
    """Cancel occ and tell everyone signed up or waitlisted; return how many will be told."""
    Events(bot.redis).set_status(occ, "cancelled")
    text = bot.texts.get("volunteer.event_cancelled", title=occ.title, when=clock.fmt(occ.start),
                         reason=reason or bot.texts.get("volunteer.no_reason"))
    return notify_all(bot.redis, bot.outbox, occ, text, "event_cancelled")


def reinstate_event(bot, occ: Occurrence, now: float | None = None) -> int:
    """Undo a cancellation while the event is still ahead: it opens again with everyone signed up or waitlisted
    kept in their place and order (a cancellation never removed them), and each is told. Return how many."""
    now = now if now is not None else clock.now()
    if occ.status != "cancelled":
        raise EventChangeError("not_cancelled", "这场活动没有取消，不需要恢复")
    if occ.start <= now:
        raise EventChangeError("past", "活动已经开始或结束，不能恢复")
    events = Events(bot.redis)
    events.reopen(occ)  # the version goes up: a later cancellation is a new notice
    text = bot.texts.get("volunteer.event_reinstated", title=occ.title, when=clock.fmt(occ.start), number=occ.number)
    return notify_all(bot.redis, bot.outbox, occ, text, "event_reinstated")


def parse_new_start(text: str, now: float | None = None) -> float:
    """A new start typed by staff: a date and a time ("2026-12-05 09:00"), not in the past."""
    if not _DATE_AND_TIME.match(text or ""):
        if re.match(r"^\s*\d{4}-\d{1,2}-\d{1,2}\s*$", text or ""):
            raise EventChangeError("no_time", f"{text!r} has no time of day: give one, e.g. '{text.strip()} 09:00'")
        raise EventChangeError("not_a_date", f"{text!r} is not a date and time: use e.g. '2026-12-05 09:00'")
    try:
        start = clock.parse_when(text.strip().replace("T", " "))
    except ValueError:
        raise EventChangeError("not_a_date", f"{text!r} is not a date and time: use e.g. '2026-12-05 09:00'") from None
    if start <= (now if now is not None else clock.now()):
        raise EventChangeError("past", f"{clock.fmt(start)} is in the past: an event can only move to a time ahead")
    return start


def move_event(bot, occ: Occurrence, new_start: str | float, now: float | None = None) -> tuple[Occurrence, int]:
    """Move occ to new_start (same length) and tell everyone; return the moved event and how many."""
    start = parse_new_start(new_start, now) if isinstance(new_start, str) else new_start
    if start <= (now if now is not None else clock.now()):
        raise EventChangeError("past", f"{clock.fmt(start)} is in the past: an event can only move to a time ahead")
    old = occ.start
    occ = Events(bot.redis).move(occ, start)
    return occ, announce_move(bot, occ, old)


def announce_move(bot, occ: Occurrence, old_start: float) -> int:
    """Tell everyone signed up for occ that it moved from old_start (once per move)."""
    text = bot.texts.get("volunteer.event_moved", title=occ.title, old=clock.fmt(old_start),
                         new=clock.fmt(occ.start), number=occ.number)
    return notify_all(bot.redis, bot.outbox, occ, text, "event_moved")


# what staff may change on one date (domain/fields.py: editable); a new start is a move (move_event), told to everyone
EDITABLE = tuple(dict.fromkeys(f.record for f in EVENT_FIELDS if f.editable))


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
    events.note_staff_change(occ, changes)  # a later content load keeps these (README: content and staff changes)
    for name, value in changes.items():
        setattr(occ, name, value)
    if occ.end <= occ.start:
        raise ValueError("结束时间须晚于开始时间")
    events.save(occ)
    promoted = events.fill_from_waitlist(occ)
    for openid in promoted:
        tell_promoted(bot.outbox, bot.texts, occ, openid)
    return occ, promoted
