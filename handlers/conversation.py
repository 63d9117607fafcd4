"""Multi-step conversations: where a user is (Flow, kept in Redis) and what each step does (Conversation).

A conversation is declared in one place, the way python-telegram-bot's
ConversationHandler is: its name, and a table of states, each handled by a
plain function that moves to the next state or ends the flow. Commands start
it (`flow.start(name, state)`); `取消`/`退出` leaves it from any state (the
router); it expires after FLOW_TTL_MINUTES of silence.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from domain.keys import user_key
from domain.userwrites import send

FLOW_MEMORY_SECONDS = 24 * 3600  # how long an expired flow is remembered, to explain it


@dataclass(frozen=True)
class Conversation:
    """One conversation: its name (titles in content/texts/flows.yaml) and its states -> steps."""

    name: str
    states: dict[str, Callable] = field(default_factory=dict)
    entry: str = ""  # the command that starts it, for the expiry notice and the docs
    # fn(ctx) -> the line shown under a command answered mid-conversation (where the user is);
    # by default content/texts/flows.yaml's `<name>.waiting`.
    reminder: Callable | None = None

    def start(self, ctx, state: str, **data) -> None:
        """Put the user at `state` of this conversation."""
        assert state in self.states, f"{state} is not a state of {self.name}"
        ctx.flow.start(self.name, state, **data)

    def waiting(self, ctx) -> str | None:
        """What to tell a user who sent a command mid-conversation: it still waits for them."""
        if self.reminder is not None:
            return self.reminder(ctx)
        key = f"flows.{self.name}.waiting"
        return ctx.t(key) if ctx.bot.texts.has(key) else None


def accepts(predicate: Callable) -> Callable:
    """Mark a step as taking every text predicate(ctx) accepts, even one that reads as a command
    (`好的` at the consent step, any free text at a note prompt)."""
    def mark(step: Callable) -> Callable:
        step.accepts = predicate
        return step
    return mark


class Flow:
    """One user's place in a multi-step conversation, kept in Redis with a TTL."""

    def __init__(self, redis, openid: str, ttl_seconds: int):
        self._redis = redis
        self._openid = openid
        self._key = user_key(openid, "flow")
        self._last_key = user_key(openid, "flow_last")
        self._ttl = ttl_seconds
        self.name: str | None = None
        self.state: str | None = None
        self.data: dict = {}
        self.expired_name: str | None = None
        self.loaded = False

    def load(self) -> "Flow":
        """Read the user's flow from Redis, unless it was read already."""
        if not self.loaded:
            pipe = self._redis.pipeline(transaction=False)
            self.queue_load(pipe)
            self.apply(pipe.execute())
        return self

    def queue_load(self, pipe) -> None:
        """Queue the two reads of load() on a caller's pipeline (2 commands)."""
        pipe.hgetall(self._key)
        pipe.get(self._last_key)

    def apply(self, results) -> None:
        """Take the results of the commands queue_load() queued."""
        current, last = results
        if current:
            self.name, self.state = current["name"], current["state"]
            self.data = json.loads(current.get("data") or "{}")
        elif last:
            self.expired_name = last
        self.loaded = True

    @property
    def active(self) -> bool:
        return self.state is not None

    def start(self, name: str, state: str, **data) -> None:
        """Enter flow `name` at `state`, replacing any flow the user was in."""
        self.name, self.state, self.data = name, state, dict(data)
        self._save()

    def goto(self, state: str, **data) -> None:
        """Move to `state`, merging data into what the flow already holds."""
        self.state = state
        self.data.update(data)
        self._save()

    # Within a message (domain/userwrites.holding, opened by the router) the writes below are held and
    # leave with the message's one write call; outside one they are sent at once.
    def end(self) -> None:
        self.name = self.state = None
        self.data = {}
        send(self._redis, self._openid, ("DEL", self._key), ("DEL", self._last_key))

    @property
    def keys(self) -> tuple[str, str]:
        """The keys end() deletes: for a step whose own script deletes them, in the same step (ended())."""
        return self._key, self._last_key

    def ended(self) -> None:
        """The flow's keys were deleted by the step's own script (keys): end it here without writing."""
        self.name = self.state = None
        self.data = {}

    def forget_expired(self) -> None:
        send(self._redis, self._openid, ("DEL", self._last_key))

    def _save(self) -> None:
        send(self._redis, self._openid,
             ("HSET", self._key, "name", self.name, "state", self.state,
              "data", json.dumps(self.data, ensure_ascii=False)),
             ("EXPIRE", self._key, self._ttl),
             ("SET", self._last_key, self.name, "EX", FLOW_MEMORY_SECONDS))


