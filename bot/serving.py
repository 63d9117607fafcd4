"""What happens once, in the serving master, before workers are forked."""
from __future__ import annotations

import os

from bot import storage
from bot.config import Settings


def resolve_redis_url() -> Settings:
    """Without REDIS_URL, find or start the embedded Redis and export its socket as REDIS_URL."""
    settings = Settings.from_env()
    if not settings.redis_url:
        socket = storage.embedded_socket(settings.data_dir)
        os.environ["REDIS_URL"] = f"unix://{socket}"
        settings = Settings.from_env()
    return settings


def prepare_master() -> Settings:
    """Start the embedded Redis if REDIS_URL is unset, export its socket, load demo content."""
    settings = resolve_redis_url()
    if settings.demo_mode:
        from bot import importers as content
        from bot.app import build_bot

        content.load_demo_if_empty(build_bot(settings))
    return settings
