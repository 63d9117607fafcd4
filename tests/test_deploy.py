"""deploy/: Debian's nginx with our site, over TLS, in front of `youthbot serve`; the systemd units.

The nginx site is used as shipped; only what must differ on a test machine is
replaced (ports, certificate and log paths, the server name).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from bot.config import PROJECT_DIR
from bot.wechat.simulator import WeChatSimulator, event_xml, text_xml
from tests.helpers import free_port, start_serve, stop

DEPLOY = PROJECT_DIR / "deploy"
TOKEN = "deploy-token-1234567890"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx2c2769f8efd9abc2"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def _site_for_test(prefix: Path, https_port: int, http_port: int, upstream_port: int, cert: Path, key: Path,
                   webroot: Path | None = None, console_port: int | None = None) -> str:
    site = (DEPLOY / "nginx" / "youthbot.conf").read_text()
    replacements = {
        "root /var/www/letsencrypt;": f"root {webroot or prefix / 'acme'};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "server 127.0.0.1:8000": f"server 127.0.0.1:{upstream_port}",
        "server 127.0.0.1:8001": f"server 127.0.0.1:{console_port or upstream_port}",  # one serve: both
        "zone=youthbot_login:10m": "zone=youthbot_login:1m",
        "/etc/ssl/youthbot/fullchain.pem": str(cert),
        "/etc/ssl/youthbot/privkey.pem": str(key),
        "/var/log/nginx/": f"{prefix}/",
        "wx.example.org": "localhost",
        "shared:youthbot_tls:10m": "shared:youthbot_tls_test:1m",
    }
    for old, new in replacements.items():
        assert old in site, f"the site no longer has {old!r}: update this test"
        site = site.replace(old, new)
    # no IPv6 listeners on the test machine
    return "\n".join(line for line in site.splitlines() if "listen [::]" not in line)


@contextlib.contextmanager
def running_nginx(prefix: Path, upstream_port: int, webroot: Path | None = None, console_port: int | None = None):
    """Debian's nginx, not as a daemon, with its own prefix, pid and temp paths, serving the shipped site
    (ports and paths rewritten) over TLS with a self-signed certificate; stopped whatever happens."""
    for sub in ("tmp", "logs"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    cert, key = _self_signed(prefix)
    https_port, http_port = free_port(), free_port()
    (prefix / "youthbot.conf").write_text(_site_for_test(prefix / "logs", https_port, http_port, upstream_port, cert,
                                                         key, webroot, console_port))
    temp = prefix / "tmp"
    user = "user root;" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(f"""
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log info;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {prefix}/youthbot.conf;
}}
""")
    check = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    nginx = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"https://localhost:{https_port}"
        session = requests.Session()
        session.verify = str(cert)
        session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the test's certificate
        deadline = time.time() + 15
        while True:
            try:
                session.get(base + "/", timeout=2)
                break
            except requests.ConnectionError as exc:
                if time.time() > deadline or nginx.poll() is not None:
                    raise AssertionError(f"{exc}\n" + (prefix / "logs" / "error.log").read_text())
                time.sleep(0.1)
        yield dict(base=base, http=f"http://127.0.0.1:{http_port}", session=session, prefix=prefix, cert=cert)
    finally:
        nginx.terminate()
        try:
            nginx.wait(10)
        except subprocess.TimeoutExpired:
            nginx.kill()
            nginx.wait(10)


@pytest.fixture
def behind_nginx(tmp_path):
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx)")
    if os.environ.get("REDIS_URL"):
        pytest.skip("about `youthbot serve` with its embedded Redis")
    app_port = free_port()
    app_log = tmp_path / "app.log"
    app = start_serve(tmp_path / "data", app_port, log_path=app_log, WECHAT_TOKEN=TOKEN, WECHAT_AES_KEY=AES_KEY,
                      WECHAT_APPID=APPID, PROXY_HOPS=1, LOG_FORMAT="json",
                      LOG_MESSAGE_SAMPLE=1)  # every message's line: the test reads one
    try:
        with running_nginx(tmp_path / "nginx", app_port) as env:
            yield dict(env, app_log=app_log)
    finally:
        stop(app)


def _post(env, sim: WeChatSimulator, xml: str, **headers) -> requests.Response:
    params, body = sim.request(xml)
    return env["session"].post(env["base"] + "/wechat", params=params, data=body, timeout=10, headers=headers)


@pytest.mark.slow  # starts gunicorn and nginx
def test_signed_messages_through_nginx_over_tls(behind_nginx):
    env = behind_nginx
    plain, safe = WeChatSimulator(TOKEN), WeChatSimulator(TOKEN, AES_KEY, APPID)
    resp = _post(env, plain, event_xml("o_nginx_1", "subscribe"))
    assert resp.status_code == 200 and "欢迎关注" in plain.reply_text(resp.content)
    resp = _post(env, safe, text_xml("o_nginx_2", "帮助"))
    assert resp.status_code == 200 and "<Encrypt>" in resp.text
    assert "青年大学习" in safe.reply_text(resp.content)
    # the URL check of the developer settings page, through nginx
    params = plain.params()
    echo = env["session"].get(env["base"] + "/wechat", params={**params, "echostr": "hello123"}, timeout=10)
    assert echo.status_code == 200 and echo.text == "hello123"
    # a bad signature is refused by the app (403), not by nginx
    bad = env["session"].post(env["base"] + "/wechat", params={**params, "signature": "0" * 40}, data=b"<xml/>")
    assert bad.status_code == 403


@pytest.mark.slow  # starts gunicorn and nginx
def test_nginx_limits_the_body_and_exposes_only_the_public_paths(behind_nginx):
    env = behind_nginx
    sim = WeChatSimulator(TOKEN)
    big = _post(env, sim, text_xml("o_big", "长" * 40_000))
    assert big.status_code == 413 and "nginx" in big.text  # refused before it reaches gunicorn
    for path in ("/healthz", "/readyz", "/metrics", "/"):
        resp = env["session"].get(env["base"] + path, timeout=10)
        assert resp.status_code == 404 and "nginx" in resp.text, path
    admin = env["session"].get(env["base"] + "/admin/nothing-here", timeout=10)
    assert admin.status_code == 404 and "nginx" not in admin.text  # answered by the app
    redirect = requests.get(env["http"] + "/wechat", allow_redirects=False, timeout=10)
    assert redirect.status_code == 301 and redirect.headers["Location"].startswith("https://")


@pytest.mark.slow  # starts gunicorn and nginx
def test_certificate_pages_and_the_acme_challenge_are_served(behind_nginx, tmp_path):
    """/verify/<number> is the page every service record's QR code links to; certbot --webroot writes its
    token under /.well-known/acme-challenge/ and Let's Encrypt fetches it over plain http on port 80."""
    env = behind_nginx
    missing = env["session"].get(env["base"] + "/verify/TW20260101-00001-ABCD", timeout=10)
    assert missing.status_code == 404 and "nginx" not in missing.text  # the app's own page: no such record
    assert "核验" in missing.text
    challenge = env["prefix"] / "logs" / "acme" / ".well-known" / "acme-challenge"
    challenge.mkdir(parents=True)
    (challenge / "tok-3n2Q_x").write_text("tok-3n2Q_x.thumbprint")
    got = requests.get(env["http"] + "/.well-known/acme-challenge/tok-3n2Q_x", allow_redirects=False, timeout=10)
    assert got.status_code == 200 and got.text == "tok-3n2Q_x.thumbprint"
    assert requests.get(env["http"] + "/.well-known/acme-challenge/none", allow_redirects=False,
                        timeout=10).status_code == 404
    assert requests.get(env["http"] + "/verify/x", allow_redirects=False, timeout=10).status_code == 301


