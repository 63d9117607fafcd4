"""Volunteer events: consented sign-up, atomic capacity, waitlist promotion, check-in and hours."""
from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bot.wechat.simulator import WeChatSimulator, text_xml
from domain.events import Events, Occurrence, credited_minutes
from domain.profiles import Profiles
from tests.helpers import TOKEN, post_signed, make_event, with_profile


@pytest.fixture
def events(bot):
    return Events(bot.redis)


def test_list_and_details_show_places_left(wechat, events, bot):
    occ = make_event(events, capacity=3)
    events.sign_up(occ, "o_x")
    listing = wechat.send("志愿")
    assert f"【{occ.number}】活动river" in listing and "剩余2个名额" in listing
    detail = wechat.send(f"活动 {occ.number}")
    assert "名额3人，已报名1人" in detail and "三干渠" in detail and f"报名 {occ.number}" in detail


def test_first_sign_up_asks_consent_name_and_phone_then_confirms(wechat, events, bot):
    occ = make_event(events)
    notice = wechat.send(f"报名 {occ.number}")
    assert "个人信息说明" in notice and "删除我的信息" in notice
    assert "请回复「同意」继续" in wechat.send("嗯")
    assert "真实姓名" in wechat.send("同意")
    assert "不含数字" in wechat.send("张3")
    assert "11位手机号" in wechat.send("张小明")
    done = wechat.send("13800138000")
    assert "已记录：张小明，138****8000" in done and "报名成功" in done
    assert events.status_of(occ.id, "o_alice") == ("confirmed", 1)
    assert "报名成功" in wechat.send(f"报名 {make_event(events, 'two', starts_in=9 * 86400).number}")  # asked once


def test_a_wrong_phone_is_asked_again_with_an_example_at_most_three_times(wechat, events, bot):
    occ = make_event(events)
    for text in [f"报名 {occ.number}", "同意", "张小明"]:
        wechat.send(text)
    first = wechat.send("1380013800")
    assert "不是有效的11位手机号" in first and "13812345678" in first and "还可以再试2次" in first
    assert "1380013800" not in first  # what was typed is not echoed whole
    assert "还可以再试1次" in wechat.send("phone?")
    third = wechat.send("23800138000")
    assert "三次都没有填对" in third and f"回复「报名 {occ.number}」重新开始" in third
    assert not Profiles(bot.redis).get("o_alice").has_contact
    assert events.status_of(occ.id, "o_alice") == ("none", 0)


def test_phone_is_masked_in_chat_and_never_logged(wechat, events, bot, caplog):
    occ = make_event(events)
    caplog.set_level(logging.DEBUG)
    replies = [wechat.send(t) for t in [f"报名 {occ.number}", "同意", "张小明", "+86 138-0013-8000"]]
    assert "报名成功" in replies[-1] and "138****8000" in replies[-1]
    assert all("13800138000" not in r for r in replies)
    assert "13800138000" not in caplog.text
    assert Profiles(bot.redis).get("o_alice").phone == "13800138000"
    assert events.status_of(occ.id, "o_alice") == ("confirmed", 1)


def test_declining_consent_keeps_nothing(wechat, events, bot):
    occ = make_event(events)
    wechat.send(f"报名 {occ.number}")
    assert "没有记录" in wechat.send("不同意")
    assert not Profiles(bot.redis).get("o_alice").has_contact


def test_full_event_waitlists_with_position(wechat, events, bot):
    occ = make_event(events, capacity=1)
    events.sign_up(occ, "o_first")
    with_profile(bot, "o_alice")
    reply = wechat.send(f"报名 {occ.number}")
    assert "候补" in reply and "排第1位" in reply
    assert "已在「活动river」的候补名单中，排第1位" in wechat.send(f"报名 {occ.number}")


def test_clear_reasons_for_refusals(wechat, events, bot):
    with_profile(bot, "o_alice", birth_year=2015, student=False)
    past = make_event(events, "past", starts_in=-3600)
    closed = make_event(events, "closed", starts_in=3600)  # deadline was 2 h before the start
    adults = make_event(events, "adults", starts_in=5 * 86400, requirements={"min_age": 16})
    students = make_event(events, "students", starts_in=6 * 86400, requirements={"students_only": True})
    first = make_event(events, "first", starts_in=7 * 86400)
    overlapping = make_event(events, "overlap", starts_in=7 * 86400 + 3600)
    assert "已经开始或结束" in wechat.send(f"报名 {past.number}")
    assert "报名已于" in wechat.send(f"报名 {closed.number}")
    assert "要求年满16周岁" in wechat.send(f"报名 {adults.number}")
    assert "只面向在校学生" in wechat.send(f"报名 {students.number}")
    assert "报名成功" in wechat.send(f"报名 {first.number}")
    assert "不用重复报名" in wechat.send(f"报名 {first.number}")
    assert "时间冲突" in wechat.send(f"报名 {overlapping.number}")
    assert "没有编号为999的活动" in wechat.send("报名 999")
    assert "报名 3" in wechat.send("报名")


