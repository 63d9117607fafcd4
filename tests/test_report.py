"""The half-year report: every figure from a known history, the period's edges, the empty period, the files."""
from __future__ import annotations

import re
import shutil
import subprocess
import time
import warnings
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
from docx import Document
from docx.oxml.ns import qn
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
from tests.helpers import demo_loaded

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
    jobs.set_outcome("p1", "u1", "hired", now=T("2026-03-10 11:00"))  # at the fair
    jobs.set_outcome("p4", "u3", "hired", now=T("2026-02-05 10:00"))
    jobs.set_outcome("p3", "u4", "hired", now=T("2026-07-05 10:00"))

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
    assert s.most_improved == [b2] and s.best == [b1]
    assert s.member_rate == 8 / 16


def test_volunteering_counts_activities_by_their_start_and_only_those_held(h1):
    v = compute(h1.redis, H1, AFTER_H1).volunteering
    t = v.total
    assert sorted(a.occurrence.event_id for a in t.activities) == ["e1", "e2", "e6", "e7"]
    assert [o.event_id for o in v.unrecorded] == ["e5"]
    assert t.volunteers == ["v1", "v2", "v4", "v5"] and t.walk_ins == 2 and t.people == 6
    assert t.minutes == 120 + 0 + 180 + 60 + 120 + 120 and t.hours == 10.0
    assert t.served == 30 + 12 and t.audience == 100 and t.items == {"书包": 50, "图书": 500}
    assert [k.kind for k in v.kinds] == ["敬老", "希望家园", "护河"]
    elder, hope, river = v.kinds
    assert (elder.volunteers, elder.hours, elder.served, elder.services, elder.partners, elder.notes) == \
        (["v1", "v2"], 2.0, 30, ["义诊", "义剪"], ["养老院"], ["为老人送上水果。"])
    assert (river.volunteers, river.hours, river.served) == (["v1"], 3.0, 0)
    assert (hope.volunteers, hope.hours, hope.served, hope.audience) == (["v4", "v5"], 5.0, 12, 100)
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
    assert figures["进步最快支部：二支部（完成率提高）"].value == 25.0
    assert figures["新增关注"].value == 2 and figures["推送消息"].value == 10
    assert all(isinstance(f.basis, list) for f in figures.values())


def test_an_empty_period_says_so_and_divides_by_nothing(h1, tmp_path):
    period = Period.of_days(date(2025, 1, 1), date(2025, 1, 31))
    report = make(h1.redis, period, h1.settings.content_dir, now=T("2026-07-10 12:00"))
    assert report.figures.empty
    assert report.figures.study.member_rate == 0.0 and report.figures.study.most_improved == []
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
    for heading in ("强化学习", "团群关系“暖起来”", "希望家园", "青年服务“强起来”", "网上服务", "主要数据一览"):
        assert heading in text
    assert "共推出学习内容4期，5人参与网络答题" in text and "二支部进步最快，完成率由前半段的25%提高到后半段的50%" in text
    assert "一是开展敬老活动，弘扬传统美德。" in text and "送上书包50个、图书500册" in text
    assert "在甲社区开展，共有2名志愿者参与" in text  # the site activities were recorded at, of the programme's three
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
    assert set(charts) == {"study", "volunteering", "services"}
    assert all(png.startswith(b"\x89PNG") for _, png in charts.values())


def test_the_same_figures_are_drawn_once_and_other_figures_again(h1, monkeypatch):
    """The report page and the Word file asked for after it show the same charts: drawn once."""
    from bot.report import charts

    report = make(h1.redis, H1, h1.settings.content_dir, now=AFTER_H1)
    drawn = []
    real = charts._png
    monkeypatch.setattr(charts, "_png", lambda fig: drawn.append(fig) or real(fig))
    charts._drawn.cache_clear()
    first = charts.all_charts(report.figures, report.words["charts"])
    assert len(drawn) == 3
    assert charts.all_charts(report.figures, report.words["charts"]) == first and len(drawn) == 3
    h1.redis.delete(*h1.redis.keys("yb:{quiz}:*"))  # other figures: the study chart changes
    other = make(h1.redis, H1, h1.settings.content_dir, now=AFTER_H1)
    again = charts.all_charts(other.figures, other.words["charts"])
    assert len(drawn) > 3 and again != first


RENDERING = pytest.mark.skipif(not shutil.which("soffice") or not shutil.which("pdftoppm"),
                               reason="LibreOffice and poppler-utils are not installed")


