"""Content files: import the committee's quizzes, events and postings into Redis.

`youthbot content load DIR` and the first start on an empty store both come
here. Each folder of DIR (quizzes/, events/, jobs/, ...) has the loader that
LOADERS lists for it; loading is idempotent (records are upserted by id) and
an error names the file and the field.
"""
from __future__ import annotations

import logging
from pathlib import Path

from bot.importers import history, loaders, sheets
from bot.importers.files import ContentError, LoadReport
from domain.keys import key

log = logging.getLogger(__name__)

LOADED_MARK = key("content", "loaded")

YAML = (".yaml", ".yml")
SHEETS = (".yaml", ".yml", ".xlsx", ".csv")
# Folder -> (loader, file suffixes), in load order; demo/ near the end: its made-up
# members take part in what the other folders define; history/ (demo only) last:
# the past half year those members took part in.
LOADERS = {
    "branches": (sheets.load_branches_file, SHEETS),  # YAML, or a sheet (bot/importers/sheets.py)
    "quizzes": (loaders.load_quizzes, SHEETS),
    "events": (sheets.load_events_file, SHEETS),
    "jobs": (loaders.load_jobs, SHEETS),
    "programmes": (history.load_programmes, YAML),
    "demo": (loaders.load_demo_members, YAML),
    "history": (history.load_history, YAML),
}


def load_dir(bot, directory: Path) -> LoadReport:
    """Load every known folder below directory; raise ContentError on the first bad file."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ContentError(directory, "", "not a folder")
    counts = {}
    for folder, (fn, suffixes) in LOADERS.items():
        files = sorted(p for p in (directory / folder).glob("*") if p.suffix.lower() in suffixes) \
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


