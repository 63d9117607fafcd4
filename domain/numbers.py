"""Short numbers people type (`报名 3`, `岗位 12`) for records with long ids.

Assigned once per id in one Lua script (no two records ever share a number),
never reused. The three keys share the owner's hash tag.
"""
from __future__ import annotations

from domain.keys import key
from domain.scripting import register

_ASSIGN = """
local n = redis.call('HGET', KEYS[2], ARGV[1])
if n then return tonumber(n) end
n = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[2], ARGV[1], n)
redis.call('HSET', KEYS[1], n, ARGV[1])
return n
"""


class ShortNumbers:
    def __init__(self, redis, tag: str):
        self._redis = redis
        self._keys = [key(tag, "numbers"), key(tag, "number_of"), key(tag, "seq")]  # number->id, id->number
        self._assign = register(redis, _ASSIGN)

    def assign(self, item_id: str) -> int:
        """The id's number, given it now if it has none."""
        return int(self._assign(keys=self._keys, args=[item_id]))

    def lookup(self, number) -> str | None:
        return self._redis.hget(self._keys[0], str(number))
