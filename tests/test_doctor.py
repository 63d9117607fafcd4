"""`youthbot doctor` against a real Redis and the fake WeChat API."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.helpers import AES_KEY, APPID

GOOD = {"WECHAT_TOKEN": "Tk3uY8pQz1Lm0Vb7Xc2Nr5Ws9Ad4Fg6H", "WECHAT_APPID": APPID,
        "WECHAT_SECRET": "0123456789abcdef0123456789abcdef", "WECHAT_AES_KEY": AES_KEY, "LOAD_DEMO": "0"}


@pytest.fixture
def doctor(redis_url, redis_client, tmp_path):
    def run(**env):
        full = {"REDIS_URL": redis_url, "DATA_DIR": str(tmp_path), **env}
        result = CliRunner().invoke(main, ["doctor", "--json"], env=full, catch_exceptions=False)
        findings = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
        return result.exit_code, findings
    return run


def _by(findings, check, status=None):
    return [f for f in findings if f["check"] == check and (status is None or f["status"] == status)]


def test_a_fresh_install_names_the_settings_a_real_account_still_needs(redis_url, tmp_path):
    env = {"REDIS_URL": redis_url, "DATA_DIR": str(tmp_path), "WECHAT_TOKEN": None, "WECHAT_APPID": None,
           "WECHAT_SECRET": None, "WECHAT_AES_KEY": None, "WECHAT_API_BASE_URL": None}
    result = CliRunner().invoke(main, ["doctor"], env=env, catch_exceptions=False)
    out = result.output
    assert result.exit_code == 1
    for name in ("WECHAT_TOKEN", "WECHAT_APPID", "WECHAT_SECRET", "WECHAT_AES_KEY"):
        line = next(line for line in out.splitlines() if name in line and line.startswith("FAIL"))
        assert "fix: " in line, line  # the problem and its fix on one line
    assert "5 problem(s) to fix" in out  # the four settings and the credentials that cannot be tried
    assert "OK    content" in out and "OK    menu" in out


def test_a_configured_install_passes_against_the_fake_wechat_api(doctor, fake_wechat):
    base, state = fake_wechat
    code, found = doctor(**GOOD, WECHAT_API_BASE_URL=base + "/cgi-bin/")
    assert code == 0, [f for f in found if f["status"] == "FAIL"]
    assert _by(found, "wechat", "OK") and state.calls["stable_token"] == 1
    assert _by(found, "persistence", "OK")[0]["message"].startswith("appendonly yes, appendfsync always")
    clocks = [f["message"] for f in _by(found, "clock", "OK")]
    assert any("Redis TIME" in m for m in clocks) and any("WeChat API's Date" in m for m in clocks)
    assert _by(found, "settings", "WARN")[0]["message"].startswith("WECHAT_API_BASE_URL")  # the fake one, said so


@pytest.mark.parametrize("errcode,words", [(40164, "IP白名单"), (40125, "AppSecret"), (40013, "AppID")])
def test_wechat_refusing_the_credentials_is_a_problem_with_its_fix(doctor, fake_wechat, errcode, words):
    import requests

    base, _ = fake_wechat
    requests.post(base + "/_fake/fail", json={"errcode": errcode, "endpoint": "stable_token"}, timeout=5)
    code, found = doctor(**GOOD, WECHAT_API_BASE_URL=base + "/cgi-bin/")
    assert code == 1
    (wechat,) = _by(found, "wechat", "FAIL")
    assert f"errcode {errcode}" in wechat["message"] and words in wechat["fix"]


def test_an_unreachable_wechat_api_is_a_problem(doctor):
    from tests.helpers import free_port

    code, found = doctor(**GOOD, WECHAT_API_BASE_URL=f"http://127.0.0.1:{free_port()}/cgi-bin/")
    assert code == 1 and "cannot reach" in _by(found, "wechat", "FAIL")[0]["message"]


@pytest.fixture
def redis_config(redis_client):
    """Change the test server's settings; put them back afterwards."""
    names = ("appendonly", "appendfsync", "maxmemory-policy")
    saved = {n: redis_client.config_get(n)[n] for n in names}
    yield redis_client
    for n, v in saved.items():
        redis_client.config_set(n, v)


