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


def test_the_projector_screen_counts_against_the_confirmed_sign_ups_live(browser):
    """Item 17: the live count read 已签到 1 / 0 人: the script updated the check-ins but not the sign-ups."""
    from bot.wechat.simulator import WeChatSimulator, text_xml
    from domain.events import Events, Occurrence
    from domain.profiles import Profiles
    from tests.helpers import APPID, TOKEN, post_signed

    bot = browser.site.bot
    events = Events(bot.redis)
    start = (clock.now() + 900) // 60 * 60
    occ = events.save(Occurrence(id="river@1", event_id="river", title="护河行动", description="", place="三干渠",
                                 start=start, end=start + 2 * 3600, capacity=30, signup_deadline=start - 600,
                                 cancel_cutoff=start - 86400))
    signed_in(browser)
    browser.open(f"/admin/events/{occ.number}/checkin?screen=1")
    assert "已签到 0 / 0 人" in browser.text() and "退出" not in browser.text()
    assert not browser.d.find_elements(By.CSS_SELECTOR, "nav.sections")
    sim = WeChatSimulator(TOKEN, "", APPID)
    for i in range(12):  # sign-ups arrive while the screen is up
        Profiles(bot.redis).save_contact(f"o_v{i}", "志愿者", "13800138000")
        events.sign_up(occ, f"o_v{i}")
    reply = post_signed(browser.site.url + "/wechat", sim, text_xml("o_v0", f"签到 {events.code(occ.id)}"))
    assert "签到成功" in reply, reply
    browser.wait_for(lambda: "已签到 1 / 12 人" in browser.text(), timeout=15)
    browser.shot("checkin-projector")
