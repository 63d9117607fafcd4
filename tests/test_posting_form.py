"""One posting from a form, and the postings sheet's template (issue 22 #4): the same checks as an uploaded sheet
(it is loaded as a one-row sheet), every problem said in the staff's words, nothing saved until all is right."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from domain.audit import Audit
from domain.jobs import Jobs

FORM = {"employer": "顺达物流", "title": "货车司机", "category": "物流司机", "salary": "", "place": "物流园",
        "education": "", "experience": "B2驾照", "headcount": "2", "contact": "王经理 0724-0000001",
        "expires": "", "description": "长期稳定。"}


def test_a_posting_from_the_form_is_live_in_chat_with_the_sheets_defaults(console_as, redis_client, wechat):
    liaison = console_as("jobs")
    assert "发布一个岗位" in liaison.page("/admin/jobs/new")
    resp = liaison.post("/admin/jobs/new", FORM, token_from="/admin/jobs/new")
    assert resp.status_code == 302
    (p,) = Jobs(redis_client).all()
    assert (p.employer, p.title, p.salary, p.education, p.headcount) == ("顺达物流", "货车司机", "面议", "不限", 2)
    assert resp.headers["Location"].endswith(f"/admin/jobs/{p.number}")
    assert "货车司机" in wechat.send(f"岗位 {p.number}") and "0724-0000001" not in wechat.send(f"岗位 {p.number}")
    e = Audit(redis_client).search(action="job.create").entries[0]
    assert e.staff == "jobs1" and e.refused == "" and e.changes["岗位"] == ["", "顺达物流 · 货车司机"]


def test_a_bad_form_saves_nothing_and_says_what_is_wrong_keeping_what_was_typed(console_as, redis_client):
    liaison = console_as("jobs")
    bad = {**FORM, "headcount": "两个", "contact": "", "expires": "下个月"}
    resp = liaison.post("/admin/jobs/new", bad, token_from="/admin/jobs/new")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and Jobs(redis_client).all() == []
    assert "「招聘人数」：应当是整数，现在是「两个」" in html and "「联系方式」：没有填" in html and "「截止日期」" in html
    assert "岗位表单.csv" not in html and 'value="货车司机"' in html
    assert Audit(redis_client).search(action="job.create").entries[0].refused.startswith("「")


def test_the_template_uploads_as_it_is(console_as, redis_client):
    liaison = console_as("jobs")
    resp = liaison.client.get("/admin/jobs/template.xlsx")
    rows = list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert rows[0][:4] == ("编号", "用人单位", "岗位", "类别") and rows[1][2] == "货车司机"
    up = liaison.post("/admin/jobs/upload", {"sheet": (io.BytesIO(resp.data), "岗位表模板.xlsx")},
                      token_from="/admin/jobs/", content_type="multipart/form-data")
    assert up.status_code == 200 and [p.title for p in Jobs(redis_client).all()] == ["货车司机"]


def test_organisers_cannot_post_jobs(console_as, redis_client):
    assert console_as("organiser").post("/admin/jobs/new", FORM).status_code == 403
    assert Jobs(redis_client).all() == []
