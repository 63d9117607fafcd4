"""Job postings: upload a sheet, the list with interest, each posting's interest list and outcomes, fair figures.

The jobs role (and admins) only; interest lists are shown masked, and the full
list for the employer is a download written to the audit log.
"""
from __future__ import annotations

import csv
import re
import secrets
import tempfile
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from bot.admin.access import audit, bot, gate, note, note_upload, refused, send_table
from bot.admin import spool
from bot.admin.spool import uploaded
from bot.admin.charts import row
from bot.importers import uploads
from domain import clock
from domain.job_report import OUTCOME_NAMES, export_rows
from domain.fields import POSTING_FIELDS, examples, headers, on_form
from domain.jobs import OUTCOMES, Posting
from domain.profiles import mask_name, mask_phone

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
gate(bp, "admin", "jobs")
STATE_NAMES = {"open": "招聘中", "filled": "已招满", "expired": "已过期", "withdrawn": "已撤回"}
STATUS_DONE = {"open": "已重新开放，居民又能看到并投递。", "filled": "已标记为已招满，居民不再看到这个岗位。",
               "withdrawn": "已撤回：居民不再看到这个岗位，已登记的意向保留（计入统计，仍可下载名单）。"}


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
        result = uploads.load_postings(bot(), path, run=spool.saving(bot()))
        note_upload("岗位表", path, result)
    return index(result, 400 if result.errors else 200)


FORM_FIELDS = on_form(POSTING_FIELDS)  # the posting's fields (domain/fields.py) that the form asks for
JOB_HEADERS = headers(POSTING_FIELDS)  # the sheet's Chinese headers (each field's label; its aliases are accepted too)


@bp.get("/template.xlsx")
def template():
    """An empty postings sheet with the upload's columns and one example row."""
    return send_table("岗位表模板.xlsx", JOB_HEADERS, examples(POSTING_FIELDS, clock.local(clock.now()).year))


@bp.route("/new", methods=["GET", "POST"])
def create():
    """One posting from a form: written as a one-row postings sheet and loaded exactly as an upload is (same checks)."""
    categories = sorted({p.category for p in bot().jobs.all()})
    if request.method == "GET":
        return render_template("admin/posting_form.html", title="发布岗位", form={f.input: "" for f in FORM_FIELDS},
                               fields=FORM_FIELDS, categories=categories)
    # each value kept whole up to one past its limit, so the load's check says it is too long
    form = {f.input: request.form.get(f.input, "").strip()[:(f.limit or 500) + 1] for f in FORM_FIELDS}
    pid = f"web-{clock.local(clock.now()):%Y%m%d%H%M%S}-{secrets.token_hex(2)}"
    note(f"岗位「{form['employer']} · {form['title']}」")
    row = {"编号": pid, **{f.label: form[f.input] for f in FORM_FIELDS}}
    with tempfile.TemporaryDirectory(prefix="youthbot-posting-") as folder:
        path = Path(folder) / "岗位表单.csv"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(JOB_HEADERS)
            writer.writerow([row.get(h, "") for h in JOB_HEADERS])
        result = uploads.load_postings(bot(), path)
    if result.errors:
        problems = "；".join(re.sub(r"^岗位表单\.csv\s*(第\d+行)?", "", e) for e in result.errors)
        refused(problems)
        return render_template("admin/posting_form.html", title="发布岗位", form=form, fields=FORM_FIELDS,
                               categories=categories, error=problems), 400
    p = bot().jobs.get(pid)
    note(f"编号 {p.number}", {"岗位": ("", f"{p.employer} · {p.title}"), "名额": ("", p.headcount)})
    flash(f"已发布「{p.title}」（编号 {p.number}），居民发「岗位」即可看到。")
    return redirect(url_for(".detail", number=p.number))


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
    openid, new = request.form.get("openid", ""), request.form.get("outcome", "")
    old = bot().jobs.outcome_of(p.id, openid) if openid else ""
    note(f"岗位 {p.number}「{p.employer} · {p.title}」求职者 …{openid[-6:]}",
         {"进度": (OUTCOME_NAMES.get(old, old or ""), OUTCOME_NAMES.get(new, new))})
    if not bot().jobs.set_outcome(p.id, request.form.get("openid", ""), request.form.get("outcome", "")):
        flash("没有记录：此人没有登记这个岗位，或进度不对。", "error")
    else:
        flash(f"已记录：{OUTCOME_NAMES[request.form['outcome']]}。")
    return redirect(url_for(".detail", number=number))


@bp.post("/<int:number>/status")
def set_status(number):
    p = _posting(number)
    before = STATE_NAMES[p.state(clock.now())]
    status = request.form.get("status") or ("filled" if request.form.get("filled") else "open")
    if status not in STATUS_DONE:
        abort(400, "状态不对。")
    p = bot().jobs.set_status(p, status)
    note(f"岗位 {p.number}「{p.employer} · {p.title}」", {"状态": (before, STATE_NAMES[p.state(clock.now())])})
    flash(STATUS_DONE[status])
    return redirect(url_for(".detail", number=number))


@bp.get("/<int:number>/export.xlsx")
def export(number):
    """The interested people with names and phones, for this employer only: audited."""
    p = _posting(number)
    headers, rows = export_rows(bot().redis, p)
    audit("export", f"岗位 {p.number}「{p.employer} · {p.title}」意向名单", len(rows))
    return send_table(f"岗位{p.number}-意向名单.xlsx", headers, rows)
