"""Messages a handler sends to someone other than the user who wrote (through the outbox, once each)."""
from __future__ import annotations

from domain.event_changes import tell_promoted as promotion_notice
from domain.events import Occurrence


def tell_promoted(ctx, occ: Occurrence, promoted: str | None) -> None:
    """Tell a volunteer promoted from the waitlist that they have a place."""
    if promoted:
        promotion_notice(ctx.bot.outbox, ctx.bot.texts, occ, promoted)
