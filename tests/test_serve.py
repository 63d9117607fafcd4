"""`youthbot serve` from a clean data folder: embedded Redis, gunicorn workers, one store."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
import requests

from bot.wechat.simulator import WeChatSimulator, event_xml, text_xml
from tests.helpers import free_port, start_serve


TOKEN = "servetoken"


def _free_port() -> int:
    return free_port()


def _start(data_dir: Path, port: int) -> subprocess.Popen:
    """`youthbot serve` on a clean data folder, as a person starts it (no demo forced)."""
    return start_serve(data_dir, port, demo=False, WECHAT_TOKEN=TOKEN)


def _send(port, sim, xml):
    params, body = sim.request(xml)
    resp = requests.post(f"http://127.0.0.1:{port}/wechat", params=params, data=body, timeout=10)
    assert resp.status_code == 200
    return sim.reply_text(resp.content)


@pytest.fixture
def served(tmp_path):
    port = _free_port()
    proc = _start(tmp_path, port)
    yield tmp_path, port, proc
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def _embedded(data_dir: Path) -> redis.Redis:
    from bot.runtime.storage import embedded_socket

    return redis.Redis(unix_socket_path=embedded_socket(data_dir), decode_responses=True)


pytestmark = [pytest.mark.slow,  # starts gunicorn processes
              pytest.mark.skipif(bool(os.environ.get("REDIS_URL")),
                                 reason="about `youthbot serve` with its embedded Redis")]


def test_serve_answers_signed_messages_from_both_workers(served):
    data_dir, port, _ = served
    sim = WeChatSimulator(TOKEN)
    replies = [_send(port, sim, text_xml(f"o_user{i}", "帮助")) for i in range(20)]
    assert all("青年大学习" in r for r in replies)
    store = _embedded(data_dir)
    assert store.scard("yb:followers:active") == 20
    assert store.config_get("appendfsync")["appendfsync"] == "always"


def test_a_killed_server_loses_nothing_it_acknowledged(served):
    data_dir, port, proc = served
    sim = WeChatSimulator(TOKEN)
    assert "欢迎关注" in _send(port, sim, event_xml("o_durable", "subscribe"))
    redis_pid = _embedded(data_dir).info("server")["process_id"]
    os.killpg(proc.pid, signal.SIGKILL)  # gunicorn master and workers die at once,
    os.kill(redis_pid, signal.SIGKILL)  # and so does the Redis server: only the AOF remains
    proc.wait(10)
    port2 = _free_port()
    proc2 = _start(data_dir, port2)
    try:
        reply = _send(port2, sim, event_xml("o_durable", "subscribe", create_time=int(time.time()) + 5))
        assert "欢迎回来" in reply
    finally:
        os.killpg(proc2.pid, signal.SIGTERM)
        proc2.wait(20)


def test_chat_talks_to_the_served_webhook_like_wechat(served):
    from bot.wechat import chat

    _, port, _ = served
    lines, out = iter(["/follow", "帮助", "/click HELP", "/quit"]), []
    chat.run(f"http://127.0.0.1:{port}/wechat", "o_chatter", WeChatSimulator(TOKEN),
             input_fn=lambda prompt: next(lines), print_fn=out.append)
    replies = [line for line in out if line.startswith("团委> ")]
    assert len(replies) == 3
    assert "欢迎关注" in replies[0] and "青年大学习" in replies[1] and replies[2] == replies[1]


def test_the_service_records_verify_link_points_at_the_port_serve_runs_on(served):
    """Issue 21, item 10: `serve --port N` without PUBLIC_URL printed links to port 8000."""
    from domain.events import Events
    from domain.profiles import Profiles
    from tests.test_volunteer import make_event

    data_dir, port, _ = served
    store = _embedded(data_dir)
    events = Events(store)
    occ = make_event(events, starts_in=-3 * 3600, hours=2)
    Profiles(store).save_contact("o_cert", "王芳", "13800138000")
    events.sign_up(occ, "o_cert", occ.start - 86400)
    events.record_attendance(occ, "o_cert", occ.start, occ.end)
    record = _send(port, WeChatSimulator(TOKEN), text_xml("o_cert", "志愿证明"))
    link = record.rsplit("核验：", 1)[1].split()[0]  # the link (a printable version's link may follow)
    assert link.startswith(f"http://127.0.0.1:{port}/verify/"), record
    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and "2小时" in page.text
