"""/healthz, /readyz and /metrics (in one process; tests/test_ops_serve.py runs them under gunicorn)."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

import pytest

from bot.app import create_app
from bot.runtime import topology
from bot.pushes.scheduler import SEEN
from bot.wechat.simulator import text_xml
from domain.keys import key
from tests.helpers import samples, until, value


@pytest.fixture(autouse=True)
def fresh_config_cache():
    topology.forget_settings()
    yield
    topology.forget_settings()


def test_healthz_says_the_process_is_up(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}


def _leader_seen(redis_client, ago: float = 0):
    redis_client.set(SEEN, json.dumps({"who": "host:1:abc", "at": time.time() - ago}))


def test_readyz_is_ready_with_the_scheduler_stopped(client, redis_client):
    """A web process is ready when it can answer messages; the scheduler is another process."""
    redis_client.delete(SEEN)  # no scheduler has ever led
    resp = client.get("/readyz")
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] == "ready", body
    assert body["checks"]["redis"]["ok"] and body["checks"]["persistence"]["ok"] and body["checks"]["write"]["ok"]
    assert "scheduler" not in body["checks"] and "access_token" not in body["checks"]
    _leader_seen(redis_client, ago=900)  # a leader long gone
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_within_2_s_of_the_store_refusing_writes(client, redis_client):
    """A Redis that answers PING but cannot keep a write (here: it wants a replica it does not have,
    as it would refuse writes on a full disk) cannot keep what the webhook acknowledges."""
    assert client.get("/readyz").status_code == 200
    redis_client.config_set("min-replicas-to-write", 1)
    try:
        started = time.monotonic()
        resp = client.get("/readyz")
        assert resp.status_code == 503 and time.monotonic() - started < 2
        assert not resp.get_json()["checks"]["write"]["ok"] and "NOREPLICAS" in resp.get_json()["checks"]["write"]["error"]
    finally:
        redis_client.config_set("min-replicas-to-write", 0)
    assert client.get("/readyz").status_code == 200


def test_metrics_show_the_scheduler_heartbeat_age_and_the_token_life(settings, redis_client):
    real = replace(settings, wechat_appid="wx0123456789abcdef", wechat_secret="0123456789abcdef0123456789abcdef")
    client = create_app(real, redis_client).test_client()
    redis_client.delete(SEEN)
    text = client.get("/metrics").get_data(as_text=True)
    assert value(text, "youthbot_scheduler_heartbeat_age_seconds") == float("inf")  # no leader: alert
    assert value(text, "youthbot_access_token_expires_in_seconds") == 0
    assert client.get("/readyz").status_code == 200  # neither takes the web process out
    _leader_seen(redis_client, ago=5)
    redis_client.set(key("wechat", "wx0123456789abcdef_access_token"), json.dumps("TOKEN"), ex=6900)
    text = client.get("/metrics").get_data(as_text=True)
    assert 4 <= value(text, "youthbot_scheduler_heartbeat_age_seconds") < 30
    assert 6800 < value(text, "youthbot_access_token_expires_in_seconds") <= 6900


def test_metrics_count_responses_by_status_and_refused_signatures(client, wechat, caplog):
    import logging

    from bot.web import webhook
    from bot.wechat.simulator import WeChatSimulator
    from tests.helpers import TOKEN

    webhook._refusals.clear()
    before = client.get("/metrics").get_data(as_text=True)
    forged = WeChatSimulator("not-the-token")
    with caplog.at_level(logging.WARNING, logger="bot.web.webhook"):
        for i in range(3):  # WeChat's requests signed with a token that no longer matches
            params, body = forged.request(text_xml(f"o_forged_{i}", "帮助"))
            assert client.post("/wechat", query_string=params, data=body).status_code == 403
        params, body = WeChatSimulator(TOKEN).request(text_xml("o_big", "长" * 30_000))
        assert client.post("/wechat", query_string=params, data=body).status_code == 413
    wechat.send("帮助", openid="o_fine")
    text = client.get("/metrics").get_data(as_text=True)

    def delta(name, **labels):
        return value(text, name, **labels) - value(before, name, **labels)

    assert delta("youthbot_webhook_refused_total", reason="signature") == 3
    assert delta("youthbot_http_responses_total", status="403", route="/wechat") == 3
    assert delta("youthbot_http_responses_total", status="413", route="/wechat") == 1
    assert delta("youthbot_http_responses_total", status="200", route="/wechat") == 1
    assert value(text, "youthbot_http_responses_total", status="200", route="/metrics") >= 1
    refused = [r for r in caplog.records if getattr(r, "event", None) == "refused"]
    assert len(refused) == 1 and "reason=signature" in refused[0].getMessage()  # once a minute, not per request
    assert "o_forged" not in caplog.text


def test_metrics_show_failed_pushes_waiting_and_given_up_and_the_build(client, bot, pushing, fake_wechat):
    import requests

    from bot.pushes.delivery import Push
    from tests.test_pushes import follower

    deliverer, fake = pushing
    for openid in ("o_wait", "o_blocked"):
        follower(bot, openid)
    requests.post(f"{fake_wechat[0]}/_fake/fail", json={"errcode": 45009, "times": 100}, timeout=5)
    deliverer.deliver(Push("o_wait", "x", "waitlist_promotion", "promote:w:o_wait", None, time.time() + 86400))
    fake.failures.clear()
    requests.post(f"{fake_wechat[0]}/_fake/fail", json={"errcode": 43004, "times": 1}, timeout=5)
    deliverer.deliver(Push("o_blocked", "x", "waitlist_promotion", "promote:b:o_blocked", None, time.time() + 86400))
    text = client.get("/metrics").get_data(as_text=True)
    assert value(text, "youthbot_failed_pushes", state="waiting") == 1
    assert value(text, "youthbot_failed_pushes", state="given_up") == 1
    [build] = [ls for (n, ls), _ in samples(text).items() if n == "youthbot_build_info"]
    assert dict(build)["version"] == "0.1.0"


def test_readyz_refuses_a_store_without_its_append_only_file(client, redis_client):
    saved = redis_client.config_get("appendonly")["appendonly"]
    redis_client.config_set("appendonly", "no")
    try:
        resp = client.get("/readyz")
        assert resp.status_code == 503
        persistence = resp.get_json()["checks"]["persistence"]
        assert persistence == {"ok": False, "appendonly": "no", "appendfsync": "always",
                               "failed": [topology.node_name(redis_client)]}
    finally:
        redis_client.config_set("appendonly", saved)


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
    answered = threading.Event()

    @app.extensions["youthbot"].router.keyword("慢慢想")
    def slow_thought(ctx):
        answered.wait(10)  # still thinking when WeChat got its `success`
        return "想好了"

    client = app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    assert WeChat(client).send("慢慢想", openid="o_slow") is None  # `success` at the budget
    answered.set()
    def counted():
        text = client.get("/metrics").get_data(as_text=True)
        return text if value(text, "youthbot_messages_total", handler="test_ops_web.slow_thought", outcome="late") else ""

    text = until(counted, what="the late reply counted")
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
