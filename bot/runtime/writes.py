"""Which messages change anything: a Redis client that notices a thread's first write.

The webhook claims a message in the ledger only when its handler is about to
change something, so that read-only messages (帮助, browsing) write nothing:
with `appendfsync always`, every write waits for an fsync, and a message that
writes nothing waits for none. `WriteScope` runs a callback (the claim) once,
just before the first write command this thread sends while the scope is
open; the callback may raise to stop the handler before it has written
anything.

Every command not known to be a read counts as a write (Lua scripts included),
so a command this list misses costs an unneeded claim, never a missed one.
"""
from __future__ import annotations

import threading
from typing import Callable

import redis
from redis.client import Pipeline
from redis.cluster import ClusterPipeline, RedisCluster

READS = frozenset({
    "GET", "MGET", "GETRANGE", "STRLEN", "EXISTS", "TTL", "PTTL", "TYPE", "SCAN", "KEYS", "DBSIZE",
    "HGET", "HMGET", "HGETALL", "HKEYS", "HVALS", "HLEN", "HEXISTS", "HSCAN", "HSTRLEN",
    "SISMEMBER", "SMISMEMBER", "SMEMBERS", "SCARD", "SSCAN", "SRANDMEMBER", "SINTER", "SUNION", "SDIFF",
    "ZSCORE", "ZMSCORE", "ZRANK", "ZREVRANK", "ZRANGE", "ZREVRANGE", "ZRANGEBYSCORE", "ZREVRANGEBYSCORE",
    "ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZCARD", "ZCOUNT", "ZLEXCOUNT", "ZSCAN",
    "LRANGE", "LLEN", "LINDEX", "LPOS",
    "PING", "ECHO", "INFO", "TIME", "CONFIG GET", "SCRIPT EXISTS", "SCRIPT LOAD", "MEMORY USAGE",
    "EVALSHA_RO", "EVAL_RO", "WATCH", "UNWATCH",
})

_local = threading.local()


class WriteScope:
    """While open in a thread: call `before_first_write()` once, before that thread's first write."""

    def __init__(self, before_first_write: Callable[[], None]):
        self._before = before_first_write
        self.wrote = False

    def __enter__(self) -> "WriteScope":
        _local.scope = self
        return self

    def __exit__(self, *exc) -> None:
        _local.scope = None

    def _first_write(self) -> None:
        self.wrote = True
        _local.scope = None  # the callback's own commands are not the handler's
        try:
            self._before()
        finally:
            _local.scope = self


def _noticed(name: str) -> None:
    scope = getattr(_local, "scope", None)
    if scope is not None and not scope.wrote and name not in READS:
        scope._first_write()


class TrackingRedis(redis.Redis):
    """redis.Redis that tells an open WriteScope about writes (single commands, scripts, pipelines)."""

    def execute_command(self, *args, **options):
        _noticed(args[0])
        return super().execute_command(*args, **options)

    def pipeline(self, transaction=True, shard_hint=None) -> "TrackingPipeline":
        return TrackingPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


class TrackingPipeline(Pipeline):
    def execute(self, raise_on_error: bool = True):
        for args, _ in self.command_stack:
            _noticed(args[0])
        return super().execute(raise_on_error)

    def immediate_execute_command(self, *args, **options):  # commands sent at once while WATCHing
        _noticed(args[0])
        return super().immediate_execute_command(*args, **options)


class TrackingRedisCluster(RedisCluster):
    """RedisCluster that tells an open WriteScope about writes, as TrackingRedis does: a pipeline's
    commands are noticed as they are queued (before they are sent)."""

    def execute_command(self, *args, **kwargs):
        _noticed(args[0])
        return super().execute_command(*args, **kwargs)

    def pipeline(self, transaction=None, shard_hint=None) -> "TrackingClusterPipeline":
        base = super().pipeline(transaction, shard_hint)
        base.__class__ = TrackingClusterPipeline  # the same pipeline, with its commands noticed
        return base


class TrackingClusterPipeline(ClusterPipeline):
    def execute_command(self, *args, **kwargs):
        _noticed(args[0])
        return super().execute_command(*args, **kwargs)


def tracks_writes(client) -> bool:
    """Whether client tells an open WriteScope about writes (so a claim can wait for the first one)."""
    return isinstance(client, (TrackingRedis, TrackingRedisCluster))
