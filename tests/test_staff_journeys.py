"""What a new staff member hit (issue 10): each test reproduces one of the items as staff met it."""
from __future__ import annotations

import logging
import shutil
import time
from dataclasses import replace
from datetime import datetime

import pytest
import yaml

from bot import importers

from domain import clock
from domain.audit import Audit
from domain.events import Events
from domain.jobs import Jobs
from domain.quiz import Quiz
from domain.fields import POSTING_FIELDS, named
from tests.helpers import posting
from tests.helpers import make_event, make_morning_event, with_profile

SHEET_HEADER = "期号,标题,学习内容,链接,开始,截止,题目,题型,A,B,C,D,答案,解析\n"
JOB_COLUMNS = ("id", "employer", "title", "category", "salary", "place", "education", "experience", "headcount", "contact",
               "published", "expires", "status", "fair", "description")  # the rows below, in this order
JOB_HEADER = ",".join(named(POSTING_FIELDS, k).label for k in JOB_COLUMNS) + "\n"


def event_file(folder, eid="river", start="today+3 09:00", end="today+3 11:00", **extra):
    folder.mkdir(parents=True, exist_ok=True)
    data = {"id": eid, "title": f"活动{eid}", "place": "三干渠", "start": start, "end": end, "capacity": 5}
    data.update(extra)
    (folder / f"{eid}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def keys(redis, pattern="yb:*"):
    return sorted(redis.scan_iter(pattern))


# 12. A content reload never silently undoes a staff change ---------------------------------------
def test_a_reload_keeps_the_staff_move_reports_it_and_keeps_indexes(bot, cli, tmp_path, wechat):
    event_file(tmp_path / "events")
    assert cli("content", "load", str(tmp_path))[0] == 0
    events = Events(bot.redis)
    occ = events.upcoming(time.time())[0]
    with_profile(bot, "o_alice")
    assert "报名成功" in wechat.send(f"报名 {occ.number}")
    new_start = clock.local(occ.start + 86400).strftime("%Y-%m-%d 14:00")
    assert cli("events", "move", str(occ.number), "--to", new_start)[0] == 0
    code, out = cli("content", "load", str(tmp_path))
    assert code == 0 and f"event {occ.number}" in out and "kept" in out
    moved = events.by_number(occ.number)
    assert moved.start == clock.parse_when(new_start)
    assert bot.redis.zscore("yb:{u:o_alice}:signups", occ.id) == moved.start
    assert f"【{occ.number}】" in wechat.send("我的报名")


def test_a_reload_keeps_a_staff_edit_until_the_file_says_the_same(bot, cli, tmp_path):
    event_file(tmp_path / "events")
    cli("content", "load", str(tmp_path))
    occ = Events(bot.redis).upcoming(time.time())[0]
    assert cli("events", "edit", str(occ.number), "--place", "四干渠")[0] == 0
    code, out = cli("content", "load", str(tmp_path))
    assert code == 0 and "kept the place staff set" in out and Events(bot.redis).get(occ.id).place == "四干渠"
    event_file(tmp_path / "events", place="四干渠")
    code, out = cli("content", "load", str(tmp_path))
    assert code == 0 and "kept" not in out
    assert not bot.redis.hget(f"yb:{{ev:{occ.id}}}:meta", "staff")


def test_a_file_that_moves_an_event_tells_the_people_signed_up(bot, cli, tmp_path):
    event_file(tmp_path / "events")
    cli("content", "load", str(tmp_path))
    events = Events(bot.redis)
    occ = events.upcoming(time.time())[0]
    events.sign_up(occ, "o_alice")
    event_file(tmp_path / "events", start="today+3 14:00", end="today+3 16:00")
    assert cli("content", "load", str(tmp_path))[0] == 0
    assert bot.redis.zscore("yb:{u:o_alice}:signups", occ.id) == events.get(occ.id).start
    assert [p["kind"] for p in bot.outbox.pending()] == ["event_moved"]


def test_moving_an_event_back_tells_everyone_again(bot, cli):
    events = Events(bot.redis)
    occ = make_event(events)
    events.sign_up(occ, "o_alice")
    first = clock.local(occ.start).strftime("%Y-%m-%d %H:%M")
    later = clock.local(occ.start + 86400).strftime("%Y-%m-%d %H:%M")
    for to in (later, first, later):  # there, back, and there again
        assert cli("events", "move", str(occ.number), "--to", to)[0] == 0
    assert [p["kind"] for p in bot.outbox.pending()] == ["event_moved"] * 3


def test_a_reload_keeps_a_posting_staff_marked_filled(bot, cli, tmp_path):
    shutil.copytree(bot.settings.content_dir / "jobs", tmp_path / "jobs")
    cli("content", "load", str(tmp_path))
    p = Jobs(bot.redis).get("j01")
    code, out = cli("jobs", "filled", str(p.number))
    assert code == 0 and Jobs(bot.redis).get("j01").status == "filled"
    code, out = cli("content", "load", str(tmp_path))
    assert code == 0 and Jobs(bot.redis).get("j01").status == "filled" and f"posting {p.number}" in out


# 13. Bad move dates --------------------------------------------------------------------------------
@pytest.mark.parametrize("to,why", [("2020-01-01 09:00", "past"), ("2030-12-05", "time")])
def test_a_move_to_the_past_or_without_a_time_is_refused(bot, cli, to, why):
    events = Events(bot.redis)
    occ = make_event(events)
    events.sign_up(occ, "o_alice")
    code, out = cli("events", "move", str(occ.number), "--to", to)
    assert code != 0 and why in out
    assert events.get(occ.id).start == occ.start and bot.outbox.pending() == []


def test_notices_name_the_year_when_it_is_not_this_year(bot, cli):
    events = Events(bot.redis)
    occ = make_event(events)
    events.sign_up(occ, "o_alice")
    year = clock.local(time.time()).year + 1
    assert cli("events", "move", str(occ.number), "--to", f"{year}-03-05 09:00")[0] == 0
    assert f"{year}年3月5日" in bot.outbox.pending()[0]["text"]


# 14. All or nothing, every error listed ------------------------------------------------------------
def test_a_folder_with_a_bad_file_loads_nothing_and_lists_every_error(bot, cli, tmp_path):
    shutil.copytree(bot.settings.content_dir / "quizzes", tmp_path / "quizzes")
    event_file(tmp_path / "events", "bad1", capacity="lots")
    event_file(tmp_path / "events", "bad2", end="today+3 08:00")
    before = keys(bot.redis)
    code, out = cli("content", "load", str(tmp_path))
    assert code != 0 and "bad1.yaml" in out and "bad2.yaml" in out
    # nothing loaded; only the audit log says a load was tried and refused
    assert [k for k in keys(bot.redis) if k != "yb:audit"] == before and Quiz(bot.redis).sessions() == []
    tried = Audit(bot.redis).recent(1)[0]
    assert tried.action == "content.load" and "bad1.yaml" in tried.refused


def test_a_postings_sheet_with_a_bad_row_makes_no_row_live(bot, cli, tmp_path):
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "fair.csv").write_text(
        JOB_HEADER + "p1,顺达物流,货车司机,物流司机,6000,物流园,不限,不限,2,王经理 0724-1,2026-11-01,,招聘中,,\n"
        "p2,顺达物流,叉车司机,物流司机,6000,物流园,不限,不限,很多,王经理 0724-1,2026-11-01,,招聘中,,\n"
        "p3,顺达物流,装卸工,物流司机,6000,物流园,不限,不限,2,王经理 0724-1,2026-11-01,,开着,,\n",
        encoding="utf-8")
    code, out = cli("content", "load", str(tmp_path))
    assert code != 0 and "第3行" in out and "第4行" in out
    assert Jobs(bot.redis).all() == []


