"""The console's report, outcome form, spreadsheets and certificates in a real headless Chromium."""
from __future__ import annotations

import re
import time
from datetime import timedelta

from selenium.webdriver.common.by import By

from domain import clock
from tests.browser.test_console_browser import signed_in
from tests.helpers import demo_loaded


def _day(days_from_today: int) -> str:
    return f"{clock.local(time.time()).date() + timedelta(days=days_from_today)}"


def _period(browser, first: str, last: str):
    """Choose the report's dates as a user does in the date pickers, then 生成."""
    browser.d.execute_script("document.getElementById('from').value = arguments[0];"
                             "document.getElementById('to').value = arguments[1];", first, last)
    browser.click("生成")


def test_open_the_report_for_a_period_see_its_figures_and_download_the_word_file(browser):
    from docx import Document


    bot = browser.site.bot
    demo_loaded(bot)  # the demo: a whole past half year
    signed_in(browser)
    browser.click("工作总结")
    assert browser.path().startswith("/admin/report/")
    first, last = _day(-182), _day(0)
    _period(browser, first, last)
    assert browser.path() == f"/admin/report/?from={first}&to={last}"
    text = browser.text()
    assert "街道团委" in text and "一、" in text and "主要数据一览" in text
    rows = {r.find_elements(By.TAG_NAME, "td")[0].text: r.find_elements(By.TAG_NAME, "td")[1].text
            for r in browser.d.find_elements(By.CSS_SELECTOR, "table.figures-table tbody tr")
            if len(r.find_elements(By.TAG_NAME, "td")) == 3}
    assert int(rows["签约录用"]) == 32 and int(rows["网上答题期数"]) >= 20 and float(rows["志愿服务时长"]) > 100, rows
    images = browser.d.find_elements(By.CSS_SELECTOR, "article.report-doc figure img")
    assert len(images) == 3 and all(browser.d.execute_script("return arguments[0].naturalWidth", i) > 0 for i in images)
    assert browser.d.find_element(By.CSS_SELECTOR, "nav.sections a.here").text == "工作总结"
    browser.shot("report-page")
    browser.shot("report-page-phone", width=390)
    browser.click("下载 Word 报告", navigates=False)
    files = browser.wait_for(lambda: [f for f in browser.d.download_dir.glob("*.docx")], timeout=60)
    doc = Document(files[0])
    words = "\n".join(p.text for p in doc.paragraphs)
    assert "工作总结" in words and "现场签约32人" in words
    browser.open("/admin/staff/audit")
    assert "下载" not in browser.d.find_element(By.ID, "audit-entries").text  # figures only: nothing personal
    assert "登录" in browser.d.find_element(By.ID, "audit-entries").text  # (the only entry: the login)


def test_an_admin_types_the_organisation_section_for_the_period_and_the_report_carries_it(browser):
    """Issue 23, item 8: 补充内容 under the report, typed for the period, in the report's text in its place."""
    signed_in(browser)
    browser.click("工作总结")
    first, last = _day(-30), _day(0)
    _period(browser, first, last)
    browser.fill("note_organisation", "5月31日，街道召开第八次团代会，选举团委委员6名。")
    browser.fill("note_media", "相关工作经验在《荆门日报》刊发。")
    browser.click("保存补充内容")
    assert browser.path() == f"/admin/report/?from={first}&to={last}#notes"
    headings = [h.text for h in browser.d.find_elements(By.CSS_SELECTOR, "article.report-doc h2")]
    assert headings[0] == "一、加强建设，团委班子“立起来”", headings
    article = browser.d.find_element(By.CSS_SELECTOR, "article.report-doc").text
    assert "5月31日，街道召开第八次团代会，选举团委委员6名。" in article and "相关工作经验在《荆门日报》刊发。" in article
    assert "已保存补充内容" in browser.text()
    assert browser.d.find_element(By.ID, "note_organisation").get_attribute("value").startswith("5月31日")
    browser.shot("report-notes")


