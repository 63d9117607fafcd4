"""A user's own writes held back until the message's one write call.

While a message is handled, the steps of a conversation change the user's flow
and profile (keys under the user's hash tag {u:<openid>}). Instead of each going
to Redis at once, they are held here (one holder per thread, opened by the
router around a message) and leave in ONE server-side script call together
with the state change the message makes (a sign-up, an interest, ...), or on
their own at the end of the message when it makes none. A message killed
before that call leaves all of them undone, never half.

Reads of the profile within the same message see the held values
(domain/profiles.py overlays them). Each state-change script starts with
APPLY_LUA and runs the held commands first (they were issued first).

`one_server(redis)`: a script may touch keys of several hash tags only on a
single server (or a Sentinel-managed primary). On a Redis Cluster the held
writes leave in their own call (their keys share the user's slot) and a state
change spanning an event's slot and the user's makes one call per slot.
"""
from __future__ import annotations

import json
import threading
import weakref
from contextlib import contextmanager

from domain.scripting import register

# The commands a held write may be; every argument a string.
ALLOWED = frozenset({"HSET", "HDEL", "DEL", "EXPIRE", "SET", "ZADD", "ZREM"})  # ZADD/ZREM: the search index, one server only

# Run the held commands: ops_json is [[command, key index (1-based, after `base`), arg, ...], ...].
APPLY_LUA = """
local function apply_ops(ops_json, base)
  if ops_json == nil or ops_json == '' then return end
  for _, op in ipairs(cjson.decode(ops_json)) do
    local args = {op[1], KEYS[base + op[2]]}
    for i = 3, #op do args[#args + 1] = op[i] end
    redis.call(unpack(args))
  end
end
"""

# KEYS: the held writes' keys. ARGV[1]: the held commands.
_FLUSH = APPLY_LUA + "apply_ops(ARGV[1], 0)\nreturn 1\n"

_local = threading.local()
_flushers: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _flusher(redis):
    script = _flushers.get(redis)
    if script is None:
        script = _flushers[redis] = register(redis, _FLUSH)
    return script


def one_server(redis) -> bool:
    """Whether one script may touch keys of different hash tags (not a Redis Cluster client)."""
    return not hasattr(redis, "get_primaries")


class UserWrites:
    """The writes to one user's keys held for the message's write call."""

    def __init__(self, redis, openid: str):
        self.redis, self.openid = redis, openid
        self._ops: list[list[str]] = []
        self._keys: list[str] = []
        self.profile: dict[str, str | None] = {}  # profile field -> value held (None: deleted)

    def add(self, command: str, key: str, *args) -> None:
        assert command in ALLOWED, command
        if key not in self._keys:
            self._keys.append(key)
        self._ops.append([command, self._keys.index(key) + 1, *(str(a) for a in args)])

    def __bool__(self) -> bool:
        return bool(self._ops)

    def take(self) -> tuple[list[str], str]:
        """(keys, commands as JSON) for a state-change script to run first; the holder is emptied."""
        keys, ops = self._keys, json.dumps(self._ops, ensure_ascii=False) if self._ops else ""
        self._keys, self._ops = [], []
        return keys, ops

    def flush(self) -> None:
        """Send what is held, in one call (nothing held: nothing sent)."""
        if self._ops:
            keys, ops = self.take()
            _flusher(self.redis)(keys=keys, args=[ops])


def held(openid: str) -> UserWrites | None:
    """The holder open in this thread for openid's writes, if any."""
    batch = getattr(_local, "batch", None)
    return batch if batch is not None and batch.openid == openid else None


def send(redis, openid: str, *ops: tuple) -> None:
    """Write ops, each (command, key, *args), to openid's own keys: held for the message's one write call while
    a holder is open for openid (holding()), else sent at once, in one round trip."""
    batch = held(openid)
    if batch is not None:
        for op in ops:
            batch.add(*op)
        return
    pipe = redis.pipeline(transaction=False)
    for op in ops:
        pipe.execute_command(*op)
    pipe.execute()


def take_for(redis, openid: str) -> tuple[list[str], str]:
    """The held writes of openid to run inside a script that may touch their keys: (keys, commands).

    On a Cluster (the script runs in another slot) they are sent first, in their own call."""
    batch = held(openid)
    if batch is None or not batch:
        return [], ""
    if not one_server(redis):
        batch.flush()
        return [], ""
    return batch.take()


@contextmanager
def holding(redis, openid: str):
    """Hold openid's own writes in this thread; send what is left in one call at the end.

    When the body raises, what was held is dropped: the message changed none of it."""
    previous = getattr(_local, "batch", None)
    batch = _local.batch = UserWrites(redis, openid)
    try:
        yield batch
        batch.flush()
    finally:
        _local.batch = previous
