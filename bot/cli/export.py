"""Write staff reports as CSV (opens in Excel, UTF-8 with BOM) or XLSX, by the file's extension.

Dates are real date cells in XLSX (sortable, with the year) and
`2026-12-03 16:30` in CSV and on the terminal.
"""
from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from bot.exports.cells import csv_cell, defuse

DATE_FORMAT = "%Y-%m-%d %H:%M"
XLSX_DATE_FORMAT = "yyyy-mm-dd hh:mm"


def write_table(path, headers: list[str], rows: list[list]) -> Path:
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.append(headers)
        for row in rows:
            ws.append(row)
        for cells in ws.iter_rows(min_row=2):
            for cell in cells:
                if isinstance(cell.value, datetime):
                    cell.number_format = XLSX_DATE_FORMAT
        defuse(wb).save(path)
    else:
        with open(path, "w", newline="", encoding="utf-8-sig") as fh:
            writer = csv.writer(fh)
            writer.writerow([csv_cell(h) for h in headers])
            writer.writerows([[csv_cell(_text(c)) for c in row] for row in rows])
    return path


def _text(value) -> str:
    return value.strftime(DATE_FORMAT) if isinstance(value, datetime) else value


def text_table(headers: list[str], rows: list[list]) -> str:
    """A plain table for the terminal; East Asian characters count as two columns."""
    cells = [[str(c) for c in headers]] + [[str(_text(c)) for c in r] for r in rows]
    widths = [max(_width(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c + " " * (w - _width(c)) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
