"""The audit log: every staff action, and every view or download of personal data, for admins to read.

An entry says who (the account, or `命令行` for a command run on the server),
when, from which address, what was done (the action and the record it was
about), what changed (before and after, for what is not personal data: an
event's place and time, an account's role, a branch's name), how many people's
personal data it showed, and whether it was refused (and why).

Entries are a Redis stream: appended in order, never edited, read newest first,
searched by account, action, date and words in the description. They are kept
for `AUDIT_KEEP_DAYS` (a setting; by default a year, and never more than the two
years the privacy notice promises, since entries can name a resident and a
correction keeps the value it replaced) and the scheduler's `audit_retention`
task trims older ones every night. The page masks a resident's name and phone in
what changed; the download (itself audited) has them whole.

A resident is named in an entry by a pseudonymous reference (person_ref: the end
of their openid), never by name or phone number, and a search by what was typed's
kind only: the log must not keep what `删除我的信息` deletes. Entries an earlier
version wrote with a name are rewritten when that person is deleted (scrub).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from domain.keys import key
from domain.profiles import mask_name, mask_phone

STREAM = key("audit")
CLI = "命令行"  # the account name of actions taken with the youthbot command on the server
MAX_TEXT = 500  # characters of a description or a changed value kept in an entry
SCAN_LIMIT = 20_000  # entries a search reads at most per page (a search past it says where it stopped)
_BATCH = 500
MAX_KEEP_DAYS = 730  # the privacy notice's two years: entries can hold a resident's name or a corrected value
PERSONAL_FIELDS = {"姓名": mask_name, "手机号": mask_phone}  # changes kept whole, masked on the page

ACTIONS = {  # action -> how the log page names it, in the order its filter lists them
    "view": "查看", "search": "查找", "export": "下载", "correct": "更正个人信息", "delete": "删除个人信息",
    "certificate": "开具证明", "rescore": "改答案并重新计分",
    "login": "登录", "login_failed": "登录失败", "logout": "退出登录", "password": "修改自己的密码",
    "staff.create": "新建账号", "staff.reset": "重置密码", "staff.role": "修改角色", "staff.delete": "删除账号",
    "bank.upload": "上传题库", "bank.delete": "删除答题", "bank.close": "提前截止答题",
    "branch.add": "添加支部", "branch.rename": "支部改名", "branch.upload": "上传支部表",
    "event.upload": "上传活动表", "event.create": "新建活动", "event.edit": "修改活动", "event.cancel": "取消活动", "event.reinstate": "恢复活动",
    "event.attendance": "更正签到签退", "event.organisers": "指定组织者", "event.outcome": "登记活动成效",
    "job.upload": "上传岗位表", "job.create": "发布岗位", "job.outcome": "记录求职进度", "job.status": "岗位招满/撤回/重开",
    "push.retry": "重试推送", "push.broadcast": "群发", "report.notes": "填写工作总结补充内容",
    "content.load": "载入内容", "content.demo_clear": "清除演示数据", "menu.push": "推送菜单",
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
    changes: dict = field(default_factory=dict)  # field -> [before, after]
    refused: str = ""  # why it was refused; empty when it was done

    @property
    def action_name(self) -> str:
        return ACTIONS.get(self.action, self.action)

    @property
    def changes_text(self) -> str:
        """What changed, as the log page shows it: a resident's name and phone masked (张*明, 138****8000)."""
        return self.changes_as(masked=True)

    def changes_as(self, masked: bool) -> str:
        def shown(k, v):
            return _shown(PERSONAL_FIELDS[k](v) if masked and k in PERSONAL_FIELDS and v else v)
        return "；".join(f"{k}：{shown(k, b)} → {shown(k, a)}" for k, (b, a) in self.changes.items())


