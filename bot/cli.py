"""The `youthbot` command: serve, chat, content, and the staff's tools."""
from __future__ import annotations

import sys

import click

from bot.config import Settings


@click.group()
def main():
    """youthbot: the Youth League committee's WeChat official account."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def serve(host, port, workers):
    """Run the webhook with gunicorn (embedded Redis unless REDIS_URL is set)."""
    from gunicorn.app.wsgiapp import WSGIApplication

    click.echo(f"youthbot on http://{host}:{port}/wechat — in another terminal: youthbot chat --url http://{host}:{port}/wechat")
    sys.argv = ["gunicorn", "-c", "python:bot.gunicorn_conf", "-b", f"{host}:{port}",
                "-w", str(workers), "bot.app:create_app()"]
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").run()


@main.command()
@click.option("--url", default="http://127.0.0.1:8000/wechat", show_default=True)
@click.option("--openid", default="o_demo_user_0001", show_default=True, help="who you are to the bot")
@click.option("--pushes", "fake_base", default=None,
              help="fake WeChat API to show pushes from (default: WECHAT_API_BASE_URL when it is local)")
def chat(url, openid, fake_base):
    """Chat with a running webhook in the terminal, as WeChat would send your messages."""
    from bot import chat as chat_mod
    from bot.simulator import WeChatSimulator

    s = Settings.from_env()
    api = s.wechat_api_base_url
    if fake_base is None and api.startswith(("http://127.0.0.1", "http://localhost")):
        fake_base = api.split("/cgi-bin")[0]
    chat_mod.run(url, openid, WeChatSimulator(s.wechat_token, s.wechat_aes_key, s.wechat_appid),
                 fake_base=fake_base)


@main.group()
def content():
    """Import content files (quizzes, events, job postings)."""


@content.command("load")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
def content_load(directory):
    """Load every content file under DIRECTORY (idempotent)."""
    from bot import content as content_mod

    bot = _bot()
    try:
        report = content_mod.load_dir(bot, directory)
    except content_mod.ContentError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"loaded: {report}")


@main.group()
def quiz():
    """Study-quiz figures for reports."""


def _session_or_current(bot, session_id):
    from bot import clock
    from domain.quiz import Quiz

    q = Quiz(bot.redis)
    session = q.session(session_id) if session_id else (q.open_session(clock.now()) or q.last_closed(clock.now()))
    if session is None:
        raise click.ClickException(f"no session {session_id!r}; sessions: " +
                                   ", ".join(s.id for s in q.sessions()))
    return session


@quiz.command("stats")
@click.argument("session_id", required=False)
@click.option("--list", "show_list", is_flag=True, help="also list the members who have not completed it")
def quiz_stats(session_id, show_list):
    """Participants, completion rate and per-branch completion of a session (default: the current one)."""
    from bot import clock
    from bot.export import text_table
    from domain.profiles import Profiles
    from domain.quiz_report import session_stats

    bot = _bot()
    st = session_stats(bot.redis, _session_or_current(bot, session_id))
    s = st.session
    click.echo(f"{s.id}  {s.title}  ({clock.fmt(s.opens)} – {clock.fmt(s.closes)})")
    click.echo(f"participants {st.participants}   members {st.members}   "
               f"completed {st.member_completers}/{st.members} ({st.completion_rate:.0%})")
    click.echo(text_table(["rank", "branch", "members", "done", "rate", "avg"],
                          [[b.rank, b.name, b.members, b.completers, f"{b.rate:.0%}", f"{b.average:.1f}"]
                           for b in st.standings]))
    click.echo(f"not completed: {len(st.not_completed)}")
    if show_list:
        profiles = Profiles(bot.redis)
        people, branches = profiles.many(st.not_completed), dict(profiles.branches())
        click.echo(text_table(["name", "branch", "openid"],
                              [[people[o].name, branches.get(people[o].branch, ""), o] for o in st.not_completed]))


@quiz.command("export")
@click.argument("session_id")
@click.option("--out", type=click.Path(dir_okay=False), help="a .csv or .xlsx file (default: SESSION.xlsx)")
def quiz_export(session_id, out):
    """Write every counted attempt of a session, answer by answer, to CSV or XLSX."""
    from bot.export import write_table
    from domain.quiz_report import export_rows

    bot = _bot()
    headers, rows = export_rows(bot.redis, _session_or_current(bot, session_id))
    path = write_table(out or f"{session_id}.xlsx", headers, rows)
    click.echo(f"{len(rows)} attempts written to {path}")


@main.group()
def events():
    """Volunteer events: check-in codes, contact lists, cancelling and moving."""


def _by_number(store, number: int, what: str):
    """The record numbered `number` (as users see it), or a clear error."""
    found = store.by_number(number)
    if found is None:
        raise click.ClickException(f"no {what} number {number}")
    return found


def _occurrence(bot, number):
    from domain.events import Events

    return _by_number(Events(bot.redis), number, "event")


@events.command("list")
def events_list():
    """Upcoming events with their numbers, places taken and waitlists."""
    from bot import clock
    from bot.export import text_table
    from domain.events import Events

    bot = _bot()
    ev = Events(bot.redis)
    rows = []
    for o in ev.upcoming(clock.now()):
        confirmed, waiting = ev.counts(o.id)
        rows.append([o.number, clock.fmt(o.start), o.title, f"{confirmed}/{o.capacity}", waiting])
    click.echo(text_table(["no", "start", "title", "taken", "waitlist"], rows))


@events.command("code")
@click.argument("number", type=int)
def events_code(number):
    """Print the check-in code of event NUMBER for its organisers."""
    from bot import clock
    from domain.events import Events

    bot = _bot()
    occ = _occurrence(bot, number)
    click.echo(f"{occ.title} {clock.fmt(occ.start)}: check-in code {Events(bot.redis).code(occ.id)}")


@events.command("export")
@click.argument("number", type=int)
@click.option("--out", type=click.Path(dir_okay=False), help="a .csv or .xlsx file (default: event-N.xlsx)")
def events_export(number, out):
    """Write the full contact list of event NUMBER (names, phone numbers, attendance) for staff."""
    from bot.export import write_table
    from domain.event_report import export_rows

    bot = _bot()
    headers, rows = export_rows(bot.redis, _occurrence(bot, number))
    path = write_table(out or f"event-{number}.xlsx", headers, rows)
    click.echo(f"{len(rows)} people written to {path} (contains phone numbers: keep it safe)")


@events.command("cancel")
@click.argument("number", type=int)
@click.option("--reason", default="", help="a short reason shown to volunteers")
def events_cancel(number, reason):
    """Cancel event NUMBER and tell everyone signed up."""
    from bot import clock
    from domain.event_report import notify_all
    from domain.events import Events

    bot = _bot()
    occ = _occurrence(bot, number)
    Events(bot.redis).set_status(occ, "cancelled")
    text = bot.texts.get("volunteer.event_cancelled", title=occ.title, when=clock.fmt(occ.start),
                         reason=reason or bot.texts.get("volunteer.no_reason"))
    click.echo(f"cancelled; {notify_all(bot, occ, text, 'event_cancelled')} people will be told")


@events.command("move")
@click.argument("number", type=int)
@click.option("--to", "new_start", required=True, help="new start, e.g. '2026-12-05 09:00'")
def events_move(number, new_start):
    """Move event NUMBER to a new start (same length) and tell everyone signed up."""
    from bot import clock
    from domain.event_report import notify_all
    from domain.events import Events

    bot = _bot()
    occ = _occurrence(bot, number)
    old = clock.fmt(occ.start)
    try:
        start = clock.parse_when(new_start)
    except ValueError as exc:
        raise click.ClickException(str(exc))
    occ = Events(bot.redis).move(occ, start)
    text = bot.texts.get("volunteer.event_moved", title=occ.title, old=old, new=clock.fmt(occ.start),
                         number=occ.number)
    click.echo(f"moved to {clock.fmt(occ.start)}; {notify_all(bot, occ, text, 'event_moved')} people will be told")


@main.group()
def jobs():
    """Job postings: interest lists for employers, outcomes, figures."""


def _posting(bot, number):
    from domain.jobs import Jobs

    return _by_number(Jobs(bot.redis), number, "posting")


@jobs.command("export")
@click.argument("number", type=int)
@click.option("--out", type=click.Path(dir_okay=False), help="a .csv or .xlsx file (default: posting-N.xlsx)")
def jobs_export(number, out):
    """Write the people interested in posting NUMBER, for its employer only."""
    from bot import clock
    from bot.export import write_table
    from domain.jobs import Jobs
    from domain.profiles import Profiles

    bot = _bot()
    p = _posting(bot, number)
    rows_in = Jobs(bot.redis).interested(p.id)
    people = Profiles(bot.redis).many([o for o, *_ in rows_in])
    rows = [[i, people[o].name, people[o].phone, note, outcome, clock.fmt(when), o]
            for i, (o, when, outcome, note) in enumerate(rows_in, start=1)]
    path = write_table(out or f"posting-{number}.xlsx", ["序号", "姓名", "手机号", "补充说明", "进度", "登记时间", "openid"],
                       rows)
    click.echo(f"{p.employer} · {p.title}: {len(rows)} people written to {path} (only for this employer)")


@jobs.command("outcome")
@click.argument("number", type=int)
@click.argument("who")
@click.argument("outcome", type=click.Choice(["contacted", "interviewed", "hired", "not_hired"]))
def jobs_outcome(number, who, outcome):
    """Record what happened for WHO (openid or mobile number) on posting NUMBER."""
    from domain.jobs import Jobs
    from domain.profiles import Profiles, mask_phone

    bot = _bot()
    p = _posting(bot, number)
    interested = [o for o, *_ in Jobs(bot.redis).interested(p.id)]
    people = Profiles(bot.redis).many(interested)
    match = [o for o in interested if who in (o, people[o].phone)]
    if not match:
        raise click.ClickException(f"{who} has not registered interest in posting {number}")
    Jobs(bot.redis).set_outcome(p.id, match[0], outcome)
    click.echo(f"{people[match[0]].name or match[0]} ({mask_phone(people[match[0]].phone)}): {outcome}")


@jobs.command("stats")
def jobs_stats():
    """Positions offered, interest registrations and hires, per category and per fair."""
    from bot.export import text_table
    from domain.jobs import Jobs

    figures = Jobs(_bot().redis).stats()
    for title, table in (("category", figures["category"]), ("fair", figures["fair"])):
        rows = [[name, postings, positions, interest, hired] for name, (positions, interest, hired, postings)
                in sorted(table.items())]
        totals = [sum(r[i] for r in rows) for i in range(1, 5)]
        click.echo(text_table([title, "postings", "positions", "interest", "hired"], rows + [["total"] + totals]))
        click.echo("")


@main.command()
def scheduler():
    """Run the scheduler: reminders, digests, the outbox (one leader among any started)."""
    import logging
    import signal
    import threading

    from bot import scheduler as sched
    from bot.serving import resolve_redis_url

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    resolve_redis_url()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        sched.run(stop)
    except KeyboardInterrupt:
        stop.set()


@main.command("fake-wechat")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8100, show_default=True, type=int)
def fake_wechat(host, port):
    """Serve a fake WeChat API (for demos and tests); point WECHAT_API_BASE_URL at it."""
    from bot.fake_wechat import serve

    click.echo(f"fake WeChat API on http://{host}:{port}/cgi-bin/ — "
               f"export WECHAT_API_BASE_URL=http://{host}:{port}/cgi-bin/")
    serve(host, port)


@main.group()
def menu():
    """The account's custom menu (content/menu.yaml)."""


