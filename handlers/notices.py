"""Messages a handler sends to someone other than the user who wrote (through the outbox, once each)."""
from __future__ import annotations

from domain import clock
from domain.events import Occurrence


def tell_promoted(ctx, occ: Occurrence, promoted: str | None) -> None:
    """Tell a volunteer promoted from the waitlist that they have a place."""
    if promoted:
        text = ctx.t("volunteer.promoted", title=occ.title, when=clock.fmt(occ.start), number=occ.number)
        ctx.bot.outbox.enqueue(promoted, text, kind="waitlist_promotion", idem_key=f"promote:{occ.id}:{promoted}")
