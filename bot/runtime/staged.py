"""All or nothing for a long piece of work on the store: run it against a staging database, then
switch its changes in with one MULTI/EXEC.

A console upload (an events sheet of 3,000 rows, a question bank, a postings file) runs the
same domain code as every other change: many commands, scripts and small pipelines, each
reading what the one before wrote. Killed half way (the worker's timeout, an OOM kill, a
deploy), it used to leave half a sheet in the store. Here the work gets a client that:

1. before touching a key for the first time, WATCHes it in the live database and COPYs it
   (with its expiry) into the staging database (COPY ... DB n, Redis 6.2+);
2. runs every command, script and pipeline against the staging database, so the work
   reads its own writes as usual;
3. at the end, in one MULTI/EXEC on the live database's connection, deletes the keys the
   work deleted and COPYs back every key it wrote. A key someone else changed meanwhile
   (a resident signing up to an event being updated) makes the EXEC fail (WATCH), and the
   work runs again on fresh copies, up to RETRIES times.

A kill before the EXEC leaves the live store as it was (what the staging database holds is
emptied by the next staged run or the next start); after it, every change is there. Redis
applies a MULTI/EXEC whole, and writes it to the AOF as one block that a restart replays
whole or not at all. One staged run at a time per store (a lock with an expiry): uploads
are rare, and the staging database is shared.

Not on a Redis Cluster (one database only): there the work runs directly, as before.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from typing import Callable, TypeVar

import redis
from redis.client import Pipeline

from bot.runtime.writes import READS

log = logging.getLogger(__name__)

T = TypeVar("T")
LOCK = "yb:staged:lock"
MARK = "yb:staged:mark"  # in the staging database while a staged run uses it: only then is it emptied
RETRIES = 3
LOCK_MS = 300_000
KEYLESS = {"SCAN", "KEYS", "RANDOMKEY", "DBSIZE", "FLUSHDB", "FLUSHALL", "SWAPDB", "SELECT", "MOVE", "COPY"}


class StagedError(Exception):
    """The work could not be applied (busy, or others kept changing what it touches); nothing was changed."""


class Busy(StagedError):
    """Another staged run holds the lock."""


class Contended(StagedError):
    """Others kept changing what the work touches, every try."""


def staging_db(client) -> int:
    """The database staged runs use: the server's last but one (restores stage in the last)."""
    try:
        databases = int(client.config_get("databases").get("databases", 16))
    except redis.RedisError:
        databases = 16
    live = int(client.connection_pool.connection_kwargs.get("db") or 0)
    db = databases - 2
    if databases < 3 or db == live:
        raise StagedError(f"the store's Redis has {databases} databases; staging needs three (databases 16)")
    return db


def supported(client) -> bool:
    return isinstance(client, redis.Redis) and not os.environ.get("REDIS_CLUSTER") == "1"


def _holder_gone(live) -> bool:
    """Drop the lock of a staged run whose process (on this machine) is gone; True when dropped."""
    holder = live.get(LOCK)
    if not holder:
        return False
    host, _, rest = str(holder).partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's: its expiry frees it
    try:
        os.kill(int(pid), 0)
        return False
    except ProcessLookupError:
        pass
    except PermissionError:
        return False
    _release(live, holder)
    log.warning("staged run: process %s was killed while it held the lock; its changes were not applied", pid)
    return True


def clear_leftovers(client) -> bool:
    """Empty the staging database when no staged run holds the lock (what a killed one left); True when emptied."""
    if not supported(client):
        return False
    try:
        _holder_gone(client)
        if client.exists(LOCK):
            return False
        stage = _stage_client(client, staging_db(client))
        try:
            if stage.exists(MARK):  # never a database holding something else
                stage.flushdb()
                return True
        finally:
            stage.close()
    except (redis.RedisError, StagedError):
        pass
    return False


def _stage_client(live, db: int) -> redis.Redis:
    kwargs = dict(live.connection_pool.connection_kwargs)
    kwargs["db"] = db
    return redis.Redis(connection_pool=redis.ConnectionPool(connection_class=live.connection_pool.connection_class,
                                                            **kwargs))


def run(live, work: Callable[[redis.Redis], T], wait: float = 10.0) -> T:
    """work(client) with all its writes applied at once or not at all; returns what work returned."""
    if not supported(live):
        return work(live)
    db = staging_db(live)
    token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(8)}"
    deadline = time.monotonic() + wait
    while not live.set(LOCK, token, nx=True, px=LOCK_MS):
        if _holder_gone(live):
            continue
        if time.monotonic() > deadline:
            raise Busy("another upload is being saved")
        time.sleep(0.1)
    try:
        for attempt in range(RETRIES):
            stage = _stage_client(live, db)
            watcher = live.pipeline(transaction=True)
            try:
                held = stage.dbsize()
                if held and not stage.exists(MARK):
                    raise StagedError(f"database {db} of the store's Redis holds {held} keys of something else; "
                                      "uploads stage there: give youthbot a Redis (or databases) of its own")
                stage.flushdb()
                stage.set(MARK, os.getpid())
                client = StagedRedis(stage, watcher, db, int(live.connection_pool.connection_kwargs.get("db") or 0))
                result = work(client)
                client.commit()
                return result
            except redis.WatchError:
                log.info("staged run: a key it touched changed meanwhile; running again (attempt %d)", attempt + 1)
            finally:
                watcher.reset()
                try:
                    if stage.exists(MARK):
                        stage.flushdb()
                finally:
                    stage.close()
        raise Contended("what the upload touches kept changing")
    finally:
        _release(live, token)


