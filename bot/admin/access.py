"""Who is signed in, what their role may open, and the audit trail of personal data shown.

Every section blueprint calls `gate(bp, *roles)` once: all its pages then need
a signed-in account with one of those roles (anonymous: to the login page;
another role: 403). Every POST in the console must carry the CSRF token.
"""
from __future__ import annotations

import io
import tempfile
from contextlib import contextmanager
from functools import wraps
from pathlib import Path

from flask import (abort, current_app, g, make_response, redirect, render_template, request, send_file, session,
                   url_for)
from flask_wtf.csrf import CSRFError

from domain import clock
from domain.audit import Audit
from domain.staff import Staff

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
    ("admin.jobs.index", "就业岗位", ("admin", "jobs")),
    ("admin.pushes.index", "推送", ("admin",)),
    ("admin.people.index", "人员", ("admin",)),
    ("admin.report.page", "工作总结", ("admin",)),
    ("admin.staff.index", "账号", ("admin",)),
    ("admin.staff.audit", "审计日志", ("admin",)),
]


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
        if request.method == "POST":
            csrf.protect()
        if request.endpoint in OPEN_ENDPOINTS:
            return None
        if g.staff is None:
            return redirect(url_for("admin.auth.login", next=request.full_path.rstrip("?")))
        if g.staff.must_change and request.endpoint not in ("admin.auth.change_password", "admin.auth.logout"):
            return redirect(url_for("admin.auth.change_password"))
        return None

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
    """Record that the signed-in account saw or took personal data of `people` people.

    A GET that another site started (a link or a redirect: the browser says so in Sec-Fetch-Site, which no page
    can forge) records nothing and shows nothing: the page asks the staff member to open it from the console
    themselves, so no outside link can plant entries in their name.
    """
    if request.method == "GET" and request.headers.get("Sec-Fetch-Site", "") in CROSS_SITE:
        abort(make_response(render_template("admin/cross_site.html", title="请确认", target=request.full_path
                                            .rstrip("?")), 403))
    Audit(bot().redis).record(g.staff.name, action, what[:300], people, client_address())


def send_table(filename: str, headers: list[str], rows: list[list]):
    """An XLSX download of a table (built in memory)."""
    from openpyxl import Workbook

    from bot.exports.cells import defuse

    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    defuse(wb).save(buf)
    buf.seek(0)
    return send_file(buf, as_attachment=True, download_name=filename,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def safe_filename(filename: str) -> str:
    """The last part of an uploaded file's name, without control characters, never "." or "..", at most 100
    characters (the suffix kept): what the browser sends is only a label, and the pages name the file by it."""
    name = "".join(ch for ch in Path(filename.replace("\\", "/")).name if ch.isprintable())
    if name.strip(". ") == "":
        return "upload"
    stem, dot, suffix = name.rpartition(".")
    if dot and len(suffix) <= 10:
        return stem[:100 - len(suffix) - 1] + "." + suffix if stem else "upload." + suffix
    return name[:100]


@contextmanager
def uploaded(field: str):
    """The uploaded file of a form field, saved under its own name in a temporary folder (None if absent)."""
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        yield None
        return
    name = safe_filename(upload.filename)
    with tempfile.TemporaryDirectory(prefix="youthbot-upload-") as folder:
        path = Path(folder) / name
        upload.save(path)
        yield path
