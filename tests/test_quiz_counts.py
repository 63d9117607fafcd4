"""Issue 25 item 4: a quiz session's figures without building member lists, its non-completers paged, their
download streamed. The same figures as the list-building code (Quiz.branch_standings / non_completers, kept for
the reminders) on a known store, through the console as staff use it."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from domain import clock, quiz_report
from domain.audit import Audit
from domain.profiles import Profiles
from domain.quiz import Question, Quiz, Session

QUESTIONS = [Question("一", "single", ["甲", "乙"], "A"), Question("二", "judge", [], "T")]


def _store(redis, members_per_branch=(61, 123, 7), done_every=(2, 5, 1)):
    """Three branches; in each, every n-th member has a counted attempt (scores 0/10/20 by turn); two people
    outside any branch completed too; one member's name would be a formula in a spreadsheet."""
    now = clock.now()
    session = Session("s-big", "第9期", "", now - 3600, now + 86400, QUESTIONS)
    quiz, profiles = Quiz(redis), Profiles(redis)
    quiz.save_session(session)
    for b, (size, every) in enumerate(zip(members_per_branch, done_every)):
        bid = profiles.add_branch(f"第{b + 1}支部")
        for i in range(size):
            openid = f"o_{bid}_{i:03d}"
            profiles.save_contact(openid, "=HYPERLINK(\"http://x\")" if i == 4 else f"张{bid}{i}", f"1380000{i:04d}")
            profiles.set_branch(openid, bid)
            if i % every == 0:
                quiz.record_completed(openid, session, [["A", "T"], ["B", "T"], ["B", "F"]][i % 3], now - 600)
    for outsider in ("o_out_1", "o_out_2"):
        quiz.record_completed(outsider, session, ["A", "T"], now - 600)
    return session


def _old_figures(redis, sid):
    quiz = Quiz(redis)
    standings = quiz.branch_standings(sid)
    missing = quiz.non_completers(sid)
    members = len(quiz.members())
    return (len(quiz.participants(sid)), members, members - len(missing),
            [(b.branch_id, b.members, b.completers, round(b.average, 6), b.rank) for b in standings]), missing


def _new_figures(st):
    return (st.participants, st.members, st.member_completers,
            [(b.branch_id, b.members, b.completers, round(b.average, 6), b.rank) for b in st.standings])


@pytest.fixture(params=["small", "tallied"])
def path(request, monkeypatch):
    """Both ways a store is counted: read whole (up to FRESH_MEMBERS members) and tallied inside Redis in pages
    (here 7 members a call, so every branch takes several calls)."""
    if request.param == "tallied":
        monkeypatch.setattr(quiz_report, "FRESH_MEMBERS", 0)
        monkeypatch.setattr(quiz_report, "PAGE", 7)
    return request.param


def test_the_figures_equal_what_the_member_lists_gave(redis_client, path):
    session = _store(redis_client)
    before, missing = _old_figures(redis_client, session.id)
    st = quiz_report.session_stats(redis_client, session)
    assert _new_figures(st) == before and st.missing == len(missing) == 61 - 31 + 123 - 25 + 0
    listed = list(quiz_report.iter_missing(redis_client, st))
    assert sorted(listed) == missing and len(listed) == len(set(listed))
    assert st.participants == 31 + 25 + 7 + 2 and st.standings[0].rate == 1.0


def test_a_new_answer_and_a_move_show_at_once_on_a_small_store_and_after_a_refresh_on_a_large_one(
        redis_client, path):
    session = _store(redis_client)
    first = quiz_report.session_stats(redis_client, session)
    Quiz(redis_client).record_completed("o_b2_001", session, ["A", "T"], clock.now() - 60)
    Profiles(redis_client).set_branch("o_b1_001", "b3")
    after, missing = _old_figures(redis_client, session.id)
    seen = quiz_report.session_stats(redis_client, session)
    if path == "tallied":  # within STALE_SECONDS a large store's tally is used as it is ...
        assert _new_figures(seen)[1:] == _new_figures(first)[1:] and seen.at == first.at
        seen = quiz_report.session_stats(redis_client, session, fresh=True)  # ... until staff ask for a new one
    assert _new_figures(seen) == after and sorted(quiz_report.iter_missing(redis_client, seen)) == missing


