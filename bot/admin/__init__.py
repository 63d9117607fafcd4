"""The staff console under /admin: one blueprint a section, server-rendered pages, CSRF on every form.

init_app() is called once by create_app(): it sets up the signed session cookie,
CSRF protection for the console's forms (not for /wechat, which WeChat signs),
and registers the sections in the order the menu shows them.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

import redis
from flask import Blueprint
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from domain.keys import key

SECRET = key("admin", "secret_key")
csrf = CSRFProtect()


def init_app(app, bot) -> None:
    """Wire the console into the app: cookie settings, CSRF, and the sections."""
    from bot.admin import access, auth, branches, dashboard, events, hours, jobs, people, pushes, quizzes, report, staff

    s = bot.settings
    try:
        app.secret_key = s.admin_secret_key or _shared_secret(bot.redis)
    except redis.RedisError:  # a worker booting while the store is down must still boot (the webhook answers)
        app.secret_key = None
    app.config.update(SESSION_COOKIE_NAME="yb_console", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SECURE=s.admin_cookie_secure, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_PATH="/admin",
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=s.admin_session_hours),
                      WTF_CSRF_CHECK_DEFAULT=False,  # checked by the console itself; /wechat is signed instead
                      WTF_CSRF_TIME_LIMIT=s.admin_session_hours * 3600)
    app.session_interface = ConsoleSessions()
    csrf.init_app(app)
    # A new parent each time: tests build many apps, and a registered blueprint cannot take new children.
    bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates", static_folder="static",
                   static_url_path="/static")
    access.init(bp)

    @bp.before_request
    def _signing_key_once_the_store_is_back():
        if not app.secret_key:
            app.secret_key = _shared_secret(bot.redis)
    for section in (auth, dashboard, quizzes, branches, events, hours, jobs, pushes, people, report, staff):
        bp.register_blueprint(section.bp)
    app.register_blueprint(bp)


class ConsoleSessions(SecureCookieSessionInterface):
    """The console's signed cookie session, opened only under SESSION_COOKIE_PATH (/admin), the only
    paths its cookie is sent to: every other request (each WeChat message) skips deriving the signing
    key and reading the cookie, and gets Flask's null session (writing to it is an error)."""

    def open_session(self, app, request):
        if not request.path.startswith(self.get_cookie_path(app)):
            return None
        return super().open_session(app, request)


def _shared_secret(redis) -> str:
    """One random signing key for every worker, made on the first start."""
    redis.set(SECRET, secrets.token_hex(32), nx=True)
    return redis.get(SECRET)
