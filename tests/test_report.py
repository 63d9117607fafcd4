"""The half-year report: every figure from a known history, the period's edges, the empty period, the files."""
from __future__ import annotations

import re
import shutil
import subprocess
import time
import warnings
from datetime import date

import pytest
from docx import Document
from openpyxl import load_workbook

from domain import clock
from domain.followers import Followers
from bot.pushes.delivery import Push
from bot.report import make
from bot.report.words import approx, cn_number
from domain.events import Events, Occurrence
from domain.halfyear import Period, compute
from domain.jobs import Jobs, Posting
from domain.outcomes import OutcomeError, Outcomes, Programme, parse_items
from domain.profiles import BRANCHES, Profiles
from domain.push_log import record_history
from domain.quiz import Question, Quiz, Session

H1 = Period.of_days(date(2026, 1, 1), date(2026, 6, 30))
AFTER_H1 = clock.parse_when("2026-07-10 12:00")  # when the H1 report is made
T = clock.parse_when


def session(quiz, sid, opens, closes):
    s = Session(sid, f"第{sid}期", "学习内容", T(opens), T(closes),
                [Question(f"题{i}", "single", ["甲", "乙"], "A") for i in range(3)])
    quiz.save_session(s)
    return s


def take(quiz, openid, s, start, right):
    """Answer the three questions as the chat handler does, 10 s apart; `right` of them correctly."""
    at = T(start)
    quiz.start(openid, s, at)
    for i in range(3):
        quiz.answer(openid, s, "A" if i < right else "B", at + 10 * (i + 1))


def event(events, eid, category, start, end, kind="volunteer", **extra):
    occ = Occurrence(id=f"{eid}@1", event_id=eid, title=f"活动{eid}", description="", place=f"地点{eid}",
                     start=T(start), end=T(end), capacity=10, signup_deadline=T(start) - 3600,
                     cancel_cutoff=T(start) - 86400, kind=kind, category=category, **extra)
    return events.save(occ)


def attend(events, occ, openid, came, left):
    events.sign_up(occ, openid)
    assert events.check_in(openid, events.code(occ.id), T(came))[0] == "ok"
    if left:
        assert events.check_out(openid, T(left))[0] == "ok"


