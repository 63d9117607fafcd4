"""When Redis dies or freezes: WeChat still gets a 200 in time, and the service heals itself (issue 11 #3, #13)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from pathlib import Path

import pytest
import redis
import requests

from bot.runtime import storage
from bot.wechat.simulator import WeChatSimulator, text_xml
from tests.helpers import free_port, start_serve

TOKEN = "servetoken"


def _start(data_dir, port):
    return start_serve(data_dir, port, demo=False, WECHAT_TOKEN=TOKEN)

embedded_only = pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="about the embedded server")


def _post(port, sim, xml, timeout=10):
    params, body = sim.request(xml)
    started = time.monotonic()
    resp = requests.post(f"http://127.0.0.1:{port}/wechat", params=params, data=body, timeout=timeout)
    return resp, time.monotonic() - started


def _redis_servers(data_dir: Path) -> list[int]:
    """Every store server process serving data_dir's socket (Valkey and Redis title themselves with it)."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    sock = "unixsocket:" + storage.socket_path(data_dir)
    return [int(line.split()[0]) for line in out.splitlines()
            if ("valkey-server" in line or "redis-server" in line) and sock in line.split()]


@pytest.fixture
def served(tmp_path):
    port = free_port()
    proc = _start(tmp_path, port)
    logs = []
    threading.Thread(target=lambda: logs.extend(proc.stdout), daemon=True).start()  # never let its pipe fill
    yield tmp_path, port, proc
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    assert _redis_servers(tmp_path) == [], "the service left its redis-server running"
    print(b"".join(logs).decode(errors="replace")[-20000:])


# -- fast: a store that does not answer ---------------------------------------------------------
def test_a_store_that_is_down_gets_the_fixed_text_not_a_500(redis_client, settings, tmp_path):
    from bot.app import create_app
    from tests.helpers import WeChat

    app = create_app(settings, redis_client)
    dead = redis.Redis(unix_socket_path=str(tmp_path / "nobody.sock"), **storage.client_options(1.0))
    app.extensions["youthbot"].redis = dead
    started = time.monotonic()
    reply = WeChat(app.test_client()).send("帮助", "o_down")
    assert reply == app.extensions["youthbot"].texts.get("general.unavailable")
    assert time.monotonic() - started < 2


def test_clients_give_up_after_about_a_second_on_a_frozen_server(tmp_path):
    import socket

    listener = socket.socket(socket.AF_UNIX)  # accepts connections, never answers: a frozen server
    listener.bind(str(tmp_path / "frozen.sock"))
    listener.listen(16)
    client = redis.Redis(unix_socket_path=str(tmp_path / "frozen.sock"), **storage.client_options(1.0))
    started = time.monotonic()
    with pytest.raises(redis.TimeoutError):
        client.get("x")
    assert time.monotonic() - started < 1.8
    listener.close()


# -- slow: the real service, its embedded Redis killed and frozen ------------------------------------------
@embedded_only
@pytest.mark.slow
def test_killed_embedded_redis_answers_200_then_recovers_by_itself(served):
    data_dir, port, _ = served
    sim = WeChatSimulator(TOKEN)
    assert "青年大学习" in sim.reply_text(_post(port, sim, text_xml("o_k", "帮助"))[0].content)
    [pid] = _redis_servers(data_dir)
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    statuses, recovered_after = [], None
    while time.monotonic() - killed < 15:
        resp, took = _post(port, sim, text_xml("o_k", "帮助"))
        statuses.append(resp.status_code)
        assert took < 2.5, took
        if resp.status_code == 200 and "青年大学习" in (sim.reply_text(resp.content) or ""):
            recovered_after = time.monotonic() - killed
            break
        time.sleep(0.1)
    assert set(statuses) == {200}
    assert recovered_after is not None and recovered_after < 10
    assert len(_redis_servers(data_dir)) == 1  # restarted once, by the master: never two


@embedded_only
@pytest.mark.slow
def test_frozen_redis_answers_the_fixed_text_within_2_s_then_recovers(served):
    data_dir, port, _ = served
    sim = WeChatSimulator(TOKEN)
    _post(port, sim, text_xml("o_f", "帮助"))
    [pid] = _redis_servers(data_dir)
    os.kill(pid, signal.SIGSTOP)
    try:
        for i in range(3):
            resp, took = _post(port, sim, text_xml("o_f", "帮助"))
            assert resp.status_code == 200 and took < 2.0
            assert "系统维护中" in sim.reply_text(resp.content)
        assert _redis_servers(data_dir) == [pid]  # frozen is not dead: no second server on its files
    finally:
        os.kill(pid, signal.SIGCONT)
    thawed = time.monotonic()
    while True:
        resp, _ = _post(port, sim, text_xml("o_f", "帮助"))
        if "青年大学习" in (sim.reply_text(resp.content) or ""):
            break
        assert time.monotonic() - thawed < 10
        time.sleep(0.1)


