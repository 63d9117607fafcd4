"""The console's job pages: sheet uploads all or nothing, interest lists masked, outcomes, filled, audited export."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from domain.audit import Audit
from domain.jobs import Jobs
from domain.profiles import Profiles
from tests.helpers import POSTING_HEADERS, demo_loaded, posting, posting_row, workbook

HEAD = POSTING_HEADERS


def sheet(rows) -> io.BytesIO:
    return workbook(HEAD, rows)


def row(pid, headcount=2, status=""):
    return posting_row(id=pid, employer="顺达物流", title="货车司机", category="物流司机", salary="6000元/月", place="物流园",
                       headcount=headcount, contact="王经理 0724-0000001", published="today-1", status=status)


def upload(console, data, name="岗位.xlsx"):
    return console.post("/admin/jobs/upload", {"sheet": (data, name)}, token_from="/admin/jobs/",
                        content_type="multipart/form-data")


def test_a_sheet_with_a_bad_row_loads_nothing_and_names_every_bad_row(console, redis_client):
    resp = upload(console, sheet([row("a1"), row("a2", headcount="很多"), row("a3", status="招满了")]))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "岗位.xlsx 第3行「招聘人数」：应当是整数" in html and "岗位.xlsx 第4行「状态」" in html
    assert Jobs(redis_client).all() == []
    assert upload(console, sheet([row("a1"), row("a2")])).status_code == 200
    assert {p.id for p in Jobs(redis_client).all()} == {"a1", "a2"}


def test_interest_list_is_masked_outcomes_recorded_and_the_export_audited(console_as, bot):
    jobs = Jobs(bot.redis)
    p = jobs.save(posting("a", "货车司机"))
    Profiles(bot.redis).save_contact("o_a", "张小明", "13800138000")
    jobs.register_interest(p, "o_a", "有B2驾照", __import__("time").time())
    liaison = console_as("jobs")
    html = liaison.page(f"/admin/jobs/{p.number}")
    assert "张*明" in html and "138****8000" in html and "13800138000" not in html and "有B2驾照" in html
    liaison.post(f"/admin/jobs/{p.number}/outcome", {"openid": "o_a", "outcome": "hired"}, token_from=f"/admin/jobs/{p.number}")
    assert jobs.interested(p.id)[0][2] == "hired"
    rows = list(load_workbook(io.BytesIO(liaison.client.get(f"/admin/jobs/{p.number}/export.xlsx").data)).active
                .iter_rows(values_only=True))
    assert rows[1][1:3] == ("张小明", "13800138000")
    assert Audit(bot.redis).recent(1)[0].staff == "jobs1"
    liaison.post(f"/admin/jobs/{p.number}/status", {"filled": "1"}, token_from=f"/admin/jobs/{p.number}")
    assert jobs.get(p.id).status == "filled"


def test_the_jobs_page_shows_fair_figures(console, bot):
    demo_loaded(bot)
    html = console.page("/admin/jobs/")
    assert "街道服务企业用工和居民就业对接会" in html and "各类别" in html and "货车司机" in html
    from domain.jobs import Jobs

    for category, (positions, interest, hired, _) in Jobs(bot.redis).stats()["category"].items():
        assert f"名额{positions} · 意向{interest} · 录用{hired}" in html, category


def test_a_postings_sheet_re_uploaded_by_either_number_updates_never_duplicates(console, redis_client):
    """Issue 21 item 13: the console shows the sheet's own 编号 beside the number residents reply with, and a
    re-upload with either updates the posting."""
    jobs = Jobs(redis_client)
    for i in range(5):  # earlier postings: the sheet's 编号 1 gets another reply number
        jobs.save(posting(f"old{i}", "仓库管理员"))
    assert upload(console, sheet([row("1", headcount=2)])).status_code == 200
    p = jobs.get("1")
    assert p.number != 1
    page = console.page("/admin/jobs/")
    assert "表格编号" in page and f'<td class="num">{p.number}</td><td>1</td>' in page
    assert "表格编号 1" in console.page(f"/admin/jobs/{p.number}")
    resp = upload(console, sheet([row(str(p.number), headcount=5)]))  # the number the console shows
    assert resp.status_code == 200 and f"编号 {p.number} 是岗位 {p.number} 的回复号" in resp.get_data(as_text=True)
    assert upload(console, sheet([row("1", headcount=7)])).status_code == 200  # the sheet's own 编号
    assert len(jobs.all()) == 6 and jobs.get(str(p.number)) is None
    assert jobs.get("1").headcount == 7 and jobs.get("1").number == p.number
