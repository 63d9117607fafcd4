"""Messages a handler (or staff) sends to someone other than the user who wrote (through the outbox, once each)."""
from __future__ import annotations

from domain import clock
from domain.events import Occurrence


def tell_promoted(ctx, occ: Occurrence, promoted: str | None) -> None:
    """Tell a volunteer promoted from the waitlist that they have a place."""
    if promoted:
        tell_promoted_by_staff(ctx.bot, occ, promoted)


def tell_promoted_by_staff(bot, occ: Occurrence, promoted: str) -> None:
    """The same notice, from a staff action (no chat context): the bot's words and outbox."""
    text = bot.texts.get("volunteer.promoted", title=occ.title, when=clock.fmt(occ.start), number=occ.number)
    bot.outbox.enqueue(promoted, text, kind="waitlist_promotion", idem_key=f"promote:{occ.id}:{promoted}")
