"""Undo (issue 22 #2): a cancelled event reinstated while it is ahead (everyone keeps their place, in order, and
is told), an event's 类别 changed (every date), each undo audited, and a refusal that says why."""
from __future__ import annotations

import time
from dataclasses import replace

from domain import clock
from domain.audit import Audit
from domain.events import Events
from domain.outbox import Outbox
from domain.profiles import Profiles
from tests.helpers import make_morning_event as make_event


def _cancelled_with_people(bot, console):
    events = Events(bot.redis)
    occ = make_event(events, capacity=2)
    for openid in ("o_a", "o_b", "o_c", "o_d"):  # two confirmed, two waiting
        events.sign_up(occ, openid)
    console.post(f"/admin/events/{occ.number}/cancel", {"reason": "暴雨预警"}, token_from=f"/admin/events/{occ.number}")
    assert events.get(occ.id).status == "cancelled"
    return events, occ


def test_a_cancelled_event_ahead_is_reinstated_with_everyone_in_place_and_told(console, bot, wechat):
    events, occ = _cancelled_with_people(bot, console)
    assert "已取消" in wechat.send(f"报名 {occ.number}", openid="o_new")
    page = console.page(f"/admin/events/{occ.number}")
    assert "恢复活动并通知志愿者" in page and "取消活动并通知志愿者" not in page
    html = console.post(f"/admin/events/{occ.number}/reinstate", token_from=f"/admin/events/{occ.number}",
                        follow_redirects=True).get_data(as_text=True)
    assert "已恢复，报名和候补的顺序不变；将通知4位志愿者" in html
    assert events.get(occ.id).status == "open"
    assert events.confirmed(occ.id) == ["o_a", "o_b"] and events.waitlist(occ.id) == ["o_c", "o_d"]
    told = [p for p in Outbox(bot.redis).pending() if p["kind"] == "event_reinstated"]
    assert sorted(p["openid"] for p in told) == ["o_a", "o_b", "o_c", "o_d"]
    assert "恢复举行" in told[0]["text"] and f"取消报名 {occ.number}" in told[0]["text"]
    e = Audit(bot.redis).search(action="event.reinstate").entries[0]
    assert e.staff == "admin1" and e.refused == "" and e.changes == {"状态": ["已取消", ""]} and "通知4人" in e.what
    Profiles(bot.redis).save_contact("o_new", "王小红", "13900139000")
    assert "候补" in wechat.send(f"报名 {occ.number}", openid="o_new")  # open again: the newcomer queues behind
    assert events.waitlist(occ.id) == ["o_c", "o_d", "o_new"]


def test_cancelling_again_after_a_reinstatement_tells_everyone_again(console, bot):
    events, occ = _cancelled_with_people(bot, console)
    console.post(f"/admin/events/{occ.number}/reinstate", token_from=f"/admin/events/{occ.number}")
    console.post(f"/admin/events/{occ.number}/cancel", {"reason": "场地被占"}, token_from=f"/admin/events/{occ.number}")
    texts = [p["text"] for p in Outbox(bot.redis).pending() if p["openid"] == "o_a"]
    assert len(texts) == 3 and "暴雨预警" in texts[0] and "恢复举行" in texts[1] and "场地被占" in texts[2]


def test_an_event_that_has_started_or_was_not_cancelled_is_not_reinstated_and_the_page_says_why(console, bot):
    events = Events(bot.redis)
    started = make_event(events, eid="started", starts_in=-600)
    events.set_status(started, "cancelled")
    assert "活动时间已过，不能恢复" in console.page(f"/admin/events/{started.number}")
    html = console.post(f"/admin/events/{started.number}/reinstate", token_from="/admin/events/",
                        follow_redirects=True).get_data(as_text=True)
    assert "不能恢复：活动已经开始或结束" in html and events.get(started.id).status == "cancelled"
    running = make_event(events, eid="running")
    html = console.post(f"/admin/events/{running.number}/reinstate", token_from="/admin/events/",
                        follow_redirects=True).get_data(as_text=True)
    assert "不能恢复：这场活动没有取消" in html
    refusals = [e.refused for e in Audit(bot.redis).search(action="event.reinstate").entries]
    assert refusals == ["不能恢复：这场活动没有取消，不需要恢复。", "不能恢复：活动已经开始或结束，不能恢复。"]
    assert Outbox(bot.redis).pending() == []


