"""Taking things back in a real headless Chromium (issue 22 #2), at desktop and phone size: reinstating a
cancelled event, withdrawing a posting, deleting a mistaken quiz session (confirm dialogs accepted as a person
would). Screenshots go to the test's temporary folder."""
from __future__ import annotations

import pytest

from domain.events import Events
from domain.outbox import Outbox
from tests.browser.test_console_browser import signed_in
from tests.helpers import make_morning_event as make_event


def _accept_and_wait(browser, text):
    """Click a button guarded by confirm(), accept the dialog, wait for the next page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.browser.conftest import _gone

    page = browser.d.find_element(By.TAG_NAME, "html")
    browser.d.find_element(By.XPATH, f"//button[normalize-space()='{text}']").click()
    WebDriverWait(browser.d, 10).until(lambda d: d.switch_to.alert).accept()
    WebDriverWait(browser.d, 10).until(lambda _: _gone(page))


def _fits(browser) -> bool:
    return browser.d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("width", [1280, 390])
def test_cancel_then_reinstate_an_event(browser, tmp_path, width):
    events = Events(browser.site.bot.redis)
    occ = make_event(events, capacity=1)
    events.sign_up(occ, "o_a")
    events.sign_up(occ, "o_b")
    signed_in(browser)
    browser.d.set_window_size(width, 900)
    browser.open(f"/admin/events/{occ.number}").fill("reason", "暴雨预警")
    _accept_and_wait(browser, "取消活动并通知志愿者")
    assert "已取消" in browser.text() and _fits(browser)
    _accept_and_wait(browser, "恢复活动并通知志愿者")
    assert "已恢复，报名和候补的顺序不变；将通知2位志愿者" in browser.text() and _fits(browser)
    browser.d.save_screenshot(str(tmp_path / f"event-reinstated-{width}.png"))
    assert events.get(occ.id).status == "open" and events.confirmed(occ.id) == ["o_a"]
    assert events.waitlist(occ.id) == ["o_b"]
    assert [p["kind"] for p in Outbox(browser.site.bot.redis).pending()].count("event_reinstated") == 2


@pytest.mark.parametrize("width", [1280, 390])
def test_withdraw_a_posting_and_delete_a_mistaken_quiz_session(browser, width):
    from domain.jobs import Jobs
    from domain.quiz import Quiz
    from tests.helpers import posting
    from tests.helpers import make_session

    redis = browser.site.bot.redis
    p = Jobs(redis).save(posting("a", "货车司机"))
    make_session(Quiz(redis), "s-wrong")
    signed_in(browser)
    browser.d.set_window_size(width, 900)
    browser.open(f"/admin/jobs/{p.number}")
    _accept_and_wait(browser, "撤回岗位（发错了或单位不招了）")
    assert "已撤回：居民不再看到这个岗位" in browser.text() and _fits(browser)
    assert Jobs(redis).get(p.id).status == "withdrawn"
    browser.open("/admin/quizzes/s-wrong")
    _accept_and_wait(browser, "删除这期答题")
    assert "已删除第s-wrong期答题" in browser.text() and browser.path().startswith("/admin/quizzes/")
    assert Quiz(redis).session("s-wrong") is None
