"""What a newcomer hit in chat (issue 10): each test reproduces one of the items as a resident met it."""
from __future__ import annotations

import re
import shutil
import time

import pytest

from bot import importers

from bot.pushes import tasks
from bot.wechat.simulator import ACCOUNT
from domain.events import Events
from domain.jobs import Jobs, notes_key
from domain.profiles import Profiles
from domain.quiz import Question, Quiz, Session
from tests.helpers import make_session
from tests.helpers import make_event, with_profile
from tests.helpers import demo_loaded


def load_folders(bot, tmp_path, *folders):
    """Load only these folders of the shipped content (no demo members)."""
    for folder in folders:
        shutil.copytree(bot.settings.content_dir / folder, tmp_path / folder)
    return importers.load_dir(bot, tmp_path)


def voice(wechat, recognition, openid="o_alice"):
    xml = ("<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{fr}]]></FromUserName>"
           "<CreateTime>{ct}</CreateTime><MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[m1]]></MediaId>"
           "<Format><![CDATA[amr]]></Format><Recognition><![CDATA[{rec}]]></Recognition>"
           "<MsgId>{mid}</MsgId></xml>").format(to=ACCOUNT, fr=openid, ct=int(time.time()), rec=recognition,
                                                 mid=int(time.time() * 1000) % 10**12)
    return wechat.reply(wechat.post(xml))


@pytest.fixture
def quiz(bot):
    bot.redis.hset("yb:{quiz}:branches", mapping={"b1": "一支部", "b2": "二支部"})
    return Quiz(bot.redis)


# 1. Garbled names in every leaderboard ---------------------------------------------------
def test_demo_members_get_whole_names_and_leaderboards_show_them_masked(bot, wechat, tmp_path):
    for folder in ("branches", "quizzes", "demo"):
        shutil.copytree(bot.settings.content_dir / folder, tmp_path / folder)
    importers.load_dir(bot, tmp_path, demo=True)
    name = Profiles(bot.redis).get("o_demo_b1_000").name
    assert len(name) == 3 and re.fullmatch(r"[\u4e00-\u9fff]+", name)
    board = wechat.send("排行")
    rows = re.findall(r"^\d+\. (\S+)", board, re.M)
    assert rows and all(re.match(r"[\u4e00-\u9fff]\*[\u4e00-\u9fff]", r) for r in rows), board


# 2. Search words -------------------------------------------------------------------------
def test_search_with_the_longer_command_word_searches_the_whole_query(bot, wechat, tmp_path):
    load_folders(bot, tmp_path, "jobs")
    reply = wechat.send("搜索 司机")
    assert "「司机」" in reply and "索 司机" not in reply and "货车司机" in reply


def test_search_lists_title_matches_first_and_says_why_the_others_matched(bot, wechat, tmp_path):
    load_folders(bot, tmp_path, "jobs")
    reply = wechat.send("搜 司机")
    assert reply.index("货车司机") < reply.index("仓库分拣员")
    between = reply[reply.index("货车司机"):reply.index("仓库分拣员")]
    assert "类别" in between and "物流司机" in between  # why a 分拣员 turns up for 司机


# 3. Punctuation, filler, voice -----------------------------------------------------------
def test_trailing_punctuation_and_voice_are_understood(bot, wechat, quiz):
    occ = make_event(Events(bot.redis))
    assert "近期志愿活动" in wechat.send("志愿。")
    assert "近期志愿活动" in voice(wechat, "志愿。")
    with_profile(bot, "o_alice")
    assert "报名成功" in wechat.send(f"报名 {occ.number}。")
    make_session(quiz)
    assert "第1题" in wechat.send("答题！")
    assert "回答正确" in wechat.send("B。")


@pytest.mark.parametrize("typed,kind,expected", [
    ("我选B", "single", "B"), ("选b吧", "single", "B"), ("答案是C", "single", "C"), ("我选A和C", "multi", "AC"),
    ("是对的", "judge", "T"), ("错的", "judge", "F"), ("B!", "single", "B"),
])
def test_an_answer_inside_a_short_sentence_is_taken(typed, kind, expected):
    from domain.quiz import parse_answer

    assert parse_answer(typed, kind, 4) == expected


@pytest.mark.parametrize("typed,kind", [("A还是B", "single"), ("我不知道", "single"), ("我选E", "single"),
                                        ("对还是错", "judge")])
