"""`youthbot jobs`: interest lists for employers, outcomes, figures."""
from __future__ import annotations

import click

from bot.cli.common import by_number, pass_bot
from bot.cli.export import text_table, write_table
from domain import clock
from domain.job_report import export_rows
from domain.jobs import OUTCOMES
from domain.profiles import mask_phone

STATE_NAMES = {"open": "招聘中", "filled": "已招满", "expired": "已过期"}


@click.group()
def jobs():
    """Job postings: interest lists for employers, outcomes, figures."""


def _posting(bot, number):
    return by_number(bot.jobs, number, "posting")


@jobs.command("list")
@click.option("--all", "show_all", is_flag=True, help="also the filled and expired ones")
@pass_bot
def jobs_list(bot, show_all):
    """Postings with their numbers, state, employer and interest registered (open ones, newest first)."""
    jobs, now = bot.jobs, clock.now()
    rows = [[p.number, p.title, p.employer, STATE_NAMES[p.state(now)], clock.to_naive(p.published),
             clock.to_naive(p.expires), len(jobs.interested(p.id))]
            for p in jobs.all() if show_all or p.state(now) == "open"]
    click.echo(text_table(["no", "title", "employer", "state", "published", "expires", "interest"], rows)
               if rows else "no postings")


@jobs.command("export")
@click.argument("number", type=int)
@click.option("--out", type=click.Path(dir_okay=False), help="a .csv or .xlsx file (default: posting-N.xlsx)")
@pass_bot
def jobs_export(bot, number, out):
    """Write the people interested in posting NUMBER, for its employer only."""
    p = _posting(bot, number)
    headers, rows = export_rows(bot.redis, p)
    path = write_table(out or f"posting-{number}.xlsx", headers, rows)
    click.echo(f"{p.employer} · {p.title}: {len(rows)} people written to {path} (only for this employer)")


@jobs.command("outcome")
@click.argument("number", type=int)
@click.argument("who")
@click.argument("outcome", type=click.Choice([o for o in OUTCOMES if o != "registered"]))
@pass_bot
def jobs_outcome(bot, number, who, outcome):
    """Record what happened for WHO (openid or mobile number) on posting NUMBER."""
    p = _posting(bot, number)
    profiles = bot.profiles
    openid = bot.jobs.find_interested(p.id, who, profiles)
    if openid is None:
        raise click.ClickException(f"{who} has not registered interest in posting {number}")
    bot.jobs.set_outcome(p.id, openid, outcome)
    person = profiles.get(openid)
    click.echo(f"{person.name or openid} ({mask_phone(person.phone)}): {outcome}")


@jobs.command("filled")
@click.argument("number", type=int)
@click.option("--reopen", is_flag=True, help="open it again instead")
@pass_bot
def jobs_filled(bot, number, reopen):
    """Mark posting NUMBER filled (it stops showing in chat), or open again with --reopen."""
    p = bot.jobs.set_status(_posting(bot, number), "open" if reopen else "filled")
    click.echo(f"{p.employer} · {p.title}: {p.status}")


@jobs.command("stats")
@pass_bot
def jobs_stats(bot):
    """Positions offered, interest registrations and hires, per category and per fair."""
    figures = bot.jobs.stats()
    fairs = {o.event_id: o.title for o in bot.events.between(0, float("inf"), kind="job_fair")}
    figures["fair"] = {fairs.get(fid, fid): row for fid, row in figures["fair"].items()}
    for title, table in (("category", figures["category"]), ("fair", figures["fair"])):
        rows = [[name, postings, positions, interest, hired] for name, (positions, interest, hired, postings)
                in sorted(table.items())]
        totals = [sum(r[i] for r in rows) for i in range(1, 5)]
        click.echo(text_table([title, "postings", "positions", "interest", "hired"], rows + [["total"] + totals]))
        click.echo("")
