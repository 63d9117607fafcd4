"""What an activity achieved, as its organiser records it afterwards; programmes and their sites.

Rules, all decided here:
- an outcome belongs to one occurrence that has started and was not cancelled;
  recording it again replaces it (the organiser corrects a figure), and the
  first recording time is kept;
- items are counted by name ("书包" 50, "图书" 500); the same name twice adds up;
- services and partners are short names, each kept once, in the order given;
- the note is one paragraph in the committee's own words: the report quotes it.

A programme (希望家园) groups occurrences at several sites over a period; an
occurrence names its programme and site (Occurrence.programme, .site). A closing
performance is an occurrence of the programme whose outcome counts its acts.

Keys: the outcome lives beside its occurrence ({ev:<id>}:outcome); programmes
under {events}.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field

from domain.keys import key
from domain.events import Events, Occurrence, occ_key

PROGRAMMES = key("{events}", "programmes")  # set of programme ids
MAX_NOTE = 1000
MAX_NAME = 40
MAX_ENTRIES = 30
_ITEM = re.compile(r"^\s*(?P<name>[^=:：\d][^=:：]*?)\s*(?:[=:：]\s*|\s+|(?=\d))(?P<count>\d+)\s*(?P<unit>[^\d\s]{0,2})\s*$")


def programme_key(pid: str) -> str:
    return key("{events}", "programme", pid)


class OutcomeError(ValueError):
    """An outcome that cannot be kept; says which field and why, in words staff read."""

    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


@dataclass
class ActivityOutcome:
    occurrence_id: str
    served: int = 0  # people served: elders visited, children tutored, residents helped
    items: dict[str, int] = field(default_factory=dict)  # given away: name -> count
    services: list[str] = field(default_factory=list)  # 义诊, 义剪, 法律咨询, …
    partners: list[str] = field(default_factory=list)  # the nursing home, the school, …
    note: str = ""
    walk_ins: int = 0  # volunteers who took part without signing up through the account
    acts: int = 0  # a performance: the number of acts shown
    recorded_by: str = ""
    recorded_at: float = 0.0
    updated_at: float = 0.0


@dataclass
class Programme:
    id: str
    title: str
    category: str
    start: float
    end: float
    sites: list[str] = field(default_factory=list)
    new_sites: list[str] = field(default_factory=list)  # sites opened this time
    description: str = ""
    partners: list[str] = field(default_factory=list)


def parse_items(entries: list[str] | str) -> dict[str, int]:
    """'书包=50', '图书 500册', '书包：50' (or one per line) -> {name: count}; the same name adds up."""
    if isinstance(entries, str):
        entries = entries.splitlines()
    items: dict[str, int] = {}
    for raw in entries:
        for part in re.split(r"[，,；;\n]", raw or ""):
            if not part.strip():
                continue
            m = _ITEM.match(part)
            if not m:
                raise OutcomeError("物品", f"“{part.strip()}”看不懂：请写成 名称=数量，例如 书包=50")
            name = m["name"].strip()
            items[name] = items.get(name, 0) + int(m["count"])
    return items


def _names(values, what: str) -> list[str]:
    if isinstance(values, str):
        values = re.split(r"[，,、；;\n]", values)
    out: list[str] = []
    for value in values or []:
        name = str(value).strip()
        if not name:
            continue
        if len(name) > MAX_NAME:
            raise OutcomeError(what, f"“{name[:10]}…”太长：每项最多{MAX_NAME}个字")
        if name not in out:
            out.append(name)
    if len(out) > MAX_ENTRIES:
        raise OutcomeError(what, f"最多{MAX_ENTRIES}项")
    return out


def _count(value, what: str, most: int) -> int:
    try:
        n = int(value or 0)
    except (TypeError, ValueError):
        raise OutcomeError(what, f"应为整数，收到“{value}”") from None
    if not 0 <= n <= most:
        raise OutcomeError(what, f"应在0到{most}之间，收到{n}")
    return n


class Outcomes:
    def __init__(self, redis):
        self._redis = redis
        self._events = Events(redis)

    # -- activity outcomes ----------------------------------------------------------
    def record(self, occ: Occurrence, *, served=0, items=None, services=None, partners=None, note: str = "",
               walk_ins=0, acts=0, recorded_by: str = "", now: float | None = None) -> ActivityOutcome:
        """Check and keep what occ achieved; raise OutcomeError naming the field that is wrong."""
        now = time.time() if now is None else now
        if occ.status == "cancelled":
            raise OutcomeError("活动", "活动已取消，不能登记成效")
        if now < occ.start:
            raise OutcomeError("活动", "活动还没有开始，结束后再登记成效")
        note = (note or "").strip()
        if len(note) > MAX_NOTE:
            raise OutcomeError("说明", f"最多{MAX_NOTE}字，现在{len(note)}字")
        item_counts = parse_items(items) if isinstance(items, (str, list)) else dict(items or {})
        for name, n in item_counts.items():
            if not name or len(name) > MAX_NAME or not isinstance(n, int) or n <= 0:
                raise OutcomeError("物品", f"“{name}”的数量应为正整数")
        previous = self.get(occ.id)
        outcome = ActivityOutcome(
            occ.id, _count(served, "服务人数", 100_000), item_counts, _names(services, "服务项目"),
            _names(partners, "合作单位"), note, _count(walk_ins, "现场志愿者", 10_000), _count(acts, "节目数", 500),
            recorded_by, previous.recorded_at if previous else now, now)
        self._redis.hset(occ_key(occ.id, "outcome"), "data", json.dumps(asdict(outcome), ensure_ascii=False))
        return outcome

    def get(self, occ_id: str) -> ActivityOutcome | None:
        return _outcome(self._redis.hget(occ_key(occ_id, "outcome"), "data"))

    def get_many(self, occ_ids: list[str]) -> dict[str, ActivityOutcome]:
        """Outcomes of several occurrences in one round trip; those without one are left out."""
        pipe = self._redis.pipeline(transaction=False)
        for occ_id in occ_ids:
            pipe.hget(occ_key(occ_id, "outcome"), "data")
        found = {occ_id: _outcome(raw) for occ_id, raw in zip(occ_ids, pipe.execute())}
        return {k: v for k, v in found.items() if v}

    # -- programmes ------------------------------------------------------------------
    def save_programme(self, programme: Programme) -> Programme:
        if programme.end <= programme.start:
            raise OutcomeError("项目", "结束时间应晚于开始时间")
        unknown = [s for s in programme.new_sites if s not in programme.sites]
        if unknown:
            raise OutcomeError("新设点", f"{'、'.join(unknown)}不在站点名单中")
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(programme_key(programme.id), json.dumps(asdict(programme), ensure_ascii=False))
        pipe.sadd(PROGRAMMES, programme.id)
        pipe.execute()
        return programme

    def programme(self, pid: str) -> Programme | None:
        raw = self._redis.get(programme_key(pid))
        return Programme(**json.loads(raw)) if raw else None

    def programmes(self) -> list[Programme]:
        ids = sorted(self._redis.smembers(PROGRAMMES))
        raws = self._redis.mget([programme_key(i) for i in ids]) if ids else []
        return sorted((Programme(**json.loads(r)) for r in raws if r), key=lambda p: (p.start, p.id))


def _outcome(raw: str | None) -> ActivityOutcome | None:
    return ActivityOutcome(**json.loads(raw)) if raw else None
