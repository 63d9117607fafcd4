"""A week of a young resident's real use (issue 21, items 1-11): each test sends what they sent,
as signed WeChat messages, and checks what they should have got."""
from __future__ import annotations

import time

import pytest

from domain.events import Events
from domain.jobs import Jobs
from domain.profiles import Profiles
from domain.quiz import Question, Quiz, Session
from tests.test_chat_journeys import voice
from tests.test_jobs import posting
from tests.test_volunteer import make_event, with_profile


def numbered_event(bot, number: int, **kw):
    """An event whose short number is `number` (as if that many had been published before it)."""
    bot.redis.set("yb:{events}:seq", number - 1)
    occ = make_event(Events(bot.redis), eid=f"e{number}", **kw)
    assert occ.number == number
    return occ


# 3. Numbers said the natural way ------------------------------------------------------------
@pytest.mark.parametrize("said", ["报名三", "报名3号", "报名第3个", "报名【3】", "我要报名 3 号活动", "报名三。",
                                  "我要报名第三个活动！", "报名 第 3 个", "报名(3)"])
def test_a_sign_up_said_the_natural_way_is_carried_out(bot, wechat, said):
    occ = numbered_event(bot, 3)
    with_profile(bot, "o_alice")
    reply = wechat.send(said)
    assert "报名成功" in reply and occ.title in reply, reply
    assert Events(bot.redis).status_of(occ.id, "o_alice")[0] == "confirmed"


def test_a_sign_up_said_by_voice_is_carried_out(bot, wechat):
    occ = numbered_event(bot, 3)
    with_profile(bot, "o_alice")
    assert "报名成功" in voice(wechat, "我要报名第三个活动！")
    assert Events(bot.redis).status_of(occ.id, "o_alice")[0] == "confirmed"


def test_cancelling_with_a_number_in_chinese_numerals(bot, wechat):
    occ = numbered_event(bot, 257)
    with_profile(bot, "o_alice")
    assert "报名成功" in wechat.send("报名 257")
    assert "已取消" in wechat.send("取消报名 二百五十七")
    assert Events(bot.redis).status_of(occ.id, "o_alice")[0] == "none"


def test_every_numbered_command_reads_the_number_the_same_way(bot, wechat):
    occ = numbered_event(bot, 12)
    detail = wechat.send("活动十二")
    assert f"【{occ.number}】{occ.title}" in detail and "名额" in detail
    jobs = Jobs(bot.redis)
    p = jobs.save(posting("a", "货车司机"))
    assert "顺达物流" in wechat.send(f"岗位第{p.number}个") and "6000元/月" in wechat.send(f"岗位【{p.number}】")
    with_profile(bot, "o_alice")
    assert "补充一句你的情况" in wechat.send(f"投递 {'一二三四五'[p.number - 1]}号岗位")


@pytest.mark.parametrize("said", ["报名 abc", "报名第几个", "活动 哪个"])
def test_an_unreadable_number_gets_the_expected_format(wechat, said):
    reply = wechat.send(said)
    word = said.split()[0][:2]
    assert f"「{word} 3」" in reply and "没看懂这条消息" not in reply, reply


# 4. Traditional characters and everyday words ----------------------------------------------
def test_traditional_characters_are_carried_out_not_questioned(bot, wechat):
    occ = numbered_event(bot, 3)
    listing = wechat.send("誌願")
    assert "近期志愿活动" in listing and "你是不是想发" not in listing
    with_profile(bot, "o_alice")
    reply = wechat.send("報名 3")
    assert "报名成功" in reply and "你是不是想发" not in reply
    assert Events(bot.redis).status_of(occ.id, "o_alice")[0] == "confirmed"


def test_volunteer_and_quiz_words_are_understood(bot, wechat):
    make_event(Events(bot.redis))
    assert "近期志愿活动" in wechat.send("志愿者")
    now = time.time()
    Quiz(bot.redis).save_session(Session("w", "第w期", "内容", now - 60, now + 86400,
                                         [Question("单选？", "single", ["甲", "乙"], "B")]))
    assert "第1题" in wechat.send("Quiz")
    wechat.send("取消")
    assert "第1题" in wechat.send("quiz")


@pytest.mark.parametrize("said", ["白石坡", "白石坡社区团支部", "第二个", "2"])
def test_a_branch_is_chosen_by_name_or_by_number(bot, wechat, said):
    bot.redis.hset("yb:{quiz}:branches", mapping={"b1": "街道机关团支部", "b2": "白石坡社区团支部"})
    assert "回复序号或名称" in wechat.send("支部")
    assert "已加入「白石坡社区团支部」" in wechat.send(said)
    assert Profiles(bot.redis).get("o_alice").branch == "b2"


