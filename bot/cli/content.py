"""`youthbot content`: import the committee's content files, and clear the demo's made-up people."""
from __future__ import annotations

import click

from bot import importers
from bot.cli.common import pass_bot
from bot.cli.notices import scheduler_note
from domain import demo as demo_people


@click.group()
def content():
    """Import content files (quizzes, events, job postings)."""


@content.command("load")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@pass_bot
def content_load(bot, directory):
    """Load every content file under DIRECTORY: all of it, or (on any error) none of it."""
    plan = importers.check_dir(directory)
    if not plan.ok:
        lines = [f"nothing loaded: {len(plan.errors)} problem{'s' if len(plan.errors) > 1 else ''} to fix first"]
        raise click.ClickException("\n".join(lines + [f"  {e}" for e in plan.errors]))
    report = _all_or_nothing(bot, plan)
    click.echo(f"loaded: {report}")
    if not bot.settings.demo_mode and plan.records.get("demo"):
        click.echo(f"skipped demo/ and demo sign-ups: not a demo ({bot.settings.demo_reason})")
    if report.notes:
        click.echo(scheduler_note(bot))


def _all_or_nothing(bot, plan):
    """plan.apply against a staged copy of what it touches, switched into the store in one step
    (bot/runtime/staged.py, as console uploads are): a load killed at any moment leaves the store wholly
    before or wholly after it."""
    from bot.runtime import staged

    try:
        return staged.run(bot.redis, lambda client: plan.apply(staged.bot_on(bot, client)), wait=60.0)
    except staged.Busy:
        raise click.ClickException("nothing loaded: a console upload or another load is being saved; "
                                   "try again in a minute") from None
    except staged.Contended:
        raise click.ClickException("nothing loaded: what the files touch kept changing (residents signing up "
                                   "meanwhile); try again") from None
    except staged.StagedError as exc:
        raise click.ClickException(f"nothing loaded: {exc}") from None


@click.group()
def demo():
    """The demo's made-up members and sign-ups."""


@demo.command("clear")
@pass_bot
def demo_clear(bot):
    """Remove every made-up person (members, quiz results, sign-ups); real people waiting move up."""
    from domain.event_changes import tell_promoted

    done = demo_people.clear(bot.redis)
    for occ, openid in done.promoted:
        tell_promoted(bot.outbox, bot.texts, occ, openid)
    click.echo(f"removed {done.people} made-up people and {done.places} event places; "
               f"{len(done.promoted)} people promoted from a waitlist will be told")
    if done.promoted:
        click.echo(scheduler_note(bot))
