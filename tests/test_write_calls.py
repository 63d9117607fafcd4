"""Each state change a message makes is ONE write call to the store (issue 25, item 1).

Every message goes through the webhook, signed as WeChat signs it. What the service sends the real
test server is read two ways: MONITOR lists each command a client sent (commands a script runs inside
the server are listed as the script's, client "lua", and not counted as calls), and INFO commandstats
gives the deltas of script calls and transactions. The message ledger's own claim and reply record
(`yb:{u:<openid>}:msg:...` and its index entry, bot/web/handling.py) are not the handler's and are left out; the follower touch is not
due (each user sends a first message before the measured one).
"""
from __future__ import annotations

import itertools

import pytest

from bot.runtime.writes import READS
from domain import ledger_index
from domain.events import Events
from domain.jobs import Jobs, interest_key
from domain.keys import ledger_key, user_key
from domain.outbox import QUEUE
from domain.profiles import Profiles
from handlers.ledger import PENDING
from tests.helpers import make_event, posting, settled, with_profile

_ids = itertools.count(9000)


@pytest.fixture
def events(bot):
    return Events(bot.redis)


@pytest.fixture(autouse=True)
def scripts_loaded(bot):
    """The service's scripts in the server's cache, as after its first minutes (a fresh server answers a
    first EVALSHA with NOSCRIPT and the client sends the script once more)."""
    from domain import userwrites
    from domain.scripting import _PRELUDE, Script

    for service in (bot.events, bot.jobs, bot.outbox):
        for script in vars(service).values():
            if isinstance(script, Script):  # as registered, and carrying the ledger's claim (domain/scripting.py)
                bot.redis.script_load(script._lua)
                bot.redis.script_load(_PRELUDE + script._lua)
    bot.redis.script_load(userwrites._FLUSH)
    bot.redis.script_load(_PRELUDE + userwrites._FLUSH)


def _stats(redis_client) -> dict[str, int]:
    return {k.removeprefix("cmdstat_"): v["calls"] for k, v in redis_client.info("commandstats").items()}


def send(wechat, redis_client, text: str, openid: str) -> tuple[str, list[list[str]], dict[str, int]]:
    """Send one message; return its reply, the write commands the service sent for it (ledger left out),
    and the commandstats deltas of script calls and transactions."""
    msg_id = next(_ids)
    entry = ledger_key(openid, msg_id)
    settled()  # the earlier messages' records and touches are not this one's
    before = _stats(redis_client)
    with redis_client.monitor() as monitor:
        reply = wechat.send(text, openid=openid, msg_id=msg_id)
        settled()  # the reply is recorded just after it is handed over
        assert redis_client.get(entry) != PENDING, "the reply was never recorded"
        marker = f"end-of-message-{msg_id}"
        redis_client.echo(marker)
        sent = []
        while True:
            command = monitor.next_command()
            if command["command"] == f"ECHO {marker}":
                break
            if command["client_type"] != "lua":
                sent.append(command["command"].split(" "))
    after = _stats(redis_client)
    ledger = {entry, ledger_index.index_key(openid)}  # the entry, and its place in the person's ledger index
    writes = [c for c in sent if c[0].upper() not in READS | {"ECHO", "HELLO", "CLIENT"}
              and not (len(c) > 1 and c[1].strip('"') in ledger)]
    deltas = {name: after.get(name, 0) - before.get(name, 0) for name in ("evalsha", "eval", "exec", "multi")}
    return reply, writes, deltas


def one_call(writes, deltas) -> bool:
    return [w[0].upper() for w in writes] == ["EVALSHA"] and deltas == {"evalsha": 1, "eval": 0, "exec": 0, "multi": 0}


