"""What every command group shares: the services, built once per command, and look-ups by number."""
from __future__ import annotations

import functools
from pathlib import Path

import click

from bot.config import Settings


def pass_bot(fn):
    """Give the command the bot's services as its first argument, connected to the service's store."""
    @click.pass_context
    @functools.wraps(fn)
    def wrapper(ctx, *args, **kwargs):
        from bot.runtime.services import build_bot

        if ctx.obj is None:
            settings = Settings.from_env()
            _say_which_store(settings)
            ctx.obj = build_bot(settings)
        return fn(ctx.obj, *args, **kwargs)
    return wrapper


def _say_which_store(settings: Settings) -> None:
    """A command reaches the running service only through the same store: say so when no service runs on it."""
    from bot.runtime import storage

    if settings.redis_url or storage.service_running(settings.data_dir):
        return
    click.echo(f"note: no `youthbot serve` is running with DATA_DIR={Path(settings.data_dir).resolve()}; this command "
               "uses the store there. If the service runs, run this command with the DATA_DIR (or REDIS_URL) it "
               "was started with: `youthbot serve` prints it.", err=True)


def by_number(store, number: int, what: str):
    """The record numbered `number` (as users see it), or a clear error."""
    found = store.by_number(number)
    if found is None:
        raise click.ClickException(f"no {what} number {number}")
    return found
