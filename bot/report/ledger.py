"""The hours ledger (domain/hours.py) as an Excel workbook: 汇总 (one line per volunteer) and 明细 (every
activity, with check-in, check-out, the hours credited and why none were).

It holds names and phone numbers: it is what the committee copies into the
volunteer registration platforms, so its downloads are audited (console and CLI).
Text a spreadsheet would run as a formula (an activity titled "=…") is written as text.
"""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from domain import clock
from domain.hours import LedgerRow, by_person

HEAD = (Font(bold=True), PatternFill("solid", fgColor="DCE6F1"))
SUMMARY_HEADERS = ["姓名", "手机号", "活动次数", "计入时长（小时）", "未计入次数"]
DETAIL_HEADERS = ["姓名", "手机号", "活动编号", "活动", "类别", "日期", "签到", "签退", "计入时长（小时）", "未计入原因"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def workbook(rows: list[LedgerRow], first_day: str, last_day: str) -> bytes:
    wb = Workbook()
    summary = wb.active
    summary.title = "汇总"
    summary.append([f"志愿服务时长台账 {first_day} 至 {last_day}"])
    summary["A1"].font = Font(bold=True, size=12)
    _head(summary, SUMMARY_HEADERS)
    for p in by_person(rows):
        summary.append(_safe([p.name or "（已删除个人信息）", p.phone, p.activities, _hours(p.minutes), p.not_credited]))
    detail = wb.create_sheet("明细")
    _head(detail, DETAIL_HEADERS)
    for r in rows:
        detail.append(_safe([r.name or "（已删除个人信息）", r.phone, r.occ.number, r.occ.title, r.occ.category,
                             clock.local(r.occ.start).strftime("%Y-%m-%d"), _time(r.came), _time(r.left),
                             _hours(r.minutes), r.reason_text]))
    for ws, widths in ((summary, (12, 14, 10, 16, 12)), (detail, (12, 14, 10, 30, 10, 12, 8, 8, 16, 20))):
        for column, width in zip("ABCDEFGHIJ", widths):
            ws.column_dimensions[column].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _head(ws, headers: list[str]) -> None:
    ws.append(headers)
    for cell in ws[ws.max_row]:
        cell.font, cell.fill = HEAD


def _safe(cells: list) -> list:
    return [f"'{c}" if isinstance(c, str) and c.startswith(_FORMULA_START) else c for c in cells]


def _hours(minutes: int) -> float:
    return round(minutes / 60, 1)


def _time(ts) -> str:
    return clock.local(ts).strftime("%H:%M") if ts else ""


def filename(first_day: str, last_day: str) -> str:
    return f"志愿时长台账-{first_day}至{last_day}.xlsx"
