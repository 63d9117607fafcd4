"""Attacks on the store, shared by tests/test_attacks_store.py and bench/attack.py: damaged backup
archives, and `youthbot restore` / `backup` run in a real process and killed with SIGKILL.

A store's state is compared by fingerprint: every key with its DUMP payload and whether it expires,
so "wholly before or wholly after" is checked key by key, value by value.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent


def raw_client(redis_url: str, db: int = 0) -> redis.Redis:
    return redis.Redis(connection_pool=redis.ConnectionPool.from_url(redis_url, db=db), socket_timeout=30)


def fill(r: redis.Redis, tag: str, n: int, staff: int = 3) -> None:
    """n keys under tag: strings with a phone-like value, a few hashes (staff accounts), a sorted set."""
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.set(f"yb:{tag}:p:{i}", f"{tag}-居民{i}-1380000{i % 10000:04d}")
        if len(pipe) >= 2000:
            pipe.execute()
    for i in range(staff):
        pipe.hset(f"yb:staff:{tag}{i}", mapping={"role": "admin", "hash": f"argon2-{tag}-{i}"})
    pipe.zadd(f"yb:{tag}:index", {str(i): i for i in range(min(n, 500))})
    pipe.set(f"yb:{tag}:expiring", "x", ex=3600)
    pipe.execute()


def fingerprint(r: redis.Redis) -> dict[bytes, tuple[bytes, bool]]:
    """Every key: (its DUMP payload, whether it expires)."""
    from tests.helpers import dump_all

    return {k: (payload, pttl >= 0) for k, (payload, pttl) in dump_all(r, ttl=True).items()}


def which_state(now: dict, before: dict, after: dict) -> str:
    """'before', 'after', or a description of the mixture found."""
    if now == before:
        return "before"
    if now == after:
        return "after"
    return (f"MIXED: {len(now)} keys; {len(set(now) & set(before))} of the {len(before)} old ones, "
            f"{len(set(now) & set(after))} of the {len(after)} new ones")


# -- damaged archives ----------------------------------------------------------------------------
def _members(archive: Path) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    with tarfile.open(archive, "r:gz") as tar:
        return [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]


def _write(out: Path, members) -> Path:
    with tarfile.open(out, "w:gz") as tar:
        for m, data in members:
            if data is None:
                tar.addfile(m)
            else:
                m.size = len(data)
                tar.addfile(m, io.BytesIO(data))
    return out


def truncated(archive: Path, out: Path, keep: float = 0.5) -> Path:
    """The archive cut after `keep` of its bytes (a copy that stopped half way)."""
    data = Path(archive).read_bytes()
    out.write_bytes(data[:int(len(data) * keep)])
    return out


def with_store(archive: Path, out: Path, change, fix_checksum: bool) -> Path:
    """The archive with store.jsonl's lines changed by change(lines) -> lines; the manifest's checksum
    and count updated to match when fix_checksum (a forger's or a buggy tool's archive)."""
    members = _members(archive)
    store = next(d for m, d in members if m.name == "store.jsonl")
    lines = change(store.splitlines(keepends=True))
    new_store = b"".join(lines)
    result = []
    for m, data in members:
        if m.name == "store.jsonl":
            data = new_store
        elif m.name == "manifest.json" and fix_checksum:
            manifest = json.loads(data)
            manifest["sha256"] = hashlib.sha256(new_store).hexdigest()
            manifest["keys"] = len(lines)
            data = json.dumps(manifest).encode()
        result.append((m, data))
    return _write(out, result)


def bad_json_line(lines: list[bytes]) -> list[bytes]:
    lines = list(lines)
    lines[len(lines) // 2] = b'{"k": "eWI6eA==", "t": 0, "v": \n'
    return lines


def bad_payload(lines: list[bytes]) -> list[bytes]:
    """A well-formed record whose DUMP payload's bytes were changed (its own CRC no longer matches)."""
    import base64

    lines = list(lines)
    at = len(lines) // 2
    rec = json.loads(lines[at])
    payload = bytearray(base64.b64decode(rec["v"]))
    payload[1] ^= 0x55
    rec["v"] = base64.b64encode(bytes(payload)).decode()
    lines[at] = json.dumps(rec).encode() + b"\n"
    return lines


