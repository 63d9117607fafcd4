"""What a new staff member hit in a week of real use (issue 21, items 12-19), tried in a real headless Chromium."""
from __future__ import annotations

import re

from selenium.webdriver.common.by import By

from domain import clock
from tests.browser.test_console_browser import signed_in


def _tomorrow_plus(days: int, browser) -> str:
    return browser.d.execute_script(
        f"var d = new Date(Date.now() + {days} * 86400000);"
        "return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0');")


def test_the_event_form_takes_chinese_times_and_puts_errors_beside_their_fields(browser):
    """Item 15: 11：30 (the IME's colon) and 20人 are taken; a wrong field is named beside itself, not at the top
    as 网页表单「end」."""
    from domain.events import Events

    signed_in(browser)
    browser.open("/admin/events/new")
    day = _tomorrow_plus(5, browser)
    browser.fill("title", "凯旋城社区护河行动").fill("place", "竹皮河凯旋城段")
    browser.d.execute_script(f"document.getElementById('start').value = '{day}T09:00';")
    browser.fill("end_time", "下午").fill("capacity", "很多")
    browser.click("发布活动")
    text = browser.text()
    assert "网页表单" not in text and "「end」" not in text
    for field, words in (("end_time", "“下午”不是时间，请写成 11:30"), ("capacity", "应为整数，现在是“很多”")):
        box = browser.d.find_element(By.ID, field).find_element(By.XPATH, "..")
        assert words in box.text, box.text  # beside the field, under the field's own label
        assert browser.d.find_element(By.ID, field).get_attribute("aria-invalid") == "true"
    browser.shot("event-form-errors")
    browser.d.execute_script(f"document.getElementById('start').value = '{day}T09:00';")
    browser.fill("end_time", "11：30").fill("capacity", "20人")
    browser.click("发布活动")
    assert "已发布「凯旋城社区护河行动」" in browser.text(), browser.text()
    number = int(re.search(r"/admin/events/(\d+)", browser.path()).group(1))
    occ = Events(browser.site.bot.redis).by_number(number)
    assert occ.capacity == 20 and f"{clock.local(occ.end):%H:%M}" == "11:30"
