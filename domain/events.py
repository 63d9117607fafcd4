"""Volunteer events: occurrences, sign-ups with capacity and a waitlist, check-in and hours.

Rules, all decided here:
- every sign-up and cancellation is one Lua script on the occurrence's keys, so
  under any concurrency the confirmed count never exceeds capacity, a user holds
  at most one place per occurrence, and the waitlist is first come, first served;
- a cancellation before the cut-off frees the place and promotes the first on
  the waitlist in the same step;
- hours run from check-in to check-out, capped at the event's length; a stay
  shorter than 60% of the event earns none; a check-out before the start is
  refused (a mis-scan, never final).

Each occurrence's keys share the hash tag {ev:<occurrence id>}; the index of
all occurrences and their short numbers live under {events}.
"""
from __future__ import annotations

import json
import secrets
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from domain import clock
from domain.keys import key, user_key
from domain.numbers import ShortNumbers
from domain.scripting import register
from domain.userwrites import APPLY_LUA, one_server, take_for

MIN_SHARE_FOR_HOURS = 0.6
CHECKIN_OPENS_BEFORE = 3600  # seconds before the start that check-in is accepted
INDEX = key("{events}", "by_start")  # zset: occurrence id -> start
CODES = key("{events}", "codes")  # hash: check-in code -> occurrence id


# Scene strings of the check-in screen's WeChat QR codes: "ci:<code>" checks in, "co:<code>" checks out.
SCENES = {"ci": "checkin", "co": "checkout"}


def scene_for(action: str, code: str) -> str:
    return {v: k for k, v in SCENES.items()}[action] + ":" + code


def parse_scene(scene: str) -> tuple[str, str] | None:
    """("checkin"|"checkout", code) from a QR scene (a follow through a code carries "qrscene_"), or None."""
    scene = (scene or "").removeprefix("qrscene_")
    prefix, _, code = scene.partition(":")
    return (SCENES[prefix], code) if prefix in SCENES and code.isdigit() else None


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def occ_key(occ_id: str, part: str) -> str:
    return key("{ev:%s}" % occ_id, part)


