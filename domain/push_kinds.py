"""Every kind of push, with the rules it obeys: one table that every sender reads.

A push is anything sent that a resident did not just ask for at that moment. Its
kind decides whether 退订提醒 stops it, whether quiet hours hold it, and how long a
failed one is worth trying again when it has no deadline of its own. A kind that
is not in this table is refused when it is queued or sent, so a new reminder
cannot forget to obey 退订提醒.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PushKind(StrEnum):
    QUIZ_OPEN = "quiz_open"
    QUIZ_REMINDER = "quiz_reminder"
    EVENT_REMINDER = "event_reminder"
    JOB_DIGEST = "job_digest"
    LATE_REPLY = "late_reply"
    WAITLIST_PROMOTION = "waitlist_promotion"
    EVENT_MOVED = "event_moved"
    EVENT_CANCELLED = "event_cancelled"
    BROADCAST = "broadcast"


@dataclass(frozen=True)
class KindRules:
    reminder: bool  # a reminder: 退订提醒 stops it
    anytime: bool  # an answer to the user's own message: quiet hours do not hold it
    lifetime: int  # seconds a failed push is tried again when it has no deadline of its own
    what: str  # what it is, in the staff's words (the console's push page)


DAY = 24 * 3600
KINDS: dict[PushKind, KindRules] = {
    PushKind.QUIZ_OPEN: KindRules(reminder=True, anytime=False, lifetime=DAY, what="答题开始通知"),
    PushKind.QUIZ_REMINDER: KindRules(reminder=True, anytime=False, lifetime=DAY, what="答题提醒"),
    PushKind.EVENT_REMINDER: KindRules(reminder=True, anytime=False, lifetime=DAY, what="活动提醒"),
    PushKind.JOB_DIGEST: KindRules(reminder=True, anytime=False, lifetime=DAY, what="岗位推荐"),
    PushKind.LATE_REPLY: KindRules(reminder=False, anytime=True, lifetime=3600, what="迟到的回复"),
    PushKind.WAITLIST_PROMOTION: KindRules(reminder=False, anytime=False, lifetime=DAY, what="候补转正"),
    PushKind.EVENT_MOVED: KindRules(reminder=False, anytime=False, lifetime=DAY, what="活动改期"),
    PushKind.EVENT_CANCELLED: KindRules(reminder=False, anytime=False, lifetime=DAY, what="活动取消"),
    PushKind.BROADCAST: KindRules(reminder=False, anytime=False, lifetime=DAY, what="群发通知"),
}


def rules(kind: str) -> KindRules:
    """The rules of a kind; ValueError for a kind the table does not declare."""
    try:
        return KINDS[PushKind(kind)]
    except ValueError:
        raise ValueError(f"unknown push kind {kind!r}: declare it in domain/push_kinds.py") from None
