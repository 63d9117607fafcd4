"""Each message is handled once, within the reply budget, with long answers paged."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from handlers.router import Router
from tests.helpers import settled, until


@pytest.fixture
def test_router(bot):
    """Swap in a router with handlers the tests control."""
    router = Router()
    bot.router = router
    return router


COUNTER = "yb:test:count"


def test_retry_after_first_finished_gets_the_same_reply_and_runs_once(wechat, test_router, redis_client):
    test_router.keyword("count")(lambda ctx: f"call {ctx.redis.incr(COUNTER)}")
    replies = [wechat.send("count", msg_id=777) for _ in range(3)]
    assert replies == ["call 1"] * 3 and redis_client.get(COUNTER) == "1"
    assert wechat.send("count", msg_id=778) == "call 2"


def test_on_a_client_that_cannot_track_writes_each_message_is_claimed_up_front_and_runs_once(settings, redis_client):
    """A plain redis-py client (no write tracking, bot/runtime/writes.py): the claim goes in the first round trip;
    a retry gets the first reply, an entry of the ledger's old format is honoured, the interaction is recorded."""
    import redis

    from bot.app import create_app
    from tests.helpers import WeChat

    plain = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    app = create_app(settings, plain)
    bot = app.extensions["youthbot"]
    bot.router = router = Router()
    router.keyword("count")(lambda ctx: f"call {ctx.redis.incr(COUNTER)}")
    wechat = WeChat(app.test_client())
    assert [wechat.send("count", "o_plain", 9001) for _ in range(3)] == ["call 1"] * 3
    assert wechat.send("count", "o_plain", 9002) == "call 2" and redis_client.get(COUNTER) == "2"
    redis_client.set("yb:msg:o_plain:9003", "kept by the version before", ex=600)
    assert wechat.send("count", "o_plain", 9003) == "kept by the version before"
    settled()
    assert redis_client.get(COUNTER) == "2" and bot.followers.last_seen("o_plain")
    plain.close()


def test_same_msgid_from_two_users_are_two_messages(wechat, test_router):
    test_router.keyword("who")(lambda ctx: ctx.openid)
    assert wechat.send("who", openid="o_a", msg_id=5) == "o_a"
    assert wechat.send("who", openid="o_b", msg_id=5) == "o_b"


def test_retry_while_first_still_runs_does_not_run_it_again(wechat, test_router, redis_client):
    started = threading.Event()

    @test_router.keyword("slow")
    def slow(ctx):
        n = ctx.redis.incr(COUNTER)
        started.set()
        time.sleep(0.4)
        return f"done {n}"

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(wechat.send, "slow", "o_alice", 900)
        started.wait(2)
        second = pool.submit(wechat.send, "slow", "o_alice", 900)
        assert first.result() == "done 1" and second.result() == "done 1"
    assert redis_client.get(COUNTER) == "1"


def test_retry_that_reaches_the_first_write_second_stops_before_it(wechat, test_router, redis_client):
    """Both deliveries read; only the one that claims first writes, and both answer its reply."""
    reads, both_read = [], threading.Barrier(2, timeout=5)

    @test_router.keyword("book")
    def book(ctx):
        reads.append(ctx.redis.get(COUNTER))
        both_read.wait()
        return f"booked {ctx.redis.incr(COUNTER)}"

    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda _: wechat.send("book", "o_alice", 901), range(2)))
    assert replies == ["booked 1", "booked 1"] and len(reads) == 2
    assert redis_client.get(COUNTER) == "1"


def _writes(r) -> dict[str, int]:
    """Write commands the server has run so far, by command (its command statistics)."""
    from bot.runtime.writes import READS

    return {k: v["calls"] for k, v in r.info("commandstats").items()
            if k.removeprefix("cmdstat_").upper().replace("|", " ") not in READS | {"INFO", "FLUSHDB", "SELECT"}}


def test_a_message_that_changes_nothing_writes_nothing(wechat, redis_client):
    wechat.send("帮助", openid="o_reader")  # a first message records the interaction
    settled()
    before = _writes(redis_client)
    assert "青年大学习" in wechat.send("帮助", openid="o_reader", msg_id=4242)
    assert "青年大学习" in wechat.send("帮助", openid="o_reader", msg_id=4242)  # a retry is answered again
    assert "活动" in wechat.send("志愿", openid="o_reader")
    settled()
    assert _writes(redis_client) == before


def test_event_retries_dedupe_on_sender_time_and_event(wechat, test_router, redis_client):
    test_router.click("K")(lambda ctx: f"clicked {ctx.redis.incr(COUNTER)}")
    assert wechat.event("CLICK", key="K", create_time=1700000000) == "clicked 1"
    assert wechat.event("CLICK", key="K", create_time=1700000000) == "clicked 1"
    assert wechat.event("CLICK", key="K", create_time=1700000001) == "clicked 2"


def test_handler_past_the_budget_answers_success_and_pushes_the_reply(bot, wechat, test_router):
    bot.settings = replace(bot.settings, reply_budget=0.2)
    answered, done = threading.Event(), threading.Event()

    @test_router.keyword("think")
    def think(ctx):
        answered.wait(10)  # still thinking when WeChat got its `success`
        done.set()
        return "thought it over"

    t0 = time.monotonic()
    assert wechat.send("think", msg_id=31) is None
    assert time.monotonic() - t0 < 0.45
    answered.set()
    done.wait(10)
    until(bot.outbox.pending, what="the late reply queued")
    assert [(p["openid"], p["text"], p["kind"]) for p in bot.outbox.pending()] == \
        [("o_alice", "thought it over", "late_reply")]
    assert wechat.send("think", msg_id=31) is None  # WeChat's retry: no second run, no second push
    assert len(bot.outbox.pending()) == 1


