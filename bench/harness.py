"""Shared benchmark plumbing: start servers, run wrk, take medians."""
from __future__ import annotations

import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from bot.wechat.simulator import sign

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "benchtoken"
SESSIONS: dict[str, int] = {}  # URL or socket of a server started here -> its session id (for cpu_seconds)
_TICK = os.sysconf("SC_CLK_TCK")


def session_of(pid: int) -> int:
    """The session id of a process (a daemonised Redis leads its own)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[3])


def cpu_seconds(session_id: int, only_leader: bool = False) -> float:
    """CPU time (user + system) used so far by the live processes of one session (a server and its children).

    only_leader: of the session's leader alone (a Redis server, not its AOF-rewrite children).
    """
    total = 0
    stats = [Path(f"/proc/{session_id}/stat")] if only_leader else Path("/proc").glob("[0-9]*/stat")
    for stat in stats:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session_id:  # field 6 of /proc/<pid>/stat: the session id
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(app: str, workers: int = 2, env: dict | None = None, config: bool = False, extra=(),
             python: str = sys.executable):
    """Serve a WSGI app with gunicorn on a free port; yield the base URL."""
    port = free_port()
    cmd = [python, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", str(workers), "--log-level", "warning"]
    if config:
        cmd += ["-c", "python:bot.runtime.gunicorn_conf"]
    cmd += list(extra) + [app]
    full_env = {**os.environ, "WECHAT_TOKEN": TOKEN, "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}", **(env or {})}
    proc = subprocess.Popen(cmd, env=full_env, cwd=ROOT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    SESSIONS[url] = proc.pid
    try:
        _wait_up(url, proc)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def _wait_up(url: str, proc, timeout: float = 180.0) -> None:
    """Until the server answers (a busy machine boots youthbot's workers slowly), or it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            requests.post(url + "/wechat", timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def youthbot_env(data_dir: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(DATA_DIR=data_dir or tempfile.mkdtemp(prefix="youthbot-bench-"), WECHAT_AES_KEY="")
    return env


def signed_path() -> str:
    ts, nonce = str(int(time.time())), "12345"
    return f"/wechat?signature={sign(TOKEN, ts, nonce)}&timestamp={ts}&nonce={nonce}"


def wrk(url: str, content: str, connections: int = 32, seconds: int = 8, threads: int = 2, users: int = 5000,
        prefix: str = "o_bench") -> dict:
    """Run wrk with signed text messages from senders <prefix>_<thread>_<n % users>.

    Returns rps, p50 and p99 (ms), errors (socket errors + non-2xx), non2xx, requests.
    """
    base = int(time.time() * 1000) % 10**9 * 10**9
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "-s", str(ROOT / "bench/wechat_text.lua"),
         url, "--", signed_path(), content, str(base), str(users), prefix],
        capture_output=True, text=True, check=True).stdout
    m = re.search(r"RESULT rps=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+) errors=(\d+) non2xx=(\d+) requests=(\d+)", out)
    if not m:
        raise RuntimeError(out)
    return {"rps": float(m[1]), "p50": float(m[2]), "p99": float(m[3]), "errors": int(m[4]) + int(m[5]),
            "non2xx": int(m[5]), "requests": int(m[6])}


@contextmanager
def redis_server(binary: str, appendfsync: str, directory: str | None = None):
    """Run a Redis-compatible server with an append-only file and the given fsync policy; yield its socket."""
    directory = directory or tempfile.mkdtemp(prefix="bench-redis-")
    socket_path = os.path.join(directory, "redis.sock")
    proc = subprocess.Popen([binary, "--port", "0", "--unixsocket", socket_path, "--unixsocketperm", "700",
                             "--dir", directory, "--save", "", "--appendonly", "yes", "--appendfsync", appendfsync,
                             "--daemonize", "no", "--loglevel", "warning"],
                            stdout=subprocess.DEVNULL, start_new_session=True)
    SESSIONS[socket_path] = proc.pid
    try:
        for _ in range(100):
            if os.path.exists(socket_path):
                break
            if proc.poll() is not None:
                raise RuntimeError(f"{binary} exited")
            time.sleep(0.05)
        yield socket_path
    finally:
        proc.terminate()
        proc.wait(30)