def test_an_organiser_records_an_outcome_and_the_report_counts_it(browser):
    from domain.events import Events, Occurrence
    from domain.staff import Staff

    bot = browser.site.bot
    start = clock.local(time.time() - 86400).replace(hour=9, minute=0, second=0, microsecond=0).timestamp()
    occ = Events(bot.redis).save(Occurrence(
        id="elder@1", event_id="elder", title="白石坡社区养老院敬老服务", description="", place="白石坡社区养老院",
        start=start, end=start + 9000, capacity=30, signup_deadline=start - 7200, cancel_cutoff=start - 86400,
        category="敬老"))
    signed_in(browser, "organiser")
    Staff(bot.redis).assign_event("organiser1", occ.event_id)
    browser.click("志愿活动").click("白石坡社区养老院敬老服务")
    assert "还没有登记" in browser.text()
    browser.click("登记活动成效")
    browser.fill("served", "46").fill("walk_ins", "3").fill("item_name_1", "书包").fill("item_count_1", "50")
    browser.fill("item_name_2", "图书").fill("item_count_2", "五百册")
    browser.fill("services", "理发、量血压").fill("partners", "白石坡社区养老院")
    browser.fill("note", "志愿者们为老人送上水果和零食，打扫房间、整理床铺，陪老人唱歌聊天。")
    browser.click("保存活动成效")
    error = browser.d.find_element(By.CSS_SELECTOR, "fieldset.items .field-error").text
    assert error == "第2行“图书”的数量应为正整数，现在是“五百册”"
    assert "bad" in browser.d.find_element(By.ID, "item_count_2").find_element(By.XPATH, "..").get_attribute("class")
    browser.shot("outcome-error")
    browser.fill("item_count_2", "500").click("保存活动成效")
    assert browser.path() == f"/admin/events/{occ.number}#outcome" or browser.path() == f"/admin/events/{occ.number}"
    text = browser.text()
    assert "已登记活动成效" in text and "服务46人次" in text and "书包50、图书500" in text
    browser.shot("outcome-recorded")
    browser.click("退出")

    signed_in(browser, "admin")
    browser.click("工作总结")
    day = _day(-1)
    _period(browser, day, day)
    text = browser.text()
    # phrased as the committee writes (46 reads "40余"), exact in the table; the 3 walk-ins are volunteers
    assert "服务老人40余人次" in text and "送上书包50个、图书500册" in text and "陪老人唱歌聊天" in text
    assert "组织3名志愿者在白石坡社区养老院" in text
    rows = {r.find_elements(By.TAG_NAME, "td")[0].text: r.find_elements(By.TAG_NAME, "td")[1].text
            for r in browser.d.find_elements(By.CSS_SELECTOR, "table.figures-table tbody tr")
            if len(r.find_elements(By.TAG_NAME, "td")) == 3}
    assert rows["服务群众"] == "46" and rows["活动场次"] == "1", rows


def test_events_and_branches_from_sheets_and_a_certificate(browser, tmp_path):
    from openpyxl import Workbook

    from domain.events import Events
    from domain.profiles import BRANCHES, Profiles

    bot = browser.site.bot
    bot.redis.hset(BRANCHES, mapping={"b1": "街道机关团支部", "b2": "白石坡社区团支部"})
    for i in range(12):
        Profiles(bot.redis).set_branch(f"m{i}", "b1" if i < 7 else "b2")
    signed_in(browser)

    def write(rows):
        wb = Workbook()
        wb.active.append(["编号", "活动名称", "类别", "地点", "开始", "结束", "名额", "每周", "持续天数"])
        for r in rows:
            wb.active.append(r)
        wb.save(tmp_path / "七月活动.xlsx")
        return str(tmp_path / "七月活动.xlsx")

    rows = [["river-july", "青春护河行动", "护河", "三干渠堤坝", f"{_day(4)} 08:30", "11:00", 20, "", ""],
            ["tutor-july", "四点半课堂", "四点半课堂", "蓝精灵家园", f"{_day(3)} 16:30", "17:30", "六", "周一至周五", 14]]
    browser.click("志愿活动")
    browser.d.find_element(By.CSS_SELECTOR, "details.card summary").click()
    browser.fill("sheet", write(rows)).click("上传并检查")
    assert "七月活动.xlsx 第3行「名额」：应为整数，现在是“六”" in browser.text()
    assert Events(bot.redis).upcoming(0) == []
    browser.shot("events-upload-error")
    rows[1][6] = 6
    browser.fill("sheet", write(rows)).click("上传并检查")
    assert "已导入 11 场活动" in browser.text() and "青春护河行动" in browser.text()

    browser.click("支部")
    assert "街道机关团支部" in browser.text()
    browser.fill("new-name", "凯旋城社区团支部").click("添加")
    assert "已添加支部（编号 b3）" in browser.text()
    browser.shot("branches")

    # a volunteer came to the river clean-up; staff find her and give her the certificate
    occ = [o for o in Events(bot.redis).upcoming(0) if o.event_id == "river-july"][0]
    Profiles(bot.redis).save_contact("o_vol", "王小红", "13800138001")
    events = Events(bot.redis)
    events.sign_up(occ, "o_vol")
    occ = events.move(occ, time.time() - 4 * 3600)  # it took place this morning: hours only for what has happened
    events.record_attendance(occ, "o_vol", occ.start, occ.end)
    browser.click("人员").fill("q", "8001")
    browser.d.find_element(By.ID, "q").submit()
    browser.wait_for(lambda: "王" in browser.text() and "查找" in browser.text())
    browser.click("王小红") if browser.d.find_elements(By.LINK_TEXT, "王小红") else browser.open("/admin/people/o_vol")
    browser.click("志愿服务证明").click("开具志愿服务证明")
    text = browser.d.find_element(By.ID, "certificate-text").text
    assert "兹证明 王小红 同志" in text and "青春护河行动（2.5小时）" in text
    number = re.search(r"编号：(\S+)", text).group(1)
    browser.shot("certificate")
    browser.open("/admin/staff/audit")
    assert f"为 #o_vol 开具志愿服务证明 {number}" in browser.text()  # residents by a pseudonymous ref (person_ref)