@pytest.fixture
def h1(bot):
    """A known first half of 2026, recorded through the domain calls the chat, CLI and console make."""
    r = bot.redis
    r.hset(BRANCHES, mapping={"b1": "一支部", "b2": "二支部"})
    profiles = Profiles(r)
    for openid, branch in (("m1", "b1"), ("m2", "b1"), ("m3", "b2"), ("m4", "b2")):
        profiles.set_branch(openid, branch)
    quiz = Quiz(r)
    s0 = session(quiz, "s0", "2025-12-29 08:00", "2026-01-05 08:00")  # before the period
    s1 = session(quiz, "s1", "2026-01-05 08:00", "2026-01-12 08:00")
    s2 = session(quiz, "s2", "2026-02-02 08:00", "2026-02-09 08:00")
    s3 = session(quiz, "s3", "2026-03-02 08:00", "2026-03-09 08:00")
    s4 = session(quiz, "s4", "2026-06-29 08:00", "2026-07-06 08:00")  # closes after the period
    take(quiz, "m1", s0, "2025-12-30 10:00", 3)
    take(quiz, "m1", s1, "2026-01-06 10:00", 3)
    take(quiz, "m3", s1, "2026-01-06 11:00", 1)
    take(quiz, "x1", s1, "2026-01-07 10:00", 2)  # not in a branch
    take(quiz, "m1", s2, "2026-02-03 10:00", 3)
    take(quiz, "m2", s2, "2026-02-03 10:00", 3)
    take(quiz, "m1", s3, "2026-03-03 10:00", 2)
    take(quiz, "m3", s3, "2026-03-03 10:00", 3)
    take(quiz, "m4", s3, "2026-03-04 10:00", 0)
    take(quiz, "m2", s4, "2026-06-30 23:59", 3)  # done on the last evening: counts
    take(quiz, "m4", s4, "2026-07-02 10:00", 3)  # done after the period: left out

    events, outcomes = Events(r), Outcomes(r)
    e1 = event(events, "e1", "敬老", "2026-01-10 09:00", "2026-01-10 11:00")
    attend(events, e1, "v1", "2026-01-10 08:50", "2026-01-10 11:10")  # 120 min
    attend(events, e1, "v2", "2026-01-10 09:00", "2026-01-10 10:00")  # half the time: no hours
    events.sign_up(e1, "v3")  # signed up, never came
    outcomes.record(e1, served=30, items=["书包=50", "图书 500册"], services=["义诊", "义剪"], partners=["养老院"],
                    note="为老人送上水果。", walk_ins=2, now=T("2026-01-10 12:00"))
    e2 = event(events, "e2", "护河", "2026-06-30 22:00", "2026-07-01 01:00")  # straddles the end
    attend(events, e2, "v1", "2026-06-30 21:50", "2026-07-01 01:05")  # 180 min
    event(events, "e3", "洁城", "2026-07-02 09:00", "2026-07-02 11:00")  # after the period
    cancelled = event(events, "e4", "护河", "2026-03-01 09:00", "2026-03-01 11:00")
    attend(events, cancelled, "v2", "2026-03-01 09:00", "2026-03-01 11:00")
    events.set_status(cancelled, "cancelled")
    event(events, "e5", "洁城", "2026-03-03 09:00", "2026-03-03 11:00")  # nobody came, no outcome
    outcomes.save_programme(Programme("p1", "希望家园授课", "希望家园", T("2026-04-01"), T("2026-05-01"),
                                      ["甲社区", "乙社区", "丙社区"], ["丙社区"]))
    e6 = event(events, "e6", "希望家园", "2026-04-02 09:00", "2026-04-02 10:00", programme="p1", site="甲社区")
    attend(events, e6, "v4", "2026-04-02 09:00", "2026-04-02 10:00")  # 60 min
    outcomes.record(e6, served=12, now=T("2026-04-02 11:00"))
    e7 = event(events, "e7", "希望家园", "2026-04-30 15:00", "2026-04-30 17:00", programme="p1")
    attend(events, e7, "v4", "2026-04-30 15:00", "2026-04-30 17:00")  # 120 min
    attend(events, e7, "v5", "2026-04-30 14:30", "2026-04-30 17:30")  # 120 min (capped)
    outcomes.record(e7, served=100, acts=7, partners=["大学"], now=T("2026-04-30 18:00"))

    jobs = Jobs(r)
    event(events, "fair1", "招聘会", "2026-03-10 09:00", "2026-03-10 12:00", kind="job_fair")

    def posting(pid, employer, category, headcount, published, fair=""):
        return jobs.save(Posting(pid, employer, "岗位" + pid, category, "面议", "", "不限", "不限", headcount, "联系人",
                                 T(published), T(published) + 30 * 86400, fair=fair))

    p1 = posting("p1", "甲公司", "物流", 5, "2026-03-01", "fair1")
    p2 = posting("p2", "乙医院", "护理", 3, "2026-03-02", "fair1")
    p3 = posting("p3", "甲公司", "物流", 2, "2026-07-03", "fair1")  # published after the period
    p4 = posting("p4", "丙所", "文员", 1, "2026-02-01")
    for p, openid, at in ((p1, "u1", "2026-03-10 10:00"), (p1, "u2", "2026-03-10 10:05"),
                          (p2, "u1", "2026-03-10 10:10"), (p4, "u3", "2026-02-02 10:00"),
                          (p3, "u4", "2026-07-04 10:00")):
        assert jobs.register_interest(p, openid, "", T(at)) == "ok"
    jobs.set_outcome("p1", "u1", "hired")
    jobs.set_outcome("p4", "u3", "hired")
    jobs.set_outcome("p3", "u4", "hired")

    followers = Followers(r)
    followers.subscribe("f1", T("2025-12-30 10:00"))
    followers.subscribe("f2", T("2026-01-05 10:00"))
    followers.subscribe("f3", T("2026-02-01 10:00"))
    followers.unsubscribe("f3", T("2026-03-01 10:00"))
    followers.subscribe("f4", T("2026-07-02 10:00"))
    pipe = r.pipeline()
    followers.touch(pipe, "f2", T("2026-01-05 10:00"))
    followers.touch(pipe, "f1", T("2026-05-01 10:00"))
    followers.touch(pipe, "f4", T("2026-07-02 10:00"))
    pipe.execute()
    record_history(r, "20260105", "quiz_open", "sent", 10)
    record_history(r, "20260105", "quiz_open", "skipped", 2)
    record_history(r, "20260701", "quiz_open", "sent", 7)
    return bot