def render(docx: Path, out: Path) -> Path:
    """The Word file as LibreOffice prints it (PDF); LibreOffice is stopped, its whole process group, even when
    the conversion fails or hangs."""
    proc = subprocess.Popen(["soffice", "--headless", f"-env:UserInstallation=file://{out}/lo", "--convert-to", "pdf",
                             "--outdir", str(out), str(docx)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            import os
            import signal

            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    pdf = out / (docx.stem + ".pdf")
    assert proc.returncode == 0 and pdf.exists(), output
    return pdf


def blank_tail(pdf: Path, out: Path) -> list[float]:
    """For each page but the last: the share of its text area (inside the margins) left blank at the bottom."""
    from PIL import Image

    subprocess.run(["pdftoppm", "-r", "30", "-gray", "-png", str(pdf), str(out / "page")], check=True, timeout=120)
    pages = sorted(out.glob("page-*.png"), key=lambda f: int(f.stem.rpartition("-")[2]))
    shares = []
    for path in pages[:-1]:
        img = Image.open(path).convert("L")
        w, h = img.size
        top, bottom = round(h * 3.7 / 29.7), round(h * (29.7 - 3.5) / 29.7)  # the margins of bot/report/word.py
        inked = [y for y in range(top, bottom) if img.crop((0, y, w, y + 1)).getextrema()[0] < 160]
        shares.append((bottom - (max(inked) if inked else top)) / (bottom - top))
    return shares


@pytest.mark.slow  # starts LibreOffice
@RENDERING
def test_the_word_report_renders_its_chinese_in_an_embedded_cjk_font(h1, tmp_path):
    pdf = render(make(h1.redis, H1, h1.settings.content_dir, now=AFTER_H1).docx(tmp_path / "r.docx"), tmp_path)
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:]]
    cjk = [r[0] for r in rows if re.search(r"CJK|Sim|Song|Hei|Kai|Han|WenQuanYi", r[0])]
    assert cjk, fonts
    assert all("yes" in r[-5:-2] for r in rows), fonts  # every font embedded
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    flat = re.sub(r"\s+", "", text)
    assert "2026年街道团委上半年工作总结" in flat and "现场签约1人" in flat and "主要数据一览" in flat
    assert re.sub(r"\s+", "", text.strip().splitlines()[0]) == "2026年街道团委上半年工作总结"  # the title on one line
    assert "根据youthbot" not in flat and "百分点" in flat
    shares = blank_tail(pdf, tmp_path)
    assert all(share < 1 / 3 for share in shares), shares  # no page left a third or more blank
    page = tmp_path / "page-1.png"
    assert page.stat().st_size > 2000  # a page with text on it, not a blank one


