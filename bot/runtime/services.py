"""The services, built once per process: what a handler, a console page, a command or a scheduled task reaches.

Everything that serves residents or staff gets one `Bot` (create_app for the web, the CLI's pass_bot,
the scheduler) and reaches a service through it, never by building its own.
"""
from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.runtime import storage
from bot.wechat.crypto import make_crypto
from domain.certificates import Certificates
from domain.events import Events
from domain.followers import Followers
from domain.jobs import Jobs
from domain.outbox import Outbox
from domain.profiles import Profiles
from domain.quiz import Quiz
from handlers import build_router
from handlers.ledger import MessageLedger
from handlers.pager import Pager
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