def test_study_figures_count_sessions_opened_in_the_period_and_attempts_done_by_its_end(h1):
    s = compute(h1.redis, H1, AFTER_H1).study
    assert [r.id for r in s.sessions] == ["s1", "s2", "s3", "s4"]
    assert [r.participants for r in s.sessions] == [["m1", "m3", "x1"], ["m1", "m2"], ["m1", "m3", "m4"], ["m2"]]
    assert [r.after_period for r in s.sessions] == [0, 0, 0, 1]
    assert s.participants == ["m1", "m2", "m3", "m4", "x1"]
    assert s.completed_by == {"m1": 3, "m2": 2, "m3": 2, "m4": 1, "x1": 1}
    assert s.threshold == 2 and s.regular == ["m1", "m2", "m3"]
    assert s.attempts == 9
    assert [round(r.average, 2) for r in s.sessions] == [round((100 + 100 / 3 + 200 / 3) / 3, 2), 100.0,
                                                          round((200 / 3 + 100 + 0) / 3, 2), 100.0]
    b1, b2 = s.branches
    assert (b1.name, b1.members, b1.completions, b1.possible, b1.rate) == ("一支部", 2, 5, 8, 0.625)
    assert (b1.first_rate, b1.second_rate) == (0.75, 0.5)
    assert (b2.completions, b2.possible, b2.rate, b2.first_rate, b2.second_rate) == (3, 8, 0.375, 0.25, 0.5)
    assert round(b1.average, 2) == round((100 + 100 + 100 + 200 / 3 + 100) / 5, 2)  # m1 s1-s3, m2 s2 and s4
    assert round(b2.average, 2) == round((100 / 3 + 100 + 0) / 3, 2)
    assert s.most_improved is b2
    assert s.member_rate == 8 / 16


def test_volunteering_counts_activities_by_their_start_and_only_those_held(h1):
    v = compute(h1.redis, H1, AFTER_H1).volunteering
    t = v.total
    assert sorted(a.occurrence.event_id for a in t.activities) == ["e1", "e2", "e6", "e7"]
    assert [o.event_id for o in v.unrecorded] == ["e5"]
    assert t.volunteers == ["v1", "v2", "v4", "v5"] and t.walk_ins == 2 and t.people == 6
    assert t.minutes == 120 + 0 + 180 + 60 + 120 + 120 and t.hours == 10.0
    assert t.served == 30 + 12 + 100 and t.items == {"书包": 50, "图书": 500}
    assert [k.kind for k in v.kinds] == ["敬老", "希望家园", "护河"]
    elder, hope, river = v.kinds
    assert (elder.volunteers, elder.hours, elder.served, elder.services, elder.partners, elder.notes) == \
        (["v1", "v2"], 2.0, 30, ["义诊", "义剪"], ["养老院"], ["为老人送上水果。"])
    assert (river.volunteers, river.hours, river.served) == (["v1"], 3.0, 0)
    assert (hope.volunteers, hope.hours, hope.served) == (["v4", "v5"], 5.0, 112)
    (p,) = v.programmes
    assert p.programme.sites == ["甲社区", "乙社区", "丙社区"] and p.programme.new_sites == ["丙社区"]
    assert len(p.activities) == 2 and p.total.volunteers == ["v4", "v5"] and p.total.hours == 5.0
    assert [a.occurrence.event_id for a in p.performances] == ["e7"] and p.acts == 7
    assert p.sites_active == ["甲社区"]


def test_an_activity_straddling_the_end_is_reported_once_in_the_period_it_started(h1):
    h2 = compute(h1.redis, Period.of_days(date(2026, 7, 1), date(2026, 12, 31)), T("2027-01-05 09:00"))
    assert [a.occurrence.event_id for a in h2.volunteering.total.activities] == []
    assert [o.event_id for o in h2.volunteering.unrecorded] == ["e3"]
    assert [r.id for r in h2.study.sessions] == []  # s4 opened in H1
    assert [p.id for p in h2.jobs.all.postings] == ["p3"]


