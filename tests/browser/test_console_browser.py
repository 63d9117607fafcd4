"""The staff console in a real headless Chromium: what staff click, end to end."""
from __future__ import annotations

import re

from tests.conftest import STAFF_PASSWORD, staff_account


def test_log_in_and_change_the_first_password(browser, cli):
    code, out = cli("staff", "add", "wangfang", "--role", "admin")
    one_time = re.search(r"One-time password: (\S+)", out).group(1)
    browser.open("/admin/")
    assert browser.path().startswith("/admin/login")
    browser.shot("login", width=390)
    browser.login("wangfang", "not-it")
    assert "账号或密码不对" in browser.text()
    browser.login("wangfang", one_time)
    assert browser.path() == "/admin/password" and "第一次登录" in browser.text()
    browser.shot("first-password", width=390)
    browser.fill("old", one_time).fill("new", "lantern-river-42").fill("again", "lantern-river-42").click("保存新密码")
    assert browser.path() == "/admin/" and "密码已修改" in browser.text()
    browser.click("退出")
    assert browser.path().startswith("/admin/login")
    browser.login("wangfang", "lantern-river-42")
    assert browser.path() == "/admin/" and "概览" in browser.text()
