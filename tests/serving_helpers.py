"""Start `youthbot serve` (gunicorn, real processes) for tests that need the real server."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(data_dir: Path, port: int, workers: int = 2, app: str | None = None, log_path: Path | None = None,
                **env_extra) -> subprocess.Popen:
    """`youthbot serve` on 127.0.0.1:port with its own DATA_DIR; waits for /healthz."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(DATA_DIR=str(data_dir), WECHAT_AES_KEY="", LOAD_DEMO="1")
    env.update({k: str(v) for k, v in env_extra.items()})
    cmd = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", str(workers)]
    if app:
        cmd += ["--app", app]
    out = open(log_path, "ab") if log_path else subprocess.PIPE
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 40
    while time.time() < deadline:
        if proc.poll() is not None:
            break
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return proc
        except requests.ConnectionError:
            time.sleep(0.2)
    stop(proc, signal.SIGKILL)
    text = log_path.read_text(errors="replace") if log_path else proc.stdout.read().decode(errors="replace")
    raise AssertionError(text)


def stop(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 30) -> int:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
    return proc.wait(timeout)
