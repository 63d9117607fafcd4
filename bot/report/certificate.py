"""The service record (志愿服务证明) as a printable A4 Word document, to stamp and hand over.

What it says is the record as issued (domain/certificates.py): the volunteer's
name in full (this is the paper; the public /verify page masks it), every
activity with its date and hours, the total, the committee as issuer with room
for its stamp, the record's number, and a QR code (segno) of its /verify link
so whoever receives the paper can check it. Fonts as the report's (bot/report/word.py):
Chinese faces named by their English names, zh-CN, so Word and LibreOffice both
render the CJK text.
"""
from __future__ import annotations

import io

import segno
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm

from bot.report.word import HEADING_FONT, TITLE_FONT, _cell, _text, new_document, save
from domain import clock
from domain.certificates import Certificate

MAX_ROWS = 40  # activities listed on the page; more are summed in one line (the page stays one page)


def verify_link(public_url: str, number: str) -> str:
    return f"{public_url.rstrip('/')}/verify/{number}"


def qr_png(link: str) -> bytes:
    """The QR code of a link as PNG (error correction M, a quiet zone of four modules)."""
    buf = io.BytesIO()
    segno.make(link, error="m", micro=False).save(buf, kind="png", scale=8, border=4)
    return buf.getvalue()


def document(cert: Certificate, public_url: str) -> bytes:
    """The .docx of one record."""
    doc = new_document()
    section = doc.sections[0]
    section.top_margin, section.bottom_margin = Cm(2.8), Cm(2.5)
    _text(doc, "志愿服务证明", TITLE_FONT, 26, bold=True, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER, line=40,
          after=6)
    _text(doc, f"编号：{cert.number}", HEADING_FONT, 11, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT, line=18,
          after=8)
    hours = _hours(cert.minutes)
    name = cert.name or "（本人已删除个人信息）"
    _text(doc, f"兹证明 {name} 同志参加{cert.issuer}组织的志愿服务活动{len(cert.rows)}次，"
               f"累计志愿服务{hours}小时。具体如下：", size=15, line=28, after=6)
    rows = cert.rows if len(cert.rows) <= MAX_ROWS else cert.rows[-(MAX_ROWS - 1):]
    table = doc.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, ("日期", "活动", "时长（小时）")):
        _cell(cell, text, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    if len(cert.rows) > MAX_ROWS:
        earlier = cert.rows[:len(cert.rows) - len(rows)]
        _row(table, f"{clock.fmt_date(earlier[0][0])}起", f"此前{len(earlier)}次活动",
             _hours(sum(int(m) for *_, m in earlier)))
    for start, title, minutes in rows:
        _row(table, clock.fmt_date(start), title, _hours(minutes))
    _row(table, "合计", f"{len(cert.rows)}次", hours, bold=True)
    for row in table.rows:
        for cell, width in zip(row.cells, (Cm(3.6), Cm(9.6), Cm(2.8))):
            cell.width = width
    _text(doc, "特此证明。", size=15, line=28, before=10)
    _text(doc, cert.issuer, size=15, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT, line=28, before=18)
    _text(doc, "（盖章）", size=12, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT, line=22)
    _text(doc, clock.fmt_date(cert.issued), size=15, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT, line=28)
    link = verify_link(public_url, cert.number)
    qr = doc.add_paragraph()
    qr.alignment = WD_ALIGN_PARAGRAPH.LEFT
    qr.paragraph_format.space_before = Cm(0.4)
    qr.add_run().add_picture(io.BytesIO(qr_png(link)), width=Cm(2.8))
    _text(doc, f"扫码或访问 {link} 核验本证明", size=9, indent=False, line=14)
    _text(doc, "时长按签到、签退记录计算，不足活动时长60%的不计入。", size=9, indent=False, line=14)
    return save(doc, None)


def _row(table, date: str, title: str, hours: str, bold: bool = False) -> None:
    cells = table.add_row().cells
    _cell(cells[0], date, bold, WD_ALIGN_PARAGRAPH.CENTER)
    _cell(cells[1], title, bold)
    _cell(cells[2], hours, bold, WD_ALIGN_PARAGRAPH.CENTER)


def _hours(minutes: int) -> str:
    return f"{int(minutes) / 60:.1f}".rstrip("0").rstrip(".")


def filename(cert: Certificate) -> str:
    return f"志愿服务证明-{cert.number}.docx"
