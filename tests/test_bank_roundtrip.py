"""Question banks round-trip (issue 22 #3): the session page shows each question's key and explanation; 下载题库
gives the session in the upload's own layout, so uploading it again changes nothing, and editing one cell and
uploading changes exactly that (with the upload's checks on the answer key)."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from domain.quiz import Quiz
from tests.helpers import quiz_bank_file as bank, upload_bank as upload

ROWS = [
    ["w21", "第21期", "学习团章", "https://example.org/21", "today-1 08:00", "today+6 08:00", "五四青年节是哪一天？", "单选",
     "5月4日", "6月1日", "7月1日", "", "A", "纪念五四运动。"],
    ["w21", "第21期", "学习团章", "https://example.org/21", "today-1 08:00", "today+6 08:00", "团员的义务有哪些？", "多选",
     "学习", "守法", "缺席", "带头", "ABD", ""],
    ["w21", "第21期", "学习团章", "https://example.org/21", "today-1 08:00", "today+6 08:00", "团旗是红色的。", "判断",
     "", "", "", "", "对", "团旗旗面为红色。"],
]


def _download(console, sid="w21") -> io.BytesIO:
    resp = console.client.get(f"/admin/quizzes/{sid}/bank.xlsx")
    assert resp.status_code == 200
    return io.BytesIO(resp.data)


def test_the_preview_shows_each_answer_and_explanation(console, redis_client):
    assert upload(console, bank(ROWS)).status_code == 200
    html = console.page("/admin/quizzes/w21")
    assert "答案：<strong>A</strong> · 解析：纪念五四运动。" in html
    assert "答案：<strong>ABD</strong> · <span class=\"muted\">（没有解析）</span>" in html
    assert "答案：<strong>对</strong> · 解析：团旗旗面为红色。" in html


def test_the_downloaded_bank_uploads_back_unchanged(console, redis_client):
    assert upload(console, bank(ROWS)).status_code == 200
    before = Quiz(redis_client).session("w21")
    data = _download(console)
    sheet = list(load_workbook(data).active.iter_rows(values_only=True))
    assert sheet[0] == ("期号", "标题", "学习内容", "链接", "开始", "截止", "题目", "题型", "A", "B", "C", "D", "答案", "解析")
    assert sheet[2][6:] == ("团员的义务有哪些？", "多选", "学习", "守法", "缺席", "带头", "ABD", None)
    data.seek(0)
    assert upload(console, data, "题库-w21.xlsx").status_code == 200
    assert Quiz(redis_client).session("w21") == before


def test_editing_one_cell_and_uploading_changes_exactly_that(console, redis_client):
    from openpyxl import load_workbook as open_book

    assert upload(console, bank(ROWS)).status_code == 200
    before = Quiz(redis_client).session("w21")
    book = open_book(_download(console))
    book.active["N3"] = "缺席组织生活不是义务。"  # the second question's explanation
    buf = io.BytesIO()
    book.save(buf)
    buf.seek(0)
    assert upload(console, buf, "题库-w21.xlsx").status_code == 200
    after = Quiz(redis_client).session("w21")
    assert after.questions[1].explain == "缺席组织生活不是义务。"
    after.questions[1].explain = ""
    assert after == before  # nothing else moved

    book.active["M2"] = "E"  # an answer that is no option: the upload's own check, nothing saved
    buf = io.BytesIO()
    book.save(buf)
    buf.seek(0)
    resp = upload(console, buf, "题库-w21.xlsx")
    assert resp.status_code == 400 and "第2行「答案」" in resp.get_data(as_text=True)
    assert Quiz(redis_client).session("w21").questions[0].answer == "A"


def test_a_question_with_more_than_four_options_gets_its_columns(console, redis_client):
    from bot.admin.quizzes import bank_rows
    from domain.quiz import Question, Session

    s = Session("w30", "第30期", "x", 1_800_000_000, 1_800_600_000,
                [Question("选一个", "single", ["一", "二", "三", "四", "五", "六"], "F", "")])
    headers, rows = bank_rows(s)
    assert headers[8:14] == ["A", "B", "C", "D", "E", "F"] and rows[0][8:16] == ["一", "二", "三", "四", "五", "六", "F", ""]
    assert s.questions[0].shown_answer() == "F"  # the sixth option, not 错 (as the chat showed it before)


def test_only_admins_download_a_bank_and_a_missing_session_is_404(console, console_as, redis_client):
    upload(console, bank(ROWS))
    assert console_as("organiser").client.get("/admin/quizzes/w21/bank.xlsx").status_code == 403
    assert console.client.get("/admin/quizzes/nope/bank.xlsx").status_code == 404
