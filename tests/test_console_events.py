"""The console's event pages: create, edit, capacity rises promote, cancel with notices, masked lists,
audited exports, attendance fixes, the check-in screen's QR codes and the SCAN event they lead to."""
from __future__ import annotations

import io
import time
from dataclasses import replace

import pytest
import requests
from openpyxl import load_workbook

from domain import clock
from domain.audit import Audit
from domain.events import Events, scene_for
from domain.outbox import Outbox
from domain.profiles import Profiles
from domain.staff import Staff
from tests.helpers import make_morning_event as make_event, new_event


def _local(ts: float, pattern: str) -> str:
    return clock.local(ts).strftime(pattern)


def test_an_event_created_on_the_page_is_listed_in_chat(console, wechat, redis_client):
    resp = new_event(console)
    assert resp.status_code == 302
    occ = Events(redis_client).upcoming(time.time())[0]
    assert occ.title == "白石坡养老院敬老服务" and occ.capacity == 2 and occ.minutes == 150
    assert f"【{occ.number}】白石坡养老院敬老服务" in wechat.send("志愿")


def test_a_weekly_event_makes_one_occurrence_per_chosen_day(console, redis_client):
    data = {"weekdays": ["1", "3"], "repeat_days": "14"}
    assert new_event(console, **data).status_code == 302
    occurrences = Events(redis_client).upcoming(0)
    assert 3 <= len(occurrences) <= 4 and all(clock.local(o.start).weekday() in (0, 2) for o in occurrences)


def test_bad_form_input_gets_a_clear_answer_not_a_500(console):
    for fields, said in [({"title": ""}, "请填写活动名称和地点"), ({"start": "tomorrow"}, "开始时间格式不对"),
                         ({"capacity": "many"}, "名额应为整数"), ({"capacity": "0"}, "至少为1"),
                         ({"end_time": "07:00"}, "结束时间要晚于开始时间")]:
        resp = new_event(console, **fields)
        assert resp.status_code == 400 and said in resp.get_data(as_text=True), fields


def test_raising_capacity_promotes_the_waitlist_and_tells_them(console, bot):
    events = Events(bot.redis)
    occ = make_event(events, capacity=1)
    for o in ("o_a", "o_b", "o_c"):
        events.sign_up(occ, o)
    form = {"title": occ.title, "place": occ.place, "start": _local(occ.start, "%Y-%m-%dT%H:%M"),
            "end_time": _local(occ.end, "%H:%M"), "capacity": "2",
            "signup_deadline_hours": "2", "cancel_cutoff_hours": "24"}
    resp = console.post(f"/admin/events/{occ.number}/edit", form, token_from=f"/admin/events/{occ.number}/edit",
                        follow_redirects=True)
    assert "候补的1人已转为正式报名" in resp.get_data(as_text=True)
    assert events.status_of(occ.id, "o_b") == ("confirmed", 2) and events.status_of(occ.id, "o_c")[0] == "waitlisted"
    assert [i["openid"] for i in Outbox(bot.redis).pending()] == ["o_b"]
    form["capacity"] = "1"
    lowered = console.post(f"/admin/events/{occ.number}/edit", form, token_from=f"/admin/events/{occ.number}/edit")
    assert lowered.status_code == 400 and "名额不能少于已报名的2人" in lowered.get_data(as_text=True)


def test_moving_by_a_new_start_tells_everyone_signed_up(console, bot):
    events = Events(bot.redis)
    occ = make_event(events)
    events.sign_up(occ, "o_a")
    new_start = occ.start + 86400
    form = {"title": occ.title, "place": occ.place, "start": _local(new_start, "%Y-%m-%dT%H:%M"),
            "end_time": _local(occ.end, "%H:%M"), "capacity": "30",
            "signup_deadline_hours": "2", "cancel_cutoff_hours": "24"}
    console.post(f"/admin/events/{occ.number}/edit", form, token_from=f"/admin/events/{occ.number}/edit")
    moved = events.get(occ.id)
    assert moved.start == pytest.approx(new_start, abs=60) and moved.end - moved.start == occ.end - occ.start
    assert "活动改期通知" in Outbox(bot.redis).pending()[0]["text"]


def test_cancel_tells_everyone_signed_up(console, bot):
    events = Events(bot.redis)
    occ = make_event(events)
    events.sign_up(occ, "o_a")
    html = console.post(f"/admin/events/{occ.number}/cancel", {"reason": "暴雨"}, token_from=f"/admin/events/{occ.number}",
                        follow_redirects=True).get_data(as_text=True)
    assert "将通知1位" in html and events.get(occ.id).status == "cancelled"
    assert "原因：暴雨" in Outbox(bot.redis).pending()[0]["text"]


def test_the_list_is_masked_and_the_full_export_is_audited(console, bot):
    events = Events(bot.redis)
    occ = make_event(events)
    Profiles(bot.redis).save_contact("o_a", "张小明", "13800138000")
    events.sign_up(occ, "o_a")
    html = console.page(f"/admin/events/{occ.number}")
    assert "张*明" in html and "138****8000" in html and "13800138000" not in html and "张小明" not in html
    resp = console.client.get(f"/admin/events/{occ.number}/export.xlsx")
    rows = list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert rows[1][2:4] == ("张小明", "13800138000")
    entry = Audit(bot.redis).recent(1)[0]
    assert (entry.staff, entry.action, entry.people) == ("admin1", "export", 1) and "报名名单" in entry.what


