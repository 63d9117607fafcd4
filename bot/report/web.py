"""The report's console page: the figures for a period, the report's text and charts, and downloads.

A section of the staff console (/admin/report, admins only: bot/admin/report.py
gates it, bot/admin/__init__.py registers it), drawn in the console's own page
(admin/base.html). GET /admin/report/?from=2026-01-01&to=2026-06-30 shows the
page; report.docx and figures.xlsx with the same query download the files. A
bad date gets the page back with the reason (400), never an error page.

Neither file holds personal data (no names, phone numbers or openids: see
bot/report/workbook.py), so downloads are logged but not written to the audit log.
"""
from __future__ import annotations

import base64
import logging
from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for

from domain import clock
from bot.report.words import NOTE_SECTIONS
from domain.halfyear import DEFAULT_FROM, DEFAULT_TO, Period, PeriodError
from domain.report_notes import MAX_CHARS, NotesError, ReportNotes

log = logging.getLogger(__name__)
bp = Blueprint("report", __name__, url_prefix="/report", template_folder="templates")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TITLE = "工作总结"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _period(source=None) -> tuple[Period | None, str, str, str]:
    """(period or None, from, to, what is wrong) from the query string (or a form), by the same rule as
    `youthbot report` (domain.halfyear.Period.parse: a day, today or today-N; at most three years);
    the default is the CLI's, the last 180 days."""
    source = request.args if source is None else source
    first, last = source.get("from") or DEFAULT_FROM, source.get("to") or DEFAULT_TO
    try:
        period = Period.parse(first, last)
    except PeriodError as exc:
        return None, first[:40], last[:40], str(exc)
    return period, f"{period.first}", f"{period.last}", ""


def _report(period: Period):
    from bot.report import make

    bot = current_app.extensions["youthbot"]
    return make(bot.redis, period, bot.settings.content_dir)


@bp.get("/")
def page():
    period, first, last, problem = _period()
    if period is None:
        return render_template("report/page.html", title=TITLE, first=first, last=last, problem=problem,
                               report=None), 400
    return _page(_report(period), first, last)


def _page(report, first: str, last: str, problem: str = "", typed: dict | None = None):
    charts = {k: (caption, base64.b64encode(png).decode()) for k, (caption, png) in report.charts.items()}
    return render_template("report/page.html", title=TITLE, first=first, last=last, problem=problem, report=report,
                           text=report.text, figures=report.table(), charts=charts,
                           unrecorded=report.figures.volunteering.unrecorded, fmt=clock.fmt,
                           note_names=_note_names(report), typed=typed if typed is not None else report.notes,
                           max_chars=MAX_CHARS, notes_saved=ReportNotes(current_app.extensions["youthbot"].redis)
                           .saved_by(report.figures.period))


def _download(kind: str):
    period, first, last, problem = _period()
    if period is None:
        return render_template("report/page.html", title=TITLE, first=first, last=last, problem=problem,
                               report=None), 400
    report = _report(period)
    log.info("report download: %s %s..%s from %s", kind, first, last, request.remote_addr)
    if kind == "docx":
        body, mime, name = report.docx(), DOCX, f"工作总结-{first}-{last}.docx"
    else:
        body, mime, name = report.xlsx(), XLSX, f"数据-{first}-{last}.xlsx"
    from urllib.parse import quote

    return Response(body, mimetype=mime, headers={
        "Content-Disposition": f"attachment; filename=report.{kind}; filename*=UTF-8''{quote(name)}"})


@bp.post("/notes")
def save_notes():
    """The sections staff type for the period (组织建设, 典型宣传, ...): kept with the period, in the Word file."""
    period, first, last, problem = _period(request.form)
    if period is None:
        return render_template("report/page.html", title=TITLE, first=first, last=last, problem=problem,
                               report=None), 400
    texts = {s: request.form.get(f"note_{s}", "") for s in NOTE_SECTIONS}
    try:
        saved = ReportNotes(current_app.extensions["youthbot"].redis).save(period, texts, by=g.staff.name,
                                                                           now=clock.now())
    except NotesError as exc:
        report = _report(period)
        report.notes = texts
        return _page(report, first, last, problem=f"没有保存：{_note_names(report).get(exc.section, exc.section)}"
                                                 f"{exc.problem}", typed=texts), 400
    log.info("report notes saved: %s..%s by %s (%s)", first, last, g.staff.name, ", ".join(saved) or "none")
    flash("已保存补充内容，Word 报告会写入。")
    return redirect(url_for(".page", **{"from": first, "to": last}) + "#notes")


def _note_names(report) -> dict[str, str]:
    return report.words["notes"]


@bp.get("/report.docx")
def download_docx():
    return _download("docx")


@bp.get("/figures.xlsx")
def download_xlsx():
    return _download("xlsx")