def test_handler_crash_gets_an_apology_not_a_500(wechat, test_router):
    test_router.keyword("boom")(lambda ctx: 1 / 0)
    assert "稍后再试" in wechat.send("boom")


def test_long_reply_is_paged_under_2000_bytes(wechat, test_router):
    lines = [f"第{i}行：四点半课堂志愿者招募，欢迎报名参加。" for i in range(200)]
    test_router.keyword("long")(lambda ctx: "\n".join(lines))
    test_router.keyword("更多")(lambda ctx: ctx.bot.pager.next_page(ctx.openid) or "没有更多")
    pages = [wechat.send("long")]
    while "更多" in pages[-1] and len(pages) < 50:
        pages.append(wechat.send("更多"))
    assert all(len(p.encode()) <= 2000 for p in pages)
    assert len(pages) > 3 and "没有更多" not in pages[-1]
    body = "\n".join(p.replace("（回复「更多」看下一页）", "").strip() for p in pages)
    assert body.split("\n") == lines
    assert wechat.send("更多") == "没有更多"


def test_subscribe_welcomes_and_a_return_is_welcomed_back(bot, wechat):
    first = wechat.event("subscribe", openid="o_new")
    assert "欢迎关注" in first and bot.followers.is_active("o_new")
    assert wechat.event("unsubscribe", openid="o_new") is None
    assert not bot.followers.is_active("o_new")
    assert "欢迎回来" in wechat.event("subscribe", openid="o_new", create_time=int(time.time()) + 2)


def test_follow_from_a_qr_code_is_welcomed(wechat):
    assert "欢迎关注" in wechat.event("subscribe", openid="o_qr", key="qrscene_riverclean")


def test_any_message_records_the_last_interaction(bot, wechat):
    before = int(time.time())
    wechat.send("帮助", openid="o_seen")
    settled()
    assert bot.followers.last_seen("o_seen") >= before


def test_unmatched_text_gets_help(wechat):
    reply = wechat.send("今天天气怎么样")
    assert "没看懂" in reply and "答题" in reply


def test_help_from_menu_click(wechat):
    assert "青年大学习" in wechat.event("CLICK", key="HELP")


def test_full_width_and_spaced_keywords_match(wechat):
    assert "青年大学习" in wechat.send("  ＨＥＬＰ ")


def test_every_menu_button_has_a_handler(bot, wechat):
    import yaml

    menu = yaml.safe_load((bot.settings.content_dir / "menu.yaml").read_text(encoding="utf-8"))
    keys = [b["key"] for group in menu["button"] for b in group.get("sub_button", [group]) if b.get("type") == "click"]
    assert len(keys) == 9
    for i, k in enumerate(keys):
        reply = wechat.event("CLICK", key=k, create_time=1_700_000_000 + i)
        assert reply and "没看懂" not in reply, k


def test_a_handler_that_only_fills_in_a_text_runs_on_the_request_thread_the_others_on_the_pool(
        bot, wechat, test_router, redis_client):
    """`@instant` keyword handlers (帮助, 谢谢, ...) skip the hand-off to the pool; everything else, and an
    instant keyword said inside a conversation, still runs on a pool thread under the reply budget."""
    from handlers.router import instant

    def where(ctx):
        redis_client.rpush("yb:test:threads", threading.current_thread().name)
        return "ok"

    test_router.keyword("快")(instant(lambda ctx: where(ctx)))
    test_router.keyword("慢")(lambda ctx: where(ctx))
    test_router.state("s.step")(lambda ctx: where(ctx))
    pipe = redis_client.pipeline()
    bot.followers.touch(pipe, "o_alice")  # seen a moment ago: no touch due, nothing to write
    pipe.execute()
    assert wechat.send("快") == wechat.send("慢") == "ok"
    here, pool = redis_client.lrange("yb:test:threads", 0, -1)
    assert here == threading.current_thread().name and pool.startswith("handler")

    assert wechat.send("快", openid="o_first_time") == "ok"  # the touch is due: it goes to the pool, after the reply
    assert redis_client.lrange("yb:test:threads", 2, -1)[0].startswith("handler")

    from handlers.router import Flow
    Flow(redis_client, "o_alice", 600).start("s", "s.step")  # inside a conversation: the step answers
    assert wechat.send("快") == "ok"
    assert redis_client.lrange("yb:test:threads", 3, -1)[0].startswith("handler")


def test_help_and_thanks_are_instant_a_sign_up_is_not(wechat, bot):
    from handlers.router import Flow

    assert bot.router.is_instant(_text("帮助"), Flow(bot.redis, "o_alice", 60).load())
    assert bot.router.is_instant(_text("谢谢！"), Flow(bot.redis, "o_alice", 60).load())
    assert not bot.router.is_instant(_text("报名 3"), Flow(bot.redis, "o_alice", 60).load())
    assert "青年大学习" in wechat.send("帮助")


def _text(content: str):
    from handlers.message import Incoming

    return Incoming(sender="o_alice", recipient="gh_test", kind="text", time=int(time.time()), msg_id="1",
                    content=content)