@dataclass
class Occurrence:
    id: str  # "<event id>@<YYYYMMDD>"
    event_id: str
    title: str
    description: str
    place: str
    start: float
    end: float
    capacity: int
    signup_deadline: float
    cancel_cutoff: float
    requirements: dict = field(default_factory=dict)  # min_age, students_only
    tags: list = field(default_factory=list)
    status: str = "open"  # open | cancelled
    number: int = 0
    kind: str = "volunteer"  # volunteer | job_fair
    category: str = ""  # what the committee reports it under: 敬老, 护河, 洁城, 四点半课堂, 希望家园, 义诊, 捐赠, 招聘会, …
    programme: str = ""  # the programme it belongs to (domain/outcomes.py: Programme), if any
    site: str = ""  # the programme's site it takes place at

    @property
    def minutes(self) -> int:
        return int((self.end - self.start) // 60)

    def overlaps(self, other: "Occurrence") -> bool:
        return self.start < other.end and other.start < self.end


class BookingStatus(StrEnum):
    """What a sign-up came to (the values are what the sign-up script returns)."""

    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    ALREADY_CONFIRMED = "already_confirmed"
    ALREADY_WAITLISTED = "already_waitlisted"
    CLOSED = "closed"
    OVERLAP = "overlap"  # the user holds a place at the same time (detail: that event's title)


class Place(StrEnum):
    """Where a person stands on an event."""

    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    NONE = "none"


@dataclass
class Booking:
    status: BookingStatus
    position: int = 0
    detail: str = ""


@dataclass
class FileLoad:
    """What loading one occurrence from a content file did."""

    occ: Occurrence
    moved_from: float | None = None  # the file moved it: people signed up must be told
    # field -> (the staff's value, kept; what the file says; whether the file changed it since staff did)
    kept: dict = field(default_factory=dict)


@dataclass
class Refusal:
    reason: str  # past | closed | cancelled | requirement_age | requirement_student | overlap | unknown
    detail: str = ""


# One sign-up, checked and written in one call.
# KEYS: 1 confirmed zset, 2 waitlist zset, 3 meta hash; on one server also 4 the user's sign-ups index
# (yb:{u:<openid>}:signups) and, from 5, the keys of the user's held writes (domain/userwrites.py).
# ARGV: 1 openid; on one server also 2 now, 3 occurrence id, 4 its start, 5 its end, 6 the held writes,
# 7 and 8 what an occurrence's key is made of around its id ("yb:{ev:", "}:").
# With the index (one server) the script also refuses a place at the same time as one the user holds
# (the overlap check reads the other occurrences' keys: only a single server may) and indexes the new one.
# Returns {status, position[, the overlapping event's title]}.
_SIGN_UP = APPLY_LUA + """
if KEYS[4] then apply_ops(ARGV[6], 4) end
if redis.call('HGET', KEYS[3], 'status') ~= 'open' then return {'closed', 0} end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return {'already_confirmed', redis.call('ZRANK', KEYS[1], ARGV[1]) + 1}
end
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  return {'already_waitlisted', redis.call('ZRANK', KEYS[2], ARGV[1]) + 1}
end
if KEYS[4] then
  local start, finish = tonumber(ARGV[4]), tonumber(ARGV[5])
  for _, other in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], ARGV[2], '(' .. ARGV[5])) do
    if other ~= ARGV[3] then
      local k = ARGV[7] .. other .. ARGV[8]
      local row = redis.call('HMGET', k .. 'meta', 'status', 'data')
      local holds = redis.call('ZSCORE', k .. 'confirmed', ARGV[1]) or redis.call('ZSCORE', k .. 'waitlist', ARGV[1])
      if holds and row[2] then  -- the index may hold a stale entry: the places themselves decide
        local occ = cjson.decode(row[2])
        if (row[1] or occ['status']) == 'open' and occ['start'] < finish and start < occ['end'] then
          return {'overlap', 0, occ['title']}
        end
      end
    end
  end
end
local seq = redis.call('HINCRBY', KEYS[3], 'seq', 1)
local status, position
if redis.call('ZCARD', KEYS[1]) < tonumber(redis.call('HGET', KEYS[3], 'capacity')) then
  redis.call('ZADD', KEYS[1], seq, ARGV[1])
  status, position = 'confirmed', redis.call('ZCARD', KEYS[1])
else
  redis.call('ZADD', KEYS[2], seq, ARGV[1])
  status, position = 'waitlisted', redis.call('ZCARD', KEYS[2])
end
if KEYS[4] then redis.call('ZADD', KEYS[4], ARGV[4], ARGV[3]) end
return {status, position}
"""

# Give up a place or a waitlist position; the first on the waitlist takes a freed place. Returns {was, promoted
# openid or ''}. KEYS: 1 confirmed, 2 waitlist, 3 meta; on one server also 4 the user's sign-ups index and 5 the
# outbox queue. ARGV: 1 openid; on one server also 2 occurrence id, 3 the promotion notice as the outbox queues it
# (openid and idempotency key completed here; '' for none), 4 the outbox's seen-key prefix, 5 its expiry.
# On one server the user leaves the index and the promoted volunteer's notice is queued (once) in the same step.
_CANCEL = """
local was, promoted = 'none', ''
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then
  was = 'waitlisted'
elseif redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  was = 'confirmed'
  local cap = tonumber(redis.call('HGET', KEYS[3], 'capacity'))
  if redis.call('HGET', KEYS[3], 'status') == 'open' and redis.call('ZCARD', KEYS[1]) < cap then
    local first = redis.call('ZPOPMIN', KEYS[2])
    if first[1] then
      redis.call('ZADD', KEYS[1], first[2], first[1])
      promoted = first[1]
    end
  end
end
if KEYS[4] then
  redis.call('ZREM', KEYS[4], ARGV[2])
  if promoted ~= '' and ARGV[3] ~= '' then
    local item = cjson.decode(ARGV[3])
    item['openid'] = promoted
    item['key'] = item['key'] .. promoted
    if redis.call('SET', ARGV[4] .. item['key'], '1', 'NX', 'EX', ARGV[5]) then
      local payload = cjson.encode(item)
      redis.call('RPUSH', KEYS[5], payload)
      redis.call('SADD', ARGV[6] .. promoted, payload)
    end
  end
end
return {was, promoted}
"""

# KEYS: confirmed, waitlist, meta. Fill places freed by a raised capacity from the
# waitlist, first come first served; returns the openids promoted.
_FILL = """
if redis.call('HGET', KEYS[3], 'status') ~= 'open' then return {} end
local cap = tonumber(redis.call('HGET', KEYS[3], 'capacity'))
local promoted = {}
while redis.call('ZCARD', KEYS[1]) < cap do
  local first = redis.call('ZPOPMIN', KEYS[2])
  if not first[1] then break end
  redis.call('ZADD', KEYS[1], first[2], first[1])
  table.insert(promoted, first[1])
end
return promoted
"""


# KEYS: 1 confirmed, 2 check-in hash; on one server also 3 the user's yb:{u:<openid>}:checked_in.
# ARGV: 1 openid, 2 now, 3 occurrence id, 4 how long checked_in is kept (s). Returns the outcome.
_CHECK_IN = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 'not_signed_up' end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 'already' end
if KEYS[3] then redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4]) end
return 'ok'
"""

# KEYS: 1 check-out hash, 2 minutes hash; on one server also 3 the user's served zset, 4 checked_in, 5 checked_out.
# ARGV: 1 openid, 2 now, 3 minutes credited, 4 occurrence id, 5 how long checked_out is kept (s).
# Returns {outcome, minutes}: a second check-out is 'already', with what the first credited.
_CHECK_OUT = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return {'already', tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or 0)}
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if KEYS[3] then
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
  redis.call('DEL', KEYS[4])
  redis.call('SET', KEYS[5], ARGV[4], 'EX', ARGV[5])
end
return {'ok', tonumber(ARGV[3])}
"""

