"""The staff console in a real headless Chromium: what staff click, end to end."""
from __future__ import annotations

import re
import time

import requests
from selenium.webdriver.common.by import By

from tests.helpers import STAFF_PASSWORD, staff_account
from tests.helpers import demo_loaded


def test_log_in_and_change_the_first_password(browser, cli):
    code, out = cli("staff", "add", "wangfang", "--role", "admin")
    one_time = re.search(r"One-time password: (\S+)", out).group(1)
    browser.open("/admin/")
    assert browser.path().startswith("/admin/login")
    browser.shot("login", width=390)
    browser.login("wangfang", "not-it")
    assert "账号或密码不对" in browser.text()
    browser.login("wangfang", one_time)
    assert browser.path() == "/admin/password" and "第一次登录" in browser.text()
    browser.shot("first-password", width=390)
    browser.fill("old", one_time).fill("new", "lantern-river-42").fill("again", "lantern-river-42").click("保存新密码")
    assert browser.path() == "/admin/" and "密码已修改" in browser.text()
    browser.click("退出")
    assert browser.path().startswith("/admin/login")
    browser.login("wangfang", "lantern-river-42")
    assert browser.path() == "/admin/" and "概览" in browser.text()


def signed_in(browser, role="admin", name=None):
    name = name or f"{role}1"
    staff_account(browser.site.bot.redis, name, role)
    browser.login(name, STAFF_PASSWORD)
    assert browser.path() == "/admin/", browser.text()
    return browser


def write_bank(path, answer_of_second="A"):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["期号", "标题", "学习内容", "链接", "开始", "截止", "题目", "题型", "A", "B", "C", "D", "答案", "解析"])
    ws.append(["w21", "青年大学习 · 第21期", "学习新时代青年的责任与担当。", "", "today-1 08:00", "today+6 20:00",
               "五四青年节是每年的哪一天？", "单选", "5月4日", "6月1日", "7月1日", "10月1日", "A", "纪念1919年的五四运动。"])
    ws.append(["w21", "", "", "", "", "", "团员的入团年龄是14至28周岁。", "判断", "", "", "", "", "对", ""])
    ws.append(["w21", "", "", "", "", "", "志愿服务的原则有哪些？", "多选", "自愿", "无偿", "平等", "强制",
               answer_of_second, "自愿、无偿、平等、诚信、合法。"])
    wb.save(path)
    return path


def test_upload_a_bank_with_an_error_see_the_row_then_fix_it(browser, tmp_path):
    from domain.quiz import Quiz

    signed_in(browser)
    browser.click("答题")
    bank = write_bank(tmp_path / "第21期题库.xlsx", answer_of_second="AE")
    browser.fill("bank", str(bank)).click("上传并检查")
    text = browser.text()
    assert "没有导入任何内容" in text and "第21期题库.xlsx 第4行「答案」：「AE」不是选项" in text
    browser.shot("quiz-upload-error")
    assert Quiz(browser.site.bot.redis).session("w21") is None
    write_bank(bank, answer_of_second="ABC")
    browser.fill("bank", str(bank)).click("上传并检查")
    assert "已导入 1 期：「青年大学习 · 第21期」3题" in browser.text()
    browser.click("青年大学习 · 第21期")
    assert "第1题/共3题" in browser.text() and "居民在公众号里看到的样子" in browser.text()
    browser.shot("quiz-session")


def test_create_an_event_then_see_it_in_chat(browser):
    from bot.wechat.simulator import WeChatSimulator, text_xml
    from tests.helpers import APPID, TOKEN, post_signed

    signed_in(browser)
    browser.open("/admin/events/new")
    start = browser.d.execute_script(
        "var d = new Date(Date.now() + 5 * 86400000); d.setHours(9, 0, 0, 0);"
        "return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0');")
    browser.fill("title", "凯旋城社区护河行动").fill("place", "竹皮河凯旋城段").fill("description", "沿河捡拾垃圾，劝导不文明行为。")
    browser.fill("end_time", "11:00").fill("capacity", "25")
    browser.d.execute_script(f"document.getElementById('start').value = '{start}T09:00';")
    browser.shot("event-form")
    browser.click("发布活动")
    assert "已发布「凯旋城社区护河行动」" in browser.text()
    number = int(re.search(r"/admin/events/(\d+)", browser.path()).group(1))
    reply = post_signed(browser.site.url + "/wechat", WeChatSimulator(TOKEN, "", APPID), text_xml("o_resident", "志愿"))
    assert f"【{number}】凯旋城社区护河行动" in reply and "剩余25个名额" in reply


