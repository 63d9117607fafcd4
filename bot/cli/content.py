"""`youthbot content`: import the committee's content files."""
from __future__ import annotations

import click

from bot import importers
from bot.cli.common import pass_bot


@click.group()
def content():
    """Import content files (quizzes, events, job postings)."""


@content.command("load")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@pass_bot
def content_load(bot, directory):
    """Load every content file under DIRECTORY (idempotent)."""
    try:
        report = importers.load_dir(bot, directory)
    except importers.ContentError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"loaded: {report}")
