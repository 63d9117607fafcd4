"""`youthbot hours`: the volunteer hours ledger for a period (names and phones: the command is audited)."""
from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import pass_bot
from bot.report import ledger as ledger_file
from domain import clock
from domain.halfyear import Period
from domain.hours import MAX_DAYS, REASONS, by_person, ledger


@click.command("hours")
@click.option("--from", "first", default="today-180", show_default=True, help="first day, e.g. 2026-01-01")
@click.option("--to", "last", default="today", show_default=True, help="last day (included), e.g. 2026-06-30")
@click.option("--out", default="hours.xlsx", show_default=True, type=click.Path(dir_okay=False),
              help="the ledger: 汇总 (a line per volunteer) and 明细 (every activity, hours and why none)")
@pass_bot
def hours(bot, first, last, out):
    """Write the volunteer hours ledger for a period (contains phone numbers: keep it safe)."""
    try:
        period = Period.parse(first, last)
    except ValueError as exc:
        raise click.ClickException(str(exc))
    if period.days > MAX_DAYS:
        raise click.ClickException(f"at most {MAX_DAYS} days at once")
    rows = ledger(bot.redis, period.start, period.end, clock.now())
    path = Path(out)
    path.write_bytes(ledger_file.workbook(rows, f"{period.first}", f"{period.last}"))
    people = by_person(rows)
    missed = ", ".join(f"{label} {sum(1 for r in rows if r.reason == k)}" for k, label in REASONS.items())
    click.echo(f"{len(people)} volunteers, {sum(p.minutes for p in people) / 60:.1f} hours credited "
               f"({missed}); written to {path} (contains phone numbers: keep it safe)")
