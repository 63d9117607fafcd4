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
from concurrent.futures import ThreadPoolExecutor

from bot.ledger import message_key
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


def handle(bot, msg) -> str | None:
    """Return the reply text for msg; None means answer `success` (nothing to say)."""
    msg_key = message_key(msg)
    flow = Flow(bot.redis, msg.source, bot.settings.flow_ttl_minutes * 60)
    if not _claim(bot, msg, msg_key, flow):
        return bot.ledger.wait_for_reply(msg_key, bot.settings.reply_budget)
    handoff = Handoff()
    _executor().submit(_run_and_record, bot, msg, flow, msg_key, handoff)
    if handoff.wait(bot.settings.reply_budget):
        return handoff.reply
    log.warning("reply budget exceeded: key=%s; the reply will be pushed", msg_key)
    return None


def _claim(bot, msg, msg_key: str, flow: Flow) -> bool:
    """Claim the message, record the interaction and read the user's flow: one round trip."""
    pipe = bot.redis.pipeline(transaction=False)
    bot.followers.touch(pipe, msg.source)
    first = len(pipe)
    flow.queue_load(pipe)
    bot.ledger.queue_claim(pipe, msg_key)
    results = pipe.execute()
    flow.apply(results[first:first + 2])
    return bool(results[-1])


def _run_and_record(bot, msg, flow: Flow, msg_key: str, handoff: Handoff) -> None:
    try:
        reply = _run(bot, msg, flow)
    except Exception:
        log.exception("handler failed: key=%s", msg_key)
        reply = bot.texts.get("general.error")
    try:
        if handoff.deliver(reply):
            bot.ledger.record(msg_key, reply)
            return
        bot.ledger.defer(msg_key)
        if reply:
            bot.outbox.enqueue(msg.source, reply, kind="late_reply", idem_key=msg_key)
    except Exception:
        log.exception("could not record the reply: key=%s", msg_key)


def _run(bot, msg, flow: Flow) -> str | None:
    ctx = Context(openid=msg.source, message=msg, bot=bot, flow=flow)
    reply = bot.router.dispatch(ctx)
    return bot.pager.fit(msg.source, reply)
