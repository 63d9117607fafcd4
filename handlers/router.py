"""The router: a registry of handlers, and per-user conversation state.

Handlers register with a decorator by keyword, pattern, menu click key, event
type or conversation state. Dispatch order for a text message:

1. a user inside a flow: `取消`/`退出` leaves it; an exact command keyword
   (`积分`, `帮助`) is answered and the flow waits; anything else goes to the
   handler of the flow's current state;
2. keywords (exact, after normalising full-width characters and case);
3. patterns, in registration order; the first match wins;
4. a user whose flow expired is told so and how to start again;
5. the fallback (a short help text).

A handler takes a Context and returns the text to answer, or None for nothing.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Optional

from domain.keys import user_key

Handler = Callable[["Context"], Optional[str]]

FLOW_MEMORY_SECONDS = 24 * 3600  # how long an expired flow is remembered, to explain it


def normalize(text: str) -> str:
    """Fold full-width forms (Ａ, １, ，) to ASCII, trim and squeeze spaces."""
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"\s+", " ", text).strip()


class Flow:
    """One user's place in a multi-step conversation, kept in Redis with a TTL."""

    def __init__(self, redis, openid: str, ttl_seconds: int):
        self._redis = redis
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

    def end(self) -> None:
        self.name = self.state = None
        self.data = {}
        self._redis.delete(self._key, self._last_key)

    def forget_expired(self) -> None:
        self._redis.delete(self._last_key)

    def _save(self) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(self._key, mapping={"name": self.name, "state": self.state,
                                      "data": json.dumps(self.data, ensure_ascii=False)})
        pipe.expire(self._key, self._ttl)
        pipe.set(self._last_key, self.name, ex=FLOW_MEMORY_SECONDS)
        pipe.execute()


@dataclass
class Context:
    """What a handler gets: who wrote, what they wrote, and the services to act with."""

    openid: str
    message: object  # a wechatpy message or event
    bot: object  # bot.app.Bot: redis, texts, settings, outbox, ...
    text: str = ""
    match: Optional[re.Match] = None
    flow: Flow = None

    @property
    def redis(self):
        return self.bot.redis

    @property
    def raw_text(self) -> str:
        """What the user typed, only trimmed (for free text kept as written: notes)."""
        return (_text_of(self.message) or "").strip()

    def t(self, key: str, **fields) -> str:
        return self.bot.texts.get(key, **fields)


@dataclass
class Router:
    keywords: dict[str, Handler] = field(default_factory=dict)
    patterns: list[tuple[re.Pattern, Handler]] = field(default_factory=list)
    clicks: dict[str, Handler] = field(default_factory=dict)
    events: dict[str, Handler] = field(default_factory=dict)
    states: dict[str, Handler] = field(default_factory=dict)
    fallback_handler: Optional[Handler] = None
    non_text_handler: Optional[Handler] = None
    cancel_words: tuple[str, ...] = ("取消", "退出")

    # -- registration -------------------------------------------------------
    def keyword(self, *words: str):
        def register(fn: Handler) -> Handler:
            for word in words:
                self.keywords[normalize(word).lower()] = fn
            return fn
        return register

    def pattern(self, regex: str):
        def register(fn: Handler) -> Handler:
            self.patterns.append((re.compile(regex, re.IGNORECASE), fn))
            return fn
        return register

    def click(self, *keys: str):
        def register(fn: Handler) -> Handler:
            for k in keys:
                self.clicks[k] = fn
            return fn
        return register

    def event(self, *names: str):
        def register(fn: Handler) -> Handler:
            for name in names:
                self.events[name.lower()] = fn
            return fn
        return register

    def state(self, name: str):
        def register(fn: Handler) -> Handler:
            self.states[name] = fn
            return fn
        return register

    def fallback(self, fn: Handler) -> Handler:
        self.fallback_handler = fn
        return fn

    def non_text(self, fn: Handler) -> Handler:
        self.non_text_handler = fn
        return fn

    # -- dispatch -----------------------------------------------------------
    def dispatch(self, ctx: Context) -> Optional[str]:
        msg = ctx.message
        if msg.type == "event" or str(msg._data.get("MsgType", "")).lower() == "event":
            return self._dispatch_event(ctx)
        text = _text_of(msg)
        if text is None:
            return self.non_text_handler(ctx) if self.non_text_handler else None
        ctx.text = normalize(text)
        return self.dispatch_text(ctx)

    def dispatch_text(self, ctx: Context) -> Optional[str]:
        flow = ctx.flow.load()
        if flow.active:
            if ctx.text in self.cancel_words:
                flow.end()
                return ctx.t("general.cancelled")
            command = self.keywords.get(ctx.text.lower())
            if command is not None:  # a command word mid-flow: answer it, the flow waits
                return command(ctx)
            handler = self.states.get(flow.state)
            if handler is not None:
                return handler(ctx)
            flow.end()  # a state from an older version of the code: start afresh
        handler = self.match_command(ctx)
        if handler is not None:
            return handler(ctx)
        if flow.expired_name:
            flow.forget_expired()
            return _expired_text(ctx, flow.expired_name)
        if ctx.text in self.cancel_words:
            return ctx.t("general.nothing_to_cancel")
        return self.fallback_handler(ctx) if self.fallback_handler else None

    def match_command(self, ctx: Context) -> Optional[Handler]:
        """The keyword or pattern handler for ctx.text, or None (sets ctx.match for patterns)."""
        handler = self.keywords.get(ctx.text.lower())
        if handler is not None:
            return handler
        for regex, fn in self.patterns:
            m = regex.fullmatch(ctx.text)
            if m:
                ctx.match = m
                return fn
        return None

    def _dispatch_event(self, ctx: Context) -> Optional[str]:
        raw = ctx.message._data  # wechatpy renames QR-code follows to "subscribe_scan"
        event = str(raw.get("Event") or "").lower()
        if event == "click":
            handler = self.clicks.get(str(raw.get("EventKey") or ""))
        else:
            handler = self.events.get(event)
        return handler(ctx) if handler else None


def _text_of(msg) -> Optional[str]:
    if msg.type == "text":
        return msg.content or ""
    if msg.type == "voice" and getattr(msg, "recognition", None):
        return msg.recognition  # WeChat's speech recognition, when switched on
    return None


def _expired_text(ctx: Context, flow_name: str) -> str:
    key = f"flows.{flow_name}"
    title = ctx.t(f"{key}.title") if ctx.bot.texts.has(f"{key}.title") else flow_name
    restart = ctx.t(f"{key}.restart") if ctx.bot.texts.has(f"{key}.restart") else "帮助"
    return ctx.t("general.flow_expired", title=title, restart=restart,
                 minutes=ctx.bot.settings.flow_ttl_minutes)
