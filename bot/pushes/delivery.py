"""Sending pushes through the WeChat API: once per idempotency key, by WeChat's rules.

deliver() decides and records what happens to one message:
- each idempotency key (kind + target + user) is claimed once in Redis just
  before the message is sent (after the rate limiter let it through), so a retry,
  a second scheduler or a restart after a crash never sends it twice; a crash
  between the claim and WeChat's answer leaves the key "sending": it is not sent
  again (we cannot know whether WeChat got it), and `pushes stats` shows it;
- what each kind obeys is declared once, in domain/push_kinds.py: reminders are
  not sent to users who opted out (`退订提醒`); nothing to those who unfollowed;
- a customer-service message goes out only within 48 h of the user's last
  message and within the per-window count; outside, a template message if one
  is configured for the kind, else nothing, with the reason recorded;
- quiet hours hold every kind but replies to the user's own message;
- a global rate limit holds across processes, and 5xx, -1, 45009 and 45047 are
  retried with exponential backoff;
- a push that still fails is kept (domain.outbox.FailedPushes, the one model of a
  failed push) and tried again under the same key when its time comes, with
  backoff, by the sender that drains the outbox, while it still makes sense (a
  promotion until the event starts, a reminder until its deadline); then given up
  with the reason. Staff see them with `youthbot pushes failed` and on the
  console's 推送 page; a retry by hand (`pushes retry`, the console's 重试) makes
  them due now: the same rule, the same key, sent within seconds.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from enum import StrEnum

from limits import RateLimitItemPerSecond, storage as limits_storage, strategies
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from domain import clock
from domain.followers import ACTIVE, reminders_off_key
from domain.keys import key, user_key
from domain.outbox import FailedPush, FailedPushes
from domain.push_kinds import rules
from bot.runtime import storage
from bot.ops import logs, metrics
from bot.wechat.outgoing import published_numbers, safe_text
from bot.wechat.client import WeChatError
from domain.push_log import daily_key, log_key

log = logging.getLogger(__name__)

RETRYABLE = {-1, -2, 45009, 45047}
STATS = key("{push}", "stats")

# Claim an idempotency key: 1 if it was free, 0 if it was claimed before. The record lives as long as a
# sender could still try the same key (the push's deadline) and a month more for staff, then expires:
# the store does not grow with every push ever sent.
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'sending', 'kind', ARGV[1], 'openid', ARGV[2], 'at', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('HINCRBY', KEYS[2], 'sending', 1)
return 1
"""
# Open a failed key again for an automatic retry (retry_pushes): its outcome is decided anew
# (the totals move back; the day's counts keep the attempt).
_REOPEN = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'absent' end
if status ~= 'failed' then return status end
local kind = redis.call('HGET', KEYS[1], 'kind')
redis.call('DEL', KEYS[1])
redis.call('HINCRBY', KEYS[2], 'failed', -1)
redis.call('HINCRBY', KEYS[2], kind .. ':failed', -1)
return 'reopened'
"""
# Record how it ended (one status per key; the totals and the day's counts move with it).
_FINISH = """
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'reason', ARGV[2], 'errcode', ARGV[3], 'at', ARGV[4])
redis.call('HINCRBY', KEYS[2], 'sending', -1)
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('HINCRBY', KEYS[2], ARGV[5] .. ':' .. ARGV[1], 1)
if ARGV[2] ~= '' then redis.call('HINCRBY', KEYS[2], 'reason:' .. ARGV[2], 1) end
redis.call('HINCRBY', KEYS[3], ARGV[5] .. ':' .. ARGV[1], 1)
return 1
"""


class Status(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"  # the rules say no: detail says why
    FAILED = "failed"  # WeChat said no: detail is its error code
    DUPLICATE = "duplicate"  # this idempotency key was handled before
    QUIET = "quiet"  # quiet hours: try again later


@dataclass(frozen=True)
class PushResult:
    status: Status
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.status.value}:{self.detail}" if self.detail else self.status.value


@dataclass
class Push:
    openid: str
    text: str
    kind: str
    idem_key: str
    values: dict | None = None  # named values a template's fields may use
    expires: float | None = None  # when it stops making sense (retries end there)

    def __post_init__(self):
        rules(self.kind)  # a kind domain/push_kinds.py does not declare is refused


def in_quiet_hours(settings, ts: float) -> bool:
    start, end = (int(p.split(":")[0]) * 60 + int(p.split(":")[1]) for p in settings.quiet_hours.split("-"))
    d = clock.local(ts)
    minute = d.hour * 60 + d.minute
    return (start <= minute or minute < end) if start > end else start <= minute < end


class Deliverer:
    def __init__(self, bot, client):
        self.bot, self.client, self.redis, self.settings = bot, client, bot.redis, bot.settings
        self._claim = self.redis.register_script(_CLAIM)
        self._finish = self.redis.register_script(_FINISH)
        self._reopen = self.redis.register_script(_REOPEN)
        self.failed = FailedPushes(self.redis)
        self._limit = RateLimitItemPerSecond(max(1, int(self.settings.push_rate)))
        self._limiter = strategies.MovingWindowRateLimiter(_limits_storage(self.settings.redis_url, self.redis))
        self._templates = json.loads(self.settings.wechat_templates or "{}")

    def already_done(self, idem_keys: list[str]) -> list[bool]:
        pipe = self.redis.pipeline(transaction=False)
        for k in idem_keys:
            pipe.exists(log_key(k))
        return [bool(x) for x in pipe.execute()]

    def deliver(self, push: Push, now: float | None = None) -> PushResult:
        """Send push if the rules allow, and say what happened (and log it, and count it)."""
        started = time.perf_counter()
        result = self._deliver(push, now)
        outcome = result.status.value
        seconds = time.perf_counter() - started
        metrics.PUSHES.labels(push.kind, outcome).inc()
        if result.status != Status.QUIET:  # held pushes are tried again; one line when something happened
            log.info("push %s %s %.1f ms", push.kind, result, seconds * 1000,
                     extra={"event": "push", "kind": push.kind, "outcome": outcome, "status": str(result),
                            "latency_ms": round(seconds * 1000, 2), "user": logs.user_ref(push.openid)})
        return result

    def _deliver(self, push: Push, now: float | None) -> PushResult:
        now = now or time.time()
        kind = rules(push.kind)
        if not kind.anytime and in_quiet_hours(self.settings, now):
            return PushResult(Status.QUIET)
        user = self._read(push)
        if user.done:
            return PushResult(Status.DUPLICATE)
        reason = "unsubscribed" if not user.active else \
            "opted_out" if user.reminders_off and kind.reminder else ""
        channel = "custom" if user.in_window(now, self.settings) else "template"
        template = self._templates.get(push.kind)
        if not reason and channel == "template" and not template:
            reason = "out_of_window"
        if not reason:
            self._wait_for_rate()  # before the claim: a claimed message goes out at once
        if not self._claim(keys=[log_key(push.idem_key), STATS],
                           args=[push.kind, push.openid, int(now), _log_ttl(push, now)]):
            return PushResult(Status.DUPLICATE)
        if reason:
            return self._end(push, Status.SKIPPED, reason)
        try:
            self._send_with_retries(push, channel, template)
        except WeChatError as exc:
            kept = self.failed.record(push.idem_key, push.openid, push.kind, push.text, push.values, push.expires,
                                      exc.errcode, now)
            log.warning("push failed: kind=%s user=%s errcode=%s; %s", push.kind, logs.user_ref(push.openid), exc.errcode,
                        f"given up: {kept.reason}" if kept.reason else f"tried again in {kept.next_at - now:.0f} s")
            return self._end(push, Status.FAILED, "", exc.errcode)
        return self._end(push, Status.SENT, channel, user=user if channel == "custom" else None)

    def redeliver(self, failed: FailedPush, now: float | None = None) -> PushResult:
        """Try a failed push again, by the same rules; keep, resolve or give up its failure record."""
        now = now or time.time()
        was = self._reopen(keys=[log_key(failed.key), STATS])
        if was not in ("reopened", "absent"):  # it went out, or was settled, some other way meanwhile
            self.failed.resolve(failed.key)
            return PushResult(Status.DUPLICATE, was)
        result = self.deliver(Push(failed.openid, failed.text, failed.kind, failed.key, failed.values or None,
                                   failed.expires), now)
        if result.status in (Status.SENT, Status.DUPLICATE):
            self.failed.resolve(failed.key)
        elif result.status is Status.QUIET:
            self.failed.later(failed.key, now + 1800)
        elif result.status is Status.SKIPPED:
            self.failed.give_up(failed.key, f"skipped:{result.detail}", now)
        return result  # FAILED: deliver() recorded the failure and when to try next

    def _read(self, push: Push) -> "Recipient":
        """What the rules need to know about the user, and whether the key is done: one round trip."""
        return read_recipients(self.redis, [push.openid], [push.idem_key])[0]

    def _send_with_retries(self, push: Push, channel: str, template: dict | None) -> None:
        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, WeChatError) and _retryable(e.errcode)),
            wait=wait_exponential(multiplier=self.settings.push_retry_base, max=60),
            stop=stop_after_attempt(self.settings.push_attempts), reraise=True)
        for attempt in retrying:
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    self._wait_for_rate()
                published = published_numbers(self.bot.texts)
                if channel == "custom":
                    self.client.send_text(push.openid, safe_text(push.text, published))
                else:
                    values = {"text": push.text, **(push.values or {})}
                    data = {field: {"value": safe_text(str(values.get(name, "")), published)}
                            for field, name in template["fields"].items()}
                    self.client.send_template(push.openid, template["template_id"], data)

    def _wait_for_rate(self) -> None:
        while not self._limiter.hit(self._limit, "wechat_api"):
            reset_at = self._limiter.get_window_stats(self._limit, "wechat_api").reset_time
            time.sleep(min(max(reset_at - time.time(), 0.001), 0.05))

    def _end(self, push: Push, status: Status, reason: str, errcode="", user: "Recipient | None" = None) -> PushResult:
        """Record the outcome, and a customer-service message against the user's window."""
        # Not one pipeline: redis-py refuses scripts inside a Redis Cluster pipeline.
        now = time.time()
        self._finish(keys=[log_key(push.idem_key), STATS, daily_key(f"{clock.local(now):%Y%m%d}")],
                     args=[status.value, reason, "" if errcode is None else errcode, int(now), push.kind])
        if user is not None:
            cs = user_key(push.openid, "cs")
            pipe = self.redis.pipeline(transaction=False)
            pipe.hset(cs, mapping={"since": user.last_seen, "n": user.custom_sent + 1})
            pipe.expire(cs, self.settings.cs_window_hours * 3600)
            pipe.execute()
        return PushResult(status) if status is Status.SENT else PushResult(status, str(reason or errcode))


