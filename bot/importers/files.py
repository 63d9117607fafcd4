"""What every content importer shares: errors that name the place in the staff's own words, and checked reads.

An error names the file, the row (sheets: as the spreadsheet numbers it) and
the column as the sheet's header names it (`联系方式`, `答案`), or the field as
the YAML file names it (`capacity`, `questions[2].answer`). Files are checked
whole before anything is written (see bot/importers/__init__.py), so every
error is collected, not only the first.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import yaml


class ContentError(ValueError):
    """One problem in a content file, and where it is."""

    def __init__(self, path, column: str, problem: str, row: int | None = None):
        self.path, self.column, self.problem, self.row = Path(path), column, problem, row
        super().__init__(str(self))

    @property
    def file(self) -> str:
        return self.path.name

    @property
    def field(self) -> str:  # the name used before columns were named as the sheet names them
        return self.column

    def __str__(self) -> str:
        where = self.file + (f" 第{self.row}行" if self.row else "") + (f"「{self.column}」" if self.column else "")
        return f"{where}：{self.problem}"


class ContentErrors(ValueError):
    """Every problem found in a load; nothing was written."""

    def __init__(self, errors: list[ContentError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass
class LoadReport:
    counts: dict[str, int]
    notes: list[str] = field(default_factory=list)  # what the load kept of staff changes, and why

    def __str__(self) -> str:
        text = ", ".join(f"{n} {kind}" for kind, n in self.counts.items()) or "nothing"
        return "\n".join([text] + self.notes)


class Collector:
    """Collects a file's problems instead of stopping at the first."""

    def __init__(self, path: Path, errors: list[ContentError]):
        self.path, self.errors = Path(path), errors

    def add(self, column: str, problem: str, row: int | None = None) -> None:
        self.errors.append(ContentError(self.path, column, problem, row))

    def check(self, fn, *args, **kwargs):
        """fn(*args) or None, recording the ContentError it raised."""
        try:
            return fn(*args, **kwargs)
        except ContentError as exc:
            self.errors.append(exc)
            return None


def read_yaml(path: Path) -> dict:
    """Read one YAML record file; a syntax error names the file and line."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ContentError(path, "", f"不是有效的YAML（第{mark.line + 1 if mark else '?'}行附近）") from exc
    except UnicodeDecodeError:
        raise ContentError(path, "", "不是UTF-8编码的文本文件") from None
    if not isinstance(data, dict):
        raise ContentError(path, "", "最外层应当是「字段: 值」的列表")
    return data


def require(data: dict, path: Path, field: str, kind=str, row: int | None = None, column: str | None = None):
    """Return data[field], checking it is present and of the given kind."""
    column = column or field
    if field not in data or data[field] in (None, ""):
        raise ContentError(path, column, "没有填", row)
    value = data[field]
    if kind is int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ContentError(path, column, f"应当是整数，现在是「{value}」", row) from None
    if kind is list and not isinstance(value, list):
        raise ContentError(path, column, "应当是一个列表", row)
    return str(value).strip() if kind is str else value


@dataclass
class Sheet:
    """A spreadsheet's rows read as fields, and the header each field had in the sheet."""

    rows: list[tuple[int, dict]]  # (row number as the spreadsheet shows it, {field: value})
    headers: dict[str, str]  # field -> the sheet's own header

    def column(self, field: str) -> str:
        return self.headers.get(field, field)


def read_sheet(path: Path, columns: dict[str, str], letters: str = "") -> Sheet:
    """Read a CSV or XLSX sheet whose first row names the columns (Chinese headers, or the field names)."""
    try:
        if path.suffix.lower() == ".csv":
            with open(path, newline="", encoding="utf-8-sig") as fh:
                raw = list(csv.reader(fh))
        else:
            from openpyxl import load_workbook

            book = load_workbook(path, read_only=True, data_only=True)
            raw = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    except UnicodeDecodeError:
        raise ContentError(path, "", "CSV文件不是UTF-8编码：在Excel里另存为「CSV UTF-8」") from None
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise ContentError(path, "", f"无法读取这个文件（{type(exc).__name__}），请另存为 .xlsx 后再试") from None
    if not raw:
        return Sheet([], {})
    headers: dict[str, str] = {}
    fields = []
    for h in raw[0]:
        name = str(h or "").strip()
        f = columns.get(name, name.lower())
        if len(f) == 1 and f.upper() in letters:
            f = f.upper()
        fields.append(f)
        headers.setdefault(f, name)
    rows = []
    for number, values in enumerate(raw[1:], start=2):
        if all(v in (None, "") for v in values):
            continue
        rows.append((number, {f: (v.strip() if isinstance(v, str) else v) for f, v in zip(fields, values)}))
    return Sheet(rows, headers)
