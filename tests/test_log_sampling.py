"""The per-message log line is sampled by resident (LOG_MESSAGE_SAMPLE): a sampled resident's messages are
all logged, the others' routine ones are not; retries and slow messages are always logged; /metrics counts
every message whatever the sample."""
from __future__ import annotations

import io
import json
from dataclasses import replace

import pytest

from bot.app import create_app
from bot.ops import logs
from tests.helpers import WeChat, value


def _resident(sampled: bool, share: float) -> str:
    """An openid that is (or is not) among the sampled share, by the pseudonym the logs use."""
    for n in range(10_000):
        openid = f"o_sample_{n}"
        if logs.sampled(logs.user_ref(openid), share) == sampled:
            return openid
    raise AssertionError("no such openid")


@pytest.fixture
def sampled_site(settings, redis_client):
    """The webhook with a log sample of a quarter of residents, its JSON log in a buffer."""
    def make(**overrides):
        s = replace(settings, log_format="json", log_message_sample=0.25, **overrides)
        app = create_app(s, redis_client)
        stream = io.StringIO()
        logs.setup(s, stream=stream)
        return app, WeChat(app.test_client()), stream

    yield make
    logs.setup(settings)  # back to stderr


def _message_lines(stream) -> list[dict]:
    return [r for r in map(json.loads, stream.getvalue().splitlines()) if r.get("event") == "message"]


def test_a_sampled_resident_has_every_line_and_the_others_none_while_metrics_count_all(sampled_site):
    app, wechat, stream = sampled_site()
    inside, outside = _resident(True, 0.25), _resident(False, 0.25)
    metrics = app.test_client()

    def helped() -> float:
        return value(metrics.get("/metrics").get_data(as_text=True), "youthbot_messages_total",
                     handler="general.help_text", outcome="replied")

    before = helped()
    for openid in (inside, outside, inside, outside):
        assert "青年大学习" in wechat.send("帮助", openid=openid)
    lines = _message_lines(stream)
    assert [r["user"] for r in lines] == [logs.user_ref(inside)] * 2
    assert all(r["outcome"] == "replied" and r["handler"] == "general.help_text" for r in lines)
    assert outside not in stream.getvalue() and inside not in stream.getvalue()  # pseudonyms only
    assert helped() - before == 4  # every message counted, logged or not


def test_retries_and_slow_messages_are_logged_whoever_sent_them(sampled_site):
    _app, wechat, stream = sampled_site()
    outside = _resident(False, 0.25)
    first = wechat.send("退订提醒", openid=outside, msg_id=777001)
    again = wechat.send("退订提醒", openid=outside, msg_id=777001)  # WeChat's retry of the same message
    assert first == again
    assert [r["outcome"] for r in _message_lines(stream)] == ["retry"]

    _app, wechat, stream = sampled_site(log_slow_ms=0)  # every message counts as slow
    assert "青年大学习" in wechat.send("帮助", openid=outside)
    [line] = _message_lines(stream)
    assert line["user"] == logs.user_ref(outside) and line["outcome"] == "replied"


def test_the_sample_takes_its_share_of_residents():
    refs = [logs.user_ref(f"o_share_{n}") for n in range(4000)]
    assert not any(logs.sampled(r, 0) for r in refs)
    assert all(logs.sampled(r, 1) for r in refs)
    taken = sum(logs.sampled(r, 0.1) for r in refs)
    assert 300 < taken < 500  # about 10 %
    assert all(logs.sampled(r, 0.5) for r in refs if logs.sampled(r, 0.1))  # a larger share keeps the smaller
