"""What staff type into a period's report: the sections youthbot cannot count (organisation building, 典型宣传,
study sessions held offline, media coverage...), kept with the period in the store.

One hash per period (its first and last day), section -> text; saving replaces the period's sections in one
write (MULTI), so a save killed half-way leaves the old text or the new, never a mix. The sections and where
the report puts them are bot/report/words.py's NOTE_SECTIONS; their names are content/report/report.yaml's
`notes`. Sizes are bounded: a section holds at most MAX_CHARS characters.
"""
from __future__ import annotations

from domain.keys import key

SECTIONS = ("study", "organisation", "services", "publicity", "programmes", "media")
MAX_CHARS = 4000


class NotesError(ValueError):
    def __init__(self, section: str, problem: str):
        super().__init__(f"{section}: {problem}")
        self.section, self.problem = section, problem


def notes_key(period) -> str:
    return key("{report}", "notes", f"{period.first}", f"{period.last}")


class ReportNotes:
    def __init__(self, redis):
        self._redis = redis

    def get(self, period) -> dict[str, str]:
        raw = self._redis.hgetall(notes_key(period))
        return {s: raw[s] for s in SECTIONS if raw.get(s)}

    def saved_by(self, period) -> tuple[str, float] | None:
        """(staff name, when) of the last save for the period, or None."""
        meta = self._redis.hgetall(notes_key(period) + ":meta")
        return (meta["by"], float(meta["at"])) if meta.get("by") else None

    def save(self, period, texts: dict[str, str], by: str = "", now: float | None = None) -> dict[str, str]:
        """Replace the period's typed sections with texts (an empty one is removed); refused whole when one is
        unknown or too long."""
        clean = {}
        for section, text in texts.items():
            if section not in SECTIONS:
                raise NotesError(section, "没有这一部分")
            text = "\n".join(line.rstrip() for line in str(text).replace("\r\n", "\n").split("\n")).strip()
            if len(text) > MAX_CHARS:
                raise NotesError(section, f"最多{MAX_CHARS}字，现有{len(text)}字")
            if text:
                clean[section] = text
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(notes_key(period))
        if clean:
            pipe.hset(notes_key(period), mapping=clean)
        if by:
            pipe.hset(notes_key(period) + ":meta", mapping={"by": by, "at": repr(now or 0)})
        pipe.execute()
        return clean
