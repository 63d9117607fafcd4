"""Lua scripts that can carry a caller's "claim before the first write" (a `SET key value NX EX ttl`).

`register(redis, lua)` is a drop-in for `redis.register_script(lua)`. While a
thread has a pending first write (`first_write(prefix)`, opened by the caller
around work that may change something), the script's next call runs that
`SET NX EX` and the script's own writes atomically, in one EVALSHA: when the
key is already set, nothing is written and `prefix.refused()` is called (it
raises). Otherwise (no pending write, a pipeline, or on a Redis Cluster a key
in another slot than the prefix's) the script runs as registered, and the
caller's own write tracking takes the claim separately, as before.

The domain knows the prefix only as a generic `SET NX EX`; what it means (the
message ledger's claim, bot/web/handling.py) is the caller's business.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable

from redis.client import Pipeline
from redis.exceptions import ResponseError

TAKEN = "YBTAKEN"  # the error a carrying script answers when the SET NX found its key set

# Run first: the carried SET NX (the last key, the last two arguments), then the script's own body with
# KEYS and ARGV as its caller passed them (local copies without the carried key and arguments).
_PRELUDE = """
local yb_nk, yb_na = #KEYS, #ARGV
if not redis.call('SET', KEYS[yb_nk], ARGV[yb_na - 1], 'NX', 'EX', ARGV[yb_na]) then
  return redis.error_reply('%s')
end
local yb_keys, yb_argv = {}, {}
for i = 1, yb_nk - 1 do yb_keys[i] = KEYS[i] end
for i = 1, yb_na - 2 do yb_argv[i] = ARGV[i] end
local KEYS, ARGV = yb_keys, yb_argv
""" % TAKEN

_local = threading.local()


class Prefix:
    """A `SET key value NX EX ttl` that must come before the thread's first write.

    refused(): called (it should raise) when a script carrying it found the key already set.
    done: True once a script has carried it (whatever that script's outcome), or the caller wrote it
    itself: no later script carries it again.
    """

    def __init__(self, key: str, value: str, ttl: int, refused: Callable[[], None]):
        self.key, self.value, self.ttl = key, value, ttl
        self.refused = refused
        self.done = False


@contextmanager
def first_write(prefix: Prefix):
    """While open, the thread's next script call that can carry `prefix` does."""
    outer = getattr(_local, "prefix", None)
    _local.prefix = prefix
    try:
        yield prefix
    finally:
        _local.prefix = outer


def pending() -> Prefix | None:
    """The thread's prefix still to be written, if any."""
    prefix = getattr(_local, "prefix", None)
    return prefix if prefix is not None and not prefix.done else None


def one_server(redis) -> bool:
    """Whether a script may touch keys in any slot (not a Redis Cluster client)."""
    return not hasattr(redis, "keyslot")


def _same_slot(client, keys) -> bool:
    """Whether every key lives in one slot where that matters (a Cluster client has keyslot())."""
    keyslot = getattr(client, "keyslot", None)
    if keyslot is None:
        return True
    return len({keyslot(k) for k in keys}) == 1


class Script:
    """A registered Lua script; calls like redis-py's Script (keys=, args=, client=)."""

    def __init__(self, redis, lua: str):
        self._redis = redis
        self._plain = redis.register_script(lua)
        self._carrying = None
        self._lua = lua

    def __call__(self, keys=(), args=(), client=None):
        client = self._redis if client is None else client
        prefix = pending()
        if prefix is None or isinstance(client, Pipeline) or not _same_slot(client, [*keys, prefix.key]):
            return self._plain(keys=keys, args=args, client=client)
        if self._carrying is None:
            self._carrying = self._redis.register_script(_PRELUDE + self._lua)
        prefix.done = True
        try:
            return self._carrying(keys=[*keys, prefix.key], args=[*args, prefix.value, prefix.ttl], client=client)
        except ResponseError as exc:
            if TAKEN not in str(exc):
                raise
        prefix.refused()
        raise RuntimeError("Prefix.refused() must raise")


def register(redis, lua: str) -> Script:
    """redis.register_script(lua), able to carry the thread's pending first write (see the module's text)."""
    return Script(redis, lua)
