"""Job postings from the employment fairs: browse, search, interest, outcomes, alerts.

Rules, all decided here:
- a posting shows only while open and before its expiry (default 30 days after
  publishing); interest in an expired or filled one is refused with the reason;
- an employer only ever sees the people who registered interest in their posting
  (export is per posting);
- search is substring matching over title, employer, category and requirements
  (see README: why not a tokenizer);
- the alert digest goes to a subscriber at most once a day.

Keys live under the {jobs} hash tag; a user's own list under their tag.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum

from domain.keys import key, user_key
from domain.numbers import ShortNumbers

DEFAULT_DAYS = 30
OUTCOMES = ("registered", "contacted", "interviewed", "hired", "not_hired")
ALL = key("{jobs}", "all")  # zset: posting id -> published
VERSION = key("{jobs}", "version")  # bumped on every change: search caches reload
SUBSCRIBERS = key("{jobs}", "subscribers")  # hash: openid -> categories (JSON list; [] = all)
STAFF_STATUS = key("{jobs}", "staff_status")  # hash: posting id -> status staff set (kept over a file's)

_cache: dict = {"version": None, "postings": [], "index": []}


def posting_key(pid: str) -> str:
    return key("{jobs}", "posting", pid)


def interest_key(pid: str) -> str:
    return key("{jobs}", "interest", pid)  # zset: openid -> when


def notes_key(pid: str) -> str:
    return key("{jobs}", "notes", pid)  # hash: openid -> one-line note


def outcome_key(pid: str) -> str:
    return key("{jobs}", "outcome", pid)  # hash: openid -> outcome


def forgotten_key(pid: str) -> str:
    # hash: "interest" -> how many people who deleted their data had registered, outcome -> how many
    return key("{jobs}", "forgotten", pid)


class PostingState(StrEnum):
    OPEN = "open"
    FILLED = "filled"
    EXPIRED = "expired"


class Interest(StrEnum):
    """What registering interest came to."""

    OK = "ok"
    AGAIN = "again"  # registered before: the note was updated
    EXPIRED = "expired"
    FILLED = "filled"


@dataclass
class Posting:
    id: str
    employer: str
    title: str
    category: str
    salary: str
    place: str
    education: str
    experience: str
    headcount: int
    contact: str  # the employer's contact: for staff only, never shown to users
    published: float
    expires: float
    status: str = "open"  # as loaded or set by staff: open | filled (PostingState)
    fair: str = ""  # the job-fair event this posting belongs to
    description: str = ""
    number: int = 0

    def state(self, now: float) -> "PostingState":
        """Open, filled or expired, the expiry date applied."""
        if self.status == PostingState.OPEN and now >= self.expires:
            return PostingState.EXPIRED
        return PostingState(self.status)

    def haystack(self) -> str:
        return " ".join([self.title, self.employer, self.category, self.place, self.education, self.experience,
                         self.description]).lower()


class Jobs:
    def __init__(self, redis):
        self._redis = redis
        self._numbers = ShortNumbers(redis, "{jobs}")

    def save(self, p: Posting) -> Posting:
        p.number = self._numbers.assign(p.id)
        data = json.dumps(asdict(p), ensure_ascii=False)
        if self._redis.get(posting_key(p.id)) == data:
            return p  # unchanged: loading the same file again changes nothing
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(posting_key(p.id), data)
        pipe.zadd(ALL, {p.id: p.published})
        pipe.incr(VERSION)
        pipe.execute()
        return p

    def load_from_file(self, p: Posting) -> str | None:
        """Save a posting as a content file describes it; a status staff set since is kept
        (a reload must not put a filled posting back online). Returns the kept status, or None."""
        kept = self._redis.hget(STAFF_STATUS, p.id)
        if kept is not None and kept != p.status:
            p.status = kept
            self.save(p)
            return kept
        if kept is not None:  # the file now says what staff said: it is the file's again
            self._redis.hdel(STAFF_STATUS, p.id)
        self.save(p)
        return None

    def get(self, pid: str) -> Posting | None:
        raw = self._redis.get(posting_key(pid))
        return Posting(**json.loads(raw)) if raw else None

    def by_number(self, number) -> Posting | None:
        pid = self._numbers.lookup(number)
        return self.get(pid) if pid else None

    def all(self) -> list[Posting]:
        """Every posting, newest first; read once per change and kept in this process."""
        version = self._redis.get(VERSION)
        if version != _cache["version"] or version is None:
            ids = self._redis.zrevrange(ALL, 0, -1)
            raws = self._redis.mget([posting_key(i) for i in ids]) if ids else []
            _cache["postings"] = [Posting(**json.loads(r)) for r in raws if r]
            _cache["index"] = [(p.haystack(), p) for p in _cache["postings"]]
            _cache["version"] = version
        return _cache["postings"]

    def open(self, now: float, category: str | None = None) -> list[Posting]:
        return [p for p in self.all() if p.state(now) == "open" and (category is None or p.category == category)]

    def categories(self, now: float) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for p in self.open(now):
            counts[p.category] = counts.get(p.category, 0) + 1
        return sorted(counts.items(), key=lambda c: (-c[1], c[0]))

    def search(self, query: str, now: float) -> list[Posting]:
        """Open postings whose title, employer, category or requirements contain every word of query."""
        words = [w for w in query.lower().split() if w]
        if not words:
            return []
        self.all()  # refresh the cache if postings changed
        candidates = _cache["index"]
        for word in words:  # narrow word by word: plain comprehensions, no generator per posting
            candidates = [(hay, p) for hay, p in candidates if word in hay]
        found = [p for _, p in candidates if p.state(now) == "open"]
        return sorted(found, key=lambda p: MATCH_ORDER.index(matched_in(p, words)))  # stable: newest first within

    # -- interest ----------------------------------------------------------------
    def register_interest(self, p: Posting, openid: str, note: str, now: float) -> "Interest":
        """Register openid's interest in p (again: the note is updated); refused when p is not open."""
        state = p.state(now)
        if state != PostingState.OPEN:
            return Interest(state.value)
        pipe = self._redis.pipeline(transaction=True)
        pipe.zadd(interest_key(p.id), {openid: now}, nx=True)
        pipe.hsetnx(outcome_key(p.id), openid, "registered")
        if note:
            pipe.hset(notes_key(p.id), openid, note[:100])
        pipe.execute()
        added = self._redis.zadd(user_key(openid, "jobs"), {p.id: now}, nx=True)
        return Interest.OK if added else Interest.AGAIN

    def mine(self, openid: str) -> list[tuple[Posting, str]]:
        ids = self._redis.zrevrange(user_key(openid, "jobs"), 0, -1)
        out = []
        for pid in ids:
            p = self.get(pid)
            outcome = self._redis.hget(outcome_key(pid), openid) if p else None
            if p and outcome:
                out.append((p, outcome))
        return out

    def interested(self, pid: str) -> list[tuple[str, float, str, str]]:
        """[(openid, when, outcome, note)] for one posting, first come first."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrange(interest_key(pid), 0, -1, withscores=True)
        pipe.hgetall(outcome_key(pid))
        pipe.hgetall(notes_key(pid))
        rows, outcomes, notes = pipe.execute()
        return [(o, when, outcomes.get(o, "registered"), notes.get(o, "")) for o, when in rows]

    def set_status(self, p: Posting, status: str) -> Posting:
        """Staff mark a posting open or filled (a filled one no longer shows, and interest in it is refused);
        a later content load keeps what staff set."""
        if status not in ("open", "filled"):
            raise ValueError(f"status must be open or filled, not {status!r}")
        p.status = status
        self._redis.hset(STAFF_STATUS, p.id, p.status)
        return self.save(p)

    def interest_counts(self, pids: list[str]) -> dict[str, int]:
        """How many people registered interest in each posting, in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        for pid in pids:
            pipe.zcard(interest_key(pid))
        return dict(zip(pids, pipe.execute()))

    def set_outcome(self, pid: str, openid: str, outcome: str) -> bool:
        if outcome not in OUTCOMES or self._redis.zscore(interest_key(pid), openid) is None:
            return False
        self._redis.hset(outcome_key(pid), openid, outcome)
        return True

    def find_interested(self, pid: str, who: str, profiles) -> str | None:
        """The openid of the person interested in posting pid whose openid or mobile number is `who`."""
        interested = [o for o, *_ in self.interested(pid)]
        people = profiles.many(interested)
        return next((o for o in interested if who in (o, people[o].phone)), None)

    def withdraw_all(self, openid: str) -> int:
        """Remove the user from every posting's interest list (deleting their data); what they
        counted for (an interest, a hire) stays in the posting's figures, without them."""
        ids = self._redis.zrange(user_key(openid, "jobs"), 0, -1)
        outcomes = [self._redis.hget(outcome_key(pid), openid) for pid in ids]
        pipe = self._redis.pipeline(transaction=False)
        for pid, outcome in zip(ids, outcomes):
            if outcome is not None:
                pipe.hincrby(forgotten_key(pid), "interest", 1)
                pipe.hincrby(forgotten_key(pid), outcome, 1)
            pipe.zrem(interest_key(pid), openid)
            pipe.hdel(notes_key(pid), openid)
            pipe.hdel(outcome_key(pid), openid)
        pipe.delete(user_key(openid, "jobs"))
        pipe.execute()
        return len(ids)

    # -- alerts -------------------------------------------------------------------------
    def subscribe(self, openid: str, categories: list[str]) -> None:
        self._redis.hset(SUBSCRIBERS, openid, json.dumps(categories, ensure_ascii=False))

    def unsubscribe(self, openid: str) -> bool:
        return bool(self._redis.hdel(SUBSCRIBERS, openid))

    def subscription(self, openid: str) -> list[str] | None:
        raw = self._redis.hget(SUBSCRIBERS, openid)
        return None if raw is None else json.loads(raw)

    def subscription_count(self) -> int:
        return self._redis.hlen(SUBSCRIBERS)

    def iter_subscribers(self, batch: int = 500):
        for openid, raw in self._redis.hscan_iter(SUBSCRIBERS, count=batch):
            yield openid, json.loads(raw)

    def new_since(self, since: float, now: float, categories: list[str]) -> list[Posting]:
        return [p for p in self.open(now) if p.published > since and (not categories or p.category in categories)]

    # -- figures -----------------------------------------------------------------------
    def stats(self) -> dict:
        """Positions offered, interest registrations and hires, per category and per fair."""
        by_category: dict[str, list[int]] = {}
        by_fair: dict[str, list[int]] = {}
        for p in self.all():
            outcomes = list(self._redis.hvals(outcome_key(p.id)))
            gone = self._redis.hgetall(forgotten_key(p.id))  # people who deleted their data since
            row = [p.headcount, len(outcomes) + int(gone.get("interest", 0)),
                   outcomes.count("hired") + int(gone.get("hired", 0)), 1]
            for table, name in ((by_category, p.category), (by_fair, p.fair or "-")):
                totals = table.setdefault(name, [0, 0, 0, 0])
                for i, v in enumerate(row):
                    totals[i] += v
        return {"category": by_category, "fair": by_fair}


# Where a search's words were found, best first: a posting whose title holds them
# is what was asked for; one found through its category or employer is listed
# after, saying so (`搜 司机` finds 仓库分拣员 through the category 物流司机).
MATCH_ORDER = ("title", "employer", "category", "place", "requirements")


def matched_in(p: Posting, words: list[str]) -> str:
    """The first field of MATCH_ORDER that holds every word, else "requirements" (they are spread out)."""
    fields = {"title": p.title, "employer": p.employer, "category": p.category, "place": p.place}
    for name in MATCH_ORDER[:-1]:
        if all(w in fields[name].lower() for w in words):
            return name
    return "requirements"


def default_expiry(published: float) -> float:
    return published + DEFAULT_DAYS * 86400