def test_an_ambiguous_sentence_is_no_answer(typed, kind):
    from domain.quiz import parse_answer

    assert parse_answer(typed, kind, 4) is None


# 4. Double tap compares what was sent ----------------------------------------------------
def test_the_same_letter_sent_twice_is_not_the_answer_to_a_true_false_question(bot, wechat, quiz):
    now = time.time()
    questions = [Question("单选？", "single", ["甲", "乙", "丙"], "B"), Question("判断？", "judge", [], "T")]
    quiz.save_session(Session("dt", "第dt期", "内容", now - 60, now + 86400, questions))
    wechat.send("答题")
    assert "回答正确" in wechat.send("b")
    again = wechat.send("b")
    assert "刚才已经作答" in again and "判断？" in again
    assert quiz.progress("o_alice").index == 1  # the true/false question is still to answer


# 5. Commands mid-conversation --------------------------------------------------------------
def test_a_command_at_the_note_prompt_is_not_saved_as_the_note(bot, wechat):
    jobs = Jobs(bot.redis)
    from tests.helpers import posting

    p, other = jobs.save(posting("a", "货车司机")), jobs.save(posting("b", "护理员", "医疗护理"))
    with_profile(bot, "o_alice")
    wechat.send(f"投递 {p.number}")
    asked = wechat.send(f"投递 {other.number}")
    assert bot.redis.hget(notes_key(p.id), "o_alice") is None
    assert f"投递 {other.number}" in asked and "补充说明" in asked
    assert "已登记" in wechat.send("是")  # said yes: it was meant as the note
    assert bot.redis.hget(notes_key(p.id), "o_alice") == f"投递 {other.number}"


def test_a_command_at_the_phone_prompt_is_answered_and_uses_no_try(bot, wechat):
    Jobs(bot.redis).save(__import__("tests.test_jobs", fromlist=["posting"]).posting("a", "货车司机"))
    occ = make_event(Events(bot.redis))
    for text in [f"报名 {occ.number}", "同意", "张小明"]:
        wechat.send(text)
    found = wechat.send("搜 司机")
    assert "货车司机" in found and "手机号" in found  # answered, and reminded where they were
    assert "还可以再试2次" in wechat.send("1380013800")


def test_a_command_at_the_consent_step_is_answered(bot, wechat):
    events = Events(bot.redis)
    occ, other = make_event(events), make_event(events, "two", starts_in=5 * 86400)
    wechat.send(f"报名 {occ.number}")
    detail = wechat.send(f"活动 {other.number}")
    assert detail.startswith(f"【{other.number}】活动two")  # answered, then reminded of the notice
    assert "真实姓名" in wechat.send("好的")  # 好的 still agrees at the consent step


def test_points_mid_quiz_say_where_the_user_is(bot, wechat, quiz):
    make_session(quiz)
    wechat.send("答题")
    wechat.send("B")
    reply = wechat.send("积分")
    assert "还没有完成过" not in reply and "第2题" in reply


# 6. Check-in words --------------------------------------------------------------------------
def test_check_in_without_a_code_asks_for_the_code(bot, wechat):
    reply = wechat.send("签到")
    assert "签到码" in reply and "编号" not in reply


def test_check_in_with_an_event_number_says_a_code_is_needed(bot, wechat):
    reply = wechat.send("签到 6")
    assert "签到码" in reply and "没看懂" not in reply


def test_a_second_check_out_says_already_checked_out(bot, wechat):
    events = Events(bot.redis)
    occ = make_event(events, starts_in=-600, hours=1)
    with_profile(bot, "o_alice")
    events.sign_up(occ, "o_alice")
    wechat.send(f"签到 {events.code(occ.id)}")
    wechat.send("签退")
    assert "已经签退" in wechat.send("签退")


# 7. Reminders for a late sign-up -----------------------------------------------------------
def test_a_late_sign_up_gets_only_the_reminder_that_still_makes_sense(bot, pushing):
    deliverer, fake = pushing
    events = Events(bot.redis)
    occ = make_event(events, starts_in=120, hours=1)
    bot.redis.sadd("yb:followers:active", "o_v")
    bot.redis.hset("yb:{u:o_v}:follower", "last_seen", int(time.time()))
    events.sign_up(occ, "o_v")
    tasks.event_reminders(bot, deliverer, time.time())
    texts = [m["text"] for m in fake.messages]
    assert len(texts) == 1 and "明天见" not in texts[0] and "2小时后" not in texts[0]
    assert "2分钟后" in texts[0]


