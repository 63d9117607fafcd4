"""What a new staff member hit in a week of real use (issue 21, items 18-19), through the console and the CLI."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time

import pytest
from openpyxl import load_workbook

from domain import clock
from domain.events import Events
from domain.followers import Followers
from domain.profiles import Profiles
from domain.quiz import Quiz
from domain.staff import Staff
from tests.helpers import make_morning_event as make_event
from tests.helpers import demo_loaded


def test_an_event_under_way_is_listed_as_in_progress_not_ended(console, bot):
    events = Events(bot.redis)
    running = make_event(events, "running", starts_in=-1800, hours=2)
    done = make_event(events, "done", starts_in=-5 * 3600, hours=2)
    page = console.page("/admin/events/")
    row_of = {o.id: page[page.index(f">{o.title}</a>"):].split("</tr>")[0] for o in (running, done)}
    assert "进行中" in row_of[running.id] and "已结束" not in row_of[running.id]
    assert "已结束" in row_of[done.id] and f"/admin/events/{running.number}/checkin" in row_of[running.id]


def test_the_accounts_page_names_the_events_an_organiser_runs(console, console_as, bot):
    occ = make_event(Events(bot.redis), "web-202612050900-1b5d", title="白石坡敬老服务")
    console_as("organiser", "liwei")
    Staff(bot.redis).assign_event("liwei", occ.event_id)
    page = console.page("/admin/staff/")
    assert "白石坡敬老服务" in page and "web-202612050900-1b5d" not in page


def test_the_push_page_totals_agree_with_its_days_after_a_history_import(console, bot):
    """The demo's history filled the days (172 a day) while 成功（累计） said 0."""
    from domain.push_log import record_history

    today = clock.local(time.time()).strftime("%Y%m%d")
    record_history(bot.redis, today, "quiz_open", "sent", 172)
    page = console.page("/admin/pushes/")
    total = int(re.search(r'<span class="n">(\d+)</span><span class="l">成功（累计）', page)[1])
    assert total == 172 and "172/0/0" in page


def test_the_event_list_download_has_no_openid_a_named_sheet_and_says_which_event(console, bot):
    events = Events(bot.redis)
    occ = make_event(events)
    Profiles(bot.redis).save_contact("o_zhang", "=HYPERLINK(\"http://x\")", "13800138000")
    events.sign_up(occ, "o_zhang")
    resp = console.client.get(f"/admin/events/{occ.number}/export.xlsx")
    book = load_workbook(io.BytesIO(resp.data))
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    assert sheet.title == "报名名单"
    assert "openid" not in rows[0] and not any("o_zhang" in str(c) for r in rows for c in r)
    assert rows[0][-3:] == ("活动", "活动时间", "地点")
    assert rows[1][-3] == occ.title and rows[1][-2] == clock.to_naive(occ.start) and rows[1][-1] == occ.place
    assert rows[1][2] == "=HYPERLINK(\"http://x\")" and sheet.cell(2, 3).data_type == "s"  # a name, never a formula


