"""The message ledger: each WeChat delivery is handled once, whatever the retries.

WeChat sends a message up to three times when it gets no answer within 5 s.
A delivery whose handler changes something claims the message (SET NX) just
before its first write (bot.web.handling); a retry that arrives while the claim is
pending waits for the reply; one that arrives after gets the stored reply. A
message that changes nothing is never claimed: a retry of it is answered
afresh, and nothing happens twice. A claim left by a crashed process expires
after `pending_ttl` (a few seconds, within WeChat's retry window): a retry that
waits on a claim which lapses without a reply gets LAPSED and runs the message.

Entries live on the user's slot (`yb:{u:<openid>}:msg:<MsgId>`), so that the
claim can ride in the first script the handler runs there (domain/scripting.py).
Entries in the format before (`yb:msg:<openid>:<MsgId>`) are still read while any
may exist: a process that finds one at its first message reads both formats
for as long as such an entry lives (`done_ttl`).
"""
from __future__ import annotations

import time

from domain import ledger_index
from domain.keys import ledger_key, legacy_ledger_key
from domain.scripting import Prefix, one_server
from handlers.message import Incoming

PENDING = "\x00pending"
DEFERRED = "\x00deferred"  # answered "success"; the reply goes out as a push
NOTHING = "\x00nothing"
LAPSED = object()  # wait_for_reply: the claim expired with no reply (its process died)


def message_key(msg: Incoming, make=ledger_key) -> str:
    """Dedupe key: sender + MsgId for messages; sender + time + event + key for events."""
    if msg.is_event:
        return make(msg.sender, "e", msg.time, msg.event, msg.key)
    return make(msg.sender, msg.msg_id or msg.time)


def legacy_message_key(msg: Incoming) -> str:
    """The message's key in the ledger's format before (see the module's text)."""
    return message_key(msg, legacy_ledger_key)


class MessageLedger:
    def __init__(self, redis, done_ttl: int, pending_ttl: int):
        self._redis = redis
        self._done_ttl = done_ttl
        self._pending_ttl = pending_ttl
        # Entries in the format before live at most done_ttl: a process reads that format too for that long
        # after it starts (an upgrade restarts the service), one more GET in the first round trip, no scan.
        # Not on a Redis Cluster: there the old key lives in another slot than the user's, so reading it would
        # make every message wait on a second node (a frozen one stalls users whose own keys are healthy).
        self._legacy_until = time.time() + done_ttl + 60 if one_server(redis) else 0.0

    def reads_legacy(self) -> bool:
        """Whether entries in the format before may still exist (this process started less than their
        lifetime ago)."""
        return self._legacy_until > time.time()

    def queue_lookup(self, pipe, msg_key: str) -> None:
        """Queue a read of the message's entry on a caller's pipeline (see answered())."""
        pipe.get(msg_key)

    def queue_claim(self, pipe, msg_key: str) -> None:
        """Queue claim() on a caller's pipeline; its result is True for the first delivery."""
        pipe.set(msg_key, PENDING, nx=True, ex=self._pending_ttl)

    def claim_prefix(self, msg_key: str, refused):
        """claim(), as the write a script carries in front of its own (domain/scripting.py)."""
        return Prefix(msg_key, PENDING, self._pending_ttl, refused)

    def claim(self, msg_key: str) -> bool:
        """Claim a message whose earlier claim lapsed; True when this delivery got it."""
        return bool(self._redis.set(msg_key, PENDING, nx=True, ex=self._pending_ttl))

    def record(self, msg_key: str, reply: str | None, openid: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        self.queue_record(pipe, msg_key, reply, openid)
        pipe.execute()

    def queue_record(self, pipe, msg_key: str, reply: str | None, openid: str) -> None:
        """record(), on a caller's pipeline. A reply's text is indexed under its person (openid), for deletion."""
        pipe.set(msg_key, NOTHING if reply is None else reply, ex=self._done_ttl)
        if reply is not None:
            ledger_index.queue_add(pipe, openid, msg_key, self._done_ttl)

    def defer(self, msg_key: str) -> None:
        self._redis.set(msg_key, DEFERRED, ex=self._done_ttl)

    @staticmethod
    def answered(value: str | None) -> bool:
        """Whether an entry read by queue_lookup() holds a finished delivery's outcome."""
        return value is not None and value != PENDING

    @staticmethod
    def reply_of(value: str | None) -> str | None:
        """The reply text an entry holds; None for `success` (nothing, deferred, or no entry)."""
        return None if value in (None, PENDING, NOTHING, DEFERRED) else value

    def wait_for_reply(self, msg_key: str, timeout: float):
        """Return the reply recorded by the first delivery, None when there is none (yet),
        or LAPSED when the first delivery's claim expired without a reply."""
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            value = self._redis.get(msg_key)
            if value is None:
                return LAPSED
            if value != PENDING:
                return None if value in (NOTHING, DEFERRED) else value
            if time.monotonic() + delay > deadline:
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