def test_sign_up_with_its_index_and_the_waitlist_is_one_call(wechat, redis_client, events, bot):
    occ = make_event(events, capacity=1)
    for openid in ("o_first", "o_second"):
        with_profile(bot, openid)
        wechat.send("帮助", openid=openid)
    reply, writes, deltas = send(wechat, redis_client, f"报名 {occ.number}", "o_first")
    assert "报名成功" in reply and one_call(writes, deltas), (writes, deltas)
    reply, writes, deltas = send(wechat, redis_client, f"报名 {occ.number}", "o_second")
    assert "候补" in reply and one_call(writes, deltas), (writes, deltas)
    assert redis_client.zscore(user_key("o_first", "signups"), occ.id) == occ.start
    assert redis_client.zscore(user_key("o_second", "signups"), occ.id) == occ.start
    assert events.status_of(occ.id, "o_second") == ("waitlisted", 1)


def test_an_overlapping_sign_up_is_refused_in_the_same_call(wechat, redis_client, events, bot):
    first = make_event(events, "river", starts_in=3 * 86400)
    second = make_event(events, "park", starts_in=3 * 86400 + 1800)
    with_profile(bot, "o_busy")
    assert "报名成功" in wechat.send(f"报名 {first.number}", openid="o_busy")
    reply, writes, deltas = send(wechat, redis_client, f"报名 {second.number}", "o_busy")
    assert first.title in reply and events.status_of(second.id, "o_busy") == ("none", 0)
    assert len(writes) <= 1  # refused by the read before it (no write at all), or by the script itself


def test_cancel_with_the_promotion_and_its_notice_is_one_call(wechat, redis_client, events, bot):
    occ = make_event(events, capacity=1)
    events.sign_up(occ, "o_leaving")
    events.sign_up(occ, "o_waiting")
    with_profile(bot, "o_leaving")
    wechat.send("帮助", openid="o_leaving")
    reply, writes, deltas = send(wechat, redis_client, f"取消报名 {occ.number}", "o_leaving")
    assert "已取消" in reply and one_call(writes, deltas), (writes, deltas)
    assert events.status_of(occ.id, "o_waiting") == ("confirmed", 1)
    assert redis_client.zscore(user_key("o_leaving", "signups"), occ.id) is None
    queued = [p for p in bot.outbox.pending() if p["openid"] == "o_waiting"]
    assert [p["kind"] for p in queued] == ["waitlist_promotion"] and occ.title in queued[0]["text"]
    assert queued[0]["key"] == f"promote:{occ.id}:o_waiting" and queued[0]["expires"] == int(occ.start)
    # signed up again and cancelled again: the promotion notice is not queued twice for the same person
    events.sign_up(occ, "o_leaving")
    events.cancel(occ, "o_waiting")  # o_leaving promoted (no notice asked for here)
    events.sign_up(occ, "o_waiting")
    send(wechat, redis_client, f"取消报名 {occ.number}", "o_leaving")
    assert len([p for p in bot.outbox.pending() if p["openid"] == "o_waiting"]) == 1


def test_check_in_and_check_out_are_one_call_each(wechat, redis_client, events, bot):
    occ = make_event(events, starts_in=-600, hours=2)  # under way
    events.sign_up(occ, "o_vol")
    wechat.send("帮助", openid="o_vol")
    reply, writes, deltas = send(wechat, redis_client, f"签到 {events.code(occ.id)}", "o_vol")
    assert "签到成功" in reply and one_call(writes, deltas), (reply, writes, deltas)
    reply, writes, deltas = send(wechat, redis_client, "签退", "o_vol")
    assert one_call(writes, deltas), (reply, writes, deltas)
    assert occ.title in reply
    assert redis_client.hexists(f"yb:{{ev:{occ.id}}}:checkout", "o_vol")
    assert redis_client.zscore(user_key("o_vol", "served"), occ.id) == 0  # 10 minutes of a 2-hour event
    assert redis_client.get(user_key("o_vol", "checked_in")) is None
    # a second 签退 and a second 签到 change nothing and write nothing
    for text in ("签退", f"签到 {events.code(occ.id)}"):
        _, writes, deltas = send(wechat, redis_client, text, "o_vol")
        assert writes == [] and deltas["evalsha"] == 0, (text, writes)


