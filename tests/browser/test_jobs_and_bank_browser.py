"""A posting from the form, and a question bank downloaded from its session page, in a real headless Chromium
(issue 22 #3, #4), at desktop and phone size."""
from __future__ import annotations

import pytest
from openpyxl import load_workbook

from domain.jobs import Jobs
from tests.browser.test_console_browser import signed_in


def _fits(browser) -> bool:
    return browser.d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("width", [1280, 390])
def test_post_one_job_from_the_form_after_fixing_the_headcount(browser, width):
    signed_in(browser, "jobs")
    browser.d.set_window_size(width, 900)
    browser.click("就业岗位").click("只发布一个岗位（填表）")
    for field, value in (("employer", "顺达物流"), ("title", "货车司机"), ("category", "物流司机"), ("headcount", "两个"),
                         ("contact", "王经理 0724-0000001")):
        browser.fill(field, value)
    browser.click("发布")
    assert "「招聘人数」：应当是整数" in browser.text() and _fits(browser)
    browser.fill("headcount", "2").click("发布")
    assert "已发布「货车司机」" in browser.text()
    assert [p.headcount for p in Jobs(browser.site.bot.redis).all()] == [2]


@pytest.mark.parametrize("width", [1280, 390])
def test_the_session_page_shows_the_key_and_downloads_the_bank(browser, width):
    from domain.quiz import Quiz
    from tests.helpers import make_session

    make_session(Quiz(browser.site.bot.redis), "s-now")
    signed_in(browser)
    browser.d.set_window_size(width, 900)
    browser.open("/admin/quizzes/s-now")
    assert "答案：ABD" in browser.text() and "解析：缺席组织生活不是义务。" in browser.text() and _fits(browser)
    browser.click("下载题库（Excel，可修改后重新上传）", navigates=False)
    files = browser.wait_for(lambda: [f for f in browser.d.download_dir.glob("*.xlsx")], timeout=15)
    rows = list(load_workbook(files[0]).active.iter_rows(values_only=True))
    assert rows[1][0] == "s-now" and rows[2][12] == "ABD"