# 8. Help and the unknown --------------------------------------------------------------------
# Words the router answers that are not commands to advertise: help itself, politeness.
NOT_ADVERTISED = {"help_text", "thanks", "greeting"}


def test_help_names_every_command(wechat):
    """Derived from the router: every command handler is named in 帮助 by one of its words, and so is every
    command word a pattern starts with (a new command that help does not mention fails here)."""
    from handlers import build_router

    reply = wechat.send("帮助")
    for word in ("签到", "签退", "志愿证明", "支部", "支部排行", "取消报名", "类别", "订阅岗位"):
        assert f"「{word}" in reply, word
    router = build_router()
    words_of: dict[str, list[str]] = {}
    for word, fn in router.keywords.items():
        words_of.setdefault(fn.__name__, []).append(word)
    assert NOT_ADVERTISED <= set(words_of)  # the exceptions are real handlers, not stale names
    for name, words in words_of.items():
        if name not in NOT_ADVERTISED:
            assert any(f"「{w}" in reply for w in words), (name, words)
    for name, words in router.pattern_words.items():
        assert any(f"「{w}" in reply for w in words), (name, words)


@pytest.mark.parametrize("said", ["谢谢", "好的", "在吗", "👍", "谢谢！"])
def test_thanks_and_greetings_get_a_friendly_answer(wechat, said):
    reply = wechat.send(said)
    assert "没看懂" not in reply


@pytest.mark.parametrize("said", ["人工客服", "人工", "客服", "联系"])
def test_asking_for_a_person_gives_the_committees_contact_and_hours(wechat, bot, said):
    reply = wechat.send(said)
    assert bot.settings.committee_contact in reply and bot.settings.committee_hours in reply


@pytest.mark.parametrize("said,meant", [("答提", "答题"), ("志原", "志愿"), ("报命 2", "报名 2"), ("积份", "积分")])
def test_near_misses_suggest_the_command(wechat, said, meant):
    assert re.search(f"是不是想.*「{meant}」", wechat.send(said))


# 9. Phone-sized lists -------------------------------------------------------------------------
def test_events_are_listed_by_date_ten_to_a_screen_and_more_continues(bot, wechat):
    events = Events(bot.redis)
    for i, days in enumerate([9, 2, 14, 5, 1, 12, 3, 7, 11, 4, 13, 6]):
        make_event(events, f"e{i}", starts_in=days * 86400)
    first = wechat.send("志愿")
    titles = re.findall(r"活动(e\d+)", first)
    assert 0 < len(titles) <= 10 and "更多" in first
    rest = wechat.send("更多")
    titles += re.findall(r"活动(e\d+)", rest)
    starts = [events.by_number(int(n)).start for n in re.findall(r"【(\d+)】", first + rest)]
    assert sorted(titles) == sorted(f"e{i}" for i in range(12)) and starts == sorted(starts)


def test_more_continues_the_job_list_and_search_keeps_to_a_screen(bot, wechat, tmp_path):
    load_folders(bot, tmp_path, "jobs")
    open_count = len(Jobs(bot.redis).open(time.time()))
    seen = set(re.findall(r"【(\d+)】", wechat.send("岗位")))
    for _ in range(5):
        page = wechat.send("更多")
        seen |= set(re.findall(r"【(\d+)】", page))
    assert len(seen) == open_count
    found = wechat.send("搜 掇刀区")
    assert 0 < len(re.findall(r"【\d+】", found)) <= 10 and "更多" in found


# 10. Wording ------------------------------------------------------------------------------------
def test_sign_up_says_the_contact_is_what_was_recorded_for_the_user(bot, wechat):
    occ = make_event(Events(bot.redis))
    with_profile(bot, "o_alice")
    reply = wechat.send(f"报名 {occ.number}")
    assert "联系人信息" not in reply and "你登记的" in reply and "138****8000" in reply


def test_cancelling_an_event_that_started_says_it_started(bot, wechat):
    events = Events(bot.redis)
    occ = make_event(events, starts_in=-600)
    events.sign_up(occ, "o_alice")
    reply = wechat.send(f"取消报名 {occ.number}")
    assert "已经开始" in reply and "小时内不能在线取消" not in reply


