"""What every content importer shares: errors that name the place in the staff's own words, and checked reads.

An error names the file, the row (sheets: as the spreadsheet numbers it) and
the column as the sheet's header names it (`联系方式`, `答案`), or the field as
the YAML file names it (`capacity`, `questions[2].answer`). Files are checked
whole before anything is written (see bot/importers/__init__.py), so every
error is collected, not only the first.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from handlers.texts import SAFE_LOADER


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
        # libyaml (handlers/texts.py), parsed once: the node tree is measured, then built. content/jobs/winter-fair.yaml
        # (7.8 KB) reads in 1.7 ms; 12 ms with the pure-Python parser, which read it twice.
        loader = SAFE_LOADER(Path(path).read_text(encoding="utf-8"))
        try:
            root = loader.get_single_node()
            if _expanded_size(root) > MAX_YAML_NODES:
                # aliases repeat parts of the file: a few hundred bytes can stand for megabytes ("billion laughs")
                raise ContentError(path, "", f"内容展开后太大（锚点和别名 & * 重复引用过多，最多 {MAX_YAML_NODES} 项）")
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
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


def header_key(header) -> str:
    """A header as matched: no spaces, brackets or required-marks, lower case, so 期 号, 报名截止（小时）,
    报名截止(小时) and 答案* match the same column."""
    text = str(header if header is not None else "").translate(str.maketrans("（）：＊", "():*"))
    return re.sub(r"[\s()*:]", "", text).lower()


def header_field(columns: dict[str, str], header, letters: str = "") -> str:
    """The field a sheet's header names: one matcher for every sheet (events, branches, questions, postings).

    columns maps normalised headers (variants included) to fields; the field names themselves
    (as YAML files write them) are accepted too; with letters, an option column (A, 选项A, A选项) is its letter.
    Unknown headers give "".
    """
    h = header_key(header)
    if h in columns:
        return columns[h]
    if h in set(columns.values()):
        return h
    m = re.fullmatch(r"(?:选项)?([a-z])(?:选项)?", h)
    if letters and m and m[1].upper() in letters:
        return m[1].upper()
    return ""


def plain_number(value) -> str:
    """A number as staff write it in a sheet or a form, without its unit: 20人, ２０, 2小时, 16岁 -> '20', '2', '16'."""
    text = str(value if value is not None else "").translate(str.maketrans("０１２３４５６７８９．", "0123456789.")).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    return re.sub(r"\s*(人|名|位|个|小时|岁)$", "", text) or text


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_rows(path: Path) -> list[list]:
    """A CSV or XLSX sheet's rows (the first worksheet) as cell values, as the spreadsheet shows them:
    a merged cell (期号 merged down its questions) gives its value to every cell it covers.
    A ContentError (no row) when the file cannot be read."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".csv":
            with open(path, newline="", encoding="utf-8-sig") as fh:
                return list(csv.reader(fh))
        from openpyxl import load_workbook

        check_unpacked(path)
        ws = load_workbook(path, data_only=True).worksheets[0]  # not read-only: merged ranges are known then
        raw = [list(r) for r in ws.iter_rows(values_only=True)]
        blank_rows = {i for i, r in enumerate(raw, start=1) if all(_blank(v) for v in r)}
        for merged in ws.merged_cells.ranges:
            top = raw[merged.min_row - 1][merged.min_col - 1] if merged.min_row <= len(raw) else None
            for r in set(range(merged.min_row, min(merged.max_row, len(raw)) + 1)) - blank_rows:  # blank stays blank
                for c in range(merged.min_col, merged.max_col + 1):
                    if c <= len(raw[r - 1]):
                        raw[r - 1][c - 1] = top
        return raw
    except ContentError:
        raise
    except UnicodeDecodeError:
        raise ContentError(path, "", "CSV 文件不是 UTF-8 编码，请在 Excel 里另存为「CSV UTF-8」或 .xlsx") from None
    except Exception as exc:  # noqa: BLE001 - a damaged XLSX raises anything from zipfile to openpyxl
        raise ContentError(path, "", f"无法读取这个文件（{type(exc).__name__}），请另存为 .xlsx 后再试") from None


def sheet_rows(raw: list[list], columns: dict[str, str], letters: str = "") -> tuple[list, dict[str, str]]:
    """([(row number as the spreadsheet shows it, {field: value})], {field: the sheet's own header}) from raw rows:
    a row of empty or blank cells is skipped; a column given twice: the first counts."""
    headers: dict[str, str] = {}
    fields: list[str] = []
    for h in (raw[0] if raw else []):
        f = header_field(columns, h, letters)
        fields.append(f if f not in headers else "")
        if f and f not in headers:
            headers[f] = str(h).strip()
    rows = []
    for number, values in enumerate(raw[1:], start=2):
        if all(_blank(v) for v in values):
            continue
        rows.append((number, {f: (v.strip() if isinstance(v, str) else v) for f, v in zip(fields, values) if f}))
    return rows, headers


@dataclass
class Sheet:
    """A spreadsheet's rows read as fields, and the header each field had in the sheet."""

    rows: list[tuple[int, dict]]  # (row number as the spreadsheet shows it, {field: value})
    headers: dict[str, str]  # field -> the sheet's own header

    def column(self, field: str) -> str:
        return self.headers.get(field, field)


MAX_UNPACKED = 50 * 1024 * 1024  # an XLSX is a zip: what its parts add up to once unpacked (bytes)
MAX_PARTS = 2000


def check_unpacked(path: Path) -> None:
    """Refuse an XLSX whose parts are too many or too large once unpacked, from the zip's own directory and
    before openpyxl unpacks anything (a "zip bomb" of 500 KB can unpack to 200 MB)."""
    import zipfile


    try:
        with zipfile.ZipFile(path) as z:
            parts = z.infolist()
    except (zipfile.BadZipFile, OSError):
        raise ContentError(path, "", "无法读取这个文件（不是有效的 .xlsx），请在 Excel 里另存为 .xlsx 后再试") from None
    unpacked = sum(p.file_size for p in parts)
    if len(parts) > MAX_PARTS or unpacked > MAX_UNPACKED:
        raise ContentError(path, "", f"表格解压后太大（{unpacked // 1024 // 1024} MB，最多 {MAX_UNPACKED // 1024 // 1024} MB）："
                                     "请只保留要导入的那一页和需要的行")


def read_sheet(path: Path, columns: dict[str, str], letters: str = "") -> Sheet:
    """Read a CSV or XLSX sheet whose first row names the columns (Chinese headers and their variants, or the
    field names): header_field matches them, read_rows reads merged cells as their value."""
    return Sheet(*sheet_rows(read_rows(path), columns, letters))
