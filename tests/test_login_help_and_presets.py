"""The login page says what to do when a password is forgotten and admins see how to reset one; the report and the
hours pages offer 上半年 / 下半年 / 全年 (issue 22 #9)."""
from __future__ import annotations

import re
from datetime import date

from domain import clock
from domain.periods import presets


def test_the_login_page_says_a_forgotten_password_is_reset_by_an_admin(client):
    html = client.get("/admin/login").get_data(as_text=True)
    assert "忘记密码？" in html and "请联系团委的管理员" in html and "一次性密码" in html and "15分钟" in html
    bad = client.post("/admin/login", data={"name": "x", "password": "y"})  # no CSRF token: refused, no 500
    assert bad.status_code == 400


def test_admins_see_how_to_reset_a_password_and_others_cannot_open_the_accounts_page(console, console_as):
    html = console.page("/admin/staff/")
    assert "有人忘记了密码" in html and "重置密码" in html and "youthbot staff reset 账号名" in html
    assert console_as("organiser").client.get("/admin/staff/").status_code == 403


def test_the_report_offers_the_half_years_and_whole_years(console):
    html = console.page("/admin/report/")
    found = re.findall(r'href="\?from=(\d{4}-\d\d-\d\d)&(?:amp;)?to=(\d{4}-\d\d-\d\d)"[^>]*>([^<]+)</a>',
                       html.split('id="report-presets"')[1])
    assert [(label, a, b) for a, b, label in found] == presets(clock.local(clock.now()).date())
    label, a, b = found[0][2], found[0][0], found[0][1]
    page = console.page(f"/admin/report/?from={a}&to={b}")
    assert 'class="here">' + label in page


def test_presets_in_each_half_of_the_year():
    assert presets(date(2026, 3, 5)) == [("2026年上半年", "2026-01-01", "2026-06-30"),
                                          ("2025年下半年", "2025-07-01", "2025-12-31"),
                                          ("2026年全年", "2026-01-01", "2026-12-31"),
                                          ("2025年全年", "2025-01-01", "2025-12-31")]
    assert presets(date(2026, 12, 31))[:2] == [("2026年下半年", "2026-07-01", "2026-12-31"),
                                                ("2026年上半年", "2026-01-01", "2026-06-30")]
