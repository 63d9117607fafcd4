"""`youthbot events`: lists, check-in codes, contact lists, cancelling, moving, fixing attendance."""
from __future__ import annotations

import click

from domain import event_changes
from bot.cli.common import by_number, pass_bot
from bot.cli.notices import scheduler_note
from bot.cli.export import text_table, write_table
from domain import clock
from domain.event_report import export_rows


@click.group()
def events():
    """Volunteer events: lists, check-in codes, contact lists, cancelling, moving, attendance."""


def _occurrence(bot, number):
    return by_number(bot.events, number, "event")


@events.command("list")
@click.option("--past", is_flag=True, help="what already happened (as `events past`)")
@pass_bot
def events_list(bot, past):
    """Upcoming events with their numbers, places taken and waitlists (--past: the last 60 days)."""
    if past:
        return click.get_current_context().invoke(events_past)
    ev, now = bot.events, clock.now()
    rows = []
    for o in ev.upcoming(now):
        confirmed, waiting = ev.counts(o.id)
        rows.append([o.number, clock.to_naive(o.start), o.title, f"{confirmed}/{o.capacity}", waiting])
    click.echo(text_table(["no", "start", "title", "taken", "waitlist"], rows) if rows else "no upcoming events")


@events.command("code")
@click.argument("number", type=int)
@pass_bot
def events_code(bot, number):
    """Print the check-in code of event NUMBER for its organisers."""
    occ = _occurrence(bot, number)
    click.echo(f"{occ.title} {clock.fmt(occ.start)}: check-in code {bot.events.code(occ.id)}")


@events.command("export")
@click.argument("number", type=int)
@click.option("--out", type=click.Path(dir_okay=False), help="a .csv or .xlsx file (default: event-N.xlsx)")
@pass_bot
def events_export(bot, number, out):
    """Write the full contact list of event NUMBER (names, phone numbers, attendance) for staff."""
    headers, rows = export_rows(bot.redis, _occurrence(bot, number))
    path = write_table(out or f"event-{number}.xlsx", headers, rows)
    click.echo(f"{len(rows)} people written to {path} (contains phone numbers: keep it safe)")


@events.command("cancel")
@click.argument("number", type=int)
@click.option("--reason", default="", help="a short reason shown to volunteers")
@pass_bot
def events_cancel(bot, number, reason):
    """Cancel event NUMBER and tell everyone signed up."""
    told = event_changes.cancel_event(bot, _occurrence(bot, number), reason)
    click.echo(f"cancelled; {told} people will be told")
    if told:
        click.echo(scheduler_note(bot))


@events.command("move")
@click.argument("number", type=int)
@click.option("--to", "new_start", required=True, help="new start, date and time, e.g. '2026-12-05 09:00'")
@pass_bot
def events_move(bot, number, new_start):
    """Move event NUMBER to a new start (same length) and tell everyone signed up."""
    occ = _occurrence(bot, number)
    try:
        occ, told = event_changes.move_event(bot, occ, new_start)
    except event_changes.EventChangeError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"moved to {clock.fmt(occ.start)}; {told} people will be told")
    if told:
        click.echo(scheduler_note(bot))


@events.command("outcome")
@click.argument("number", type=int)
@click.option("--served", default=0, type=int, help="people served: elders visited, children tutored, residents helped")
@click.option("--item", "items", multiple=True, help="given away, name=count: --item 书包=50 --item 图书=500")
@click.option("--service", "services", multiple=True, help="a service offered: --service 义诊 --service 义剪")
@click.option("--partner", "partners", multiple=True, help="a partner: the nursing home, the school, …")
@click.option("--walk-ins", default=0, type=int, help="volunteers who came without signing up through the account")
@click.option("--acts", default=0, type=int, help="a performance: the number of acts")
@click.option("--note", default="", help="one paragraph, in the committee's words, for the report")
@click.option("--by", "recorded_by", default="cli", show_default=True, help="who records it")
@pass_bot
def events_outcome(bot, number, served, items, services, partners, walk_ins, acts, note, recorded_by):
    """Record what event NUMBER achieved, for the report (recording again replaces it)."""
    from domain.outcomes import OutcomeError, Outcomes

    occ = _occurrence(bot, number)
    try:
        outcome = Outcomes(bot.redis).record(occ, served=served, items=list(items), services=list(services),
                                             partners=list(partners), note=note, walk_ins=walk_ins, acts=acts,
                                             recorded_by=recorded_by)
    except OutcomeError as exc:
        raise click.ClickException(str(exc))
    given = "、".join(f"{n}{c}" for n, c in outcome.items.items()) or "-"
    click.echo(f"{occ.title} {clock.fmt(occ.start)}: served {outcome.served}, items {given}, "
               f"services {'、'.join(outcome.services) or '-'}, partners {'、'.join(outcome.partners) or '-'}")


@events.command("past")
@click.option("--days", default=60, show_default=True, type=int)
@pass_bot
def events_past(bot, days):
    """Events of the last DAYS days, with sign-ups and attendance."""
    ev = bot.events
    rows = []
    for o in ev.past(clock.now(), days):
        checked_in, checked_out = ev.attendance_counts(o.id)
        rows.append([o.number, clock.to_naive(o.start), o.title, ev.counts(o.id)[0], checked_in, checked_out, o.status])
    click.echo(text_table(["no", "start", "title", "signed up", "in", "out", "status"], rows))


@events.command("edit")
@click.argument("number", type=int)
@click.option("--title")
@click.option("--place")
@click.option("--description")
@click.option("--capacity", type=int, help="more places promote from the waitlist (each promoted volunteer is told)")
@pass_bot
def events_edit(bot, number, **changes):
    """Change event NUMBER's details (to move it: `events move`)."""
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise click.ClickException("nothing to change: give --title, --place, --description or --capacity")
    try:
        occ, promoted = event_changes.update_event(bot, _occurrence(bot, number), **changes)
    except ValueError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"saved; {len(promoted)} promoted from the waitlist" if promoted else "saved")


@events.command("attendance")
@click.argument("number", type=int)
@click.argument("who")
@click.option("--in", "came", required=True, help="check-in time on the event's day, e.g. 09:00")
@click.option("--out", "left", help="check-out time, e.g. 11:30 (empty: checked in only)")
@pass_bot
def events_attendance(bot, number, who, came, left):
    """Record WHO's (openid or mobile number) attendance at event NUMBER by hand (forgot 签退)."""
    occ = _occurrence(bot, number)
    ev = bot.events
    people = bot.profiles.many(ev.confirmed(occ.id))
    match = [o for o, p in people.items() if who in (o, p.phone)]
    if not match:
        raise click.ClickException(f"{who} is not signed up (confirmed) for event {number}")
    day = f"{clock.local(occ.start):%Y-%m-%d}"
    try:
        minutes = ev.record_attendance(occ, match[0], clock.parse_when(f"{day} {came}"),
                                       clock.parse_when(f"{day} {left}") if left else None)
    except ValueError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"recorded: {minutes / 60:.1f} hours credited" if left else "recorded check-in")
