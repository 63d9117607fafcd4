"""`youthbot report` and `youthbot events outcome`: the half-year report and what an activity achieved."""
from __future__ import annotations

import click


def _bot():
    from bot.app import build_bot
    from bot.config import Settings

    return build_bot(Settings.from_env())


@click.command("report")
@click.option("--from", "first", default="today-180", show_default=True, help="first day, e.g. 2026-01-01")
@click.option("--to", "last", default="today", show_default=True, help="last day (included), e.g. 2026-06-30")
@click.option("--out", default="report.docx", show_default=True, type=click.Path(dir_okay=False),
              help="the Word report")
@click.option("--xlsx", type=click.Path(dir_okay=False), help="also write the figures to this Excel file")
@click.option("--share", default=0.5, show_default=True, type=click.FloatRange(0.01, 1.0),
              help="share of the sessions a regular participant completed")
def report_command(first, last, out, xlsx, share):
    """Write the committee's work summary for a period, from youthbot's own records."""
    from bot.report import make
    from domain.halfyear import Period

    try:
        period = Period.parse(first, last)
    except ValueError as exc:
        raise click.ClickException(str(exc))
    bot = _bot()
    report = make(bot.redis, period, bot.settings.content_dir, share=share)
    click.echo(f"{report.text.title}")
    click.echo(f"report written to {report.docx(out)}")
    if xlsx:
        click.echo(f"figures written to {report.xlsx(xlsx)}")
    h = report.figures
    v, j = h.volunteering.total, h.jobs.all
    click.echo(f"sessions {len(h.study.sessions)}, participants {len(h.study.participants)}, "
               f"activities {len(v.activities)}, volunteers {v.people}, hours {v.hours:g}, "
               f"positions {j.headcount}, hires {j.hires}")
    if h.volunteering.unrecorded:
        click.echo(f"{len(h.volunteering.unrecorded)} activities have started with no check-ins and no outcome "
                   f"recorded; they are left out (youthbot events outcome N …)")


@click.command("outcome")
@click.argument("number", type=int)
@click.option("--served", default=0, type=int, help="people served: elders visited, children tutored, residents helped")
@click.option("--item", "items", multiple=True, help="given away, name=count: --item 书包=50 --item 图书=500")
@click.option("--service", "services", multiple=True, help="a service offered: --service 义诊 --service 义剪")
@click.option("--partner", "partners", multiple=True, help="a partner: the nursing home, the school, …")
@click.option("--walk-ins", default=0, type=int, help="volunteers who came without signing up through the account")
@click.option("--acts", default=0, type=int, help="a performance: the number of acts")
@click.option("--note", default="", help="one paragraph, in the committee's words, for the report")
@click.option("--by", "recorded_by", default="cli", show_default=True, help="who records it")
def events_outcome(number, served, items, services, partners, walk_ins, acts, note, recorded_by):
    """Record what event NUMBER achieved (recording again replaces it)."""
    from bot import clock
    from domain.events import Events
    from domain.outcomes import OutcomeError, Outcomes

    bot = _bot()
    occ = Events(bot.redis).by_number(number)
    if occ is None:
        raise click.ClickException(f"no event number {number}")
    try:
        outcome = Outcomes(bot.redis).record(occ, served=served, items=list(items), services=list(services),
                                             partners=list(partners), note=note, walk_ins=walk_ins, acts=acts,
                                             recorded_by=recorded_by)
    except OutcomeError as exc:
        raise click.ClickException(str(exc))
    given = "、".join(f"{n}{c}" for n, c in outcome.items.items()) or "-"
    click.echo(f"{occ.title} {clock.fmt(occ.start)}: served {outcome.served}, items {given}, "
               f"services {'、'.join(outcome.services) or '-'}, partners {'、'.join(outcome.partners) or '-'}")