@pytest.mark.slow  # starts gunicorn and nginx
def test_the_app_sees_the_real_client_address_not_a_forged_one(behind_nginx):
    """nginx appends the peer to X-Forwarded-For; with PROXY_HOPS=1 the app trusts that last entry only."""
    import json

    env = behind_nginx
    sim = WeChatSimulator(TOKEN)
    resp = _post(env, sim, text_xml("o_forger", "帮助"), **{"X-Forwarded-For": "203.0.113.9"})
    assert resp.status_code == 200
    deadline = time.time() + 5
    peers = []
    while time.time() < deadline and not peers:
        for line in env["app_log"].read_text(errors="replace").splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("event") == "message" and record.get("handler") and record.get("peer"):
                    peers.append(record["peer"])
        time.sleep(0.1)
    assert peers and set(peers) == {"127.0.0.1"}, peers


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", ["youthbot-web.service", "youthbot-scheduler.service", "youthbot-web.socket",
                                  "youthbot-console.service", "youthbot-console.socket"])
def test_systemd_units_verify(unit, tmp_path):
    """`systemd-analyze verify`, with the install paths pointed at this checkout's venv and a settings file."""
    import sys

    youthbot = Path(sys.executable).parent / "youthbot"
    env_file = tmp_path / "youthbot.env"
    env_file.write_text((DEPLOY / "youthbot.env.example").read_text())
    for path in (DEPLOY / "systemd").iterdir():  # the units it names (the web service needs its socket)
        text = path.read_text()
        for old, new in {"/opt/youthbot/.venv/bin/youthbot": str(youthbot), "/etc/youthbot/youthbot.env": str(env_file),
                         "WorkingDirectory=/opt/youthbot": f"WorkingDirectory={PROJECT_DIR}"}.items():
            assert old in text or path.suffix == ".socket"
            text = text.replace(old, new)
        (tmp_path / path.name).write_text(text)
    result = subprocess.run([SYSTEMD_ANALYZE, "verify", str(tmp_path / unit)], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if unit in line or "Unknown" in line or "unknown" in line or "Invalid" in line]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (apt-get install prometheus)")
