"""The app factory: `create_app()` builds the Flask app on the services of bot.runtime.services."""
from __future__ import annotations

import logging
from pathlib import Path

import redis
from flask import Flask, request
from werkzeug.routing import Rule

from bot import admin, importers
from bot.config import Settings
from bot.runtime.services import Bot, build_bot  # noqa: F401  (Bot, build_bot: the services; re-exported for callers of bot.app)
from bot.runtime.topology import STORE_ERRORS
from bot.web import verify
from bot.web.webhook import WebhookFirst, bp
from handlers import reading


def create_app(settings: Settings | None = None, redis_client=None) -> Flask:
    """Build the web app: the WeChat webhook at /wechat, the staff console at /admin, health, readiness, metrics."""
    from bot.ops import logs, web as ops_web

    bot = build_bot(settings, redis_client)
    logs.setup(bot.settings, role=bot.settings.serve_role if bot.settings.serve_role == "console" else "web")
    reading.warm()  # traditional -> simplified tables: at boot, not on a resident's first message
    _clean_after_kills(bot)
    _build_indexes(bot)
    if bot.settings.demo_mode:
        try:
            importers.load_demo_if_empty(bot)
        except STORE_ERRORS as exc:  # a worker (re)booting while Redis (a Cluster node) is down must still boot
            logging.getLogger(__name__).warning("demo content not checked, redis unavailable: %s", exc)
    app = Flask(__name__)
    app.url_rule_class = LazyBuildRule
    app.config["MAX_CONTENT_LENGTH"] = bot.settings.max_body_bytes
    app.extensions["youthbot"] = bot
    app.wsgi_app = WebhookFirst(app.wsgi_app, bot, app.extensions, _add_security_headers,
                                ops_web.count_http_response, ops_web.store_unavailable)
    app.register_blueprint(bp)
    if bot.settings.proxy_hops > 0:  # behind nginx: trust its X-Forwarded-For/-Proto, that many hops
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = bot.settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.register_blueprint(verify.bp)
    admin.init_app(app, bot)
    ops_web.register(app, bot)  # /healthz, /readyz, /metrics
    app.after_request(_security_headers)
    return app


class LazyBuildRule(Rule):
    """A URL rule whose url_for() builders are compiled on the first url_for(), not when the rule is added.

    Werkzeug compiles two Python functions per rule as it is added (generated source, compile(), exec): 16 of
    the 25 ms an app build took with the console's 76 rules, paid by every worker boot, every CLI command that
    builds the app and every test. Most rules are never built into a link in a process's life (a webhook worker
    builds none). Matching is not affected: it is compiled separately, as before. Where werkzeug has no
    `_compile_builder` (a version after 3.1), the rule is werkzeug's own."""

    if hasattr(Rule, "_compile_builder"):
        def _compile_builder(self, append_unknown: bool = True):
            compile_now = super()._compile_builder
            compiled: list = []

            def build(rule, **values):
                if not compiled:
                    compiled.append(compile_now(append_unknown).__get__(rule, None))
                return compiled[0](**values)
            return build


def _build_indexes(bot) -> None:
    """The indexes a store from an earlier version lacks (domain/indexes.py): normally built by the web master
    before any worker starts; here for every other way the app is run. One read when they are there."""
    from domain import indexes

    log = logging.getLogger(__name__)
    try:
        indexes.ensure(bot.redis, say=log.info)
    except STORE_ERRORS as exc:
        log.warning("store indexes not checked, redis unavailable: %s", exc)


def _clean_after_kills(bot) -> None:
    """What a process killed mid-upload or mid-backup left: its private folder in DATA_DIR/tmp (a sheet,
    a snapshot) and the upload staging database (bot/runtime/staged.py)."""
    from bot.runtime import staged
    from bot.runtime.workdirs import WORK, clean_leftovers

    try:
        clean_leftovers(Path(bot.settings.data_dir) / WORK)
    except OSError as exc:
        logging.getLogger(__name__).warning("could not clean %s: %s", Path(bot.settings.data_dir) / WORK, exc)
    try:
        staged.clear_leftovers(bot.redis)
    except redis.RedisError:
        pass  # the store is down: the next upload empties it


# Pages run only their own files: no inline or foreign script, no framing, no foreign forms. Styles may be inline
# (the console's charts size their bars with style attributes; a style cannot run code), images may be data:
# (the report page embeds its charts).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


_SECURITY_HEADERS = (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
                     ("Referrer-Policy", "same-origin"), ("X-Frame-Options", "DENY"))


def _add_security_headers(h) -> None:
    """A header the view set itself is kept (one pass over the response's few headers, not one per header:
    this runs for every WeChat message)."""
    present = {name.lower() for name in h.keys()}
    for name, value in _SECURITY_HEADERS:
        if name.lower() not in present:
            h.add(name, value)


def _security_headers(response):
    """Headers on every answer; pages that may show personal data (the console, /verify) are never cached."""
    _add_security_headers(response.headers)
    if request.path.startswith(("/admin", "/verify")) and request.endpoint != "admin.static":
        response.headers["Cache-Control"] = "no-store"
    return response
