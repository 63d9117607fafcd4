"""Reading the keys that match a pattern, a batch at a time: only for building an index a store lacks
(domain/indexes.py runs the builds once); no request reads the keyspace."""
from __future__ import annotations

from typing import Callable


def scan_step(redis, cursor: int, pattern: str, batch: int, index: Callable[[object, list[str]], None]) -> int:
    """One step of a build that reads the keys matching pattern: index(redis, keys) for the next batch from cursor;
    the next cursor, 0 when done. On a Redis Cluster (a cursor per node) it walks every primary in one call."""
    if hasattr(redis, "get_primaries"):  # a cluster client: scan_iter walks every primary
        keys = []
        for k in redis.scan_iter(match=pattern, count=batch):
            keys.append(k)
            if len(keys) == batch:
                index(redis, keys)
                keys = []
        index(redis, keys)
        return 0
    cursor, keys = redis.scan(cursor, match=pattern, count=batch)
    index(redis, keys)
    return int(cursor)
