"""Under real processes: metrics added up across gunicorn workers and the scheduler, a graceful stop of
the web process (requests finish, late replies reach the outbox), and a scheduler handing over at once."""
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

from bot.config import PROJECT_DIR
from bot.wechat.simulator import WeChatSimulator, text_xml
from tests.helpers import free_port, start_serve, stop
from tests.helpers import value

TOKEN = "opstoken"
embedded_only = pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="about `youthbot serve` with its embedded Redis")


def _send(port, sim, xml, timeout=10):
    params, body = sim.request(xml)
    resp = requests.post(f"http://127.0.0.1:{port}/wechat", params=params, data=body, timeout=timeout)
    assert resp.status_code == 200, resp.text
    return sim.reply_text(resp.content)


@embedded_only
def test_metrics_add_up_across_gunicorn_workers_and_the_scheduler(tmp_path):
    port = free_port()
    proc = start_serve(tmp_path, port, workers=2, WECHAT_TOKEN=TOKEN, METRICS_DIR=tmp_path / "metrics")
    try:
        sim = WeChatSimulator(TOKEN)
        for i in range(30):
            assert "青年大学习" in _send(port, sim, text_xml(f"o_mp_{i}", "帮助"))
        totals = set()
        for _ in range(8):  # new connections: both workers answer some scrapes
            text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            totals.add(value(text, "youthbot_messages_total", handler="general.help_text", outcome="replied"))
        assert totals == {30.0}
        pids = {p.stem.rsplit("_", 1)[-1] for p in (tmp_path / "metrics" / "web").glob("counter_*.db")}
        assert len(pids) >= 2  # one file per process, added up at scrape time

        env = {**{k: v for k, v in os.environ.items() if k != "REDIS_URL"}, "DATA_DIR": str(tmp_path),
               "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics" / "scheduler")}
        (tmp_path / "metrics" / "scheduler").mkdir()
        run = subprocess.run([sys.executable, "-m", "bot.cli", "pushes", "run", "drain_outbox"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert value(text, "youthbot_scheduler_job_runs_total", job="drain_outbox", outcome="ok") == 1
        assert value(text, "youthbot_scheduler_job_seconds_count", job="drain_outbox") == 1
        assert value(text, "youthbot_outbox_depth", state="queued") == 0
    finally:
        stop(proc)


def _slow_serve(tmp_path, port, budget, slow):
    return start_serve(tmp_path, port, workers=1, app="tests.slow_app:create_app()", WECHAT_TOKEN=TOKEN,
                       REPLY_BUDGET=budget, SLOW_SECONDS=slow,
                       PYTHONPATH=os.pathsep.join([str(PROJECT_DIR), os.environ.get("PYTHONPATH", "")]))


@embedded_only
def test_sigterm_lets_a_request_in_flight_finish(tmp_path):
    port = free_port()
    proc = _slow_serve(tmp_path, port, budget=4, slow=1.5)
    replies = []
    sender = threading.Thread(target=lambda: replies.append(_send(port, WeChatSimulator(TOKEN),
                                                                  text_xml("o_inflight", "慢"))))
    sender.start()
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGTERM)  # the gunicorn master
    sender.join(15)
    assert replies == ["慢慢来，想好了"]
    assert proc.wait(20) == 0


@embedded_only
def test_sigterm_hands_a_late_reply_to_the_outbox(tmp_path):
    from bot.runtime import storage
    from domain.outbox import Outbox

    port = free_port()
    proc = _slow_serve(tmp_path, port, budget=0.5, slow=2.5)
    started = time.monotonic()
    assert _send(port, WeChatSimulator(TOKEN), text_xml("o_late", "慢")) is None  # `success` at the budget
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(30) == 0
    assert time.monotonic() - started >= 2.5  # the worker waited for the handler
    store = redis.Redis(unix_socket_path=storage.embedded_socket(tmp_path), decode_responses=True)
    try:
        pending = Outbox(store).pending()
        assert [(i["openid"], i["kind"], i["text"]) for i in pending] == [("o_late", "late_reply", "慢慢来，想好了")]
    finally:
        store.close()
        storage.stop_embedded(tmp_path)


def _scheduler(redis_url: str, tmp_path: Path, name: str) -> subprocess.Popen:
    env = {**os.environ, "REDIS_URL": redis_url, "DATA_DIR": str(tmp_path), "LOG_FORMAT": "json",
           "WECHAT_API_BASE_URL": f"http://127.0.0.1:{free_port()}/cgi-bin/", "METRICS_DIR": str(tmp_path / "m")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "scheduler"], env=env,
                            stdout=open(tmp_path / f"{name}.log", "wb"), stderr=subprocess.STDOUT)


def _until(condition, seconds: float, context=lambda: "") -> None:
    """Wait for condition() (polling), or fail with context() after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, context()
        time.sleep(0.05)


def _leader_pid(r) -> int | None:
    from bot.pushes.scheduler import LEADER

    value_ = r.get(LEADER)
    return int(value_.split(":")[1]) if value_ else None


def test_a_stopped_scheduler_hands_over_to_the_standby_in_seconds(redis_url, redis_client, tmp_path):
    from bot.pushes.scheduler import LEADER_TTL, SEEN

    a, b = _scheduler(redis_url, tmp_path, "a"), _scheduler(redis_url, tmp_path, "b")
    logs = lambda: (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()  # noqa: E731
    try:
        _until(lambda: _leader_pid(redis_client) is not None, 60, logs)
        first = _leader_pid(redis_client)
        assert first in (a.pid, b.pid), logs()
        leader, standby = (a, b) if first == a.pid else (b, a)
        # both settled: one leads, the other has said it stands by (event-driven, however busy the machine)
        _until(lambda: "standing by" in (tmp_path / ("b.log" if standby is b else "a.log")).read_text(), 60, logs)
        assert _leader_pid(redis_client) == leader.pid
        stopped = time.monotonic()
        leader.send_signal(signal.SIGTERM)
        _until(lambda: _leader_pid(redis_client) == standby.pid, LEADER_TTL, logs)
        took = time.monotonic() - stopped
        # Handed over, not lapsed: well before the lock's expiry (typically within a second; a busy machine
        # only delays the standby's next poll).
        assert took < LEADER_TTL / 2, f"the standby took over after {took:.1f} s"
        assert leader.wait(20) == 0
        _until(lambda: str(standby.pid) in (redis_client.get(SEEN) or ""), 30, logs)  # its heartbeat, for /readyz
        print(f"standby took over {took:.2f} s after SIGTERM (lock expiry would be {LEADER_TTL} s)")
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(20)
