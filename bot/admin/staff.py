"""Staff accounts (create, role, reset, delete, which events an organiser runs) and the audit log: admins only."""
from __future__ import annotations

import re

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from bot.admin.access import bot, gate
from domain.audit import Audit
from domain.staff import ROLE_NAMES, ROLES, Staff, StaffError

bp = Blueprint("staff", __name__, url_prefix="/staff")
gate(bp, "admin")
AUDIT_PAGE = 100


@bp.get("/")
def index():
    staff = Staff(bot().redis)
    accounts = staff.all()
    owned = {a.name: staff.events_run_by(a.name) for a in accounts if a.role == "organiser"}
    return render_template("admin/staff.html", title="账号", accounts=accounts, roles=ROLES, role_names=ROLE_NAMES,
                           owned=owned)


@bp.post("/")
def create():
    """Create an account; its one-time password is shown on the next page, once."""
    name, role = request.form.get("name", "").strip(), request.form.get("role", "")
    try:
        password = Staff(bot().redis).create(name, role)
    except StaffError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".index"))
    return render_template("admin/one_time.html", title="新账号", name=name, password=password, created=True)


@bp.post("/<name>/reset")
def reset(name):
    try:
        password = Staff(bot().redis).reset_password(name)
    except StaffError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".index"))
    return render_template("admin/one_time.html", title="重置密码", name=name, password=password, created=False)


@bp.post("/<name>/role")
def set_role(name):
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
    """Who saw or took personal data, newest first, a page at a time."""
    log = Audit(bot().redis)
    before = request.args.get("before") or None
    if before is not None and not re.fullmatch(r"\d{1,20}(-\d{1,20})?", before):
        return render_template("admin/error.html", title="页码不对",
                               message="“before”应当是审计日志里一条记录的编号（如 1764720000000-0）。"), 400
    entries = log.recent(AUDIT_PAGE, before)
    return render_template("admin/audit.html", title="审计日志", entries=entries, total=log.count(),
                           older=entries[-1].id if len(entries) == AUDIT_PAGE else None)
