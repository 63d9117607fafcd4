"""Messages a handler sends to someone other than the user who wrote (through the outbox, once each)."""
from __future__ import annotations

from domain.event_changes import promotion_notice, tell_promoted as queue_promotion
from domain.events import Occurrence


def tell_promoted(ctx, occ: Occurrence, promoted: str | None) -> None:
    """Tell a volunteer promoted from the waitlist that they have a place."""
    if promoted:
        queue_promotion(ctx.bot.outbox, ctx.bot.texts, occ, promoted)


def promotion(ctx, occ: Occurrence):
    """The notice a cancellation of occ queues, in its own step, for the volunteer it promotes."""
    return promotion_notice(ctx.bot.outbox, ctx.bot.texts, occ)
