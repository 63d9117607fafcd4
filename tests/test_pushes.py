"""Pushes: one shared token, WeChat's windows and limits, exactly once, over HTTP to the fake API."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest
import requests

from bot.pushes import tasks
from domain import clock
from bot.pushes.delivery import Deliverer, Push, in_quiet_hours, stats, Status
from bot.pushes.scheduler import TIMETABLE, Leadership, build_scheduler
from bot.wechat.client import SharedTokenClient
from domain.events import Events, Occurrence
from domain.profiles import Profiles
from domain.quiz import Question, Quiz, Session
from tests.helpers import follower, until


def fail_next(base, times=1, **failure):
    requests.post(f"{base}/_fake/fail", json={**failure, "times": times}, timeout=5)


def test_a_push_reaches_the_fake_api_once(bot, pushing):
    deliverer, fake = pushing
    follower(bot, "o_a")
    push = Push("o_a", "你好", "waitlist_promotion", "k1")
    assert str(deliverer.deliver(push)) == "sent"
    assert str(deliverer.deliver(push)) == "duplicate"
    assert [(m["touser"], m["text"]) for m in fake.messages] == [("o_a", "你好")]
    assert stats(bot.redis)["sent"] == 1 and stats(bot.redis)["waitlist_promotion:sent"] == 1


def test_token_is_fetched_once_and_shared_by_every_process(bot, pushing, fake_wechat):
    deliverer, fake = pushing
    follower(bot, "o_a")
    other = SharedTokenClient(bot.redis, "wxtest", "secret", fake_wechat[0] + "/cgi-bin/")  # another process
    deliverer.client.send_text("o_a", "1")
    other.send_text("o_a", "2")
    assert fake.calls["stable_token"] == 1 and fake.calls["token"] == 0
    assert len(bot.redis.get("yb:wechat:wxtest_access_token")) > 100


def test_invalid_token_refreshes_once_and_retries_once(bot, pushing, fake_wechat):
    deliverer, fake = pushing
    follower(bot, "o_a")
    deliverer.client.send_text("o_a", "warm up")
    fail_next(fake_wechat[0], errcode=40001)
    assert str(deliverer.deliver(Push("o_a", "x", "late_reply", "k2"))) == "sent"
    assert fake.calls["stable_token"] == 2
    fail_next(fake_wechat[0], times=2, errcode=42001)
    assert str(deliverer.deliver(Push("o_a", "y", "late_reply", "k3"))) == "failed:42001"


@pytest.mark.parametrize("failure", [{"http": 502}, {"errcode": -1}, {"errcode": 45009}, {"errcode": 45047}])
def test_busy_and_limit_errors_are_retried_with_backoff(bot, pushing, fake_wechat, failure):
    deliverer, fake = pushing
    follower(bot, "o_a")
    fail_next(fake_wechat[0], times=2, **failure)
    assert str(deliverer.deliver(Push("o_a", "x", "late_reply", "k4"))) == "sent"
    fail_next(fake_wechat[0], times=10, **failure)
    code = failure.get("http") or failure["errcode"]
    assert str(deliverer.deliver(Push("o_a", "y", "late_reply", "k5"))) == f"failed:{code}"
    assert len(fake.messages) == 1


def test_outside_48_hours_a_template_or_nothing(bot, pushing):
    deliverer, fake = pushing
    follower(bot, "o_old", hours_ago=49)
    assert str(deliverer.deliver(Push("o_old", "提醒", "quiz_reminder", "k6"))) == "skipped:out_of_window"
    templates = {"quiz_reminder": {"template_id": "TPL1", "fields": {"first": "text", "keyword1": "title"}}}
    bot.settings = replace(bot.settings, wechat_templates=json.dumps(templates))
    templated = Deliverer(bot, deliverer.client)
    assert str(templated.deliver(Push("o_old", "提醒", "quiz_reminder", "k7", {"title": "第5期"}))) == "sent"
    assert fake.messages[-1]["type"] == "template" and fake.messages[-1]["data"]["keyword1"]["value"] == "第5期"
    assert stats(bot.redis)["reason:out_of_window"] == 1


def test_customer_service_messages_are_counted_per_window(bot, pushing):
    deliverer, fake = pushing
    follower(bot, "o_a")
    results = [str(deliverer.deliver(Push("o_a", str(i), "waitlist_promotion", f"w{i}"))) for i in range(7)]
    assert results == ["sent"] * 5 + ["skipped:out_of_window"] * 2
    follower(bot, "o_a", hours_ago=0)  # the user writes again: a new window
    bot.redis.hset("yb:{u:o_a}:follower", "last_seen", int(time.time()) + 1)
    assert str(deliverer.deliver(Push("o_a", "again", "waitlist_promotion", "w8"))) == "sent"


def test_quiet_hours_hold_pushes_but_not_replies(bot, pushing):
    deliverer, fake = pushing
    follower(bot, "o_a")
    bot.settings = replace(bot.settings, quiet_hours="22:00-08:00")
    night = clock.parse_when("today 23:30")  # Asia/Shanghai, within the 48-hour window
    assert in_quiet_hours(bot.settings, night) and not in_quiet_hours(bot.settings, night + 9 * 3600)
    quiet = Deliverer(bot, deliverer.client)
    assert str(quiet.deliver(Push("o_a", "提醒", "quiz_reminder", "q1"), now=night)) == "quiet"
    assert str(quiet.deliver(Push("o_a", "答复", "late_reply", "q2"), now=night)) == "sent"
    assert str(quiet.deliver(Push("o_a", "提醒", "quiz_reminder", "q1"), now=night + 9 * 3600)) == "sent"


def test_opted_out_and_unfollowed_users_get_no_reminders(bot, pushing, wechat):
    deliverer, fake = pushing
    assert "已退订提醒" in wechat.send("退订提醒", openid="o_off")
    assert str(deliverer.deliver(Push("o_off", "提醒", "quiz_reminder", "o1"))) == "skipped:opted_out"
    assert str(deliverer.deliver(Push("o_off", "递补", "waitlist_promotion", "o2"))) == "sent"
    assert "已恢复提醒" in wechat.send("订阅提醒", openid="o_off")
    assert str(deliverer.deliver(Push("o_off", "提醒", "quiz_reminder", "o3"))) == "sent"
    wechat.event("unsubscribe", openid="o_off")
    assert str(deliverer.deliver(Push("o_off", "提醒", "quiz_reminder", "o4"))) == "skipped:unsubscribed"


@pytest.mark.slow
def test_global_rate_limit_holds(bot, pushing):
    deliverer, fake = pushing
    bot.settings = replace(bot.settings, push_rate=10)
    limited = Deliverer(bot, deliverer.client)
    follower(bot, "o_a")
    bot.settings = replace(bot.settings, cs_per_window=100)
    limited.settings = bot.settings
    t0 = time.monotonic()
    assert [str(limited.deliver(Push("o_a", str(i), "late_reply", f"r{i}"))) for i in range(25)] == ["sent"] * 25
    assert time.monotonic() - t0 >= 1.9  # 10 now, 10 after a second, 5 after two


def test_late_reply_from_a_slow_handler_is_pushed(bot, pushing, wechat):
    from handlers.router import Router

    deliverer, fake = pushing
    bot.settings = replace(bot.settings, reply_budget=0.1)
    answered = threading.Event()
    router = Router()
    router.keyword("slow")(lambda ctx: answered.wait(10) and "想好了")  # still thinking at the budget
    bot.router = router
    assert wechat.send("slow", openid="o_slow") is None
    answered.set()
    until(bot.outbox.pending, what="the late reply queued")
    assert tasks.drain_outbox(bot, deliverer, time.time()) == {"sent": 1}
    assert [(m["touser"], m["text"]) for m in fake.messages] == [("o_slow", "想好了")]


def make_quiz_members(bot, n):
    Profiles(bot.redis)._redis.hset("yb:{quiz}:branches", "b1", "一支部")
    quiz = Quiz(bot.redis)
    now = time.time()
    session = Session("s1", "第1期", "学习", now - 3600, now + 86400,
                      [Question("q", "single", ["a", "b"], "A")])
    quiz.save_session(session)
    for i in range(n):
        Profiles(bot.redis).set_branch(f"o_m{i:03d}", "b1")
        follower(bot, f"o_m{i:03d}")
    return quiz, session


def test_quiz_reminders_reach_non_completers_once(bot, pushing):
    deliverer, fake = pushing
    quiz, session = make_quiz_members(bot, 10)
    quiz.record_completed("o_m000", session, ["A"], session.opens + 10)
    assert tasks.quiz_reminders(bot, deliverer, time.time()) == {"sent": 9}
    assert tasks.quiz_reminders(bot, deliverer, time.time()) == {}
    assert sorted(m["touser"] for m in fake.messages) == [f"o_m{i:03d}" for i in range(1, 10)]
    assert "还没有完成" in fake.messages[0]["text"]


def test_event_reminders_24h_and_2h_before_never_after(bot, pushing):
    deliverer, fake = pushing
    events = Events(bot.redis)
    # A 10:00 start (Beijing time) at least 3 hours away, so that 23 hours before it is the day
    # before whatever time of day the suite runs at: the day reminder says 明天见.
    start = _next_local(hour=10, after=time.time() + 3 * 3600)
    occ = events.save(Occurrence("e@1", "e", "护河", "", "三干渠", start, start + 3600, 5, start, start))
    follower(bot, "o_v")
    events.sign_up(occ, "o_v")
    assert tasks.event_reminders(bot, deliverer, start - 23 * 3600) == {"sent": 1}
    assert tasks.event_reminders(bot, deliverer, start - 22 * 3600) == {}
    assert tasks.event_reminders(bot, deliverer, start - 3600) == {"sent": 1}
    assert tasks.event_reminders(bot, deliverer, start + 60) == {}
    assert [m["text"][:6] for m in fake.messages] == ["🙋 明天见！", "⏰ 你报名的"]


def test_the_day_reminder_of_a_late_evening_event_says_today_when_sent_the_same_day(bot, pushing):
    """An event at 23:30 is reminded of at 00:30 the same day: 今天见, not 明天见."""
    deliverer, fake = pushing
    events = Events(bot.redis)
    start = _next_local(hour=23, minute=30, after=time.time() + 3 * 3600)
    occ = events.save(Occurrence("e@1", "e", "护河", "", "三干渠", start, start + 3600, 5, start, start))
    follower(bot, "o_v")
    events.sign_up(occ, "o_v")
    assert tasks.event_reminders(bot, deliverer, start - 23 * 3600) == {"sent": 1}
    assert [m["text"][:6] for m in fake.messages] == ["🙋 今天见！"]


def _next_local(hour: int, after: float, minute: int = 0) -> float:
    """The first hour:minute in the committee's time zone that is later than `after`."""
    from datetime import timedelta
    day = clock.local(after).replace(hour=hour, minute=minute, second=0, microsecond=0)
    if day.timestamp() <= after:
        day += timedelta(days=1)
    return day.timestamp()


