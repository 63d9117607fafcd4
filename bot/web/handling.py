"""Handle one parsed WeChat message once, within the reply budget.

The webhook view calls handle(). One round trip reads what every message
needs: its ledger entry (is this a retry?), the user's conversation and when
they were last seen. It writes nothing. A handler about to change something
first claims the message in the ledger: inside its first script, atomically with
the script's writes, when the script runs on the user's slot (domain/scripting.py),
else by a SET NX of its own just before its first write (bot.runtime.writes
notices it); a retry that arrives meanwhile waits for the reply instead of
running the message again, and later retries get the recorded reply. A message that changes nothing
(帮助, browsing) writes nothing at all, so with `appendfsync always` it never
waits for an fsync; a retry of it is simply answered again.

A handler marked `@instant` (it only fills in a text: 帮助, 谢谢) runs on the request's
thread, unless the follower's touch is due (a write, kept off the response's path). Every
other handler runs on a pool thread. It hands its reply to the waiting request
as soon as it has one and then records it in the ledger, so the ledger write
overlaps with the response instead of delaying it (the follower's touch, when
one is due, rides in the same round trip). When the request gives up
at the budget first, the handler's reply goes out later through the outbox.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack, nullcontext

from domain import scripting

from handlers.ledger import LAPSED, PENDING, legacy_message_key, message_key
from bot.ops import logs, metrics
from bot.wechat.outgoing import published_numbers, safe_text
from bot.runtime.topology import STORE_ERRORS
from bot.runtime.writes import WriteScope, tracks_writes
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


class AlreadyClaimed(BaseException):
    """Another delivery of this message claimed it first; raised before this one has written anything.

    A BaseException, so that a handler's `except Exception` cannot swallow it.
    """


class Claim:
    """A message's claim in the ledger, taken with or just before the handler's first write.

    Carried by the handler's first script when it runs on the message's slot (one
    EVALSHA claims and writes, or refuses and writes nothing); else a SET NX of
    its own just before the first write. Where the client cannot tell writes from
    reads (a Redis Cluster client), the claim is taken up front, in the first
    round trip, as it always was. The follower's touch, when due, is written
    after the reply, with the ledger's record of it.
    """

    def __init__(self, bot, msg, msg_key: str, touch_due: bool, taken: bool = False, entry_key: str = ""):
        self._bot, self._msg, self.key = bot, msg, msg_key
        self.entry_key = entry_key or msg_key  # where the entry read was found (an old-format key, maybe)
        self.touch_due = touch_due
        self.taken = taken
        self.prefix = bot.ledger.claim_prefix(msg_key, self._refused)

    def _refused(self) -> None:
        raise AlreadyClaimed(self.key)

    def take(self) -> None:
        """Claim the message before the handler's first write, or raise AlreadyClaimed."""
        if not self.prefix.done:  # else the script about to run carries it: it claims, or refuses (AlreadyClaimed)
            self.prefix.done = True
            if not self._bot.ledger.claim(self.key):
                raise AlreadyClaimed(self.key)
        self.taken = True

    def scope(self):
        if self.taken:
            return nullcontext()
        stack = ExitStack()
        stack.enter_context(WriteScope(self.take))
        stack.enter_context(scripting.first_write(self.prefix))
        return stack


