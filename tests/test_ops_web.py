"""/healthz, /readyz and /metrics (in one process; tests/test_ops_serve.py runs them under gunicorn)."""
from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest

from bot.app import create_app
from bot.ops import web as ops_web
from bot.pushes.scheduler import SEEN
from bot.wechat.simulator import text_xml
from domain.keys import key
from tests.helpers import value


@pytest.fixture(autouse=True)
def fresh_config_cache():
    ops_web._CONFIG_CACHE.update(at=0.0, value=None)
    yield
    ops_web._CONFIG_CACHE.update(at=0.0, value=None)


def test_healthz_says_the_process_is_up(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}


def _leader_seen(redis_client, ago: float = 0):
    redis_client.set(SEEN, json.dumps({"who": "host:1:abc", "at": time.time() - ago}))


def test_readyz_wants_redis_persistence_and_a_recent_scheduler_leader(client, redis_client):
    resp = client.get("/readyz")
    body = resp.get_json()
    assert resp.status_code == 503 and body["status"] == "not ready"
    assert body["checks"]["redis"]["ok"] and body["checks"]["persistence"]["ok"]
    assert body["checks"]["scheduler"] == {"ok": False, "leader": None, "seen_seconds_ago": None}
    assert "access_token" not in body["checks"]  # development credentials: no pushes to keep a token for

    _leader_seen(redis_client, ago=90)
    assert client.get("/readyz").status_code == 503  # seen, but not in the last minute
    _leader_seen(redis_client, ago=5)
    resp = client.get("/readyz")
    assert resp.status_code == 200 and resp.get_json()["checks"]["scheduler"]["leader"] == "host:1:abc"


def test_readyz_refuses_a_store_without_its_append_only_file(client, redis_client):
    _leader_seen(redis_client)
    saved = redis_client.config_get("appendonly")["appendonly"]
    redis_client.config_set("appendonly", "no")
    try:
        resp = client.get("/readyz")
        assert resp.status_code == 503
        assert resp.get_json()["checks"]["persistence"] == {"ok": False, "appendonly": "no", "appendfsync": "always"}
    finally:
        redis_client.config_set("appendonly", saved)


def test_readyz_wants_a_fresh_access_token_when_pushes_are_configured(settings, redis_client):
    real = replace(settings, wechat_appid="wx0123456789abcdef", wechat_secret="0123456789abcdef0123456789abcdef")
    client = create_app(real, redis_client).test_client()
    _leader_seen(redis_client)
    resp = client.get("/readyz")
    assert resp.status_code == 503 and resp.get_json()["checks"]["access_token"] == {"ok": False, "expires_in": 0}
    redis_client.set(key("wechat", "wx0123456789abcdef_access_token"), json.dumps("TOKEN"), ex=30)
    assert client.get("/readyz").status_code == 503  # about to expire
    redis_client.set(key("wechat", "wx0123456789abcdef_access_token"), json.dumps("TOKEN"), ex=6900)
    resp = client.get("/readyz")
    assert resp.status_code == 200 and resp.get_json()["checks"]["access_token"]["ok"]


def test_readyz_answers_503_within_its_timeout_when_redis_is_gone(settings, redis_client):
    from tests.helpers import free_port

    gone = replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0", readyz_timeout=0.5)
    client = create_app(gone, redis_client).test_client()
    started = time.monotonic()
    resp = client.get("/readyz")
    assert resp.status_code == 503 and not resp.get_json()["checks"]["redis"]["ok"]
    assert time.monotonic() - started < 2
    assert client.get("/healthz").status_code == 200  # alive, just not ready


def test_the_scheduler_job_keeps_the_token_fresh_for_readyz(bot, redis_client, pushing):
    from bot.pushes import tasks

    deliverer, state = pushing
    bot.settings = replace(bot.settings, wechat_appid="wx0123456789abcdef", wechat_secret="0" * 32)
    deliverer.client.appid = "wx0123456789abcdef"
    tasks.wechat_token(bot, deliverer, time.time())
    ttl = redis_client.ttl(key("wechat", "wx0123456789abcdef_access_token"))
    assert ttl > 6000 and state.calls["stable_token"] == 1
    tasks.wechat_token(bot, deliverer, time.time())
    assert state.calls["stable_token"] == 1  # fresh enough: WeChat not asked again


def test_metrics_count_messages_retries_and_the_outbox(client, wechat, bot):
    before = client.get("/metrics").get_data(as_text=True)
    wechat.send("帮助", openid="o_m1")
    xml = text_xml("o_m2", "退订提醒", msg_id=4242)  # changes something: claimed, so a retry is deduped
    wechat.reply(wechat.post(xml))
    wechat.reply(wechat.post(xml))  # WeChat's retry of the same message
    bot.outbox.enqueue("o_m1", "稍后的回复", kind="late_reply", idem_key="k1")
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.content_type.startswith("text/plain")
    text = resp.get_data(as_text=True)

    def delta(name, **labels):
        return value(text, name, **labels) - value(before, name, **labels)

    assert delta("youthbot_messages_total", kind="text", handler="general.help_text", outcome="replied") == 1
    assert delta("youthbot_messages_total", kind="text", outcome="retry") == 1
    assert delta("youthbot_retries_deduped_total") == 1
    assert delta("youthbot_handling_seconds_count", kind="text") == 2
    assert value(text, "youthbot_outbox_depth", state="queued") == 1


def test_metrics_count_budget_overruns_and_the_late_reply_goes_to_the_outbox(settings, redis_client):
    from tests.helpers import WeChat

    app = create_app(replace(settings, reply_budget=0.1), redis_client)

    @app.extensions["youthbot"].router.keyword("慢慢想")
    def slow_thought(ctx):
        time.sleep(0.4)
        return "想好了"

    client = app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    assert WeChat(client).send("慢慢想", openid="o_slow") is None  # `success` at the budget
    time.sleep(0.6)
    text = client.get("/metrics").get_data(as_text=True)
    assert value(text, "youthbot_reply_budget_overruns_total") - \
        value(before, "youthbot_reply_budget_overruns_total") == 1
    assert value(text, "youthbot_messages_total", handler="test_ops_web.slow_thought", outcome="late") == 1
    assert [i["text"] for i in app.extensions["youthbot"].outbox.pending()] == ["想好了"]


def test_metrics_are_only_for_configured_addresses_or_the_token(settings, redis_client):
    app = create_app(replace(settings, metrics_allow="127.0.0.1/32,10.8.0.0/16", metrics_token="s3cret-token",
                             proxy_hops=1), redis_client)
    client = app.test_client()
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.8.3.4"}).status_code == 200
    outsider = {"REMOTE_ADDR": "198.51.100.7"}
    assert client.get("/metrics", environ_base=outsider).status_code == 403
    assert client.get("/metrics", environ_base=outsider, headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", environ_base=outsider,
                      headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    # behind the proxy: the address nginx saw counts, not the proxy's own
    assert client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 403
    assert client.get("/metrics", headers={"X-Forwarded-For": "10.8.9.9"}).status_code == 200
