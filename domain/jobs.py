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
import secrets
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from domain import clock
from domain.keys import key, user_key
from domain.numbers import ShortNumbers
from domain.userwrites import APPLY_LUA, one_server, take_for
from domain.scripting import register

DEFAULT_DAYS = 30
OUTCOMES = ("registered", "contacted", "interviewed", "hired", "not_hired")
ALL = key("{jobs}", "all")  # zset: posting id -> published
VERSION = key("{jobs}", "version")  # a new random token on every change: search caches reload (a counter
# would repeat itself after the store is emptied or restored, and a process would keep the old postings)
SUBSCRIBERS = key("{jobs}", "subscribers")  # hash: openid -> categories (JSON list; [] = all)
STAFF_STATUS = key("{jobs}", "staff_status")  # hash: posting id -> status staff set (kept over a file's)
LIVE = key("{jobs}", "live")  # zset: posting id -> expires, for postings open as loaded or set (the chat reads these)
CATEGORIES = key("{jobs}", "categories")  # set: every category a posting has had (订阅岗位 checks against it)

# Register interest in one call. KEYS: 1 interest zset, 2 outcome hash, 3 notes hash; on one server also
# 4 the user's yb:{u:<openid>}:jobs and, from 5, the keys of the user's held writes (domain/userwrites.py).
# ARGV: 1 openid, 2 now, 3 note ('' for none), 4 posting id, 5 the held writes. Returns 1 when the
# interest is new (the user's list, or on a Cluster the posting's, did not hold it), else 0.
_INTEREST = APPLY_LUA + """
if KEYS[4] then apply_ops(ARGV[5], 4) end
local added = redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
redis.call('HSETNX', KEYS[2], ARGV[1], 'registered')
if ARGV[3] ~= '' then redis.call('HSET', KEYS[3], ARGV[1], ARGV[3]) end
if KEYS[4] then added = redis.call('ZADD', KEYS[4], 'NX', ARGV[2], ARGV[4]) end
return added
"""

_cache: dict = {"version": None, "postings": [], "index": []}
# The chat's postings: the live ones only, read once per change and kept in each process; one that expires is
# dropped from the process's copy when its time comes, without reading the store again.
_live: dict = {"version": None, "postings": [], "index": [], "loaded": 0.0, "next_expiry": float("inf")}


def posting_key(pid: str) -> str:
    return key("{jobs}", "posting", pid)


def interest_key(pid: str) -> str:
    return key("{jobs}", "interest", pid)  # zset: openid -> when


def notes_key(pid: str) -> str:
    return key("{jobs}", "notes", pid)  # hash: openid -> one-line note


def outcome_key(pid: str) -> str:
    return key("{jobs}", "outcome", pid)  # hash: openid -> outcome


def hired_key(pid: str) -> str:
    return key("{jobs}", "hired_at", pid)  # hash: openid -> when they were marked hired


def forgotten_times_key(pid: str) -> str:
    # zset: "interest:<token>" / "hired:<token>" -> when, for people who deleted their data (one token a person,
    # no openid): what they counted for still counts in the period it happened in
    return key("{jobs}", "forgotten_at", pid)


def forgotten_key(pid: str) -> str:
    # hash: "interest" -> how many people who deleted their data had registered, outcome -> how many
    return key("{jobs}", "forgotten", pid)


class PostingState(StrEnum):
    OPEN = "open"
    FILLED = "filled"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # taken back by staff (posted by mistake, the employer pulled it): interest kept


class Interest(StrEnum):
    """What registering interest came to."""

    OK = "ok"
    AGAIN = "again"  # registered before: the note was updated
    EXPIRED = "expired"
    FILLED = "filled"
    WITHDRAWN = "withdrawn"


