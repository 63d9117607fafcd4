"""Cells that stay data: no text a resident or staff member typed ever becomes a spreadsheet formula.

Every XLSX and CSV writer of the project goes through here (the console's downloads,
the report workbook, the CLI's exports). Text beginning with = + - @ (or a tab or a
carriage return, which some programs strip before looking) is what Excel, WPS and
LibreOffice would read as a formula:

- in XLSX the cell is written with the string type, so it keeps its exact text and is
  shown, never evaluated (openpyxl otherwise stores a leading "=" as a formula);
- in CSV, which has no types, such text gets a leading apostrophe (the OWASP advice):
  spreadsheet programs show the text, and a reader sees the apostrophe.
"""
from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def starts_like_formula(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cell(value):
    """A value for a CSV cell: text that could be read as a formula gets a leading apostrophe."""
    return "'" + value if starts_like_formula(value) else value


def defuse(wb):
    """Every text cell of the workbook stored as text (never a formula); call it just before saving."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and (cell.data_type == "f" or starts_like_formula(cell.value)):
                    cell.data_type = "s"
    return wb
