"""Figures the committee reports on a quiz session: participation, branches, who has not done it.

Counts without lists. A session's figures come from a *tally* kept in Redis: per branch its members, how many of
them have a counted attempt and their points, plus the list of those who have not (for the console's pages and
downloads). The tally is made by one pass over the branches' member sets done inside Redis, a page of members per
script call (no member list ever travels to Python, and no call holds the server for more than a page), and read
back with O(branches) commands. It is taken again when the store has changed since (participants, branch sizes or
branches differ) — except that on a large store (more than FRESH_MEMBERS members) a tally younger than
STALE_SECONDS is used as it is: during the weekly burst the figures may lag answers by up to that long, instead
of every view re-reading 50,000 members. Staff can ask for a fresh one (`fresh=True`, the page's 刷新 link).

Why not counters written by each answer: the counted-attempt script (domain/quiz.py) writes the session's score
set only, not who belongs to which branch, and that script is kept as it is here; the member-completer count of a
branch is the size of an intersection of two sets, which Redis 6.2 cannot count without reading one of them.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from domain import clock
from domain.keys import key
from domain.profiles import BRANCHES, Profiles, branch_members_key
from domain.quiz import BranchStanding, Quiz, Session, scores_key
from domain.ranking import ranked

PAGE = 1000  # members read per script call while tallying
STALE_SECONDS = 30
FRESH_MEMBERS = 2000  # up to this many members a tally is always exact (a pass costs a couple of calls)
KEEP_SECONDS = 900  # a tally and its lists are dropped this long after they were made
PER_PAGE = 50


def tally_key(sid: str) -> str:
    return key("{quiz}", "tally", sid)  # hash: gen, at, fp, and <bid>:m / :n / :sum per branch


def _missing_key(sid: str, bid: str, gen: str) -> str:
    return key("{quiz}", "missing", sid, gen, bid)  # list: the branch's members without a counted attempt


def _seen_key(sid: str, bid: str, gen: str) -> str:
    return key("{quiz}", "seen", sid, gen, bid)  # set: members tallied so far (SSCAN may return one twice)


# One page of a branch's members: count those with a counted attempt (and their points), list the others. A member
# SSCAN returns a second time (the set grew while it was scanned) is counted once.
_TALLY_PAGE = """
local page = redis.call('SSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
local ids = page[2]
local n, sum = 0, 0
if #ids > 0 then
  local scores = redis.call('ZMSCORE', KEYS[2], unpack(ids))
  for i = 1, #ids do
    if redis.call('SADD', KEYS[3], ids[i]) == 1 then
      if scores[i] then n = n + 1; sum = sum + tonumber(scores[i]) else redis.call('RPUSH', KEYS[4], ids[i]) end
    end
  end
end
redis.call('EXPIRE', KEYS[3], ARGV[3])
if redis.call('EXISTS', KEYS[4]) == 1 then redis.call('EXPIRE', KEYS[4], ARGV[3]) end
return {page[1], n, tostring(sum)}
"""


# A small branch read whole in one call, nothing written: (completers, their points, members, the others' ids).
_COUNT_SMALL = """
local members = redis.call('SMEMBERS', KEYS[1])
local n, sum, others = 0, 0, {}
for i = 1, #members, 1000 do
  local scores = redis.call('ZMSCORE', KEYS[2], unpack(members, i, math.min(i + 999, #members)))
  for j = 1, #scores do
    if scores[j] then n = n + 1; sum = sum + tonumber(scores[j]) else others[#others + 1] = members[i + j - 1] end
  end
end
return {n, tostring(sum), #members, others}
"""


@dataclass
class SessionStats:
    session: Session
    participants: int  # counted attempts, members or not
    members: int  # people who chose a branch
    member_completers: int
    standings: list
    missing: int  # members without a counted attempt
    at: float = 0.0  # when the tally was taken
    gen: str = ""  # the tally's lists in Redis (a large store) ...
    lists: dict | None = None  # ... or, on a small one, branch id -> its non-completers, sorted

    @property
    def completion_rate(self) -> float:
        return self.member_completers / self.members if self.members else 0.0


def _fingerprint(redis, sid: str) -> tuple[str, list[tuple[str, str]], int]:
    branches = sorted(redis.hgetall(BRANCHES).items())
    pipe = redis.pipeline(transaction=False)
    pipe.zcard(scores_key(sid))
    for bid, _ in branches:
        pipe.scard(branch_members_key(bid))
    sizes = pipe.execute()
    fp = ",".join([str(sizes[0])] + [f"{bid}={n}" for (bid, _), n in zip(branches, sizes[1:])])
    return fp, branches, sum(sizes[1:])


def _count_small(redis, sid: str, branches: list[tuple[str, str]]) -> dict:
    """A store of at most FRESH_MEMBERS members: each branch read in one call, exact, nothing written."""
    script = redis.register_script(_COUNT_SMALL)
    tally = {"gen": "", "at": f"{time.time():.3f}", "branches": ",".join(b for b, _ in branches), "lists": {}}
    for bid, _ in branches:
        n, summed, m, others = script(keys=[branch_members_key(bid), scores_key(sid)])
        tally.update({f"{bid}:n": n, f"{bid}:sum": summed, f"{bid}:m": m})
        tally["lists"][bid] = sorted(others)
    return tally


def _take(redis, sid: str, branches: list[tuple[str, str]], fp: str, page: int = PAGE) -> dict:
    """One pass over every branch's members inside Redis; the new tally replaces the old one at once."""
    script = redis.register_script(_TALLY_PAGE)
    gen = uuid.uuid4().hex[:12]
    tally = {"gen": gen, "at": f"{time.time():.3f}", "fp": fp, "branches": ",".join(b for b, _ in branches)}
    for bid, _ in branches:
        seen, missing = _seen_key(sid, bid, gen), _missing_key(sid, bid, gen)
        cursor, n, points = "0", 0, 0.0
        while True:
            cursor, got, summed = script(keys=[branch_members_key(bid), scores_key(sid), seen, missing],
                                         args=[cursor, page, KEEP_SECONDS])
            n, points = n + int(got), points + float(summed)
            if str(cursor) == "0":
                break
        tally.update({f"{bid}:n": n, f"{bid}:sum": points})
        tally[f"{bid}:m"] = redis.scard(seen)
    old = redis.hget(tally_key(sid), "gen")
    old_branches = (redis.hget(tally_key(sid), "branches") or "").split(",")
    pipe = redis.pipeline(transaction=True)
    pipe.delete(tally_key(sid))
    pipe.hset(tally_key(sid), mapping=tally)
    pipe.expire(tally_key(sid), KEEP_SECONDS)
    for bid, _ in branches:
        pipe.delete(_seen_key(sid, bid, gen))
    if old and old != gen:  # a download still reading the old lists has two minutes to finish
        for bid in filter(None, old_branches):
            pipe.expire(_missing_key(sid, bid, old), 120)
    pipe.execute()
    return tally


def tally(redis, sid: str, fresh: bool = False) -> dict:
    """The session's tally (see the module's note), taken again when it is out of date."""
    fp, branches, members = _fingerprint(redis, sid)
    if members <= FRESH_MEMBERS:
        return _count_small(redis, sid, branches)
    current = redis.hgetall(tally_key(sid))
    if current and not fresh and current.get("branches", "") == ",".join(b for b, _ in branches):
        if current.get("fp") == fp:
            return current
        if time.time() - float(current["at"]) < STALE_SECONDS:
            return current
    # one pass at a time: a view arriving while another takes the tally shows the last one
    if not redis.set(tally_key(sid) + ":taking", 1, nx=True, ex=60):
        if current and current.get("branches", "") == ",".join(b for b, _ in branches):
            return current
        return _take(redis, sid, branches, fp)
    try:
        return _take(redis, sid, branches, fp)
    finally:
        redis.delete(tally_key(sid) + ":taking")


def session_stats(redis, session: Session, fresh: bool = False) -> SessionStats:
    """Participants, member completion and branch standings, from the tally (never a list of members)."""
    t = tally(redis, session.id, fresh)
    names = dict(redis.hgetall(BRANCHES))
    standings = []
    for bid in filter(None, t.get("branches", "").split(",")):
        n, total = int(t[f"{bid}:n"]), float(t[f"{bid}:sum"])
        standings.append(BranchStanding(bid, names.get(bid, bid), int(t[f"{bid}:m"]), n, total / n if n else 0.0))
    standings.sort(key=lambda b: (-b.rate, -b.average, b.branch_id))
    for rank, b in ranked(standings, lambda b: (b.rate, b.average)):
        b.rank = rank
    members = sum(b.members for b in standings)
    done = sum(b.completers for b in standings)
    return SessionStats(session, redis.zcard(scores_key(session.id)), members, done, standings, members - done,
                        float(t["at"]), t["gen"], t.get("lists"))


def participant_counts(redis, sids: list[str]) -> dict[str, int]:
    """Counted attempts per session (the size of each score set: nothing read but the counts)."""
    pipe = redis.pipeline(transaction=False)
    for sid in sids:
        pipe.zcard(scores_key(sid))
    return dict(zip(sids, pipe.execute()))


def _lists(stats: SessionStats, branch: str = "") -> list[tuple[str, int]]:
    """[(the missing list's key, its length)] for one branch or all of them, in branch order."""
    return [(_missing_key(stats.session.id, b.branch_id, stats.gen), b.members - b.completers)
            for b in sorted(stats.standings, key=lambda b: b.branch_id) if not branch or b.branch_id == branch]


def _branch_order(stats: SessionStats, branch: str) -> list[str]:
    return [b.branch_id for b in sorted(stats.standings, key=lambda b: b.branch_id) if not branch or b.branch_id == branch]


def missing_count(stats: SessionStats, branch: str = "") -> int:
    return sum(n for _, n in _lists(stats, branch))


def missing_page(redis, stats: SessionStats, branch: str = "", page: int = 1, per: int = PER_PAGE) -> list[str]:
    """Page `page` (from 1) of the members without a counted attempt, as of the tally: at most `per` openids."""
    start, out = (max(page, 1) - 1) * per, []
    if stats.lists is not None:
        every = [o for bid in _branch_order(stats, branch) for o in stats.lists.get(bid, [])]
        return every[start:start + per]
    for list_key, n in _lists(stats, branch):
        if start >= n:
            start -= n
            continue
        out += redis.lrange(list_key, start, start + per - len(out) - 1)
        start = 0
        if len(out) >= per:
            break
    return out


def iter_missing(redis, stats: SessionStats, branch: str = "", batch: int = 500):
    """Every member without a counted attempt, as of the tally, read `batch` at a time."""
    if stats.lists is not None:
        for bid in _branch_order(stats, branch):
            yield from stats.lists.get(bid, [])
        return
    for list_key, n in _lists(stats, branch):
        for start in range(0, n, batch):
            yield from redis.lrange(list_key, start, start + batch - 1)


def export_rows(redis, session: Session) -> tuple[list[str], list[list]]:
    """One row per counted attempt: who, score, when, and per question what was answered (in the
    words the question offers: a letter, or 对/错), whether it was right, and after how many seconds."""
    quiz, profiles = Quiz(redis), Profiles(redis)
    participants = quiz.participants(session.id)
    people = profiles.many([o for o, _ in participants])
    branches = dict(profiles.branches())
    headers = ["openid", "姓名", "支部", "得分", "开始时间", "用时(秒)"]
    for i, q in enumerate(session.questions, start=1):
        headers += [f"第{i}题：{q.text}", f"第{i}题对错", f"第{i}题用时(秒)"]
    rows = []
    for openid, points in sorted(participants, key=lambda p: -p[1]):
        ev = quiz.evidence(session.id, openid) or {"s": 0, "a": []}
        answers = []
        for given, ok, sec in ev["a"]:
            answers += [{"T": "对", "F": "错"}.get(given, given), "对" if ok else "错", sec]
        spent = ev["a"][-1][2] if ev["a"] else 0
        p = people[openid]
        rows.append([openid, p.name, branches.get(p.branch, ""), points, clock.to_naive(ev["s"]), spent] + answers)
    return headers, rows