ATTENDANCE_MEMORY = 24 * 3600  # how long "checked in at" / "checked out of" is kept for the user's 签退

_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class Events:
    def __init__(self, redis):
        self._redis = redis
        self._sign_up = register(redis, _SIGN_UP)
        self._cancel = register(redis, _CANCEL)
        self._fill = register(redis, _FILL)
        self._check_in = register(redis, _CHECK_IN)
        self._check_out = register(redis, _CHECK_OUT)
        self._numbers = ShortNumbers(redis, "{events}")

    # -- occurrences ------------------------------------------------------------
    def save(self, occ: Occurrence) -> Occurrence:
        """Create or update an occurrence; its number, code and sign-ups are kept (and their index
        follows a new start, so 我的报名 and reminders see the event where it now is)."""
        occ.number = self._numbers.assign(occ.id)
        meta = occ_key(occ.id, "meta")
        status, old = self._redis.hmget(meta, "status", "data")
        occ.status = status if status == "cancelled" else occ.status
        pipe = self._redis.pipeline(transaction=False)  # two hash tags: no MULTI on a cluster
        pipe.hset(meta, mapping={"data": json.dumps(asdict(occ), ensure_ascii=False), "capacity": occ.capacity,
                                 "status": occ.status})
        pipe.zadd(INDEX, {occ.id: occ.start})
        pipe.execute()
        if not self._redis.hget(meta, "code"):
            self._assign_code(occ.id)
        if old and json.loads(old)["start"] != occ.start:
            for openid in self.confirmed(occ.id) + self.waitlist(occ.id):
                self._redis.zadd(user_key(openid, "signups"), {occ.id: occ.start})
        return occ

    def load_from_file(self, occ: Occurrence) -> "FileLoad":
        """Save an occurrence as a content file describes it, keeping what staff changed since.

        A staff change (a move, an edit in the console) wins over the file: the
        file still holds the old value, and loading it again must not silently
        undo the change. The file's other details are taken, the staff's values
        kept, and the result says which. When the file comes to say what staff
        chose, that field is the file's again."""
        meta = occ_key(occ.id, "meta")
        stored, raw = self.get(occ.id), self._redis.hget(meta, "staff")
        overrides = json.loads(raw) if raw else {}  # field -> what the file said when staff changed it
        kept: dict[str, tuple] = {}
        if stored is not None:
            for name, file_then in overrides.items():
                file_now, staff_value = getattr(occ, name), getattr(stored, name)
                if file_now != staff_value:
                    kept[name] = (staff_value, file_now, file_now != file_then)
        moved_from = stored.start if stored and stored.start != occ.start and "start" not in kept else None
        if "start" in kept:  # the staff's time, with the file's length and deadlines around it
            shift = stored.start - occ.start
            occ.start, occ.end = occ.start + shift, occ.end + shift
            occ.signup_deadline += shift
            occ.cancel_cutoff += shift
        for name, (staff_value, _, _) in kept.items():
            setattr(occ, name, staff_value)
        self.save(occ)
        if kept:
            self._redis.hset(meta, "staff", json.dumps({n: f for n, (_, f, _) in kept.items()}, ensure_ascii=False))
        elif raw:
            self._redis.hdel(meta, "staff")
        if moved_from is not None:
            self._redis.hincrby(meta, "version", 1)
        return FileLoad(occ, moved_from, kept)

    def note_staff_change(self, occ: Occurrence, names) -> None:
        """Remember, before staff change these fields, what the file said: a later load keeps the staff's values."""
        meta = occ_key(occ.id, "meta")
        raw = self._redis.hget(meta, "staff")
        overrides = json.loads(raw) if raw else {}
        for name in names:
            overrides.setdefault(name, getattr(occ, name))
        self._redis.hset(meta, "staff", json.dumps(overrides, ensure_ascii=False))

    def _assign_code(self, occ_id: str) -> None:
        while True:
            code = f"{secrets.randbelow(10**6):06d}"
            if self._redis.hsetnx(CODES, code, occ_id):
                self._redis.hset(occ_key(occ_id, "meta"), "code", code)
                return

    def get(self, occ_id: str) -> Occurrence | None:
        return _occurrence(*_read_occurrence(self._redis, occ_id))

    def get_many(self, occ_ids: list[str]) -> list[Occurrence | None]:
        """Several occurrences in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        for occ_id in occ_ids:
            _read_occurrence(pipe, occ_id)
        return [_occurrence(*row) for row in pipe.execute()]

    def by_number(self, number: int | str) -> Occurrence | None:
        occ_id = self._numbers.lookup(number)
        return self.get(occ_id) if occ_id else None

    def upcoming(self, now: float, kind: str = "volunteer") -> list[Occurrence]:
        """Open occurrences that have not started, soonest first."""
        ids = self._redis.zrangebyscore(INDEX, now, "+inf")
        return [o for o in self.get_many(ids) if o and o.status == "open" and o.kind == kind]

    def between(self, start: float, end: float, kind: str | None = None) -> list[Occurrence]:
        """Occurrences (cancelled ones too) starting in [start, end), soonest first; kind None: any."""
        ids = self._redis.zrangebyscore(INDEX, start, f"({end}" if end != float("inf") else "+inf")
        return [o for o in self.get_many(ids) if o and (kind is None or o.kind == kind)]

    def past(self, now: float, days: int = 60, kind: str = "volunteer") -> list[Occurrence]:
        """Occurrences that started in the last `days` days, latest first (cancelled ones included)."""
        ids = self._redis.zrevrangebyscore(INDEX, now, now - days * 86400)
        return [o for o in self.get_many(ids) if o and o.kind == kind]

    def counts(self, occ_id: str) -> tuple[int, int]:
        """(confirmed, waitlisted)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.zcard(occ_key(occ_id, "confirmed"))
        pipe.zcard(occ_key(occ_id, "waitlist"))
        return tuple(pipe.execute())

    def version(self, occ_id: str) -> int:
        """How many times staff moved the occurrence: part of every once-only key about its time,
        so a move back to an earlier time is announced (and reminded) again."""
        return int(self._redis.hget(occ_key(occ_id, "meta"), "version") or 0)

    def code(self, occ_id: str) -> str:
        return self._redis.hget(occ_key(occ_id, "meta"), "code")

    # -- sign-up and cancellation -------------------------------------------------
    def check(self, occ: Occurrence, openid: str, profile, now: float,
              upcoming: list[str] | None = None) -> Refusal | None:
        """Why openid may not sign up for occ now, or None when they may (`upcoming`: see mine())."""
        if occ.status == "cancelled":
            return Refusal("cancelled")
        if occ.start <= now:
            return Refusal("past")
        if occ.signup_deadline <= now:
            return Refusal("closed")
        req = occ.requirements or {}
        if req.get("min_age") and profile.birth_year and \
                time.localtime(occ.start).tm_year - profile.birth_year < int(req["min_age"]):
            return Refusal("requirement_age", str(req["min_age"]))
        if req.get("students_only") and profile.student is False:
            return Refusal("requirement_student")
        for other in self.mine(openid, now, upcoming):
            if other.id != occ.id and other.overlaps(occ):
                return Refusal("overlap", other.title)
        return None

    def sign_up(self, occ: Occurrence, openid: str, now: float | None = None) -> Booking:
        """Take a place or a waitlist position, atomically; refused (OVERLAP) when the user holds
        a place at the same time.

        On one server this is one script call: the overlap check, the booking, the user's index and
        the user's held writes (domain/userwrites.py) together. On a Redis Cluster the occurrence and
        the user's index live in different slots: the overlap check and the booking run under the
        user's lock, so two sign-ups sent at once for same-time events cannot both pass the check."""
        now = time.time() if now is None else now
        held_keys, held_ops = take_for(self._redis, openid)  # on a Cluster: sent already, in their own call
        if one_server(self._redis):
            prefix, suffix = occ_key("\0", "").split("\0")
            row = self._sign_up(keys=self._keys(occ.id) + [user_key(openid, "signups")] + held_keys,
                                args=[openid, repr(now), occ.id, repr(occ.start), repr(occ.end), held_ops,
                                      prefix, suffix])
            return Booking(BookingStatus(row[0]), int(row[1]), row[2] if len(row) > 2 else "")
        with self._user_lock(openid):
            for other in self.mine(openid, now):
                if other.id != occ.id and other.overlaps(occ):
                    return Booking(BookingStatus.OVERLAP, 0, other.title)
            self._redis.zadd(user_key(openid, "signups"), {occ.id: occ.start})  # before: a crash leaves a stale entry, never a lost one
            status, position = self._sign_up(keys=self._keys(occ.id), args=[openid])
            if status == BookingStatus.CLOSED:
                self._redis.zrem(user_key(openid, "signups"), occ.id)
            return Booking(BookingStatus(status), int(position))

    @contextmanager
    def _user_lock(self, openid: str, ttl_ms: int = 5000, wait: float = 3.0):
        """One sign-up at a time per user (a Redis lock with an expiry, released only by its holder)."""
        lock, token = user_key(openid, "signup_lock"), secrets.token_hex(8)
        deadline = time.monotonic() + wait
        while not self._redis.set(lock, token, nx=True, px=ttl_ms):
            if time.monotonic() > deadline:
                break  # a holder that died: its lock expires within ttl; go on rather than fail the user
            time.sleep(0.01)
        try:
            yield
        finally:
            self._redis.eval(_RELEASE, 1, lock, token)

    def cancel(self, occ: Occurrence, openid: str, notice=None) -> tuple[Place, str | None]:
        """Give up a place or a waitlist position; return (what it was, openid promoted or None).

        notice (domain/outbox.Prepared): what to queue, once, for the volunteer promoted from the waitlist.
        On one server the cancellation, the promotion, the user's index and that notice are one script
        call; on a Redis Cluster one call per slot (the occurrence's, the user's, the outbox's), in that order."""
        if one_server(self._redis):
            keys = self._keys(occ.id) + [user_key(openid, "signups")] + ([notice.queue] if notice else [])
            args = [openid, occ.id] + ([notice.item(), notice.seen_prefix, notice.ttl, notice.queued_of_prefix]
                                       if notice else [""])
            was, promoted = self._cancel(keys=keys, args=args)
            return Place(was), promoted or None
        was, promoted = self._cancel(keys=self._keys(occ.id), args=[openid])
        self._redis.zrem(user_key(openid, "signups"), occ.id)
        if promoted and notice is not None:
            notice.send_to(promoted)
        return Place(was), promoted or None

    def status_of(self, occ_id: str, openid: str) -> tuple[Place, int]:
        """(CONFIRMED, place) | (WAITLISTED, position) | (NONE, 0)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrank(occ_key(occ_id, "confirmed"), openid)
        pipe.zrank(occ_key(occ_id, "waitlist"), openid)
        return _place(*pipe.execute())

    def before_sign_up(self, occ_id: str, openid: str, now: float,
                       profiles) -> tuple[tuple[Place, int], object, list[str]]:
        """What a sign-up reads before its write, in one round trip: status_of(), the person's profile (through
        `profiles`, domain/profiles.py) and the ids of their upcoming sign-ups (for check(..., upcoming=))."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrank(occ_key(occ_id, "confirmed"), openid)
        pipe.zrank(occ_key(occ_id, "waitlist"), openid)
        pipe.zrangebyscore(user_key(openid, "signups"), now, "+inf")
        profile_of = profiles.queue_get(pipe, openid)
        confirmed, waiting, upcoming, stored = pipe.execute()
        return _place(confirmed, waiting), profile_of(stored), upcoming

    def mine(self, openid: str, now: float, upcoming: list[str] | None = None) -> list[Occurrence]:
        """The user's upcoming occurrences where they hold a place or a waitlist position (`upcoming`: the ids of
        their sign-ups index from now on, when read already)."""
        ids = self._redis.zrangebyscore(user_key(openid, "signups"), now, "+inf") if upcoming is None else upcoming
        if not ids:
            return []
        pipe = self._redis.pipeline(transaction=False)  # the places and the occurrences: one round trip
        for occ_id in ids:  # the index may hold a stale entry (see sign_up): check the places themselves
            pipe.zscore(occ_key(occ_id, "confirmed"), openid)
            pipe.zscore(occ_key(occ_id, "waitlist"), openid)
        for occ_id in ids:
            _read_occurrence(pipe, occ_id)
        rows = pipe.execute()
        held, occs = rows[:2 * len(ids)], [_occurrence(*row) for row in rows[2 * len(ids):]]
        return [occ for i, occ in enumerate(occs)
                if occ and occ.status == "open" and (held[2 * i] is not None or held[2 * i + 1] is not None)]

    def confirmed(self, occ_id: str) -> list[str]:
        return self._redis.zrange(occ_key(occ_id, "confirmed"), 0, -1)

    def not_arrived(self, occ_id: str) -> list[str]:
        """Confirmed volunteers who have not checked in (a reminder to come is for them only)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrange(occ_key(occ_id, "confirmed"), 0, -1)
        pipe.hkeys(occ_key(occ_id, "checkin"))
        confirmed, arrived = pipe.execute()
        arrived = set(arrived)
        return [o for o in confirmed if o not in arrived]

    def waitlist(self, occ_id: str) -> list[str]:
        return self._redis.zrange(occ_key(occ_id, "waitlist"), 0, -1)

    def has_event(self, event_id: str) -> bool:
        """Is any date of the event event_id stored (a file or a form made it)?"""
        return any(True for _ in self._redis.zscan_iter(INDEX, match=f"{_glob_escape(event_id)}@*", count=1000))

    def titles(self, event_ids: list[str]) -> dict[str, str]:
        """{event id: its title} for the events that have a stored date (the latest date's title)."""
        titles = {}
        for event_id in event_ids:
            ids = [m for m, _ in self._redis.zscan_iter(INDEX, match=f"{_glob_escape(event_id)}@*", count=1000)]
            dates = [o for o in self.get_many(sorted(ids)[-1:]) if o]
            if dates:
                titles[event_id] = dates[0].title
        return titles

    def kinds_of(self, event_id: str) -> set[str]:
        """The kinds (volunteer, job_fair) of the stored dates of event_id (empty: no such event)."""
        ids = [occ_id for occ_id, _ in self._redis.zscan_iter(INDEX, match=f"{_glob_escape(event_id)}@*", count=1000)]
        return {o.kind for o in (self.get(i) for i in ids) if o}

    def fill_from_waitlist(self, occ: Occurrence) -> list[str]:
        """Move waitlisted volunteers into places left free (after a capacity rise); return them in order."""
        return list(self._fill(keys=self._keys(occ.id)))

    def reopen(self, occ: Occurrence) -> None:
        """A cancelled occurrence open again (sign-ups untouched); its version goes up so notices are new."""
        meta = occ_key(occ.id, "meta")
        pipe = self._redis.pipeline(transaction=True)  # one key
        pipe.hset(meta, "status", "open")
        pipe.hincrby(meta, "version", 1)
        pipe.execute()
        occ.status = "open"

    def set_status(self, occ: Occurrence, status: str) -> None:
        occ.status = status
        self._redis.hset(occ_key(occ.id, "meta"), "status", status)

    def move(self, occ: Occurrence, new_start: float) -> Occurrence:
        """Staff shift an occurrence (and its deadlines) to a new start; sign-ups stay.

        The time the content file gave is remembered (a later load keeps the
        staff's time: see load_from_file), and the version goes up, so notices
        and reminders about the new time go out even if it is a time it had before."""
        meta = occ_key(occ.id, "meta")
        self.note_staff_change(occ, ["start"])
        delta = new_start - occ.start
        occ.start, occ.end = occ.start + delta, occ.end + delta
        occ.signup_deadline += delta
        occ.cancel_cutoff += delta
        self.save(occ)
        self._redis.hincrby(meta, "version", 1)
        return occ

    def _keys(self, occ_id: str) -> list[str]:
        return [occ_key(occ_id, "confirmed"), occ_key(occ_id, "waitlist"), occ_key(occ_id, "meta")]

    # -- check-in and hours -----------------------------------------------------------
    def check_in(self, openid: str, code: str, now: float) -> tuple[str, Occurrence | None]:
        """('ok'|'bad_code'|'not_signed_up'|'too_early'|'over'|'already', occurrence).

        Reads first (a refusal writes nothing); the check-in itself is one script call on one server
        (on a Cluster: the occurrence's slot, then the user's)."""
        occ_id = self._redis.hget(CODES, code.strip())
        if not occ_id:
            return "bad_code", None
        pipe = self._redis.pipeline(transaction=False)
        _read_occurrence(pipe, occ_id)
        pipe.zscore(occ_key(occ_id, "confirmed"), openid)
        pipe.hexists(occ_key(occ_id, "checkin"), openid)
        meta, confirmed, arrived = pipe.execute()
        occ = _occurrence(*meta)
        if occ is None:
            return "bad_code", None
        if confirmed is None:
            return "not_signed_up", occ
        if now < occ.start - CHECKIN_OPENS_BEFORE:
            return "too_early", occ
        if now >= occ.end:
            return "over", occ
        if arrived:
            return "already", occ
        keys = [occ_key(occ.id, "confirmed"), occ_key(occ.id, "checkin")]
        args = [openid, int(now), occ.id, ATTENDANCE_MEMORY]
        if one_server(self._redis):
            return self._check_in(keys=keys + [user_key(openid, "checked_in")], args=args), occ
        status = self._check_in(keys=keys, args=args)
        if status == "ok":
            self._redis.set(user_key(openid, "checked_in"), occ.id, ex=ATTENDANCE_MEMORY)
        return status, occ

    def check_out(self, openid: str, now: float) -> tuple[str, Occurrence | None, int]:
        """('ok'|'not_checked_in'|'already'|'too_early', occurrence, minutes credited).

        A check-out before the start (the two QR codes sit side by side) is refused and changes
        nothing: the check-in stands. Reads first; the check-out itself is one script call on one
        server (on a Cluster: the occurrence's slot, then the user's)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(user_key(openid, "checked_in"))
        pipe.get(user_key(openid, "checked_out"))
        occ_id, left = pipe.execute()
        occ = self.get(occ_id) if occ_id else None
        if occ is None:
            occ = self.get(left) if left else None  # a second 签退 the same day
            if occ is not None:
                return "already", occ, int(self._redis.hget(occ_key(occ.id, "minutes"), openid) or 0)
            return "not_checked_in", None, 0
        started = self._redis.hget(occ_key(occ.id, "checkin"), openid)
        if started is None:  # staff cleared the check-in meanwhile
            return "not_checked_in", None, 0
        if now < occ.start:  # the check-out code (beside the check-in one) scanned by mistake
            return "too_early", occ, 0
        minutes = credited_minutes(occ, int(started), now)
        keys = [occ_key(occ.id, "checkout"), occ_key(occ.id, "minutes")]
        args = [openid, int(now), minutes, occ.id, ATTENDANCE_MEMORY]
        if one_server(self._redis):
            status, minutes = self._check_out(keys=keys + [user_key(openid, "served"), user_key(openid, "checked_in"),
                                                           user_key(openid, "checked_out")], args=args)
            return status, occ, int(minutes)
        status, minutes = self._check_out(keys=keys, args=args)
        if status == "ok":
            pipe = self._redis.pipeline(transaction=True)  # the user's keys: one slot
            pipe.zadd(user_key(openid, "served"), {occ.id: minutes})
            pipe.delete(user_key(openid, "checked_in"))
            pipe.set(user_key(openid, "checked_out"), occ.id, ex=ATTENDANCE_MEMORY)
            pipe.execute()
        return status, occ, int(minutes)

    def record_attendance(self, occ: Occurrence, openid: str, checked_in: float, checked_out: float | None) -> int:
        """Set a confirmed volunteer's times by hand (forgot 签退, came without a phone); return minutes credited."""
        if self.status_of(occ.id, openid)[0] != "confirmed":
            raise ValueError("只能为已报名（非候补）的志愿者记录签到")
        now = clock.now()
        if now < occ.start - CHECKIN_OPENS_BEFORE:
            raise ValueError("活动还没有开始，不能记录签到和时长")
        if checked_in > now or (checked_out is not None and checked_out > now):
            raise ValueError("签到、签退时间不能晚于现在")
        if checked_out is not None and checked_out <= checked_in:
            raise ValueError("签退时间须晚于签到时间")
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(occ_key(occ.id, "checkin"), openid, int(checked_in))
        pipe.hset(occ_key(occ.id, "fixed"), openid, int(time.time()))  # staff set it: the export says so
        if checked_out is None:
            pipe.hdel(occ_key(occ.id, "checkout"), openid)
            pipe.hdel(occ_key(occ.id, "minutes"), openid)
            pipe.zrem(user_key(openid, "served"), occ.id)
            pipe.execute()
            return 0
        minutes = credited_minutes(occ, checked_in, checked_out)
        pipe.hset(occ_key(occ.id, "checkout"), openid, int(checked_out))
        pipe.hset(occ_key(occ.id, "minutes"), openid, minutes)
        pipe.zadd(user_key(openid, "served"), {occ.id: minutes})
        pipe.delete(user_key(openid, "checked_in"))
        pipe.execute()
        return minutes

    def attendance_counts(self, occ_id: str) -> tuple[int, int]:
        """(checked in, checked out) so far."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.hlen(occ_key(occ_id, "checkin"))
        pipe.hlen(occ_key(occ_id, "checkout"))
        return tuple(pipe.execute())

    def service_record(self, openid: str) -> list[tuple[Occurrence, int]]:
        """[(occurrence, minutes)] the user served, oldest first; stays of no credit included."""
        rows = self._redis.zrange(user_key(openid, "served"), 0, -1, withscores=True)
        out = [(self.get(occ_id), int(m)) for occ_id, m in rows]
        return sorted([(o, m) for o, m in out if o], key=lambda r: r[0].start)

    def attendance(self, occ_id: str) -> dict[str, tuple[int | None, int | None, int | None]]:
        pipe = self._redis.pipeline(transaction=False)
        for part in ("checkin", "checkout", "minutes"):
            pipe.hgetall(occ_key(occ_id, part))
        ins, outs, mins = pipe.execute()
        return {o: (int(ins[o]), int(outs[o]) if o in outs else None, int(mins[o]) if o in mins else None)
                for o in ins}

    def forget_user(self, openid: str, now: float) -> list[tuple[Occurrence, str | None]]:
        """Cancel every upcoming sign-up of openid (promoting waitlists); return [(occ, promoted)]."""
        done = [(occ, self.cancel(occ, openid)[1]) for occ in self.mine(openid, now)]
        self._redis.delete(user_key(openid, "signups"))
        return done


def _place(confirmed: int | None, waiting: int | None) -> tuple[Place, int]:
    """(CONFIRMED, place) | (WAITLISTED, position) | (NONE, 0), from the two ZRANKs."""
    if confirmed is not None:
        return Place.CONFIRMED, confirmed + 1
    if waiting is not None:
        return Place.WAITLISTED, waiting + 1
    return Place.NONE, 0


def _read_occurrence(client, occ_id: str):
    """The read _occurrence() turns into an Occurrence, on a client or queued on a pipeline."""
    return client.hmget(occ_key(occ_id, "meta"), "data", "status")


def _occurrence(data: str | None, status: str | None) -> Occurrence | None:
    if not data:
        return None
    occ = Occurrence(**json.loads(data))
    occ.status = status or occ.status
    return occ


def credited_minutes(occ: Occurrence, checked_in: float, checked_out: float) -> int:
    """Minutes of service: the stay within the event, none below 60% of its length."""
    stay = min(checked_out, occ.end) - max(checked_in, occ.start)
    length = occ.end - occ.start
    if length <= 0 or stay < MIN_SHARE_FOR_HOURS * length:
        return 0
    return int(min(stay, length) // 60)