def test_jobs_figures_count_postings_published_in_the_period(h1):
    j = compute(h1.redis, H1, AFTER_H1).jobs
    assert [f.occurrence.event_id for f in j.fairs] == ["fair1"]
    fair = j.fairs[0].postings
    assert ([p.id for p in fair.postings], fair.headcount, fair.employers, fair.hires) == \
        (["p1", "p2"], 8, ["甲公司", "乙医院"], 1)
    a = j.all
    assert [p.id for p in a.postings] == ["p4", "p1", "p2"]
    assert (a.headcount, a.employers, a.interested, a.registrations, a.hires) == \
        (9, ["丙所", "甲公司", "乙医院"], ["u1", "u2", "u3"], 4, 2)
    assert [(c.name, c.headcount, c.hires) for c in j.categories] == [("物流", 5, 1), ("护理", 3, 0), ("文员", 1, 1)]


def test_reach_counts_follows_unfollows_writers_and_pushes_in_the_period(h1):
    r = compute(h1.redis, H1, AFTER_H1).reach
    assert (r.gained, r.lost, r.active) == (["f2", "f3"], ["f3"], ["f1", "f2"])
    assert r.followers_now == 3  # f1, f2, f4
    assert r.pushes_sent == 10 and r.pushes_by("skipped") == {"quiz_open": 2}


def test_every_figure_has_its_list_behind_it(h1):
    figures = {f.label: f for f in compute(h1.redis, H1, AFTER_H1).figures()}
    assert figures["参与答题人数（去重）"].value == 5 and figures["参与答题人数（去重）"].basis == ["m1", "m2", "m3", "m4", "x1"]
    assert figures["签到志愿者（去重）"].value == 4
    assert figures["志愿服务时长"].basis == [("e1@1", 120), ("e6@1", 60), ("e7@1", 240), ("e2@1", 180)]
    assert figures["捐赠书包"].value == 50 and figures["捐赠书包"].basis == [("e1@1", 50)]
    assert figures["签约录用"].basis == [("p4", "u3"), ("p1", "u1")]  # postings in the order published
    assert figures["希望家园授课：节目"].value == 7
    assert figures["进步最快支部：二支部（完成率提高，百分点）"].value == 25.0
    assert figures["新增关注"].value == 2 and figures["推送消息"].value == 10
    assert all(isinstance(f.basis, list) for f in figures.values())


