"""Volunteer hours for a period (志愿时长): each volunteer's activities, hours credited and not credited (and why),
on the page with names masked, and as an XLSX ledger with names and phones (audited). Admins only."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

from flask import Blueprint, render_template, request, send_file

from bot.admin.access import audit, bot, gate
from bot.report import ledger as ledger_file
from domain import clock
from domain.hours import MAX_DAYS, REASONS, by_person, ledger
from domain.periods import presets
from domain.profiles import mask_name, mask_phone

bp = Blueprint("hours", __name__, url_prefix="/hours")
gate(bp, "admin")


def _period():
    """The period asked for: (first day, last day, error). Default: this half year so far."""
    today = clock.local(clock.now()).date()
    first, last = presets(today)[0][1:]
    first, last = request.args.get("from", first).strip(), request.args.get("to", last).strip()
    try:
        a, b = (datetime.strptime(first, "%Y-%m-%d").date(), datetime.strptime(last, "%Y-%m-%d").date())
    except ValueError:
        return first[:10], last[:10], "日期格式不对，请写成 2026-01-01"
    if a > b:
        return first, last, "开始日期不能晚于结束日期"
    if (b - a).days > MAX_DAYS:
        return first, last, f"一次最多查{MAX_DAYS}天，请缩短时间段"
    return first, last, ""


def _rows(first: str, last: str):
    start = clock.parse_when(first)
    end = clock.parse_when(f"{datetime.strptime(last, '%Y-%m-%d').date() + timedelta(days=1)}")
    return ledger(bot().redis, start, end, clock.now())


@bp.get("/")
def index():
    first, last, problem = _period()
    rows = [] if problem else _rows(first, last)
    people = by_person(rows)
    return render_template("admin/hours.html", title="志愿时长", first=first, last=last, problem=problem,
                           people=people, rows=rows, reasons=REASONS, mask_name=mask_name, mask_phone=mask_phone,
                           presets=presets(clock.local(clock.now()).date()),
                           total=sum(p.minutes for p in people),
                           not_credited={k: sum(1 for r in rows if r.reason == k) for k in REASONS}), \
        400 if problem else 200


@bp.get("/ledger.xlsx")
def download():
    """The ledger with names and phone numbers, for the registration platforms and schools: audited."""
    first, last, problem = _period()
    if problem:
        return render_template("admin/error.html", title="时间段不对", message=problem), 400
    rows = _rows(first, last)
    audit("export", f"志愿时长台账 {first} 至 {last}", len({r.openid for r in rows}))
    return send_file(io.BytesIO(ledger_file.workbook(rows, first, last)), as_attachment=True,
                     download_name=ledger_file.filename(first, last),
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
