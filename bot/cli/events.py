"""`youthbot events`: lists, check-in codes, contact lists, cancelling, moving, fixing attendance."""
from __future__ import annotations

from datetime import datetime

import click

from bot import staff
from bot.cli.common import by_number, pass_bot
from bot.cli.notices import scheduler_note
from bot.export import text_table, write_table
from domain import clock
from domain.event_report import export_rows
from domain.events import Events
from domain.profiles import Profiles, mask_phone


@click.group()
def events():
    """Volunteer events: lists, check-in codes, contact lists, cancelling, moving, attendance."""


def _occurrence(bot, number):
    return by_number(Events(bot.redis), number, "event")


@events.command("list")
@click.option("--past", is_flag=True, help="events that have started or ended (last 90 days), newest first")
@pass_bot
def events_list(bot, past):
    """Upcoming events with their numbers, places taken and waitlists (--past: what already happened)."""
    ev, now = Events(bot.redis), clock.now()
    chosen = list(reversed(ev.between(now - 90 * 86400, now))) if past else ev.upcoming(now)
    rows = []
    for o in chosen:
        confirmed, waiting = ev.counts(o.id)
        row = [o.number, clock.to_naive(o.start), o.title, f"{confirmed}/{o.capacity}", waiting]
        if past:
            attended = ev.attendance(o.id)
            row[4] = f"{len(attended)} came" + (" (cancelled)" if o.status == "cancelled" else "")
        rows.append(row)
    click.echo(text_table(["no", "start", "title", "taken", "attended" if past else "waitlist"], rows)
               if rows else ("no past events in the last 90 days" if past else "no upcoming events"))


@events.command("code")
@click.argument("number", type=int)
@pass_bot
def events_code(bot, number):
    """Print the check-in code of event NUMBER for its organisers."""
    occ = _occurrence(bot, number)
    click.echo(f"{occ.title} {clock.fmt(occ.start)}: check-in code {Events(bot.redis).code(occ.id)}")


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
    told = staff.cancel_event(bot, _occurrence(bot, number), reason)
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
        occ, told = staff.move_event(bot, occ, new_start)
    except staff.StaffError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"moved to {clock.fmt(occ.start)}; {told} people will be told")
    if told:
        click.echo(scheduler_note(bot))


@events.command("attendance")
@click.argument("number", type=int)
@click.argument("who")
@click.option("--in", "came", help="check-in time on the event's day, e.g. 09:05 (default: as recorded, else the start)")
@click.option("--out", "left", help="check-out time, e.g. 11:30 (default: the event's end)")
@pass_bot
def events_attendance(bot, number, who, came, left):
    """Fix the attendance of WHO (mobile number or openid) at event NUMBER: a forgotten 签退, a dead phone."""
    ev = Events(bot.redis)
    occ = _occurrence(bot, number)
    profiles = Profiles(bot.redis)
    openid = ev.find_signed_up(occ, who, profiles)
    if openid is None:
        raise click.ClickException(f"{who} is not signed up for event {number}")
    recorded = ev.attendance(occ.id).get(openid, (None, None, None))[0]
    checked_in = _time_on(occ, came) if came else (recorded or occ.start)
    checked_out = _time_on(occ, left) if left else occ.end
    try:
        minutes = ev.fix_attendance(occ, openid, checked_in, checked_out)
    except ValueError as exc:
        raise click.ClickException(str(exc))
    person = profiles.get(openid)
    click.echo(f"{person.name or openid} ({mask_phone(person.phone)}): {clock.fmt(checked_in)} – "
               f"{clock.fmt(checked_out)}, {minutes / 60:.1f} hours credited")


def _time_on(occ, hhmm: str) -> float:
    try:
        t = datetime.strptime(hhmm.strip(), "%H:%M")
    except ValueError:
        raise click.ClickException(f"{hhmm!r} is not a time of day: use e.g. 09:05") from None
    day = clock.local(occ.start)
    return day.replace(hour=t.hour, minute=t.minute, second=0, microsecond=0).timestamp()


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