def median_of(runs: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def fmt(name: str, r: dict) -> str:
    return f"{name:<28} {r['rps']:>9.0f} msg/s   p50 {r['p50']:>6.2f} ms   p99 {r['p99']:>6.2f} ms   errors {r['errors']:.0f}"


class ServerCounters:
    """What a Redis-compatible server did between two snapshots, from its own figures.

    - round trips: `total_reads_processed` (INFO stats, Redis >= 6.0): one read event per request
      or pipeline a client sends;
    - commands and write commands: `INFO commandstats` (write: the server's own COMMAND flags);
    Per message is per request wrk counted; the up to `connections` requests still in flight when wrk
    stops are done by the server too (settled() waits for them), so a run of n requests overstates each
    figure by at most connections / n (0.4 % for 8,000 requests; a 1-second smoke run is far off).

    - AOF writes: write syscalls of the server's threads (/proc/<pid>/task/*/io `syscw`) less its replies to
      clients (`total_writes_processed`). Under `appendfsync always` the server fsyncs after each AOF write,
      so this is the number of fsyncs (concurrent clients' writes in one event-loop turn share one). Per
      thread, not the process's /proc/<pid>/io: the kernel adds a reaped child's writes to its parent's, and
      every RDB snapshot (the embedded server's `save 15 1000` under load: one every 15 s or so) and AOF
      rewrite is a child writing the whole store, which showed as 3-4 "fsyncs" per message in whichever run
      it ended (a sign-up at 5.5 in one run, 2.0 in the next).
    - expired keys (`expired_keys`, INFO stats): each is a DEL the server writes to the AOF on its own;
      forks (`total_forks`): RDB snapshots and AOF rewrites started meanwhile (their CPU is the child's).
    """

    FIELDS = ("round_trips", "commands", "write_commands", "aof_writes", "expired", "forks")

    def __init__(self, client):
        self.client = client
        self.pid = int(client.info("server")["process_id"])
        self.writes = {name.lower() for name, spec in client.command().items() if "write" in spec["flags"]}
        self.taken = 0  # INFO calls made: each is one read and one command of its own

    def snapshot(self) -> dict:
        self.taken += 1
        info = self.client.info("all")
        syscw = 0
        for task in Path(f"/proc/{self.pid}/task").iterdir():  # the server's own threads (see the class)
            try:
                io = dict(line.split(": ") for line in (task / "io").read_text().splitlines())
            except OSError:  # a thread that ended meanwhile
                continue
            syscw += int(io["syscw"])
        calls = {k[len("cmdstat_"):]: v["calls"] for k, v in info.items() if k.startswith("cmdstat_")}
        return {"reads": info["total_reads_processed"], "replies": info["total_writes_processed"],
                "commands": info["total_commands_processed"], "syscw": syscw, "calls": calls,
                "expired": info.get("expired_keys", 0), "forks": info.get("total_forks", 0), "own": self.taken}

    def settled(self, quiet: float = 0.1, timeout: float = 15.0) -> dict:
        """A snapshot once the server has read nothing new for `quiet` seconds: the requests wrk left in
        flight when it stopped are done, so they count for this run and not for the next system's."""
        deadline = time.monotonic() + timeout
        last = self.snapshot()
        while time.monotonic() < deadline:
            time.sleep(quiet)
            now = self.snapshot()
            if now["reads"] - last["reads"] <= 1:  # only our own INFO
                return now
            last = now
        return last

    def per_message(self, before: dict, after: dict, messages: int) -> dict:
        """The figures per message between two snapshots (the snapshots' own INFO calls taken out)."""
        if messages <= 0:  # nothing measured (a run too short for this case): no figures, not junk
            return {field: float("nan") for field in self.FIELDS}
        n = messages
        own = after["own"] - before["own"]  # the snapshots' INFO calls since `before`
        writes = sum(after["calls"].get(c, 0) - before["calls"].get(c, 0)
                     for c in set(after["calls"]) if c.split("|")[0] in self.writes)
        # our own INFO replies are in both syscw and total_writes_processed: they cancel out
        aof = (after["syscw"] - before["syscw"]) - (after["replies"] - before["replies"])
        return {"round_trips": (after["reads"] - before["reads"] - own) / n,
                "commands": (after["commands"] - before["commands"] - own) / n,
                "write_commands": writes / n, "aof_writes": max(aof, 0) / n,
                "expired": (after["expired"] - before["expired"]) / n, "forks": after["forks"] - before["forks"]}

