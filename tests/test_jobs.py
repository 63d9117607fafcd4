"""Job postings: browse and search, interest with consent, privacy for employers, alerts, figures."""
from __future__ import annotations

import time

import pytest


from bot.pushes import tasks
from domain.jobs import Jobs
from domain.profiles import Profiles
from tests.helpers import posting, with_profile
from tests.helpers import demo_loaded


@pytest.fixture
def jobs(bot):
    j = Jobs(bot.redis)
    for p in [posting("a", "货车司机"), posting("b", "护理员", "医疗护理", "区人民医院"),
              posting("c", "叉车司机", status="filled"), posting("d", "临时理货员", "客服销售", days_ago=40),
              posting("e", "网约车司机", employer="城际出行", experience="C1驾照")]:
        j.save(p)
    return j


def interested(wechat, posting, openid="o_alice"):
    """Register interest in posting through chat, with no note."""
    wechat.send(f"投递 {posting.number}", openid=openid)
    return wechat.send("跳过", openid=openid)


def test_demo_fair_has_20_open_postings_and_some_expired_and_filled(bot):
    demo_loaded(bot)
    j, now = Jobs(bot.redis), time.time()
    states = [p.state(now) for p in j.all()]
    assert states.count("open") >= 20 and "expired" in states and "filled" in states
    assert len(j.categories(now)) >= 5


def test_home_lists_categories_and_newest_without_closed_ones(wechat, jobs):
    home = wechat.send("岗位")
    assert "共3个在招" in home and "物流司机(2)" in home and "医疗护理(1)" in home
    assert "货车司机" in home and "叉车司机" not in home and "临时理货员" not in home


def test_details_never_show_the_employers_contact(wechat, jobs):
    p = jobs.get("a")
    detail = wechat.send(f"岗位 {p.number}")
    assert "货车司机" in detail and "驾龄2年" in detail and f"投递 {p.number}" in detail
    assert "0724" not in detail and "王经理" not in detail


def test_search_finds_title_employer_and_requirements(wechat, jobs):
    found = wechat.send("搜 司机")
    assert "货车司机" in found and "网约车司机" in found and "叉车司机" not in found
    assert "网约车司机" in wechat.send("岗位 C1") and "货车司机" not in wechat.send("岗位 C1")
    assert "护理员" in wechat.send("找 医院")
    assert "没有找到" in wechat.send("搜 宇航员")


def test_interest_asks_consent_once_then_a_note(wechat, jobs, bot):
    p = jobs.get("a")
    assert "个人信息说明" in wechat.send(f"投递 {p.number}")
    wechat.send("同意")
    wechat.send("张小明")
    note_prompt = wechat.send("13800138000")
    assert "已记录：张小明，138****8000" in note_prompt and "跳过" in note_prompt
    done = wechat.send("高中毕业，B2驾照3年")
    assert "已登记你对「货车司机」" in done and "138****8000" in done
    assert jobs.interested("a")[0][3] == "高中毕业，B2驾照3年"
    b = jobs.get("b")
    assert "补充一句" in wechat.send(f"意向 {b.number}")  # no second consent
    assert "已登记" in wechat.send("跳过")


def test_closed_postings_say_why(wechat, jobs, bot):
    with_profile(bot)
    assert "已招满" in wechat.send(f"投递 {jobs.get('c').number}")
    assert "已过期" in wechat.send(f"投递 {jobs.get('d').number}")
    assert "没有编号为999的岗位" in wechat.send("投递 999")


def test_outcomes_recorded_by_staff_show_in_my_interests(wechat, jobs, bot, cli):
    with_profile(bot)
    p = jobs.get("a")
    interested(wechat, p)
    assert "等待单位联系" in wechat.send("我的投递")
    code, out = cli("jobs", "outcome", str(p.number), "13800138000", "hired")
    assert code == 0 and "138****8000" in out and "13800138000" not in out
    assert "已录用" in wechat.send("我的投递")
    code, out = cli("jobs", "outcome", str(p.number), "13999999999", "hired")
    assert code != 0


def test_an_employer_sees_only_people_interested_in_their_posting(wechat, jobs, bot, cli, tmp_path):
    with_profile(bot, "o_alice")
    Profiles(bot.redis).save_contact("o_bob", "李雷", "13900139000")
    for openid, pid in [("o_alice", "a"), ("o_bob", "b")]:
        interested(wechat, jobs.get(pid), openid)
    code, out = cli("jobs", "export", str(jobs.get("a").number), "--out", str(tmp_path / "a.csv"))
    text = (tmp_path / "a.csv").read_text(encoding="utf-8-sig")
    assert code == 0 and "张小明,13800138000" in text and "李雷" not in text and "13900139000" not in text


def test_daily_digest_once_a_day_in_the_chosen_category(wechat, jobs, bot, pushing):
    deliverer, fake = pushing
    assert "已订阅「物流司机」" in wechat.send("订阅岗位 物流司机")
    assert "没有「宇航」这个类别" in wechat.send("订阅岗位 宇航")
    now = time.time()
    assert tasks.job_digest(bot, deliverer, now) == {"sent": 1}
    assert tasks.job_digest(bot, deliverer, now) == {}
    text = fake.messages[0]["text"]
    assert "货车司机" in text and "网约车司机" in text and "护理员" not in text
    assert "已退订" in wechat.send("退订岗位")


def test_figures_per_category_and_fair(wechat, jobs, bot, cli):
    with_profile(bot)
    interested(wechat, jobs.get("a"))
    jobs.set_outcome("a", "o_alice", "hired")
    code, out = cli("jobs", "stats")
    line = next(row for row in out.splitlines() if row.startswith("物流司机"))
    assert code == 0 and line.split()[1:] == ["3", "6", "1", "1"]  # postings, positions, interest, hired


def test_a_posting_sheet_loads_and_errors_name_row_and_column(bot, tmp_path, cli):
    (tmp_path / "jobs").mkdir()
    header = "编号,用人单位,岗位,类别,薪资,工作地点,学历要求,经验要求,招聘人数,联系方式,发布日期,截止日期,状态\n"
    (tmp_path / "jobs" / "sheet.csv").write_text(
        header + "x1,华明电器,电工,制造技工,6000元/月,工业园,中专,电工证,2,孙经理,2026-11-20,,招聘中\n", encoding="utf-8")
    code, out = cli("content", "load", str(tmp_path))
    assert code == 0 and "1 jobs" in out and Jobs(bot.redis).get("x1").headcount == 2
    (tmp_path / "jobs" / "sheet.csv").write_text(
        header + "x2,华明电器,电工,制造技工,,,,,两个,孙经理,2026-11-20,,招聘中\n", encoding="utf-8")
    code, out = cli("content", "load", str(tmp_path))
    assert code != 0 and "sheet.csv 第2行「招聘人数」" in out


def test_deleting_my_data_withdraws_interests(wechat, jobs, bot):
    with_profile(bot)
    interested(wechat, jobs.get("a"))
    wechat.send("订阅岗位")
    wechat.send("删除我的信息")
    assert "已删除" in wechat.send("确认删除")
    assert jobs.interested("a") == [] and jobs.subscription("o_alice") is None
    assert "还没有投递" in wechat.send("我的投递")
