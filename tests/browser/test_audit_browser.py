"""The audit log in a real headless Chromium (issue 22 #8): staff actions appear with what changed, the search
form narrows them at desktop and phone size, and the download holds what the page shows.
Screenshots go to the test's temporary folder (docs/screenshots/ is refreshed only on request)."""
from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser.test_console_browser import signed_in


def _shot(browser, folder, name, width):
    browser.d.set_window_size(width, 900)
    height = browser.d.execute_script("return document.documentElement.scrollHeight")
    browser.d.set_window_size(width, min(max(height, 600), 3000))
    browser.d.save_screenshot(str(folder / f"{name}.png"))
    assert (folder / f"{name}.png").stat().st_size > 10_000


def _fits(browser) -> bool:
    """Nothing wider than the screen except inside the scrolling table (phones)."""
    return browser.d.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_role_change_is_found_by_action_and_downloaded(browser, tmp_path):
    from openpyxl import load_workbook

    signed_in(browser)
    browser.click("账号")
    browser.fill("name", "wangfang")
    Select(browser.d.find_element(By.ID, "role")).select_by_visible_text("活动组织者")
    browser.click("新建并生成一次性密码")
    browser.open("/admin/staff/")
    Select(browser.d.find_element(By.CSS_SELECTOR, "select[aria-label='wangfang的角色']")).select_by_visible_text(
        "就业联络员")
    browser.click("改")
    assert "wangfang 的角色已改为 就业联络员" in browser.text()

    browser.click("审计日志")
    rows = browser.d.find_elements(By.CSS_SELECTOR, "#audit-entries tr")
    assert len(rows) == 1 + 3  # header, the login, the new account, the role change
    Select(browser.d.find_element(By.ID, "action")).select_by_visible_text("修改角色")
    browser.click("查找")
    assert browser.path().startswith("/admin/staff/audit?who=&action=staff.role")
    rows = browser.d.find_elements(By.CSS_SELECTOR, "#audit-entries tr")
    assert len(rows) == 2
    cells = [td.text for td in rows[1].find_elements(By.TAG_NAME, "td")]
    assert cells[1:5] == ["admin1", "修改角色", "账号 wangfang", "角色：活动组织者 → 就业联络员"] and cells[7] == "完成"
    _shot(browser, tmp_path, "audit-search", 1280)

    browser.d.set_window_size(1280, 900)
    browser.click("下载 Excel", navigates=False)
    files = browser.wait_for(lambda: [f for f in browser.d.download_dir.glob("*.xlsx")], timeout=15)
    rows = list(load_workbook(files[0]).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][1:5] == ("admin1", "修改角色", "账号 wangfang", "角色：活动组织者 → 就业联络员")


def test_the_search_form_works_on_a_phone(browser, tmp_path):
    signed_in(browser)
    browser.d.set_window_size(390, 844)
    browser.open("/admin/staff/audit")
    assert _fits(browser)
    browser.fill("q", "登录控制台")
    Select(browser.d.find_element(By.ID, "who")).select_by_visible_text("admin1")
    browser.click("查找")
    assert "q=登录控制台" in browser.d.current_url or "q=%E7%99%BB" in browser.d.current_url
    rows = browser.d.find_elements(By.CSS_SELECTOR, "#audit-entries tr")
    assert len(rows) == 2 and "登录" in rows[1].text
    browser.d.execute_script("document.getElementById('since').value = '2099-01-02';"
                             "document.getElementById('until').value = '2099-01-01';")
    browser.click("查找")
    assert "开始日期不能晚于结束日期" in browser.text() and _fits(browser)
    _shot(browser, tmp_path, "audit-phone", 390)


def test_a_forgotten_password_on_the_login_page_on_a_phone(browser):
    browser.d.set_window_size(390, 844)
    browser.open("/admin/login")
    assert "请联系团委的管理员" not in browser.text()  # folded away until asked
    browser.d.find_element(By.CSS_SELECTOR, "#forgot summary").click()
    browser.wait_for(lambda: "请联系团委的管理员" in browser.text())
    assert _fits(browser)