@menu.command("push")
def menu_push():
    """Send content/menu.yaml to WeChat's menu/create."""
    import yaml

    from bot.wechat_client import SharedTokenClient, WeChatError

    bot = _bot()
    s = bot.settings
    menu_def = yaml.safe_load((s.content_dir / "menu.yaml").read_text(encoding="utf-8"))
    client = SharedTokenClient(bot.redis, s.wechat_appid, s.wechat_secret, s.wechat_api_base_url)
    try:
        client.create_menu(menu_def)
    except WeChatError as exc:
        raise click.ClickException(f"WeChat refused the menu: {exc}")
    click.echo(f"menu sent: {len(menu_def['button'])} buttons")


@main.group()
def pushes():
    """Pushes sent through the WeChat API."""


@pushes.command("stats")
def pushes_stats():
    """How many pushes were sent, skipped (and why) or failed, by kind."""
    from bot.export import text_table
    from bot.pushes import stats

    counts = stats(_bot().redis)
    click.echo(text_table(["what", "count"], sorted(counts.items())) if counts else "no pushes yet")


@pushes.command("run")
@click.argument("job")
def pushes_run(job):
    """Run one scheduler job now (drain_outbox, quiz_reminders, event_reminders, ...)."""
    from bot import scheduler as sched
    from bot.serving import resolve_redis_url

    if job not in {e.job for e in sched.TIMETABLE}:
        raise click.ClickException("jobs: " + ", ".join(e.job for e in sched.TIMETABLE))
    resolve_redis_url()
    click.echo(f"{job}: {sched.run_job(job)}")


from bot.ops.commands import register as _register_ops  # noqa: E402

_register_ops(main)


def _bot():
    """Services for a CLI command, connected to the same store as the web process."""
    from bot.app import build_bot

    return build_bot(Settings.from_env())


if __name__ == "__main__":
    main()