def test_checking_a_folder_returns_every_error_with_file_row_and_column(bot, tmp_path):
    (tmp_path / "quizzes").mkdir()
    (tmp_path / "quizzes" / "bank.csv").write_text(
        SHEET_HEADER + "w52,第52期,内容,,2026-12-07 08:00,2026-12-14 08:00,题一,单选,甲,乙,,,E,\n"
        "w52,,,,,,题二,多选,甲,乙,,,AX,\n", encoding="utf-8")
    plan = importers.check_dir(tmp_path)
    assert [(e.file, e.row, e.column) for e in plan.errors] == [("bank.csv", 2, "答案"), ("bank.csv", 3, "答案")]
    assert not plan.ok


# 15. Errors in the sheet's own words ---------------------------------------------------------------
def test_a_missing_column_is_named_as_the_sheet_names_it(bot, cli, tmp_path):
    (tmp_path / "jobs").mkdir()
    header = JOB_HEADER.replace(",联系方式", "")
    (tmp_path / "jobs" / "fair.csv").write_text(
        header + "p1,顺达物流,货车司机,物流司机,6000,物流园,不限,不限,2,2026-11-01,,招聘中,,\n", encoding="utf-8")
    (tmp_path / "quizzes").mkdir()
    (tmp_path / "quizzes" / "bank.csv").write_text(
        SHEET_HEADER.replace(",答案", "") + "w52,第52期,内容,,2026-12-07 08:00,2026-12-14 08:00,题一,单选,甲,乙,,,\n",
        encoding="utf-8")
    code, out = cli("content", "load", str(tmp_path))
    assert code != 0 and "「联系方式」" in out and "「答案」" in out
    assert "'contact'" not in out and "None" not in out


