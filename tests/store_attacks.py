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
    keys = list(r.scan_iter(count=5000))
    out = {}
    for at in range(0, len(keys), 2000):
        part = keys[at:at + 2000]
        pipe = r.pipeline(transaction=False)
        for k in part:
            pipe.dump(k)
            pipe.pttl(k)
        res = pipe.execute()
        for i, k in enumerate(part):
            if res[2 * i] is not None:
                out[k] = (res[2 * i], res[2 * i + 1] >= 0)
    return out


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