def test_a_branch_name_that_fits_two_branches_is_asked_again(bot, wechat):
    bot.redis.hset("yb:{quiz}:branches", mapping={"b1": "街道机关团支部", "b2": "白石坡社区团支部"})
    wechat.send("支部")
    assert "序号（1—2）或支部名称" in wechat.send("团支部")
    assert Profiles(bot.redis).get("o_alice").branch == ""


# 2. The name question takes a name -------------------------------------------------------------
@pytest.mark.parametrize("said", ["同意", "是", "好", "好的", "可以"])
def test_an_answer_word_at_the_name_question_is_not_a_name(bot, wechat, said):
    occ = make_event(Events(bot.redis))
    wechat.send(f"报名 {occ.number}")
    assert "真实姓名" in wechat.send("同意")
    again = wechat.send(said)
    assert "真实姓名" in again and "手机号" not in again, again
    assert "11位手机号" in wechat.send("王芳")
    wechat.send("13800138000")
    assert Profiles(bot.redis).get("o_alice").name == "王芳"


@pytest.mark.parametrize("said", ["123", "13800138000", "张3", "哈", "我叫什么你管得着吗", "A1", "!!"])
def test_digits_and_implausible_names_are_asked_again(bot, wechat, said):
    occ = make_event(Events(bot.redis))
    for text in (f"报名 {occ.number}", "同意"):
        wechat.send(text)
    assert "真实姓名" in wechat.send(said)
    assert Profiles(bot.redis).get("o_alice").name == ""
    assert "11位手机号" in wechat.send("买买提·艾力")


@pytest.mark.parametrize("name", ["欧阳娜娜", "张小明", "陳小明", "Anna Li", "买买提·艾力"])
def test_real_names_are_taken(bot, wechat, name):
    occ = make_event(Events(bot.redis))
    for text in (f"报名 {occ.number}", "同意", name, "13800138000"):
        wechat.send(text)
    assert Profiles(bot.redis).get("o_alice").name == name


# 11. Birth years as people type them -------------------------------------------------------------
@pytest.mark.parametrize("said", ["2003年", "２００３", "2003 年", "2003年出生", "我是2003年的"])
def test_a_birth_year_typed_with_its_unit_is_taken(bot, wechat, said):
    occ = make_event(Events(bot.redis), requirements={"min_age": 16})
    with_profile(bot, "o_alice")
    assert "出生年份" in wechat.send(f"报名 {occ.number}")
    assert "报名成功" in wechat.send(said)
    assert Profiles(bot.redis).get("o_alice").birth_year == 2003


# 5. Quiz answers ----------------------------------------------------------------------------------
def two_questions(bot, first: Question):
    now = time.time()
    Quiz(bot.redis).save_session(Session("q5", "第q5期", "内容", now - 60, now + 86400,
                                         [first, Question("判断？", "judge", [], "T"),
                                          Question("单选二？", "single", ["甲", "乙", "丙"], "B")]))
    return Quiz(bot.redis)


@pytest.mark.parametrize("said", ["A", "b", "ABD", "选B", "Ａ"])
def test_a_letter_to_a_true_false_question_is_asked_again(bot, wechat, said):
    quiz = two_questions(bot, Question("单选？", "single", ["甲", "乙", "丙"], "C"))
    wechat.send("答题")
    wechat.send("C")
    quiz._redis.hset("yb:{u:o_alice}:quiz", "last_at", int(time.time()) - 60)  # read the question a while
    reply = wechat.send(said)
    assert "判断题" in reply and "「对」或「错」" in reply and "没有这个选项" not in reply, reply
    assert quiz.progress("o_alice").index == 1 and quiz.progress("o_alice").right == 1
    assert "回答正确" in wechat.send("对")


@pytest.mark.parametrize("first,again", [("B", "选B"), ("B", "我选b"), ("b", "B。"), ("AC", "A、C")])
def test_the_same_answer_again_in_other_words_is_a_double_send(bot, wechat, first, again):
    kind = "multi" if len(first) > 1 else "single"
    quiz = two_questions(bot, Question("第一题？", kind, ["甲", "乙", "丙"], first.upper()))
    wechat.send("答题")
    assert "回答正确" in wechat.send(first)
    reply = wechat.send(again)
    assert "刚才已经作答" in reply and "判断？" in reply, reply
    assert quiz.progress("o_alice").index == 1  # the true/false question still waits
    assert "回答正确" in wechat.send("对")


