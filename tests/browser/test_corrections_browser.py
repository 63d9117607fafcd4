"""Correcting a resident's details on the 人员 page in a real headless Chromium, at desktop and phone size
(issue 22 #1). Screenshots go to the test's temporary folder."""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from domain.audit import Audit
from domain.profiles import Profiles
from tests.browser.test_console_browser import signed_in


@pytest.mark.parametrize("width", [1280, 390])
def test_find_a_resident_and_correct_the_phone_and_branch(browser, tmp_path, width):
    profiles = Profiles(browser.site.bot.redis)
    profiles.save_branches([("b1", "机关第一支部"), ("b2", "社区第二支部")])
    profiles.save_contact("o_a", "张小明", "13800138000")
    profiles.set_branch("o_a", "b1")
    signed_in(browser)
    browser.d.set_window_size(width, 900)
    browser.open("/admin/people/").fill("q", "8000").click("查找")
    browser.click("张小明")
    assert browser.d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    browser.fill("c-phone", "139 1234 5678")
    Select(browser.d.find_element(By.ID, "c-branch")).select_by_visible_text("社区第二支部")
    browser.fill("c-birth", "1890")
    browser.click("保存更正")
    assert "出生年份：需要1940" in browser.d.find_element(By.ID, "correct-error").text
    assert browser.d.find_element(By.ID, "c-phone").get_attribute("value") == "139 1234 5678"  # what was typed stays
    browser.fill("c-birth", "2001")
    browser.click("保存更正")
    assert "已更正：手机号、出生年份、支部。" in browser.text() and "139****5678" in browser.text()
    browser.d.save_screenshot(str(tmp_path / f"person-corrected-{width}.png"))
    p = profiles.get("o_a")
    assert (p.phone, p.birth_year, p.branch) == ("13912345678", 2001, "b2")
    assert [e.refused[:4] for e in Audit(browser.site.bot.redis).search(action="correct").entries] == ["", "出生年份"]
