"""What every command group shares: the services, built once per command, the audit entry of a command
that changes something or takes personal data, and look-ups by number."""
from __future__ import annotations

import functools
import getpass
import socket
from pathlib import Path

import click
import redis

from bot.config import Settings


# Commands that change the store or take personal data -> their action in the audit log (domain/audit.py).
# The others only show figures or lists without personal data and leave no entry.
AUDITED = {
    "content load": "content.load", "demo clear": "content.demo_clear", "menu push": "menu.push",
    "events cancel": "event.cancel", "events reinstate": "event.reinstate", "events move": "event.edit", "events edit": "event.edit",
    "events outcome": "event.outcome", "events attendance": "event.attendance", "events export": "export",
    "jobs outcome": "job.outcome", "jobs filled": "job.status", "jobs withdraw": "job.status", "jobs export": "export",
    "quiz export": "export", "hours": "export", "quiz delete": "bank.delete", "quiz close": "bank.close", "pushes retry": "push.retry", "staff add": "staff.create", "staff reset": "staff.reset",
}
PERSONAL_PARAMS = {"who"}  # arguments that name a resident: the entry says only that one was given


def pass_bot(fn):
    """Give the command the bot's services as its first argument, connected to the service's store.
    A command listed in AUDITED is written to the audit log when it ends, done or refused."""
    @click.pass_context
    @functools.wraps(fn)
    def wrapper(ctx, *args, **kwargs):
        from bot.runtime.services import build_bot

        if ctx.obj is None:
            settings = Settings.from_env()
            _say_which_store(settings)
            ctx.obj = build_bot(settings)
        command = " ".join(ctx.command_path.split()[1:])
        if command not in AUDITED:
            return fn(ctx.obj, *args, **kwargs)
        try:
            result = fn(ctx.obj, *args, **kwargs)
        except click.ClickException as exc:
            _audit(ctx, command, exc.format_message())
            raise
        except Exception as exc:
            _audit(ctx, command, f"出错：{type(exc).__name__}")
            raise
        _audit(ctx, command, "")
        return result
    return wrapper


def _audit(ctx, command: str, refused: str) -> None:
    from domain.audit import CLI, Audit

    values = [(p.name, ctx.params.get(p.name)) for p in ctx.command.params]  # in the order the command takes them
    shown = " ".join(f"--{k}={'（已填）' if k in PERSONAL_PARAMS else v}" for k, v in values
                     if v not in (None, False, (), ""))
    try:
        Audit(ctx.obj.redis).record(CLI, AUDITED[command], f"youthbot {command} {shown}".strip(), 0,
                                    f"{_user()}@{socket.gethostname()}", refused=refused)
    except redis.RedisError:
        click.echo("warning: the audit log could not be written (the store is unreachable)", err=True)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "?"


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