def test_job_interest_and_the_end_of_its_note_question_is_one_call(wechat, redis_client, bot):
    jobs = Jobs(bot.redis)
    p = jobs.save(posting("j1", "仓库分拣员"))
    with_profile(bot, "o_seeker")
    wechat.send("帮助", openid="o_seeker")
    reply, writes, deltas = send(wechat, redis_client, f"投递 {p.number}", "o_seeker")
    assert "跳过" in reply and one_call(writes, deltas), (reply, writes, deltas)  # the question: the flow only
    reply, writes, deltas = send(wechat, redis_client, "周末也可以上班", "o_seeker")
    assert "仓库分拣员" in reply and one_call(writes, deltas), (reply, writes, deltas)
    assert redis_client.zscore(interest_key(p.id), "o_seeker") is not None
    assert redis_client.zscore(user_key("o_seeker", "jobs"), p.id) is not None
    assert redis_client.exists(user_key("o_seeker", "flow")) == 0
    assert jobs.interested(p.id)[0][3] == "周末也可以上班"


def test_each_step_of_the_consent_questions_is_one_call_and_the_last_signs_up_in_it(wechat, redis_client, events,
                                                                                      bot):
    occ = make_event(events)
    wechat.send("帮助", openid="o_new")
    steps = [(f"报名 {occ.number}", "个人信息说明"), ("同意", "真实姓名"), ("张小明", "手机号"),
             ("13800138000", "报名成功")]
    for text, expected in steps:
        reply, writes, deltas = send(wechat, redis_client, text, "o_new")
        assert expected in reply and one_call(writes, deltas), (text, reply, writes, deltas)
    profile = Profiles(bot.redis).get("o_new")
    assert (profile.name, profile.phone) == ("张小明", "13800138000") and profile.consent_at
    assert events.status_of(occ.id, "o_new") == ("confirmed", 1)
    assert redis_client.exists(user_key("o_new", "flow")) == 0


def test_a_profile_step_that_asks_again_writes_the_flow_once(wechat, redis_client, events, bot):
    occ = make_event(events)
    wechat.send("帮助", openid="o_typo")
    for text in (f"报名 {occ.number}", "同意", "张小明"):
        wechat.send(text, openid="o_typo")
    reply, writes, deltas = send(wechat, redis_client, "1380013800", "o_typo")  # one digit short: asked again
    assert "还可以再试2次" in reply and one_call(writes, deltas), (writes, deltas)
    assert not Profiles(bot.redis).get("o_typo").has_contact


def test_the_promotion_notice_rides_with_the_outbox_queue_key(bot):
    """The cancellation script writes the outbox's own queue: the key it is given is the one drained."""
    notice = bot.outbox.prepare("x", kind="waitlist_promotion", idem_prefix="promote:e@1:")
    assert notice.queue == QUEUE and notice.seen_prefix.endswith(":seen:")


def test_a_handler_that_fails_leaves_the_users_flow_and_profile_as_they_were(bot, wechat, redis_client):
    """What a message held for the user's keys leaves with its one call or not at all."""
    from handlers.conversation import Conversation
    from handlers.router import Router

    router = Router()
    steps = router.conversation(Conversation("t", states={"t.one": lambda ctx: "one"}))

    @router.keyword("half")
    def half(ctx):
        steps.start(ctx, "t.one")
        ctx.profiles.save_contact(ctx.openid, "张小明", "13800138000")
        assert ctx.profiles.get(ctx.openid).has_contact  # the message itself reads what it holds
        raise RuntimeError("the handler fails after its first changes")

    @router.keyword("whole")
    def whole(ctx):
        steps.start(ctx, "t.one")
        ctx.profiles.save_contact(ctx.openid, "张小明", "13800138000")
        return "ok"

    bot.router = router
    assert "稍后再试" in wechat.send("half", openid="o_half")
    assert redis_client.exists(user_key("o_half", "flow"), user_key("o_half", "profile")) == 0
    assert not Profiles(bot.redis).get("o_half").has_contact
    assert wechat.send("whole", openid="o_half") == "ok"
    assert redis_client.hget(user_key("o_half", "flow"), "state") == "t.one"
    assert Profiles(bot.redis).get("o_half").phone == "13800138000"
