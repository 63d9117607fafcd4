"""Console accounts: one-time passwords, forced change, login limits, sessions, CSRF, roles, the audit log."""
from __future__ import annotations

import re

from domain.audit import Audit
from domain.staff import ADDRESS_FAILURES, PAIR_FAILURES, Staff
from tests.helpers import STAFF_PASSWORD, Console, staff_account


def test_staff_add_prints_a_one_time_password_that_must_be_changed_at_first_login(cli, app):
    code, out = cli("staff", "add", "wangfang", "--role", "organiser")
    assert code == 0
    password = re.search(r"One-time password: (\S+)", out).group(1)
    c = Console(app.test_client())
    resp = c.login("wangfang", password)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/password")
    assert c.client.get("/admin/").headers["Location"].endswith("/admin/password")  # nowhere else first
    short = c.post("/admin/password", {"old": password, "new": "short", "again": "short"}, token_from="/admin/password")
    assert short.status_code == 400 and "至少10个字符" in short.get_data(as_text=True)
    done = c.post("/admin/password", {"old": password, "new": "a-much-longer-one", "again": "a-much-longer-one"},
                  token_from="/admin/password")
    assert done.status_code == 302
    assert c.client.get("/admin/").status_code == 200
    assert Console(app.test_client()).login("wangfang", password).status_code == 401  # the one-time one is gone


def test_the_password_is_kept_as_an_argon2_hash(redis_client, production_password_hashes):
    Staff(redis_client).create("li", "jobs")
    stored = redis_client.hget("yb:{staff}:account:li", "hash")
    assert stored.startswith("$argon2id$")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # the service's cost: argon2-cffi's defaults


def test_a_wrong_password_says_nothing_about_which_part_was_wrong(app, redis_client):
    staff_account(redis_client, "admin1", "admin")
    c = Console(app.test_client())
    for name in ("admin1", "nobody"):
        resp = c.login(name, "wrong-password")
        assert resp.status_code == 401 and "账号或密码不对" in resp.get_data(as_text=True)


def test_logins_are_refused_after_too_many_failures_for_the_account_even_with_the_right_password(app, redis_client):
    staff_account(redis_client, "admin1", "admin")
    c = Console(app.test_client())
    for _ in range(PAIR_FAILURES):
        assert c.login("admin1", "wrong-password").status_code == 401
    locked = c.login("admin1")
    assert locked.status_code == 429 and "15分钟后再试" in locked.get_data(as_text=True)
    assert 0 < redis_client.ttl("yb:{staff}:failures:pair:admin1:127.0.0.1") <= 15 * 60


def test_logins_from_one_address_are_limited_across_accounts(redis_client):
    staff = Staff(redis_client)
    staff_account(redis_client, "admin1", "admin")
    for i in range(ADDRESS_FAILURES):
        assert staff.login(f"guess{i}", "x", "10.0.0.9").status == "bad"
    assert staff.login("admin1", STAFF_PASSWORD, "10.0.0.9").status == "locked"
    assert staff.login("admin1", STAFF_PASSWORD, "10.0.0.10").status == "ok"  # another address is not held


def test_the_session_cookie_is_httponly_samesite_secure_and_expires(app, redis_client):
    staff_account(redis_client, "admin1", "admin")
    resp = Console(app.test_client()).login("admin1")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie and "Expires=" in cookie
    assert "Path=/admin" in cookie


def test_logout_ends_the_session(console):
    assert console.post("/admin/logout").status_code == 302
    assert console.client.get("/admin/").headers["Location"].startswith("/admin/login")


def test_a_password_reset_ends_the_sessions_opened_before(console, console_as, redis_client):
    organiser = console_as("organiser")
    assert organiser.client.get("/admin/").status_code == 200
    console.post("/admin/staff/organiser1/reset", token_from="/admin/staff/")
    assert organiser.client.get("/admin/").status_code == 302


def test_a_post_without_the_csrf_token_is_refused(console):
    resp = console.client.post("/admin/staff/", data={"name": "newbie", "role": "jobs"})
    assert resp.status_code == 400 and "表单已过期" in resp.get_data(as_text=True)
    assert Staff(console.client.application.extensions["youthbot"].redis).get("newbie") is None
    resp = console.client.post("/admin/staff/", data={"name": "newbie", "role": "jobs", "csrf_token": "forged"})
    assert resp.status_code == 400


def test_the_login_form_itself_needs_the_csrf_token(app, redis_client):
    staff_account(redis_client, "admin1", "admin")
    resp = app.test_client().post("/admin/login", data={"name": "admin1", "password": STAFF_PASSWORD})
    assert resp.status_code == 400


def test_login_goes_back_only_to_console_pages(app, redis_client):
    staff_account(redis_client, "admin1", "admin")
    c = Console(app.test_client())
    token = c.csrf()
    resp = c.client.post("/admin/login?next=https://evil.example/", data={"name": "admin1", "password": STAFF_PASSWORD,
                                                                           "csrf_token": token})
    assert resp.headers["Location"] == "/admin/"
    c2 = Console(app.test_client())
    resp = c2.client.post("/admin/login?next=/admin/staff/", data={"name": "admin1", "password": STAFF_PASSWORD,
                                                                   "csrf_token": c2.csrf()})
    assert resp.headers["Location"] == "/admin/staff/"


def test_the_webhook_needs_no_csrf_token(wechat):
    assert "帮助" in wechat.send("帮助") or wechat.send("帮助")


def test_admin_creates_resets_and_deletes_accounts_from_the_page(console, redis_client):
    page = console.post("/admin/staff/", {"name": "zhaolei", "role": "jobs"}, token_from="/admin/staff/")
    password = re.search(r'id="one-time">(\w+)<', page.get_data(as_text=True)).group(1)
    assert Staff(redis_client).login("zhaolei", password, "x").status == "ok"
    console.post("/admin/staff/zhaolei/role", {"role": "organiser"}, token_from="/admin/staff/")
    assert Staff(redis_client).get("zhaolei").role == "organiser"
    console.post("/admin/staff/zhaolei/delete", token_from="/admin/staff/")
    assert Staff(redis_client).get("zhaolei") is None
    assert "不能删除自己的账号" in console.post("/admin/staff/admin1/delete", token_from="/admin/staff/",
                                               follow_redirects=True).get_data(as_text=True)


def test_the_audit_log_lists_entries_newest_first_for_admins(console, redis_client):
    log = Audit(redis_client)
    log.record("wangfang", "export", "活动 3 报名名单", 12, "10.0.0.1")
    log.record("wangfang", "view", "岗位 5 意向名单", 4, "10.0.0.1")
    html = console.page("/admin/staff/audit")
    assert html.index("岗位 5 意向名单") < html.index("活动 3 报名名单") and "共 3 条" in html  # and admin1's login