def test_one_leader_among_schedulers(bot):
    a, b = Leadership(bot.redis, ttl=5), Leadership(bot.redis, ttl=5)
    assert a.try_acquire() and not b.try_acquire()
    assert a.renew() and not b.renew()
    a.release()
    assert b.try_acquire()


def test_the_timetable_lives_in_redis_and_a_restart_does_not_double_it(bot, redis_url):
    for _ in range(2):
        scheduler = build_scheduler(redis_url)
        scheduler.start(paused=True)
        assert sorted(j.id for j in scheduler.get_jobs()) == sorted(e.job for e in TIMETABLE)
        scheduler.shutdown(wait=False)
    assert bot.redis.hlen("yb:{scheduler}:jobs") == len(TIMETABLE)


def test_a_store_written_before_the_move_to_bot_pushes_still_runs_its_timetable(bot, redis_url):
    """Stores written before issue 18 hold each job as bot.scheduler:run_job; the next start replaces them."""
    import pickle

    import redis

    from bot.runtime import storage

    raw_redis = redis.Redis(**storage.connection_args(redis_url))  # the job store's pickles are bytes
    scheduler = build_scheduler(redis_url)
    scheduler.start(paused=True)
    scheduler.shutdown(wait=False)
    for job_id, raw in raw_redis.hgetall("yb:{scheduler}:jobs").items():
        state = pickle.loads(raw)
        state["func"] = "bot.scheduler:run_job"  # the path before the move
        raw_redis.hset("yb:{scheduler}:jobs", job_id, pickle.dumps(state, pickle.HIGHEST_PROTOCOL))
    retired = dict(state, id="retry_pushes", args=("retry_pushes",))  # a job the timetable no longer has
    raw_redis.hset("yb:{scheduler}:jobs", "retry_pushes", pickle.dumps(retired, pickle.HIGHEST_PROTOCOL))
    raw_redis.close()
    scheduler = build_scheduler(redis_url)
    scheduler.start(paused=True)
    try:
        jobs = scheduler.get_jobs()
        assert sorted(j.id for j in jobs) == sorted(e.job for e in TIMETABLE)
        assert {j.func_ref for j in jobs} == {"bot.pushes.scheduler:run_job"}
        assert bot.redis.hlen("yb:{scheduler}:jobs") == len(TIMETABLE)  # the retired job is gone
    finally:
        scheduler.shutdown(wait=False)


