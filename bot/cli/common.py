"""What every command group shares: the services, built once per command, and look-ups by number."""
from __future__ import annotations

import functools

import click

from bot.config import Settings


def pass_bot(fn):
    """Give the command the bot's services as its first argument, connected to the service's store."""
    @click.pass_context
    @functools.wraps(fn)
    def wrapper(ctx, *args, **kwargs):
        from bot.runtime.services import build_bot

        if ctx.obj is None:
            ctx.obj = build_bot(Settings.from_env())
        return fn(ctx.obj, *args, **kwargs)
    return wrapper


def by_number(store, number: int, what: str):
    """The record numbered `number` (as users see it), or a clear error."""
    found = store.by_number(number)
    if found is None:
        raise click.ClickException(f"no {what} number {number}")
    return found
