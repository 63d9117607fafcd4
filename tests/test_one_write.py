"""A quiz answer costs one read round trip and one write round trip on the reply's path (issue 25, item 1):
the ledger claim rides in the answer's script (domain/scripting.py), and the whole answer, the finishing one
included, is that one script. Exactly once still holds, and the split path a Redis Cluster takes gives the
same outcomes and leaves the same store."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import redis
from redis.connection import AbstractConnection

from bot.runtime.writes import READS
from bot.wechat.simulator import WeChatSimulator, text_xml
from domain import scripting
from domain.quiz import Quiz
from tests.helpers import TOKEN, make_event, make_session, post_signed, settled, with_profile

SETUP = {"CLIENT", "HELLO", "AUTH", "SELECT"}  # a new connection's handshake, not the message's


def _names(packed) -> list[str]:
    """The command names in one packed send (RESP arrays of bulk strings)."""
    data = packed if isinstance(packed, (bytes, bytearray)) else b"".join(bytes(p) for p in packed)
    names, i = [], 0
    while i < len(data):
        assert data[i:i + 1] == b"*", data[i:i + 20]
        end = data.index(b"\r\n", i)
        count, i = int(data[i + 1:end]), end + 2
        args = []
        for _ in range(count):
            end = data.index(b"\r\n", i)
            size = int(data[i + 1:end])
            args.append(data[end + 2:end + 2 + size])
            i = end + 2 + size + 2
        names.append(args[0].decode().upper())
    return names


@contextmanager
def round_trips():
    """Each round trip this process's clients make to the real server, as the names of the commands it
    carried (a spy on the connection's send: every command still goes to the server)."""
    trips, original = [], AbstractConnection.send_packed_command

    def spy(self, command, check_health=True):
        names = _names(command)
        if not set(names) <= SETUP:
            trips.append(names)
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = spy
    try:
        yield trips
    finally:
        AbstractConnection.send_packed_command = original


# A connection the client's pool opens meanwhile (its handshake) is not a write of the message's.
HANDSHAKE = {"HELLO", "CLIENT|SETINFO", "AUTH", "SELECT"}
# The ledger's record of the reply, after it: the entry, and its place in the person's ledger index
# (domain/ledger_index.py: expired places dropped, this one added, the index's expiry renewed). One round trip.
RECORD = ["SET", "ZREMRANGEBYSCORE", "ZADD", "EXPIRE"]


def _commands(r) -> dict[str, int]:
    return {k.removeprefix("cmdstat_").upper(): v["calls"] for k, v in r.info("commandstats").items()}


def _until(condition, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _measure(wechat, redis_client, text: str, msg_id: int):
    """Send one message; return (its reply, the round trips before the ledger's record of it, the record's
    round trip, the server's write commands for the message)."""
    from handlers.ledger import message_key
    from handlers.message import Incoming

    key = message_key(Incoming(sender="o_rt", recipient="gh", kind="text", time=0, msg_id=str(msg_id)))
    settled()
    before = _commands(redis_client)
    with round_trips() as trips:
        reply = wechat.send(text, "o_rt", msg_id)
        _until(lambda: RECORD in trips)  # the record, written after the reply
    assert redis_client.get(key) == reply
    after = _commands(redis_client)
    record = next(i for i, t in enumerate(trips) if t == RECORD)
    writes = {k: after.get(k, 0) - before.get(k, 0) for k in after
              if after.get(k, 0) != before.get(k, 0) and k.replace("|", " ") not in READS | {"INFO"}
              and k not in HANDSHAKE}
    return reply, trips[:record], trips[record:], writes


@pytest.fixture
def quiz(bot):
    return Quiz(bot.redis)


def test_a_quiz_answer_and_the_finishing_answer_are_one_read_and_one_write_round_trip(wechat, quiz, redis_client):
    make_session(quiz)
    wechat.send("答题", "o_rt")
    assert "回答正确" in wechat.send("B", "o_rt")  # the scripts are loaded, the day's interaction recorded

    reply, reply_path, after, writes = _measure(wechat, redis_client, "ABD", 7001)
    assert "回答正确" in reply and "第3题" in reply
    assert len(reply_path) == 2, reply_path
    assert set(reply_path[0]) <= READS, reply_path  # the message's one read: ledger entry, flow, last seen
    assert reply_path[1] == ["EVALSHA"]  # the claim and the answer: one script, one write, one fsync
    assert after == [RECORD]  # the ledger's record of the reply, after it
    # what the server ran (a script's commands counted too): the claim's SET and the answer inside the
    # EVALSHA, and the record
    assert writes == {"EVALSHA": 1, "SET": 2, "HSET": 1, "HINCRBY": 1, "EXPIRE": 2, "ZREMRANGEBYSCORE": 1,
                      "ZADD": 1}, writes

    reply, reply_path, after, writes = _measure(wechat, redis_client, "对", 7002)
    assert "得分：30分" in reply and "本期排名：第1名" in reply and "连续参与：1期" in reply
    assert len(reply_path) == 2 and set(reply_path[0]) <= READS and reply_path[1] == ["EVALSHA"], reply_path
    assert after == [RECORD]
    assert writes == {"EVALSHA": 1, "SET": 2, "HSET": 2, "HINCRBY": 1, "EXPIRE": 2, "ZADD": 2, "ZINCRBY": 2,
                      "DEL": 3, "ZREMRANGEBYSCORE": 1}, writes  # + the score, total, count, evidence; the attempt and the flow deleted
    assert quiz.result_of("o_rt", quiz.session("s-now")) == (30, 1) and quiz.progress("o_rt") is None
    assert not redis_client.exists("yb:{u:o_rt}:flow")  # the flow ended in the same script
    assert "没看懂" in wechat.send("B", "o_rt")  # and the chat is out of the quiz


def test_a_text_that_answers_no_question_writes_nothing(wechat, quiz, redis_client):
    make_session(quiz)
    wechat.send("答题", "o_rt")
    assert "回答正确" in wechat.send("B", "o_rt")
    settled()
    before = _commands(redis_client)
    reply = wechat.send("随便", "o_rt", 7100)
    assert "没有这个选项" in reply and "第2题" in reply
    after = _commands(redis_client)
    assert {k for k in after if after[k] != before.get(k, 0) and k.replace("|", " ") not in READS | {"INFO"}
            and k not in HANDSHAKE} == set()
    assert "回答正确" in wechat.send("ABD", "o_rt")


def test_the_same_answer_delivered_three_times_at_once_counts_once(live_server, quiz):
    make_session(quiz)
    sim = WeChatSimulator(TOKEN)
    post_signed(live_server, sim, text_xml("o_three", "答题"))
    post_signed(live_server, sim, text_xml("o_three", "B"))
    post_signed(live_server, sim, text_xml("o_three", "ABD"))
    barrier = threading.Barrier(3)

    def deliver(_):  # WeChat's retries of one message (one MsgId), all arriving while the first runs
        barrier.wait()
        return post_signed(live_server, sim, text_xml("o_three", "对", msg_id=880088))

    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(deliver, range(3)))
    assert "得分：30分" in replies[0] and replies.count(replies[0]) == 3, replies
    assert quiz.totals("o_three") == (30, 1)


def test_a_script_carrying_a_taken_claim_writes_nothing(redis_client):
    class Refused(BaseException):
        pass

    def refuse():
        raise Refused()

    script = scripting.register(redis_client, "redis.call('INCR', KEYS[1]) return #ARGV")
    assert script(keys=["yb:test:n"], args=["x"]) == 1  # no pending claim: as registered
    with scripting.first_write(scripting.Prefix("yb:test:claim", "P", 5, refuse)) as prefix:
        assert script(keys=["yb:test:n"], args=["x", "y"]) == 2  # the body sees its own arguments only
        assert prefix.done and redis_client.get("yb:test:claim") == "P" and 0 < redis_client.ttl("yb:test:claim") <= 5
        assert script(keys=["yb:test:n"], args=[]) == 0  # carried once, then plain
    with scripting.first_write(scripting.Prefix("yb:test:claim", "Q", 5, refuse)):
        with pytest.raises(Refused):
            script(keys=["yb:test:n"], args=[])
    assert redis_client.get("yb:test:n") == "3" and redis_client.get("yb:test:claim") == "P"


def test_an_entry_in_the_ledgers_old_format_is_still_honoured(redis_client, settings):
    """A message answered by the version before (its entry `yb:msg:<openid>:<MsgId>`) and retried after the
    upgrade gets the reply kept then, and runs nothing again."""
    from bot.app import create_app
    from tests.helpers import WeChat

    redis_client.set("yb:msg:o_old:5150", "✅ 报名成功（旧版本的回复）", ex=600)
    redis_client.set("yb:msg:o_old:5151", "\x00pending", px=150)  # in flight on an old worker that died
    wechat = WeChat(create_app(settings, redis_client).test_client())
    assert wechat.send("报名 1", "o_old", 5150) == "✅ 报名成功（旧版本的回复）"
    assert "青年大学习" in wechat.send("帮助", "o_old", 5151)  # its claim lapsed: the retry runs it


def test_one_step_and_the_clusters_steps_answer_alike_and_leave_the_same_store(bot, quiz):
    """The Lua of the one-step answer against the split path (Cluster) on the same attempts: outcomes,
    results, scores, evidence and what is left of the attempt."""
    now = float(int(time.time()))  # whole seconds: the answers' times are kept rounded
    past = [make_session(quiz, f"w{i}", opens_in=-(3 - i) * 7 * 86400, closes_in=-(2 - i) * 7 * 86400 - 1, now=now)
            for i in range(2)]
    late = make_session(quiz, "late", opens_in=-3600, closes_in=25, now=now)
    current = make_session(quiz, "s-now", opens_in=-1800, now=now)
    make_session(quiz, "other-open", opens_in=-60, now=now)  # newer, open, not done: does not break a streak
    bot.redis.hset("yb:{u:u_one}:profile", "branch", "b1")
    bot.redis.hset("yb:{u:u_split}:profile", "branch", "b1")
    script = [  # (session, text, seconds after now)
        (current, "start", 0), (current, "B", 3), (current, "选B", 5), (current, "Z", 6), (current, "b", 7),
        (current, "AB", 9), (current, "A", 10), (current, "对", 40), (current, "对", 42),  # gone: finished
        (current, "start", 60), (current, "C", 61), (current, "ABD", 64), (current, "错", 70),  # practice
        (late, "start", 0), (late, "B", 5), (late, "ABD", 10), (late, "T", 30),  # answered after the close
    ]
    for openid in ("u_one", "u_split"):
        quiz._one_step = openid == "u_one"
        quiz.record_completed(openid, past[1], ["B", "ABD", "T"], past[1].opens + 60)
        seen = []
        for session, text, at in script:
            if text == "start":
                quiz.start(openid, session, now + at)
                continue
            o = quiz.answer(openid, session, text, now + at, ends=(f"yb:{{u:{openid}}}:flow",))
            r = o.result
            seen.append((o.status, o.correct, o.next_index, o.question.text if o.question else None,
                         r and (r.session.id, r.points, r.right, r.seconds, r.counted, r.rank, r.streak, r.official,
                                r.branch)))
        if openid == "u_one":
            first = seen
    assert seen == first
    assert [s[0] for s in first] == ["answered", "stale", "invalid", "stale", "answered", "invalid", "answered",
                                     "gone", "answered", "answered", "answered", "answered", "answered",
                                     "answered"], first
    results = [s[4] for s in first if s[4]]
    assert results == [("s-now", 20, 2, 40, True, 1, 1, (20, 1), "b1"),
                       ("s-now", 10, 1, 10, False, None, 1, (20, 1), "b1"),
                       ("late", 30, 3, 30, False, None, 1, None, "b1")], results
    for sid in ("s-now", "late"):
        one, split = quiz.evidence(sid, "u_one"), quiz.evidence(sid, "u_split")
        assert one == split and (one is None) == (sid == "late")
        assert quiz.result_of("u_one", quiz.session(sid)) == quiz.result_of("u_split", quiz.session(sid))
    assert quiz.totals("u_one") == quiz.totals("u_split") == (50, 2)
    assert quiz.streak("u_one", now + 100) == quiz.streak("u_split", now + 100) == 1
    assert bot.redis.keys("yb:{u:u_*}:quiz") == [] and bot.redis.keys("yb:{u:u_*}:flow") == []


def test_the_one_step_streak_reads_past_a_page_of_sessions(quiz):
    now = float(int(time.time()))
    weeks = [make_session(quiz, f"wk{i:02d}", opens_in=-(21 - i) * 7 * 86400, closes_in=-(20 - i) * 7 * 86400 - 1,
                          now=now) for i in range(21)]
    for s in weeks[1:]:  # 20 in a row; the oldest missed
        quiz.record_completed("o_long", s, ["B", "ABD", "T"], s.opens + 60)
    current = make_session(quiz, "wk-now", opens_in=-3600, now=now)
    quiz.start("o_long", current, now)
    for i, text in enumerate(["B", "ABD"]):
        quiz.answer("o_long", current, text, now + 10 * (i + 1))
    result = quiz.answer("o_long", current, "对", now + 30).result
    assert result.streak == 21 == quiz.streak("o_long", now + 30) and result.counted and result.rank == 1



def test_a_sign_up_reads_in_four_round_trips_and_writes_in_one(wechat, bot, redis_client):
    """The message's read; the event by its number (its id, then the event); the person's place, profile and
    upcoming sign-ups together; then the sign-up's one script, which carries the claim. With other sign-ups
    and a profile that asks nothing, their places are not read here: the script refuses an overlap itself."""
    from domain.events import Events

    events = Events(bot.redis)
    first, second = make_event(events, "park", starts_in=5 * 86400), make_event(events, "river", capacity=5)
    for openid in ("o_warm", "o_rt"):
        with_profile(bot, openid)
    assert "报名成功" in wechat.send(f"报名 {second.number}", "o_warm")  # the server has the scripts now
    wechat.send("帮助", "o_rt")
    together = ["ZRANK", "ZRANK", "ZRANGEBYSCORE", "HGETALL"]

    reply, reply_path, after, _ = _measure(wechat, redis_client, f"报名 {first.number}", 7201)
    assert "报名成功" in reply, reply
    assert [t for t in reply_path[1:3]] == [["HGET"], ["HMGET"]] and reply_path[3] == together, reply_path
    assert len(reply_path) == 5 and set(reply_path[0]) <= READS and reply_path[4] == ["EVALSHA"], reply_path
    assert after == [RECORD]

    reply, reply_path, after, _ = _measure(wechat, redis_client, f"报名 {second.number}", 7202)
    assert "报名成功" in reply, reply  # with the first one held: no overlap, found by the script
    assert reply_path[3] == together and len(reply_path) == 5 and reply_path[4] == ["EVALSHA"], reply_path
    assert after == [RECORD]