def test_interest_again_with_skip_does_not_claim_an_update(bot, wechat):
    from tests.helpers import posting

    p = Jobs(bot.redis).save(posting("a", "货车司机"))
    with_profile(bot, "o_alice")
    wechat.send(f"投递 {p.number}")
    wechat.send("跳过")
    wechat.send(f"投递 {p.number}")
    reply = wechat.send("跳过")
    assert "已更新" not in reply and "已经投递过" in reply


def test_certificate_after_deletion_asks_for_the_name_instead_of_later(bot, wechat):
    events = Events(bot.redis)
    occ = make_event(events, starts_in=-3 * 3600, hours=2)
    events.sign_up(occ, "o_alice")
    bot.redis.zadd("yb:{u:o_alice}:served", {occ.id: 120})
    reply = wechat.send("志愿证明")
    assert "稍后再试" not in reply and "姓名" in reply


def test_the_expiry_notice_has_no_stray_spaces(bot, wechat):
    bot.redis.set("yb:{u:o_alice}:flow_last", "quiz")
    reply = wechat.send("A")
    assert "已经30分钟没有操作" in reply


def test_quiz_reminder_counts_the_questions_and_names_the_quiz_once(bot, pushing, quiz):
    deliverer, fake = pushing
    session = make_session(quiz)  # three questions
    quiz_title = "青年大学习 · 团的基本知识"
    quiz.save_session(Session(session.id, quiz_title, session.summary, session.opens, session.closes,
                              session.questions))
    Profiles(bot.redis).set_branch("o_m", "b1")
    bot.redis.sadd("yb:followers:active", "o_m")
    bot.redis.hset("yb:{u:o_m}:follower", "last_seen", int(time.time()))
    tasks.quiz_reminders(bot, deliverer, time.time())
    text = fake.messages[0]["text"]
    assert "3道题" in text and "5道题" not in text and text.count("青年大学习") == 1


# 11. Certificates -------------------------------------------------------------------------------
def served(bot, openid="o_alice", minutes=120):
    events = Events(bot.redis)
    occ = make_event(events, starts_in=-5 * 3600, hours=2)
    bot.redis.zadd(f"yb:{{u:{openid}}}:served", {occ.id: minutes})
    return occ


def test_one_certificate_number_per_record_issued_by_the_committee(bot, wechat, client):
    served(bot)
    with_profile(bot, "o_alice", name="李晓明")
    first, second = wechat.send("志愿证明"), wechat.send("志愿证明")
    number = re.search(r"编号：(\S+)", first).group(1)
    assert re.search(r"编号：(\S+)", second).group(1) == number
    assert bot.settings.committee_name in first and "××" not in first
    assert f"/verify/{number}" in first


def test_the_verify_page_shows_who_what_when_and_hours(bot, wechat, client):
    occ = served(bot)
    with_profile(bot, "o_alice", name="李晓明")
    number = re.search(r"编号：(\S+)", wechat.send("志愿证明")).group(1)
    page = client.get(f"/verify/{number}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "李*明" in html and occ.title in html and "2" in html
    assert bot.settings.committee_name in html and "李晓明" not in html and "13800138000" not in html
    missing = client.get("/verify/TW20990101-00001-XXXX")
    assert missing.status_code == 404 and "没有找到" in missing.get_data(as_text=True)


def test_deleting_my_data_takes_my_name_off_my_service_records(bot, wechat, client):
    served(bot)
    with_profile(bot, "o_alice", name="李晓明")
    number = re.search(r"编号：(\S+)", wechat.send("志愿证明")).group(1)
    wechat.send("删除我的信息")
    wechat.send("确认删除")
    html = client.get(f"/verify/{number}").get_data(as_text=True)
    assert "李*明" not in html and "删除个人信息" in html and "小时" in html


# 20. The demo shows a reminder arriving -------------------------------------------------------
@pytest.mark.slow
def test_in_the_demo_a_chat_user_who_picks_a_branch_gets_the_quiz_reminder(bot, wechat, pushing):
    deliverer, fake = pushing
    demo_loaded(bot)
    before = tasks.quiz_reminders(bot, deliverer, time.time())
    assert "sent" not in before  # the made-up members do not follow the account: nobody is reached
    assert "请选择你所在的团支部" in wechat.send("支部", openid="o_demo_user_0001")
    assert "已加入" in wechat.send("1", openid="o_demo_user_0001")
    assert tasks.quiz_reminders(bot, deliverer, time.time()).get("sent") == 1
    assert [m["touser"] for m in fake.messages] == ["o_demo_user_0001"]
