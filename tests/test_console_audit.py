"""The audit log of every staff action (issue 22 #8): who, when, from where, what changed, done or refused;
searched by account, action, date and words; downloaded as XLSX (itself audited, formula-safe); trimmed by
the scheduler after AUDIT_KEEP_DAYS; commands run on the server recorded under 命令行."""
from __future__ import annotations

import io
import re
import time
from dataclasses import replace

from openpyxl import load_workbook

from bot.pushes import tasks
from bot.admin.access import SELF_AUDITED, STAFF_ACTIONS
from domain import clock
from domain.audit import ACTIONS, CLI, Audit
from domain.events import Events
from domain.staff import Staff
from tests.helpers import Console
from tests.helpers import make_morning_event as make_event, new_event


def entries(redis, **filters):
    return Audit(redis).search(**filters, count=1000).entries


def newest(redis, action=None):
    found = entries(redis, action=action or "")
    assert found, f"no entry for {action}"
    return found[0]


def test_every_console_form_writes_a_named_entry(app):
    posts = {r.endpoint for r in app.url_map.iter_rules() if r.rule.startswith("/admin") and "POST" in r.methods}
    assert posts - SELF_AUDITED == set(STAFF_ACTIONS)
    assert all(action in ACTIONS for action in STAFF_ACTIONS.values())


def test_logins_good_and_bad_and_logouts_are_recorded_with_the_address(app, redis_client):
    from tests.helpers import staff_account

    staff_account(redis_client, "admin1", "admin")
    c = Console(app.test_client())
    assert c.login("admin1", "wrong-password").status_code == 401
    assert c.login("admin1").status_code == 302
    assert c.post("/admin/logout").status_code == 302
    logout, ok, bad = entries(redis_client)[:3]
    assert (bad.action, bad.staff, bad.refused) == ("login_failed", "admin1", "账号或密码不对")
    assert (ok.action, ok.refused, ok.address) == ("login", "", "127.0.0.1")
    assert (logout.action, logout.staff) == ("logout", "admin1")


def test_account_changes_say_who_did_what_to_whom_and_the_role_before_and_after(console, redis_client):
    console.post("/admin/staff/", {"name": "helper2", "role": "organiser"})
    console.post("/admin/staff/helper2/role", {"role": "jobs"})
    console.post("/admin/staff/helper2/reset")
    console.post("/admin/staff/helper2/delete")
    deleted, reset, role, created = entries(redis_client)[:4]
    assert (created.action, created.staff, created.what, created.changes) == (
        "staff.create", "admin1", "账号 helper2", {"角色": ["", "活动组织者"]})
    assert role.action == "staff.role" and role.changes == {"角色": ["活动组织者", "就业联络员"]}
    assert role.changes_text == "角色：活动组织者 → 就业联络员"
    assert reset.action == "staff.reset" and "helper2" in reset.what
    assert deleted.action == "staff.delete" and deleted.changes == {"角色": ["就业联络员", ""]}
    assert all(e.refused == "" and e.address == "127.0.0.1" for e in (created, role, reset, deleted))


def test_a_refused_action_is_recorded_with_the_reason_the_page_gave(console, redis_client):
    console.post("/admin/staff/admin1/delete")  # one's own account: refused
    e = newest(redis_client)
    assert (e.action, e.refused) == ("staff.delete", "不能删除自己的账号。")
    assert Staff(redis_client).get("admin1") is not None


def test_another_roles_attempt_is_recorded_as_refused(console_as, redis_client):
    organiser = console_as("organiser")
    assert organiser.post("/admin/staff/", {"name": "sneaky", "role": "admin"}).status_code == 403
    e = newest(redis_client, "staff.create")
    assert (e.staff, e.refused) == ("organiser1", "无权操作") and Staff(redis_client).get("sneaky") is None


def test_an_event_edit_records_each_changed_field_before_and_after(console_as, redis_client):
    organiser = console_as("organiser")
    assert new_event(organiser, place="白石坡社区养老院").status_code == 302
    occ = Events(redis_client).upcoming(time.time())[0]
    created = newest(redis_client, "event.create")
    assert created.staff == "organiser1" and created.changes["地点"] == ["", "白石坡社区养老院"]
    form = organiser.client.get(f"/admin/events/{occ.number}/edit")
    assert form.status_code == 200
    data = {"title": occ.title, "place": "石门社区活动室", "description": occ.description, "capacity": "5",
            "start": clock.local(occ.start).strftime("%Y-%m-%dT%H:%M"),
            "end_time": clock.local(occ.end).strftime("%H:%M"), "signup_deadline_hours": "2",
            "cancel_cutoff_hours": "24"}
    assert organiser.post(f"/admin/events/{occ.number}/edit", data).status_code == 302
    e = newest(redis_client, "event.edit")
    assert e.changes == {"地点": ["白石坡社区养老院", "石门社区活动室"], "名额": ["2", "5"]}
    assert f"活动 {occ.number}" in e.what and e.refused == ""

    bad = {**data, "capacity": "很多"}
    assert organiser.post(f"/admin/events/{occ.number}/edit", bad).status_code == 400
    assert newest(redis_client, "event.edit").refused == "名额：应为整数，现在是“很多”"  # the form's own words