def test_a_true_false_answer_in_traditional_characters_is_taken(bot, wechat):
    quiz = two_questions(bot, Question("单选？", "single", ["甲", "乙", "丙"], "C"))
    wechat.send("答題")
    wechat.send("C")
    quiz._redis.hset("yb:{u:o_alice}:quiz", "last_at", int(time.time()) - 60)
    assert "回答正确" in wechat.send("對")


def test_a_quick_different_answer_is_the_next_questions(bot, wechat):
    now = time.time()
    quiz = Quiz(bot.redis)
    quiz.save_session(Session("q6", "第q6期", "内容", now - 60, now + 86400,
                              [Question("一？", "single", ["甲", "乙", "丙"], "A"),
                               Question("二？", "single", ["甲", "乙", "丙"], "C")]))
    wechat.send("答题")
    wechat.send("A")
    assert "本期答题完成" in wechat.send("C")


# 1. An early 签退 is refused, never final ----------------------------------------------------------
def test_scanning_the_check_out_code_before_the_start_is_refused_and_the_check_in_stands(bot, wechat):
    from domain.events import occ_key, scene_for

    events = Events(bot.redis)
    occ = make_event(events, starts_in=1800, hours=1)
    with_profile(bot, "o_alice")
    events.sign_up(occ, "o_alice")
    code = events.code(occ.id)
    assert "签到成功" in wechat.event("SCAN", key=scene_for("checkin", code))
    early = wechat.event("SCAN", key=scene_for("checkout", code))  # the code beside it, by mistake
    assert "还没开始" in early and "签到仍然有效" in early and "不计入" not in early, early
    assert "还没开始" in wechat.send("签退")
    assert bot.redis.hget(occ_key(occ.id, "checkout"), "o_alice") is None
    assert "已经签到过" in wechat.send(f"签到 {code}")
    status, _, minutes = events.check_out("o_alice", occ.end)  # at the end, the check-out is taken
    assert status == "ok" and minutes == 60


# 9. Reminders skip who is there already ------------------------------------------------------------
def test_the_start_reminder_skips_a_volunteer_who_checked_in(bot, wechat, pushing):
    from bot.pushes import tasks
    from domain.events import scene_for

    deliverer, fake = pushing
    events = Events(bot.redis)
    occ = make_event(events, starts_in=21 * 60, hours=1)
    for openid in ("o_alice", "o_bob"):
        with_profile(bot, openid)
        events.sign_up(occ, openid)
        bot.redis.sadd("yb:followers:active", openid)
        bot.redis.hset(f"yb:{{u:{openid}}}:follower", "last_seen", int(time.time()))
    assert "签到成功" in wechat.event("SCAN", key=scene_for("checkin", events.code(occ.id)))  # o_alice is there
    tasks.event_reminders(bot, deliverer, time.time())
    reached = {m["touser"] for m in fake.messages}
    assert reached == {"o_bob"}, fake.messages


# 7. Cancelling offered only while possible; a refusal says whom to tell ---------------------------
def soon_event(bot, starts_in=26 * 60, deadline_before=600, capacity=10, **kw):
    from domain.events import Occurrence

    start = time.time() + starts_in
    occ = Occurrence(id="soon@1", event_id="soon", title="敬老院探访", description="陪老人聊天。", place="敬老院",
                     start=start, end=start + 2 * 3600, capacity=capacity, signup_deadline=start - deadline_before,
                     cancel_cutoff=start - 3600, **kw)
    return Events(bot.redis).save(occ)


def test_a_sign_up_after_the_cancel_cut_off_does_not_offer_cancelling(bot, wechat):
    occ = soon_event(bot)
    with_profile(bot, "o_alice")
    reply = wechat.send(f"报名 {occ.number}")
    assert "报名成功" in reply and f"取消报名 {occ.number}" not in reply, reply
    assert "不能在线取消" in reply and bot.settings.committee_contact in reply
    refused = wechat.send(f"取消报名 {occ.number}")
    assert "不能在线取消" in refused and bot.settings.committee_contact in refused, refused
    assert bot.settings.committee_hours in refused


def test_a_sign_up_before_the_cut_off_offers_cancelling(bot, wechat):
    occ = make_event(Events(bot.redis))
    with_profile(bot, "o_alice")
    reply = wechat.send(f"报名 {occ.number}")
    assert f"开始前24小时可回复「取消报名 {occ.number}」" in reply and "不能在线取消" not in reply


