"""The outcome form on an event's page: organisers record what their activity achieved, through the same
domain call as `youthbot events outcome`, errors in Chinese beside the field; the report counts it."""
from __future__ import annotations

import re
import time

from domain import clock
from domain.events import Events
from domain.outcomes import Outcomes
from domain.staff import Staff
from tests.helpers import make_morning_event as make_event

FORM = {"served": "46", "walk_ins": "2", "acts": "", "services": "义诊、义剪", "partners": "白石坡社区养老院",
        "note": "志愿者们为老人送上水果和零食，打扫房间、陪老人聊天。",
        "item_name": ["书包", "图书", "书包", ""], "item_count": ["30", "500", "20", ""]}


def past_event(redis, eid="elder", days_ago=1, **extra):
    return make_event(Events(redis), eid, starts_in=-days_ago * 86400, category="敬老", **extra)


def record(console, number, **changes):
    path = f"/admin/events/{number}/outcome"
    return console.post(path, {**FORM, **changes}, token_from=path)


def field_error(html: str, field: str) -> str:
    """The error shown right after the field's input (or, for items, at the top of their fieldset)."""
    if field == "items":
        m = re.search(r'<legend>.*?</legend>\s*<span class="field-error" role="alert">([^<]+)</span>', html, re.S)
    else:
        m = re.search(rf'name="{field}"[^>]*>(?:[^<]*</textarea>)?<span class="field-error" role="alert">([^<]+)</span>',
                      html)
    return m.group(1) if m else ""


def test_an_organiser_records_the_outcome_of_their_event_and_the_report_counts_it(console_as, redis_client):
    occ = past_event(redis_client)
    organiser = console_as("organiser")
    Staff(redis_client).assign_event("organiser1", occ.event_id)
    page = organiser.page(f"/admin/events/{occ.number}")
    assert "登记活动成效" in page and f"/admin/events/{occ.number}/outcome" in page
    resp = record(organiser, occ.number)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/admin/events/{occ.number}#outcome")
    o = Outcomes(redis_client).get(occ.id)
    assert (o.served, o.walk_ins, o.acts) == (46, 2, 0)
    assert o.items == {"书包": 50, "图书": 500}  # the same name adds up, as the CLI's --item does
    assert o.services == ["义诊", "义剪"] and o.partners == ["白石坡社区养老院"] and o.recorded_by == "organiser1"
    page = organiser.page(f"/admin/events/{occ.number}")
    assert "服务46人次" in page and "书包50、图书500" in page and "修改活动成效" in page
    assert "已登记" in organiser.page("/admin/events/")  # the past events list says which are recorded
    # the form opens again with what was recorded, and saving again replaces it
    form = organiser.page(f"/admin/events/{occ.number}/outcome")
    assert 'value="46"' in form and 'value="书包"' in form and 'value="50"' in form and "再次保存会替换" in form
    assert record(organiser, occ.number, served="50", item_name=["书包"], item_count=["50"]).status_code == 302
    again = Outcomes(redis_client).get(occ.id)
    assert again.served == 50 and again.items == {"书包": 50} and again.recorded_at == o.recorded_at

    # the report: the activity is held (an outcome, even with no check-in), its people served counted
    admin = console_as("admin")
    day = f"{clock.local(occ.start):%Y-%m-%d}"
    report = admin.page(f"/admin/report/?from={day}&to={day}")
    assert "服务老人50人次" in report and "送上书包50个" in report and "志愿者们为老人送上水果和零食" in report
    assert re.search(r"<td>服务群众</td><td class=\"num\">50</td>", report)


def test_the_cli_and_the_form_record_the_same_outcome(console, cli, redis_client):
    occ = past_event(redis_client)
    code, out = cli("events", "outcome", str(occ.number), "--served", "12", "--item", "书包=5", "--service", "义诊",
                    "--by", "王芳")
    assert code == 0, out
    form = console.page(f"/admin/events/{occ.number}/outcome")
    assert 'value="12"' in form and 'value="书包"' in form and 'value="义诊"' in form and "王芳" in form
    assert record(console, occ.number, item_name=["书包"], item_count=["5"]).status_code == 302
    assert Outcomes(redis_client).get(occ.id).recorded_by == "admin1"


