"""Handle one parsed WeChat message exactly once, within the reply budget.

The webhook view calls handle(); this is where retries are deduped, the
follower's last interaction recorded, the router run under the reply budget,
and long answers paged.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout

from bot.ledger import message_key
from bot.router import Context, Flow

log = logging.getLogger(__name__)

_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    # Created lazily, after gunicorn forks its workers (threads do not survive fork).
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="handler")
    return _pool


def handle(bot, msg) -> str | None:
    """Return the reply text for msg; None means answer `success` (nothing to say)."""
    msg_key = message_key(msg)
    if not _claim(bot, msg, msg_key):
        return bot.ledger.wait_for_reply(msg_key, bot.settings.reply_budget)
    future = _executor().submit(_run, bot, msg)
    try:
        reply = future.result(timeout=bot.settings.reply_budget)
    except FutureTimeout:
        bot.ledger.defer(msg_key)
        future.add_done_callback(lambda f: _send_late(bot, msg, msg_key, f))
        log.warning("reply budget exceeded: key=%s; the reply will be pushed", msg_key)
        return None
    except Exception:
        log.exception("handler failed: key=%s", msg_key)
        reply = bot.texts.get("general.error")
    bot.ledger.record(msg_key, reply)
    return reply


def _claim(bot, msg, msg_key: str) -> bool:
    pipe = bot.redis.pipeline(transaction=False)
    bot.followers.touch(pipe, msg.source)
    return bot.ledger.claim(msg_key, pipe)


def _run(bot, msg) -> str | None:
    flow = Flow(bot.redis, msg.source, bot.settings.flow_ttl_minutes * 60)
    ctx = Context(openid=msg.source, message=msg, bot=bot, flow=flow)
    reply = bot.router.dispatch(ctx)
    return bot.pager.fit(msg.source, reply)


def _send_late(bot, msg, msg_key: str, future) -> None:
    """Push a reply that missed the webhook's window, through the push seam."""
    try:
        reply = future.result()
    except Exception:
        log.exception("late handler failed: key=%s", msg_key)
        reply = bot.texts.get("general.error")
    if reply:
        bot.outbox.enqueue(msg.source, reply, kind="late_reply", idem_key=msg_key)
