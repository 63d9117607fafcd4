"""Corrections (issue 22 #1): a resident changes their own details in chat with `修改信息` (the sign-up's questions
and checks again), and staff correct name, phone, birth year, student status and branch on the 人员 page,
all or nothing, audited with the values before and after (masked on the page)."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from domain.audit import Audit
from domain.events import Events
from domain.profiles import Profiles
from tests.helpers import make_morning_event as make_event


def test_a_resident_without_details_is_told_there_is_nothing_to_change(wechat, redis_client):
    assert "还没有保存你的姓名和手机号" in wechat.send("修改信息")
    assert Profiles(redis_client).get("o_alice").name == ""


def test_a_resident_corrects_name_phone_birth_year_and_student_status_as_sign_up_asks(wechat, redis_client):
    profiles = Profiles(redis_client)
    profiles.save_contact("o_alice", "张小明", "13800138000")
    profiles.set_details("o_alice", birth_year=2001, student=True)
    first = wechat.send("修改信息")
    assert "你现在登记的是：张小明，138****8000，出生年份2001，在校学生" in first and "13800138000" not in first
    assert "请回复你的真实姓名" in first
    assert "这看起来不像姓名" in wechat.send("张3")  # the same check as the sign-up
    assert "11位手机号" in wechat.send("张晓明")
    assert "不是有效的11位手机号" in wechat.send("1391234")
    assert profiles.get("o_alice").name == "张小明"  # nothing saved before the phone is right
    said = wechat.send("139 1234 5678")
    assert "已记录：张晓明，139****5678" in said and "出生年份" in said
    assert "4位数字的出生年份" in wechat.send("1890")
    assert "你目前是在校学生吗" in wechat.send("2000")
    done = wechat.send("否")
    assert "你的信息已更新" in done
    p = profiles.get("o_alice")
    assert (p.name, p.phone, p.birth_year, p.student) == ("张晓明", "13912345678", 2000, False)


def test_cancel_before_the_phone_changes_nothing(wechat, redis_client):
    profiles = Profiles(redis_client)
    profiles.save_contact("o_alice", "张小明", "13800138000")
    wechat.send("修改信息")
    wechat.send("李小红")
    assert "已取消" in wechat.send("取消")
    p = profiles.get("o_alice")
    assert (p.name, p.phone) == ("张小明", "13800138000")


def test_the_organiser_sees_the_corrected_name_on_the_sign_up_list(wechat, redis_client, console):
    occ = make_event(Events(redis_client))
    Profiles(redis_client).save_contact("o_alice", "张小明", "13800138000")
    Events(redis_client).sign_up(occ, "o_alice")
    wechat.send("修改信息")
    wechat.send("王小明")
    wechat.send("13912345678")
    html = console.page(f"/admin/events/{occ.number}")
    assert "王*明" in html and "139****5678" in html and "张*明" not in html


# -- staff, on the 人员 page -------------------------------------------------------------------------
def _person(redis):
    profiles = Profiles(redis)
    profiles.save_branches([("b1", "机关第一支部"), ("b2", "社区第二支部")])
    profiles.save_contact("o_a", "张小明", "13800138000")
    profiles.set_details("o_a", birth_year=2001, student=True)
    profiles.set_branch("o_a", "b1")
    return profiles


def _form(**changes):
    return {"name": "张小明", "phone": "", "birth_year": "2001", "student": "1", "branch": "b1", **changes}


def test_staff_correct_every_field_at_once_and_the_log_keeps_before_and_after(console, redis_client):
    profiles = _person(redis_client)
    page = console.page("/admin/people/o_a")
    assert "更正信息" in page and 'value="张小明"' in page and "13800138000" not in page
    resp = console.post("/admin/people/o_a/correct", _form(name="张晓明", phone="13912345678", birth_year="2000",
                                                           student="0", branch="b2"), token_from="/admin/people/o_a")
    assert resp.status_code == 302
    p = profiles.get("o_a")
    assert (p.name, p.phone, p.birth_year, p.student, p.branch) == ("张晓明", "13912345678", 2000, False, "b2")
    assert (profiles.branch_size("b1"), profiles.branch_size("b2")) == (0, 1)
    e = Audit(redis_client).search(action="correct").entries[0]
    assert e.staff == "admin1" and e.people == 1 and e.refused == ""
    assert e.changes == {"姓名": ["张小明", "张晓明"], "手机号": ["13800138000", "13912345678"],
                         "出生年份": ["2001", "2000"], "在校学生": ["是", "否"], "支部": ["机关第一支部", "社区第二支部"]}
    html = console.page("/admin/staff/audit?action=correct")
    assert "张*明 → 张*明" in html and "138****8000 → 139****5678" in html and "13800138000" not in html
    rows = list(load_workbook(io.BytesIO(console.client.get("/admin/staff/audit.xlsx?action=correct").data))
                .active.iter_rows(values_only=True))
    assert "手机号：13800138000 → 13912345678" in rows[1][4]  # the download (itself audited) has them whole


def test_a_bad_value_saves_nothing_says_why_and_is_logged_as_refused(console, redis_client):
    profiles = _person(redis_client)
    for form, why in ((_form(name="王小红", phone="1391234"), "手机号：需要11位手机号"),
                      (_form(name="王小红", birth_year="1890"), "出生年份：需要1940"),
                      (_form(name="王小红", birth_year="两千年"), "出生年份：需要4位数字"),
                      (_form(name="<b>1</b>"), "姓名：需要2—20个字"),
                      (_form(name="王小红", branch="b9"), "支部：没有编号为 b9 的支部")):
        resp = console.post("/admin/people/o_a/correct", form, token_from="/admin/people/o_a")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 400 and why in html, (form, why)
        assert Audit(redis_client).search(action="correct").entries[0].refused.startswith(why.split("：")[0])
    p = profiles.get("o_a")
    assert (p.name, p.phone, p.birth_year, p.branch) == ("张小明", "13800138000", 2001, "b1")


def test_staff_cannot_fill_in_a_name_for_someone_who_never_agreed(console, redis_client):
    profiles = Profiles(redis_client)
    profiles.save_branches([("b1", "机关第一支部"), ("b2", "社区第二支部")])
    profiles.set_branch("o_m", "b1")  # a quiz member: a branch, no consent, no name
    page = console.page("/admin/people/o_m")
    assert 'id="c-name"' not in page and 'id="c-branch"' in page
    resp = console.post("/admin/people/o_m/correct", {"name": "王小红", "phone": "13912345678", "branch": "b2"},
                        token_from="/admin/people/o_m")
    assert resp.status_code == 302
    p = profiles.get("o_m")
    assert (p.name, p.phone, p.branch) == ("", "", "b2")


def test_nothing_changed_is_said_and_a_deleted_person_is_404(console, redis_client):
    _person(redis_client)
    resp = console.post("/admin/people/o_a/correct", _form(), token_from="/admin/people/o_a", follow_redirects=True)
    assert "没有改动" in resp.get_data(as_text=True)
    assert Audit(redis_client).search(action="correct").entries[0].changes == {}
    assert console.post("/admin/people/o_gone/correct", _form(), token_from="/admin/people/").status_code == 404


def test_only_admins_may_correct(console_as, redis_client):
    _person(redis_client)
    for role in ("organiser", "jobs"):
        assert console_as(role).post("/admin/people/o_a/correct", _form(name="王小红")).status_code == 403
    assert Profiles(redis_client).get("o_a").name == "张小明"
