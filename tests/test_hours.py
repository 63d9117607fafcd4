"""The hours ledger (issue 22 #5): every volunteer's activities in a period with the hours credited and the reason
when none were (未到, 未签退, 停留不足), on the 志愿时长 page (masked), as XLSX from the console and the CLI (both
audited); and each past event's no-shows."""
from __future__ import annotations

import io
import time
from datetime import date

from openpyxl import load_workbook

from domain import clock
from domain.audit import Audit
from tests.helpers import volunteer_season


def _period():
    today = clock.local(time.time()).date()
    return f"{date.fromordinal(today.toordinal() - 10)}", f"{today}"


def test_the_page_lists_each_volunteer_masked_with_hours_and_what_was_not_credited(console, redis_client):
    volunteer_season(redis_client)
    first, last = _period()
    html = console.page(f"/admin/hours/?from={first}&to={last}")
    assert "张*明" in html and "13800138000" not in html and "钱*伟" not in html
    people = html.split('id="hours-people"')[1]
    assert people.index("张*明") < people.index("李*红")  # most hours first
    assert "3.5" in people  # 2 h at the river + 1.5 h at the elder home
    for label in ("未到", "未签退", "停留不足活动时长60%"):
        assert label in html
    assert not any(e.action == "export" for e in Audit(redis_client).recent(5))  # masked: nothing to audit


def test_the_ledger_download_has_names_phones_every_activity_and_why_and_is_audited(console, redis_client):
    river, elder, _ = volunteer_season(redis_client)
    first, last = _period()
    resp = console.client.get(f"/admin/hours/ledger.xlsx?from={first}&to={last}")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.data))
    summary = list(wb["汇总"].iter_rows(values_only=True))
    assert summary[1] == ("姓名", "手机号", "活动次数", "计入时长（小时）", "未计入次数")
    assert summary[2] == ("张小明", "13800138000", 2, 3.5, 0)
    detail = {(r[0], r[3]): r for r in list(wb["明细"].iter_rows(values_only=True))[1:]}
    assert detail[("张小明", river.title)][8] == 2 and detail[("张小明", river.title)][4] == "护河"
    assert detail[("李小红", river.title)][8:] == (0, "停留不足活动时长60%")
    assert detail[("王小刚", river.title)][8:] == (0, "未签退")
    assert detail[("赵小芳", river.title)][6:] == (None, None, 0, "未到")  # no times: empty cells
    assert len(detail) == 5 and not any(name == "钱小伟" for name, _ in detail)  # the waitlisted, the one ahead: not in it
    e = Audit(redis_client).recent(1)[0]
    assert (e.action, e.staff, e.people) == ("export", "admin1", 4) and f"{first} 至 {last}" in e.what


def test_a_deleted_person_keeps_their_hours_in_the_ledger_without_a_name(console, redis_client):
    from domain.privacy import forget_person

    volunteer_season(redis_client)
    forget_person(redis_client, "o_a", time.time())
    first, last = _period()
    wb = load_workbook(io.BytesIO(console.client.get(f"/admin/hours/ledger.xlsx?from={first}&to={last}").data))
    assert list(wb["汇总"].iter_rows(values_only=True))[2][:4] == ("（已删除个人信息）", None, 2, 3.5)


def test_a_bad_or_too_long_period_is_refused_with_the_reason(console, redis_client):
    for query, why in (("from=昨天&to=2026-01-01", "日期格式不对"), ("from=2026-06-30&to=2026-01-01", "开始日期不能晚于结束日期"),
                       ("from=2020-01-01&to=2026-01-01", "一次最多查400天")):
        resp = console.client.get(f"/admin/hours/?{query}")
        assert resp.status_code == 400 and why in resp.get_data(as_text=True), query
        assert console.client.get(f"/admin/hours/ledger.xlsx?{query}").status_code == 400


def test_the_command_line_writes_the_same_ledger_and_is_audited(cli, redis_client, tmp_path):
    volunteer_season(redis_client)
    first, last = _period()
    code, out = cli("hours", "--from", first, "--to", last, "--out", str(tmp_path / "h.xlsx"))
    assert code == 0 and "4 volunteers, 3.5 hours credited" in out and "未到 1" in out
    summary = list(load_workbook(tmp_path / "h.xlsx")["汇总"].iter_rows(values_only=True))
    assert summary[2][:2] == ("张小明", "13800138000")
    e = Audit(redis_client).recent(1)[0]
    assert (e.staff, e.action) == ("命令行", "export") and e.what.startswith("youthbot hours")


def test_an_event_page_shows_its_no_shows(console, redis_client):
    river, _, ahead = volunteer_season(redis_client)
    html = console.page(f"/admin/events/{river.number}")
    assert "已报名但未签到（未到）：1人" in html and html.count(">未到</span>") == 1
    only = console.page(f"/admin/events/{river.number}?show=absent")
    table = only.split('id="signups"')[1]
    assert "赵*芳" in table and "张*明" not in table and "只显示未到的1人" in only
    assert "未到" not in console.page(f"/admin/events/{ahead.number}").split('id="signups"')[1].split("</table>")[0]