def test_an_empty_period_says_so_and_divides_by_nothing(h1, tmp_path):
    period = Period.of_days(date(2025, 1, 1), date(2025, 1, 31))
    report = make(h1.redis, period, h1.settings.content_dir, now=T("2026-07-10 12:00"))
    assert report.figures.empty
    assert report.figures.study.member_rate == 0.0 and report.figures.study.most_improved is None
    assert all(f.value == 0 for f in report.figures.figures() if f.label != "当前关注人数")
    assert report.charts == {}
    doc = Document(report.docx(tmp_path / "empty.docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "没有学习、志愿服务、就业或关注的记录" in text and "2025年1月1日至1月31日" in text
    assert len(doc.tables) == 1 and load_workbook(report.xlsx(tmp_path / "empty.xlsx")).sheetnames == \
        ["学习", "志愿服务", "就业", "网上阵地"]


def test_periods_read_as_the_committee_names_them():
    assert H1.label() == "2026年上半年"
    assert Period.of_days(date(2026, 7, 1), date(2026, 12, 31)).label() == "2026年下半年"
    assert Period.of_days(date(2026, 1, 1), date(2026, 12, 31)).label() == "2026年"
    assert Period.of_days(date(2026, 5, 30), date(2026, 11, 26)).label() == "2026年5月30日至11月26日"
    with pytest.raises(ValueError):
        Period.parse("2026-07-01", "2026-06-30")


def test_counts_read_approximately_and_small_ones_exactly():
    assert [approx(n) for n in (7, 15, 20, 34, 87, 158, 526, 3012, 1480.5)] == \
        ["7", "15", "20", "30余", "80余", "150余", "520余", "3000余", "1400余"]
    assert [cn_number(n) for n in (5, 10, 12, 20, 35)] == ["五", "十", "十二", "二十", "三十五"]


def test_an_outcome_is_checked_and_says_what_is_wrong(bot):
    events, outcomes = Events(bot.redis), Outcomes(bot.redis)
    occ = event(events, "x", "捐赠", "2026-03-01 09:00", "2026-03-01 11:00")
    assert parse_items("书包=50，图书：500册\n书包 4") == {"书包": 54, "图书": 500}
    with pytest.raises(OutcomeError, match="还没有开始"):
        outcomes.record(occ, served=3, now=T("2026-02-28 09:00"))
    with pytest.raises(OutcomeError, match="名称=数量"):
        outcomes.record(occ, items=["书包五十个"], now=T("2026-03-02 09:00"))
    with pytest.raises(OutcomeError, match="服务人数"):
        outcomes.record(occ, served=-1, now=T("2026-03-02 09:00"))
    first = outcomes.record(occ, served=3, partners="小学、小学，社区", now=T("2026-03-02 09:00"))
    again = outcomes.record(occ, served=4, now=T("2026-03-03 09:00"))
    assert first.partners == ["小学", "社区"]
    assert (again.served, again.recorded_at, again.updated_at) == (4, T("2026-03-02 09:00"), T("2026-03-03 09:00"))


def test_the_word_report_has_each_section_the_figures_table_and_the_charts(h1, tmp_path):
    report = make(h1.redis, H1, h1.settings.content_dir, now=AFTER_H1)
    path = report.docx(tmp_path / "r.docx")
    doc = Document(path)
    text = "\n".join(p.text for p in doc.paragraphs)
    assert doc.paragraphs[0].text == "2026年街道团委上半年工作总结"
    for heading in ("强化学习", "志愿服务，团群关系", "四点半课堂", "希望家园", "青年就业", "网上服务", "主要数据一览"):
        assert heading in text
    assert "共推出学习内容4期，5人参与网络答题" in text and "二支部进步最快，完成率由前半段的25.0%提高到后半段的50.0%" in text
    assert "一是开展敬老活动，弘扬传统美德。" in text and "送上书包50个、图书500册" in text
    assert "在甲社区一个社区开展" in text  # the sites activities were recorded at, of the programme's three
    assert "活动结束后，1个点共推送7个节目，举办了“活动e7”" in text
    assert "2家用人单位为辖区青年提供就业岗位8个，并现场签约1人" in text
    (table,) = doc.tables
    figures = report.figures.figures()
    rows = [[c.text for c in row.cells] for row in table.rows]
    assert rows[0] == ["指标", "数值", "单位"]
    assert ["签约录用", "2", "人"] in rows and ["志愿服务时长", "10", "小时"] in rows
    assert len(rows) == 1 + len(figures) + len({f.section for f in figures})
    assert len(doc.inline_shapes) == 3  # participation, hours per kind, positions and hires
    wb = load_workbook(report.xlsx(tmp_path / "r.xlsx"))
    assert wb.sheetnames == ["学习", "志愿服务", "就业", "网上阵地"]
    cells = [c.value for row in wb["就业"].iter_rows() for c in row]
    assert "签约录用" in cells and "p4" in cells


def test_charts_find_a_chinese_font_and_miss_no_glyph(h1):
    from bot.report.charts import all_charts, cjk_family

    report = make(h1.redis, H1, h1.settings.content_dir, now=AFTER_H1)
    assert cjk_family() != "DejaVu Sans"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        charts = all_charts(report.figures, report.words["charts"])
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert set(charts) == {"study", "volunteering", "jobs"}
    assert all(png.startswith(b"\x89PNG") for _, png in charts.values())


@pytest.mark.slow  # starts LibreOffice
@pytest.mark.skipif(not shutil.which("soffice") or not shutil.which("pdftoppm"),
                    reason="LibreOffice and poppler-utils are not installed")
def test_the_word_report_renders_its_chinese_in_an_embedded_cjk_font(h1, tmp_path):
    make(h1.redis, H1, h1.settings.content_dir, now=AFTER_H1).docx(tmp_path / "r.docx")
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(tmp_path / "r.docx")], check=True, capture_output=True, timeout=180)
    fonts = subprocess.run(["pdffonts", str(tmp_path / "r.pdf")], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:]]
    cjk = [r[0] for r in rows if re.search(r"CJK|Sim|Song|Hei|Kai|Han|WenQuanYi", r[0])]
    assert cjk, fonts
    assert all("yes" in r[-5:-2] for r in rows), fonts  # every font embedded
    text = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True).stdout
    flat = re.sub(r"\s+", "", text)
    assert "2026年街道团委上半年工作总结" in flat and "现场签约1人" in flat and "主要数据一览" in flat
    subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "1", "-png", str(tmp_path / "r.pdf"),
                    str(tmp_path / "page")], check=True)
    (page,) = tmp_path.glob("page-*.png")
    assert page.stat().st_size > 5000  # a page with text on it, not a blank one


