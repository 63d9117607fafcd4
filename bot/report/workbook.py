"""The report's figures as an Excel workbook: one sheet per section, each figure with the rows it was counted from.

No personal data: no names, phone numbers or WeChat openids (an openid leads
back to a person through the account's records). The lists behind "distinct
participants" and "distinct volunteers" are one numbered row per person (参与者1,
志愿者1, ..., numbered afresh in each file), so each figure can still be counted
from its rows. The workbook can therefore be sent around like the Word report.
"""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from bot.exports.cells import defuse
from domain import clock
from domain.halfyear import Figure, HalfYear

HEAD_FILL = PatternFill("solid", fgColor="DCE6F1")
BOLD = Font(bold=True)


class Rate(float):
    """A share (0.9219), shown as a percentage (92.2%) and kept a number, so it can be summed and charted."""


def _day(ts: float) -> date:
    return clock.local(ts).date()


def _table(ws, title: str, headers: list[str], rows: list[list]) -> None:
    """A titled table below what the sheet holds already, with one blank row between; dates are dates
    and rates are numbers formatted as percentages."""
    if ws.max_row > 1:
        ws.append([])
    ws.append([title])
    ws.cell(ws.max_row, 1).font = Font(bold=True, size=12)
    ws.append(headers)
    for cell in ws[ws.max_row]:
        cell.font, cell.fill = BOLD, HEAD_FILL
    for row in rows:
        ws.append([float(v) if isinstance(v, Rate) else v for v in row])
        for cell, value in zip(ws[ws.max_row], row):
            if isinstance(value, Rate):
                cell.number_format = "0.0%"
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"


def _figures(ws, figures: list[Figure], section: str) -> None:
    _table(ws, f"{section}：主要数据", ["指标", "数值", "单位", "依据（条数）"],
           [[f.label, Rate(f.value / 100) if f.unit == "%" else f.value, "" if f.unit == "%" else f.unit,
             len(f.basis)] for f in figures if f.section == section])


def _widths(ws) -> None:
    for col in ws.columns:
        longest = max((10 if isinstance(c.value, date) else len(str(c.value)) if c.value is not None else 0)
                      for c in col[1:] or col)
        ws.column_dimensions[get_column_letter(col[0].column)].width = min(60, max(8, longest * 1.8))
    for row in ws.iter_rows():
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=isinstance(cell.value, str) and len(cell.value) > 30)


def _study(wb, h: HalfYear, figures: list[Figure]) -> None:
    ws = wb.active
    ws.title = "学习"
    ws.append([f"{h.period.label()}（{h.period.first} 至 {h.period.last}）"])
    ws["A1"].font = Font(bold=True, size=14)
    _figures(ws, figures, "学习")
    s = h.study
    _table(ws, "各期明细", ["期号", "标题", "开始", "截止", "参与人数", "平均得分", "期末后完成（未计入）"],
           [[r.id, r.title, _day(r.opens), _day(r.closes), len(r.participants), round(r.average, 1), r.after_period]
            for r in s.sessions])
    _table(ws, "各支部", ["支部", "团员数", "完成人次", "应完成人次", "完成率", "平均得分", "前半段完成率", "后半段完成率"],
           [[b.name, b.members, b.completions, b.possible, Rate(b.rate), round(b.average, 1),
             Rate(b.first_rate), Rate(b.second_rate)] for b in s.branches])
    regular = set(s.regular)
    people = sorted(s.completed_by.items(), key=lambda on: (-on[1], on[0]))
    _table(ws, "参与者（每人一行，不含个人信息）", ["参与者", "完成期数", "长期参与"],
           [[f"参与者{i}", n, "是" if o in regular else ""] for i, (o, n) in enumerate(people, start=1)])


def _volunteering(wb, h: HalfYear, figures: list[Figure]) -> None:
    ws = wb.create_sheet("志愿服务")
    _figures(ws, figures, "志愿服务")
    v = h.volunteering
    rows = []
    for k in v.kinds:
        for a in k.activities:
            o, out = a.occurrence, a.outcome
            rows.append([o.id, _day(o.start), k.kind, o.programme, o.site, o.title, o.place, len(a.volunteers),
                         a.walk_ins, round(a.minutes / 60, 2), a.served, a.audience,
                         "、".join(f"{n}{c}" for n, c in (out.items if out else {}).items()),
                         "、".join(out.services) if out else "", "、".join(out.partners) if out else "",
                         a.acts, out.note if out else ""])
    _table(ws, "活动明细", ["活动", "日期", "类别", "项目", "站点", "名称", "地点", "签到志愿者", "现场志愿者", "时长（小时）",
                        "服务人次", "观众人次", "物品", "服务项目", "合作单位", "节目数", "成效说明"], rows)
    _table(ws, "已开始但无签到、未登记成效的活动（未计入）", ["活动", "日期", "类别", "名称"],
           [[o.id, _day(o.start), o.category, o.title] for o in v.unrecorded])
    attended: dict[str, int] = {}
    for a in v.total.activities:
        for openid in a.volunteers:
            attended[openid] = attended.get(openid, 0) + 1
    people = sorted(attended.items(), key=lambda on: (-on[1], on[0]))
    _table(ws, "签到志愿者（每人一行，不含个人信息）", ["志愿者", "参加场次"],
           [[f"志愿者{i}", n] for i, (_, n) in enumerate(people, start=1)])


def _jobs(wb, h: HalfYear, figures: list[Figure]) -> None:
    ws = wb.create_sheet("就业")
    _figures(ws, figures, "就业")
    _table(ws, "招聘会", ["活动", "日期", "名称", "岗位数", "用人单位", "投递人次（期间）", "现场签约", "会后签约"],
           [[f.occurrence.id, _day(f.occurrence.start), f.occurrence.title, f.postings.headcount,
             len(f.postings.employers), f.postings.registrations, len(f.on_site), len(f.later)]
            for f in h.jobs.fairs])
    _table(ws, "岗位明细（投递、录用为期间内发生的）", ["编号", "用人单位", "岗位", "类别", "招聘人数", "发布日期",
                                        "期间内发布", "招聘会", "投递人次", "录用人数"],
           [[p.id, p.employer, p.title, p.category, p.headcount, _day(p.published), "是" if p.in_period else "",
             p.fair, len(p.interested), len(p.hired)] for p in h.jobs.all.postings])


def _reach(wb, h: HalfYear, figures: list[Figure]) -> None:
    ws = wb.create_sheet("网上阵地")
    _figures(ws, figures, "网上阵地")
    kinds = sorted({k for day in h.reach.pushes.values() for k in day})
    _table(ws, "每日推送（类型:结果）", ["日期"] + kinds,
           [[date(int(day[:4]), int(day[4:6]), int(day[6:]))] + [counts.get(k, 0) for k in kinds]
            for day, counts in sorted(h.reach.pushes.items())])


def build(h: HalfYear, figures: list[Figure] | None = None) -> Workbook:
    figures = h.figures() if figures is None else figures
    wb = Workbook()
    for part in (_study, _volunteering, _jobs, _reach):
        part(wb, h, figures)
    for ws in wb.worksheets:
        _widths(ws)
    return defuse(wb)


def save(wb: Workbook, out) -> Path | bytes:
    if out is None:
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()
    wb.save(str(out))
    return Path(out)
