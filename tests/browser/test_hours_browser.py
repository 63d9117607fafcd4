"""The 志愿时长 page in a real headless Chromium (issue 22 #5), at desktop and phone size: a preset period, the
masked list, the ledger download; an event's no-shows. Screenshots go to the test's temporary folder."""
from __future__ import annotations

import pytest
from openpyxl import load_workbook

from tests.browser.test_console_browser import signed_in
from tests.helpers import volunteer_season


@pytest.mark.parametrize("width", [1280, 390])
def test_choose_this_half_year_see_the_volunteers_and_download_the_ledger(browser, tmp_path, width):
    river, elder, _ = volunteer_season(browser.site.bot.redis)
    signed_in(browser)
    browser.d.set_window_size(width, 900)
    browser.click("志愿时长")
    from domain.periods import presets
    from domain import clock

    days = {f"{clock.local(o.start).date()}" for o in (river, elder)}
    label = next(label for label, a, b in presets(clock.local(clock.now()).date()) if all(a <= d <= b for d in days))
    browser.click(label)
    assert "张*明" in browser.text() and "13800138000" not in browser.text()
    assert browser.d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    browser.d.save_screenshot(str(tmp_path / f"hours-{width}.png"))
    browser.click("下载时长台账（Excel，含姓名和手机号）", navigates=False)
    files = browser.wait_for(lambda: [f for f in browser.d.download_dir.glob("*.xlsx")], timeout=15)
    rows = list(load_workbook(files[0])["明细"].iter_rows(values_only=True))
    assert ("赵小芳", "未到") in {(r[0], r[9]) for r in rows}
    browser.open(f"/admin/events/{river.number}").click("只看未到")
    assert "只显示未到的1人" in browser.text() and "赵*芳" in browser.text() and "张*明" not in browser.text()
