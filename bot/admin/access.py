"""Who is signed in, what their role may open, and the audit trail of staff actions and personal data shown.

Every section blueprint calls `gate(bp, *roles)` once: all its pages then need
a signed-in account with one of those roles (anonymous: to the login page;
another role: 403). Every POST in the console must carry the CSRF token.

Every POST a signed-in account sends is written to the audit log after it ran
(done, or refused and why: a 4xx answer or an error message shown), under its
action in STAFF_ACTIONS; the view adds what it was about and what changed with
`note()`. A form added without its action here fails tests/test_console_audit.py.
"""
from __future__ import annotations

import io
import logging
import re
from datetime import datetime
from functools import wraps
from pathlib import Path

import redis
from flask import (abort, current_app, g, make_response, redirect, render_template, request, send_file, session,
                   url_for)
from flask_wtf.csrf import CSRFError
from openpyxl.utils import get_column_letter

from domain import clock
from domain.audit import Audit
from domain.staff import Staff

log = logging.getLogger(__name__)
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
FORM_FIELD_MAX_BYTES = 64 * 1024  # no console text field comes near it (the longest, a description: 2,000 characters)
OPEN_ENDPOINTS = {"admin.auth.login", "admin.static"}  # reachable without an account
# The menu, in order. A new section (a module with `bp = Blueprint(..., url_prefix=...)` and
# `gate(bp, roles)`) adds its module to the sections in bot/admin/__init__.py and one line here.
NAV = [  # (endpoint, label, roles that see it)
    ("admin.dashboard.index", "概览", ("admin", "organiser", "jobs")),
    ("admin.quizzes.index", "答题", ("admin",)),
    ("admin.branches.index", "支部", ("admin",)),
    ("admin.events.index", "志愿活动", ("admin", "organiser")),
    ("admin.hours.index", "志愿时长", ("admin",)),
    ("admin.jobs.index", "就业岗位", ("admin", "jobs")),
    ("admin.pushes.index", "推送", ("admin",)),
    ("admin.people.index", "人员", ("admin",)),
    ("admin.report.page", "工作总结", ("admin",)),
    ("admin.staff.index", "账号", ("admin",)),
    ("admin.staff.audit", "审计日志", ("admin",)),
]


STAFF_ACTIONS = {  # POST endpoint -> its action in the audit log (domain/audit.py names them)
    "admin.auth.logout": "logout", "admin.auth.change_password": "password",
    "admin.staff.create": "staff.create", "admin.staff.reset": "staff.reset", "admin.staff.set_role": "staff.role",
    "admin.staff.delete": "staff.delete", "admin.report.save_notes": "report.notes",
    "admin.quizzes.upload": "bank.upload", "admin.quizzes.delete": "bank.delete", "admin.quizzes.close": "bank.close",
    "admin.branches.add": "branch.add", "admin.branches.rename": "branch.rename", "admin.branches.upload": "branch.upload",
    "admin.events.upload": "event.upload", "admin.events.create": "event.create", "admin.events.edit": "event.edit",
    "admin.events.cancel": "event.cancel", "admin.events.reinstate": "event.reinstate",
    "admin.events.attendance": "event.attendance",
    "admin.events.organisers": "event.organisers", "admin.events.outcome": "event.outcome",
    "admin.jobs.upload": "job.upload", "admin.jobs.create": "job.create", "admin.jobs.outcome": "job.outcome", "admin.jobs.set_status": "job.status",
    "admin.pushes.retry": "push.retry", "admin.pushes.broadcast": "push.broadcast",
    "admin.events.broadcast": "push.broadcast",
    "admin.people.delete": "delete", "admin.people.issue_certificate": "certificate", "admin.people.correct": "correct",
}
SELF_AUDITED = {"admin.auth.login"}  # writes its own entries (the account is not known before it)


def bot():
    return current_app.extensions["youthbot"]


def wechat():
    """The WeChat API client (shared token), one per app."""
    from bot.wechat.client import SharedTokenClient

    ext = current_app.extensions
    if "youthbot_wechat" not in ext:
        s = bot().settings
        ext["youthbot_wechat"] = SharedTokenClient(bot().redis, s.wechat_appid, s.wechat_secret, s.wechat_api_base_url)
    return ext["youthbot_wechat"]