def test_check_in_by_scanning_the_screen_and_watch_the_count(browser):
    from bot.wechat.simulator import WeChatSimulator, event_xml
    from domain.events import Events, Occurrence, parse_scene
    from domain.profiles import Profiles
    from tests.helpers import APPID, TOKEN, post_signed

    bot = browser.site.bot
    events = Events(bot.redis)
    start = (time.time() + 900) // 60 * 60
    occ = events.save(Occurrence(id="elder@1", event_id="elder", title="白石坡社区养老院敬老服务", description="",
                                 place="白石坡社区养老院", start=start, end=start + 2 * 3600, capacity=30,
                                 signup_deadline=start - 3600, cancel_cutoff=start - 86400))
    for i in range(12):
        Profiles(bot.redis).save_contact(f"o_v{i}", "志愿者", "13800138000")
        events.sign_up(occ, f"o_v{i}")
    signed_in(browser)
    browser.open(f"/admin/events/{occ.number}/checkin")
    assert browser.d.find_element(By.CSS_SELECTOR, "#qr-checkin svg")
    text = browser.text()
    assert f"签到 {events.code(occ.id)}" in text and "0 / 12 人" in text.replace("\n", " ")
    qrcodes = requests.get(browser.site.fake_url + "/_fake/qrcodes").json()["qrcodes"]
    checkin_scene = next(q["scene"] for q in qrcodes if parse_scene(q["scene"])[0] == "checkin")
    sim = WeChatSimulator(TOKEN, "", APPID)
    for i in range(3):  # three volunteers scan the code on the screen
        reply = post_signed(browser.site.url + "/wechat", sim, event_xml(f"o_v{i}", "SCAN", checkin_scene))
        assert "签到成功" in reply
    browser.wait_for(lambda: browser.d.find_element(By.ID, "checked-in").text == "3", timeout=12)
    browser.shot("checkin-screen")
    browser.shot("checkin-phone", width=390)


def test_download_an_event_export_and_it_is_in_the_audit_log(browser):
    from openpyxl import load_workbook

    from domain.events import Events, Occurrence
    from domain.profiles import Profiles

    bot = browser.site.bot
    events = Events(bot.redis)
    start = (time.time() + 3 * 86400) // 60 * 60
    occ = events.save(Occurrence(id="river@1", event_id="river", title="三干渠护河", description="", place="三干渠",
                                 start=start, end=start + 7200, capacity=10, signup_deadline=start - 3600,
                                 cancel_cutoff=start - 86400))
    Profiles(bot.redis).save_contact("o_a", "张小明", "13800138000")
    events.sign_up(occ, "o_a")
    signed_in(browser)
    browser.open(f"/admin/events/{occ.number}")
    assert "张*明" in browser.text() and "13800138000" not in browser.text()
    browser.shot("event-detail")
    browser.click("下载完整名单（Excel，含手机号）", navigates=False)
    files = browser.wait_for(lambda: [f for f in browser.d.download_dir.glob("*.xlsx")], timeout=10)
    rows = list(load_workbook(files[0]).active.iter_rows(values_only=True))
    assert rows[1][2:4] == ("张小明", "13800138000")
    browser.open("/admin/staff/audit")
    assert "三干渠护河" in browser.text() and "下载" in browser.text()
    browser.shot("audit-log")


def test_an_organiser_is_refused_the_jobs_pages(browser):
    signed_in(browser, "organiser")
    assert "就业岗位" not in browser.d.find_element(By.CSS_SELECTOR, "nav.sections").text
    browser.open("/admin/jobs/")
    assert "无权访问" in browser.text()
    browser.open("/admin/people/")
    assert "无权访问" in browser.text()
    browser.shot("organiser-refused", width=390)


def test_record_a_hire_and_broadcast_a_notice(browser):
    from selenium.webdriver.support.ui import Select

    from domain.followers import Followers
    from domain.jobs import Jobs
    from domain.profiles import Profiles

    bot = browser.site.bot
    demo_loaded(bot)
    jobs = Jobs(bot.redis)
    p = jobs.by_number(1)
    Profiles(bot.redis).save_contact("o_a", "张小明", "13800138000")
    Followers(bot.redis).subscribe("o_a")
    jobs.register_interest(p, "o_a", "有B2驾照", time.time())
    signed_in(browser, "admin")
    browser.shot("dashboard")
    browser.shot("dashboard-phone", width=390)
    browser.click("就业岗位")
    browser.shot("jobs")
    browser.open(f"/admin/jobs/{p.number}")
    Select(browser.d.find_element(By.CSS_SELECTOR, "select[name=outcome]")).select_by_visible_text("已录用")
    browser.click("保存")
    assert "已记录：已录用" in browser.text() and jobs.interested(p.id)[0][2] == "hired"
    browser.shot("posting")
    browser.click("推送")
    Select(browser.d.find_element(By.ID, "segment")).select_by_visible_text("全部关注者")
    browser.fill("text", "本周六上午9点，街道团委在凯旋城社区开展护河行动，欢迎报名！").click("预览")
    assert "确认群发" in browser.text()
    browser.shot("broadcast-preview")
    browser.click(browser.d.find_element(By.CSS_SELECTOR, "main form button").text)
    assert "群发：全部关注者" in browser.text()
    assert any(i["text"].startswith("本周六上午9点") for i in bot.outbox.pending())


def test_screenshots_of_the_other_pages(browser):

    bot = browser.site.bot
    demo_loaded(bot)
    signed_in(browser, "admin")
    for path, name in (("/admin/quizzes/", "quizzes"), ("/admin/events/", "events"), ("/admin/pushes/", "pushes"),
                       ("/admin/people/?q=1380", "people"), ("/admin/staff/", "staff")):
        browser.open(path)
        assert "错误" not in browser.d.title
        browser.shot(name)