@dataclass
class Recipient:
    """What the delivery rules need to know about one user."""

    openid: str
    done: bool  # the idempotency key was used already
    active: bool
    reminders_off: bool
    last_seen: int
    custom_sent: int  # customer-service messages since their last message

    def in_window(self, now: float, settings) -> bool:
        return bool(self.last_seen) and now - self.last_seen <= settings.cs_window_hours * 3600 \
            and self.custom_sent < settings.cs_per_window


def read_recipients(redis, openids: list[str], idem_keys: list[str] | None = None) -> list[Recipient]:
    """What the delivery rules need to know about each user (and whether each key is done), in one round trip."""
    pipe = redis.pipeline(transaction=False)
    for i, openid in enumerate(openids):
        pipe.exists(log_key(idem_keys[i])) if idem_keys else pipe.echo("0")
        pipe.sismember(ACTIVE, openid)
        pipe.exists(reminders_off_key(openid))
        pipe.hget(user_key(openid, "follower"), "last_seen")
        pipe.hmget(user_key(openid, "cs"), "since", "n")
    results = pipe.execute()
    out = []
    for i, openid in enumerate(openids):
        done, active, off, last_seen, (since, n) = results[5 * i:5 * i + 5]
        sent = int(n or 0) if since is not None and since == last_seen else 0
        out.append(Recipient(openid, bool(int(done)), bool(active), bool(off), int(last_seen or 0), sent))
    return out


