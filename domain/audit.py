"""The audit log: every view or download of personal data by staff, for admins to read.

An entry says who, when, what (the page or file, and the record it was about),
how many people's data it showed, and from which address. Entries are a Redis
stream: appended in order, never edited, read newest first. Nothing trims it:
the committee decides how long to keep it (`XTRIM` by hand).
"""
from __future__ import annotations

from dataclasses import dataclass

from domain.keys import key

STREAM = key("audit")

ACTIONS = {  # action -> how the log page names it
    "view": "查看", "export": "下载", "delete": "删除个人信息", "search": "查找",
}


@dataclass
class AuditEntry:
    id: str
    at: float
    staff: str
    action: str
    what: str
    people: int
    address: str

    @property
    def action_name(self) -> str:
        return ACTIONS.get(self.action, self.action)


class Audit:
    def __init__(self, redis):
        self._redis = redis

    def record(self, staff: str, action: str, what: str, people: int, address: str = "") -> str:
        """Append one entry; return its id."""
        return self._redis.xadd(STREAM, {"staff": staff, "action": action, "what": what, "people": int(people),
                                         "address": address or ""})

    def recent(self, count: int = 100, before: str | None = None) -> list[AuditEntry]:
        """Entries newest first, count of them, older than the entry id `before` when given."""
        top = f"({before}" if before else "+"
        return [_entry(i, f) for i, f in self._redis.xrevrange(STREAM, max=top, min="-", count=count)]

    def count(self) -> int:
        return self._redis.xlen(STREAM)


def _entry(entry_id: str, fields: dict) -> AuditEntry:
    return AuditEntry(entry_id, int(entry_id.split("-")[0]) / 1000, fields.get("staff", ""), fields.get("action", ""),
                 fields.get("what", ""), int(fields.get("people") or 0), fields.get("address", ""))
