"""Staging: the service as docs/operations.md installs it — from the built wheel, in a virtualenv outside
the checkout, started with the systemd units' own ExecStart lines, behind Debian's nginx with the shipped site.

Nothing here imports the checkout's code into the service: the processes run the installed package.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from contextlib import ExitStack
from pathlib import Path

import pytest
import redis
import requests

from bot.config import PROJECT_DIR
from bot.ops.envfile import read_unit
from bot.wechat.simulator import WeChatSimulator, text_xml
from tests.helpers import free_port
from tests.test_deploy import NGINX, running_nginx

pytestmark = pytest.mark.slow


def _tracked(*patterns: str) -> set[str]:
    out = subprocess.run(["git", "-C", str(PROJECT_DIR), "ls-files", "--", *patterns], capture_output=True, text=True)
    if out.returncode != 0:  # not a git checkout (an unpacked sdist): every file on disk
        return {p.relative_to(PROJECT_DIR).as_posix() for pat in patterns for p in PROJECT_DIR.glob(pat) if p.is_file()}
    return set(out.stdout.split())


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """`python -m build`: the sdist, and the wheel built from that sdist (what pip installs)."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(PROJECT_DIR)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [wheel], [sdist] = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    return {"wheel": wheel, "sdist": sdist}


def test_the_wheel_and_sdist_carry_every_template_static_file_and_the_content(built):
    templates = _tracked("bot/**/templates/**", "bot/templates/**", "bot/**/static/**")
    content = _tracked("content/**")
    assert any("admin/login.html" in t for t in templates) and any(t.endswith(".css") for t in templates)
    assert "content/texts/general.yaml" in content and "content/menu.yaml" in content
    in_wheel = set(zipfile.ZipFile(built["wheel"]).namelist())
    missing = sorted(t for t in templates if t not in in_wheel)
    missing += sorted(c for c in content if "bot/" + c not in in_wheel)
    assert not missing, f"not in {built['wheel'].name}: {missing}"
    with tarfile.open(built["sdist"]) as tar:
        in_sdist = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    missing = sorted(f for f in templates | content | _tracked("deploy/**") if f not in in_sdist)
    assert not missing, f"not in {built['sdist'].name}: {missing}"
    print(f"{built['wheel'].name}: {len(in_wheel)} files, {len(templates)} templates/static, {len(content)} content")


# -- the installed service, as an operator runs it ------------------------------------------------------
DEPLOY = PROJECT_DIR / "deploy"
TOKEN = "Stg7Qm2Lp9Xv4Rk8Wn3Jd6Hb1Tc5Yf0Z"
AES_KEY = "kq3Zl7PsX2cVb9Nm4Jh6Gd1Fa8Sw5Ey0Tr3Ui7Op2Kl"
APPID = "wx5f3c2769f8ef0a1b"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _wait(what: str, check, timeout: float = 60, interval: float = 0.1, logs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (requests.RequestException, OSError, redis.RedisError):
            pass
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}\n" + "\n".join(
        f"--- {p}\n{Path(p).read_text(errors='replace')[-4000:]}" for p in logs if Path(p).exists()))


def _stop(proc: subprocess.Popen, timeout: float = 45) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory) -> Path:
    """`python3 -m venv /opt/youthbot/.venv && /opt/youthbot/.venv/bin/pip install <wheel>`, outside the checkout."""
    root = tmp_path_factory.mktemp("opt-youthbot")
    assert PROJECT_DIR not in root.parents
    subprocess.run([sys.executable, "-m", "venv", str(root / ".venv")], check=True, timeout=300)
    pip = subprocess.run([str(root / ".venv" / "bin" / "pip"), "install", "-q", str(built["wheel"])],
                         capture_output=True, text=True, timeout=1200)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    where = subprocess.run([str(root / ".venv" / "bin" / "python"), "-c", "import bot; print(bot.__file__)"],
                           capture_output=True, text=True, cwd=root, env={"PATH": SYSTEM_PATH}, check=True)
    assert "site-packages" in where.stdout and str(PROJECT_DIR) not in where.stdout  # a normal install
    return root


def _env_file(path: Path, values: dict) -> None:
    """deploy/youthbot.env.example with this machine's values in place, comments and all."""
    lines, done = [], set()
    for line in (DEPLOY / "youthbot.env.example").read_text().splitlines():
        name = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith("#") else None
        if name in values:
            line, _ = f"{name}={values[name]}", done.add(name)
        lines.append(line)
    lines += [f"{k}={v}" for k, v in values.items() if k not in done]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