@pytest.mark.skipif(bool(__import__("os").environ.get("REDIS_URL", "").startswith("redis+cluster")),
                    reason="one server's CONFIG")
@pytest.mark.parametrize("setting,value,status,words", [
    ("appendfsync", "everysec", "WARN", "NOT guaranteed"),
    ("appendfsync", "no", "FAIL", "appendfsync always"),
    ("appendonly", "no", "FAIL", "appendonly yes"),
    ("maxmemory-policy", "allkeys-lru", "FAIL", "noeviction"),
])
def test_redis_persistence_that_can_lose_data_is_named(doctor, fake_wechat, redis_config, setting, value, status,
                                                        words):
    base, _ = fake_wechat
    redis_config.config_set(setting, value)
    code, found = doctor(**GOOD, WECHAT_API_BASE_URL=base + "/cgi-bin/")
    assert code == (1 if status == "FAIL" else 0)
    problem = _by(found, "persistence", status)[0]
    assert words in problem["message"] + problem["fix"]


def test_unreachable_redis_is_a_problem(doctor, fake_wechat):
    from tests.helpers import free_port

    base, _ = fake_wechat
    code, found = doctor(**{**GOOD, "WECHAT_API_BASE_URL": base + "/cgi-bin/",
                            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert code == 1 and "cannot reach Redis" in _by(found, "redis", "FAIL")[0]["message"]


def test_bad_content_and_a_bad_menu_are_named_by_file_and_field(doctor, fake_wechat, tmp_path):
    import yaml

    from bot.config import PROJECT_DIR

    base, _ = fake_wechat
    content = tmp_path / "content"
    shutil.copytree(PROJECT_DIR / "content", content)
    quiz = content / "quizzes" / "01-tuan-basics.yaml"
    quiz.write_text(quiz.read_text(encoding="utf-8").replace("answer: C", "answer: Z", 1), encoding="utf-8")
    menu = yaml.safe_load((content / "menu.yaml").read_text(encoding="utf-8"))
    menu["button"].append({"name": "第四个菜单太长了", "sub_button": [{"type": "click", "name": "无人接", "key": "NOBODY"}]})
    (content / "menu.yaml").write_text(yaml.safe_dump(menu, allow_unicode=True), encoding="utf-8")
    code, found = doctor(**GOOD, WECHAT_API_BASE_URL=base + "/cgi-bin/", CONTENT_DIR=str(content))
    assert code == 1
    (bad_content,) = _by(found, "content", "FAIL")
    assert "01-tuan-basics.yaml" in bad_content["message"] and "answer" in bad_content["message"]
    menu_problems = " | ".join(f["message"] for f in _by(found, "menu", "FAIL"))
    assert "4 top-level menus" in menu_problems and "1 to 16 bytes" in menu_problems
    assert "no handler answers the key 'NOBODY'" in menu_problems


def test_doctor_writes_nothing_to_the_store(doctor, fake_wechat, redis_client):
    base, _ = fake_wechat
    redis_client.set("yb:marker", "1")
    doctor(**GOOD, WECHAT_API_BASE_URL=base + "/cgi-bin/")
    assert redis_client.keys("*") == ["yb:marker"]


@pytest.mark.parametrize("length", [42, 44])
def test_a_malformed_aes_key_is_a_finding_not_a_crash(doctor, fake_wechat, length):
    """wechatpy asserts on 44 characters and a 42-character key made content say "Incorrect padding"."""
    base, _ = fake_wechat
    code, found = doctor(**{**GOOD, "WECHAT_AES_KEY": (AES_KEY + "XYZ")[:length]}, WECHAT_API_BASE_URL=base + "/cgi-bin/")
    assert code == 1
    [aes] = [f for f in _by(found, "settings", "FAIL") if "WECHAT_AES_KEY" in f["message"]]
    assert f"has {length} characters" in aes["message"] and aes["fix"]
    assert _by(found, "content", "OK") and _by(found, "menu", "OK")  # the other checks ran, and said nothing wrong
    assert not [f for f in found if "padding" in f["message"] or "AssertionError" in f["message"]]


ENV_FILE = """# /etc/youthbot/youthbot.env, as an operator writes it
; a comment the systemd way
WECHAT_TOKEN = {token}
WECHAT_APPID={appid}
WECHAT_SECRET="{secret}"
WECHAT_AES_KEY='{aes}'
WECHAT_API_BASE_URL={base}/cgi-bin/
REDIS_URL={redis_url}
LOAD_DEMO=0
COMMITTEE_HOURS=工作日 9:00—12:00、14:30—17:30
DATA_DIR={data}
"""


def test_doctor_reads_the_units_environment_file_itself(redis_url, fake_wechat, tmp_path):
    """`youthbot doctor --unit …`: Environment= and EnvironmentFile= as systemd gives them to the service, with
    comments, quotes and values with spaces (which `env $(cat … | xargs)` breaks), nothing taken from the shell."""
    from bot.config import PROJECT_DIR

    base, _ = fake_wechat
    env_file = tmp_path / "youthbot.env"
    env_file.write_text(ENV_FILE.format(token=GOOD["WECHAT_TOKEN"], appid=APPID, secret=GOOD["WECHAT_SECRET"],
                                        aes=AES_KEY, base=base, redis_url=redis_url, data=tmp_path / "data"))
    env_file.chmod(0o600)
    (tmp_path / "data").mkdir()
    unit = (PROJECT_DIR / "deploy" / "systemd" / "youthbot-web.service").read_text()
    unit = unit.replace("/etc/youthbot/youthbot.env", str(env_file)).replace("User=youthbot\n", "")
    (tmp_path / "youthbot-web.service").write_text(unit)
    clean = {k: None for k in ("WECHAT_TOKEN", "WECHAT_APPID", "WECHAT_SECRET", "WECHAT_AES_KEY", "REDIS_URL",
                               "WECHAT_API_BASE_URL", "DATA_DIR", "LOAD_DEMO")}
    result = CliRunner().invoke(main, ["doctor", "--json", "--unit", str(tmp_path / "youthbot-web.service")],
                                env=clean, catch_exceptions=False)
    found = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert result.exit_code == 0, [f for f in found if f["status"] == "FAIL"]
    assert _by(found, "settings", "OK")[0]["message"] == f"WECHAT_TOKEN set ({len(GOOD['WECHAT_TOKEN'])} characters)"
    assert _by(found, "wechat", "OK")
    # the file's DATA_DIR overrides the unit's Environment=DATA_DIR=/var/lib/youthbot, as systemd does
    assert any(str(tmp_path / "data") in f["message"] for f in _by(found, "disk"))
    import os
    assert "WECHAT_TOKEN" not in os.environ  # nothing left behind in this process


def test_the_environment_file_is_parsed_as_systemd_does():
    from bot.ops.envfile import parse_environment_file

    text = ('# comment\n; comment\n\nA=1\n  B = two words  \nC="q \\"x\\" $HOME \\\\"\n'
            "D='as $is \\n'\nE=con\\\n  tinued\nF=a\\ b\nnot an assignment\nexport G=1\n9H=x\n"
            "COMMITTEE_HOURS=工作日 9:00—12:00、14:30—17:30\n")
    assert parse_environment_file(text) == {
        "A": "1", "B": "two words", "C": 'q "x" $HOME \\', "D": "as $is \\n", "E": "con  tinued", "F": "a b",
        "COMMITTEE_HOURS": "工作日 9:00—12:00、14:30—17:30"}


def test_an_unreadable_settings_file_says_how_to_run_doctor(tmp_path):
    result = CliRunner().invoke(main, ["doctor", "--env-file", str(tmp_path / "missing.env")])
    assert result.exit_code == 1 and "missing.env: no such file" in result.output


def test_doctor_names_a_stopped_scheduler_without_failing(doctor, fake_wechat, redis_client):
    from bot.pushes.scheduler import SEEN

    base, _ = fake_wechat
    redis_client.delete(SEEN)
    code, found = doctor(**GOOD, WECHAT_API_BASE_URL=base + "/cgi-bin/")
    [warn] = _by(found, "scheduler", "WARN")[:1]
    assert "no scheduler has led" in warn["message"] and "youthbot-scheduler" in warn["fix"]
    assert code == 0
