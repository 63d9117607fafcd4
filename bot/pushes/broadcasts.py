"""Broadcasts: one notice from staff to a segment of followers, under WeChat's push rules.

A segment is all active followers, the members of one branch, the volunteers of
one event (signed up or waitlisted), or the job subscribers of one category.
Before sending, staff see how many it will reach: a customer-service message
reaches only those who wrote within the 48-hour window (and under its count);
the rest get a template message if one is configured for "broadcast", else
nothing (WeChat's rule, not ours). Sending queues one push per person in the
outbox with the key broadcast:<id>:<openid>, so it goes out once however often
the scheduler drains it; progress is read from those keys' outcomes.
"""
from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass

from bot.pushes.delivery import log_key, read_recipients
from domain.events import Events
from domain.followers import ACTIVE
from domain.jobs import Jobs
from domain.keys import key
from domain.push_kinds import PushKind
from domain.profiles import Profiles, branch_members_key

KIND = PushKind.BROADCAST
INDEX = key("{push}", "broadcasts")  # zset: broadcast id -> created
MAX_TEXT = 600  # characters: a customer-service text message stays well under WeChat's 2,048 bytes


def record_key(bid: str) -> str:
    return key("{push}", "broadcast", bid)


@dataclass
class BroadcastReach:
    total: int  # people in the segment
    custom: int  # will get a customer-service message (wrote within the window)
    template: int  # outside the window, will get the template message
    none: int  # will not be reached (unfollowed, or outside the window without a template)


def segments(redis, now: float) -> list[tuple[str, str]]:
    """[(segment id, what staff read)] for the broadcast form."""
    out = [("all", "全部关注者")]
    out += [(f"branch:{bid}", f"支部：{name}") for bid, name in Profiles(redis).branches()]
    out += [(f"event:{o.number}", f"活动：【{o.number}】{o.title}") for o in Events(redis).upcoming(now)]
    out += [(f"jobs:{c}", f"岗位订阅：{c}") for c, _ in Jobs(redis).categories(now)]
    return out


def recipients(redis, segment: str) -> list[str]:
    """The openids in a segment, sorted; ValueError for a segment that does not exist."""
    kind, _, arg = segment.partition(":")
    if kind == "all":
        return sorted(redis.smembers(ACTIVE))
    if kind == "branch" and arg in dict(Profiles(redis).branches()):
        return sorted(redis.smembers(branch_members_key(arg)))
    if kind == "event" and arg.isdigit() and (occ := Events(redis).by_number(arg)):
        events = Events(redis)
        return sorted(set(events.confirmed(occ.id) + events.waitlist(occ.id)))
    if kind == "jobs" and arg:
        return sorted(o for o, cats in Jobs(redis).iter_subscribers() if not cats or arg in cats)
    raise ValueError(f"没有这个发送对象：{segment}")


def reach(bot, openids: list[str], now: float) -> BroadcastReach:
    """How many of openids a broadcast would reach now, by channel."""
    template = KIND in json.loads(bot.settings.wechat_templates or "{}")
    custom = template_n = none = 0
    for r in read_recipients(bot.redis, openids):
        if not r.active:
            none += 1
        elif r.in_window(now, bot.settings):
            custom += 1
        elif template:
            template_n += 1
        else:
            none += 1
    return BroadcastReach(len(openids), custom, template_n, none)


def start(bot, segment: str, label: str, text: str, staff: str, now: float | None = None) -> str:
    """Queue the broadcast for everyone in the segment; return its id."""
    text = text.strip()
    if not text:
        raise ValueError("请填写要发送的内容")
    if len(text) > MAX_TEXT:
        raise ValueError(f"内容最多{MAX_TEXT}字，现在{len(text)}字")
    openids = recipients(bot.redis, segment)
    bid = f"{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(2)}"
    bot.redis.hset(record_key(bid), mapping={"segment": segment, "label": label, "text": text, "staff": staff,
                                             "created": int(now or time.time()), "total": len(openids),
                                             "openids": json.dumps(openids)})
    bot.redis.zadd(INDEX, {bid: int(now or time.time())})
    for openid in openids:
        bot.outbox.enqueue(openid, text, kind=KIND, idem_key=idem_key(bid, openid))
    return bid


# -- a confirm form sends once -------------------------------------------------------------------------
# Each preview carries a token made for it (`new_once`); the confirm that claims it sends, and a second click or a
# resent form finds it taken and is shown the broadcast the first one started. Admins' and organisers' alike.
ONCE_TTL = 24 * 3600  # how long a confirm form's token is remembered


def once_key(token: str) -> str:
    return key("broadcast", "once", token)


def new_once() -> str:
    return secrets.token_urlsafe(16)


def once_used(redis, token: str) -> str | None:
    """None while the token is unused; else the id of the broadcast it started ("" while that one starts)."""
    bid = redis.get(once_key(token))
    return None if bid is None else ("" if bid == "-" else bid)


def claim_once(redis, token: str) -> bool:
    """Take the token for this confirm (one of any number of simultaneous ones wins)."""
    return bool(redis.set(once_key(token), "-", nx=True, ex=ONCE_TTL))


def started_once(redis, token: str, bid: str) -> None:
    redis.set(once_key(token), bid, ex=ONCE_TTL)


def sent_since(redis, segment: str, since: float) -> int:
    """How many broadcasts went to this segment since `since` (an organiser's daily limit)."""
    bids = redis.zrangebyscore(INDEX, int(since), "+inf")
    pipe = redis.pipeline(transaction=False)
    for bid in bids:
        pipe.hget(record_key(bid), "segment")
    return sum(1 for s in pipe.execute() if s == segment)


def idem_key(bid: str, openid: str) -> str:
    return f"{KIND}:{bid}:{openid}"


@dataclass
class BroadcastProgress:
    id: str
    label: str
    text: str
    staff: str
    created: int
    total: int
    sent: int
    skipped: int
    failed: int

    @property
    def waiting(self) -> int:
        return self.total - self.sent - self.skipped - self.failed


def segment_of(redis, bid: str) -> str:
    return redis.hget(record_key(bid), "segment") or ""


def progress(redis, bid: str) -> BroadcastProgress | None:
    data = redis.hgetall(record_key(bid))
    if not data:
        return None
    openids = json.loads(data["openids"])
    pipe = redis.pipeline(transaction=False)
    for openid in openids:
        pipe.hget(log_key(idem_key(bid, openid)), "status")
    statuses = pipe.execute()
    return BroadcastProgress(bid, data["label"], data["text"], data["staff"], int(data["created"]), len(openids),
                    statuses.count("sent"), statuses.count("skipped"), statuses.count("failed"))


def recent(redis, n: int = 10) -> list[BroadcastProgress]:
    return [p for p in (progress(redis, bid) for bid in redis.zrevrange(INDEX, 0, n - 1)) if p]