def test_the_month_so_far_through_the_webhook_chat_and_cli(bot, wechat, pushing, cli, tmp_path):
    """Follows, a quiz answered in chat, a check-in with the organiser's code, an outcome from the CLI, a push."""
    deliverer, fake = pushing
    now = time.time()
    # the history stays inside today's Beijing day, whatever the hour the suite runs (just after midnight, an
    # hour ago is yesterday and the report of "today" rightly leaves it out)
    midnight = clock.local(now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    bot.redis.hset(BRANCHES, mapping={"b1": "一支部"})
    Profiles(bot.redis).set_branch("o_alice", "b1")
    quiz = Quiz(bot.redis)
    s = Session("now", "本周学习", "学习内容", max(now - 3600, midnight), now + 86400, [Question("题", "judge", [], "T")])
    quiz.save_session(s)
    events = Events(bot.redis)
    occ = events.save(Occurrence(id="river@now", event_id="river", title="护河", description="", place="三干渠",
                                 start=max(now - 1800, midnight), end=now + 1800, capacity=5,
                                 signup_deadline=now - 7200, cancel_cutoff=now - 86400, category="护河"))
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
    assert code != 0 and "结束日期（2026-06-30）不能早于开始日期（2026-07-01）" in out


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
    assert [e.action for e in Audit(h1.redis).recent()] == ["login"]  # nothing personal left the console


@pytest.mark.slow  # loads the whole demo
def test_the_demo_half_year_gives_a_full_report_and_pushes_to_nobody_made_up(bot, cli, tmp_path):
    from domain.followers import ACTIVE

    demo_loaded(bot)
    h = compute(bot.redis, Period.parse("today-180", "today"))
    # 17 weekly sessions relative to today, and the 9 about a day of the year on that day (the latest whose week is
    # over: content/quizzes/00-history.csv) when it falls in the half year
    days = ["03-05", "03-12", "04-15", "04-23", "05-01", "05-04", "06-26", "07-01", "08-01"]
    on_their_day = [d for d in days if h.period.start <= clock.parse_when(f"last {d} 08:00") < h.period.end]
    assert len(h.study.sessions) == 17 + len(on_their_day)
    assert len(h.study.participants) == 160 and h.study.most_improved
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
    if shutil.which("soffice") and shutil.which("pdftoppm"):  # the nine pages, as the secretary prints them
        shares = blank_tail(render(tmp_path / "demo.docx", tmp_path), tmp_path)
        assert len(shares) >= 6 and all(share < 1 / 3 for share in shares), shares


# -- the edges (issue 23): each on a known history, the exact sentence or figure ---------------------------------
H2 = Period.of_days(date(2026, 7, 1), date(2026, 12, 31))
AFTER_H2 = T("2027-01-10 12:00")


def activity(events, eid, category, start, end, title=None, place=None, **extra):
    occ = Occurrence(id=f"{eid}@1", event_id=eid, title=title or f"活动{eid}", description="",
                     place=place or f"地点{eid}", start=T(start), end=T(end), capacity=10,
                     signup_deadline=T(start) - 3600, cancel_cutoff=T(start) - 86400, category=category, **extra)
    return events.save(occ)


def paragraphs(report) -> str:
    return "\n".join([report.text.title, report.text.subtitle, report.text.intro]
                     + [s.heading for s in report.text.sections]
                     + [p.lead + p.text for s in report.text.sections for p in s.paragraphs])


def test_a_hired_person_who_deletes_their_data_still_counts_in_the_report_and_in_jobs_stats(h1, wechat, cli):
    """Item 1: u1 was hired at the fair, then deleted their data through the chat."""
    _, stats_before = cli("jobs", "stats")
    before = make(h1.redis, H1, h1.settings.content_dir, now=AFTER_H1)
    assert "确认删除" in wechat.send("删除我的信息", "u1")
    wechat.send("确认删除", "u1")
    assert Jobs(h1.redis).mine("u1") == [] and [o for o, *_ in Jobs(h1.redis).interested("p1")] == ["u2"]
    after = make(h1.redis, H1, h1.settings.content_dir, now=AFTER_H1)
    a, b = before.figures.jobs, after.figures.jobs
    assert (b.all.hires, len(b.fairs[0].on_site), b.all.registrations, len(b.all.interested)) == \
        (a.all.hires, len(a.fairs[0].on_site), a.all.registrations, len(a.all.interested)) == (2, 1, 4, 3)
    assert "并现场签约1人" in paragraphs(after) and "3名青年在线投递求职意向4人次，已录用2人。" in paragraphs(after)
    for k in h1.redis.keys("yb:{jobs}:*"):  # what u1 counted for is kept as an anonymous token, not the openid
        kind = h1.redis.type(k)
        held = h1.redis.zrange(k, 0, -1) if kind == "zset" else h1.redis.hkeys(k) if kind == "hash" else []
        assert "u1" not in k and "u1" not in held, k
    _, stats_after = cli("jobs", "stats")
    assert stats_after == stats_before
    # counted when it happened: the second half year sees none of it
    assert compute(h1.redis, H2, AFTER_H2).jobs.all.registrations == 1  # u4's, in July


def test_outcomes_count_when_they_happened_and_a_closed_period_stays_closed(bot):
    """Item 3: a fair in July whose postings were published in June; a hire at the fair and one weeks later."""
    r, events, jobs = bot.redis, Events(bot.redis), Jobs(bot.redis)
    activity(events, "fair", "招聘会", "2026-07-05 09:00", "2026-07-05 12:00", title="夏季招聘会", kind="job_fair")

    def posting(pid, employer, headcount, published):
        return jobs.save(Posting(pid, employer, "岗位" + pid, "物流", "面议", "", "不限", "不限", headcount, "联系人",
                                 T(published), T(published) + 60 * 86400, fair="fair"))

    p1, p2 = posting("q1", "甲公司", 6, "2026-06-20"), posting("q2", "乙公司", 4, "2026-06-25")
    for p, who, at in ((p1, "a", "2026-06-21 10:00"), (p1, "b", "2026-07-05 10:00"), (p2, "c", "2026-07-05 10:30")):
        assert jobs.register_interest(p, who, "", T(at)) == "ok"
    assert jobs.set_outcome("q1", "b", "hired", now=T("2026-07-05 11:00"))  # at the fair
    assert jobs.set_outcome("q2", "c", "hired", now=T("2026-08-01 15:00"))  # weeks later
    assert jobs.set_outcome("q2", "c", "hired", now=T("2026-09-01 15:00"))  # recorded again: the first time stays

    h2 = compute(r, H2, AFTER_H2).jobs
    (fair,) = h2.fairs
    assert (fair.postings.employers, fair.postings.headcount, fair.on_site, fair.later) == \
        (["甲公司", "乙公司"], 10, [("q1", "b")], [("q2", "c")])
    assert (len(h2.all.offered), h2.all.registrations, h2.all.hires) == (0, 2, 2)
    report = make(r, H2, bot.settings.content_dir, now=AFTER_H2)
    assert "2家用人单位为辖区青年提供就业岗位10个，并现场签约1人，会后又有1人签约录用，取得了良好的社会效应。" in paragraphs(report)
    assert "2026年下半年2名青年在线投递求职意向2人次，已录用2人。" in paragraphs(report)
    h1 = compute(r, H1, AFTER_H1).jobs
    assert (len(h1.all.offered), h1.all.headcount, h1.all.registrations, h1.all.hires) == (2, 10, 1, 0)
    # the period is over: a hire recorded later does not change it
    assert jobs.set_outcome("q1", "a", "hired", now=T("2027-02-01 09:00"))
    again = compute(r, H2, T("2027-03-01 12:00")).jobs
    assert (again.all.hires, len(again.fairs[0].on_site), len(again.fairs[0].later)) == (2, 1, 1)


def test_hires_recorded_before_their_times_were_kept_count_at_the_postings_publication(bot):
    """Item 3, old records: a hire with no time and a deleted person counted with no time (the store before
    issue 23) count in the period the posting was published in, as the report did before."""
    r, jobs = bot.redis, Jobs(bot.redis)
    jobs.save(Posting("old", "甲公司", "岗位", "物流", "面议", "", "不限", "不限", 3, "联系人",
                      T("2026-03-01"), T("2026-04-01")))
    assert jobs.register_interest(jobs.get("old"), "x", "", T("2026-03-02 10:00")) == "ok"
    from domain.jobs import forgotten_key, outcome_key

    r.hset(outcome_key("old"), "x", "hired")  # as set_outcome wrote it before: no time
    r.hset(forgotten_key("old"), mapping={"interest": 1, "hired": 1})  # someone deleted before: no time
    h = compute(r, H1, AFTER_H1).jobs
    assert (h.all.hires, h.all.registrations) == (2, 2)
    assert compute(r, H2, AFTER_H2).jobs.all.hires == 0


def test_missing_or_zero_figures_leave_their_clause_out(bot):
    """Item 2: activities under way or recorded without some figures; a fair with nobody hired yet."""
    r, events, outcomes = bot.redis, Events(bot.redis), Outcomes(bot.redis)
    elder = activity(events, "el", "敬老", "2026-12-01 09:00", "2026-12-01 11:00", title="重阳慰问", place="白石坡社区养老院")
    attend(events, elder, "v1", "2026-12-01 09:00", None)  # checked in, no outcome yet
    donation = activity(events, "do", "捐赠", "2026-11-20 09:00", "2026-11-20 11:00", title="爱心捐赠", place="实验小学")
    outcomes.record(donation, note="", now=T("2026-11-20 12:00"))  # recorded with nothing in it
    clinic = activity(events, "cl", "义诊", "2026-11-21 09:00", "2026-11-21 11:00", title="社区义诊")
    attend(events, clinic, "v2", "2026-11-21 09:00", "2026-11-21 11:00")
    activity(events, "fair", "招聘会", "2026-12-01 09:00", "2026-12-01 17:00", title="冬季招聘会", kind="job_fair")
    Jobs(r).save(Posting("w1", "甲公司", "岗位", "物流", "面议", "", "不限", "不限", 5, "联系人",
                         T("2026-11-25"), T("2026-12-25"), fair="fair"))
    report = make(r, H2, bot.settings.content_dir, now=T("2026-12-01 10:00"))
    text = paragraphs(report)
    assert "街道团委共组织开展各类志愿服务活动3场，参与志愿者2人次，累计志愿服务2小时。" in text
    assert "一是开展敬老活动，弘扬传统美德。为增强敬老爱老助老意识、营造关爱老人社会氛围，街道组织1名志愿者在白石坡社区养老院开展了“重阳慰问”敬老志愿服务活动。" in text
    assert "二是开展便民服务，服务群众身边。开展了便民服务，1名志愿者参与。" in text
    assert "三是扎实走访慰问，关爱留守儿童。在实验小学开展“爱心捐赠”。" in text
    assert "为辖区青年、用工企业穿针引线，1家用人单位为辖区青年提供就业岗位5个。" in text
    for broken in ("0人", "0名", "0小时", "0个", "联合，", "开展了等", "共。", "惠及留守儿童0", "，。"):
        assert broken not in text, broken


def _branch_tie(r):
    """Two branches with the same completion rate (3 of 8) whose average scores add thirds in other orders."""
    r.hset(BRANCHES, mapping={"b1": "凯旋城", "b2": "白石坡"})
    profiles, quiz = Profiles(r), Quiz(r)
    for openid, branch in (("k1", "b1"), ("k2", "b1"), ("w1", "b2"), ("w2", "b2")):
        profiles.set_branch(openid, branch)
    sessions = [session(quiz, f"t{i}", f"2026-0{i}-01 08:00", f"2026-0{i}-07 08:00") for i in range(1, 5)]
    for s, rows in zip(sessions, ([("k1", 1), ("w1", 2)], [("k2", 2), ("w2", 2)], [("k1", 2), ("w1", 1)], [])):
        for who, right in rows:  # 凯旋城 scored 1/3, 2/3, 2/3 of the points; 白石坡 2/3, 2/3, 1/3: the same average
            take(quiz, who, s, f"{clock.local(s.opens + 3600):%Y-%m-%d %H:%M}", right)


def test_tied_best_branches_are_all_named_the_same_way_every_time(bot):
    """Item 4: exact arithmetic, every tied branch named in the branches' order."""
    _branch_tie(bot.redis)
    runs = {tuple(b.name for b in compute(bot.redis, H1, AFTER_H1).study.best) for _ in range(6)}
    assert runs == {("凯旋城", "白石坡")}
    text = paragraphs(make(bot.redis, H1, bot.settings.content_dir, now=AFTER_H1))
    assert "从各支部看，凯旋城和白石坡完成率并列最高，均为37.5%；全体团员平均完成率37.5%。" in text
    assert "完成率均提高" not in text and "进步最快" not in text  # both fell from the first half to the second


def test_person_times_and_people_each_have_one_definition(bot):
    """Item 5: 3 volunteers at each of two 洁城 activities are 6 人次; walk-ins add to 人次, not to 名."""
    r, events, outcomes = bot.redis, Events(bot.redis), Outcomes(bot.redis)
    for eid, day in (("c1", "2026-08-01"), ("c2", "2026-08-08")):
        occ = activity(events, eid, "洁城", f"{day} 09:00", f"{day} 11:00", title="洁城行动")
        for who in ("a", "b", "c"):
            attend(events, occ, who, f"{day} 09:00", f"{day} 11:00")
        outcomes.record(occ, walk_ins=2, served=10, now=T(f"{day} 12:00"))
    h = compute(r, H2, AFTER_H2)
    k = h.volunteering.kind("洁城")
    assert (k.attendances, len(k.volunteers), k.walk_ins, k.people, k.served) == (10, 3, 4, None, 20)
    text = paragraphs(make(r, H2, bot.settings.content_dir, now=AFTER_H2))
    assert "开展“洁城行动”2次，参与志愿者10人次，累计志愿服务12小时。" in text
    assert "共组织开展各类志愿服务活动2场，参与志愿者10人次，累计志愿服务12小时，服务群众20人次。" in text
    units = {f.label: f.unit for f in h.figures()}
    assert (units["参与志愿者"], units["签到志愿者（去重）"], units["现场参与未报名志愿者"], units["服务群众"]) == \
        ("人次", "人", "人次", "人次")
    doc = (Path(__file__).parent.parent / "docs" / "report.md").read_text(encoding="utf-8")
    for label in ("参与志愿者", "签到志愿者（去重）", "服务群众", "演出观众", "投递意向人次", "签约录用", "现场签约"):
        assert f"| {label} |" in doc, label  # each figure's one definition


def test_the_wording_reads_as_a_secretary_writes_it(bot):
    """Item 6: one day, one service, two titles, a place holding 、, an audience, days, 100%, few sessions."""
    r, events, outcomes = bot.redis, Events(bot.redis), Outcomes(bot.redis)
    day = Period.of_days(date(2026, 8, 2), date(2026, 8, 2))
    assert day.label() == "2026年8月2日"
    clinic = activity(events, "cl", "义诊", "2026-08-02 09:00", "2026-08-02 11:00", title="社区义诊")
    attend(events, clinic, "v1", "2026-08-02 09:00", "2026-08-02 11:00")
    outcomes.record(clinic, services=["义诊"], partners=["凯旋城小区业主志愿者"], served=40, now=T("2026-08-02 12:00"))
    for eid, title, when in (("r1", "青春护河行动", "2026-08-02 14:00"), ("r2", "河道清洁", "2026-08-02 16:00")):
        occ = activity(events, eid, "护河", when, when.replace("14:00", "15:00").replace("16:00", "17:00"),
                       title=title, place="三干渠、四干渠" if eid == "r1" else "五干渠")
        attend(events, occ, "v2", when, None)
    for eid, start in (("k1", "2026-08-02 16:30"), ("k2", "2026-08-02 18:00")):  # two sessions, one day
        occ = activity(events, eid, "四点半课堂", start, start.replace("16:30", "17:30").replace("18:00", "19:00"),
                       title="四点半课堂", place="白石坡社区")
        attend(events, occ, "v3", start, None)
    r.hset(BRANCHES, mapping={"b1": "一支部"})
    Profiles(r).set_branch("m1", "b1")
    quiz = Quiz(r)
    s = session(quiz, "d1", "2026-08-02 08:00", "2026-08-02 20:00")
    take(quiz, "m1", s, "2026-08-02 09:00", 3)
    report = make(r, day, bot.settings.content_dir, now=T("2026-08-10 09:00"))
    text = paragraphs(report)
    assert report.text.title == "街道团委工作总结" and report.text.subtitle == "（2026年8月2日）"
    assert text.count("2026年8月2日") >= 2 and "至8月2日" not in text
    assert "联合凯旋城小区业主志愿者，开展了义诊便民服务，1名志愿者参与，服务群众40人次。" in text
    assert "组织1名志愿者到“三干渠、四干渠”、五干渠开展“青春护河行动”、“河道清洁”共2次。" in text
    assert "在白石坡社区持续开展“四点半课堂”，共1天下午组织" in text
    assert "一支部完成率最高，达100%；全体团员平均完成率100%。" in text
    assert "长期参与" not in text and "≥" not in text and "等1" not in text
    assert not any("长期参与" in f.label for f in report.figures.figures())


def test_a_performance_audience_is_not_counted_as_children_served(h1):
    text = paragraphs(make(h1.redis, H1, h1.settings.content_dir, now=AFTER_H1))
    assert "开展活动2场，累计志愿服务5小时，服务儿童12人次。活动结束后，1个点共推送7个节目，举办了“活动e7”，观众100人次。" in text


def test_an_empty_period_and_one_not_yet_over_say_what_they_are(h1):
    """Item 6: an empty period does not claim every figure is zero; a period not over says how far it goes."""
    empty = make(h1.redis, Period.of_days(date(2025, 1, 1), date(2025, 1, 31)), h1.settings.content_dir,
                 now=AFTER_H1)
    assert empty.text.intro == "所选时间段（2025年1月1日至1月31日）内，公众号后台没有学习、志愿服务、就业或关注的记录。" \
        "目前公众号共有关注者3人。"
    future = make(h1.redis, Period.of_days(date(2027, 1, 1), date(2027, 6, 30)), h1.settings.content_dir,
                  now=AFTER_H1)
    assert (future.text.subtitle, future.text.intro) == (
        "（截至2026年7月10日）", "所选时间段（2027年上半年）还没有开始，公众号后台暂无记录。目前公众号共有关注者3人。")
    running = make(h1.redis, H1, h1.settings.content_dir, now=T("2026-05-03 18:00"))
    assert (running.text.title, running.text.subtitle) == ("2026年街道团委上半年工作总结", "（截至2026年5月3日）")
    assert running.text.intro.startswith("2026年1月1日至5月3日，街道团委")
    assert "2026年1月1日至5月3日，公众号新增关注2人，取消关注1人" in paragraphs(running)


def test_one_rule_for_periods_in_the_cli_and_the_console(bot, cli, console_as, tmp_path):
    """Item 9: both take a day, today or today-N; both refuse more than three years, with the same words."""
    today = clock.local(clock.now()).date()
    assert Period.parse("today-180", "today") == Period.of_days(today.fromordinal(today.toordinal() - 180), today)
    too_long = "时间段最长三年（1098天），所选为1461天"
    code, out = cli("report", "--from", "2020-01-01", "--to", "2023-12-31", "--out", str(tmp_path / "r.docx"))
    assert code != 0 and too_long in out
    admin = console_as("admin")
    page = admin.client.get("/admin/report/?from=2020-01-01&to=2023-12-31")
    assert page.status_code == 400 and too_long in page.get_data(as_text=True)
    ok = admin.client.get("/admin/report/?from=today-180&to=today")
    assert ok.status_code == 200 and f'value="{today}"' in ok.get_data(as_text=True)
    code, out = cli("report", "--from", "today-180", "--to", "today", "--out", str(tmp_path / "r.docx"))
    assert code == 0
    for bad in ("2026-02-30", "yesterday", "2026-01-01 12:00"):
        code, out = cli("report", "--from", bad, "--to", "2026-06-30", "--out", str(tmp_path / "r.docx"))
        page = admin.client.get(f"/admin/report/?from={quote(bad)}&to=2026-06-30")
        assert code != 0 and page.status_code == 400 and ("没有这一天" in out or "日期格式应为" in out)


def test_staff_type_the_sections_youthbot_cannot_count_and_they_land_in_the_seeds_order(h1, console_as, tmp_path):
    """Item 8: an admin types 组织建设, 典型宣传, a study sub-item and media coverage for the period in the console."""
    admin = console_as("admin")
    query = "from=2026-01-01&to=2026-06-30"
    typed = {"note_study": "开展《从象牙塔到国家机关》读书分享会。",
             "note_organisation": "5月31日，街道召开第八次团代会，选举团委委员6名。\n街道各支部已全部完成换届。",
             "note_publicity": "积极宣传引导，描“红”模范人物。组织开展“最美青春故事”典型推荐工作。",
             "note_media": "相关工作经验在《荆门日报》刊发。<script>alert(1)</script>"}
    assert console_as("organiser", "org2").post("/admin/report/notes", {"from": "2026-01-01", "to": "2026-06-30",
                                                                       **typed}).status_code == 403
    saved = admin.post("/admin/report/notes", {"from": "2026-01-01", "to": "2026-06-30", **typed},
                       token_from=f"/admin/report/?{query}")
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"?{query}#notes")
    html = admin.page(f"/admin/report/?{query}")
    assert "街道各支部已全部完成换届。</textarea>" in html and "<script>alert(1)" not in html
    assert "上次由 admin1 于" in html
    (tmp_path / "r.docx").write_bytes(admin.client.get(f"/admin/report/report.docx?{query}").data)
    doc = Document(tmp_path / "r.docx")
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert headings == ["一、强化学习，宗旨意识“树起来”", "二、加强建设，团委班子“立起来”", "三、创新方式，青年服务“强起来”",
                        "四、优质服务，团群关系“暖起来”", "五、整合资源，希望家园“建起来”", "六、用好阵地，网上服务“活起来”",
                        "附：图表", "附：主要数据一览"]
    body = [p.text for p in doc.paragraphs]
    at = body.index("二、加强建设，团委班子“立起来”")
    assert body[at + 1: at + 3] == ["5月31日，街道召开第八次团代会，选举团委委员6名。", "街道各支部已全部完成换届。"]
    assert body[body.index("一、强化学习，宗旨意识“树起来”") + 2] == "开展《从象牙塔到国家机关》读书分享会。"
    volunteering = body.index("四、优质服务，团群关系“暖起来”")
    assert body[volunteering + 2] == "一是积极宣传引导，描“红”模范人物。组织开展“最美青春故事”典型推荐工作。"
    assert body[volunteering + 3].startswith("二是开展敬老活动，弘扬传统美德。")
    assert body[body.index("附：图表") - 1] == "相关工作经验在《荆门日报》刊发。<script>alert(1)</script>"
    # too long: refused whole, with the section's name; what was kept stays
    long = admin.post("/admin/report/notes", {"from": "2026-01-01", "to": "2026-06-30", "note_media": "长" * 4001},
                      token_from=f"/admin/report/?{query}")
    assert long.status_code == 400 and "媒体报道、宣传情况最多4000字，现有4001字" in long.get_data(as_text=True)
    assert "街道各支部已全部完成换届。" in "\n".join(p.text for p in make(h1.redis, H1, h1.settings.content_dir,
                                                                       now=AFTER_H1).text.sections[1].paragraphs)
    # another period has its own sections
    assert make(h1.redis, H2, h1.settings.content_dir, now=AFTER_H2).notes == {}


