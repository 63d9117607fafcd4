"""Every console page and form against every role: anonymous -> login, wrong role -> 403, right role -> 200,
and every POST without its CSRF token refused. A page added without an entry here fails the first test."""
from __future__ import annotations

import time
from dataclasses import replace

import pytest

from bot.pushes import broadcasts
from domain.events import Events
from domain.profiles import Profiles
from domain.staff import Staff
from tests.helpers import demo_loaded

ALL, ADMIN, EVENTS, JOBS = {"admin", "organiser", "jobs"}, {"admin"}, {"admin", "organiser"}, {"admin", "jobs"}
PAGES = {  # GET endpoint -> roles that may open it
    "admin.dashboard.index": ALL, "admin.auth.change_password": ALL,
    "admin.quizzes.index": ADMIN, "admin.quizzes.template": ADMIN, "admin.quizzes.session": ADMIN,
    "admin.quizzes.export": ADMIN, "admin.quizzes.download_bank": ADMIN, "admin.quizzes.export_missing": ADMIN,
    "admin.events.index": EVENTS, "admin.events.create": EVENTS, "admin.events.edit": EVENTS,
    "admin.events.detail": EVENTS, "admin.events.export": EVENTS, "admin.events.checkin": EVENTS,
    "admin.events.checkin_counts": EVENTS, "admin.events.outcome": EVENTS, "admin.events.template": EVENTS,
    "admin.branches.index": ADMIN, "admin.branches.template": ADMIN,
    "admin.report.page": ADMIN, "admin.report.download_docx": ADMIN, "admin.report.download_xlsx": ADMIN,
    "admin.jobs.index": JOBS, "admin.jobs.template": JOBS, "admin.jobs.create": JOBS, "admin.jobs.detail": JOBS, "admin.jobs.export": JOBS,
    "admin.pushes.index": ADMIN, "admin.pushes.broadcast_progress": ADMIN,
    "admin.people.index": ADMIN, "admin.people.person": ADMIN, "admin.people.certificate": ADMIN,
    "admin.people.certificate_docx": ADMIN,
    "admin.events.broadcast_progress": EVENTS, "admin.hours.index": ADMIN, "admin.hours.download": ADMIN,
    "admin.staff.index": ADMIN, "admin.staff.audit": ADMIN, "admin.staff.audit_export": ADMIN,
}
FORMS = {  # POST endpoint -> roles that may send it
    "admin.report.save_notes": ADMIN,
    "admin.auth.logout": ALL, "admin.auth.change_password": ALL,
    "admin.quizzes.upload": ADMIN, "admin.quizzes.delete": ADMIN, "admin.quizzes.close": ADMIN, "admin.events.create": EVENTS, "admin.events.edit": EVENTS,
    "admin.events.cancel": EVENTS, "admin.events.reinstate": EVENTS, "admin.events.broadcast": EVENTS, "admin.events.attendance": EVENTS, "admin.events.organisers": ADMIN,
    "admin.jobs.upload": JOBS, "admin.jobs.create": JOBS, "admin.jobs.outcome": JOBS, "admin.jobs.set_status": JOBS,
    "admin.pushes.retry": ADMIN, "admin.pushes.broadcast": ADMIN, "admin.people.delete": ADMIN,
    "admin.events.outcome": EVENTS, "admin.events.upload": EVENTS, "admin.people.issue_certificate": ADMIN,
    "admin.people.correct": ADMIN,
    "admin.branches.add": ADMIN, "admin.branches.rename": ADMIN, "admin.branches.upload": ADMIN,
    "admin.staff.create": ADMIN, "admin.staff.reset": ADMIN, "admin.staff.set_role": ADMIN, "admin.staff.delete": ADMIN,
}
OPEN = {"admin.static", "admin.auth.login"}
# Outside the console: who may reach them, and how they are guarded instead of a role.
PUBLIC = {"static": "files", "wechat.receive": "WeChat's signature", "wechat.verify": "WeChat's signature",
          "verify.verify": "misses limited per address", "ops.healthz": "no data", "ops.readyz": "no data",
          "ops.metrics_view": "METRICS_ALLOW networks or token", "verify.ask": "no data: a box for a number",
          "verify.print_version": "a signed link, valid 30 days"}
UPLOADS = {"admin.quizzes.upload": ("bank", ADMIN), "admin.events.upload": ("sheet", EVENTS),
           "admin.jobs.upload": ("sheet", JOBS), "admin.branches.upload": ("sheet", ADMIN)}
EXPORTS = [e for e in PAGES if e.endswith(("export", "export_missing", "template", "download_docx", "download_xlsx"))]


