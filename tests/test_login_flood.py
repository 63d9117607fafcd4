"""Issue 19, item 9: a flood of console logins must not delay WeChat messages.

Argon2 checks (~0.3 s of CPU each here) ran in the webhook's own gunicorn workers: 200 logins made a message wait
21.9 s, past WeChat's 5 s. Now (docs/security.md, "Logins and the webhook") the shipped nginx site sends /admin to
its own gunicorn (youthbot-console.service, started here with that unit's workers and Nice=), nginx limits password
tries per address, and at most LOGIN_CHECKS passwords are checked at once on the machine (429 请稍后再试 past them).
"""
from __future__ import annotations

import re
from contextlib import ExitStack
import threading
import time

import pytest
import requests
from requests.adapters import HTTPAdapter

from bot.config import PROJECT_DIR, Settings
from bot.runtime import storage
from bot.runtime.slots import slot
from bot.wechat.simulator import WeChatSimulator, text_xml
from tests.helpers import Console, free_port, staff_account, start_serve, stop, value
from tests.test_deploy import AES_KEY, APPID, NGINX, TOKEN, running_nginx

UNITS = PROJECT_DIR / "deploy" / "systemd"


def _unit(name: str) -> tuple[int, int, dict]:
    """A unit's gunicorn workers (ExecStart's --workers), its Nice= and its Environment= (but DATA_DIR)."""
    text = (UNITS / name).read_text()
    nice = re.search(r"^Nice=(-?\d+)$", text, re.M)
    env = dict(re.findall(r"^Environment=(\w+)=(\S*)$", text, re.M))
    env.pop("DATA_DIR", None)
    return (int(re.search(r"^ExecStart=.* --workers (\d+)", text, re.M).group(1)), int(nice.group(1)) if nice else 0,
            env)


class _From(HTTPAdapter):
    """Connections from one loopback address (127.0.0.N): one attacker of many, as nginx sees them."""

    def __init__(self, address: str):
        self.address = address
        super().__init__(pool_connections=1, pool_maxsize=1)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


@pytest.fixture
def site(tmp_path):
    """The machine as docs/operations.md installs it: the web and the console services on one store, behind the
    shipped nginx site."""
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx)")
    import os

    if os.environ.get("REDIS_URL"):
        pytest.skip("about `youthbot serve` with its embedded Redis")
    (web_workers, _, web_env), (console_workers, console_nice, console_env) = \
        _unit("youthbot-web.service"), _unit("youthbot-console.service")
    assert console_nice > 0  # the webhook gets the CPU first
    data = tmp_path / "data"
    env = dict(WECHAT_TOKEN=TOKEN, WECHAT_AES_KEY=AES_KEY, WECHAT_APPID=APPID, PROXY_HOPS=1, LOG_FORMAT="json")
    web_port, console_port = free_port(), free_port()
    web = start_serve(data, web_port, workers=web_workers, log_path=tmp_path / "web.log", demo=False,
                      **env, **web_env)
    try:
        console = start_serve(data, console_port, workers=console_workers, log_path=tmp_path / "console.log",
                              demo=False, nice=console_nice, **env, **console_env)
        try:
            store = storage.connect(f"unix://{storage.socket_path(data)}", data)
            staff_account(store, "boss", "admin")
            with running_nginx(tmp_path / "nginx", web_port, console_port=console_port) as nginx:
                yield dict(nginx, web_port=web_port, console_port=console_port, store=store)
            store.close()
        finally:
            stop(console)
    finally:
        stop(web)


