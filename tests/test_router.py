"""Router and conversation flows, fed straight to the dispatcher (no HTTP)."""
from __future__ import annotations

import pytest

from handlers.router import Context, Flow, Router
from bot.wechat.simulator import text_xml
from bot.web.webhook import parse_incoming


@pytest.fixture
def router():
    r = Router()

    @r.keyword("报名")
    def start(ctx):
        ctx.flow.start("profile", "name")
        return "你的名字？"

    @r.state("name")
    def got_name(ctx):
        ctx.flow.goto("phone", name=ctx.text)
        return f"{ctx.text}，你的手机号？"

    @r.state("phone")
    def got_phone(ctx):
        name = ctx.flow.data["name"]
        ctx.flow.end()
        return f"{name} {ctx.text} 报名成功"

    @r.pattern(r"活动\s*(\d+)")
    def detail(ctx):
        return f"活动{ctx.match.group(1)}"

    @r.pattern(r"活动.*")
    def any_event(ctx):
        return "second pattern"

    r.fallback(lambda ctx: "help")
    return r


@pytest.fixture
def say(bot, router):
    bot.router = router

    def _say(text, openid="o_u", ttl=1800):
        ctx = Context(openid=openid, message=parse_incoming(text_xml(openid, text).encode()), bot=bot,
                      flow=Flow(bot.redis, openid, ttl))
        return router.dispatch(ctx)
    return _say


def test_a_flow_walks_its_states_and_keeps_data(say):
    assert say("报名") == "你的名字？"
    assert say("小明") == "小明，你的手机号？"
    assert say("13800001234") == "小明 13800001234 报名成功"
    assert say("小明") == "help"


def test_cancel_leaves_a_flow_at_any_step(say):
    say("报名")
    say("小红")
    assert "已取消" in say("取消")
    assert say("13800001234") == "help"
    say("报名")
    assert "已取消" in say("退出")


def test_cancel_outside_a_flow_says_there_is_nothing(say):
    assert "没有进行中" in say("取消")


def test_flows_are_kept_per_user(say):
    say("报名", openid="o_1")
    assert say("小刚", openid="o_2") == "help"
    assert say("小刚", openid="o_1") == "小刚，你的手机号？"


def test_expired_flow_is_explained_once(say, bot):
    say("报名", ttl=1)
    bot.redis.delete("yb:{u:o_u}:flow")  # what the TTL does after a minute of silence
    reply = say("小明")
    assert "已自动结束" in reply and "志愿" in reply
    assert say("小明") == "help"


def test_flow_state_has_a_ttl(say, bot):
    say("报名")
    assert 0 < bot.redis.ttl("yb:{u:o_u}:flow") <= 1800


def test_first_matching_pattern_wins(say):
    assert say("活动 12") == "活动12"
    assert say("活动abc") == "second pattern"


def test_a_command_word_mid_flow_is_answered_and_the_flow_waits(say, router):
    router.keyword("积分")(lambda ctx: "你的积分")
    say("报名")
    assert say("积分") == "你的积分"
    assert say("小明") == "小明，你的手机号？"


def test_a_keyword_sent_as_written_reads_as_the_long_way_does(bot):
    """Router.read's shortcut (a text that is exactly a keyword reading as itself) answers what
    read_as_command answers, for every keyword and for texts around them."""
    from handlers.router import read_as_command

    router = bot.router
    texts = list(router.keywords) + [w + "。" for w in router.keywords] + [w.upper() for w in router.keywords] + \
        ["報名 3", "我要报名第三个", "  帮助  ", "帮助！", "幫助", "ＯＫ", "签到 123456", "取消报名 二"]
    for text in texts:
        assert router.read(text) == read_as_command(text, router.numbered_words), text
