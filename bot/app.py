"""The app factory: `create_app()` builds the Flask app and the services it uses."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from flask import Flask

from bot import admin, importers, storage, verify
from bot.config import Settings
from bot.ledger import MessageLedger
from bot.pager import Pager
from bot.webhook import bp, make_crypto
from domain.certificates import Certificates
from domain.events import Events
from domain.followers import Followers
from domain.jobs import Jobs
from domain.outbox import Outbox
from domain.profiles import Profiles
from domain.quiz import Quiz
from handlers import build_router
from handlers.router import Router
from handlers.texts import Texts


@dataclass
class Bot:
    """The services a handler may use, built once per process."""

    settings: Settings
    redis: object
    texts: Texts
    router: Router
    ledger: MessageLedger
    outbox: Outbox
    pager: Pager
    followers: Followers
    quiz: Quiz
    events: Events
    jobs: Jobs
    profiles: Profiles
    certificates: Certificates = None
    crypto: object = None


def build_bot(settings: Settings | None = None, redis_client=None) -> Bot:
    """Wire the services from settings (the CLI and the scheduler use this too)."""
    settings = settings or Settings.from_env()
    redis = redis_client or storage.connect(settings.redis_url, settings.data_dir)
    texts = Texts.load(settings.content_dir / "texts")
    return Bot(
        settings=settings,
        redis=redis,
        texts=texts,
        router=build_router(),
        ledger=MessageLedger(redis, settings.dedupe_ttl, settings.dedupe_pending_ttl),
        outbox=Outbox(redis),
        pager=Pager(redis, texts, settings.reply_max_bytes),
        followers=Followers(redis),
        quiz=Quiz(redis),
        events=Events(redis),
        jobs=Jobs(redis),
        profiles=Profiles(redis),
        certificates=Certificates(redis),
        crypto=make_crypto(settings),
    )


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
    app.after_request(_security_headers)
    return app


# Pages run only their own files: no inline or foreign script, no framing, no foreign forms. Styles may be inline
# (the console's charts size their bars with style attributes; a style cannot run code), images may be data:
# (the report page embeds its charts).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def _security_headers(response):
    """Headers on every answer; pages that may show personal data (the console, /verify) are never cached."""
    from flask import request

    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("X-Frame-Options", "DENY")
    if request.endpoint != "admin.static" and request.path.startswith(("/admin", "/verify")):
        h["Cache-Control"] = "no-store"
    return response