@dataclass
class Found:
    entries: list[AuditEntry]
    older: str | None  # the id to pass as `before` for the next page; None: no more
    scanned_to: float | None = None  # set when the scan limit stopped the search: it reached back to this time


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

    def record(self, staff: str, action: str, what: str, people: int = 0, address: str = "",
               changes: dict | None = None, refused: str = "") -> str:
        """Append one entry; return its id. Long texts are cut to MAX_TEXT characters."""
        fields = {"staff": staff[:64], "action": action[:64], "what": (what or "")[:MAX_TEXT], "people": int(people),
                  "address": (address or "")[:64]}
        if changes:
            fields["changes"] = json.dumps({str(k)[:40]: [_cut(b), _cut(a)] for k, (b, a) in changes.items()},
                                           ensure_ascii=False)
        if refused:
            fields["refused"] = refused[:MAX_TEXT]
        return self._redis.xadd(STREAM, fields)

    def recent(self, count: int = 100, before: str | None = None) -> list[AuditEntry]:
        """Entries newest first, count of them, older than the entry id `before` when given."""
        top = f"({before}" if before else "+"
        return [_entry(i, f) for i, f in self._redis.xrevrange(STREAM, max=top, min="-", count=count)]

    def search(self, staff: str = "", action: str = "", since: float | None = None, until: float | None = None,
               text: str = "", count: int = 100, before: str | None = None, scan_limit: int = SCAN_LIMIT) -> Found:
        """Entries newest first matching every filter given: the account, the action, the time
        (since <= at < until, seconds) and words in the description or the changes (case-insensitive).
        At most `count` of them, older than `before`; reads at most `scan_limit` entries."""
        top = f"({before}" if before else (f"({int(until * 1000)}" if until is not None else "+")
        bottom = str(int(since * 1000)) if since is not None else "-"
        text = text.strip().lower()
        found: list[AuditEntry] = []
        scanned, last = 0, None
        while len(found) < count and scanned < scan_limit:
            batch = self._redis.xrevrange(STREAM, max=top, min=bottom, count=min(_BATCH, scan_limit - scanned))
            if not batch:
                return Found(found, None)
            for entry_id, fields in batch:
                scanned, last = scanned + 1, entry_id
                entry = _entry(entry_id, fields)
                if _matches(entry, staff, action, text):
                    found.append(entry)
                    if len(found) == count:
                        return Found(found, entry_id if self._older_exists(entry_id, bottom) else None)
            top = f"({last}"
        if scanned >= scan_limit and last and self._older_exists(last, bottom):
            return Found(found, last, scanned_to=int(last.split("-")[0]) / 1000)
        return Found(found, None)

    def _older_exists(self, entry_id: str, bottom: str) -> bool:
        return bool(self._redis.xrevrange(STREAM, max=f"({entry_id}", min=bottom, count=1))

    def staff_names(self, limit: int = 2000) -> list[str]:
        """The accounts seen in the newest `limit` entries (for the search form's choices)."""
        return sorted({f.get("staff", "") for _, f in self._redis.xrevrange(STREAM, count=limit)} - {""})

    def count(self) -> int:
        return self._redis.xlen(STREAM)

    def scrub(self, words: list[str], replacement: str) -> int:
        """Replace every word (a deleted person's name, phone number) in every entry, keeping the entries
        and their ids and order; one atomic script. Return how many entries changed."""
        words = [w for w in dict.fromkeys(words) if w and len(w) >= 2]
        if not words:
            return 0
        return int(self._redis.eval(_SCRUB, 2, STREAM, "{" + STREAM + "}:scrub", replacement, *words))

    def trim(self, keep_days: float, now: float) -> int:
        """Delete the entries older than keep_days (never more than MAX_KEEP_DAYS); return how many went."""
        keep_days = min(keep_days, MAX_KEEP_DAYS) if keep_days > 0 else MAX_KEEP_DAYS
        return int(self._redis.xtrim(STREAM, minid=str(int((now - keep_days * 86400) * 1000)), approximate=False))


EXPORT_HEADERS = ["时间", "账号", "操作", "内容", "改动", "涉及人数", "地址", "结果"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_row(entry: AuditEntry) -> list:
    """One entry as a spreadsheet row; text that a spreadsheet would run as a formula is kept as text."""
    from domain import clock

    cells = [clock.local(entry.at).strftime("%Y-%m-%d %H:%M:%S"), entry.staff, entry.action_name, entry.what,
             entry.changes_as(masked=False), entry.people, entry.address, f"未完成：{entry.refused}" if entry.refused else "完成"]
    return [f"'{c}" if isinstance(c, str) and c.startswith(_FORMULA_START) else c for c in cells]


def _matches(entry: AuditEntry, staff: str, action: str, text: str) -> bool:
    if staff and entry.staff != staff:
        return False
    if action and entry.action != action:
        return False
    return not text or text in f"{entry.what}\n{entry.changes_text}\n{entry.refused}".lower()


def _cut(value) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def _shown(value: str) -> str:
    return value if value != "" else "（空）"


def _entry(entry_id: str, fields: dict) -> AuditEntry:
    try:
        changes = json.loads(fields.get("changes") or "{}")
    except ValueError:
        changes = {}
    return AuditEntry(entry_id, int(entry_id.split("-")[0]) / 1000, fields.get("staff", ""), fields.get("action", ""),
                 fields.get("what", ""), int(fields.get("people") or 0), fields.get("address", ""),
                 changes if isinstance(changes, dict) else {}, fields.get("refused", ""))
