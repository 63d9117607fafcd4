"""The router: a registry of handlers, and per-user conversation state.

Handlers register with a decorator by keyword, pattern, menu click key, event
type or conversation state. Dispatch order for a text message:

1. a user inside a flow: `取消`/`退出` leaves it; a step that declared what it
   accepts (`@accepts`) gets what it accepts; otherwise a command (`积分`,
   `搜 司机`, `报名 2`) is answered and the flow waits, with a line saying
   where the user is; anything else goes to the handler of the current step;
2. keywords (exact, after normalising full-width characters and case, reading
   traditional characters as simplified, dropping trailing punctuation and
   filler: `志愿。`, `我要报名 3`, and writing a number said any way after a
   numbered command as digits: `报名第三个` is `报名 3`);
3. patterns, in registration order; the first match wins;
4. a user whose flow expired is told so and how to start again;
5. the fallback (a short help text).

A handler takes a Context and returns the text to answer, or None for nothing.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Optional

from handlers.conversation import Conversation, Flow
from domain.userwrites import holding
from handlers.message import Incoming
from handlers.reading import canonical, simplified

Handler = Callable[["Context"], Optional[str]]

def normalize(text: str) -> str:
    """Fold full-width forms (Ａ, １, ，) to ASCII, trim and squeeze spaces."""
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"\s+", " ", text).strip()


def read_as_command(text: str, numbered_words=()) -> str:
    """What the router matches: full-width folded, traditional read as simplified, filler dropped,
    and a number said any way after a numbered command word written as digits (`報名第三個！` -> `报名 3`)."""
    return canonical(strip_filler(simplified(normalize(text))), numbered_words)


# What people (and WeChat's speech recognition) put around a command: `志愿。`,
# `答题！`, `报名 3。`, `我要报名 3`, `答题吧`. Dropped before matching; a text
# that is nothing but these (`?`, `。`) is kept as it is.
_TRAILING = re.compile(r"(?:[\s.,!?;:~、。，！？；：～…]|[吧啊呀哦啦呢嘛哈])+$")
_LEADING = re.compile(r"^(?:我想要|我要|我想|请问|请帮我|帮我|请)\s*")


def strip_filler(text: str) -> str:
    """`报名 3。` -> `报名 3`; `我要答题！` -> `答题`."""
    stripped = _LEADING.sub("", _TRAILING.sub("", text))
    return stripped or text


@dataclass
class Context:
    """What a handler gets: who wrote, what they wrote, and the services to act with."""

    openid: str
    message: Incoming
    bot: object  # bot.app.Bot: settings, texts, the domain's services, outbox, ...
    text: str = ""
    match: Optional[re.Match] = None
    flow: Flow = None
    handler: str = ""  # the handler that answered (module.function), for logs and metrics

    @property
    def redis(self):
        return self.bot.redis

    # The domain's services, built once per process (bot.app.Bot).
    @property
    def quiz(self):
        return self.bot.quiz

    @property
    def events(self):
        return self.bot.events

    @property
    def jobs(self):
        return self.bot.jobs

    @property
    def profiles(self):
        return self.bot.profiles

    def return_to(self, name: str, **args) -> str:
        """Continue the conversation a sub-conversation was started from (see Router.returning)."""
        return self.bot.router.returns[name](self, **args)

    @property
    def raw_text(self) -> str:
        """What the user typed, only trimmed (for free text kept as written: notes)."""
        return (self.message.text or "").strip()

    def t(self, key: str, **fields) -> str:
        return self.bot.texts.get(key, **fields)


def instant(fn: Handler) -> Handler:
    """Mark a keyword handler that only fills in a text (no store, no waiting): the webhook runs it on the
    request's own thread instead of handing it to the pool that keeps the reply budget (bot/web/handling.py)."""
    fn.instant = True
    return fn


class DuplicateRoute(ValueError):
    """Two handlers claim the same keyword, click key, event or state: an error at start-up."""


def _add(table: dict, name: str, fn, what: str) -> None:
    if name in table and table[name] is not fn:
        raise DuplicateRoute(f"{what} {name!r} is registered twice: {table[name].__qualname__} and {fn.__qualname__}")
    table[name] = fn