def _unit(name: str, replacements: dict, folder: Path):
    text = (DEPLOY / "systemd" / name).read_text()
    for old, new in replacements.items():
        text = text.replace(old, new)
    (folder / name).write_text(text)
    return read_unit(folder / name)


class Staging:
    """The processes of one machine: Redis, the web service on its systemd-held socket, the scheduler, nginx."""

    def __init__(self, root: Path, tmp: Path, stack: ExitStack):
        self.root, self.tmp, self.stack = root, tmp, stack
        self.data = tmp / "var-lib-youthbot"
        self.data.mkdir()
        self.redis_port, self.app_port, self.console_port = free_port(), free_port(), free_port()
        self.redis = self._redis()
        self.fake_base, self.fake = self._fake_wechat()
        env_file = tmp / "youthbot.env"
        _env_file(env_file, {
            "WECHAT_APPID": APPID, "WECHAT_SECRET": "0123456789abcdef0123456789abcdef", "WECHAT_TOKEN": TOKEN,
            "WECHAT_AES_KEY": AES_KEY, "WECHAT_API_BASE_URL": self.fake_base + "/cgi-bin/",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0", "BACKUP_DIR": self.data / "backups",
            "LOG_FORMAT": "json", "WECHAT_SAFE_MODE_ONLY": "1", "QUIET_HOURS": "03:00-03:00",
            "LOG_MESSAGE_SAMPLE": "1",  # every message's line (the default logs a tenth of residents): the log test reads them
            "COMMITTEE_HOURS": '"工作日 9:00—12:00、14:30—17:30"'})
        paths = {"/opt/youthbot/.venv/bin/youthbot": str(root / ".venv" / "bin" / "youthbot"),
                 "/etc/youthbot/youthbot.env": str(env_file), "DATA_DIR=/var/lib/youthbot": f"DATA_DIR={self.data}",
                 "WorkingDirectory=/opt/youthbot": f"WorkingDirectory={root}",
                 "127.0.0.1:8000": f"127.0.0.1:{self.app_port}", "--port 8000": f"--port {self.app_port}",
                 "--port 8001": f"--port {self.console_port}"}
        self.web_unit = _unit("youthbot-web.service", paths, tmp)
        self.scheduler_unit = _unit("youthbot-scheduler.service", paths, tmp)
        self.console_unit = _unit("youthbot-console.service", paths, tmp)
        self.listener = self._held_socket("youthbot-web.socket", "127.0.0.1:8000", self.app_port)
        self.console_listener = self._held_socket("youthbot-console.socket", "127.0.0.1:8001", self.console_port)
        self.web = self.start_web()
        self.console = self.start_console()  # After=youthbot-web.service
        self.scheduler = self._start(self.scheduler_unit, "scheduler")
        self.webroot = tmp / "var-www-letsencrypt"
        self.nginx = stack.enter_context(running_nginx(tmp / "nginx", self.app_port, webroot=self.webroot,
                                                       console_port=self.console_port))

    def _held_socket(self, name: str, shipped: str, port: int) -> socket.socket:
        """What systemd does for a .socket unit: it owns the listening socket and hands it to each start."""
        socket_text = (DEPLOY / "systemd" / name).read_text()
        assert f"ListenStream={shipped}" in socket_text, name
        socket_text = socket_text.replace(shipped, f"127.0.0.1:{port}")
        listen = re.search(r"^ListenStream=(\S+):(\d+)$", socket_text, re.M)
        backlog = int(re.search(r"^Backlog=(\d+)$", socket_text, re.M).group(1))
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((listen.group(1), int(listen.group(2))))
        listener.listen(backlog)
        self.stack.callback(listener.close)
        return listener

    def _redis(self) -> redis.Redis:
        folder = self.tmp / "redis"
        folder.mkdir()
        proc = subprocess.Popen(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                 "--dir", str(folder), "--appendonly", "yes", "--appendfsync", "always",
                                 "--maxmemory-policy", "noeviction", "--save", ""],
                                stdout=open(folder / "redis.log", "wb"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.stack.callback(_stop, proc)
        self.stack.callback(lambda: proc.poll() is None and proc.send_signal(signal.SIGCONT))  # if a test froze it
        self.redis_proc = proc
        client = redis.Redis(port=self.redis_port, decode_responses=True)
        _wait("redis", client.ping, logs=[folder / "redis.log"])
        return client

    def _fake_wechat(self):
        from werkzeug.serving import make_server

        from bot.wechat.fake_api import FakeWeChat, create_fake_app

        state = FakeWeChat()
        server = make_server("127.0.0.1", 0, create_fake_app(state), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.stack.callback(server.shutdown)
        return f"http://127.0.0.1:{server.server_port}", state

    def _start(self, unit, name: str, listener: socket.socket | None = None) -> subprocess.Popen:
        """The unit's ExecStart, in its WorkingDirectory, with only the environment systemd would give it
        (and its Nice=)."""
        env = {"PATH": SYSTEM_PATH, "LANG": "C.UTF-8", **unit.environment}
        cmd = list(unit.exec_start)
        pass_fds = ()
        fd = listener.fileno() if listener is not None else None
        if listener is not None:  # socket activation: fd 3, LISTEN_FDS=1, LISTEN_PID = the service's own pid
            env["LISTEN_FDS"] = "1"
            cmd = ["/bin/sh", "-c", 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"', name, *cmd]
            pass_fds = (3,)

        def preexec():
            if fd is not None:
                os.dup2(fd, 3)
            if unit.nice:
                os.nice(unit.nice)
        log = self.tmp / f"{name}.log"
        proc = subprocess.Popen(cmd, cwd=unit.working_directory, env=env, stdout=open(log, "ab"),
                                stderr=subprocess.STDOUT, start_new_session=True, pass_fds=pass_fds,
                                preexec_fn=preexec)
        self.stack.callback(_stop, proc)
        return proc

    def start_web(self) -> subprocess.Popen:
        proc = self._start(self.web_unit, "web", self.listener)
        _wait("the web service", lambda: requests.get(f"http://127.0.0.1:{self.app_port}/healthz", timeout=2).ok,
              logs=[self.tmp / "web.log"])
        return proc

    def start_console(self) -> subprocess.Popen:
        proc = self._start(self.console_unit, "console", self.console_listener)
        _wait("the console service",
              lambda: requests.get(f"http://127.0.0.1:{self.console_port}/healthz", timeout=2).ok,
              logs=[self.tmp / "console.log"])
        return proc

    def post(self, sim, xml: str, timeout: float = 15) -> requests.Response:
        params, body = sim.request(xml)
        return self.nginx["session"].post(self.nginx["base"] + "/wechat", params=params, data=body, timeout=timeout)


@pytest.fixture(scope="module")
def staging(installed, tmp_path_factory):
    if NGINX is None or not shutil.which("redis-server"):
        pytest.skip("needs Debian's nginx and redis-server")
    with ExitStack() as stack:
        yield Staging(installed, tmp_path_factory.mktemp("staging"), stack)


def test_webhook_through_nginx_from_the_installed_package(staging):
    sim = WeChatSimulator(TOKEN, AES_KEY, APPID)
    check = staging.nginx["session"].get(staging.nginx["base"] + "/wechat",
                                         params={**sim.params(), "echostr": "stg-echo-42"}, timeout=10)
    assert check.status_code == 200 and check.text == "stg-echo-42"  # the developer settings' URL check
    resp = staging.post(sim, text_xml("o_staging_1", "帮助"))
    assert resp.status_code == 200 and "<Encrypt>" in resp.text and "青年大学习" in sim.reply_text(resp.content)
    plain = staging.post(WeChatSimulator(TOKEN), text_xml("o_staging_1", "帮助"))
    assert plain.status_code == 403  # WECHAT_SAFE_MODE_ONLY=1 from the settings file
    metrics = requests.get(f"http://127.0.0.1:{staging.app_port}/metrics", timeout=10).text
    assert 'youthbot_webhook_refused_total{reason="plaintext"} 1.0' in metrics


def test_console_login_and_a_page(staging):
    added = subprocess.run([*staging.web_unit.exec_start[:1], "staff", "add", "stagingboss", "--role", "admin"],
                           cwd=staging.root, env={"PATH": SYSTEM_PATH, **staging.web_unit.environment},
                           capture_output=True, text=True, timeout=120)
    assert added.returncode == 0, added.stderr
    one_time = re.search(r"One-time password: (\S+)", added.stdout).group(1)
    s, base = staging.nginx["session"], staging.nginx["base"]

    def csrf(path):
        page = s.get(base + path, timeout=10)
        assert page.status_code == 200, (path, page.status_code, page.text[:500])
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    login = s.post(base + "/admin/login", data={"name": "stagingboss", "password": one_time,
                                                "csrf_token": csrf("/admin/login")},
                   headers={"Referer": base + "/admin/login"}, timeout=10)  # over https a browser sends it
    assert login.status_code == 200 and "/admin/password" in login.url, login.text[:500]
    new = "staging-river-lantern-7"
    changed = s.post(base + "/admin/password", data={"old": one_time, "new": new, "again": new,
                                                     "csrf_token": csrf("/admin/password")},
                     headers={"Referer": base + "/admin/password"}, timeout=10)
    assert changed.status_code == 200 and changed.url.rstrip("/").endswith("/admin"), changed.url
    events = s.get(base + "/admin/events", timeout=10)
    assert events.status_code == 200 and "stagingboss" in events.text
    css = s.get(base + "/admin/static/console.css", timeout=10)
    assert css.status_code == 200 and "{" in css.text


def test_the_console_is_its_own_lower_priority_process_and_the_chat_does_not_wait_for_it(staging):
    """nginx sends /admin to youthbot-console (its own gunicorn, Nice=10): with the console's processes frozen,
    /admin hangs and WeChat messages are still answered by youthbot-web."""
    assert os.getpriority(os.PRIO_PROCESS, staging.console.pid) - os.getpriority(os.PRIO_PROCESS, os.getpid()) \
        == staging.console_unit.nice > 0
    sim = WeChatSimulator(TOKEN, AES_KEY, APPID)
    os.killpg(staging.console.pid, signal.SIGSTOP)
    try:
        with pytest.raises(requests.Timeout):
            staging.nginx["session"].get(staging.nginx["base"] + "/admin/login", timeout=3)
        resp = staging.post(sim, text_xml("o_staging_2", "帮助"))
        assert resp.status_code == 200 and "青年大学习" in sim.reply_text(resp.content)
    finally:
        os.killpg(staging.console.pid, signal.SIGCONT)
    assert staging.nginx["session"].get(staging.nginx["base"] + "/admin/login", timeout=30).status_code == 200
    # its own metrics (SERVE_ROLE=console): the web's counters are not wiped when it starts, nor mixed with its own
    console_metrics = requests.get(f"http://127.0.0.1:{staging.console_port}/metrics", timeout=10).text
    web_metrics = requests.get(f"http://127.0.0.1:{staging.app_port}/metrics", timeout=10).text
    assert 'role="console"' in console_metrics and 'role="console"' not in web_metrics and 'role="web"' in web_metrics


def test_a_certificates_verify_link(staging):
    from domain.certificates import Certificates

    cert = Certificates(staging.redis).issue("o_staging_cert", "司马青云", [(time.time() - 86400, "河道清洁", 150)],
                                             "共青团街道委员会", time.time())
    page = staging.nginx["session"].get(staging.nginx["base"] + f"/verify/{cert.number}", timeout=10)
    assert page.status_code == 200 and cert.number in page.text and "河道清洁" in page.text
    assert "司马青云" not in page.text  # masked on the public page


def test_acme_challenge_on_port_80_and_nothing_internal_from_outside(staging):
    folder = staging.webroot / ".well-known" / "acme-challenge"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Xy9_token").write_text("Xy9_token.key-thumbprint")
    got = requests.get(staging.nginx["http"] + "/.well-known/acme-challenge/Xy9_token", allow_redirects=False,
                       timeout=10)
    assert got.status_code == 200 and got.text == "Xy9_token.key-thumbprint"
    for path in ("/healthz", "/readyz", "/metrics"):
        outside = staging.nginx["session"].get(staging.nginx["base"] + path, timeout=10)
        assert outside.status_code == 404 and "nginx" in outside.text, path
        assert requests.get(staging.nginx["http"] + path, allow_redirects=False, timeout=10).status_code == 301
    # on the machine itself: ready once the store answers; the scheduler's heartbeat is in /metrics
    assert requests.get(f"http://127.0.0.1:{staging.app_port}/readyz", timeout=10).status_code == 200
    _wait("the scheduler's heartbeat", lambda: str(staging.scheduler.pid) in (staging.redis.get("yb:scheduler:seen") or ""),
          logs=[staging.tmp / "scheduler.log"])


def test_sigterm_to_the_web_process_during_a_stream_of_messages_loses_nothing(staging):
    """systemctl restart youthbot-web while WeChat sends: every message gets its reply, none a 5xx or a reset."""
    sim = WeChatSimulator(TOKEN, AES_KEY, APPID)
    results, errors, lock = [], [], threading.Lock()
    stop_sending = threading.Event()
    counter = iter(range(10**6))

    def sender(n: int):
        session = requests.Session()
        session.verify, session.trust_env = staging.nginx["session"].verify, False
        while not stop_sending.is_set():
            i = next(counter)
            params, body = sim.request(text_xml(f"o_stream_{n}", "帮助", msg_id=7_000_000 + i))
            sent = time.monotonic()
            try:
                resp = session.post(staging.nginx["base"] + "/wechat", params=params, data=body, timeout=20)
                ok = resp.status_code == 200 and "青年大学习" in (sim.reply_text(resp.content) or "")
                with lock:
                    results.append((sent, resp.status_code, ok))
            except requests.RequestException as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    try:
        _wait("a steady stream", lambda: len(results) >= 30, timeout=60)
        old = staging.web
        killed_at = time.monotonic()
        os.kill(old.pid, signal.SIGTERM)  # what systemctl stop sends to the main process
        old.wait(60)
        staging.web = staging.start_web()  # ... and systemctl start, on the socket systemd kept open
        back_at = time.monotonic()
        n_before = len(results)
        _wait("messages answered by the new process", lambda: len(results) >= n_before + 30, timeout=60)
    finally:
        stop_sending.set()
        for t in threads:
            t.join(60)
    around = [r for r in results if killed_at - 0.5 <= r[0] <= back_at]
    bad = [r for r in results if r[1] != 200 or not r[2]]
    print(f"{len(results)} messages, {len(around)} sent between SIGTERM and the new process; "
          f"restart took {back_at - killed_at:.1f} s")
    assert not errors, errors[:5]
    assert not bad, bad[:5]
    assert len(around) >= 6  # the restart did fall inside the stream
    log = (staging.nginx["prefix"] / "logs" / "youthbot.error.log")
    assert "reset by peer" not in (log.read_text() if log.exists() else "")


def test_doctor_reads_the_installed_units_settings(staging):
    """`youthbot doctor --unit …` of the installed package: the settings systemd would give the service,
    read by doctor itself; the content it checks is the package's own."""
    unit = staging.tmp / "doctor-youthbot-web.service"
    # the test machine has no `youthbot` user: doctor would (as root) switch to it after reading the file
    unit.write_text((staging.tmp / "youthbot-web.service").read_text().replace("User=youthbot\n", ""))
    run = subprocess.run([*staging.web_unit.exec_start[:1], "doctor", "--json", "--unit", str(unit)],
                         cwd=staging.root, env={"PATH": SYSTEM_PATH, "LANG": "C.UTF-8"}, capture_output=True,
                         text=True, timeout=300)
    found = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    failed = [f for f in found if f["status"] == "FAIL"]
    assert run.returncode == 0 and not failed, failed or run.stderr[-2000:]
    content = next(f for f in found if f["check"] == "content")
    assert content["status"] == "OK" and "site-packages/bot/content" in content["message"]
    assert any(f["check"] == "scheduler" and f["status"] == "OK" and "leader" in f["message"] for f in found)


def test_every_log_line_is_json_and_names_no_user(staging):
    """LOG_FORMAT=json from the settings file: every line the services wrote (gunicorn's own included) is one
    JSON object, and none holds an openid the tests used."""
    for name in ("web", "console", "scheduler"):
        lines = [line for line in (staging.tmp / f"{name}.log").read_text().splitlines() if line.strip()]
        assert lines, name
        records = [json.loads(line) for line in lines]
        assert not [line for line in lines if "o_stream_" in line or "o_staging" in line]
        if name == "web":
            assert {"gunicorn.error", "bot.web.handling"} <= {r.get("logger") for r in records}


def test_readyz_is_about_this_web_process_only(staging):
    """Last (it stops things): with the scheduler stopped the web process stays ready (the heartbeat's age is in
    /metrics); with its store frozen it is 503 within 2 s."""
    local = f"http://127.0.0.1:{staging.app_port}"
    staging.scheduler.send_signal(signal.SIGTERM)
    assert staging.scheduler.wait(60) == 0
    ready = requests.get(local + "/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert "youthbot_scheduler_heartbeat_age_seconds +Inf" in requests.get(local + "/metrics", timeout=10).text
    staging.redis_proc.send_signal(signal.SIGSTOP)  # the store hangs
    try:
        started = time.monotonic()
        frozen = requests.get(local + "/readyz", timeout=10)
        took = time.monotonic() - started
        assert frozen.status_code == 503 and took < 2, (frozen.status_code, took)
    finally:
        staging.redis_proc.send_signal(signal.SIGCONT)
    assert requests.get(local + "/healthz", timeout=10).status_code == 200
