"""The app factory: `create_app()` builds the Flask app on the services of bot.runtime.services."""
from __future__ import annotations

import logging

import redis
from flask import Flask

from bot import admin, importers
from bot.config import Settings
from bot.runtime.services import Bot, build_bot  # noqa: F401  (Bot, build_bot: the services; re-exported for callers of bot.app)
from bot.web import verify
from bot.web.webhook import bp


def create_app(settings: Settings | None = None, redis_client=None) -> Flask:
    """Build the web app: the WeChat webhook at /wechat, the staff console at /admin, health, readiness, metrics."""
    from bot.ops import logs, web as ops_web

    bot = build_bot(settings, redis_client)
    logs.setup(bot.settings)
    if bot.settings.demo_mode:
        try:
            importers.load_demo_if_empty(bot)
        except redis.RedisError as exc:  # a worker (re)booting while Redis is down must still boot
            logging.getLogger(__name__).warning("demo content not checked, redis unavailable: %s", exc)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = bot.settings.max_body_bytes
    if bot.settings.proxy_hops > 0:  # behind nginx: trust its X-Forwarded-For/-Proto, that many hops
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = bot.settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.extensions["youthbot"] = bot
    app.register_blueprint(bp)
    app.register_blueprint(verify.bp)
    admin.init_app(app, bot)
    ops_web.register(app, bot)  # /healthz, /readyz, /metrics
    return app