def test_an_organiser_reinstates_only_their_own_events(console_as, bot):
    events = Events(bot.redis)
    occ = make_event(events)
    events.set_status(occ, "cancelled")
    organiser = console_as("organiser")
    assert organiser.post(f"/admin/events/{occ.number}/reinstate").status_code == 403
    assert events.get(occ.id).status == "cancelled"


def test_the_command_line_reinstates_too(cli, bot):
    events = Events(bot.redis)
    occ = make_event(events)
    events.sign_up(occ, "o_a")
    assert cli("events", "cancel", str(occ.number))[0] == 0
    code, out = cli("events", "reinstate", str(occ.number))
    assert code == 0 and "1 people will be told" in out and events.get(occ.id).status == "open"
    code, out = cli("events", "reinstate", str(occ.number))
    assert code != 0 and "没有取消" in out
    assert [e.refused[:4] for e in Audit(bot.redis).search(action="event.reinstate").entries] == ["这场活动", ""]


# -- 类别 -----------------------------------------------------------------------------------------
def test_the_category_is_changed_for_every_date_of_the_event_and_audited(console, bot):
    events = Events(bot.redis)
    first = make_event(events, eid="weekly", category="敬老")
    week = 7 * 86400
    events.save(replace(first, id="weekly@2", start=first.start + week, end=first.end + week,
                        signup_deadline=first.signup_deadline + week, cancel_cutoff=first.cancel_cutoff + week))
    form = console.page(f"/admin/events/{first.number}/edit")
    assert 'id="category"' in form and 'value="敬老"' in form
    data = {"title": first.title, "place": first.place, "description": first.description, "capacity": "30",
            "start": clock.local(first.start).strftime("%Y-%m-%dT%H:%M"), "end_time": clock.local(first.end).strftime(
                "%H:%M"), "signup_deadline_hours": "2", "cancel_cutoff_hours": "24", "category": "四点半课堂"}
    assert console.post(f"/admin/events/{first.number}/edit", data, token_from="/admin/events/").status_code == 302
    assert events.get(first.id).category == "四点半课堂" and events.get("weekly@2").category == "四点半课堂"
    e = Audit(bot.redis).search(action="event.edit").entries[0]
    assert e.changes == {"类别": ["敬老", "四点半课堂"]} and "类别同时改了其他1个日期" in e.what


# -- withdrawing a posting --------------------------------------------------------------------------
def test_a_withdrawn_posting_leaves_the_chat_keeps_its_interest_and_can_be_reopened(console_as, bot, wechat):
    from domain.jobs import Jobs
    from tests.helpers import posting

    jobs = Jobs(bot.redis)
    p = jobs.save(posting("a", "货车司机", headcount=3))
    Profiles(bot.redis).save_contact("o_a", "张小明", "13800138000")
    Profiles(bot.redis).save_contact("o_b", "王小红", "13900139000")
    jobs.register_interest(p, "o_a", "", time.time())
    liaison = console_as("jobs")
    page = liaison.page(f"/admin/jobs/{p.number}")
    assert "撤回岗位（发错了或单位不招了）" in page
    html = liaison.post(f"/admin/jobs/{p.number}/status", {"status": "withdrawn"}, token_from=f"/admin/jobs/{p.number}",
                        follow_redirects=True).get_data(as_text=True)
    assert "已撤回：居民不再看到这个岗位" in html and "重新开放" in html and "张*明" in html
    assert "已撤回" in wechat.send(f"岗位 {p.number}", openid="o_b")
    assert "货车司机" not in wechat.send("岗位", openid="o_b")
    wechat.send(f"投递 {p.number}", openid="o_b")
    assert [o for o, *_ in jobs.interested(p.id)] == ["o_a"]  # refused, and the interest before it kept
    assert "已撤回" in wechat.send("我的投递", openid="o_a")
    figures = jobs.stats()["category"]["物流司机"]
    assert figures[:2] == [0, 1]  # its places were never really offered; the interest it drew counts
    e = Audit(bot.redis).search(action="job.status").entries[0]
    assert e.staff == "jobs1" and e.changes == {"状态": ["招聘中", "已撤回"]}
    liaison.post(f"/admin/jobs/{p.number}/status", {"status": "open"}, token_from=f"/admin/jobs/{p.number}")
    assert "货车司机" in wechat.send(f"岗位 {p.number}", openid="o_b")
    assert jobs.stats()["category"]["物流司机"][:2] == [3, 1]
    assert liaison.post(f"/admin/jobs/{p.number}/status", {"status": "deleted"},
                        token_from=f"/admin/jobs/{p.number}").status_code == 400