def test_wrong_values_are_named_beside_their_field_in_chinese_and_nothing_is_kept(console, redis_client):
    occ = past_event(redis_client)
    cases = [({"served": "-3"}, "served", "应在0到100000之间"),
             ({"served": "很多"}, "served", "应为整数"),
             ({"walk_ins": "20000"}, "walk_ins", "应在0到10000之间"),
             ({"acts": "1.5"}, "acts", "应为整数"),
             ({"item_name": ["书包", "图书"], "item_count": ["50", "五百"]}, "items", "第2行“图书”的数量应为正整数"),
             ({"item_name": ["书包", ""], "item_count": ["50", "3"]}, "items", "第2行没有填写名称"),
             ({"item_name": ["书包"], "item_count": ["0"]}, "items", "数量应为正整数"),
             ({"note": "好" * 1001}, "note", "最多1000字，现在1001字"),
             ({"services": "、".join(f"项目{i}" for i in range(31))}, "services", "最多30项"),
             ({"partners": "某" * 41}, "partners", "太长")]
    for changes, field, words in cases:
        resp = record(console, occ.number, **changes)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 400, changes
        assert words in field_error(html, field), (changes, field_error(html, field))
        assert Outcomes(redis_client).get(occ.id) is None
    # what was typed stays in the form, the wrong item row marked
    html = record(console, occ.number, item_name=["书包", "图书"], item_count=["50", "五百"]).get_data(as_text=True)
    assert 'value="五百"' in html and 'class="row item bad"' in html and 'value="义诊、义剪"' in html


def test_an_event_not_started_or_cancelled_takes_no_outcome(console, redis_client):
    upcoming = make_event(Events(redis_client), "later", starts_in=2 * 86400)
    html = console.page(f"/admin/events/{upcoming.number}")
    assert "登记活动成效" not in html
    resp = record(console, upcoming.number)
    assert resp.status_code == 400 and "活动还没有开始" in resp.get_data(as_text=True)
    done = past_event(redis_client, "cancelled")
    Events(redis_client).set_status(done, "cancelled")
    resp = record(console, done.number)
    assert resp.status_code == 400 and "活动已取消" in resp.get_data(as_text=True)
    assert Outcomes(redis_client).get(upcoming.id) is None and Outcomes(redis_client).get(done.id) is None


def test_organisers_record_only_their_own_events_and_the_jobs_role_none(console_as, redis_client):
    mine, theirs = past_event(redis_client, "mine"), past_event(redis_client, "theirs", days_ago=2)
    organiser = console_as("organiser")
    Staff(redis_client).assign_event("organiser1", mine.event_id)
    assert organiser.client.get(f"/admin/events/{theirs.number}/outcome").status_code == 403
    assert record(organiser, theirs.number).status_code == 403
    jobs = console_as("jobs")
    assert jobs.client.get(f"/admin/events/{mine.number}/outcome").status_code == 403
    assert Outcomes(redis_client).get(theirs.id) is None
    assert record(organiser, mine.number).status_code == 302


def test_a_past_event_with_no_check_in_and_no_outcome_links_to_its_form_from_the_report(console, redis_client):
    occ = past_event(redis_client)
    day = f"{clock.local(occ.start):%Y-%m-%d}"
    html = console.page(f"/admin/report/?from={day}&to={day}")
    assert "未计入报告" in html and f"/admin/events/{occ.number}/outcome" in html
    assert time.time() > occ.start


def test_an_event_created_on_the_page_carries_its_kind_for_the_report(console, redis_client):
    from tests.helpers import new_event

    assert new_event(console, category="护河").status_code == 302
    occ = Events(redis_client).upcoming(time.time())[0]
    assert occ.category == "护河"
    assert 'list="kinds"' in console.page("/admin/events/new") and "<option value=\"四点半课堂\">" in \
        console.page("/admin/events/new")
