"""`youthbot quiz`: study-quiz figures and exports."""
from __future__ import annotations

import click

from bot.cli.common import pass_bot
from bot.cli.export import text_table, write_table
from domain import clock
from domain.quiz_report import export_rows, iter_missing, session_stats


@click.group()
def quiz():
    """Study-quiz figures for reports."""


def _session(bot, session_id):
    q = bot.quiz
    session = q.session(session_id) if session_id else q.current_session(clock.now())
    if session is None:
        raise click.ClickException(f"no session {session_id!r}; sessions: " +
                                   ", ".join(s.id for s in q.sessions()))
    return session


@quiz.command("list")
@pass_bot
def quiz_list(bot):
    """Every session: its id (for stats and export), title, dates, questions and counted attempts."""
    q, now = bot.quiz, clock.now()
    rows = []
    for s in q.sessions():
        state = "open" if s.is_open(now) else "closed" if s.closes <= now else "upcoming"
        rows.append([s.id, s.title, clock.to_naive(s.opens), clock.to_naive(s.closes), state, len(s.questions),
                     len(q.participants(s.id))])
    click.echo(text_table(["session", "title", "opens", "closes", "state", "questions", "attempts"], rows)
               if rows else "no sessions loaded")


quiz.add_command(quiz_list, name="sessions")  # the console's name for the same list


@quiz.command("stats")
@click.argument("session_id", required=False)
@click.option("--list", "show_list", is_flag=True, help="also list the members who have not completed it")
@pass_bot
def quiz_stats(bot, session_id, show_list):
    """Participants, completion rate and per-branch completion of a session (default: the current one)."""
    st = session_stats(bot.redis, _session(bot, session_id))
    s = st.session
    click.echo(f"{s.id}  {s.title}  ({clock.fmt(s.opens)} – {clock.fmt(s.closes)}, Beijing time)")
    click.echo(f"participants {st.participants}   members {st.members}   "
               f"completed {st.member_completers}/{st.members} ({st.completion_rate:.0%})")
    click.echo(text_table(["rank", "branch", "members", "done", "rate", "avg"],
                          [[b.rank, b.name, b.members, b.completers, f"{b.rate:.0%}", f"{b.average:.1f}"]
                           for b in st.standings]))
    click.echo(f"not completed: {st.missing}")
    if show_list:
        profiles = bot.profiles
        branches = dict(profiles.branches())
        openids = list(iter_missing(bot.redis, st))
        people = profiles.many(openids)
        click.echo(text_table(["name", "branch", "openid"],
                              [[people[o].name, branches.get(people[o].branch, ""), o] for o in openids]))


@quiz.command("export")
@click.argument("session_id")
@click.option("--out", type=click.Path(dir_okay=False), help="a .csv or .xlsx file (default: SESSION.xlsx)")
@pass_bot
def quiz_export(bot, session_id, out):
    """Write every counted attempt of a session, answer by answer, to CSV or XLSX."""
    headers, rows = export_rows(bot.redis, _session(bot, session_id))
    path = write_table(out or f"{session_id}.xlsx", headers, rows)
    click.echo(f"{len(rows)} attempts written to {path}")


@quiz.command("delete")
@click.argument("session_id")
@pass_bot
def quiz_delete(bot, session_id):
    """Delete session SESSION_ID, uploaded by mistake; refused once anyone has completed it (use `quiz close`)."""
    from domain.quiz import SessionTaken

    session = _session(bot, session_id)
    try:
        bot.quiz.delete_session(session.id)
    except SessionTaken as exc:
        raise click.ClickException(str(exc))
    click.echo(f"deleted session {session.id}")


@quiz.command("close")
@click.argument("session_id")
@pass_bot
def quiz_close(bot, session_id):
    """End session SESSION_ID now: it is no longer offered; every result so far stays and counts."""
    session = bot.quiz.close_session(_session(bot, session_id), clock.now())
    click.echo(f"session {session.id} closes {clock.fmt(session.closes)}")