# 17. Pushes that do nothing say why ----------------------------------------------------------------
def test_a_reminder_run_in_quiet_hours_says_so(bot, cli, monkeypatch):
    from tests.helpers import make_session

    make_session(Quiz(bot.redis))
    monkeypatch.setenv("QUIET_HOURS", "00:00-23:59")
    code, out = cli("pushes", "run", "quiz_reminders")
    assert code == 0 and "quiet hours" in out and "{}" not in out


def test_a_digest_with_nothing_new_says_so(bot, cli):
    code, out = cli("pushes", "run", "job_digest")
    assert code == 0 and "nothing" in out and "{}" not in out


def test_staff_are_told_when_no_scheduler_will_send_the_notices(bot, cli):
    events = Events(bot.redis)
    occ = make_event(events)
    events.sign_up(occ, "o_alice")
    code, out = cli("events", "cancel", str(occ.number))
    assert code == 0 and "youthbot scheduler" in out


def test_serve_says_pushes_need_the_scheduler():
    from bot.cli.service import startup_lines

    text = "\n".join(startup_lines("127.0.0.1", 8000))
    assert "youthbot scheduler" in text and "--url http://127.0.0.1:8000/wechat" in text


# 18. Demo data only in demo mode -------------------------------------------------------------------
def test_a_store_for_a_real_account_gets_no_demo_content(redis_client, settings):
    from bot.app import create_app

    real = replace(settings, wechat_appid="wx1234567890abcdef", wechat_secret="s3cret", load_demo="auto")
    create_app(real, redis_client)
    assert keys(redis_client, "yb:{u:o_demo_*") == []


def test_loading_the_shipped_folder_for_a_real_account_skips_the_demo(bot, cli, monkeypatch):
    monkeypatch.setenv("WECHAT_APPID", "wx1234567890abcdef")
    monkeypatch.setenv("LOAD_DEMO", "auto")
    code, out = cli("content", "load", str(bot.settings.content_dir))
    assert code == 0 and keys(bot.redis, "yb:{u:o_demo_*") == []
    assert all(Events(bot.redis).counts(o.id) == (0, 0) for o in Events(bot.redis).upcoming(time.time()))


@pytest.mark.slow
def test_the_demo_loads_in_demo_mode_says_so_and_demo_clear_removes_it(redis_client, settings, cli, caplog):
    from bot.app import create_app

    caplog.set_level(logging.INFO)
    app = create_app(replace(settings, load_demo="auto", wechat_appid="wx0000000000000000"), redis_client)
    assert "youthbot demo clear" in caplog.text
    bot = app.extensions["youthbot"]
    events = Events(redis_client)
    full = next(o for o in events.upcoming(time.time()) if events.counts(o.id)[1])  # full, with a waitlist
    events.sign_up(full, "o_real")
    assert keys(redis_client, "yb:{u:o_demo_*")
    code, out = cli("demo", "clear")
    assert code == 0 and keys(redis_client, "yb:{u:o_demo_*") == []
    assert not any(o.startswith("o_demo") for o in Quiz(redis_client).members())
    assert all(not o.startswith("o_demo") for s in Quiz(redis_client).sessions()
               for o, _ in Quiz(redis_client).participants(s.id))
    assert Quiz(redis_client).top_all_time() == []
    assert events.status_of(full.id, "o_real")[0] == "confirmed"  # promoted when the demo people left
    assert [p["openid"] for p in bot.outbox.pending()] == ["o_real"]


