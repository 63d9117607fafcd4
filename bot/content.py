"""Content files: import the committee's quizzes, events and postings into Redis.

`youthbot content load DIR` and the first start on an empty store both come
here. Each folder of DIR (quizzes/, events/, jobs/, ...) has a loader that a
feature registers with @loader("folder"); loading is idempotent (records are
upserted by id) and an error names the file and the field.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from bot.storage import key

log = logging.getLogger(__name__)

LOADED_MARK = key("content", "loaded")
_loaders: dict[str, Callable] = {}
LOAD_LAST = ("demo", "history")


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


def loader(folder: str, suffixes=(".yaml", ".yml")):
    """Register fn(bot, path) -> number of records, for the files of content/<folder>/."""
    def register(fn):
        fn.suffixes = suffixes
        _loaders[folder] = fn
        return fn
    return register


def load_dir(bot, directory: Path) -> LoadReport:
    """Load every known folder below directory; raise ContentError on the first bad file."""
    from bot import history_import  # noqa: F401  (registers the loaders)
    import domain.loaders  # noqa: F401

    directory = Path(directory)
    if not directory.is_dir():
        raise ContentError(directory, "", "not a folder")
    counts = {}
    # demo/ last: its made-up members take part in what the other folders define; then
    # history/ (demo only), whose past activities those members took part in
    for folder, fn in sorted(_loaders.items(), key=lambda item: LOAD_LAST.index(item[0]) + 1
                             if item[0] in LOAD_LAST else 0):
        files = sorted(p for p in (directory / folder).glob("*") if p.suffix.lower() in fn.suffixes) \
            if (directory / folder).is_dir() else []
        counts[folder] = sum(fn(bot, path) for path in files)
    return LoadReport({k: v for k, v in counts.items() if v})


def load_demo_if_empty(bot) -> LoadReport | None:
    """Load content/ on a first start; one process does it, the others skip."""
    if bot.redis.exists(LOADED_MARK) or not bot.redis.set(key("content", "loading"), "1", nx=True, ex=60):
        return None
    try:
        report = load_dir(bot, bot.settings.content_dir)
        bot.redis.set(LOADED_MARK, "1")
        log.info("demo content loaded: %s", report)
        return report
    finally:
        bot.redis.delete(key("content", "loading"))


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