def test_an_overlap_is_refused_before_any_question_is_asked(wechat, events, bot):
    """Someone holding a place (signed up by staff) but without contact details asks for an event at the same
    time: told of the clash at once, not asked to agree to the notice first."""
    first = make_event(events, "first", starts_in=7 * 86400)
    overlapping = make_event(events, "overlap", starts_in=7 * 86400 + 3600)
    events.sign_up(first, "o_new")
    reply = wechat.send(f"报名 {overlapping.number}", "o_new")
    assert "时间冲突" in reply and first.title in reply and "同意" not in reply
    assert events.status_of(overlapping.id, "o_new")[0] == "none"


def test_requirements_ask_birth_year_once(wechat, events, bot):
    with_profile(bot, "o_alice")
    occ = make_event(events, requirements={"min_age": 16})
    assert "出生年份" in wechat.send(f"报名 {occ.number}")
    assert "4位数字" in wechat.send("2")
    assert "报名成功" in wechat.send("2000")
    assert Profiles(bot.redis).get("o_alice").birth_year == 2000


def test_cancel_promotes_the_first_on_the_waitlist_and_tells_them(wechat, events, bot):
    occ = make_event(events, capacity=1)
    with_profile(bot, "o_alice")
    wechat.send(f"报名 {occ.number}")
    for openid in ["o_w1", "o_w2"]:
        events.sign_up(occ, openid)
    assert "已取消" in wechat.send(f"取消报名 {occ.number}")
    assert events.confirmed(occ.id) == ["o_w1"] and events.waitlist(occ.id) == ["o_w2"]
    pushes = bot.outbox.pending()
    assert [(p["openid"], p["kind"]) for p in pushes] == [("o_w1", "waitlist_promotion")]
    assert "候补已转为正式报名" in pushes[0]["text"]
    assert "你没有报名" in wechat.send(f"取消报名 {occ.number}")


def test_cancel_after_the_cut_off_is_refused(wechat, events, bot):
    occ = make_event(events, starts_in=3 * 3600)  # the cut-off (24 h before) has passed
    events.sign_up(occ, "o_alice")
    assert "不能在线取消" in wechat.send(f"取消报名 {occ.number}")
    assert events.status_of(occ.id, "o_alice")[0] == "confirmed"


def test_my_signups_lists_places_and_waitlist_positions(wechat, events, bot):
    a, b = make_event(events, "a", capacity=5), make_event(events, "b", capacity=1, starts_in=5 * 86400)
    events.sign_up(b, "o_other")
    events.sign_up(a, "o_alice")
    events.sign_up(b, "o_alice")
    mine = wechat.send("我的报名")
    assert "活动a" in mine and "已报名" in mine and "候补第1位" in mine


@pytest.mark.slow
def test_500_concurrent_sign_ups_fill_30_places_and_queue_the_rest_in_order(live_server, events, bot):
    occ = make_event(events, capacity=30)
    users = [f"o_vol_{i:03d}" for i in range(500)]
    for openid in users:
        with_profile(bot, openid)
    sim, barrier = WeChatSimulator(TOKEN), threading.Barrier(50)
    local = threading.local()

    def sign(openid):
        if not hasattr(local, "http"):
            local.http = requests.Session()
            barrier.wait()
        return openid, post_signed(live_server, sim, text_xml(openid, f"报名 {occ.number}"), local.http)

    with ThreadPoolExecutor(50) as pool:
        replies = dict(pool.map(sign, users))
    confirmed, waitlist = events.confirmed(occ.id), events.waitlist(occ.id)
    assert len(confirmed) == 30 and len(waitlist) == 470
    assert len(set(confirmed) | set(waitlist)) == 500
    assert all("报名成功" in replies[o] for o in confirmed)
    positions = [int(re.search(r"排第(\d+)位", replies[o]).group(1)) for o in waitlist]
    assert positions == list(range(1, 471))  # each was told the place the queue kept for them
    for leaving in confirmed[:3]:
        events.cancel(occ, leaving)
    assert events.confirmed(occ.id)[-3:] == waitlist[:3] and events.waitlist(occ.id) == waitlist[3:]


