"""`youthbot pushes` and `youthbot menu`: what goes out through the WeChat API."""
from __future__ import annotations

import click
import yaml

from bot import scheduler as sched
from bot.cli.common import pass_bot
from bot.export import text_table
from bot.pushes import stats
from bot.wechat_client import SharedTokenClient, WeChatError


@click.group()
def pushes():
    """Pushes sent through the WeChat API."""


@pushes.command("stats")
@pass_bot
def pushes_stats(bot):
    """How many pushes were sent, skipped (and why) or failed, by kind."""
    counts = stats(bot.redis)
    click.echo(text_table(["what", "count"], sorted(counts.items())) if counts else "no pushes yet")


@pushes.command("run")
@click.argument("job", type=click.Choice([e.job for e in sched.TIMETABLE]))
def pushes_run(job):
    """Run one scheduler job now."""
    from bot.serving import resolve_redis_url

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