# 8. A walk-in who scans the check-in code ----------------------------------------------------------
def test_a_walk_in_is_offered_sign_up_and_check_in_while_places_are_free(bot, wechat):
    from domain.events import scene_for

    occ = soon_event(bot, starts_in=600, deadline_before=0)
    offer = wechat.event("SCAN", key=scene_for("checkin", Events(bot.redis).code(occ.id)))
    assert "还没有报名" in offer and "10个名额" in offer and "回复「是」" in offer and "不能签到" not in offer, offer
    assert "个人信息说明" in wechat.send("是")
    wechat.send("同意")
    wechat.send("王芳")
    done = wechat.send("13800138000")
    assert "报名成功" in done and "签到成功" in done, done
    events = Events(bot.redis)
    assert events.status_of(occ.id, "o_alice")[0] == "confirmed"
    assert "o_alice" not in events.not_arrived(occ.id)


def test_a_walk_in_with_a_profile_is_signed_up_and_checked_in_in_one_reply(bot, wechat):
    from domain.events import scene_for

    occ = soon_event(bot, starts_in=600, deadline_before=0)
    with_profile(bot, "o_alice")
    wechat.event("SCAN", key=scene_for("checkin", Events(bot.redis).code(occ.id)))
    done = wechat.send("好的")
    assert "报名成功" in done and "签到成功" in done, done


@pytest.mark.parametrize("full,deadline_before", [(True, 0), (False, 3600)])
def test_a_walk_in_to_a_full_or_closed_event_is_told_to_see_the_organiser(bot, wechat, full, deadline_before):
    from domain.events import scene_for

    occ = soon_event(bot, starts_in=600, deadline_before=deadline_before, capacity=1)
    if full:
        Events(bot.redis).sign_up(occ, "o_other")
    reply = wechat.event("SCAN", key=scene_for("checkin", Events(bot.redis).code(occ.id)))
    assert "不能签到" in reply and "回复「是」" not in reply


# 6. Sign-ups sent during the profile questions --------------------------------------------------
def test_sign_ups_sent_during_the_profile_questions_are_all_carried_out(bot, wechat):
    events = Events(bot.redis)
    first, second = make_event(events, "one"), make_event(events, "two", starts_in=5 * 86400)
    third = make_event(events, "three", starts_in=7 * 86400, requirements={"min_age": 16})
    assert "个人信息说明" in wechat.send(f"报名 {first.number}")
    kept = wechat.send(f"报名 {second.number}")
    assert "已记下" in kept and f"报名 {second.number}" in kept and "同意" in kept, kept  # and where they are
    wechat.send("同意")
    assert "已记下" in wechat.send(f"报名{'一二三四五'[third.number - 1]}")
    assert "已经记下" in wechat.send(f"报名 {second.number}")  # a double send is kept once
    wechat.send("王芳")
    assert "出生年份" in wechat.send("13800138000")  # the third one needs it: asked too
    done = wechat.send("2003")
    assert done.count("报名成功") == 3, done
    assert all(events.status_of(o.id, "o_alice")[0] == "confirmed" for o in (first, second, third))


# 10. What a paused quiz says, and where the verify link points -----------------------------------
def test_a_quiz_left_idle_says_答题_resumes_where_it_was(bot, wechat):
    from domain.keys import user_key

    now = time.time()
    Quiz(bot.redis).save_session(Session("q10", "第q10期", "内容", now - 60, now + 86400,
                                         [Question("一？", "single", ["甲", "乙"], "A"),
                                          Question("二？", "single", ["甲", "乙"], "B")]))
    wechat.send("答题")
    wechat.send("A")
    bot.redis.delete(user_key("o_alice", "flow"))  # FLOW_TTL_MINUTES of silence: the flow's key expired
    idle = wechat.send("B")
    assert "接着答" in idle and "重新开始" not in idle and "已自动结束" not in idle, idle
    back = wechat.send("答题")
    assert "接着答第2题" in back


@pytest.mark.parametrize("said", ["签到 abc", "签到码", "签到 码"])
def test_an_unreadable_check_in_code_gets_the_expected_format(wechat, said):
    reply = wechat.send(said)
    assert "「签到 123456」" in reply and "没看懂这条消息" not in reply, reply


def test_check_in_with_the_word_code_in_front_of_it(bot, wechat):
    events = Events(bot.redis)
    occ = make_event(events, starts_in=-600)
    events.sign_up(occ, "o_alice")
    assert "签到成功" in wechat.send(f"签到码：{events.code(occ.id)}")


def test_when_the_phone_question_fails_every_remembered_sign_up_is_named(bot, wechat):
    events = Events(bot.redis)
    first, second = make_event(events, "one"), make_event(events, "two", starts_in=5 * 86400)
    for text in (f"报名 {first.number}", f"报名 {second.number}", "同意", "王芳", "123", "456"):
        wechat.send(text)
    failed = wechat.send("789")
    assert f"「报名 {first.number}」或「报名 {second.number}」" in failed, failed
    assert events.status_of(second.id, "o_alice")[0] == "none"