def test_retried_sign_up_counts_once(wechat, events, bot):
    occ = make_event(events, capacity=2)
    with_profile(bot, "o_alice")
    replies = {wechat.send(f"报名 {occ.number}", msg_id=555) for _ in range(3)}
    assert len(replies) == 1 and events.counts(occ.id) == (1, 0)


def test_hours_run_from_check_in_to_out_capped_and_need_60_percent():
    start = 1_800_000_000
    occ = Occurrence("e@1", "e", "t", "", "p", start, start + 3600, 5, start, start)
    assert credited_minutes(occ, start - 900, start + 3600 + 900) == 60  # early and late: capped
    assert credited_minutes(occ, start, start + 36 * 60) == 36  # exactly 60%
    assert credited_minutes(occ, start, start + 35 * 60) == 0  # under 60%: none
    assert credited_minutes(occ, start + 600, start + 3600) == 50


def test_check_in_and_out_through_chat(wechat, events, bot):
    occ = make_event(events, starts_in=-600, hours=1)
    events.sign_up(occ, "o_alice")
    code = events.code(occ.id)
    assert "签到码不对" in wechat.send("签到 000000" if code != "000000" else "签到 999999")
    assert "签到成功" in wechat.send(f"签到 {code}")
    assert "已经签到过" in wechat.send(f"签到 {code}")
    assert "不足活动时长的60%" in wechat.send("签退")  # left at once
    assert "已经签退过" in wechat.send("签退")  # a second 签退 (issue 10, item 6)
    assert "还没有签到" in wechat.send("签退", openid="o_never_came")
    assert "不能签到" in wechat.send(f"签到 {code}", openid="o_not_signed")


def test_hours_and_service_record(wechat, events, bot):
    occ = make_event(events, starts_in=-3 * 3600, hours=2)
    events.sign_up(occ, "o_alice")
    events.check_in("o_alice", events.code(occ.id), occ.start - 60)  # check-in before the end is accepted
    bot.redis.set("yb:{u:o_alice}:checked_in", occ.id)
    assert events.check_out("o_alice", occ.end + 600)[2] == 120
    assert "共2小时，参加1次活动" in wechat.send("我的时长")
    assert "真实姓名" in wechat.send("志愿证明")
    with_profile(bot, "o_alice", name="王小红")
    cert = wechat.send("志愿证明")
    assert "王小红" in cert and "累计服务2小时" in cert and re.search(r"编号：TW\d{8}-\d{5}", cert)


def test_delete_my_data_removes_profile_and_sign_ups_and_promotes(wechat, events, bot):
    occ = make_event(events, capacity=1)
    with_profile(bot, "o_alice")
    wechat.send(f"报名 {occ.number}")
    events.sign_up(occ, "o_next")
    assert "确认删除" in wechat.send("删除我的信息")
    assert "请回复「确认删除」" in wechat.send("好")
    done = wechat.send("确认删除")
    assert "已删除" in done and "取消了1个活动报名" in done
    profile = Profiles(bot.redis).get("o_alice")
    assert not profile.name and not profile.phone
    assert events.confirmed(occ.id) == ["o_next"]
    assert [p["openid"] for p in bot.outbox.pending()] == ["o_next"]


def test_staff_export_code_cancel_and_move(cli, events, bot, tmp_path):
    occ = make_event(events)
    with_profile(bot, "o_alice")
    events.sign_up(occ, "o_alice")
    code, out = cli("events", "code", str(occ.number))
    assert code == 0 and events.code(occ.id) in out
    code, out = cli("events", "export", str(occ.number), "--out", str(tmp_path / "e.csv"))
    rows = (tmp_path / "e.csv").read_text(encoding="utf-8-sig").splitlines()
    assert code == 0 and "张小明,13800138000" in rows[1]
    code, out = cli("events", "move", str(occ.number), "--to", "2030-01-05 09:00")
    assert code == 0 and "1 people will be told" in out
    code, out = cli("events", "cancel", str(occ.number), "--reason", "暴雨预警")
    assert code == 0 and "1 people will be told" in out
    kinds = [(p["openid"], p["kind"]) for p in bot.outbox.pending()]
    assert kinds == [("o_alice", "event_moved"), ("o_alice", "event_cancelled")]
    assert "暴雨预警" in bot.outbox.pending()[1]["text"]
    assert events.by_number(occ.number).status == "cancelled"


def test_events_list_shows_numbers_places_taken_and_waitlists(cli, events, bot):
    occ = make_event(events, capacity=1)
    events.sign_up(occ, "o_a")
    events.sign_up(occ, "o_b")
    code, out = cli("events", "list")
    row = next(line for line in out.splitlines() if occ.title in line)
    assert code == 0 and row.split()[0] == str(occ.number) and "1/1" in row and row.split()[-1] == "1"