STAFF_STATUSES = ("open", "filled", "withdrawn")


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
    status: str = "open"  # as loaded or set by staff: open | filled | withdrawn (PostingState)
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
        self._interest = register(redis, _INTEREST)

    def save(self, p: Posting) -> Posting:
        p.number = self._numbers.assign(p.id)
        data = json.dumps(asdict(p), ensure_ascii=False)
        if self._redis.get(posting_key(p.id)) == data:
            return p  # unchanged: loading the same file again changes nothing
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(posting_key(p.id), data)
        pipe.zadd(ALL, {p.id: p.published})
        if p.status == PostingState.OPEN:
            pipe.zadd(LIVE, {p.id: p.expires})
        else:
            pipe.zrem(LIVE, p.id)
        pipe.sadd(CATEGORIES, p.category)
        pipe.set(VERSION, secrets.token_hex(8))
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

    def live(self, now: float) -> list[Posting]:
        """The postings open and not expired at now, newest first: the chat's postings (not every one there has
        been). Read from LIVE once per change; expired ones leave this process's copy as their time comes."""
        version = self._redis.get(VERSION)
        if version != _live["version"] or version is None or now < _live["loaded"]:
            ids = self._redis.zrangebyscore(LIVE, f"({now}", "+inf")
            raws = self._redis.mget([posting_key(i) for i in ids]) if ids else []
            postings = sorted((Posting(**json.loads(r)) for r in raws if r), key=lambda p: (p.published, p.id),
                              reverse=True)
            _live.update(version=version, loaded=now, postings=postings)
        elif now >= _live["next_expiry"]:
            _live["postings"] = [p for p in _live["postings"] if p.expires > now]
        else:
            return _live["postings"]
        _live["index"] = [(p.haystack(), p) for p in _live["postings"]]
        _live["next_expiry"] = min((p.expires for p in _live["postings"]), default=float("inf"))
        return _live["postings"]

    def open(self, now: float, category: str | None = None) -> list[Posting]:
        return [p for p in self.live(now) if p.state(now) == "open" and (category is None or p.category == category)]

    def known_categories(self) -> set[str]:
        """Every category a posting has had, open or not."""
        return self._redis.smembers(CATEGORIES)

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
        self.live(now)  # refresh this process's copy if postings changed
        candidates = _live["index"]
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
        # One script call on one server: the posting's lists, the user's own list and the user's held writes
        # (the flow the note ended). On a Redis Cluster, one call per slot: the posting's, then the user's.
        keys = [interest_key(p.id), outcome_key(p.id), notes_key(p.id)]
        held_keys, held_ops = take_for(self._redis, openid)
        args = [openid, repr(now), note[:100], p.id, held_ops]
        if one_server(self._redis):
            added = self._interest(keys=keys + [user_key(openid, "jobs")] + held_keys, args=args)
        else:
            self._interest(keys=keys, args=args)
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
        """Staff mark a posting open, filled or withdrawn (a filled or withdrawn one no longer shows, and interest
        in it is refused; the interest registered stays, for the figures and the employer's list);
        a later content load keeps what staff set."""
        if status not in STAFF_STATUSES:
            raise ValueError(f"status must be one of {', '.join(STAFF_STATUSES)}, not {status!r}")
        p.status = status
        self._redis.hset(STAFF_STATUS, p.id, p.status)
        return self.save(p)

    def interest_counts(self, pids: list[str]) -> dict[str, int]:
        """How many people registered interest in each posting, in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        for pid in pids:
            pipe.zcard(interest_key(pid))
        return dict(zip(pids, pipe.execute()))

    def outcome_of(self, pid: str, openid: str) -> str:
        """The outcome staff recorded for this person's interest ('' when none)."""
        return self._redis.hget(outcome_key(pid), openid) or ""

    def set_outcome(self, pid: str, openid: str, outcome: str, now: float | None = None) -> bool:
        """Record what interest came to; a hire keeps the time it was first recorded (the report counts it then)."""
        if outcome not in OUTCOMES or self._redis.zscore(interest_key(pid), openid) is None:
            return False
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(outcome_key(pid), openid, outcome)
        if outcome == "hired":
            pipe.hsetnx(hired_key(pid), openid, repr(clock.now() if now is None else now))
        else:
            pipe.hdel(hired_key(pid), openid)
        pipe.execute()
        return True

    def outcomes_over_time(self, pids: list[str]) -> dict[str, "PostingOutcomes"]:
        """For each posting: who registered interest and who was hired, and when (people who deleted their data
        as anonymous tokens; hires and forgotten counts recorded before times were kept: legacy counts)."""
        pipe = self._redis.pipeline(transaction=False)
        for pid in pids:
            pipe.zrange(interest_key(pid), 0, -1, withscores=True)
            pipe.hgetall(outcome_key(pid))
            pipe.hgetall(hired_key(pid))
            pipe.zrange(forgotten_times_key(pid), 0, -1, withscores=True)
            pipe.hgetall(forgotten_key(pid))
        raw = pipe.execute()
        out = {}
        for i, pid in enumerate(pids):
            interest, outcomes, hired_at, gone, gone_counts = raw[5 * i: 5 * i + 5]
            o = PostingOutcomes(interest=[(who, when) for who, when in interest])
            for who, outcome in outcomes.items():
                if outcome == "hired":
                    o.hired.append((who, float(hired_at[who]) if who in hired_at else None))
            timed = {"interest": 0, "hired": 0}
            for member, when in gone:
                what, _, token = member.partition(":")
                if what in timed:
                    timed[what] += 1
                    (o.interest if what == "interest" else o.hired).append((f"gone:{token}", when))
            for what in timed:  # deleted before their times were kept: counted, with no time
                for n in range(int(gone_counts.get(what, 0)) - timed[what]):
                    entry = (f"gone:{pid}:{what}:{n}", None)
                    (o.interest if what == "interest" else o.hired).append(entry)
            o.interest.sort(key=lambda e: (e[1] is None, e[1] or 0, e[0]))
            o.hired.sort(key=lambda e: (e[1] is None, e[1] or 0, e[0]))
            out[pid] = o
        return out

    def find_interested(self, pid: str, who: str, profiles) -> str | None:
        """The openid of the person interested in posting pid whose openid or mobile number is `who`."""
        interested = [o for o, *_ in self.interested(pid)]
        people = profiles.many(interested)
        return next((o for o in interested if who in (o, people[o].phone)), None)

    def withdraw_all(self, openid: str) -> int:
        """Remove the user from every posting's interest list (deleting their data); what they
        counted for (an interest, a hire) stays in the posting's figures, without them."""
        ids = self._redis.zrange(user_key(openid, "jobs"), 0, -1)
        read = self._redis.pipeline(transaction=False)
        for pid in ids:
            read.hget(outcome_key(pid), openid)
            read.zscore(interest_key(pid), openid)
            read.hget(hired_key(pid), openid)
        raw = read.execute()
        token = secrets.token_hex(8)  # the same for all of this person's postings: distinct counts stay right
        # one MULTI in the {jobs} slot: the counts move and the person leaves together, so a deletion killed and
        # run again never counts twice (what has no outcome left is not counted again); the user's list after
        pipe = self._redis.pipeline(transaction=True)
        for i, pid in enumerate(ids):
            outcome, interested_at, hired_at = raw[3 * i: 3 * i + 3]
            if outcome is not None:
                pipe.hincrby(forgotten_key(pid), "interest", 1)
                pipe.hincrby(forgotten_key(pid), outcome, 1)
                if interested_at is not None:
                    pipe.zadd(forgotten_times_key(pid), {f"interest:{token}": interested_at})
                if outcome == "hired" and hired_at is not None:
                    pipe.zadd(forgotten_times_key(pid), {f"hired:{token}": float(hired_at)})
            pipe.zrem(interest_key(pid), openid)
            pipe.hdel(notes_key(pid), openid)
            pipe.hdel(outcome_key(pid), openid)
            pipe.hdel(hired_key(pid), openid)
        pipe.execute()
        self._redis.delete(user_key(openid, "jobs"))
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
        """Positions offered, interest registrations and hires, per category and per fair. A withdrawn posting
        offered nothing (its places and itself are not counted); the interest it drew and its hires are."""
        by_category: dict[str, list[int]] = {}
        by_fair: dict[str, list[int]] = {}
        for p in self.all():
            outcomes = list(self._redis.hvals(outcome_key(p.id)))
            gone = self._redis.hgetall(forgotten_key(p.id))  # people who deleted their data since
            offered = p.status != PostingState.WITHDRAWN
            row = [p.headcount if offered else 0, len(outcomes) + int(gone.get("interest", 0)),
                   outcomes.count("hired") + int(gone.get("hired", 0)), int(offered)]
            for table, name in ((by_category, p.category), (by_fair, p.fair or "-")):
                totals = table.setdefault(name, [0, 0, 0, 0])
                for i, v in enumerate(row):
                    totals[i] += v
        return {"category": by_category, "fair": by_fair}