def test_the_month_so_far_through_the_webhook_chat_and_cli(bot, wechat, pushing, cli, tmp_path):
    """Follows, a quiz answered in chat, a check-in with the organiser's code, an outcome from the CLI, a push."""
    deliverer, fake = pushing
    now = time.time()
    bot.redis.hset(BRANCHES, mapping={"b1": "一支部"})
    Profiles(bot.redis).set_branch("o_alice", "b1")
    quiz = Quiz(bot.redis)
    s = Session("now", "本周学习", "学习内容", now - 3600, now + 86400, [Question("题", "judge", [], "T")])
    quiz.save_session(s)
    events = Events(bot.redis)
    occ = events.save(Occurrence(id="river@now", event_id="river", title="护河", description="", place="三干渠",
                                 start=now - 1800, end=now + 1800, capacity=5, signup_deadline=now - 7200,
                                 cancel_cutoff=now - 86400, category="护河"))
    events.sign_up(occ, "o_alice")
    wechat.event("subscribe", openid="o_alice")
    wechat.event("subscribe", openid="o_bob")
    wechat.event("unsubscribe", openid="o_bob")
    assert "第1题/共1题" in wechat.send("答题")
    assert "本期答题完成" in wechat.send("对")
    assert "签到成功" in wechat.send(f"签到 {events.code(occ.id)}")
    assert "不计入志愿时长" in wechat.send("签退")  # checked out at once: a volunteer, with no hours
    assert str(deliverer.deliver(Push("o_alice", "提醒", "quiz_reminder", "quiz_reminder:now:o_alice"))) == "sent"
    code, out = cli("events", "outcome", str(occ.number), "--served", "5", "--item", "垃圾袋=20", "--partner",
                    "社区", "--note", "清理河岸垃圾。")
    assert code == 0 and "served 5" in out
    code, out = cli("events", "outcome", "999")
    assert code != 0 and "no event number 999" in out

    h = compute(bot.redis, Period.parse("today", "today"))
    assert h.study.participants == ["o_alice"] and h.study.branches[0].completions == 1
    assert h.volunteering.total.volunteers == ["o_alice"] and h.volunteering.total.served == 5
    assert h.volunteering.total.minutes == 0 and h.volunteering.total.items == {"垃圾袋": 20}
    assert (h.reach.gained, h.reach.lost, h.reach.active) == (["o_alice", "o_bob"], ["o_bob"], ["o_alice", "o_bob"])
    assert h.reach.pushes_sent == 1
    code, out = cli("report", "--from", "today", "--to", "today", "--out", str(tmp_path / "r.docx"),
                    "--xlsx", str(tmp_path / "r.xlsx"))
    assert code == 0 and "report written" in out and "volunteers 1" in out
    text = "\n".join(p.text for p in Document(tmp_path / "r.docx").paragraphs)
    assert "共推出学习内容1期，1人参与网络答题" in text and "清理河岸垃圾。" in text
    code, out = cli("report", "--from", "2026-07-01", "--to", "2026-06-30")
    assert code != 0 and "before it starts" in out


