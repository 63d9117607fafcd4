"""The audit log: every view or download of personal data by staff, for admins to read.

An entry says who, when, what (the page or file, and the record it was about),
how many people's data it showed, and from which address. Entries are a Redis
stream: appended in order, read newest first. Nothing trims it: the committee
decides how long to keep it (`XTRIM` by hand).

A resident is named in an entry by a pseudonymous reference (person_ref: the end
of their openid), never by name or phone number, and a search by what was typed's
kind only: the log must not keep what `删除我的信息` deletes. Entries an earlier
version wrote with a name are rewritten when that person is deleted (scrub).
"""
from __future__ import annotations

from dataclasses import dataclass

from domain.keys import key

STREAM = key("audit")

ACTIONS = {  # action -> how the log page names it
    "view": "查看", "export": "下载", "delete": "删除个人信息", "search": "查找",
    "rescore": "改答案并重新计分",
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


def person_ref(openid: str) -> str:
    """How the log names a resident: the end of their openid (pseudonymous, like their quiz scores)."""
    return f"#{openid[-6:]}"


def search_what(query: str) -> str:
    """A search as the log keeps it: what kind of text was typed, not the text (a name, phone digits)."""
    query = query.strip()
    return f"查找（手机号后{len(query)}位）" if query.isdigit() else f"查找（姓名，{len(query)}个字）"


# KEYS: the stream, a scratch key in its slot. ARGV: the replacement, then the words to replace.
# Rebuilds the stream with the same ids (XADD with explicit ids, in order) when any entry holds a word.
_SCRUB = """
local entries = redis.call('XRANGE', KEYS[1], '-', '+')
local function clean(text)
  for i = 2, #ARGV do
    local word = ARGV[i]
    local at = string.find(text, word, 1, true)
    while at do
      text = string.sub(text, 1, at - 1) .. ARGV[1] .. string.sub(text, at + #word)
      at = string.find(text, word, at + #ARGV[1], true)
    end
  end
  return text
end
local changed = 0
for _, e in ipairs(entries) do
  for j = 2, #e[2], 2 do
    if clean(e[2][j]) ~= e[2][j] then changed = changed + 1 break end
  end
end
if changed == 0 then return 0 end
redis.call('DEL', KEYS[2])
for _, e in ipairs(entries) do
  local fields = {}
  for j = 1, #e[2], 2 do
    table.insert(fields, e[2][j])
    table.insert(fields, clean(e[2][j + 1]))
  end
  redis.call('XADD', KEYS[2], e[1], unpack(fields))
end
redis.call('RENAME', KEYS[2], KEYS[1])
return changed
"""


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

    def scrub(self, words: list[str], replacement: str) -> int:
        """Replace every word (a deleted person's name, phone number) in every entry, keeping the entries
        and their ids and order; one atomic script. Return how many entries changed."""
        words = [w for w in dict.fromkeys(words) if w and len(w) >= 2]
        if not words:
            return 0
        return int(self._redis.eval(_SCRUB, 2, STREAM, "{" + STREAM + "}:scrub", replacement, *words))


def _entry(entry_id: str, fields: dict) -> AuditEntry:
    return AuditEntry(entry_id, int(entry_id.split("-")[0]) / 1000, fields.get("staff", ""), fields.get("action", ""),
                 fields.get("what", ""), int(fields.get("people") or 0), fields.get("address", ""))
