"""Content files: the demo loads on any day, staff sheets load, and errors say where."""
from __future__ import annotations

import pytest

import shutil
import time

from bot import importers as content
from domain.quiz import Quiz

SHEET_HEADER = "期号,标题,学习内容,链接,开始,截止,题目,题型,A,B,C,D,答案,解析\n"


def snapshot(redis) -> dict:
    """Every yb: key's value, read by type (DUMP bytes depend on insertion order)."""
    read = {"string": redis.get, "hash": redis.hgetall, "set": redis.smembers, "list": lambda k: redis.lrange(k, 0, -1),
            "zset": lambda k: redis.zrange(k, 0, -1, withscores=True)}
    return {k: read[redis.type(k)](k) for k in redis.scan_iter("yb:*")}


def test_demo_content_has_an_open_quiz_past_results_and_an_upcoming_one(bot):
    report = content.load_dir(bot, bot.settings.content_dir, demo=True)
    assert report.counts["quizzes"] >= 5 and report.counts["demo"] >= 150
    quiz, now = Quiz(bot.redis), time.time()
    assert quiz.open_session(now) is not None and quiz.next_upcoming(now) is not None
    last = quiz.last_closed(now)
    assert 50 < len(quiz.participants(last.id)) < 160  # some members missed it
    assert quiz.top_all_time()[0][2] > 0


@pytest.mark.slow
def test_loading_twice_changes_nothing(bot):
    content.load_dir(bot, bot.settings.content_dir, demo=True)
    before = snapshot(bot.redis)
    content.load_dir(bot, bot.settings.content_dir, demo=True)
    assert snapshot(bot.redis) == before


@pytest.mark.slow
def test_first_start_loads_the_demo_once(redis_client, settings):
    from dataclasses import replace

    from bot.app import create_app

    create_app(replace(settings, load_demo="1"), redis_client)
    assert redis_client.exists("yb:content:loaded")
    redis_client.delete("yb:{quiz}:sessions")
    create_app(replace(settings, load_demo="1"), redis_client)
    assert not redis_client.exists("yb:{quiz}:sessions")  # a restart does not overwrite staff edits


def test_a_csv_question_bank_loads(bot, tmp_path, cli):
    (tmp_path / "quizzes").mkdir()
    (tmp_path / "quizzes" / "bank.csv").write_text(
        SHEET_HEADER + "w50,第50期,学习内容,,2026-12-07 08:00,2026-12-14 08:00,团员年龄？,单选,12至25,14至28,,,B,解析\n"
        "w50,,,,,,五四青年节是5月4日,判断,,,,,对,\n", encoding="utf-8")
    code, out = cli("content", "load", str(tmp_path))
    assert code == 0 and "1 quizzes" in out
    session = Quiz(bot.redis).session("w50")
    assert [q.kind for q in session.questions] == ["single", "judge"] and session.questions[1].answer == "T"


def test_an_xlsx_question_bank_loads(bot, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(SHEET_HEADER.strip().split(","))
    wb.active.append(["w51", "第51期", "内容", "", "2026-12-14 08:00", "2026-12-21 08:00", "多选题", "多选",
                      "甲", "乙", "丙", "", "A、C", ""])
    (tmp_path / "quizzes").mkdir()
    wb.save(tmp_path / "quizzes" / "bank.xlsx")
    content.load_dir(bot, tmp_path)
    assert Quiz(bot.redis).session("w51").questions[0].answer == "AC"


def test_a_bad_sheet_names_file_row_and_column(tmp_path, cli):
    (tmp_path / "quizzes").mkdir()
    (tmp_path / "quizzes" / "bank.csv").write_text(
        SHEET_HEADER + "w52,第52期,内容,,2026-12-07 08:00,2026-12-14 08:00,题一,单选,甲,乙,,,A,\n"
        "w52,,,,,,题二,单选,甲,乙,,,E,\n", encoding="utf-8")
    code, out = cli("content", "load", str(tmp_path))
    assert code != 0 and "bank.csv 第3行「答案」" in out and "「E」不是选项" in out


def test_a_bad_yaml_names_the_field(bot, tmp_path, cli):
    shutil.copytree(bot.settings.content_dir / "quizzes", tmp_path / "quizzes")
    path = tmp_path / "quizzes" / "01-tuan-basics.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("answer: B", "answer: Z"), encoding="utf-8")
    code, out = cli("content", "load", str(tmp_path))
    assert code != 0 and "01-tuan-basics.yaml「questions[2].answer」" in out
