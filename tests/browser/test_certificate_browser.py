"""The printable certificate and the /verify/ number box in a real headless Chromium (issue 22 #6), at desktop and
phone size: staff issue the record and download its A4 Word version; a school types the number and sees the record."""
from __future__ import annotations

import re

import pytest

from tests.browser.test_console_browser import signed_in
from tests.helpers import served


@pytest.mark.parametrize("width", [1280, 390])
def test_issue_download_the_printable_version_then_check_it_by_number(browser, tmp_path, width):
    from docx import Document

    served(browser.site.bot.redis)
    signed_in(browser)
    browser.d.set_window_size(width, 900)
    browser.open("/admin/people/o_vol/certificate").click("开具志愿服务证明")
    number = re.search(r"编号：(\S+)", browser.text()).group(1)
    browser.click("下载打印版（A4 Word，含核验二维码）", navigates=False)
    files = browser.wait_for(lambda: [f for f in browser.d.download_dir.glob("*.docx")], timeout=15)
    text = "\n".join(p.text for p in Document(files[0]).paragraphs)
    assert "兹证明 王小红 同志" in text and number in text

    browser.d.delete_all_cookies()  # a school: no account
    browser.open("/verify/").fill("number", f" {number.lower()} ").click("核验")
    assert browser.path() == f"/verify/{number}" and "王*红" in browser.text() and "王小红" not in browser.text()
    assert browser.d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    browser.d.save_screenshot(str(tmp_path / f"verify-{width}.png"))