def test_the_word_file_is_one_the_secretary_hands_in_as_it_is(h1, tmp_path):
    """Item 7: Word's heading styles, the committee as author, provenance in the properties and the appendix,
    units in every row, charts after the text; in Excel rates are percentages and dates are dates."""
    report = make(h1.redis, H1, h1.settings.content_dir, now=AFTER_H1)
    doc = Document(report.docx(tmp_path / "r.docx"))
    styles = [(p.style.name, p.text) for p in doc.paragraphs if p.style.name in ("Title", "Subtitle", "Heading 1")]
    assert styles[0] == ("Title", "2026年街道团委上半年工作总结")
    assert [t for s, t in styles if s == "Heading 1"] == [
        "一、强化学习，宗旨意识“树起来”", "二、创新方式，青年服务“强起来”", "三、优质服务，团群关系“暖起来”",
        "四、整合资源，希望家园“建起来”", "五、用好阵地，网上服务“活起来”", "附：图表", "附：主要数据一览"]
    assert doc.styles["Heading 1"].element.pPr.find(qn("w:outlineLvl")) is not None  # the navigation pane
    core = doc.core_properties
    assert (core.author, core.title, core.language) == ("街道团委", "2026年街道团委上半年工作总结", "zh-CN")
    assert core.comments.startswith("注：本表数据由街道团委公众号（youthbot）后台记录统计，时间段为2026-01-01至2026-06-30")
    body = [p.text for p in doc.paragraphs]
    assert body[-1] == core.comments and not any("根据youthbot" in t for t in body)
    charts_at, table_at = body.index("附：图表"), body.index("附：主要数据一览")
    assert len(doc.inline_shapes) == 3 and charts_at < table_at
    assert body[charts_at + 1: table_at] == ["", "图1 各期网上答题参与人数", "", "图2 各类志愿服务时长（小时）", "",
                                             "图3 各类岗位数与录用人数"]  # each picture with its caption
    rows = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    assert ["捐赠书包", "50", "个"] in rows and ["捐赠图书", "500", "册"] in rows
    assert all(r[2] for r in rows[1:] if r[0] != r[1])  # a unit in every figure's row (section rows are merged)
    wb = load_workbook(report.xlsx(tmp_path / "r.xlsx"))
    cells = {ws.title: list(ws.iter_rows()) for ws in wb.worksheets}
    rate = next(row for row in cells["学习"] if row[0].value == "一支部完成率")
    assert (rate[1].value, rate[1].number_format) == (0.625, "0.0%")
    branch = next(row for row in cells["学习"] if row[0].value == "一支部" and row[4].value is not None)
    assert (branch[4].value, branch[4].number_format) == (0.625, "0.0%")
    activity_row = next(row for row in cells["志愿服务"] if row[0].value == "e1@1")
    assert activity_row[1].is_date and activity_row[1].value.date() == date(2026, 1, 10)
    assert activity_row[1].number_format == "yyyy-mm-dd"


