"""青年大学习: answers in every form people type them, counted once, scored, ranked."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.wechat.simulator import WeChatSimulator, text_xml
from domain.profiles import Profiles
from domain.quiz import Quiz, parse_answer
from tests.helpers import TOKEN, post_signed, make_session


@pytest.fixture
def quiz(bot):
    bot.redis.hset("yb:{quiz}:branches", mapping={"b1": "一支部", "b2": "二支部"})
    return Quiz(bot.redis)


@pytest.mark.parametrize("typed,kind,expected", [
    ("A", "single", "A"), ("b", "single", "B"), ("Ａ", "single", "A"), (" c ", "single", "C"),
    ("AC", "multi", "AC"), ("A C", "multi", "AC"), ("A,C", "multi", "AC"), ("A、C", "multi", "AC"),
    ("ca", "multi", "AC"), ("Ａ，Ｃ", "multi", "AC"), ("对", "judge", "T"), ("错", "judge", "F"),
    ("√", "judge", "T"), ("×", "judge", "F"), ("T", "judge", "T"), ("f", "judge", "F"),
])
def test_answers_are_read_in_every_form_people_type(typed, kind, expected):
    assert parse_answer(typed, kind, 4) == expected


@pytest.mark.parametrize("typed,kind", [("E", "single", ), ("AB", "single"), ("AA", "multi"), ("", "single"),
                                        ("好的", "judge"), ("A1", "multi")])
def test_what_is_no_option_is_rejected(typed, kind):
    assert parse_answer(typed, kind, 4) is None


def test_a_whole_attempt_through_the_webhook(wechat, quiz):
    make_session(quiz)
    first = wechat.send("答题")
    assert "第s-now期" in first and "第1题/共3题" in first and "B. 14至28" in first
    assert "回答正确" in wechat.send("b")
    reply = wechat.send("A、B")
    assert "回答错误" in reply and "ABD" in reply and "第3题" in reply
    result = wechat.send("√")
    assert "得分：20分（答对2/3题）" in result and "本期排名：第1名" in result and "连续参与：1期" in result
    assert quiz.result_of("o_alice", quiz.session("s-now")) == (20, 1)


def test_an_invalid_answer_is_asked_again_and_not_counted(wechat, quiz):
    make_session(quiz)
    wechat.send("答题")
    reply = wechat.send("E")
    assert "没有这个选项" in reply and "第1题" in reply
    assert quiz.progress("o_alice").index == 0
    assert "回答正确" in wechat.send("B")


def test_second_attempt_is_practice_and_says_so(wechat, quiz):
    make_session(quiz)
    for text in ["答题", "B", "ABD", "对"]:
        wechat.send(text)
    again = wechat.send("答题")
    assert "练习" in again
    for text in ["A", "C", "错"]:
        last = wechat.send(text)
    assert "练习完成：0分" in last and "计入的成绩是30分" in last
    assert quiz.result_of("o_alice", quiz.session("s-now")) == (30, 1)
    assert quiz.totals("o_alice") == (30, 1)


def test_answers_after_the_close_are_practice(quiz):
    now = time.time()
    session = make_session(quiz, opens_in=-3600, closes_in=60, now=now)
    progress, _ = quiz.start("o_late", session, now)
    assert progress.counted
    quiz.answer("o_late", session, "B", now + 10)
    quiz.answer("o_late", session, "ABD", now + 20)
    outcome = quiz.answer("o_late", session, "对", now + 120)  # the last answer comes after the close
    assert outcome.result is not None and not outcome.result.counted
    assert quiz.result_of("o_late", session) is None


def test_cancel_then_come_back_resumes_at_the_same_question(wechat, quiz):
    make_session(quiz)
    wechat.send("答题")
    wechat.send("B")
    assert "已取消" in wechat.send("取消")
    back = wechat.send("答题")
    assert "接着答第2题" in back and "第2题/共3题" in back


def test_a_command_mid_quiz_is_answered_and_the_quiz_waits(wechat, quiz):
    make_session(quiz)
    wechat.send("答题")
    reply = wechat.send("积分")
    assert "正在答" in reply and "第1题等你作答" in reply  # where they are, not "never done one"
    assert "回答正确" in wechat.send("B")


def test_a_command_with_arguments_mid_quiz_is_answered_too(wechat, quiz):
    make_session(quiz)
    wechat.send("答题")
    assert "没有编号为99的活动" in wechat.send("活动 99")
    assert "回答正确" in wechat.send("B")


def test_every_counted_answer_is_kept_with_its_time(wechat, quiz):
    make_session(quiz)
    for text in ["答题", "B", "AB", "错"]:
        wechat.send(text)
    ev = quiz.evidence("s-now", "o_alice")
    assert [a[:2] for a in ev["a"]] == [["B", 1], ["AB", 0], ["F", 0]]
    assert ev["p"] == 10 and all(isinstance(a[2], int) and a[2] >= 0 for a in ev["a"])


def test_no_open_session_shows_last_result_and_the_next_opening(wechat, quiz):
    now = time.time()
    past = make_session(quiz, "s-past", opens_in=-7 * 86400, closes_in=-86400, now=now)
    quiz.record_completed("o_alice", past, ["B", "ABD", "F"], past.opens + 100)
    make_session(quiz, "s-next", opens_in=2 * 86400, closes_in=9 * 86400, now=now)
    reply = wechat.send("答题")
    assert "没有正在进行" in reply and "上一期「第s-past期」你得了20分" in reply
    assert "下一期「第s-next期」将于" in reply


def test_ties_rank_equally(quiz):
    session = make_session(quiz)
    for openid, answers in [("o_1", ["B", "ABD", "T"]), ("o_2", ["B", "ABD", "T"]), ("o_3", ["B", "A", "F"]),
                            ("o_4", ["A", "A", "F"])]:
        quiz.record_completed(openid, session, answers, session.opens + 60)
    assert sorted(quiz.top_in_session("s-now")) == [(1, "o_1", 30), (1, "o_2", 30), (3, "o_3", 10), (4, "o_4", 0)]
    assert quiz.rank_in_session("s-now", "o_2") == 1 and quiz.rank_in_session("s-now", "o_3") == 3


def test_streak_counts_consecutive_sessions_and_an_open_one_does_not_break_it(quiz):
    now = time.time()
    weeks = [make_session(quiz, f"w{i}", opens_in=-(4 - i) * 7 * 86400, closes_in=-(3 - i) * 7 * 86400 - 1, now=now)
             for i in range(4)]  # w0..w3, all closed
    current = make_session(quiz, "w4", opens_in=-3600, closes_in=86400, now=now)
    for s in [weeks[0], weeks[2], weeks[3]]:
        quiz.record_completed("o_s", s, ["B", "ABD", "T"], s.opens + 60)
    assert quiz.streak("o_s", now) == 2  # w2, w3; the open w4 not done yet does not break it
    quiz.record_completed("o_s", current, ["B", "ABD", "T"], now)
    assert quiz.streak("o_s", now + 1) == 3


def test_points_and_leaderboard_replies(wechat, quiz):
    session = make_session(quiz)
    for i, answers in enumerate([["B", "ABD", "T"], ["B", "A", "T"]]):
        quiz.record_completed(f"o_{i}", session, answers, session.opens + 60)
    Profiles(quiz._redis).save_contact("o_0", "张小明", "13800001234")
    for text in ["答题", "B", "ABD", "对"]:
        wechat.send(text)
    me = wechat.send("积分")
    assert "累计积分：30分（总排名第1名）" in me and "参加期数：1期" in me
    board = wechat.send("排行")
    assert "1. 张*明 30分" in board and "1. 团员lice 30分" in board and "3. 团员o_1 20分" in board
    assert "13800001234" not in board and "你：本期第1名，总榜第1名" in board


def test_branch_is_chosen_once_and_branches_rank_by_completion_rate(wechat, quiz):
    session = make_session(quiz)
    profiles = Profiles(quiz._redis)
    for openid, branch in [("o_a1", "b1"), ("o_a2", "b1"), ("o_b1", "b2")]:
        profiles.set_branch(openid, branch)
    quiz.record_completed("o_a1", session, ["B", "ABD", "T"], session.opens + 60)
    quiz.record_completed("o_b1", session, ["B", "A", "F"], session.opens + 60)
    listing = wechat.send("支部")
    assert "1. 一支部" in listing and "2. 二支部" in listing
    assert "序号" in wechat.send("9")
    assert "已加入「二支部」" in wechat.send("2")
    assert profiles.get("o_alice").branch == "b2"
    board = wechat.send("支部排行")  # b2: 1 of 2 done, avg 10; b1: 1 of 2, avg 30
    assert board.index("一支部") < board.index("二支部") and "完成率50%（1/2）" in board
    assert quiz.non_completers("s-now") == ["o_a2", "o_alice"]


def test_two_answers_at_once_count_once(live_server, quiz):
    make_session(quiz)
    sim = WeChatSimulator(TOKEN)
    post_signed(live_server, sim, text_xml("o_tap", "答题"))
    barrier = threading.Barrier(4)

    def tap(_):
        barrier.wait()
        return post_signed(live_server, sim, text_xml("o_tap", "B"))

    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(tap, range(4)))
    assert sum("回答正确" in r for r in replies) == 1
    progress = quiz.progress("o_tap")
    assert progress.index == 1 and progress.right == 1


def test_retried_final_answer_counts_once(wechat, quiz):
    make_session(quiz)
    for text in ["答题", "B", "ABD"]:
        wechat.send(text)
    replies = [wechat.send("对", msg_id=424242) for _ in range(3)]
    assert replies[0] == replies[1] == replies[2] and "得分：30分" in replies[0]
    assert quiz.totals("o_alice") == (30, 1)


def test_stats_and_export_for_the_committee(cli, quiz, tmp_path):
    session = make_session(quiz)
    profiles = Profiles(quiz._redis)
    for openid, branch in [("o_a1", "b1"), ("o_a2", "b1"), ("o_b1", "b2")]:
        profiles.set_branch(openid, branch)
    profiles.save_contact("o_a2", "李雷", "13900001111")
    quiz.record_completed("o_a1", session, ["B", "ABD", "T"], session.opens + 60)
    code, out = cli("quiz", "stats", "s-now", "--list")
    assert code == 0 and "participants 1" in out and "completed 1/3 (33%)" in out and "李雷" in out
    code, out = cli("quiz", "export", "s-now", "--out", str(tmp_path / "s.csv"))
    rows = (tmp_path / "s.csv").read_text(encoding="utf-8-sig").splitlines()
    assert code == 0 and len(rows) == 2 and rows[1].startswith("o_a1,,一支部,30,") and ",ABD,对,40," in rows[1]
    code, out = cli("quiz", "export", "s-now", "--out", str(tmp_path / "s.xlsx"))
    from openpyxl import load_workbook
    assert load_workbook(tmp_path / "s.xlsx").active.max_row == 2