def test_every_reminder_kind_in_the_table_obeys_opting_out_and_an_undeclared_kind_is_refused(bot, pushing, wechat):
    from domain.push_kinds import KINDS

    deliverer, _ = pushing
    follower(bot, "o_off")
    assert "已退订提醒" in wechat.send("退订提醒", openid="o_off")
    reminders = [kind for kind, rules in KINDS.items() if rules.reminder]
    assert {"quiz_open", "quiz_reminder", "event_reminder", "job_digest"} <= set(reminders)
    for kind in reminders:
        result = deliverer.deliver(Push("o_off", "提醒", kind, f"{kind}:t:o_off"), time.time())
        assert (result.status, result.detail) == (Status.SKIPPED, "opted_out"), kind
    with pytest.raises(ValueError, match="push_kinds"):
        Push("o_off", "x", "new_reminder", "new_reminder:o_off")
    with pytest.raises(ValueError, match="push_kinds"):
        bot.outbox.enqueue("o_off", "x", kind="new_reminder", idem_key="new_reminder:o_off")
    assert bot.outbox.pending() == []

def test_menu_push_sends_the_content_menu(cli, fake_wechat, monkeypatch):
    base, fake = fake_wechat
    monkeypatch.setenv("WECHAT_API_BASE_URL", base + "/cgi-bin/")
    code, out = cli("menu", "push")
    assert code == 0 and "3 buttons" in out
    assert fake.menus[0]["button"][0]["name"] == "青年大学习"