def test_the_not_done_list_masks_names_and_gives_something_to_chase_by(console, bot, redis_client):
    """README: names and phone numbers are masked on screen; a member who never gave a name shows their masked
    phone or the day they followed, and a link to them on 人员."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["期号", "标题", "学习内容", "开始", "截止", "题目", "题型", "A", "B", "答案"])
    wb.active.append(["w20", "第20期", "学习内容", "today-1 08:00", "today+6 08:00", "五四青年节是哪一天？", "单选",
                      "5月4日", "6月1日", "A"])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    assert console.post("/admin/quizzes/upload", {"bank": (buf, "题库.xlsx")}, token_from="/admin/quizzes/",
                        content_type="multipart/form-data").status_code == 200
    profiles = Profiles(redis_client)
    redis_client.hset("yb:{quiz}:branches", "b1", "机关团支部")
    for o in ("o_named", "o_nameless"):
        profiles.set_branch(o, "b1")
    profiles.save_contact("o_named", "欧阳小明", "13800138123")
    Followers(redis_client).subscribe("o_nameless", now=clock.parse_when("2026-03-05 10:00"))
    page = console.page("/admin/quizzes/w20")
    assert "欧阳小明" not in page and "欧**明" in page and "138****8123" in page
    nameless = page[page.index("（未登记姓名）"):].split("</tr>")[0]
    assert "2026年3月5日" in nameless and "/admin/people/o_nameless" in nameless
    assert console.client.get("/admin/people/o_nameless").status_code == 200


def test_demo_members_on_the_not_done_list_are_found_on_people(console, bot):

    demo_loaded(bot)
    quiz = Quiz(bot.redis)
    s = quiz.last_closed(clock.now()) or quiz.open_session(clock.now())
    page = console.page(f"/admin/quizzes/{s.id}")
    openid = re.search(r'/admin/people/(o_demo_[^"]+)"', page)[1]
    name = Profiles(bot.redis).get(openid).name
    found = console.page(f"/admin/people/?q={name}")
    assert f"/admin/people/{openid}" in found


# -- item 19: the first start ----------------------------------------------------------------------
def _youthbot(data_dir, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PROMETHEUS_MULTIPROC_DIR")}
    env.update(DATA_DIR=str(data_dir), LOAD_DEMO="0")
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.slow  # starts gunicorn
def test_serve_says_where_the_console_is_and_commands_say_which_store_they_reach(tmp_path):
    """`serve` names the console, how to add the first account and its store; a command run with another
    DATA_DIR than the running service's says so instead of silently working on an empty store."""
    from tests.helpers import free_port, start_serve, stop

    served, other, log = tmp_path / "served", tmp_path / "other", tmp_path / "serve.log"
    port = free_port()
    proc = start_serve(served, port, workers=1, log_path=log)
    try:
        said = log.read_text(errors="replace")
        assert f"http://127.0.0.1:{port}/admin/" in said and "youthbot staff add NAME --role admin" in said
        assert f"store: {served.resolve()}" in said and "the same DATA_DIR" in said
        assert "youthbot fake-wechat" in said  # a demo: the check-in screen's QR codes need the fake API
        same = _youthbot(served, "staff", "add", "wangfang", "--role", "admin")
        assert same.returncode == 0 and "One-time password" in same.stdout and "note:" not in same.stderr
        elsewhere = _youthbot(other, "staff", "list")
        assert f"no `youthbot serve` is running with DATA_DIR={other.resolve()}" in elsewhere.stderr
        assert "wangfang" not in elsewhere.stdout
    finally:
        stop(proc)


def test_the_login_page_sends_staff_to_an_admin_not_to_a_terminal(client):
    page = client.get("/admin/login").get_data(as_text=True)
    assert "请找团委的管理员开通或重置" in page and "youthbot" not in page.split("<main>")[1]


def test_demo_quiz_history_keeps_anniversaries_on_their_dates(console, bot):
    """五四 landed on 7月28日: the demo's past sessions are relative to the day it is loaded; the ones about a day
    of the year keep that day (the latest one whose week is over), whenever the demo is loaded."""

    demo_loaded(bot)
    quiz = Quiz(bot.redis)
    for sid, (month, day) in {"h08": (5, 4), "h01": (3, 5), "h17": (8, 1)}.items():
        s = quiz.session(sid)
        opens = clock.local(s.opens)
        assert (opens.month, opens.day) == (month, day) and s.closes - s.opens == 7 * 86400
        assert s.closes <= clock.now() and clock.now() - s.opens < 366 * 86400 + 7 * 86400
    assert "五四" in console.page("/admin/quizzes/")


def test_last_anniversary_dates_are_the_latest_whose_week_is_over():
    for today, expected in (("2026-12-03 10:00", "2026-05-04"), ("2027-05-08 10:00", "2026-05-04"),
                            ("2027-05-20 10:00", "2027-05-04")):
        when = clock.parse_when("last 05-04 08:00", base=clock.parse_when(today))
        assert f"{clock.local(when):%Y-%m-%d %H:%M}" == f"{expected} 08:00"