@pytest.mark.slow
def test_a_login_flood_from_many_addresses_does_not_delay_wechat_messages(site):
    base = site["base"]
    sim = WeChatSimulator(TOKEN, AES_KEY, APPID)
    budget = Settings().reply_budget
    metrics = f"http://127.0.0.1:{site['web_port']}/metrics"
    overruns_before = value(requests.get(metrics, timeout=10).text, "youthbot_reply_budget_overruns_total")
    logins, messages, errors, lock = [], [], [], threading.Lock()
    flooding = threading.Event()
    ready = threading.Barrier(41)

    def attacker(n: int):  # 40 addresses × 6 tries of made-up names: each costs an Argon2 check
        session = requests.Session()
        session.verify, session.trust_env = site["cert"], False
        session.mount("https://", _From(f"127.0.0.{n + 2}"))
        try:
            page = session.get(base + "/admin/login", timeout=60)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"login page: {type(exc).__name__}: {exc}")
            ready.wait(120)
            return
        ready.wait(120)
        for i in range(6):
            try:
                resp = session.post(base + "/admin/login", data={"name": f"guess{n}x{i}", "password": "wrong-pass-123",
                                                                "csrf_token": token},
                                    headers={"Referer": base + "/admin/login"}, timeout=120)
                with lock:
                    logins.append((resp.status_code, resp.text))
            except requests.RequestException as exc:
                with lock:
                    errors.append(f"login: {type(exc).__name__}: {exc}")

    def wechat_user():
        session = requests.Session()
        session.verify, session.trust_env = site["cert"], False
        i = 0
        while flooding.is_set() or i < 5:
            params, body = sim.request(text_xml(f"o_flood_{i % 3}", "帮助", msg_id=9_100_000 + i))
            sent = time.monotonic()
            try:
                resp = session.post(base + "/wechat", params=params, data=body, timeout=30)
                took = time.monotonic() - sent
                with lock:
                    messages.append((took, resp.status_code, sim.reply_text(resp.content) or ""))
            except requests.RequestException as exc:
                with lock:
                    errors.append(f"message: {type(exc).__name__}: {exc}")
            i += 1

    attackers = [threading.Thread(target=attacker, args=(n,)) for n in range(40)]
    for t in attackers:
        t.start()
    ready.wait(120)  # every attacker has its form: the flood starts now, and the messages with it
    flooding.set()
    user = threading.Thread(target=wechat_user)
    user.start()
    for t in attackers:
        t.join(600)
    flooding.clear()
    user.join(120)

    statuses = [code for code, _ in logins]
    checked, later = statuses.count(401), sum(1 for code, text in logins if code == 429 and "请稍后再试" in text)
    print(f"{len(logins)} logins: {checked} passwords checked (401), {later} told to try later (429); "
          f"{len(messages)} messages, slowest {max((m[0] for m in messages), default=0):.2f} s")
    assert not errors, errors[:5]
    # 6 tries per address are within nginx's burst: every one reached the console, which checked a password
    # (401) or, with every check slot taken, said so in words at once (429)
    assert len(logins) == 240 and checked >= 1 and checked + later == 240, sorted(set(statuses))
    slow = [m for m in messages if m[0] >= budget or m[1] != 200 or "青年大学习" not in m[2]]
    assert len(messages) >= 5 and not slow, slow[:5]  # each answered, with its reply, within the reply budget
    overruns = value(requests.get(metrics, timeout=10).text, "youthbot_reply_budget_overruns_total")
    assert overruns == overruns_before

    # one address trying fast: nginx lets 10 through at once (its burst), then answers 429 itself
    session = requests.Session()
    session.verify, session.trust_env = site["cert"], False
    session.mount("https://", _From("127.0.0.99"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(base + "/admin/login", timeout=60).text).group(1)
    codes = []
    for i in range(16):
        resp = session.post(base + "/admin/login", data={"name": "boss", "password": f"wrong-{i}", "csrf_token": token},
                            headers={"Referer": base + "/admin/login"}, timeout=120)
        codes.append((resp.status_code, "nginx" in resp.text))
    assert codes[:5] == [(401, False)] * 5  # the app's own answers (the pair's limit is 5 per 15 minutes) ...
    assert (429, True) in codes[10:]  # ... and nginx's, past its burst


def test_past_the_password_checks_a_login_is_told_to_try_later_and_nothing_is_counted(app, redis_client, settings):
    """All LOGIN_CHECKS slots busy (other processes checking passwords): the right password gets 429 in words,
    at once, no session and no failure counted; with a slot free it signs in."""
    staff_account(redis_client, "boss", "admin")
    c = Console(app.test_client())
    with ExitStack() as held:  # every slot, as other workers checking passwords hold them
        assert all(held.enter_context(slot(settings.data_dir, "password-check", settings.login_checks))
                   for _ in range(settings.login_checks))
        busy = c.login("boss")
        assert busy.status_code == 429 and "请稍后再试" in busy.get_data(as_text=True)
        assert busy.headers["Retry-After"] == "5"
        assert c.client.get("/admin/").status_code == 302  # not signed in
        assert not redis_client.keys("yb:{staff}:failures:*")
    assert c.login("boss").status_code == 302
    assert c.client.get("/admin/").status_code == 200