@pytest.mark.slow
def test_a_fan_out_killed_half_way_and_run_again_sends_nobody_twice(bot, fake_wechat, redis_url, tmp_path):
    base, fake = fake_wechat
    make_quiz_members(bot, 300)
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}  # a served test's, maybe gone
    env = {**env, "REDIS_URL": redis_url, "WECHAT_API_BASE_URL": base + "/cgi-bin/", "PUSH_RATE": "100",
           "QUIET_HOURS": "03:00-03:00", "LOAD_DEMO": "0", "WECHAT_APPID": "wxtest"}
    cmd = [sys.executable, "-m", "bot.cli", "pushes", "run", "quiz_reminders"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while len(fake.messages) < 100:
        assert proc.poll() is None and time.time() < deadline, proc.communicate()[0] if proc.poll() is not None else "slow"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sent_to = [m["touser"] for m in fake.messages]
    stuck = stats(bot.redis).get("sending", 0)  # claimed when killed: not resent, shown in stats
    assert len(sent_to) == len(set(sent_to))  # nobody twice
    assert len(sent_to) + stuck >= 300 and stuck <= bot.settings.push_concurrency


@pytest.mark.slow
def test_chat_shows_pushes_as_they_arrive(bot, pushing, live_server, fake_wechat):
    from bot.wechat import chat
    from bot.wechat.simulator import WeChatSimulator
    from tests.conftest import TOKEN

    deliverer, fake = pushing
    out = []

    def typed(prompt):
        if not typed.lines:
            return "/quit"
        line = typed.lines.pop(0)
        if line == "(wait)":
            deliverer.deliver(Push("o_chat", "你的候补已转为正式报名", "waitlist_promotion", "c1"))
            time.sleep(2.5)
            return "/quit"
        return line
    typed.lines = ["/follow", "(wait)"]
    chat.run(live_server, "o_chat", WeChatSimulator(TOKEN), input_fn=typed, print_fn=out.append,
             fake_base=fake_wechat[0])
    assert any("团委(推送)> 你的候补已转为正式报名" in line for line in out)


def test_quiz_opening_notice_reaches_every_member_once_per_session(bot, pushing):
    deliverer, fake = pushing
    make_quiz_members(bot, 4)
    assert tasks.quiz_opening_notice(bot, deliverer, time.time()) == {"sent": 4}
    assert tasks.quiz_opening_notice(bot, deliverer, time.time()) == {}
    assert len(fake.messages) == 4


def test_stats_rollup_keeps_a_snapshot_of_the_day(bot, pushing):
    deliverer, _ = pushing
    quiz, session = make_quiz_members(bot, 3)
    quiz.record_completed("o_m000", session, ["A"], session.opens + 10)
    assert tasks.stats_rollup(bot, deliverer, time.time()) == {"rollup": 1}
    day = clock.local(time.time()).strftime("%Y-%m-%d")
    snapshot = json.loads(bot.redis.hget("yb:stats:daily", day))
    assert snapshot["quiz_session"] == session.id and snapshot["quiz_participants"] == 1
    assert snapshot["quiz_members"] == 3 and snapshot["followers_active"] == 3


def test_pushes_stats_counts_sent_and_skipped_with_reasons(bot, pushing, cli):
    deliverer, _ = pushing
    follower(bot, "o_a")
    deliverer.deliver(Push("o_a", "x", "waitlist_promotion", "s1"))
    deliverer.deliver(Push("o_gone", "x", "quiz_reminder", "s2"))
    code, out = cli("pushes", "stats")
    lines = dict(line.rsplit(None, 1) for line in out.splitlines()[2:] if line.strip())
    assert code == 0 and lines["sent"] == "1" and lines["skipped"] == "1" and lines["reason:unsubscribed"] == "1"


def test_a_push_record_expires_a_month_after_its_deadline_so_the_store_does_not_grow_with_every_push(bot, pushing):
    deliverer, _ = pushing
    follower(bot, "o_ttl")
    now = time.time()
    assert deliverer.deliver(Push("o_ttl", "提醒", "event_reminder", "event_24h:x:o_ttl", None, now + 86400), now).status \
        == Status.SENT
    ttl = bot.redis.ttl("yb:{push}:log:event_24h:x:o_ttl")
    assert 86400 + 30 * 86400 - 120 < ttl <= 86400 + 30 * 86400
    deliverer.deliver(Push("o_ttl", "通知", "broadcast", "broadcast:b:o_ttl"), now)  # no deadline: its kind's lifetime
    assert 0 < bot.redis.ttl("yb:{push}:log:broadcast:b:o_ttl") <= 86400 + 30 * 86400