@embedded_only
@pytest.mark.slow
def test_a_command_run_while_the_service_redis_is_down_starts_no_second_server(served):
    data_dir, port, _ = served
    [pid] = _redis_servers(data_dir)
    os.kill(pid, signal.SIGKILL)
    out = _cli(data_dir, "pushes", "stats")
    assert out.returncode == 0, out.stderr
    assert len(_redis_servers(data_dir)) == 1


def _cli(data_dir, *args):
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(DATA_DIR=str(data_dir), LOAD_DEMO="0")
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, capture_output=True, text=True,
                          timeout=60)


@embedded_only
@pytest.mark.slow
def test_a_command_with_no_service_running_leaves_no_redis_behind(tmp_path):
    out = _cli(tmp_path, "pushes", "stats")
    assert out.returncode == 0 and "no pushes yet" in out.stdout, out.stderr
    assert _redis_servers(tmp_path) == []
    assert storage.server_pid(tmp_path) is None


@embedded_only
@pytest.mark.slow
def test_data_files_are_private(served):
    data_dir, port, _ = served
    _post(port, WeChatSimulator(TOKEN), text_xml("o_p", "帮助"))
    assert data_dir.stat().st_mode & 0o777 == 0o700
    files = [f for f in data_dir.iterdir() if f.is_file()]
    assert any(f.name.endswith(".aof") for f in files) or any(data_dir.rglob("*.aof"))
    metrics = data_dir / "metrics"  # Prometheus counters: no personal data in them
    loose = [f.name for f in data_dir.rglob("*") if f.is_file() and f.stat().st_mode & 0o077
             and metrics not in f.parents]
    assert loose == []


# -- 13. gunicorn control sockets and scheduler leadership -------------------------------------------
def test_each_gunicorn_instance_gets_its_own_control_socket(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from bot.cli import main

    seen = []
    monkeypatch.setenv("PUBLIC_URL", "")  # serve sets it in this process: restored (unset) after the test
    monkeypatch.setattr("gunicorn.app.wsgiapp.WSGIApplication.run", lambda self: seen.append(list(sys.argv)))
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    for port in ("8001", "8002"):
        CliRunner().invoke(main, ["serve", "--port", port], env={"DATA_DIR": str(tmp_path)}, catch_exceptions=False)
    sockets = [argv[argv.index("--control-socket") + 1] for argv in seen]
    assert len(set(sockets)) == 2 and all(len(s) < 100 for s in sockets)  # an AF_UNIX path is at most 107 bytes
    # in DATA_DIR; or, when that folder's name is too long for a socket's (pytest-xdist's workers' temporary
    # folders are), a name made from it in the system's temporary folder
    assert all(s.startswith(str(tmp_path.resolve())) for s in sockets) or len(str(tmp_path.resolve())) > 70
    assert not any(".gunicorn" in s for s in sockets)


def test_a_scheduler_that_loses_the_lead_stands_by_and_leads_again(bot, redis_url, monkeypatch):
    from bot.pushes import scheduler as sched

    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setattr(sched, "_runtime", {})
    monkeypatch.setattr(sched, "build_scheduler", lambda url: _Idle())
    stop = threading.Event()
    thread = threading.Thread(target=sched.run, args=(stop, 0.05), daemon=True)
    thread.start()
    try:
        _until(lambda: (bot.redis.get(sched.LEADER) or "").count(":") == 2)
        me = bot.redis.get(sched.LEADER)
        bot.redis.set(sched.LEADER, "another-host:1:abc", px=500)  # its lock lapsed and another took it
        time.sleep(0.3)
        assert thread.is_alive() and bot.redis.get(sched.LEADER) == "another-host:1:abc"
        _until(lambda: bot.redis.get(sched.LEADER) == me)  # the other's lock lapsed: it leads again
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


class _Idle:
    """A scheduler with no jobs (the test is about leadership, not the timetable)."""

    def start(self):
        pass

    def pause(self):
        pass

    def shutdown(self, wait=True):
        pass


def _until(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_after_a_store_error_messages_are_answered_at_once_for_a_moment(redis_client, settings, tmp_path):
    from bot.app import create_app
    from tests.helpers import WeChat

    from bot.web.webhook import StoreBreaker
    from tests.helpers import until

    assert StoreBreaker().cool_off == 1.0  # the service's moment; this test's is shorter, to wait less
    app = create_app(settings, redis_client)
    bot = app.extensions["youthbot"]
    breaker = app.extensions["youthbot.store_breaker"] = StoreBreaker(cool_off=0.5)
    good, bot.redis = bot.redis, redis.Redis(unix_socket_path=str(tmp_path / "gone.sock"), **storage.client_options())
    sender = WeChat(app.test_client())
    assert "系统维护中" in sender.send("帮助", "o_b1")
    bot.redis = good  # it came back, but this worker does not wait on it again for the moment
    started = time.monotonic()
    assert "系统维护中" in sender.send("帮助", "o_b2")
    assert time.monotonic() - started < 0.2
    until(lambda: not breaker.is_open(), what="the moment is over")
    assert "青年大学习" in sender.send("帮助", "o_b3")