@dataclass
class PostingOutcomes:
    """Interest in one posting and its hires, each (who, when): who is an openid, or "gone:<token>" for a
    person who deleted their data; when is None for a hire or a deletion recorded before times were kept."""

    interest: list[tuple[str, float | None]] = field(default_factory=list)
    hired: list[tuple[str, float | None]] = field(default_factory=list)


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


def build_index(redis, start: int, batch: int = 500) -> int:
    """Note a batch of postings (offset start, newest first) in LIVE and CATEGORIES; return the next offset, 0 when
    done. Run once by domain/indexes.py for a store written before the index existed."""
    ids = redis.zrevrange(ALL, start, start + batch - 1)
    postings = [Posting(**json.loads(r)) for r in (redis.mget([posting_key(i) for i in ids]) if ids else []) if r]
    pipe = redis.pipeline(transaction=False)
    live = {p.id: p.expires for p in postings if p.status == PostingState.OPEN}
    if live:
        pipe.zadd(LIVE, live)
    if postings:
        pipe.sadd(CATEGORIES, *{p.category for p in postings})
        pipe.set(VERSION, secrets.token_hex(8))  # processes read the postings again
    pipe.execute()
    return start + batch if len(ids) == batch else 0


def default_expiry(published: float) -> float:
    return published + DEFAULT_DAYS * 86400
