"""Staff accounts (create, role, reset, delete, which events an organiser runs) and the audit log
(searched, downloaded): admins only."""
from __future__ import annotations

import re
from datetime import datetime

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from bot.admin.access import audit as audit_view
from bot.admin.access import bot, gate, note, send_table
from domain import clock
from domain.audit import ACTIONS, CLI, EXPORT_HEADERS, Audit, Found, export_row
from domain.staff import ROLE_NAMES, ROLES, Staff, StaffError

bp = Blueprint("staff", __name__, url_prefix="/staff")
gate(bp, "admin")
AUDIT_PAGE = 100
AUDIT_EXPORT_MAX = 10_000  # entries in one download


@bp.get("/")
def index():
    staff = Staff(bot().redis)
    accounts = staff.all()
    owned = {a.name: staff.events_run_by(a.name) for a in accounts if a.role == "organiser"}
    titles = bot().events.titles(sorted({e for ids in owned.values() for e in ids}))
    owned = {name: [titles.get(e, f"（已删除的活动 {e}）") for e in ids] for name, ids in owned.items()}
    return render_template("admin/staff.html", title="账号", accounts=accounts, roles=ROLES, role_names=ROLE_NAMES,
                           owned=owned)


@bp.post("/")
def create():
    """Create an account; its one-time password is shown on the next page, once."""
    name, role = request.form.get("name", "").strip(), request.form.get("role", "")
    try:
        note(f"账号 {name}", {"角色": ("", ROLE_NAMES.get(role, role))})
        password = Staff(bot().redis).create(name, role)
    except StaffError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".index"))
    return render_template("admin/one_time.html", title="新账号", name=name, password=password, created=True)


@bp.post("/<name>/reset")
def reset(name):
    try:
        note(f"账号 {name} 的密码（其登录随即失效）")
        password = Staff(bot().redis).reset_password(name)
    except StaffError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".index"))
    return render_template("admin/one_time.html", title="重置密码", name=name, password=password, created=False)


@bp.post("/<name>/role")
def set_role(name):
    before = Staff(bot().redis).get(name)
    role = request.form.get("role", "")
    note(f"账号 {name}", {"角色": (before.role_name if before else "", ROLE_NAMES.get(role, role))})
    if name == g.staff.name:
        flash("不能修改自己的角色（以免没有管理员）。", "error")
        return redirect(url_for(".index"))
    try:
        Staff(bot().redis).set_role(name, request.form.get("role", ""))
        flash(f"{name} 的角色已改为 {ROLE_NAMES.get(request.form.get('role'), '')}。")
    except StaffError as exc:
        flash(str(exc), "error")
    return redirect(url_for(".index"))


@bp.post("/<name>/delete")
def delete(name):
    before = Staff(bot().redis).get(name)
    note(f"账号 {name}", {"角色": (before.role_name if before else "", "")})
    if name == g.staff.name:
        flash("不能删除自己的账号。", "error")
        return redirect(url_for(".index"))
    try:
        Staff(bot().redis).delete(name)
        flash(f"账号 {name} 已删除，它的登录随即失效。")
    except StaffError as exc:
        flash(str(exc), "error")
    return redirect(url_for(".index"))


@bp.get("/audit")
def audit():
    """Every staff action and every view of personal data, newest first, searched by account, action, date, words."""
    filters, problem = _audit_filters()
    before = request.args.get("before") or None
    if before is not None and not re.fullmatch(r"\d{1,20}(-\d{1,20})?", before):  # a stream id, or a 400 in words
        problem, before = problem or "“before”应当是审计日志里一条记录的编号（如 1764720000000-0）。", None
    found = Found([], None) if problem else Audit(bot().redis).search(**filters, count=AUDIT_PAGE, before=before)
    log = Audit(bot().redis)
    return render_template("admin/audit.html", title="审计日志", entries=found.entries, total=log.count(),
                           older=found.older, scanned_to=found.scanned_to, problem=problem, actions=ACTIONS,
                           accounts=sorted({a.name for a in Staff(bot().redis).all()} | set(log.staff_names()) | {CLI}),
                           args={k: request.args.get(k, "") for k in ("who", "action", "since", "until", "q")},
                           keep_days=bot().settings.audit_keep_days), 400 if problem else 200


@bp.get("/audit.xlsx")
def audit_export():
    """The entries the search shows (at most AUDIT_EXPORT_MAX), as a spreadsheet; the download is itself audited."""
    filters, problem = _audit_filters()
    if problem:
        abort(400, problem)
    found = Audit(bot().redis).search(**filters, count=AUDIT_EXPORT_MAX, scan_limit=AUDIT_EXPORT_MAX * 5)
    shown = "，".join(f"{label}{request.args[k]}" for k, label in (("who", "账号"), ("action", "操作"), ("since", "自"),
                                                                 ("until", "至"), ("q", "含")) if request.args.get(k))
    audit_view("export", f"审计日志 {len(found.entries)}条" + (f"（{shown}）" if shown else ""), 0)
    return send_table(f"审计日志-{clock.local(clock.now()):%Y%m%d}.xlsx", EXPORT_HEADERS,
                      [export_row(e) for e in found.entries])


def _audit_filters() -> tuple[dict, str]:
    """The search form as Audit.search's filters, and what is wrong with it ('' when nothing)."""
    args = request.args
    filters = {"staff": args.get("who", "").strip()[:64], "action": args.get("action", "").strip()[:64],
               "text": args.get("q", "").strip()[:100]}
    try:
        filters["since"] = _day(args.get("since", ""), "开始日期")
        until = _day(args.get("until", ""), "结束日期")
        filters["until"] = until + 86400 if until is not None else None  # the whole of the last day
    except ValueError as exc:
        return filters, str(exc)
    if filters["since"] is not None and filters["until"] is not None and filters["since"] >= filters["until"]:
        return filters, "开始日期不能晚于结束日期"
    return filters, ""


def _day(text: str, what: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return clock.parse_when(datetime.strptime(text, "%Y-%m-%d").strftime("%Y-%m-%d"))
    except ValueError:
        raise ValueError(f"{what}格式不对，请写成 2026-12-03") from None