def test_prometheus_alert_rules_check_and_fire_on_youthbot_series():
    """`promtool check rules` on the shipped rules, and `promtool test rules`: the alerts fire on the series
    /metrics exposes (a rotated token, a scheduler gone, 503s)."""
    folder = DEPLOY / "prometheus"
    check = subprocess.run([PROMTOOL, "check", "rules", "youthbot-alerts.yml"], cwd=folder, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0 and "SUCCESS" in check.stdout, check.stdout + check.stderr
    test = subprocess.run([PROMTOOL, "test", "rules", "youthbot-alerts.test.yml"], cwd=folder, capture_output=True,
                          text=True, timeout=60)
    assert test.returncode == 0, test.stdout + test.stderr


def test_the_alert_rules_name_only_metrics_youthbot_exposes(settings, redis_client):
    """Every youthbot_* series an alert uses is one /metrics serves (a renamed metric would silence an alert)."""
    import re

    import yaml

    from dataclasses import replace

    from bot.app import create_app
    from bot.ops import metrics
    from tests.helpers import WeChat

    real = replace(settings, wechat_appid="wx0123456789abcdef", wechat_secret="0123456789abcdef0123456789abcdef")
    client = create_app(real, redis_client).test_client()
    wechat = WeChat(client)
    metrics.WEBHOOK_REFUSED.labels("signature")  # labelled counters appear once used
    rules = yaml.safe_load((DEPLOY / "prometheus" / "youthbot-alerts.yml").read_text())
    used = {name for rule in rules["groups"][0]["rules"] for name in re.findall(r"youthbot_\w+", rule["expr"])}
    wechat.send("帮助", openid="o_alerts")
    exposed = client.get("/metrics").get_data(as_text=True)
    missing = sorted(name for name in used if not re.search(rf"^(# TYPE )?{name}[ {{]", exposed, re.M))
    assert not missing, missing