def flipped_value(lines: list[bytes]) -> list[bytes]:
    return bad_payload(lines)


def gzip_garbage(out: Path) -> Path:
    out.write_bytes(gzip.compress(b"not a tar at all" * 100))
    return out


# -- commands run in a real process and killed ------------------------------------------------------
def command(redis_url: str, *args: str, data_dir: Path | None = None, log: Path | None = None) -> subprocess.Popen:
    env = {**os.environ, "REDIS_URL": redis_url, "LOAD_DEMO": "0", "WECHAT_TOKEN": "testtoken"}
    if data_dir is not None:
        env["DATA_DIR"] = str(data_dir)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    out = open(log, "ab") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen([sys.executable, "-m", "bot.cli", *args], env=env, cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT)
    finally:
        if log:
            out.close()


def kill_after(proc: subprocess.Popen, delay: float, until=None, deadline: float = 60) -> bool:
    """SIGKILL proc after `delay` seconds, or as soon as until() is true; False when it had ended first."""
    end = time.monotonic() + (deadline if until else delay)
    try:
        while time.monotonic() < end:
            if proc.poll() is not None:
                return False
            if until is not None and until():
                break
            time.sleep(0.01)
        if proc.poll() is not None:
            return False
        proc.send_signal(signal.SIGKILL)
        return True
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(30)


# -- the console in a real process, killed mid-upload -------------------------------------------------
CONSOLE_SERVER = """
import sys
from pathlib import Path
from werkzeug.serving import make_server
from bot.app import create_app
from bot.config import Settings
settings = Settings(wechat_token="testtoken", redis_url=sys.argv[1], data_dir=Path(sys.argv[2]), load_demo="0",
                    admin_cookie_secure=False)
server = make_server("127.0.0.1", int(sys.argv[3]), create_app(settings), threaded=True)
print("serving", flush=True)
server.serve_forever()
"""


def console_server(redis_url: str, data_dir: Path, port: int, log: Path) -> subprocess.Popen:
    """The app (webhook and console) in its own process on 127.0.0.1:port; waits until it answers."""
    import requests

    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PROMETHEUS_MULTIPROC_DIR")}
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-c", CONSOLE_SERVER, redis_url, str(data_dir), str(port)],
                                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code < 500:
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    stop(proc)
    raise AssertionError(Path(log).read_text(errors="replace"))


def console_login(base: str, name: str, password: str):
    import re

    import requests

    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(f"{base}/admin/login", timeout=30).text).group(1)
    resp = s.post(f"{base}/admin/login", data={"name": name, "password": password, "csrf_token": token},
                  allow_redirects=False, timeout=30)
    assert resp.status_code == 302, resp.text[:500]
    return s


def csrf_of(session, url: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', session.get(url, timeout=30).text).group(1)


def events_sheet(path: Path, n: int, tag: str = "kill") -> Path:
    """An events sheet of n one-off events, ids {tag}-0 .. {tag}-(n-1), on the days ahead."""
    from openpyxl import Workbook

    from domain import clock

    from tests.helpers import EVENT_HEADERS, event_row

    wb = Workbook()
    ws = wb.active
    ws.append(EVENT_HEADERS)
    for i in range(n):
        when = clock.local(time.time() + (3 + i % 60) * 86400).strftime("%Y-%m-%d")
        ws.append(event_row(id=f"{tag}-{i}", title=f"敬老服务 {i}", category="敬老", place="白石坡社区养老院",
                            start=f"{when} 09:00", end="11:30", capacity=30, signup_deadline_hours=2,
                            cancel_cutoff_hours=24, description="为老人送水果。"))
    wb.save(path)
    return path


def upload_in_thread(session, url: str, token: str, path: Path, field: str = "sheet"):
    """POST the file from a thread (the server may be killed under it); returns (thread, result list)."""
    import threading

    import requests

    result = []

    def go():
        try:
            with open(path, "rb") as fh:
                resp = session.post(url, data={"csrf_token": token}, files={field: (path.name, fh.read())}, timeout=300)
            result.append(resp.status_code)
        except requests.RequestException as exc:
            result.append(type(exc).__name__)

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, result
