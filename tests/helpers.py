"""What tests share besides fixtures: the test account's credentials, a WeChat that signs requests, and
`youthbot serve` started in real processes."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from bot.wechat.simulator import WeChatSimulator, event_xml, text_xml

TOKEN = "testtoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx2c2769f8efd9abc2"



class WeChat:
    """Sends signed, correctly formed WeChat requests to the test client."""

    def __init__(self, client, aes: bool = False):
        self.client = client
        self.sim = WeChatSimulator(TOKEN, AES_KEY if aes else "", APPID)

    def post(self, xml: str, timestamp: int | None = None, **extra_args):
        params, body = self.sim.request(xml, timestamp)
        params.update(extra_args)
        return self.client.post("/wechat", query_string=params, data=body, content_type="text/xml")

    def reply(self, response) -> str | None:
        assert response.status_code == 200, response.data
        return self.sim.reply_text(response.data)

    def send(self, text: str, openid: str = "o_alice", msg_id: int | None = None) -> str | None:
        """Send a text message and return the reply text (None for `success`)."""
        return self.reply(self.post(text_xml(openid, text, msg_id)))

    def event(self, event: str, openid: str = "o_alice", key: str = "", create_time: int | None = None):
        return self.reply(self.post(event_xml(openid, event, key, create_time)))



def post_signed(url: str, sim: WeChatSimulator, xml: str, session=None) -> str | None:
    """POST one signed message over HTTP and return the reply text."""
    params, body = sim.request(xml)
    resp = (session or requests).post(url, params=params, data=body, timeout=30)
    assert resp.status_code == 200, resp.text
    return sim.reply_text(resp.content)


# -- the staff console ------------------------------------------------------------------
STAFF_PASSWORD = "lantern-river-42"


def staff_account(redis, name: str, role: str, password: str = STAFF_PASSWORD) -> str:
    """An account that has already changed its one-time password to `password`."""
    from domain.staff import Staff

    staff = Staff(redis)
    staff.change_password(name, staff.create(name, role), password)
    return name


class Console:
    """Drives the console through Flask's test client, with the CSRF token a browser would send."""

    def __init__(self, client):
        self.client = client

    def csrf(self, path: str = "/admin/login") -> str:
        import re

        html = self.client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def login(self, name: str, password: str = STAFF_PASSWORD, **extra):
        return self.client.post("/admin/login", data={"name": name, "password": password,
                                                      "csrf_token": self.csrf(), **extra})

    def post(self, path: str, data: dict | None = None, token_from: str = "/admin/", **kwargs):
        """POST a console form with a valid CSRF token (taken from a page of the session)."""
        return self.client.post(path, data={"csrf_token": self.csrf(token_from), **(data or {})}, **kwargs)

    def page(self, path: str) -> str:
        resp = self.client.get(path)
        assert resp.status_code == 200, (path, resp.status_code)
        return resp.get_data(as_text=True)


# -- `youthbot serve` in real processes (gunicorn) --------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(data_dir: Path, port: int, workers: int = 2, app: str | None = None, log_path: Path | None = None,
                demo: bool = True, **env_extra) -> subprocess.Popen:
    """`youthbot serve` on 127.0.0.1:port with its own DATA_DIR; waits for /healthz (up to 120 s on a busy
    machine). If it does not come up, its whole process group (gunicorn, the embedded Redis) is killed."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "LOAD_DEMO")}
    env.update(DATA_DIR=str(data_dir), WECHAT_AES_KEY="")
    if demo:
        env["LOAD_DEMO"] = "1"
    env.update({k: str(v) for k, v in env_extra.items()})
    cmd = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", str(workers)]
    if app:
        cmd += ["--app", app]
    out = open(log_path, "ab") if log_path else subprocess.PIPE
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                return proc
        except requests.RequestException:  # refused while it starts, or slow to answer on a busy machine
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
