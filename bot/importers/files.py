"""What every content importer shares: the error that names the place, and checked reads."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


class ContentError(ValueError):
    """A content file that cannot be loaded; says which file and which field."""

    def __init__(self, path, field: str, problem: str, row: int | None = None):
        self.path, self.field, self.problem, self.row = Path(path), field, problem, row
        where = f"{self.path.name}" + (f", row {row}" if row else "") + (f", field '{field}'" if field else "")
        super().__init__(f"{where}: {problem}")


@dataclass
class LoadReport:
    counts: dict[str, int]

    def __str__(self) -> str:
        return ", ".join(f"{n} {kind}" for kind, n in self.counts.items()) or "nothing"


def read_yaml(path: Path) -> dict:
    """Read one YAML record file; a syntax error names the file and line."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ContentError(path, "", f"not valid YAML (line {mark.line + 1 if mark else '?'})") from exc
    if not isinstance(data, dict):
        raise ContentError(path, "", "expected a mapping of fields at the top level")
    return data


def require(data: dict, path: Path, field: str, kind=str):
    """Return data[field], checking it is present and of the given kind."""
    if field not in data or data[field] in (None, ""):
        raise ContentError(path, field, "missing")
    value = data[field]
    if kind is int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ContentError(path, field, f"expected a whole number, got {value!r}") from None
    if kind is list and not isinstance(value, list):
        raise ContentError(path, field, "expected a list")
    return str(value) if kind is str else value
