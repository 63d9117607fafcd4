"""Under real processes: metrics added up across gunicorn workers and the scheduler, a graceful stop of
the web process (requests finish, late replies reach the outbox), and a scheduler handing over at once."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

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
from tests.helpers import free_port, samples, start_serve, stop, value

TOKEN = "opstoken"
embedded_only = pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="about `youthbot serve` with its embedded Redis")


def _send(port, sim, xml, timeout=10):
    params, body = sim.request(xml)
    resp = requests.post(f"http://127.0.0.1:{port}/wechat", params=params, data=body, timeout=timeout)
    assert resp.status_code == 200, resp.text
    return sim.reply_text(resp.content)


@pytest.mark.slow  # starts gunicorn or the scheduler in processes of their own
@embedded_only
def test_metrics_add_up_across_gunicorn_workers_and_the_scheduler(tmp_path):
    port = free_port()
    proc = start_serve(tmp_path, port, workers=2, WECHAT_TOKEN=TOKEN, METRICS_DIR=tmp_path / "metrics")
    try:
        sim = WeChatSimulator(TOKEN)
        counters = lambda: {p.stem.rsplit("_", 1)[-1] for p in (tmp_path / "metrics" / "web").glob("counter_*.db")}  # noqa: E731
        sent, deadline = 0, time.monotonic() + 120
        with ThreadPoolExecutor(2) as two:  # two at a time, so both sync workers answer (however busy the machine)
            while sent < 30 or (len(counters()) < 2 and time.monotonic() < deadline):
                replies = two.map(lambda i: _send(port, sim, text_xml(f"o_mp_{i}", "帮助")), (sent, sent + 1))
                assert all("青年大学习" in r for r in replies)
                sent += 2
        totals = set()
        for _ in range(8):  # new connections: both workers answer some scrapes
            text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            totals.add(value(text, "youthbot_messages_total", handler="general.help_text", outcome="replied"))
        assert totals == {float(sent)}
        # each process's CPU, memory and open files: the workers and the master, not only the answering one
        roles = {dict(ls).get("role") for (n, ls), v in samples(text).items()
                 if n == "youthbot_process_resident_memory_bytes" and v > 0}
        assert {"web", "master"} <= roles
        assert value(text, "youthbot_http_responses_total", status="200", route="/wechat") == sent
        assert len(counters()) >= 2  # one file per worker, added up at scrape time

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


@pytest.mark.slow  # starts gunicorn or the scheduler in processes of their own
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


@pytest.mark.slow  # starts gunicorn or the scheduler in processes of their own
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


@pytest.mark.slow  # starts gunicorn or the scheduler in processes of their own
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


def test_a_scheduler_takes_back_its_own_lock_after_redis_restarted(redis_client):
    """Redis restarted (the web master restarts the embedded one) while the lock was held: it comes back from
    the append-only file with this scheduler's name on it. The scheduler lost the lead on the failed renewal;
    it must lead again on its next try, not wait up to LEADER_TTL for its own lock to lapse."""
    from bot.pushes.scheduler import LEADER, LEADER_TTL, Leadership

    me, other = Leadership(redis_client), Leadership(redis_client)
    assert me.try_acquire()
    assert not other.try_acquire()  # held: another scheduler stands by
    redis_client.expire(LEADER, 25)  # as it comes back: our name, most of its expiry left
    assert me.try_acquire(), "the scheduler waited on its own stale lock"
    assert redis_client.ttl(LEADER) > LEADER_TTL - 3  # and renewed it
    assert not other.try_acquire()
    me.release()
    assert other.try_acquire()


@pytest.mark.slow  # starts gunicorn or the scheduler in processes of their own
@embedded_only
def test_gunicorn_lines_are_json_and_log_files_are_private_and_follow_rotation(tmp_path):
    """Under LOG_FORMAT=json every line on stderr is one JSON object, gunicorn's own too (start-up, workers
    booting, the signal); LOG_DIR holds one file per role, 0640, and a logrotate-style rename is followed."""
    import json
    import stat

    port, out, log_dir = free_port(), tmp_path / "stderr.log", tmp_path / "logs"
    proc = start_serve(tmp_path / "data", port, log_path=out, WECHAT_TOKEN=TOKEN, LOG_FORMAT="json",
                       LOG_DIR=log_dir, LOG_MESSAGE_SAMPLE=1)
    try:
        sim = WeChatSimulator(TOKEN)
        assert "青年大学习" in _send(port, sim, text_xml("o_rot_1", "帮助"))
        web_log = log_dir / "youthbot-web.log"
        assert stat.S_IMODE(web_log.stat().st_mode) == 0o640
        assert stat.S_IMODE(log_dir.stat().st_mode) == 0o750
        assert [p.name for p in log_dir.iterdir()] == ["youthbot-web.log"]  # not one per process
        web_log.rename(log_dir / "youthbot-web.log.1")  # what logrotate does
        deadline = time.time() + 10
        while not web_log.exists() and time.time() < deadline:
            _send(port, sim, text_xml("o_rot_2", "帮助"))
        assert web_log.exists() and '"event": "message"' in web_log.read_text()
        assert stat.S_IMODE(web_log.stat().st_mode) == 0o640
    finally:
        stop(proc)
    lines = [line for line in out.read_text(errors="replace").splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line: one JSON object
    loggers = {r["logger"] for r in records}
    assert "gunicorn.error" in loggers and "bot.serve" in loggers
    messages = " ".join(r["message"] for r in records)
    assert "Starting gunicorn" in messages and "Booting worker" in messages and "Handling signal: term" in messages
    assert any(r["logger"] == "gunicorn.error" for r in map(json.loads, (log_dir / "youthbot-web.log.1").read_text().splitlines()))


@pytest.mark.slow  # starts gunicorn or the scheduler in processes of their own
def test_a_scheduler_without_a_web_process_serves_its_own_metrics(redis_url, redis_client, tmp_path):
    """SCHEDULER_METRICS_PORT: on a machine with no web process, Prometheus scrapes the scheduler itself."""
    from bot.pushes.scheduler import SEEN

    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "DATA_DIR": str(tmp_path), "LOG_FORMAT": "json",
           "WECHAT_API_BASE_URL": f"http://127.0.0.1:{free_port()}/cgi-bin/", "METRICS_DIR": str(tmp_path / "m"),
           "SCHEDULER_METRICS_PORT": str(port)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "scheduler"], env=env,
                            stdout=open(tmp_path / "s.log", "wb"), stderr=subprocess.STDOUT)
    try:
        deadline, text = time.time() + 30, ""
        while time.time() < deadline:
            try:
                text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                if str(proc.pid) in (redis_client.get(SEEN) or "") and "drain_outbox" in text:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        assert value(text, "youthbot_scheduler_job_runs_total", job="drain_outbox", outcome="ok") >= 1, \
            text + (tmp_path / "s.log").read_text()
        assert value(text, "youthbot_scheduler_heartbeat_age_seconds") < 30
        assert value(text, "youthbot_process_resident_memory_bytes", role="scheduler", pid=proc.pid) > 1e6
        assert value(text, "youthbot_process_open_fds", role="scheduler", pid=proc.pid) > 3
        assert value(text, "youthbot_build_info") == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
