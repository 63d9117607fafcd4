"""Logs: one JSON line per handled message and per push, text in a terminal, and nothing personal.

Named to run last: the final test scans every log written during the run (this
process, and every `youthbot serve` and scheduler the tests started, through
LOG_DIR and the tests' own log files) for the phone numbers and names the tests used.
"""
from __future__ import annotations

import io
import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import PROJECT_DIR
from bot.ops import logs

PHONE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")  # not inside a hex signature
NAME = "欧阳小慧"
PHONE_USED = "13712345678"


@pytest.fixture
def json_log(settings):
    stream = io.StringIO()
    logs.setup(replace(settings, log_format="json"), stream=stream)
    yield stream
    logs.setup(settings)  # back to stderr


def _lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _sign_up(wechat, bot, openid="o_private"):
    from bot import importers
    from domain import clock
    from domain.events import Events

    importers.load_dir(bot, bot.settings.content_dir)
    ev = Events(bot.redis)
    now = clock.now()
    occ = next(o for o in ev.upcoming(now) if ev.counts(o.id)[0] < o.capacity and not o.requirements
               and o.kind == "volunteer" and o.signup_deadline > now and o.status == "open")
    replies = [wechat.send(text, openid=openid) for text in (f"报名 {occ.number}", "同意", NAME, PHONE_USED)]
    return replies


def test_one_json_line_per_handled_message_without_text_names_or_phones(app, wechat, bot, json_log):
    replies = _sign_up(wechat, bot)
    assert "137****5678" in replies[-1]  # the bot did take the phone number
    lines = [r for r in _lines(json_log) if r.get("event") == "message"]
    assert len(lines) == 4
    for r in lines:
        assert set(r) >= {"time", "level", "logger", "message", "handler", "latency_ms", "outcome", "user", "kind"}
        assert r["user"] == logs.user_ref("o_private") and "o_private" not in json.dumps(r)
        assert r["outcome"] == "replied" and r["latency_ms"] >= 0
    assert lines[0]["handler"] == "volunteer.sign_up" or lines[0]["handler"].startswith("volunteer.")
    text = json_log.getvalue()
    assert NAME not in text and PHONE_USED not in text and "同意" not in text


def test_one_json_line_per_push(bot, pushing, json_log):
    from bot.pushes.delivery import Push

    deliverer, _ = pushing
    status = deliverer.deliver(Push("o_pushed", f"{NAME}，您的电话 {PHONE_USED}", "event_moved", "k-privacy-1"))
    (line,) = [r for r in _lines(json_log) if r.get("event") == "push"]
    assert line["kind"] == "event_moved" and line["status"] == str(status) and line["user"] == logs.user_ref("o_pushed")
    assert NAME not in json_log.getvalue() and PHONE_USED not in json_log.getvalue()


def test_plain_text_in_a_terminal(settings):
    import logging

    master, slave = os.openpty()
    with os.fdopen(slave, "w") as tty:
        logs.setup(replace(settings, log_format="auto"), stream=tty)
        logging.getLogger("bot.test").info("hello operator")
        tty.flush()
        out = os.read(master, 4096).decode()
    os.close(master)
    logs.setup(settings)
    assert "INFO bot.test: hello operator" in out and not out.lstrip().startswith("{")


def _used_by_tests() -> tuple[set[str], set[str]]:
    """The phone numbers and names that appear in the tests (and the demo members' generated names)."""
    import yaml

    phones, names = {PHONE_USED}, {NAME}
    for path in (PROJECT_DIR / "tests").glob("*.py"):
        src = path.read_text(encoding="utf-8")
        phones |= set(PHONE.findall(src))
        names |= set(re.findall(r'save_contact\([^,]+,\s*"([^"]+)"', src))
        names |= set(re.findall(r'name="(\w{2,4})"', src))
        names |= set(re.findall(r'send\("([\u4e00-\u9fff]{2,4})"\)', src)) & {"张小明", "王小红", "李雷"}
    demo = yaml.safe_load((PROJECT_DIR / "content" / "demo" / "members.yaml").read_text(encoding="utf-8"))
    names |= {s + g for s in demo["surnames"] for g in demo["given_names"]}
    return phones, {n for n in names if re.fullmatch(r"[\u4e00-\u9fff]{2,4}", n)}


def test_no_log_of_the_whole_run_holds_a_phone_number_or_a_name(run_log, tmp_path_factory, app, wechat, bot):
    import logging

    _sign_up(wechat, bot, openid="o_scan")  # at least this run's own personal data went through
    for h in logging.getLogger().handlers:
        h.flush()
    phones, names = _used_by_tests()
    files = [p for p in Path(run_log).rglob("*.log")]
    files += [p for p in tmp_path_factory.getbasetemp().rglob("*.log") if p.is_file()]
    assert files, "no logs were written"
    total, found, own = 0, [], 0
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        total += len(text.splitlines())
        own += text.count(logs.user_ref("o_scan"))
        for phone in set(PHONE.findall(text)):
            found.append(f"{path.name}: phone {phone}")
        for name in names:
            if name in text:
                found.append(f"{path.name}: name {name}")
    assert own >= 4  # this test's own sign-up (name, phone) was logged, and scanned
    assert not found, found
    print(f"scanned {len(files)} log files, {total} lines, for {len(phones)} phone numbers and {len(names)} names")
