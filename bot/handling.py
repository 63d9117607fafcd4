"""Handle one parsed WeChat message exactly once, within the reply budget.

The webhook view calls handle(); this is where retries are deduped, the
follower's last interaction recorded, the router run under the reply budget,
and long answers paged.

The handler runs on a pool thread. It hands its reply to the waiting request
as soon as it has one and then records it in the ledger, so the ledger write
overlaps with the response instead of delaying it. When the request gives up
at the budget first, the handler's reply goes out later through the outbox.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait

import redis

from bot.ledger import message_key
from bot.ops import logs, metrics
from handlers.message import Incoming
from handlers.router import Context, Flow

log = logging.getLogger(__name__)

_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    # Created lazily, after gunicorn forks its workers (threads do not survive fork).
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="handler")
    return _pool


class Handoff:
    """A reply passed from the handler thread to the waiting request, or not in time."""

    def __init__(self):
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._abandoned = False
        self.reply: str | None = None
        self.handler, self.outcome = "", ""  # set by the handler thread before deliver()

    def deliver(self, reply: str | None) -> bool:
        """Give the reply to the request; False when the request already gave up."""
        with self._lock:
            if self._abandoned:
                return False
            self.reply = reply
            self._ready.set()
            return True

    def wait(self, timeout: float) -> bool:
        """Wait for the reply; True when it came, False when the request gives up."""
        if self._ready.wait(timeout):
            return True
        with self._lock:
            if self._ready.is_set():
                return True
            self._abandoned = True
            return False


def handle(bot, msg: Incoming, peer: str = "") -> str | None:
    """Return the reply text for msg; None means answer `success` (nothing to say).

    peer: the address the request came from (for the message's log line).
    """
    started = time.perf_counter()
    msg_key = message_key(msg)
    flow = Flow(bot.redis, msg.sender, bot.settings.flow_ttl_minutes * 60)
    try:
        claimed = _claim(bot, msg, msg_key, flow)
    except redis.RedisError:
        metrics.REDIS_ERRORS.labels("claim").inc()
        raise
    if not claimed:
        metrics.RETRIES_DEDUPED.inc()
        reply = bot.ledger.wait_for_reply(msg_key, bot.settings.reply_budget)
        _account(msg, "", "retry", started, peer)
        return reply
    handoff = Handoff()
    _track(_executor().submit(_run_and_record, bot, msg, flow, msg_key, handoff, started, peer))
    if handoff.wait(bot.settings.reply_budget):
        _account(msg, handoff.handler, handoff.outcome, started, peer)
        return handoff.reply
    metrics.BUDGET_OVERRUNS.inc()
    log.warning("reply budget exceeded: user %s; the reply will be pushed", logs.user_ref(msg.sender))
    return None


def _account(msg, handler: str, outcome: str, started: float, peer: str) -> None:
    """One log line and the metrics for a handled message: never its text, the user only as a hash."""
    seconds = time.perf_counter() - started
    kind = msg.kind
    handler = handler or "-"
    metrics.MESSAGES.labels(kind, handler, outcome).inc()
    if outcome != "retry":
        metrics.HANDLING.labels(kind).observe(seconds)
    log.info("message %s %s %s %.1f ms", kind, handler, outcome, seconds * 1000,
             extra={"event": "message", "kind": kind, "handler": handler, "outcome": outcome,
                    "latency_ms": round(seconds * 1000, 2), "user": logs.user_ref(msg.sender), "peer": peer})


def _claim(bot, msg, msg_key: str, flow: Flow) -> bool:
    """Claim the message, record the interaction and read the user's flow: one round trip."""
    pipe = bot.redis.pipeline(transaction=False)
    bot.followers.touch(pipe, msg.sender)
    first = len(pipe)
    flow.queue_load(pipe)
    bot.ledger.queue_claim(pipe, msg_key)
    results = pipe.execute()
    flow.apply(results[first:first + 2])
    return bool(results[-1])


def _run_and_record(bot, msg, flow: Flow, msg_key: str, handoff: Handoff, started: float = 0.0,
                    peer: str = "") -> None:
    handler = ""
    try:
        reply, handler = _run(bot, msg, flow)
        outcome = "replied" if reply else "nothing"
    except Exception as exc:
        if isinstance(exc, redis.RedisError):
            metrics.REDIS_ERRORS.labels("handler").inc()
        log.exception("handler failed: user %s", logs.user_ref(msg.sender))
        reply, outcome = bot.texts.get("general.error"), "error"
    handoff.handler, handoff.outcome = handler, outcome
    try:
        if handoff.deliver(reply):
            bot.ledger.record(msg_key, reply)
            return
        bot.ledger.defer(msg_key)
        if reply:
            bot.outbox.enqueue(msg.sender, reply, kind="late_reply", idem_key=msg_key)
        _account(msg, handler, "late" if reply else "late_nothing", started or time.perf_counter(), peer)
    except Exception as exc:
        if isinstance(exc, redis.RedisError):
            metrics.REDIS_ERRORS.labels("record").inc()
        log.exception("could not record the reply: user %s", logs.user_ref(msg.sender))


def _run(bot, msg, flow: Flow) -> tuple[str | None, str]:
    ctx = Context(openid=msg.sender, message=msg, bot=bot, flow=flow)
    reply = bot.router.dispatch(ctx)
    return bot.pager.fit(msg.sender, reply), ctx.handler


# -- graceful stop ---------------------------------------------------------------------------
_in_flight: set[Future] = set()
_in_flight_lock = threading.Lock()


def _track(future: Future) -> None:
    with _in_flight_lock:
        _in_flight.add(future)
    future.add_done_callback(_untrack)


def _untrack(future: Future) -> None:
    with _in_flight_lock:
        _in_flight.discard(future)


def drain(timeout: float) -> tuple[int, int]:
    """Wait for handlers still running (their replies go to the outbox); return (finished, still running)."""
    with _in_flight_lock:
        pending = set(_in_flight)
    if not pending:
        return 0, 0
    done, not_done = wait(pending, timeout=timeout)
    return len(done), len(not_done)
