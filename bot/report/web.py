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
from datetime import date, timedelta

from flask import Blueprint, Response, current_app, render_template, request

from domain import clock
from domain.halfyear import Period

log = logging.getLogger(__name__)
bp = Blueprint("report", __name__, url_prefix="/report", template_folder="templates")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TITLE = "工作总结"
FIRST_YEAR, LAST_YEAR = 2000, 2100  # the reports this service can have figures for
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def default_period() -> tuple[str, str]:
    """The last 180 days up to today, as `youthbot report` takes by default."""
    today = clock.local(clock.now()).date()
    return f"{today - timedelta(days=180)}", f"{today}"


def _period() -> tuple[Period | None, str, str, str]:
    """(period or None, from, to, what is wrong) from the query string."""
    first, last = default_period()
    first, last = request.args.get("from") or first, request.args.get("to") or last
    try:
        a, b = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        return None, first, last, "日期格式应为 2026-01-01"
    if not (FIRST_YEAR <= a.year and b.year <= LAST_YEAR):
        return None, first, last, f"日期应在{FIRST_YEAR}年到{LAST_YEAR}年之间"
    if b < a:
        return None, first, last, "结束日期不能早于开始日期"
    if (b - a).days > 3 * 366:
        return None, first, last, "时间段最长三年"
    return Period.of_days(a, b), first, last, ""


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
    report = _report(period)
    charts = {k: (caption, base64.b64encode(png).decode()) for k, (caption, png) in report.charts.items()}
    return render_template("report/page.html", title=TITLE, first=first, last=last, problem="", report=report,
                           text=report.text, figures=report.figures.figures(), charts=charts,
                           unrecorded=report.figures.volunteering.unrecorded, fmt=clock.fmt)


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


@bp.get("/report.docx")
def download_docx():
    return _download("docx")


@bp.get("/figures.xlsx")
def download_xlsx():
    return _download("xlsx")