def test_the_command_line_withdraws_a_posting(cli, bot):
    from domain.jobs import Jobs
    from tests.helpers import posting

    p = Jobs(bot.redis).save(posting("a", "货车司机"))
    code, out = cli("jobs", "withdraw", str(p.number))
    assert code == 0 and "withdrawn" in out and Jobs(bot.redis).get(p.id).status == "withdrawn"
    assert "已撤回" in cli("jobs", "list", "--all")[1]
    assert Audit(bot.redis).search(staff="命令行", action="job.status").entries


# -- quiz sessions ----------------------------------------------------------------------------------
def test_a_session_nobody_completed_is_deleted_and_someone_half_way_is_told_it_is_gone(console, bot, wechat):
    from domain.quiz import Quiz
    from tests.helpers import make_session

    quiz = Quiz(bot.redis)
    make_session(quiz, "s-wrong")
    assert "第1题/共3题" in wechat.send("答题")  # o_alice starts but does not finish
    page = console.page("/admin/quizzes/s-wrong")
    assert "删除这期答题" in page and "现在截止" in page
    html = console.post("/admin/quizzes/s-wrong/delete", token_from="/admin/quizzes/s-wrong",
                        follow_redirects=True).get_data(as_text=True)
    assert "已删除第s-wrong期答题" in html and quiz.session("s-wrong") is None and quiz.sessions() == []
    assert "这次答题已经结束了" in wechat.send("b")
    assert quiz.totals("o_alice") == (0, 0)
    e = Audit(bot.redis).search(action="bank.delete").entries[0]
    assert e.refused == "" and e.changes["状态"][1] == "已删除" and "s-wrong" in e.what


def test_a_session_people_completed_is_not_deleted_the_page_says_why_and_it_can_be_closed(console, bot, wechat):
    from domain.quiz import Quiz
    from tests.helpers import make_session

    quiz = Quiz(bot.redis)
    make_session(quiz, "s-live")
    for typed in ("答题", "b", "ABD", "√"):
        wechat.send(typed)
    page = console.page("/admin/quizzes/s-live")
    assert "已有1人完成这期答题，成绩要保留，所以不能删除" in page and "删除这期答题" not in page
    html = console.post("/admin/quizzes/s-live/delete", token_from="/admin/quizzes/s-live",
                        follow_redirects=True).get_data(as_text=True)
    assert "不能删除：已有1人完成这期答题" in html and quiz.session("s-live") is not None
    assert Audit(bot.redis).search(action="bank.delete").entries[0].refused.startswith("不能删除")
    html = console.post("/admin/quizzes/s-live/close", token_from="/admin/quizzes/s-live",
                        follow_redirects=True).get_data(as_text=True)
    assert "已截止，已有的成绩照常计入" in html and "现在截止" not in html
    assert not quiz.session("s-live").is_open(time.time() + 1)
    assert quiz.result_of("o_alice", quiz.session("s-live")) == (30, 1) and quiz.totals("o_alice") == (30, 1)
    reply = wechat.send("答题", openid="o_bob")
    assert "第1题/共3题" not in reply and quiz.open_session(time.time()) is None  # no longer offered
    e = Audit(bot.redis).search(action="bank.close").entries[0]
    assert e.refused == "" and list(e.changes) == ["截止"]


def test_the_command_line_deletes_and_closes_sessions(cli, bot, wechat):
    from domain.quiz import Quiz
    from tests.helpers import make_session

    quiz = Quiz(bot.redis)
    make_session(quiz, "s-a")
    make_session(quiz, "s-b")
    for typed in ("答题", "b", "ABD", "√"):  # o_alice completes s-b (the one that opened last)
        wechat.send(typed)
    code, out = cli("quiz", "delete", "s-b")
    assert code != 0 and "已有1人完成" in out and quiz.session("s-b")
    assert cli("quiz", "delete", "s-a")[0] == 0 and quiz.session("s-a") is None
    assert cli("quiz", "close", "s-b")[0] == 0 and quiz.open_session(time.time() + 1) is None
    assert [e.action for e in Audit(bot.redis).search(staff="命令行").entries] == ["bank.close", "bank.delete",
                                                                                "bank.delete"]
