"""An organiser tells their event's volunteers something, in a real headless Chromium (issue 22 #7), at desktop
and phone size: write, preview with its reach, confirm, see the progress."""
from __future__ import annotations

import pytest

from tests.browser.test_console_browser import signed_in
from tests.helpers import event_with_volunteers


@pytest.mark.parametrize("width", [1280, 390])
def test_an_organiser_writes_previews_and_sends(browser, tmp_path, width):
    signed_in(browser, "organiser")  # the account first: the event is then assigned to it
    occ, _ = event_with_volunteers(browser.site.bot, organiser="organiser1")
    browser.d.set_window_size(width, 900)
    browser.open(f"/admin/events/{occ.number}").fill("broadcast-text", "明早集合地点改为三干渠北门。")
    browser.click("预览")
    assert "确认发送给 2 人" in browser.text() and "三干渠北门" in browser.text()
    assert browser.d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    browser.d.save_screenshot(str(tmp_path / f"organiser-broadcast-{width}.png"))
    browser.click("确认发送给 2 人")
    assert browser.path().startswith(f"/admin/events/{occ.number}/broadcast/") and "群发：" in browser.text()
    assert sorted(p["openid"] for p in browser.site.bot.outbox.pending()) == ["o_in", "o_wait"]
