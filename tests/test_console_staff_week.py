"""What a new staff member hit in a week of real use (issue 21, items 18-19), through the console and the CLI."""
from __future__ import annotations

import io
import re
import time

from openpyxl import load_workbook

from domain import clock
from domain.events import Events
from domain.followers import Followers
from domain.profiles import Profiles
from domain.quiz import Quiz
from domain.staff import Staff
from tests.test_console_events import make_event


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
    from tests.test_console_quizzes import GOOD, bank, upload

    assert upload(console, bank([GOOD])).status_code == 200
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
    from bot import importers as content

    content.load_dir(bot, bot.settings.content_dir, demo=True)
    quiz = Quiz(bot.redis)
    s = quiz.last_closed(clock.now()) or quiz.open_session(clock.now())
    page = console.page(f"/admin/quizzes/{s.id}")
    openid = re.search(r'/admin/people/(o_demo_[^"]+)"', page)[1]
    name = Profiles(bot.redis).get(openid).name
    found = console.page(f"/admin/people/?q={name}")
    assert f"/admin/people/{openid}" in found