def test_the_console_page_shows_the_figures_and_offers_the_files(h1, console_as):
    admin = console_as("admin")
    page = admin.client.get("/admin/report/?from=2026-01-01&to=2026-06-30")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "2026年街道团委上半年工作总结" in html
    assert "团委工作台" in html and 'class="here">工作总结</a>' in html  # the console's page, its menu entry lit
    assert "现场签约1人" in html and "data:image/png;base64," in html and "主要数据一览" in html
    assert "活动e5" in html  # an activity nobody recorded is pointed out
    docx = admin.client.get("/admin/report/report.docx?from=2026-01-01&to=2026-06-30")
    assert docx.status_code == 200 and docx.data[:2] == b"PK" and "attachment" in docx.headers["Content-Disposition"]
    xlsx = admin.client.get("/admin/report/figures.xlsx?from=2026-01-01&to=2026-06-30")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    for query in ("from=2026-13-01&to=2026-06-30", "from=2026-07-01&to=2026-06-30", "from=1990-01-01&to=2026-01-01"):
        bad = admin.client.get(f"/admin/report/?{query}")
        assert bad.status_code == 400 and 'role="alert"' in bad.get_data(as_text=True)
    assert admin.client.get("/admin/report/report.docx?from=x&to=y").status_code == 400
    today = clock.local(time.time()).date()
    assert f'value="{today}"' in admin.client.get("/admin/report/").get_data(as_text=True)  # the last 180 days
    for role in ("organiser", "jobs"):
        assert console_as(role).client.get("/admin/report/").status_code == 403
    assert console_as("jobs", "jobs2").client.get("/admin/report/report.docx").status_code == 403


def test_the_report_files_hold_no_personal_data_so_downloads_are_not_audited(h1, console_as, tmp_path):
    from docx import Document

    from domain.audit import Audit

    Profiles(h1.redis).save_contact("v1", "王小红", "13800138001")  # a volunteer who gave name and phone
    Profiles(h1.redis).save_contact("m1", "李明", "13900139002")  # a member who took the quizzes
    admin = console_as("admin")
    query = "from=2026-01-01&to=2026-06-30"
    docx = admin.client.get(f"/admin/report/report.docx?{query}").data
    xlsx = admin.client.get(f"/admin/report/figures.xlsx?{query}").data
    (tmp_path / "r.docx").write_bytes(docx)
    (tmp_path / "r.xlsx").write_bytes(xlsx)
    doc = Document(tmp_path / "r.docx")
    words = "\n".join([p.text for p in doc.paragraphs] + [c.text for t in doc.tables for r in t.rows for c in r.cells])
    wb = load_workbook(tmp_path / "r.xlsx")
    cells = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    people = ["m1", "m2", "m3", "m4", "x1", "v1", "v2", "v4", "v5", "u1", "u2", "u3", "f1", "f2"]  # the openids
    for secret in people + ["王小红", "李明", "13800138001", "13900139002", "138****8001"]:
        assert secret not in words and secret not in cells, secret
    # the lists behind the figures are still there, one row per person
    assert {"参与者1", "参与者5", "志愿者1", "志愿者4"} <= set(cells) and "参与者6" not in cells
    assert Audit(h1.redis).count() == 0  # nothing personal left the console


@pytest.mark.slow  # loads the whole demo
def test_the_demo_half_year_gives_a_full_report_and_pushes_to_nobody_made_up(bot, cli, tmp_path):
    from bot import importers
    from domain.followers import ACTIVE

    importers.load_dir(bot, bot.settings.content_dir, demo=True)
    h = compute(bot.redis, Period.parse("today-180", "today"))
    assert len(h.study.sessions) == 26 and len(h.study.participants) == 160 and h.study.most_improved
    assert [k.kind for k in h.volunteering.kinds] == ["敬老", "义诊", "捐赠", "四点半课堂", "希望家园", "护河", "洁城"]
    (hope,) = h.volunteering.programmes
    assert len(hope.programme.sites) == 5 and len(hope.total.volunteers) == 15 and hope.acts == 13
    assert h.volunteering.kind("捐赠").items == {"书包": 54, "图书": 526}
    (fair,) = h.jobs.fairs
    assert (fair.postings.headcount, fair.postings.hires) == (87, 32)
    assert len(h.reach.gained) > 200 and h.reach.pushes_sent > 1000 and h.reach.followers_now > 500
    assert bot.redis.scard(ACTIVE) == 0  # the made-up followers are counted, never pushed to
    code, out = cli("report", "--out", str(tmp_path / "demo.docx"))
    assert code == 0 and "hires 32" in out
    text = "\n".join(p.text for p in Document(tmp_path / "demo.docx").paragraphs)
    assert "现场签约32人" in text and "5个点共推送13个节目" in text and "书包50余个、图书520余册" in text