# 19. Exports people can use, and the lists staff asked for ----------------------------------------
def test_event_export_has_real_date_cells(bot, cli, tmp_path):
    from openpyxl import load_workbook

    events = Events(bot.redis)
    occ = make_event(events, starts_in=-600, hours=1)
    with_profile(bot, "o_alice")
    events.sign_up(occ, "o_alice")
    events.check_in("o_alice", events.code(occ.id), time.time())
    cli("events", "export", str(occ.number), "--out", str(tmp_path / "e.xlsx"))
    row = list(load_workbook(tmp_path / "e.xlsx").active.iter_rows(values_only=True))[1]
    assert any(isinstance(c, datetime) for c in row)
    cli("events", "export", str(occ.number), "--out", str(tmp_path / "e.csv"))
    line = (tmp_path / "e.csv").read_text(encoding="utf-8-sig").splitlines()[1]
    assert clock.local(time.time()).strftime("%Y-%m-%d") in line


def test_quiz_export_has_question_texts_judge_answers_in_words_and_date_cells(bot, cli, tmp_path):
    from openpyxl import load_workbook
    from tests.helpers import make_session

    quiz = Quiz(bot.redis)
    session = make_session(quiz)
    quiz.record_completed("o_a", session, ["B", "ABD", "T"], session.opens + 60)
    cli("quiz", "export", session.id, "--out", str(tmp_path / "q.xlsx"))
    header, row = list(load_workbook(tmp_path / "q.xlsx").active.iter_rows(values_only=True))[:2]
    assert any("团员年龄？" in str(h) for h in header) and "对" in row and "T" not in row
    assert any(isinstance(c, datetime) for c in row)


def test_employer_export_has_no_openids_and_chinese_states(bot, cli, tmp_path, wechat):
    p = Jobs(bot.redis).save(posting("a", "货车司机"))
    with_profile(bot, "o_alice")
    wechat.send(f"投递 {p.number}")
    wechat.send("跳过")
    cli("jobs", "export", str(p.number), "--out", str(tmp_path / "p.csv"))
    text = (tmp_path / "p.csv").read_text(encoding="utf-8-sig")
    assert "o_alice" not in text and "已登记" in text and "registered" not in text


def test_jobs_stats_names_the_fair_by_title(bot, cli, tmp_path):
    shutil.copytree(bot.settings.content_dir / "jobs", tmp_path / "jobs")
    cli("content", "load", str(tmp_path))
    code, out = cli("jobs", "stats")
    assert "街道服务企业用工和居民就业对接会" in out and "job-fair-winter" not in out


def test_quiz_list_events_list_past_and_jobs_list(bot, cli):
    from tests.helpers import make_session

    make_session(Quiz(bot.redis))
    events = Events(bot.redis)
    past = make_event(events, "gone", starts_in=-3 * 86400)
    Jobs(bot.redis).save(posting("a", "货车司机"))
    code, out = cli("quiz", "list")
    assert code == 0 and "s-now" in out and "第s-now期" in out
    code, out = cli("events", "list", "--past")
    assert code == 0 and past.title in out
    code, out = cli("jobs", "list")
    assert code == 0 and "货车司机" in out


def test_staff_fix_the_attendance_of_a_volunteer_who_forgot_to_check_out(bot, cli, wechat):
    events = Events(bot.redis)
    occ = make_morning_event(events, starts_in=-86400, hours=2)  # yesterday 09-11: the times typed stay in one day
    with_profile(bot, "o_alice")
    events.sign_up(occ, "o_alice")
    came = clock.local(occ.start - 60).strftime("%H:%M")
    assert cli("events", "attendance", str(occ.number), "13800138000", "--in", came, "--out", "25:00")[0] != 0
    left = clock.local(occ.end + 60).strftime("%H:%M")
    code, out = cli("events", "attendance", str(occ.number), "13800138000", "--in", came, "--out", left)
    assert code == 0 and "2.0 hours" in out and "13800138000" not in out
    assert events.attendance(occ.id)["o_alice"][2] == 120
    assert "2小时" in wechat.send("我的时长")


# 20. The scheduler's log -----------------------------------------------------------------------------
def test_the_scheduler_does_not_log_every_run_of_the_outbox(bot, redis_url, monkeypatch):
    from bot.pushes.scheduler import build_scheduler

    root, aps = logging.getLogger(), logging.getLogger("apscheduler")
    levels = root.level, aps.level
    root.setLevel(logging.INFO)  # as `youthbot scheduler` configures it
    aps.setLevel(logging.NOTSET)
    try:
        build_scheduler(redis_url)
        assert not logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.INFO)
        assert logging.getLogger("bot.pushes.scheduler").isEnabledFor(logging.INFO)
    finally:
        root.setLevel(levels[0])
        aps.setLevel(levels[1])