def handle(bot, msg: Incoming, peer: str = "") -> str | None:
    """Return the reply text for msg; None means answer `success` (nothing to say).

    peer: the address the request came from (for the message's log line).
    """
    started = time.perf_counter()
    deadline = time.monotonic() + bot.settings.reply_budget
    msg_key = message_key(msg)
    flow = Flow(bot.redis, msg.sender, bot.settings.flow_ttl_minutes * 60)
    try:
        claim, entry = _read(bot, msg, msg_key, flow)
    except STORE_ERRORS:
        metrics.REDIS_ERRORS.labels("claim").inc()
        raise
    if bot.ledger.answered(entry):  # a retry of a message already answered
        metrics.RETRIES_DEDUPED.inc()
        _account(bot, msg, "", "retry", started, peer)
        return bot.ledger.reply_of(entry)
    if entry is not None:  # claimed by a delivery still running
        reply = bot.ledger.wait_for_reply(claim.entry_key, bot.settings.reply_budget)
        if reply is not LAPSED:
            metrics.RETRIES_DEDUPED.inc()
            _account(bot, msg, "", "retry", started, peer)
            return reply
        # The first delivery's claim lapsed with no reply: its process died mid-message
        # (WeChat retries because it got no answer). Run the message here; its first
        # write claims it again, so two retries doing this still run it once.
        log.warning("claim lapsed without a reply; running the message again: user %s", logs.user_ref(msg.sender))
        claim = Claim(bot, msg, msg_key, touch_due=False)
    handoff = Handoff()
    if not claim.touch_due and bot.router.is_instant(msg, flow):
        # A handler that only fills in a text cannot outlast the budget: run it here, without the
        # hand-off to a pool thread and back (two thread switches, a Future, an Event). Not when the
        # follower's touch is due: that write stays on the pool, after the reply, off the response's path.
        _run_and_record(bot, msg, flow, claim, handoff, started, peer)
    else:
        _track(_executor().submit(_run_and_record, bot, msg, flow, claim, handoff, started, peer))
    if handoff.wait(max(0.0, deadline - time.monotonic())):
        _account(bot, msg, handoff.handler, handoff.outcome, started, peer)
        return handoff.reply
    metrics.BUDGET_OVERRUNS.inc()
    log.warning("reply budget exceeded: user %s; the reply will be pushed", logs.user_ref(msg.sender))
    return None


ROUTINE = frozenset({"replied", "nothing"})  # outcomes whose log line is sampled (the rest are always logged)
_counters: dict[tuple[str, str, str], object] = {}  # (kind, handler, outcome) -> its MESSAGES child


def _account(bot, msg, handler: str, outcome: str, started: float, peer: str) -> None:
    """The metrics for a handled message, and its log line: never its text, the user only as a hash.

    Every message is counted. The INFO line is written for the sampled share of users
    (LOG_MESSAGE_SAMPLE) and always for a retry, an error, a late reply or a slow message."""
    seconds = time.perf_counter() - started
    kind = msg.kind
    handler = handler or "-"
    labels = (kind, handler, outcome)
    counter = _counters.get(labels)
    if counter is None:
        counter = metrics.MESSAGES.labels(*labels)
        if len(_counters) < 1024:  # kind and handler come from a bounded set; the cache stays small anyway
            _counters[labels] = counter
    counter.inc()
    if outcome != "retry":
        metrics.HANDLING.labels(kind).observe(seconds)
    if not log.isEnabledFor(logging.INFO):
        return
    settings = bot.settings
    ms = seconds * 1000
    ref = logs.user_ref(msg.sender)
    if outcome in ROUTINE and ms < settings.log_slow_ms and not logs.sampled(ref, settings.log_message_sample):
        return
    log.info("message %s %s %s %.1f ms", kind, handler, outcome, ms,
             extra={"event": "message", "kind": kind, "handler": handler, "outcome": outcome,
                    "latency_ms": round(ms, 2), "user": ref, "peer": peer})


def first_keys(msg: Incoming) -> tuple[str, ...]:
    """The keys every message reads first (its ledger entry, the user's own keys, the followers set):
    on a Cluster, the nodes that must answer before anything else can happen."""
    from domain.followers import ACTIVE
    from domain.keys import user_key

    return message_key(msg), user_key(msg.sender, "flow"), ACTIVE


