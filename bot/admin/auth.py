"""Signing in and out, and changing one's password (forced at the first login)."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from bot.admin.access import bot, client_address, end_session, refused, start_session
from bot.runtime.slots import slot
from domain.audit import Audit
from domain.staff import FAILURE_WINDOW, MIN_PASSWORD, Staff, StaffError

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form; a success opens a session, failures are counted per account and address."""
    if request.method == "GET":
        return render_template("admin/login.html", name="", lock_minutes=FAILURE_WINDOW // 60)
    name = request.form.get("name", "").strip()
    with password_check() as free:
        if not free:  # a flood of logins: answered at once, no password checked, nothing counted
            return busy("admin/login.html", name=name[:64], lock_minutes=FAILURE_WINDOW // 60)
        result = Staff(bot().redis).login(name, request.form.get("password", ""), client_address())
    if result.status != "locked":  # a locked login was recorded by the failures that locked it (no flooding)
        Audit(bot().redis).record(name[:32], "login" if result.status == "ok" else "login_failed", "登录控制台", 0,
                                  client_address(), refused="" if result.status == "ok" else "账号或密码不对")
    if result.status != "ok":
        message = f"登录失败次数过多，请{FAILURE_WINDOW // 60}分钟后再试。" if result.status == "locked" \
            else "账号或密码不对。"
        return render_template("admin/login.html", name=name[:64], error=message, lock_minutes=FAILURE_WINDOW // 60), \
            401 if result.status == "bad" else 429
    start_session(result.account)
    if result.account.must_change:
        return redirect(url_for("admin.auth.change_password"))
    return redirect(_safe_next(request.args.get("next")))


BUSY = "登录的人太多，请稍后再试。"


def password_check():
    """One of LOGIN_CHECKS slots for an Argon2 check, shared by every process on this DATA_DIR: a flood of
    logins burns at most that many cores, and the WeChat messages keep the rest."""
    settings = bot().settings
    return slot(settings.data_dir, "password-check", settings.login_checks)


def busy(template: str, **values):
    return render_template(template, error=BUSY, **values), 429, {"Retry-After": "5"}


def _safe_next(target: str | None) -> str:
    """Only ever go back to a console page (no open redirect)."""
    if target and target.startswith("/admin/") and not target.startswith("//"):
        return target
    return url_for("admin.dashboard.index")


@bp.post("/logout")
def logout():
    end_session()  # the record goes: a copy of the cookie opens nothing any more
    flash("已退出登录。")
    return redirect(url_for("admin.auth.login"))


@bp.route("/password", methods=["GET", "POST"])
def change_password():
    """Change the password; the first login lands here and cannot go elsewhere until it is done."""
    if request.method == "GET":
        return render_template("admin/password.html", min_length=MIN_PASSWORD)
    new, again = request.form.get("new", ""), request.form.get("again", "")
    try:
        if new != again:
            raise StaffError("两次输入的新密码不一致")
        with password_check() as free:
            if not free:
                return busy("admin/password.html", min_length=MIN_PASSWORD)
            account = Staff(bot().redis).change_password(g.staff.name, request.form.get("old", ""), new)
    except StaffError as exc:
        refused(str(exc))
        return render_template("admin/password.html", min_length=MIN_PASSWORD, error=str(exc)), 400
    start_session(account)  # every session of this account ended; this browser gets a new one
    flash("密码已修改。")
    return redirect(url_for("admin.dashboard.index"))
