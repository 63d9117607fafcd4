"""The console's quiz pages: uploads all or nothing with every bad row named, preview, figures, audited lists."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from domain.audit import Audit
from domain.quiz import Quiz
from tests.helpers import quiz_bank_file as bank, upload_bank as upload
from tests.helpers import demo_loaded

HEAD = ["期号", "标题", "学习内容", "链接", "开始", "截止", "题目", "题型", "A", "B", "C", "D", "答案", "解析"]




GOOD = ["w20", "第20期", "学习内容", "", "today-1 08:00", "today+6 08:00", "五四青年节是哪一天？", "单选",
        "5月4日", "6月1日", "", "", "A", "纪念五四运动。"]




@pytest.fixture
def demo(bot):
    demo_loaded(bot)
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


def test_a_bank_written_the_office_way_is_read_merged_cells_variant_headers_chinese_dates(console, redis_client):
    """Issue 21 items 15-16: 期号 merged down its questions, headers as people write them (期 号, 开始时间, 截止时间,
    正确答案, 答案解析, 选项A), dates the Chinese way, a row of spaces between questions: one session, all loaded."""
    from domain import clock

    year = clock.local(clock.now()).year + 1
    wb = Workbook()
    ws = wb.active
    ws.append(["期 号", "标题", "学习内容", "链接", "开始时间", "截止时间", "题目", "题型", "选项A", "选项B", "C", "D",
               "正确答案", "答案解析"])
    ws.append(["w21", "第21期", "学习内容", "", f"{year}/12/15 8:00", f"{year}年12月22日 8:00", "第一题", "单选",
               "甲", "乙", "", "", "A", "因为甲。"])
    ws.append([None, None, None, None, None, None, "第二题", "单选", "甲", "乙", "", "", "B", ""])
    ws.append(["  ", " ", "", None, "   ", "", "", "", "", "", "", "", "", ""])  # a row of spaces: a blank row
    ws.append([None, None, None, None, None, None, "第三题", "判断", "", "", "", "", "对", ""])
    ws.merge_cells("A2:A5")
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    resp = upload(console, buf)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "已导入 1 期" in html, html
    s = Quiz(redis_client).session("w21")
    assert [q.answer for q in s.questions] == ["A", "B", "T"] and s.questions[0].explain == "因为甲。"
    assert f"{clock.local(s.opens):%Y-%m-%d %H:%M}" == f"{year}-12-15 08:00"
    assert f"{clock.local(s.closes):%Y-%m-%d %H:%M}" == f"{year}-12-22 08:00"


def test_a_merged_cell_left_empty_on_a_new_session_row_is_still_named(console, redis_client):
    """Merging fills only the cells a merged range covers: a question row with no 期号 is still '没有填'."""
    rows = [GOOD, [None] * 6 + ["第二题", "单选", "甲", "乙", "", "", "A", ""]]
    resp = upload(console, bank(rows))
    assert resp.status_code == 400 and "第3行「期号」：没有填" in resp.get_data(as_text=True)


def test_correcting_an_answer_key_after_people_answered_asks_first_then_rescores_with_an_audit_entry(console,
                                                                                                      redis_client):
    """Issue 21 item 14: a corrected key silently left 77 earlier participants scored on the old one."""
    from domain.quiz import TOTAL

    second = GOOD[:6] + ["团员年龄上限是28周岁。", "判断", "", "", "", "", "对", ""]
    assert upload(console, bank([GOOD, second])).status_code == 200
    quiz = Quiz(redis_client)
    s = quiz.session("w20")
    for openid, answers in (("o_a", ["A", "T"]), ("o_b", ["B", "T"]), ("o_c", ["B", "F"])):
        quiz.record_completed(openid, s, answers, s.opens + 60)
    before = dict(quiz.participants("w20"))
    assert before == {"o_a": 20, "o_b": 10, "o_c": 0}
    corrected = [GOOD[:12] + ["B"] + GOOD[13:], second]

    asked = upload(console, bank(corrected))
    html = asked.get_data(as_text=True)
    assert asked.status_code == 400 and "第1题答案 A 改为 B" in html and "已有3人答完并计分" in html
    assert 'name="rescore"' in html
    assert quiz.session("w20").questions[0].answer == "A" and dict(quiz.participants("w20")) == before

    data = bank(corrected)
    done = console.post("/admin/quizzes/upload", {"bank": (data, "题库.xlsx"), "rescore": "1"},
                        token_from="/admin/quizzes/", content_type="multipart/form-data")
    assert done.status_code == 200 and "已按新答案重新计分3份答卷" in done.get_data(as_text=True)
    assert Quiz(redis_client).session("w20").questions[0].answer == "B"
    assert dict(quiz.participants("w20")) == {"o_a": 10, "o_b": 20, "o_c": 10}
    assert {o: int(p) for o, p in redis_client.zrange(TOTAL, 0, -1, withscores=True)} == {"o_a": 10, "o_b": 20,
                                                                                           "o_c": 10}
    assert [ok for _, ok, _ in quiz.evidence("w20", "o_b")["a"]] == [1, 1]
    entry = next(e for e in Audit(redis_client).recent(5) if e.action == "rescore")  # beside the upload's own entry
    assert (entry.action, entry.people) == ("rescore", 3) and "第1题答案 A 改为 B" in entry.what

    changed_question = [GOOD[:6] + ["五四青年节是几月几日？"] + GOOD[7:12] + ["B"] + GOOD[13:], second]
    refused = upload(console, bank(changed_question)).get_data(as_text=True)
    assert "题目、题型和选项不能再改" in refused and "请用新的期号（如 w20-2）" in refused
    assert quiz.session("w20").questions[0].text == GOOD[6]