LOG_KEPT_AFTER_DEADLINE = 30 * 24 * 3600


def _log_ttl(push: Push, now: float) -> int:
    """Seconds a push's record is kept: until its deadline (no sender tries the key after it), then a month."""
    deadline = push.expires or now + rules(push.kind).lifetime
    return int(max(deadline - now, 0)) + LOG_KEPT_AFTER_DEADLINE


def _retryable(code) -> bool:
    return code in RETRYABLE or (isinstance(code, int) and 500 <= code < 600)


def _limits_storage(redis_url: str, redis):
    """A `limits` storage on the same Redis server (or cluster) as the bot."""
    if not redis_url:  # a client handed in without a URL (tests): its socket or address
        kwargs = redis.connection_pool.connection_kwargs
        redis_url = f"unix://{kwargs['path']}" if kwargs.get("path") else \
            f"redis://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
    return limits_storage.storage_from_string(storage.limits_url(redis_url))


def stats(redis) -> dict[str, int]:
    return {k: int(v) for k, v in redis.hgetall(STATS).items()}


def daily(redis, days: int, now: float) -> list[tuple[str, dict[str, int]]]:
    """[(YYYY-MM-DD, {status: count})] for the last `days` days, oldest first."""
    stamps = [now - d * 86400 for d in range(days - 1, -1, -1)]
    pipe = redis.pipeline(transaction=False)
    for ts in stamps:
        pipe.hgetall(daily_key(clock.local(ts).strftime("%Y%m%d")))
    return [(clock.local(ts).strftime("%Y-%m-%d"), _by_status(counts)) for ts, counts in zip(stamps, pipe.execute())]


def _by_status(counts: dict[str, str]) -> dict[str, int]:
    """{"<kind>:<status>": n} summed over kinds: {status: n}."""
    out: dict[str, int] = {}
    for field, n in counts.items():
        status = field.rsplit(":", 1)[-1]
        out[status] = out.get(status, 0) + int(n)
    return out


def failed_pushes(redis) -> list[FailedPush]:
    """Pushes that failed and have not gone out since: being retried (soonest first), then given up."""
    return FailedPushes(redis).all()


def retry_failed(redis, keys: list[str] | None = None, now: float | None = None) -> tuple[int, int]:
    """Make failed pushes (all, or these idempotency keys) due now: the sender tries them within seconds,
    under their own keys; those past their deadline are given up. Returns (queued, expired)."""
    return FailedPushes(redis).retry_now(now or time.time(), keys)