def init(bp) -> None:
    """Load the signed-in account before every console request; CSRF on every POST."""
    from bot.admin import csrf

    @bp.before_request
    def load_account():
        # Bounded bodies (the app's own limit is the webhook's 64 KiB): a form with files up to the upload limit,
        # each text field of it and any form without files up to FORM_FIELD_MAX_BYTES; past them a 413 page.
        multipart = request.mimetype == "multipart/form-data"
        request.max_content_length = UPLOAD_MAX_BYTES if multipart else FORM_FIELD_MAX_BYTES
        request.max_form_memory_size = FORM_FIELD_MAX_BYTES
        g.staff = _account_from_session()
        g.flashes_before = len(session.get("_flashes", []))
        if request.method == "POST":
            csrf.protect()
        if request.endpoint in OPEN_ENDPOINTS:
            return None
        if g.staff is None:
            return redirect(url_for("admin.auth.login", next=request.full_path.rstrip("?")))
        if g.staff.must_change and request.endpoint not in ("admin.auth.change_password", "admin.auth.logout"):
            return redirect(url_for("admin.auth.change_password"))
        return None

    @bp.after_request
    def audit_staff_action(response):
        if request.method == "POST" and g.get("staff") is not None and request.endpoint not in SELF_AUDITED \
                and not g.get("audit_skip"):
            _record_action(response)
        return response

    @bp.context_processor
    def navigation():
        staff = g.get("staff")
        items = [(e, label) for e, label, roles in NAV if staff and staff.role in roles]
        return {"nav": items, "staff": staff, "here": _here(request.endpoint or "", [e for e, _ in items])}

    @bp.app_template_filter("when")
    def when(ts):
        return clock.fmt(ts) if ts else ""

    @bp.app_template_filter("hhmm")
    def hhmm(ts):
        return clock.local(ts).strftime("%H:%M") if ts else ""

    @bp.app_template_global("now")
    def now():
        return clock.now()

    @bp.app_template_global("period_presets")
    def period_presets():
        """[(label, first day, last day)]: 上半年 / 下半年 / 全年 choices for the report and the hours pages."""
        from domain.periods import presets

        return presets(clock.local(clock.now()).date())

    @bp.errorhandler(CSRFError)
    def csrf_refused(exc):
        return render_template("admin/error.html", title="页面已过期",
                               message="表单已过期或不是从本页面提交的，请返回刷新后再试。"), 400

    @bp.errorhandler(403)
    def forbidden(exc):
        return render_template("admin/error.html", title="无权访问",
                               message="你的账号角色不能打开这个页面。如需要，请联系管理员。"), 403

    @bp.errorhandler(413)
    def too_large(exc):
        return render_template("admin/error.html", title="文件太大",
                               message=f"上传的文件不能超过{UPLOAD_MAX_BYTES // 1024 // 1024} MB，"
                                       f"每个文字栏不能超过{FORM_FIELD_MAX_BYTES // 1024} KB。请返回修改后再试。"), 413

    @bp.errorhandler(404)
    def not_found(exc):
        return render_template("admin/error.html", title="找不到",
                               message=getattr(exc, "description", "") or "没有这个页面或记录。"), 404


def _here(endpoint: str, items: list[str]) -> str:
    """The menu entry of the page shown: the page itself, else its section."""
    if endpoint in items:
        return endpoint
    section = endpoint.rsplit(".", 1)[0]
    return next((e for e in items if e.rsplit(".", 1)[0] == section), "")


def session_limits() -> tuple[int, int]:
    """(idle, absolute) lifetime of a console session, in seconds."""
    s = bot().settings
    return s.admin_idle_minutes * 60, s.admin_session_hours * 3600


def _account_from_session():
    """The account of the session record the cookie names (ended on logout, password change, deletion, expiry)."""
    sid = session.get("sid")
    account = Staff(bot().redis).session(sid, *session_limits()) if sid else None
    if account is None and sid:
        session.clear()  # the record is gone: the cookie is worth nothing any more
    return account


def start_session(account) -> None:
    """A new session record for account, named by a fresh cookie."""
    session.clear()
    session.permanent = True
    session["sid"] = Staff(bot().redis).open_session(account, *session_limits())


def end_session() -> None:
    Staff(bot().redis).end_session(session.get("sid"))
    session.clear()


def gate(bp, *roles: str) -> None:
    """Every page of bp needs one of roles (the signed-in check ran before, in the parent)."""
    @bp.before_request
    def check_role():
        if g.staff is not None and g.staff.role not in roles:
            abort(403)


def roles_allowed(*roles: str):
    """A single view narrower than its section (e.g. admins only)."""
    def wrap(view):
        @wraps(view)
        def inner(*args, **kwargs):
            if g.staff.role not in roles:
                    abort(403)
            return view(*args, **kwargs)
        return inner
    return wrap


def client_address() -> str:
    return request.remote_addr or ""


CROSS_SITE = ("cross-site", "same-site")  # Sec-Fetch-Site values of a request another site started


def audit(action: str, what: str, people: int) -> None:
    """Record that the signed-in account saw or took personal data of `people` people (a page or a download).
    In a POST it becomes the description of the action's one entry, written when the request ends.

    A GET that another site started (a link or a redirect: the browser says so in Sec-Fetch-Site, which no page
    can forge) records nothing and shows nothing: the page asks the staff member to open it from the console
    themselves, so no outside link can plant entries in their name.
    """
    if request.method == "GET" and request.headers.get("Sec-Fetch-Site", "") in CROSS_SITE:
        abort(make_response(render_template("admin/cross_site.html", title="请确认", target=request.full_path
                                            .rstrip("?")), 403))
    if request.method == "POST":
        note(what[:300], people=people)
        return
    Audit(bot().redis).record(g.staff.name, action, what[:300], people, client_address())