def test_the_charts_count_in_whole_numbers(h1):
    from bot.report import charts

    report = make(h1.redis, H1, h1.settings.content_dir, now=AFTER_H1)
    seen = []
    real = charts._png

    def keep(fig):
        seen.append(fig.axes[0])
        return real(fig)

    charts._png = keep
    try:
        charts.participation(report.figures, report.words["charts"])
        charts.jobs_per_category(report.figures, report.words["charts"])
    finally:
        charts._png = real
    for ax in seen:
        ticks = [t for t in ax.get_yticks() if 0 <= t <= ax.get_ylim()[1]]
        assert len(ticks) >= 2 and all(t == int(t) for t in ticks), ticks  # no 2.5 people


def test_branches_tied_for_the_largest_rise_are_all_named(bot):
    """Item 4: both branches rose from 1 of 2 members to 2 of 2: both named, and the rise in whole points."""
    r = bot.redis
    r.hset(BRANCHES, mapping={"b1": "凯旋城", "b2": "白石坡"})
    profiles, quiz = Profiles(r), Quiz(r)
    for openid, branch in (("k1", "b1"), ("k2", "b1"), ("w1", "b2"), ("w2", "b2")):
        profiles.set_branch(openid, branch)
    first = session(quiz, "u1", "2026-02-01 08:00", "2026-02-07 08:00")
    second = session(quiz, "u2", "2026-03-01 08:00", "2026-03-07 08:00")
    for s, people in ((first, ("k1", "w1")), (second, ("k1", "k2", "w1", "w2"))):
        for who in people:
            take(quiz, who, s, f"{clock.local(s.opens + 3600):%Y-%m-%d %H:%M}", 3)
    study = compute(r, H1, AFTER_H1).study
    assert [b.name for b in study.most_improved] == ["凯旋城", "白石坡"] and study.threshold == 0
    text = paragraphs(make(r, H1, bot.settings.content_dir, now=AFTER_H1))
    assert "凯旋城和白石坡完成率并列最高，均为75%；全体团员平均完成率75%。凯旋城和白石坡进步最快，完成率均提高50个百分点。" in text
    assert "长期参与" not in text


