"""The console's quiz pages: uploads all or nothing with every bad row named, preview, figures, audited lists."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from bot import importers as content
from domain.audit import Audit
from domain.quiz import Quiz
from tests.helpers import quiz_bank_file as bank, upload_bank as upload

HEAD = ["期号", "标题", "学习内容", "链接", "开始", "截止", "题目", "题型", "A", "B", "C", "D", "答案", "解析"]




GOOD = ["w20", "第20期", "学习内容", "", "today-1 08:00", "today+6 08:00", "五四青年节是哪一天？", "单选",
        "5月4日", "6月1日", "", "", "A", "纪念五四运动。"]




@pytest.fixture
def demo(bot):
    content.load_dir(bot, bot.settings.content_dir, demo=True)
    return bot


def test_a_bank_with_bad_rows_names_each_row_and_loads_nothing(console, redis_client):
    rows = [GOOD, GOOD[:6] + ["第二题", "单选", "甲", "乙", "", "", "E", ""],
            GOOD[:6] + ["第三题", "多项", "甲", "乙", "", "", "A", ""]]
    resp = upload(console, bank(rows))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "没有导入任何内容" in html
    assert "题库.xlsx 第3行「答案」：「E」不是选项（A–B）" in html
    assert "题库.xlsx 第4行「题型」" in html
    assert Quiz(redis_client).session("w20") is None


def test_a_good_bank_is_loaded_and_shown(console, redis_client):
    resp = upload(console, bank([GOOD, GOOD[:6] + ["团员年龄上限是28周岁。", "判断", "", "", "", "", "对", ""]]))
    assert resp.status_code == 200 and "已导入 1 期" in resp.get_data(as_text=True)
    assert len(Quiz(redis_client).session("w20").questions) == 2
    assert "第20期" in console.page("/admin/quizzes/")


def test_a_file_that_is_not_a_spreadsheet_gets_a_clear_answer(console):
    resp = upload(console, io.BytesIO(b"PK\x03\x04 broken"), "bank.xlsx")
    assert resp.status_code == 400 and "无法读取这个文件" in resp.get_data(as_text=True)
    resp = upload(console, io.BytesIO(b"hello"), "bank.docx")
    assert resp.status_code == 400 and "请上传 .xlsx" in resp.get_data(as_text=True)


def test_the_preview_is_worded_as_in_chat(console, demo, wechat):
    session = Quiz(demo.redis).open_session(__import__("time").time())
    html = console.page(f"/admin/quizzes/{session.id}")
    first_in_chat = wechat.send("答题").split("\n\n")[-1]
    assert first_in_chat.split("\n")[1] in html and "第1题/共" in html


def test_session_page_shows_branches_and_audits_the_not_done_list(console, demo):
    session = Quiz(demo.redis).last_closed(__import__("time").time())
    html = console.page(f"/admin/quizzes/{session.id}?branch=b2")
    assert "白石坡社区团支部" in html and "团员完成率" in html
    entry = Audit(demo.redis).recent(1)[0]
    assert entry.staff == "admin1" and "未完成名单" in entry.what and entry.people > 0


def test_the_export_is_an_audited_xlsx(console, demo):
    session = Quiz(demo.redis).last_closed(__import__("time").time())
    resp = console.client.get(f"/admin/quizzes/{session.id}/export.xlsx")
    sheet = load_workbook(io.BytesIO(resp.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("openid", "姓名", "支部", "得分") and len(rows) > 10
    entry = Audit(demo.redis).recent(1)[0]
    assert entry.action == "export" and entry.people == len(rows) - 1


def test_the_dashboard_shows_the_figures_with_charts(console, demo):
    html = console.page("/admin/")
    assert "本期答题人数" in html and "各支部完成率" in html and "<svg" in html and "在招岗位" in html