def test_attendance_is_fixed_by_hand_and_credits_hours(console, bot):
    events = Events(bot.redis)
    occ = make_event(events, starts_in=-30 * 3600, hours=2)
    events.sign_up(occ, "o_a")
    came, left = _local(occ.start, "%H:%M"), _local(occ.end, "%H:%M")
    html = console.post(f"/admin/events/{occ.number}/attendance", {"openid": "o_a", "came": came, "left": left},
                        token_from=f"/admin/events/{occ.number}", follow_redirects=True).get_data(as_text=True)
    assert "计入志愿时长2.0小时" in html
    assert events.attendance(occ.id)["o_a"][2] == 120
    bad = console.post(f"/admin/events/{occ.number}/attendance", {"openid": "o_a", "came": "25:99"},
                       token_from=f"/admin/events/{occ.number}", follow_redirects=True).get_data(as_text=True)
    assert "签到时间格式不对" in bad


def test_an_organiser_sees_only_their_own_events(console_as, bot):
    events = Events(bot.redis)
    mine, other = make_event(events, "mine"), make_event(events, "other", starts_in=4 * 86400)
    organiser = console_as("organiser")
    Staff(bot.redis).assign_event("organiser1", mine.event_id)
    listing = organiser.page("/admin/events/")
    assert "活动mine" in listing and "活动other" not in listing
    assert organiser.client.get(f"/admin/events/{other.number}").status_code == 403
    assert organiser.client.get(f"/admin/events/{other.number}/export.xlsx").status_code == 403
    assert organiser.client.get(f"/admin/events/{mine.number}/export.xlsx").status_code == 200


@pytest.fixture
def console_app(app, fake_wechat):
    """The console's WeChat client pointed at the fake API."""
    bot = app.extensions["youthbot"]
    bot.settings = replace(bot.settings, wechat_api_base_url=fake_wechat[0] + "/cgi-bin/")
    return fake_wechat


def test_the_checkin_screen_shows_wechat_qr_codes_and_a_scan_checks_in(console, console_app, bot, wechat):
    base, fake = console_app
    events = Events(bot.redis)
    occ = make_event(events, starts_in=600)
    events.sign_up(occ, "o_alice")
    html = console.page(f"/admin/events/{occ.number}/checkin")
    assert html.count("<svg") >= 2 and f"签到 {events.code(occ.id)}" in html
    scenes = {q["scene"] for q in requests.get(base + "/_fake/qrcodes").json()["qrcodes"]}
    assert scenes == {scene_for("checkin", events.code(occ.id)), scene_for("checkout", events.code(occ.id))}
    console.page(f"/admin/events/{occ.number}/checkin")  # the codes are kept, not asked for again
    assert fake.calls["qrcode_create"] == 2
    assert "签到成功" in wechat.event("SCAN", key=scene_for("checkin", events.code(occ.id)))
    assert console.client.get(f"/admin/events/{occ.number}/checkin.json").get_json()["checked_in"] == 1
    assert "已签退" in wechat.event("SCAN", key=scene_for("checkout", events.code(occ.id)))  # a stay too short for hours
    assert console.client.get(f"/admin/events/{occ.number}/checkin.json").get_json()["checked_out"] == 1


def test_a_new_follower_scanning_the_code_is_welcomed_and_checked_in(bot, wechat):
    events = Events(bot.redis)
    occ = make_event(events, starts_in=600)
    events.sign_up(occ, "o_new")
    reply = wechat.event("subscribe", openid="o_new", key="qrscene_" + scene_for("checkin", events.code(occ.id)))
    assert "签到成功" in reply and reply.index("签到成功") > 0


def test_the_checkin_screen_still_shows_the_typed_code_when_wechat_fails(console, console_app, bot):
    base, _ = console_app
    requests.post(base + "/_fake/fail", json={"errcode": 45009, "times": 5})
    occ = make_event(Events(bot.redis), starts_in=600)
    html = console.page(f"/admin/events/{occ.number}/checkin")
    assert "微信二维码暂时生成不了（45009）" in html and f"签到 {Events(bot.redis).code(occ.id)}" in html


def test_the_cli_edits_events_and_fixes_attendance_with_the_same_rules(cli, bot):
    events = Events(bot.redis)
    occ = make_event(events, capacity=1)
    for o in ("o_a", "o_b"):
        events.sign_up(occ, o)
    Profiles(bot.redis).save_contact("o_a", "张小明", "13800138000")
    code, out = cli("events", "edit", str(occ.number), "--capacity", "2")
    assert code == 0 and "1 promoted" in out and events.status_of(occ.id, "o_b")[0] == "confirmed"
    code, out = cli("events", "edit", str(occ.number), "--capacity", "1")
    assert code == 1 and "名额不能少于已报名的2人" in out
    past = make_event(events, "past", starts_in=-30 * 3600)
    events.sign_up(past, "o_a")
    code, out = cli("events", "attendance", str(past.number), "13800138000", "--in", "09:00", "--out", "11:00")
    assert code == 0 and "2.0 hours" in out
    code, out = cli("events", "past")
    assert "活动past" in out
