"""What staff do to events that residents must hear about: the one place the CLI and the console call.

Each action changes the domain and queues the notice for everyone it concerns,
in the committee's words (content/texts/volunteer.yaml).
"""
from __future__ import annotations

from domain import clock
from domain.event_report import notify_all
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
