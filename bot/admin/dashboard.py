"""The overview: this week's quiz, upcoming events, open postings, pushes of the last 7 days."""
from __future__ import annotations

from flask import Blueprint, g, render_template, url_for

from bot.pushes import delivery
from bot.admin.access import bot, gate
from bot.admin.charts import row
from domain import clock
from domain.quiz_report import session_stats

bp = Blueprint("dashboard", __name__)
gate(bp, "admin", "organiser", "jobs")  # figures only, no personal data: every role


@bp.get("/")
def index():
    redis, now = bot().redis, clock.now()
    quiz = bot().quiz
    session = quiz.open_session(now) or quiz.last_closed(now)
    events = bot().events
    upcoming = events.upcoming(now)[:10]
    counts = [events.counts(o.id) for o in upcoming]
    jobs = bot().jobs
    open_postings = jobs.open(now)
    interest = jobs.interest_counts([p.id for p in open_postings])
    stats = session_stats(redis, session) if session else None
    days = delivery.daily(redis, 7, now)
    can = _can(g.staff.role)
    charts = {
        "branches": [row(b.name, [(b.rate, "bar")], f"{b.rate:.0%}（{b.completers}/{b.members}）",
                         url_for("admin.quizzes.session", sid=session.id, branch=b.branch_id) if can["quizzes"] else None)
                     for b in (stats.standings if stats else [])],
        "events": [row(f"{o.title} · {clock.fmt(o.start)}",
                       [(min(c, o.capacity), "bar"), (w, "bar2"), (max(o.capacity - c, 0), "track")],
                       f"{c}/{o.capacity}" + (f" 候补{w}" if w else ""),
                       url_for("admin.events.detail", number=o.number) if can["events"] else None)
                   for o, (c, w) in zip(upcoming, counts)],
        "categories": [row(c, [(positions, "bar"), (n_interest, "bar2")], f"{positions}人 / {n_interest}",
                           url_for("admin.jobs.index", category=c) if can["jobs"] else None)
                       for c, _, positions, n_interest in _by_category(open_postings, interest)],
        "days": [row(day[5:], [(d.get("sent", 0), "bar"), (d.get("skipped", 0), "bar3"), (d.get("failed", 0), "bar2")],
                     f"{d.get('sent', 0)}/{d.get('skipped', 0)}/{d.get('failed', 0)}",
                     url_for("admin.pushes.index") if can["pushes"] else None) for day, d in days],
    }
    return render_template("admin/dashboard.html", title="概览", session=session, quiz=stats, events=upcoming,
                           postings=open_postings, interest=interest, charts=charts, can=can,
                           sent_7d=sum(d.get("sent", 0) for _, d in days))


def _by_category(postings, interest: dict) -> list[tuple[str, int, int, int]]:
    """[(category, postings, positions, interest)] sorted by positions."""
    table: dict[str, list[int]] = {}
    for p in postings:
        row = table.setdefault(p.category, [0, 0, 0])
        row[0] += 1
        row[1] += p.headcount
        row[2] += interest.get(p.id, 0)
    return sorted(((c, *v) for c, v in table.items()), key=lambda r: (-r[2], r[0]))


def _can(role: str) -> dict[str, bool]:
    return {"quizzes": role == "admin", "events": role in ("admin", "organiser"), "jobs": role in ("admin", "jobs"),
            "pushes": role == "admin"}