def test_a_cancellation_records_the_reason_and_a_second_one_is_refused(console, redis_client):
    occ = make_event(Events(redis_client))
    console.post(f"/admin/events/{occ.number}/cancel", {"reason": "暴雨预警"})
    console.post(f"/admin/events/{occ.number}/cancel", {"reason": "再取消一次"})
    again, first = entries(redis_client, action="event.cancel")[:2]
    assert first.changes == {"状态": ["", "已取消"], "原因": ["", "暴雨预警"]} and first.refused == ""
    assert "通知0人" in first.what
    assert again.refused == "这场活动已经取消了。"


def test_branch_names_before_and_after_and_a_sheet_with_errors_saved_nothing(console, redis_client):
    console.post("/admin/branches/", {"name": "第一支部"})
    bid = newest(redis_client, "branch.add").what.split()[-1]
    console.post(f"/admin/branches/{bid}/rename", {"name": "机关第一支部"})
    assert newest(redis_client, "branch.rename").changes == {"名称": ["第一支部", "机关第一支部"]}
    bad = io.BytesIO("编号,名称\n,\n".encode())
    resp = console.post("/admin/branches/upload", {"sheet": (bad, "支部.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 400
    e = newest(redis_client, "branch.upload")
    assert "支部.csv" in e.what and "处问题，没有保存：" in e.refused


def test_a_broadcast_preview_leaves_no_entry_and_the_send_does(console, bot, fake_wechat):
    bot.settings = replace(bot.settings, wechat_api_base_url=fake_wechat[0] + "/cgi-bin/")
    form = {"segment": "all", "text": "本周六河道清理，欢迎报名。"}
    preview = console.post("/admin/pushes/broadcast", form)
    assert preview.status_code == 200
    assert entries(bot.redis, action="push.broadcast") == []
    once = re.search(r'name="once" value="([^"]+)"', preview.get_data(as_text=True)).group(1)
    assert console.post("/admin/pushes/broadcast", {**form, "confirm": "1", "once": once}).status_code == 302
    e = newest(bot.redis, "push.broadcast")
    assert "本周六河道清理" in e.what and "群发编号" in e.what


# -- searching and downloading -------------------------------------------------------------------
def _seed(redis, now):
    """Entries on three days by two accounts (explicit stream ids: the past, as the log would hold it)."""
    days = [now - 3 * 86400, now - 86400, now]
    for i, at in enumerate(days):
        for who in ("admin1", "org1"):
            redis.xadd("yb:audit", {"staff": who, "action": "event.cancel" if i % 2 else "staff.role",
                                    "what": f"第{i}天 {who} 的操作", "people": 0, "address": "10.0.0.9"},
                       id=f"{int(at * 1000)}-{1 if who == 'admin1' else 2}")
    return days


def test_the_log_is_searched_by_account_action_day_and_words(console, redis_client):
    redis_client.delete("yb:audit")
    now = time.time()
    days = _seed(redis_client, now)
    html = console.page("/admin/staff/audit?who=org1")
    assert "第2天 org1" in html and "第0天 org1" in html and "admin1 的操作" not in html
    html = console.page("/admin/staff/audit?action=event.cancel")
    assert "第1天" in html and "第0天" not in html and "第2天 admin1" not in html
    day = clock.local(days[1]).strftime("%Y-%m-%d")
    html = console.page(f"/admin/staff/audit?since={day}&until={day}")
    assert "第1天 admin1" in html and "第1天 org1" in html and "第0天" not in html and "第2天" not in html.split(
        "audit-entries")[1]
    assert "第0天 admin1" in console.page("/admin/staff/audit?q=第0天+ADMIN1")
    resp = console.client.get("/admin/staff/audit?since=昨天")
    assert resp.status_code == 400 and "开始日期格式不对" in resp.get_data(as_text=True)
    resp = console.client.get(f"/admin/staff/audit?since={day}&until=2000-01-01")
    assert resp.status_code == 400 and "开始日期不能晚于结束日期" in resp.get_data(as_text=True)


def test_search_pages_go_back_in_time_without_repeats(redis_client):
    log = Audit(redis_client)
    ids = [log.record("admin1", "staff.role" if i % 3 else "logout", f"第{i}条") for i in range(30)]
    seen, before = [], None
    while True:
        found = log.search(action="staff.role", count=7, before=before)
        seen += [e.what for e in found.entries]
        if not found.older:
            break
        before = found.older
    assert seen == [f"第{i}条" for i in reversed(range(30)) if i % 3]
    limited = log.search(action="logout", count=100, scan_limit=12)  # stops reading after 12 entries
    assert [e.what for e in limited.entries] == ["第27条", "第24条", "第21条", "第18条"]
    assert limited.older == ids[-12] and limited.scanned_to is not None
    rest = log.search(action="logout", count=100, before=limited.older)
    assert [e.what for e in rest.entries] == [f"第{i}条" for i in (15, 12, 9, 6, 3, 0)] and rest.older is None


def test_the_download_is_the_search_as_xlsx_formula_safe_and_itself_audited(console, app, redis_client):
    Console(app.test_client()).login("=HYPERLINK(\"http://x\")", "wrong-password")
    console.post("/admin/staff/", {"name": "helper2", "role": "organiser"})
    resp = console.client.get("/admin/staff/audit.xlsx?action=login_failed")
    assert resp.status_code == 200
    rows = list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("时间", "账号", "操作") and len(rows) == 2
    assert rows[1][1] == "'=HYPERLINK(\"http://x\")" and rows[1][2] == "登录失败" and rows[1][7].startswith("未完成")
    e = newest(redis_client, "export")
    assert e.what == "审计日志 1条（操作login_failed）" and e.staff == "admin1"
    assert console.client.get("/admin/staff/audit.xlsx?since=x").status_code == 400


def test_long_and_hostile_text_is_cut_and_shown_as_text(console, redis_client):
    Audit(redis_client).record("admin1", "branch.rename", "<script>alert(1)</script>" + "长" * 2000,
                               changes={"名称": ("<b>旧</b>", "新")})
    e = newest(redis_client)
    assert len(e.what) == 500
    html = console.page("/admin/staff/audit")
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html and "&lt;b&gt;旧&lt;/b&gt;" in html


# -- kept for AUDIT_KEEP_DAYS, trimmed every night --------------------------------------------------
def test_entries_older_than_the_setting_are_trimmed_by_the_nightly_task(bot):
    now = time.time()
    for days_ago in (400, 366, 364, 1):
        bot.redis.xadd("yb:audit", {"staff": "admin1", "action": "logout", "what": f"{days_ago}天前"},
                       id=f"{int((now - days_ago * 86400) * 1000)}-0")
    assert bot.settings.audit_keep_days == 365
    assert tasks.audit_retention(bot, None, now) == {"audit_trimmed": 2}
    assert [e.what for e in Audit(bot.redis).recent()] == ["1天前", "364天前"]
    assert tasks.audit_retention(bot, None, now) == {"audit_trimmed": 0}
    bot.settings = replace(bot.settings, audit_keep_days=5000)  # never past the privacy notice's two years
    assert tasks.audit_retention(bot, None, now + 600 * 86400) == {"audit_trimmed": 1}
    assert [e.what for e in Audit(bot.redis).recent()] == ["1天前"]


def test_the_trim_is_in_the_timetable_and_the_setting_comes_from_the_environment(monkeypatch):
    from bot.config import Settings
    from bot.pushes.scheduler import TIMETABLE

    assert "audit_retention" in [e.job for e in TIMETABLE]
    monkeypatch.setenv("AUDIT_KEEP_DAYS", "90")
    assert Settings.from_env().audit_keep_days == 90


def test_the_page_says_how_long_entries_are_kept(console):
    assert "保留 365 天" in console.page("/admin/staff/audit")


# -- commands on the server ------------------------------------------------------------------------
def test_commands_that_change_things_are_recorded_under_the_command_line(cli, redis_client):
    code, out = cli("staff", "add", "clerk1", "--role", "jobs")
    assert code == 0
    e = newest(redis_client)
    assert (e.staff, e.action, e.refused) == (CLI, "staff.create", "")
    assert e.what == "youthbot staff add --name=clerk1 --role=jobs" and "@" in e.address
    code, _ = cli("staff", "add", "clerk1", "--role", "jobs")  # exists: refused
    assert code != 0 and newest(redis_client).refused == "账号 clerk1 已存在"
    cli("staff", "list")  # shows nothing personal: no entry
    assert newest(redis_client).action == "staff.create"


def test_a_residents_name_given_to_a_command_is_not_written_to_the_log(cli, redis_client):
    occ = make_event(Events(redis_client), starts_in=-3 * 3600)
    cli("events", "attendance", str(occ.number), "张小明", "--in", "09:00")
    e = newest(redis_client, "event.attendance")
    assert "张小明" not in e.what and "--who=（已填）" in e.what and e.refused