def test_a_deletion_killed_before_its_last_step_and_run_again_counts_the_person_once(h1):
    from domain.keys import user_key

    jobs = Jobs(h1.redis)
    before = jobs.stats()
    listed = h1.redis.zrange(user_key("u1", "jobs"), 0, -1, withscores=True)
    jobs.withdraw_all("u1")
    h1.redis.zadd(user_key("u1", "jobs"), dict(listed))  # as if killed before the user's own list went
    jobs.withdraw_all("u1")
    assert jobs.stats() == before
    h = compute(h1.redis, H1, AFTER_H1).jobs
    assert (h.all.hires, h.all.registrations, len(h.all.interested)) == (2, 4, 3)


def test_the_report_reads_answers_members_and_days_in_batches_with_the_same_figures(h1, monkeypatch):
    """Issue 25 item 4: the kept answers, branch members and writers' days are read a batch at a time (HSCAN/SSCAN),
    never a whole session's or a year's in one reply; with batches of one every figure is what it was."""
    import redis as redis_py

    from domain import halfyear

    sent = []
    original = redis_py.Redis.execute_command

    def recording(self, *args, **options):
        sent.append((str(args[0]).upper(), str(args[1]) if len(args) > 1 else ""))
        return original(self, *args, **options)

    queued = redis_py.client.Pipeline.pipeline_execute_command

    def queueing(self, *args, **options):
        sent.append((str(args[0]).upper(), str(args[1]) if len(args) > 1 else ""))
        return queued(self, *args, **options)

    monkeypatch.setattr(redis_py.Redis, "execute_command", recording)
    monkeypatch.setattr(redis_py.client.Pipeline, "pipeline_execute_command", queueing)
    monkeypatch.setattr(halfyear, "READ_BATCH", 1)
    test_study_figures_count_sessions_opened_in_the_period_and_attempts_done_by_its_end(h1)
    test_reach_counts_follows_unfollows_writers_and_pushes_in_the_period(h1)
    whole = [(c, k) for c, k in sent if (c == "HGETALL" and ":evidence:" in k)
             or (c == "SMEMBERS" and (":branch:" in k or ":seen:" in k))]
    assert not whole and any(c == "HSCAN" and ":evidence:" in k for c, k in sent)
    assert any(c == "SSCAN" and ":branch:" in k for c, k in sent)