@pytest.fixture
def world(app, bot, fake_wechat, console_as):
    """Demo content, one person, one broadcast, an event run by the organiser; a client per role."""
    bot.settings = replace(bot.settings, wechat_api_base_url=fake_wechat[0] + "/cgi-bin/")
    demo_loaded(bot)
    Profiles(bot.redis).save_contact("o_person", "张小明", "13800138000")
    clients = {role: console_as(role) for role in ("admin", "organiser", "jobs")}
    occ = Events(bot.redis).upcoming(time.time())[0]
    Staff(bot.redis).assign_event("organiser1", occ.event_id)
    values = {"sid": bot.redis.zrange("yb:{quiz}:sessions", -1, -1)[0], "number": occ.number,
              "openid": "o_person", "name": "jobs1",
              "bid": broadcasts.start(bot, f"event:{occ.number}", "活动", "通知", "admin1"), "branch": "b1",
              "record": bot.certificates.issue("o_person", "张小明", [(time.time() - 86400, "护河", 120)], "团委",
                                               time.time()).number}
    return app, clients, values


def _url(app, endpoint, values, posting_number=1):
    with app.test_request_context():
        from flask import url_for

        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        args = {k: values[k] for k in rule.arguments}
        if endpoint.startswith("admin.jobs.") and "number" in args:
            args["number"] = posting_number
        return url_for(endpoint, **args)


def test_every_console_route_is_in_the_permission_table(app):
    routes = {(r.endpoint, m) for r in app.url_map.iter_rules() if r.rule.startswith("/admin")
              for m in r.methods - {"HEAD", "OPTIONS"}}
    listed = {(e, "GET") for e in PAGES} | {(e, "POST") for e in FORMS}
    assert {(e, m) for e, m in routes if e not in OPEN} == listed
    outside = {r.endpoint for r in app.url_map.iter_rules() if not r.rule.startswith("/admin")}
    assert outside == set(PUBLIC), "a route outside /admin needs an entry in PUBLIC saying what guards it"
    assert set(UPLOADS) <= set(FORMS) and {e for e in FORMS if e.endswith("upload")} == set(UPLOADS)


def test_every_upload_reaches_its_importer_for_each_role_allowed_and_no_other(world):
    import io

    app, clients, values = world
    for endpoint, (field, allowed) in UPLOADS.items():
        for role, console in clients.items():
            resp = console.post(_url(app, endpoint, values), {field: (io.BytesIO(b"not a sheet"), "x.csv")},
                                content_type="multipart/form-data")
            html = resp.get_data(as_text=True)
            if role in allowed:  # the importer read it and said what is wrong with it
                assert resp.status_code == 400 and "x.csv" in html, (endpoint, role, resp.status_code)
            else:
                assert resp.status_code == 403 and "x.csv" not in html, (endpoint, role, resp.status_code)


def test_every_export_is_a_file_for_each_role_allowed_and_403_for_others(world):
    app, clients, values = world
    assert len(EXPORTS) >= 9
    for endpoint in EXPORTS:
        url = _url(app, endpoint, values)
        for role, console in clients.items():
            resp = console.client.get(url)
            if role in PAGES[endpoint]:
                assert resp.status_code == 200 and "attachment" in resp.headers.get("Content-Disposition", ""), \
                    (endpoint, role)
                assert resp.headers["Cache-Control"] == "no-store", endpoint
            else:
                assert resp.status_code == 403, (endpoint, role)


def test_anonymous_visitors_are_sent_to_the_login_page(world):
    app, _, values = world
    client = app.test_client()
    for endpoint in PAGES:
        resp = client.get(_url(app, endpoint, values))
        assert resp.status_code == 302 and "/admin/login" in resp.headers["Location"], endpoint


def test_each_role_opens_its_pages_and_gets_403_elsewhere(world):
    app, clients, values = world
    for endpoint, allowed in PAGES.items():
        url = _url(app, endpoint, values)
        for role, console in clients.items():
            status = console.client.get(url).status_code
            assert status == (200 if role in allowed else 403), (endpoint, role, status)


def test_each_role_is_refused_forms_outside_it(world):
    app, clients, values = world
    for endpoint, allowed in FORMS.items():
        for role in set(clients) - allowed:
            console = clients[role]
            status = console.post(_url(app, endpoint, values), {}).status_code
            assert status == 403, (endpoint, role, status)


def test_every_form_without_its_csrf_token_is_refused(world):
    app, clients, values = world
    for endpoint in FORMS:
        resp = clients["admin"].client.post(_url(app, endpoint, values), data={"name": "x"})
        assert resp.status_code == 400, endpoint
    assert app.test_client().post("/admin/login", data={"name": "admin1", "password": "x"}).status_code == 400


def test_an_organiser_cannot_open_an_event_they_do_not_run(world):
    app, clients, values = world
    other = [o for o in Events(app.extensions["youthbot"].redis).upcoming(time.time()) if o.number != values["number"]
             and o.event_id != Events(app.extensions["youthbot"].redis).by_number(values["number"]).event_id][0]
    for endpoint in ("admin.events.detail", "admin.events.export", "admin.events.checkin", "admin.events.edit"):
        url = _url(app, endpoint, {**values, "number": other.number})
        assert clients["organiser"].client.get(url).status_code == 403, endpoint
