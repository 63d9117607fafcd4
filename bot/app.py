"""The app factory: `create_app()` builds the Flask app and the services it uses."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask

from bot import storage
from bot.config import Settings
from domain.followers import Followers
from bot.ledger import MessageLedger
from domain.outbox import Outbox
from bot.pager import Pager
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
    crypto: object = None


def build_bot(settings: Settings | None = None, redis_client=None) -> Bot:
    """Wire the services from settings (the CLI and the scheduler use this too)."""
    from bot.webhook import make_crypto
    from handlers import router

    settings = settings or Settings.from_env()
    redis = redis_client or storage.connect(settings.redis_url, settings.data_dir)
    texts = Texts.load(settings.content_dir / "texts")
    return Bot(
        settings=settings,
        redis=redis,
        texts=texts,
        router=router,
        ledger=MessageLedger(redis, settings.dedupe_ttl, settings.dedupe_pending_ttl),
        outbox=Outbox(redis),
        pager=Pager(redis, texts, settings.reply_max_bytes),
        followers=Followers(redis),
        crypto=make_crypto(settings),
    )


def create_app(settings: Settings | None = None, redis_client=None) -> Flask:
    """Build the web app: the WeChat webhook at /wechat and a health check."""
    from bot import importers as content
    from bot.webhook import bp

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    bot = build_bot(settings, redis_client)
    if bot.settings.load_demo:
        content.load_demo_if_empty(bot)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = bot.settings.max_body_bytes
    app.extensions["youthbot"] = bot
    app.register_blueprint(bp)

    @app.get("/healthz")
    def healthz():
        bot.redis.ping()
        return {"ok": True}

    return app