def bot_on(bot, client):
    """bot with every service on `client` (a staged client), for work written against the services."""
    from dataclasses import replace

    from domain.certificates import Certificates
    from domain.events import Events
    from domain.followers import Followers
    from domain.jobs import Jobs
    from domain.outbox import Outbox
    from domain.profiles import Profiles
    from domain.quiz import Quiz

    return replace(bot, redis=client, outbox=Outbox(client), events=Events(client), jobs=Jobs(client),
                   quiz=Quiz(client), profiles=Profiles(client), followers=Followers(client),
                   certificates=Certificates(client))


def _release(live, token: str) -> None:
    try:
        live.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
                  1, LOCK, token)
    except redis.RedisError:
        pass


_KEYSPECS: dict[str, tuple[int, int, int, bool]] = {}


def _keyspec(client, name: str):
    """(first, last, step, movable) of a command, from the server's COMMAND table (read once)."""
    if not _KEYSPECS:
        for cmd, info in redis.Redis.execute_command(client, "COMMAND").items():
            flags = {f.decode() if isinstance(f, bytes) else f for f in info.get("flags", [])}
            _KEYSPECS[cmd.lower()] = (int(info["first_key_pos"]), int(info["last_key_pos"]),
                                      int(info["step_count"]), "movablekeys" in flags)
    spec = _KEYSPECS.get(name)
    if spec is None:
        raise StagedError(f"unknown command {name!r} in a staged run")
    return spec


class StagedRedis(redis.Redis):
    """A client on the staging database that copies each key in from the live one before first use."""

    def __init__(self, stage: redis.Redis, watcher: Pipeline, stage_db: int, live_db: int):
        super().__init__(connection_pool=stage.connection_pool)
        self._watcher, self._stage_db, self._live_db = watcher, stage_db, live_db
        self._touched: set = set()
        self._written: dict = {}  # insertion-ordered

    # -- which keys a command names --------------------------------------------------------
    def _keys_of(self, args) -> list:
        parts = args[0].split() + list(args[1:]) if isinstance(args[0], str) else list(args)
        name = str(parts[0]).upper()
        if name in KEYLESS:
            raise StagedError(f"{name} cannot run in a staged upload (it sees only the keys copied in)")
        if name in ("EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"):
            return list(parts[3:3 + int(parts[2])])
        first, last, step, movable = _keyspec(self, name.lower())
        if movable:
            return list(super().execute_command("COMMAND", "GETKEYS", *parts))
        if first <= 0:
            return []
        last = len(parts) + last if last < 0 else last
        return list(parts[first:last + 1:step])

    def _ensure(self, args) -> None:
        keys = self._keys_of(args)
        name = (args[0].split()[0] if isinstance(args[0], str) else str(args[0])).upper()
        fresh = [k for k in keys if k not in self._touched]
        if fresh:
            self._watcher.watch(*fresh)
            for k in fresh:
                self._watcher.execute_command("COPY", k, k, "DB", self._stage_db, "REPLACE")
            self._touched.update(fresh)
        if name not in READS:
            for k in keys:
                self._written[k] = True

    def execute_command(self, *args, **options):
        self._ensure(args)
        return super().execute_command(*args, **options)

    def pipeline(self, transaction=True, shard_hint=None) -> "StagedPipeline":
        pipe = StagedPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)
        pipe._staged = self
        return pipe

    def commit(self) -> int:
        """Switch every written key into the live database at once; raises WatchError when one of the
        touched keys changed there meanwhile. Returns how many keys were written."""
        written = list(self._written)
        if not written:
            return 0
        check = super().pipeline(transaction=False)
        for k in written:
            check.exists(k)
        present = check.execute()
        w = self._watcher
        w.multi()
        gone = [k for k, there in zip(written, present) if not there]
        if gone:
            w.delete(*gone)
        w.execute_command("SELECT", self._stage_db)
        for k, there in zip(written, present):
            if there:
                w.execute_command("COPY", k, k, "DB", self._live_db, "REPLACE")
        w.execute_command("SELECT", self._live_db)
        w.execute()
        return len(written)


class StagedPipeline(Pipeline):
    _staged: StagedRedis

    def execute(self, raise_on_error: bool = True):
        for args, _ in self.command_stack:
            self._staged._ensure(args)
        return super().execute(raise_on_error)
