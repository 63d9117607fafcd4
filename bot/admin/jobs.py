"""Job postings: upload a sheet, the list with interest, each posting's interest list and outcomes, fair figures.

The jobs role (and admins) only; interest lists are shown masked, and the full
list for the employer is a download written to the audit log.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from bot.admin.access import audit, bot, gate, send_table, uploaded
from bot.admin.charts import row
from bot.importers import uploads
from domain import clock
from domain.job_report import OUTCOME_NAMES, export_rows
from domain.jobs import OUTCOMES, Posting
from domain.profiles import mask_name, mask_phone

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
gate(bp, "admin", "jobs")
STATE_NAMES = {"open": "招聘中", "filled": "已招满", "expired": "已过期"}


@bp.get("/")
def index(upload=None, status=200):
    jobs, now = bot().jobs, clock.now()
    category = request.args.get("category", "")
    postings = [p for p in jobs.all() if not category or p.category == category]
    figures = jobs.stats()
    titles = {o.event_id: o.title for o in bot().events.upcoming(0, kind="job_fair")}
    fairs = [(titles.get(name, name), figures) for name, figures in sorted(figures["fair"].items())]
    chart = [row(name, [(hired, "bar"), (max(positions - hired, 0), "bar3")], f"名额{positions} · 意向{interest} · 录用{hired}")
             for name, (positions, interest, hired, _) in sorted(figures["category"].items(), key=lambda c: -c[1][0])]
    return render_template("admin/jobs.html", title="就业岗位", postings=postings, interest=jobs.interest_counts(
        [p.id for p in postings]), now=now, states=STATE_NAMES, category=category, fairs=fairs, chart=chart,
        categories=sorted({p.category for p in jobs.all()}), upload=upload), status


@bp.post("/upload")
def upload():
    """Load a postings sheet: every bad row listed and nothing saved, or every posting saved."""
    with uploaded("sheet") as path:
        if path is None:
            return index(uploads.Upload(errors=["请选择要上传的岗位表"]), 400)
        result = uploads.load_postings(bot(), path)
    return index(result, 400 if result.errors else 200)


def _posting(number: int) -> Posting:
    return bot().jobs.by_number(number) or abort(404, f"没有编号为 {number} 的岗位。")


@bp.get("/<int:number>")
def detail(number):
    """One posting and the people interested in it (masked), with their outcomes."""
    p = _posting(number)
    interested = bot().jobs.interested(p.id)
    people = bot().profiles.many([o for o, *_ in interested])
    rows = [{"openid": o, "name": mask_name(people[o].name) or "（已删除）", "phone": mask_phone(people[o].phone),
             "when": when, "outcome": outcome, "note": note} for o, when, outcome, note in interested]
    return render_template("admin/posting.html", title=p.title, p=p, rows=rows, state=STATE_NAMES[p.state(clock.now())],
                           outcomes=[o for o in OUTCOMES], outcome_names=OUTCOME_NAMES)


@bp.post("/<int:number>/outcome")
def outcome(number):
    p = _posting(number)
    if not bot().jobs.set_outcome(p.id, request.form.get("openid", ""), request.form.get("outcome", "")):
        flash("没有记录：此人没有登记这个岗位，或进度不对。", "error")
    else:
        flash(f"已记录：{OUTCOME_NAMES[request.form['outcome']]}。")
    return redirect(url_for(".detail", number=number))


@bp.post("/<int:number>/status")
def set_status(number):
    p = bot().jobs.set_status(_posting(number), "filled" if request.form.get("filled") else "open")
    flash("已标记为已招满，居民不再看到这个岗位。" if p.status == "filled" else "已重新开放。")
    return redirect(url_for(".detail", number=number))


@bp.get("/<int:number>/export.xlsx")
def export(number):
    """The interested people with names and phones, for this employer only: audited."""
    p = _posting(number)
    headers, rows = export_rows(bot().redis, p)
    audit("export", f"岗位 {p.number}「{p.employer} · {p.title}」意向名单", len(rows))
    return send_table(f"岗位{p.number}-意向名单.xlsx", headers, rows)
