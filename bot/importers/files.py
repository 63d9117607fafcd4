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


MAX_YAML_NODES = 200_000  # values a YAML file may stand for once its aliases are expanded (the largest file: ~20,000)


def _expanded_size(root) -> int:
    """How many values the document stands for with every alias expanded, counted without expanding it."""
    sizes: dict[int, int] = {}

    def size(node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        sizes[id(node)] = 1  # a node that contains itself counts once (safe_load refuses it anyway)
        if isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(n) for n in node.value)
        elif isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        else:
            total = 1 + len(node.value) // 1000  # long text counts by its length, too
        sizes[id(node)] = total
        return total
    return size(root) if root is not None else 0


def read_yaml(path: Path) -> dict:
    """Read one YAML record file; a syntax error names the file and line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        if _expanded_size(yaml.compose(text, Loader=yaml.SafeLoader)) > MAX_YAML_NODES:
            # aliases repeat parts of the file: a few hundred bytes can stand for megabytes ("billion laughs")
            raise ContentError(path, "", f"内容展开后太大（锚点和别名 & * 重复引用过多，最多 {MAX_YAML_NODES} 项）")
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ContentError(path, "", f"不是有效的YAML（第{mark.line + 1 if mark else '?'}行附近）") from exc
    except UnicodeDecodeError:
        raise ContentError(path, "", "不是UTF-8编码的文本文件") from None
    except RecursionError:
        raise ContentError(path, "", "嵌套层数太多，不是内容文件") from None
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


MAX_UNPACKED = 50 * 1024 * 1024  # an XLSX is a zip: what its parts add up to once unpacked (bytes)
MAX_PARTS = 2000


def workbook_rows(path: Path) -> list[list]:
    """The first sheet's rows of an XLSX, after checking, from the zip's own directory and before openpyxl
    unpacks anything, that the parts are few and small enough (a "zip bomb" of 500 KB can unpack to 200 MB)."""
    import zipfile

    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(path) as z:
            parts = z.infolist()
    except (zipfile.BadZipFile, OSError):
        raise ContentError(path, "", "无法读取这个文件（不是有效的 .xlsx），请在 Excel 里另存为 .xlsx 后再试") from None
    unpacked = sum(p.file_size for p in parts)
    if len(parts) > MAX_PARTS or unpacked > MAX_UNPACKED:
        raise ContentError(path, "", f"表格解压后太大（{unpacked // 1024 // 1024} MB，最多 {MAX_UNPACKED // 1024 // 1024} MB）："
                                     "请只保留要导入的那一页和需要的行")
    return [list(r) for r in load_workbook(path, read_only=True, data_only=True).worksheets[0]
            .iter_rows(values_only=True)]


def read_sheet(path: Path, columns: dict[str, str], letters: str = "") -> Sheet:
    """Read a CSV or XLSX sheet whose first row names the columns (Chinese headers, or the field names)."""
    try:
        if path.suffix.lower() == ".csv":
            with open(path, newline="", encoding="utf-8-sig") as fh:
                raw = list(csv.reader(fh))
        else:
            raw = workbook_rows(path)
    except ContentError:
        raise
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
