"""`youthbot pushes` and `youthbot menu`: what goes out through the WeChat API."""
from __future__ import annotations

import click
import yaml

from bot.pushes import scheduler as sched
from bot.cli.common import pass_bot
from bot.cli.export import text_table
from bot.pushes.delivery import failed_pushes, retry_failed, stats
from domain import clock
from bot.wechat.client import SharedTokenClient, WeChatError


@click.group()
def pushes():
    """Pushes sent through the WeChat API."""


@pushes.command("stats")
@pass_bot
def pushes_stats(bot):
    """How many pushes were sent, skipped (and why) or failed, by kind."""
    counts = stats(bot.redis)
    click.echo(text_table(["what", "count"], sorted(counts.items())) if counts else "no pushes yet")


@pushes.command("failed")
@pass_bot
def pushes_failed(bot):
    """Pushes WeChat refused: being tried again (when next), or given up (why), with the error."""
    rows = [[p.kind, p.openid, p.errcode, p.failures, clock.fmt(p.last_failed),
             f"retry {clock.fmt(p.next_at)}" if p.state == "retrying" else f"given up: {p.reason}",
             clock.fmt(p.expires), p.key] for p in failed_pushes(bot.redis)]
    if not rows:
        click.echo("no failed pushes")
        return
    click.echo(text_table(["kind", "to", "error", "failures", "last", "state", "makes sense until", "key"], rows))


@pushes.command("retry")
@click.argument("keys", nargs=-1)
@pass_bot
def pushes_retry(bot, keys):
    """Queue failed pushes (all, or the KEYS given) to be tried again now."""
    queued, expired = retry_failed(bot.redis, list(keys) or None)
    click.echo(f"{queued} queued to be sent by the scheduler within seconds"
               f" (or now: youthbot pushes run drain_outbox)"
               + (f"; {expired} no longer make sense and were given up" if expired else ""))


@pushes.command("run")
@click.argument("job", type=click.Choice([e.job for e in sched.TIMETABLE]))
def pushes_run(job):
    """Run one scheduler job now."""
    from bot.runtime.serving import resolve_redis_url

    resolve_redis_url()
    click.echo(f"{job}: {sched.run_job(job)}")


@click.group()
def menu():
    """The account's custom menu (content/menu.yaml)."""


@menu.command("push")
@pass_bot
def menu_push(bot):
    """Send content/menu.yaml to WeChat's menu/create."""
    s = bot.settings
    menu_def = yaml.safe_load((s.content_dir / "menu.yaml").read_text(encoding="utf-8"))
    client = SharedTokenClient(bot.redis, s.wechat_appid, s.wechat_secret, s.wechat_api_base_url)
    try:
        client.create_menu(menu_def)
    except WeChatError as exc:
        raise click.ClickException(f"WeChat refused the menu: {exc}")
    click.echo(f"menu sent: {len(menu_def['button'])} buttons")