def _read(bot, msg, msg_key: str, flow: Flow) -> tuple[Claim, str | None]:
    """The ledger entry, the user's flow and when they were last seen: one round trip, no writes.

    Returns the message's Claim (not taken yet) and its ledger entry (None: new).
    With a client that cannot track writes, claims up front instead, in the same round trip.
    """
    legacy = legacy_message_key(msg) if bot.ledger.reads_legacy() else None
    pipe = bot.redis.pipeline(transaction=False)
    flow.queue_load(pipe)
    flow_at = (0, len(pipe))  # where each part's results are: the parts queue as many commands as they need
    legacy_at = len(pipe)
    if legacy:
        bot.ledger.queue_lookup(pipe, legacy)
    entry_at = len(pipe)
    if not tracks_writes(bot.redis):
        bot.ledger.queue_claim(pipe, msg_key)
        bot.followers.touch(pipe, msg.sender)
        results = pipe.execute()
        flow.apply(results[slice(*flow_at)])
        claimed = results[entry_at]
        old = results[legacy_at] if legacy else None
        if old is not None:  # handled, or being handled, under the old-format key: not ours to run
            if claimed:
                bot.redis.delete(msg_key)
            return Claim(bot, msg, msg_key, touch_due=False, taken=True, entry_key=legacy), old
        return Claim(bot, msg, msg_key, touch_due=False, taken=True), (None if claimed else PENDING)
    bot.ledger.queue_lookup(pipe, msg_key)
    seen_at = len(pipe)
    bot.followers.queue_seen(pipe, msg.sender)
    results = pipe.execute()
    flow.apply(results[slice(*flow_at)])
    entry, entry_key = results[entry_at], msg_key
    if entry is None and legacy and results[legacy_at] is not None:
        entry, entry_key = results[legacy_at], legacy
    touch_due = bot.followers.touch_due(results[seen_at:], time.time())
    return Claim(bot, msg, msg_key, touch_due, entry_key=entry_key), entry


def _run_and_record(bot, msg, flow: Flow, claim: Claim, handoff: Handoff, started: float = 0.0,
                    peer: str = "") -> None:
    handler = ""
    try:
        with claim.scope():
            ctx = Context(openid=msg.sender, message=msg, bot=bot, flow=flow)
            reply = safe_text(bot.router.dispatch(ctx), published_numbers(bot.texts))  # masked before kept, sent
            handler = ctx.handler
        reply = bot.pager.fit(msg.sender, reply)  # pages of a long answer: kept, but no change to claim for
        outcome = "replied" if reply else "nothing"
    except AlreadyClaimed:  # a retry that came in while the first delivery ran: answer what the first answers
        reply = bot.ledger.wait_for_reply(claim.key, bot.settings.reply_budget)
        handoff.handler, handoff.outcome = "", "retry"
        handoff.deliver(None if reply is LAPSED else reply)
        return
    except STORE_ERRORS as exc:  # the store (a Cluster node) went away mid-message: say so, no traceback
        metrics.REDIS_ERRORS.labels("handler").inc()
        log.warning("store unavailable in handler: user %s %s: %s", logs.user_ref(msg.sender), type(exc).__name__, exc)
        reply, outcome = bot.texts.get("general.unavailable"), "store_unavailable"
    except Exception:
        log.exception("handler failed: user %s", logs.user_ref(msg.sender))
        reply, outcome = bot.texts.get("general.error"), "error"
    handoff.handler, handoff.outcome = handler, outcome
    try:
        pipe = bot.redis.pipeline(transaction=False)  # the record and the touch: one round trip after the reply
        if handoff.deliver(reply):
            if claim.taken:
                bot.ledger.queue_record(pipe, claim.key, reply, msg.sender)
        else:
            bot.ledger.defer(claim.key)
            if reply:
                bot.outbox.enqueue(msg.sender, reply, kind="late_reply", idem_key=claim.key)
            _account(bot, msg, handler, "late" if reply else "late_nothing", started or time.perf_counter(), peer)
        if claim.touch_due:
            bot.followers.touch(pipe, msg.sender)
        if len(pipe):
            pipe.execute()
    except STORE_ERRORS as exc:
        metrics.REDIS_ERRORS.labels("record").inc()
        log.warning("could not record the reply: user %s %s: %s", logs.user_ref(msg.sender), type(exc).__name__, exc)
    except Exception:
        log.exception("could not record the reply: user %s", logs.user_ref(msg.sender))


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
