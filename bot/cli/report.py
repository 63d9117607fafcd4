"""`youthbot report`: the committee's work summary for a period, from youthbot's own records."""
from __future__ import annotations

import click

from bot.cli.common import pass_bot
from bot.importers import load_demo_if_empty
from bot.report import make
from domain.halfyear import DEFAULT_FROM, DEFAULT_TO, Period, PeriodError


@click.command("report")
@click.option("--from", "first", default=DEFAULT_FROM, show_default=True,
              help="first day: 2026-01-01, today or today-180 (a period covers at most three years)")
@click.option("--to", "last", default=DEFAULT_TO, show_default=True, help="last day (included), e.g. 2026-06-30")
@click.option("--out", default="report.docx", show_default=True, type=click.Path(dir_okay=False),
              help="the Word report")
@click.option("--xlsx", type=click.Path(dir_okay=False), help="also write the figures to this Excel file")
@click.option("--share", default=0.5, show_default=True, type=click.FloatRange(0.01, 1.0),
              help="share of the sessions a regular participant completed")
@pass_bot
def report(bot, first, last, out, xlsx, share):
    """Write the committee's work summary for a period (Word; Excel with --xlsx)."""
    try:
        period = Period.parse(first, last)
    except PeriodError as exc:
        raise click.ClickException(str(exc))
    if bot.settings.demo_mode and load_demo_if_empty(bot):  # a fresh demo install: the demo, as `serve` would
        click.echo("empty store: demo content loaded")
    made = make(bot.redis, period, bot.settings.content_dir, share=share)
    click.echo(made.text.title)
    click.echo(f"report written to {made.docx(out)}")
    if xlsx:
        click.echo(f"figures written to {made.xlsx(xlsx)}")
    h = made.figures
    v, j = h.volunteering.total, h.jobs.all
    click.echo(f"sessions {len(h.study.sessions)}, participants {len(h.study.participants)}, "
               f"activities {len(v.activities)}, volunteers {len(v.volunteers)}, hours {v.hours:g}, "
               f"positions {j.headcount}, hires {j.hires}")
    if h.volunteering.unrecorded:
        click.echo(f"{len(h.volunteering.unrecorded)} activities have started with no check-ins and no outcome "
                   f"recorded; they are left out (youthbot events outcome N …)")