def test_an_unchanged_large_store_is_counted_without_reading_a_member(redis_client, monkeypatch):
    monkeypatch.setattr(quiz_report, "FRESH_MEMBERS", 0)
    session = _store(redis_client)
    quiz_report.session_stats(redis_client, session)

    def calls():
        stats = redis_client.info("commandstats")
        return {c: stats.get(f"cmdstat_{c}", {}).get("calls", 0) for c in ("sscan", "smembers", "zmscore", "evalsha",
                                                                          "eval", "zrange", "sunion", "lrange")}
    before = calls()
    again = quiz_report.session_stats(redis_client, session)
    assert calls() == before and again.missing == 128  # counts read back: HGETALL, ZCARD, SCARD per branch


def _listed(html: str) -> list[str]:
    return re.findall(r'href="/admin/people/([^"]+)"', html.split('id="not-done"', 1)[1])


def test_the_non_completer_page_is_paged_50_a_page(console, redis_client, path):
    session = _store(redis_client)
    missing = Quiz(redis_client).non_completers(session.id)  # 128
    url = f"/admin/quizzes/{session.id}"
    pages = [_listed(console.page(f"{url}?page={n}")) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [50, 50, 28]
    assert sorted(sum(pages, [])) == missing  # every one once, none twice
    html = console.page(f"{url}?page=2")
    assert "第2/3页" in html and 'rel="prev"' in html and 'rel="next"' in html and "?page=3" in html
    assert _listed(console.page(f"{url}?page=99")) == pages[2]  # past the end: the last page
    assert _listed(console.page(f"{url}?page=abc")) == pages[0]  # not a number: the first
    assert _listed(console.page(f"{url}?page=-4")) == pages[0]
    entry = Audit(redis_client).recent(1)[0]
    assert "未完成名单" in entry.what and entry.people == 50
    one = [_listed(console.page(f"{url}?branch=b2&page={n}")) for n in (1, 2, 3)]
    assert [len(p) for p in one] == [50, 48, 48]  # b2: 98 of 123 (page 3 does not exist: page 2 again)
    assert sorted(one[0] + one[1]) == [o for o in missing if o.startswith("o_b2_")]
    assert 'rel="next"' not in console.page(f"{url}?branch=b2&page=2")


def test_a_branch_where_all_completed_says_so(console, redis_client, path):
    session = _store(redis_client)
    html = console.page(f"/admin/quizzes/{session.id}?branch=b3")
    assert _listed(html) == [] and "全部完成了" in html and 'rel="next"' not in html


def test_the_streamed_download_holds_every_non_completer_once_as_text(console, redis_client, path):
    session = _store(redis_client)
    missing = Quiz(redis_client).non_completers(session.id)
    resp = console.client.get(f"/admin/quizzes/{session.id}/not-done.xlsx")
    assert resp.status_code == 200
    sheet = load_workbook(io.BytesIO(resp.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("姓名", "支部", "openid") and sorted(r[2] for r in rows[1:]) == missing
    formula = [c for c in sheet["A"] if c.value and str(c.value).startswith("=")]
    assert formula and all(c.data_type == "s" for c in formula)  # a name is shown, never computed
    entry = Audit(redis_client).recent(1)[0]
    assert entry.action == "export" and entry.people == len(missing) == len(rows) - 1
    one = load_workbook(io.BytesIO(console.client.get(
        f"/admin/quizzes/{session.id}/not-done.xlsx?branch=b1").data)).active
    assert sorted(r[2] for r in list(one.iter_rows(values_only=True))[1:]) == [o for o in missing if "_b1_" in o]


def test_the_dashboard_shows_the_same_rate(console, redis_client, path):
    session = _store(redis_client)
    before, _ = _old_figures(redis_client, session.id)
    html = console.page("/admin/")
    assert f"团员完成率（{before[2]}/{before[1]}）" in html