@dataclass
class Router:
    """The handlers of one feature module, or (after include()) of the whole bot."""

    keywords: dict[str, Handler] = field(default_factory=dict)
    patterns: list[tuple[re.Pattern, Handler]] = field(default_factory=list)
    clicks: dict[str, Handler] = field(default_factory=dict)
    events: dict[str, Handler] = field(default_factory=dict)
    states: dict[str, Handler] = field(default_factory=dict)
    returns: dict[str, Callable[..., str]] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    words: set[str] = field(default_factory=set)  # command words patterns start with (for near-miss hints)
    numbered_words: set[str] = field(default_factory=set)  # command words followed by a number (`报名 3`)
    pattern_words: dict[str, tuple[str, ...]] = field(default_factory=dict)  # handler name -> its command words
    fallback_handler: Optional[Handler] = None
    non_text_handler: Optional[Handler] = None
    cancel_words: tuple[str, ...] = ("取消", "退出")
    # (text, what it reads as) of the message is_instant() last read, for dispatch() to take rather than read
    # it again; a pure function of the text, so another thread's pair is only a miss, never a wrong answer.
    _last_read: Optional[tuple[str, str]] = field(default=None, repr=False, compare=False)
    # ((table sizes), the keywords that read as themselves): see read()
    _as_written: Optional[tuple[tuple[int, int], frozenset]] = field(default=None, repr=False, compare=False)

    # -- registration -------------------------------------------------------
    def keyword(self, *words: str):
        def register(fn: Handler) -> Handler:
            for word in words:
                _add(self.keywords, normalize(word).lower(), fn, "keyword")
            return fn
        return register

    def pattern(self, regex: str, words: tuple[str, ...] = ()):
        """Register fn for texts regex matches whole; `words` are the command words it starts with."""
        def register(fn: Handler) -> Handler:
            self.patterns.append((re.compile(regex, re.IGNORECASE), fn))
            self.words.update(words)
            if words:
                self.pattern_words[fn.__name__] = self.pattern_words.get(fn.__name__, ()) + tuple(words)
            return fn
        return register

    def numbered(self, *words: str):
        """Register fn for `<word> <number>` (ctx.match.group(1) is the number, as digits): the number
        may be said any way people say one (`报名三`, `报名第3个`, `报名【3】`; handlers/reading.py)."""
        self.numbered_words.update(words)
        return self.pattern(rf"(?:{'|'.join(map(re.escape, words))})\s*(\d+)", words=words)

    def click(self, *keys: str):
        def register(fn: Handler) -> Handler:
            for k in keys:
                _add(self.clicks, k, fn, "click key")
            return fn
        return register

    def event(self, *names: str):
        def register(fn: Handler) -> Handler:
            for name in names:
                _add(self.events, name.lower(), fn, "event")
            return fn
        return register

    def state(self, name: str):
        def register(fn: Handler) -> Handler:
            _add(self.states, name, fn, "state")
            return fn
        return register

    def conversation(self, conv: Conversation) -> Conversation:
        """Register a conversation's steps (and where a sub-conversation may return to)."""
        for name, fn in conv.states.items():
            _add(self.states, name, fn, "state")
        _add(self.conversations, conv.name, conv, "conversation")
        return conv

    def returning(self, name: str):
        """Register fn(ctx, **args) as where a sub-conversation (the profile questions) returns to."""
        def register(fn):
            _add(self.returns, name, fn, "return point")
            return fn
        return register

    def fallback(self, fn: Handler) -> Handler:
        if self.fallback_handler not in (None, fn):
            raise DuplicateRoute("two fallbacks")
        self.fallback_handler = fn
        return fn

    def non_text(self, fn: Handler) -> Handler:
        if self.non_text_handler not in (None, fn):
            raise DuplicateRoute("two non-text handlers")
        self.non_text_handler = fn
        return fn

    def include(self, other: "Router") -> "Router":
        """Add another router's handlers after this one's (its patterns are tried after ours)."""
        for table, what in (("keywords", "keyword"), ("clicks", "click key"), ("events", "event"),
                            ("states", "state"), ("returns", "return point"), ("conversations", "conversation")):
            for name, fn in getattr(other, table).items():
                _add(getattr(self, table), name, fn, what)
        self.patterns.extend(other.patterns)
        self.words |= other.words
        self.numbered_words |= other.numbered_words
        for name, words in other.pattern_words.items():
            self.pattern_words[name] = self.pattern_words.get(name, ()) + words
        if other.fallback_handler:
            self.fallback(other.fallback_handler)
        if other.non_text_handler:
            self.non_text(other.non_text_handler)
        return self

    # -- dispatch -----------------------------------------------------------
    def dispatch(self, ctx: Context) -> Optional[str]:
        """The reply to ctx's message. The user's own writes (flow, profile) are held while it is handled and
        leave with its state change in one call, or in one call of their own at the end (domain/userwrites.py)."""
        with holding(ctx.redis, ctx.openid):
            return self._dispatch(ctx)

    def _dispatch(self, ctx: Context) -> Optional[str]:
        msg = ctx.message
        if msg.is_event:
            return self._dispatch_event(ctx)
        text = msg.text
        if text is None:
            return self._call(self.non_text_handler, ctx) if self.non_text_handler else None
        ctx.text = self._read_command(text)
        return self.dispatch_text(ctx)

    def _read_command(self, text: str) -> str:
        last, self._last_read = self._last_read, None  # taken once: the message's text is not kept
        if last is not None and last[0] is text:
            return last[1]
        return self.read(text)

    def read(self, text: str) -> str:
        """read_as_command(text) with this router's numbered words; a text that is exactly a keyword which
        reads as itself (帮助, 谢谢: most messages) is returned at once, without the folding and conversion."""
        sizes = (len(self.keywords), len(self.numbered_words))  # the tables only grow (_add refuses a change)
        known = self._as_written
        if known is None or known[0] != sizes:
            known = self._as_written = (sizes, frozenset(
                k for k in self.keywords if read_as_command(k, self.numbered_words) == k))
        if text in known[1]:
            return text
        return read_as_command(text, self.numbered_words)

    def dispatch_text(self, ctx: Context) -> Optional[str]:
        flow = ctx.flow.load()
        if flow.active:
            if ctx.text in self.cancel_words:
                flow.end()
                ctx.handler = "router.cancel"
                return ctx.t("general.cancelled")
            step = self.states.get(flow.state)
            if step is not None:
                return self._in_flow(ctx, flow, step)
            flow.end()  # a state from an older version of the code: start afresh
        handler = self.match_command(ctx)
        if handler is not None:
            return self._call(handler, ctx)
        if flow.expired_name:
            flow.forget_expired()
            ctx.handler = "router.expired"
            return _expired_text(ctx, flow.expired_name)
        if ctx.text in self.cancel_words:
            ctx.handler = "router.cancel"
            return ctx.t("general.nothing_to_cancel")
        return self._call(self.fallback_handler, ctx) if self.fallback_handler else None

    @staticmethod
    def _call(handler: Handler, ctx: Context) -> Optional[str]:
        """Run handler, noting its name for the message's log line and metrics."""
        ctx.handler = f"{handler.__module__.rsplit('.', 1)[-1]}.{handler.__name__}"
        return handler(ctx)

    def _in_flow(self, ctx: Context, flow: Flow, step: Handler) -> Optional[str]:
        """A message inside a conversation: the step's, unless it is a command the step does not take."""
        takes = getattr(step, "accepts", None)
        if takes is not None and takes(ctx):
            return self._call(step, ctx)
        command = self.match_command(ctx)
        if command is None:
            return self._call(step, ctx)
        where = (flow.name, flow.state)
        reply = self._call(command, ctx)  # answered; the conversation waits
        if flow.active and (flow.name, flow.state) == where:
            conv = self.conversations.get(flow.name)
            waiting = conv.waiting(ctx) if conv is not None else None
            if waiting:
                reply = f"{reply}\n\n{waiting}" if reply else waiting
        return reply

    def is_instant(self, msg: Incoming, flow: Flow) -> bool:
        """Whether msg, from a user in this (loaded) flow, goes to an `instant` keyword handler: a text outside
        any conversation whose keyword's handler is marked so. Reads nothing; dispatch() does the rest."""
        text = msg.text
        if msg.is_event or text is None or flow.active:
            return False
        command = self.read(text)
        handler = self.keywords.get(command.lower())
        if not getattr(handler, "instant", False):
            return False
        self._last_read = (text, command)
        return True

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
        msg = ctx.message
        handler = self.clicks.get(msg.key) if msg.event == "click" else self.events.get(msg.event)
        return self._call(handler, ctx) if handler else None


def _expired_text(ctx: Context, flow_name: str) -> str:
    key = f"flows.{flow_name}"
    if ctx.bot.texts.has(f"{key}.expired"):  # what coming back does, where it is not starting again (答题 resumes)
        return ctx.t(f"{key}.expired", minutes=ctx.bot.settings.flow_ttl_minutes)
    title = ctx.t(f"{key}.title") if ctx.bot.texts.has(f"{key}.title") else flow_name
    restart = ctx.t(f"{key}.restart") if ctx.bot.texts.has(f"{key}.restart") else "帮助"
    return ctx.t("general.flow_expired", title=title, restart=restart,
                 minutes=ctx.bot.settings.flow_ttl_minutes)