def note(what: str, changes: dict | None = None, people: int = 0) -> None:
    """What the action of this POST was about, and what it changed ({field: (before, after)}, no personal data);
    written to the audit log when the request ends. Called again, the descriptions add up."""
    earlier = g.get("audit_note")
    if earlier:
        what = "；".join(x for x in (earlier[0], what) if x)
        changes = {**earlier[1], **(changes or {})}
        people = max(people, earlier[2])
    g.audit_note = (what, dict(changes or {}), people)


def diff(before: dict, after: dict) -> dict:
    """The fields whose value differs, as {field: (before, after)}."""
    return {k: (before.get(k), after.get(k)) for k in dict.fromkeys([*before, *after])
            if str(before.get(k, "")) != str(after.get(k, ""))}


def _record_action(response) -> None:
    """One entry for the POST just answered: done, or refused and why."""
    endpoint = request.endpoint or ""
    what, changes, people = g.get("audit_note") or ("", {}, 0)
    if not what:
        args = "，".join(f"{k} {v}" for k, v in (request.view_args or {}).items())
        what = args or request.path
    refused = ""
    new_flashes = session.get("_flashes", [])[g.get("flashes_before", 0):]
    errors = [message for category, message in new_flashes if category == "error"]
    if errors:
        refused = "；".join(errors)
    elif response.status_code >= 400:
        refused = {400: "表单有误或已过期", 401: "未登录", 403: "无权操作", 404: "找不到", 413: "文件太大"}.get(
            response.status_code, f"出错（{response.status_code}）")
        form_error = g.get("audit_refused")
        refused = form_error or refused
    try:
        Audit(bot().redis).record(g.staff.name, STAFF_ACTIONS.get(endpoint, endpoint), what, people,
                                  client_address(), changes, refused)
    except redis.RedisError:  # the action is done (or refused); an unwritable log must not turn it into an error page
        log.exception("audit entry not written for %s by %s", endpoint, g.staff.name)


def note_upload(label: str, path, result) -> None:
    """An upload's entry: the file and how many records it saved, or why nothing was saved."""
    name = getattr(path, "name", "") or "（没有选择文件）"
    if result.errors:
        note(f"{label}「{name}」")
        refused(f"{len(result.errors)}处问题，没有保存：{result.errors[0]}")
    else:
        note(f"{label}「{name}」：保存{len(result.records)}条" + "".join(f"；{n}" for n in result.notes[:5]))


def skip_audit() -> None:
    """This POST changed nothing and showed no personal data (a preview before a confirmation): no entry."""
    g.audit_skip = True


def refused(reason: str) -> None:
    """Why this POST was refused (a form shown again with its error): the audit entry says so."""
    g.audit_refused = reason


def send_table(filename: str, headers: list[str], rows: list[list], sheet: str = ""):
    """An XLSX download of a table (built in memory): its sheet named (default: the file's name), dates shown as
    dates, and text kept as text (a resident's name starting with = is never a formula)."""
    from openpyxl import Workbook

    from bot.exports.cells import defuse

    wb = Workbook()
    ws = wb.active
    ws.title = re.sub(r"[\[\]:*?/\\]", "", sheet or Path(filename).stem)[:31] or "名单"
    ws.append(headers)
    for row in rows:
        ws.append(row)
    for cells in ws.iter_rows(min_row=2):
        for cell in cells:
            if cell.data_type == "f":  # text that starts with "=": show it, never compute it
                cell.data_type = "s"
            elif isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
    for i, header in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(8, min(30, len(str(header)) * 2 + 4))
    buf = io.BytesIO()
    defuse(wb).save(buf)
    buf.seek(0)
    return send_file(buf, as_attachment=True, download_name=filename,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")




def send_rows(filename: str, headers: list[str], rows, sheet: str = ""):
    """An XLSX download of rows read one at a time (an iterable): written with openpyxl's write-only workbook, which
    streams each row to a temporary file, so no list of the rows (nor a second copy in cells) is held. The same
    cells as send_table: text stays text, dates shown as dates."""
    import tempfile

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    from bot.exports.cells import starts_like_formula

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(re.sub(r"[\[\]:*?/\\]", "", sheet or Path(filename).stem)[:31] or "名单")
    for i, header in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(8, min(30, len(str(header)) * 2 + 4))

    def cell(value):
        if isinstance(value, str) and starts_like_formula(value):  # shown as typed, never computed
            c = WriteOnlyCell(ws, value)
            c.data_type = "s"
            return c
        if isinstance(value, datetime):
            c = WriteOnlyCell(ws, value)
            c.number_format = "yyyy-mm-dd hh:mm"
            return c
        return value

    ws.append(headers)
    for row in rows:
        ws.append([cell(v) for v in row])
    out = tempfile.TemporaryFile()  # no name on disk: gone when the response closes it
    wb.save(out)
    out.seek(0)
    return send_file(out, as_attachment=True, download_name=filename,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
