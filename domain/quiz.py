"""The weekly study quiz (青年大学习): sessions, attempts, scores, streaks, rankings.

Rules, all decided here:
- a user's first completed attempt at a session, finished before it closes, is
  the one that counts; later attempts and late ones are practice;
- an answer that is not a valid option is not counted (the question is asked again);
- two answers to the same question arriving at once count once (compare-and-set
  on the question number, in one Lua script), and the same answer to the
  previous question repeated within 5 s, however worded (`B`, `选B`), is a
  double send, not the answer to the next question;
- a 判断 question takes 对/错 (√, ×, T, F, 正确, 错误), never a letter: `A` or
  `ABD` to it is asked again;
- an attempt left half-way resumes at the same question for 24 hours;
- ties rank equally (competition ranking: 1, 2, 2, 4).

Keys: session data and every score live under the {quiz} hash tag, so the
counted-result script touches one cluster slot; a user's attempt in progress
is a hash under their own tag.

On one server (a single Redis, Sentinel), an answer is one script call
(`_STEP`): it reads the attempt, checks the answer against the question the
attempt is at, records it and, on the last question, counts the attempt,
ranks it, counts the streak and ends the attempt (with the caller's keys that
end with it: the chat's flow), all atomically. On a Redis Cluster the attempt
and the scores live in two slots: the same steps run as before, one script
per slot (`_ANSWER`, then `_RECORD`).
"""
from __future__ import annotations

import json
import re
import time
import unicodedata
from dataclasses import asdict, dataclass, field

from domain.keys import key, user_key
from domain.profiles import BRANCHES, branch_members_key
from domain.ranking import ranked
from domain.scripting import one_server, register

POINTS_PER_QUESTION = 10
ATTEMPT_TTL = 24 * 3600
# The previous question's answer sent again this soon, in any wording (`B`, then `选B`), is a
# double send, not an answer to the next question (nobody reads a question and answers in 5 s).
DOUBLE_TAP_SECONDS = 5
KINDS = ("single", "multi", "judge")
LETTERS = "ABCDEFGH"

# Sessions are read on every answer and change only when staff load content; each
# process keeps them this long (a content load shows up everywhere within it).
SESSION_CACHE_SECONDS = 10
_session_cache: dict[str, tuple[float, "Session"]] = {}
_saved = [0]  # bumped by every save or deletion in this process: each Quiz's kept list of sessions is stale

SESSIONS = key("{quiz}", "sessions")  # zset: session id -> opens (epoch seconds)
CLOSES = key("{quiz}", "closes")  # zset: session id -> closes: the chat reads the sessions not closed yet, not all
STREAK_BATCH = 20  # sessions read per round trip while counting a streak back from the latest
TOTAL = key("{quiz}", "total")  # zset: openid -> cumulative points
DONE_COUNT = key("{quiz}", "done")  # zset: openid -> sessions completed (counted)


def session_key(sid: str) -> str:
    return key("{quiz}", "session", sid)


def scores_key(sid: str) -> str:
    return key("{quiz}", "score", sid)  # zset: openid -> points in that session


def evidence_key(sid: str) -> str:
    return key("{quiz}", "evidence", sid)  # hash: openid -> every answer with its time


def attempt_key(openid: str) -> str:
    return user_key(openid, "quiz")


def _profile_key(openid: str) -> str:
    return user_key(openid, "profile")  # domain/profiles.py's: its `branch` is read with a finished attempt


@dataclass
class Question:
    text: str
    kind: str  # single | multi | judge
    options: list[str]
    answer: str  # "B", "AC", or "T"/"F" for judge
    explain: str = ""

    def parse(self, raw: str) -> str | None:
        """Return the canonical answer typed ("A", "AC", "T"), or None when it is no valid option."""
        return parse_answer(raw, self.kind, len(self.options))

    def lettered(self) -> list[str]:
        if self.kind == "judge":
            return ["对", "错"]
        return [f"{LETTERS[i]}. {opt}" for i, opt in enumerate(self.options)]

    def shown_answer(self) -> str:
        """The key as people read it: 对/错 for a true-or-false question, the letters otherwise (F is a letter
        too: the sixth option of a choice question, not 错)."""
        return {"T": "对", "F": "错"}.get(self.answer, self.answer) if self.kind == "judge" else self.answer


@dataclass
class Session:
    id: str
    title: str
    summary: str
    opens: float
    closes: float
    questions: list[Question]
    link: str = ""

    def is_open(self, now: float) -> bool:
        return self.opens <= now < self.closes

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> "Session":
        data = json.loads(raw)
        data["questions"] = [Question(**q) for q in data["questions"]]
        return cls(**data)


# Words around an answer in a short sentence: `我选C`, `答案是B吧`, `我选A和C`, `是对的`.
_FILLER = re.compile(r"我选|我觉得是|我觉得|应该是|答案是|答案|选项|我选择|选择|选|是|吧|啦|呀|啊|哦|呢|的|和|与|跟|还有")
_PUNCTUATION = re.compile(r"[\s.,!?;:~。！？；：～…]+$")


def parse_answer(raw: str, kind: str, n_options: int) -> str | None:
    """The canonical answer ("A", "AC", "T"/"F") in what was typed, or None when it is no valid option.

    A bare answer in any of the forms people type is read first; failing that,
    filler words around it are dropped (`我选C`, `是对的`) and what is left must
    be an answer on its own: `A还是B` or `对还是错` stay no answer."""
    text = _PUNCTUATION.sub("", unicodedata.normalize("NFKC", raw or "").strip()).upper()
    answer = _parse_bare(text, kind, n_options)
    if answer is None and 1 < len(text) <= 12:
        core = _FILLER.sub("", text)
        if core and core != text:
            answer = _parse_bare(core, kind, n_options)
    return answer


def _parse_bare(text: str, kind: str, n_options: int) -> str | None:
    if kind == "judge":
        if text in ("对", "√", "✓", "✔", "T", "TRUE", "正确", "是", "Y"):
            return "T"
        if text in ("错", "×", "✗", "✘", "X", "F", "FALSE", "错误", "否", "N"):
            return "F"
        return None
    letters = re.sub(r"[\s,，、;；/]+", "", text)
    valid = LETTERS[:n_options]
    if not letters or any(ch not in valid for ch in letters) or len(set(letters)) != len(letters):
        return None
    if kind == "single" and len(letters) != 1:
        return None
    return "".join(sorted(letters))


@dataclass
class Progress:
    """A user's attempt in progress at one session."""

    session_id: str
    index: int  # the question to answer next
    started: float
    counted: bool
    right: int = 0
    answers: list[tuple[str, bool, float]] = field(default_factory=list)


@dataclass
class Outcome:
    """What answering one question did."""

    status: str  # "answered" | "invalid" | "stale" | "gone"
    question: Question | None = None
    correct: bool = False
    next_index: int = 0
    result: "Result | None" = None


@dataclass
class Result:
    session: Session
    points: int
    right: int
    seconds: int
    counted: bool
    rank: int | None
    streak: int
    official: tuple[int, int] | None = None  # (points, rank) of the attempt that counts, read in the same step
    branch: str = ""  # the member's branch, read in the same step ("" none)


@dataclass
class BranchStanding:
    branch_id: str
    name: str
    members: int
    completers: int
    average: float
    rank: int = 0

    @property
    def rate(self) -> float:
        return self.completers / self.members if self.members else 0.0


# Record one answer if it is for the question the attempt is at (compare-and-set),
# and is not the previous message sent again within the double-tap window: what
# was sent is compared, not its reading (`b` is B for a choice but 错 for a
# true/false question).
_ANSWER = """
if redis.call('HGET', KEYS[1], 'session') ~= ARGV[1] then return -1 end
local idx = tonumber(redis.call('HGET', KEYS[1], 'idx'))
if idx ~= tonumber(ARGV[2]) then return -2 end
redis.call('HSET', KEYS[1], 'idx', idx + 1, 'a' .. idx, ARGV[3], 'last_given', ARGV[6], 'last_at', ARGV[7])
if ARGV[4] == '1' then redis.call('HINCRBY', KEYS[1], 'right', 1) end
redis.call('EXPIRE', KEYS[1], ARGV[5])
return idx + 1
"""

# One answer, whole, on one server: what _ANSWER and then (on the last question) _RECORD do, and what the reply
# needs (rank, streak, the counted result of a practice attempt, the member's branch), atomically.
# KEYS: 1 the attempt, 2 the session's scores, 3 TOTAL, 4 DONE_COUNT, 5 the session's evidence, 6 the session,
#       7 the member's profile, 8 SESSIONS; then ARGV[10] keys deleted when the attempt ends or is gone (the flow).
# ARGV: 1 openid, 2 session id, 3 now, 4 now rounded (the answer's time), 5 questions, 6 closes, 7 double-tap
#       seconds, 8 attempt TTL, 9 points per question, 10 how many keys end with the attempt, 11 the scores' key
#       without its session id; then per question: the text read as its answer ('' none) and '1' when that is
#       right; then the ids of the sessions open now.
# The streak reads the scores of the sessions opened by now, newest first, until one not done: keys made here,
# not declared, which only one server allows (a Cluster takes the steps below instead).
# Returns {'gone'}, {'stale', idx}, {'invalid', idx}, {'answered', next idx}, or
#         {'done', questions, right, started, counted, official points (-1 none), its rank, streak, branch}.
_STEP = """
local a, n, nends = KEYS[1], tonumber(ARGV[5]), tonumber(ARGV[10])
local st = redis.call('HMGET', a, 'session', 'idx', 'started', 'counted', 'right', 'last_given', 'last_at')
local idx = tonumber(st[2])
if st[1] ~= ARGV[2] or not idx or idx >= n then
  for i = 9, 8 + nends do redis.call('DEL', KEYS[i]) end
  return {'gone'}
end
if idx > 0 and st[6] and st[7] and tonumber(ARGV[3]) - tonumber(st[7]) < tonumber(ARGV[7])
   and ARGV[10 + 2 * idx] == st[6] then
  return {'stale', idx}
end
local given, ok = ARGV[12 + 2 * idx], ARGV[13 + 2 * idx]
if given == '' then return {'invalid', idx} end
redis.call('HSET', a, 'idx', idx + 1, 'a' .. idx, given .. '|' .. ok .. '|' .. ARGV[4], 'last_given', given,
           'last_at', ARGV[3])
local right = tonumber(st[5] or '0')
if ok == '1' then
  right = right + 1
  redis.call('HINCRBY', a, 'right', 1)
end
redis.call('EXPIRE', a, ARGV[8])
if idx + 1 < n then return {'answered', idx + 1} end

local started, points, counted, scores = tonumber(st[3]), right * tonumber(ARGV[9]), 0, KEYS[2]
if st[4] == '1' and tonumber(ARGV[4]) < tonumber(ARGV[6]) and redis.call('EXISTS', KEYS[6]) == 1
   and not redis.call('ZSCORE', scores, ARGV[1]) then
  local fields, parts = {}, {}
  for i = 0, n - 1 do fields[i + 1] = 'a' .. i end
  for i, v in ipairs(redis.call('HMGET', a, unpack(fields))) do
    local g, o, t = string.match(v, '^([^|]*)|([^|]*)|(.*)$')
    local d = tonumber(t) - started
    if d < 0 then d = math.ceil(d) else d = math.floor(d) end
    parts[i] = '["' .. g .. '",' .. o .. ',' .. string.format('%d', d) .. ']'
  end
  redis.call('ZADD', scores, points, ARGV[1])
  redis.call('ZINCRBY', KEYS[3], points, ARGV[1])
  redis.call('ZINCRBY', KEYS[4], 1, ARGV[1])
  redis.call('HSET', KEYS[5], ARGV[1],
             string.format('{"s":%d,"p":%d,"a":[%s]}', math.floor(started), points, table.concat(parts, ',')))
  counted = 1
end
local official, rank = -1, 0
local mine = redis.call('ZSCORE', scores, ARGV[1])
if mine then
  official, rank = tonumber(mine), redis.call('ZCOUNT', scores, '(' .. mine, '+inf') + 1
end
local open, streak, offset, stop, ids = {}, 0, 0, false, nil
for i = 12 + 2 * n, #ARGV do open[ARGV[i]] = true end
repeat
  ids = redis.call('ZREVRANGEBYSCORE', KEYS[8], ARGV[3], '-inf', 'LIMIT', offset, 16)
  for _, sid in ipairs(ids) do
    if redis.call('ZSCORE', ARGV[11] .. sid, ARGV[1]) then
      streak = streak + 1
    elseif not (streak == 0 and open[sid]) then
      stop = true
      break
    end
  end
  offset = offset + 16
until stop or #ids < 16
local branch = redis.call('HGET', KEYS[7], 'branch') or ''
redis.call('DEL', a)
for i = 9, 8 + nends do redis.call('DEL', KEYS[i]) end
return {'done', n, right, st[3], counted, official, rank, streak, branch}
"""

# Count a completed attempt once: the first one for this user and session wins.
_RECORD = """
if redis.call('EXISTS', KEYS[5]) == 0 then return 0 end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZINCRBY', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZINCRBY', KEYS[3], 1, ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
return 1
"""

# Save a corrected session and re-score its counted attempts, all at once: ARGV[1] the session's JSON, ARGV[2] how
# many attempts were read, then (openid, evidence as read, new points, new evidence) per attempt. Returns -1 (nothing
# written) when an attempt was counted or changed since they were read: read again and retry.
_RESCORE = """
if redis.call('HLEN', KEYS[3]) ~= tonumber(ARGV[2]) then return -1 end
for i = 3, #ARGV, 4 do
  if redis.call('HGET', KEYS[3], ARGV[i]) ~= ARGV[i + 1] then return -1 end
end
redis.call('SET', KEYS[1], ARGV[1])
local changed = 0
for i = 3, #ARGV, 4 do
  local old = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[i]) or '0')
  local new = tonumber(ARGV[i + 2])
  if old ~= new then
    changed = changed + 1
    redis.call('ZADD', KEYS[2], new, ARGV[i])
    redis.call('ZINCRBY', KEYS[4], new - old, ARGV[i])
  end
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 3])
end
return changed
"""


@dataclass
class KeyChange:
    """What a corrected question bank changes in a stored session: only answers (and explanations) may change once
    attempts are counted, since each counted answer is kept by its question's place."""

    answers: list[tuple[int, str, str]]  # (question number, old answer, new answer)
    same_questions: bool  # the questions, their kinds and options are unchanged


def key_change(old: Session, new: Session) -> KeyChange:
    same = len(old.questions) == len(new.questions) and all(
        (a.text, a.kind, a.options) == (b.text, b.kind, b.options) for a, b in zip(old.questions, new.questions))
    answers = [(i, a.answer, b.answer) for i, (a, b) in enumerate(zip(old.questions, new.questions), start=1)
               if a.answer != b.answer]
    return KeyChange(answers, same)


# Delete a session only while nobody has completed it (in one step with _RECORD: no result is ever lost).
_DELETE = """
local taken = redis.call('ZCARD', KEYS[2])
if taken > 0 then return taken end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
return 0
"""


class SessionTaken(ValueError):
    """A session people have completed cannot be deleted (their results stay): it can be closed."""

    def __init__(self, people: int):
        super().__init__(f"已有{people}人完成这期答题，成绩要保留，不能删除；可以提前截止")
        self.people = people


class Quiz:
    def __init__(self, redis):
        self._redis = redis
        self._answer = register(redis, _ANSWER)
        self._record = register(redis, _RECORD)
        self._rescore = register(redis, _RESCORE)
        self._delete = register(redis, _DELETE)
        self._step = register(redis, _STEP)
        self._one_step = one_server(redis)  # a Cluster keeps the attempt and the scores in two slots
        self._listing: tuple[float, int, list[Session]] | None = None  # not closed: until when, _saved, them

    def correct_key(self, session: Session, tries: int = 5) -> int:
        """Save the session with its corrected answers and re-score every counted attempt by the answers it gave,
        in one step (a crash leaves the old key and scores, or the new key and scores). Returns how many
        attempts' points changed. The questions themselves must be unchanged (key_change().same_questions)."""
        for _ in range(tries):
            raw = self._redis.hgetall(evidence_key(session.id))
            args = [session.to_json(), len(raw)]
            for openid, evidence in raw.items():
                data = json.loads(evidence)
                answers = [[given, int(q.answer == given), secs]
                           for (given, _, secs), q in zip(data["a"], session.questions)]
                points = sum(ok for _, ok, _ in answers) * POINTS_PER_QUESTION
                args += [openid, evidence, points,
                         json.dumps({**data, "p": points, "a": answers}, separators=(",", ":"))]
            changed = self._rescore(keys=[session_key(session.id), scores_key(session.id), evidence_key(session.id),
                                          TOTAL], args=args)
            if changed >= 0:
                _session_cache.pop(session.id, None)
                return int(changed)
        raise RuntimeError(f"quiz {session.id}: attempts kept being counted while re-scoring; try again")

    # -- sessions -------------------------------------------------------------
    def save_session(self, session: Session) -> None:
        _session_cache.pop(session.id, None)
        _saved[0] += 1
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(session_key(session.id), session.to_json())
        pipe.zadd(SESSIONS, {session.id: session.opens})
        pipe.zadd(CLOSES, {session.id: session.closes})
        pipe.execute()

    def delete_session(self, sid: str) -> None:
        """Delete a session uploaded by mistake; SessionTaken when someone has completed it. Anyone half-way
        through it is told it is gone at their next answer."""
        taken = self._delete(keys=[session_key(sid), scores_key(sid), evidence_key(sid), SESSIONS, CLOSES], args=[sid])
        _session_cache.pop(sid, None)
        _saved[0] += 1
        if taken:
            raise SessionTaken(int(taken))

    def close_session(self, session: Session, now: float) -> Session:
        """End a session now (it stops being offered; every result so far stays and counts)."""
        if session.closes > now:
            session.closes = int(now)
            session.opens = min(session.opens, session.closes)
            self.save_session(session)
        return session

    def session(self, sid: str) -> Session | None:
        cached = _session_cache.get(sid)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        raw = self._redis.get(session_key(sid))
        session = Session.from_json(raw) if raw else None
        if session:
            _session_cache[sid] = (time.monotonic() + SESSION_CACHE_SECONDS, session)
        return session

    def sessions(self) -> list[Session]:
        """All sessions, oldest first (read now: the console's and the report's list, not the chat's)."""
        saved = _saved[0]  # a save while this reads leaves what it read stale
        sessions = self._load(self._redis.zrange(SESSIONS, 0, -1))
        until = time.monotonic() + SESSION_CACHE_SECONDS
        if saved == _saved[0]:
            _session_cache.update((s.id, (until, s)) for s in sessions)
        return sessions

    def _load(self, ids: list[str]) -> list[Session]:
        """These sessions, in the order given (one round trip; a session deleted meanwhile left out)."""
        pipe = self._redis.pipeline(transaction=False)
        for sid in ids:
            pipe.get(session_key(sid))
        return [Session.from_json(raw) for raw in pipe.execute() if raw] if ids else []

    def open_session(self, now: float) -> Session | None:
        """The session open now; when two overlap, the one that opened last. Reads only the sessions not closed
        yet (CLOSES), never every session there has been."""
        ids = self._redis.zrangebyscore(CLOSES, f"({now}", "+inf")
        current = sorted((s for s in self._load(ids) if s.is_open(now)), key=lambda s: (s.opens, s.id))
        return current[-1] if current else None

    def last_closed(self, now: float) -> Session | None:
        latest = self._redis.zrevrangebyscore(CLOSES, now, "-inf", start=0, num=1, withscores=True)
        if not latest:
            return None
        tied = self._redis.zrangebyscore(CLOSES, latest[0][1], latest[0][1])  # the first of equals, as before
        closed = sorted(self._load(tied), key=lambda s: (s.opens, s.id))
        return closed[0] if closed else None

    def current_session(self, now: float) -> Session | None:
        """The session open now, else the one that closed last: what figures and leaderboards show."""
        return self.open_session(now) or self.last_closed(now)

    def next_upcoming(self, now: float) -> Session | None:
        later = self._load(self._redis.zrangebyscore(SESSIONS, f"({now}", "+inf", start=0, num=5))
        return later[0] if later else None

    # -- attempts -------------------------------------------------------------
    def progress(self, openid: str) -> Progress | None:
        data = self._redis.hgetall(attempt_key(openid))
        if not data:
            return None
        idx = int(data["idx"])
        answers = []
        for i in range(idx):
            given, ok, at = data[f"a{i}"].split("|")
            answers.append((given, ok == "1", float(at)))
        return Progress(data["session"], idx, float(data["started"]), data["counted"] == "1",
                        int(data.get("right", 0)), answers)

    def start(self, openid: str, session: Session, now: float) -> tuple[Progress, bool]:
        """Start or resume an attempt; return (progress, resumed)."""
        current = self.progress(openid)
        if current and current.session_id == session.id and current.index < len(session.questions):
            return current, True
        if current and current.session_id == session.id:
            self._finish(openid, session, current, now)  # a finished attempt a crash left behind
        counted = session.is_open(now) and self._redis.zscore(scores_key(session.id), openid) is None
        k = attempt_key(openid)
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(k)
        pipe.hset(k, mapping={"session": session.id, "idx": 0, "started": now, "counted": int(counted), "right": 0})
        pipe.expire(k, ATTEMPT_TTL)
        pipe.execute()
        return Progress(session.id, 0, now, counted), False

    def answer(self, openid: str, session: Session, raw: str, now: float, ends: tuple[str, ...] = ()) -> Outcome:
        """Answer the question the user's attempt is at.

        ends: the caller's keys that end with the attempt (deleted, in the same step, when the attempt is
        finished or gone)."""
        if not self._one_step:
            return self._answer_in_steps(openid, session, raw, now, ends)
        questions, read = session.questions, {}
        args = [openid, session.id, now, f"{now:.0f}", len(questions), session.closes, DOUBLE_TAP_SECONDS,
                ATTEMPT_TTL, POINTS_PER_QUESTION, len(ends), scores_key("")]
        for q in questions:
            form = (q.kind, len(q.options))
            if form not in read:
                read[form] = q.parse(raw) or ""
            args += [read[form], int(read[form] == q.answer)]
        if not any(read.values()):  # no question's answer (nor a double send): nothing to write, only to say
            return self._no_answer(openid, session, ends)
        args += [s.id for s in self._not_closed_kept(now) if s.is_open(now)]
        done = self._step(keys=[attempt_key(openid), scores_key(session.id), TOTAL, DONE_COUNT,
                                evidence_key(session.id), session_key(session.id), _profile_key(openid), SESSIONS,
                                *ends], args=args)
        status = done[0]
        if status == "gone":
            return Outcome("gone")
        idx = int(done[1])
        if status in ("stale", "invalid"):
            return Outcome(status, question=questions[idx], next_index=idx)
        if status == "answered":
            question = questions[idx - 1]
            return Outcome("answered", question=question, correct=args[12 + 2 * (idx - 1)] == 1, next_index=idx)
        n, right, started, counted, official, rank, streak_n, branch = done[1:]
        question = questions[n - 1]
        outcome = Outcome("answered", question=question, correct=args[12 + 2 * (n - 1)] == 1, next_index=n)
        seconds = int(float(f"{now:.0f}") - float(started))  # the last answer's time, as kept, less the start
        outcome.result = Result(session, right * POINTS_PER_QUESTION, right, seconds, bool(counted),
                                rank if counted else None, streak_n, (official, rank) if official >= 0 else None,
                                branch)
        return outcome

    def _no_answer(self, openid: str, session: Session, ends: tuple[str, ...]) -> Outcome:
        """The outcome of a text that answers no question of session: a read, and no write unless it is gone."""
        sid, idx = self._redis.hmget(attempt_key(openid), "session", "idx")
        if sid != session.id or idx is None or int(idx) >= len(session.questions):
            return self._gone(ends)
        return Outcome("invalid", question=session.questions[int(idx)], next_index=int(idx))

    def _gone(self, ends: tuple[str, ...]) -> Outcome:
        """The attempt is finished or gone: the caller's keys that end with it go too."""
        if ends:
            self._redis.delete(*ends)
        return Outcome("gone")

    def _not_closed_kept(self, now: float) -> list[Session]:
        """The sessions not closed at `now` (by the CLOSES index, never every session there has been), as this
        process read them at most SESSION_CACHE_SECONDS ago (which are open: the streak)."""
        if self._listing is None or self._listing[0] <= time.monotonic() or self._listing[1] != _saved[0]:
            saved = _saved[0]  # a save while this reads leaves what it read stale
            sessions = self._load(self._redis.zrangebyscore(CLOSES, f"({now}", "+inf"))
            until = time.monotonic() + SESSION_CACHE_SECONDS
            self._listing = (until, saved, sessions)
            _session_cache.update((s.id, (until, s)) for s in sessions)
        return self._listing[2]

    def _answer_in_steps(self, openid: str, session: Session, raw: str, now: float,
                         ends: tuple[str, ...]) -> Outcome:
        """answer() where the attempt and the scores live in two slots: the attempt's script, then the scores'."""
        progress = self.progress(openid)
        if progress is None or progress.session_id != session.id or progress.index >= len(session.questions):
            return self._gone(ends)
        question = session.questions[progress.index]
        if progress.index and self._double_send(openid, session.questions[progress.index - 1], raw, now):
            return Outcome("stale", question=question, next_index=progress.index)
        given = question.parse(raw)
        if given is None:
            return Outcome("invalid", question=question, next_index=progress.index)
        correct = given == question.answer
        new_idx = self._answer(keys=[attempt_key(openid)],
                               args=[session.id, progress.index, f"{given}|{int(correct)}|{now:.0f}",
                                     int(correct), ATTEMPT_TTL, given, now])
        if new_idx < 0:
            current = self.progress(openid)
            if current is None or current.session_id != session.id or current.index >= len(session.questions):
                return self._gone(ends)
            return Outcome("stale", question=question, next_index=current.index)
        outcome = Outcome("answered", question=question, correct=correct, next_index=new_idx)
        if new_idx >= len(session.questions):
            outcome.result = self._finish(openid, session, self.progress(openid), now, ends)
        return outcome

    def _double_send(self, openid: str, previous: Question, raw: str, now: float) -> bool:
        """True when raw, sent within DOUBLE_TAP_SECONDS of the last answer, gives the previous
        question the same answer again, however it is worded (`B`, then `选B`)."""
        last_given, last_at = self._redis.hmget(attempt_key(openid), "last_given", "last_at")
        if not last_given or last_at is None or now - float(last_at) >= DOUBLE_TAP_SECONDS:
            return False
        return previous.parse(raw) == last_given

    def _finish(self, openid: str, session: Session, progress: Progress, now: float,
                ends: tuple[str, ...] = ()) -> Result:
        counted = self._count(openid, session, progress)
        self._redis.delete(attempt_key(openid), *ends)  # one slot: the user's
        last_answer = progress.answers[-1][2] if progress.answers else now
        rank = self.rank_in_session(session.id, openid) if counted else None
        return Result(session, progress.right * POINTS_PER_QUESTION, progress.right,
                      int(last_answer - progress.started), counted, rank, self.streak(openid, now),
                      self.result_of(openid, session), self._redis.hget(_profile_key(openid), "branch") or "")

    def _count(self, openid: str, session: Session, progress: Progress) -> bool:
        """Record the attempt's score and evidence if it is the one that counts."""
        if not (progress.counted and progress.answers and progress.answers[-1][2] < session.closes):
            return False
        points = progress.right * POINTS_PER_QUESTION
        evidence = json.dumps({"s": int(progress.started), "p": points,
                               "a": [[g, int(ok), int(at - progress.started)] for g, ok, at in progress.answers]},
                              separators=(",", ":"))
        return bool(self._record(keys=[scores_key(session.id), TOTAL, DONE_COUNT, evidence_key(session.id),
                                       session_key(session.id)],
                                 args=[openid, points, evidence]))

    def record_completed(self, openid: str, session: Session, answers: list[str], started: float,
                         seconds_each: int = 20) -> bool:
        """Count a whole attempt at once (demo data, imports), under the same first-one-counts rule."""
        progress = Progress(session.id, len(answers), started, session.is_open(started))
        for i, (given, question) in enumerate(zip(answers, session.questions), start=1):
            ok = given == question.answer
            progress.right += ok
            progress.answers.append((given, ok, started + i * seconds_each))
        return self._count(openid, session, progress)

    # -- scores ---------------------------------------------------------------
    def result_of(self, openid: str, session: Session) -> tuple[int, int] | None:
        """(points, rank) of the user's counted attempt at session, or None."""
        points = self._redis.zscore(scores_key(session.id), openid)
        return None if points is None else (int(points), self.rank_in_session(session.id, openid))

    def rank_in_session(self, sid: str, openid: str) -> int | None:
        return _rank(self._redis, scores_key(sid), openid)

    def rank_all_time(self, openid: str) -> int | None:
        return _rank(self._redis, TOTAL, openid)

    def totals(self, openid: str) -> tuple[int, int]:
        """(cumulative points, sessions completed)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.zscore(TOTAL, openid)
        pipe.zscore(DONE_COUNT, openid)
        points, done = pipe.execute()
        return int(points or 0), int(done or 0)

    def top_in_session(self, sid: str, n: int = 10) -> list[tuple[int, str, int]]:
        """[(rank, openid, points)] of the n best in one session, ties sharing a rank."""
        return self._top(scores_key(sid), n)

    def top_all_time(self, n: int = 10) -> list[tuple[int, str, int]]:
        """[(rank, openid, points)] of the n best over all sessions, ties sharing a rank."""
        return self._top(TOTAL, n)

    def _top(self, zkey: str, n: int) -> list[tuple[int, str, int]]:
        rows = self._redis.zrevrange(zkey, 0, n - 1, withscores=True)
        return [(rank, openid, int(points)) for rank, (openid, points) in ranked(rows, lambda row: row[1])]

    def streak(self, openid: str, now: float) -> int:
        """Consecutive sessions counted, back from the latest; an open one not yet done does not break it.
        Reads back from the latest only as far as the streak goes (a batch at a time), not every session."""
        streak, start = 0, 0
        while True:
            rows = self._redis.zrevrangebyscore(SESSIONS, now, "-inf", start=start, num=STREAK_BATCH,
                                                withscores=True)  # newest first: opened at or before now
            if not rows:
                return streak
            start += STREAK_BATCH
            pipe = self._redis.pipeline(transaction=False)
            pipe.zmscore(CLOSES, [sid for sid, _ in rows])
            for sid, _ in rows:
                pipe.zscore(scores_key(sid), openid)
            closes, *done = pipe.execute()
            for (sid, opens), closing, ok in zip(rows, closes, done):
                if closing is None:
                    continue  # deleted meanwhile
                if ok is not None:
                    streak += 1
                elif opens <= now < closing and streak == 0:
                    continue
                else:
                    return streak
            if len(rows) < STREAK_BATCH:
                return streak

    # -- branches and statistics ---------------------------------------------
    def branch_standings(self, sid: str) -> list[BranchStanding]:
        """Branches ranked by completion rate, then average score; ties share a rank."""
        branches = sorted(self._redis.hgetall(BRANCHES).items())
        standings = []
        for bid, name in branches:
            members = list(self._redis.smembers(branch_members_key(bid)))
            scores = [s for s in (self._redis.zmscore(scores_key(sid), members) if members else []) if s is not None]
            standings.append(BranchStanding(bid, name, len(members), len(scores),
                                            sum(scores) / len(scores) if scores else 0.0))
        standings.sort(key=lambda b: (-b.rate, -b.average, b.branch_id))
        for rank, b in ranked(standings, lambda b: (b.rate, b.average)):
            b.rank = rank
        return standings

    def non_completers(self, sid: str) -> list[str]:
        """Members of any branch who have no counted attempt at session sid, sorted."""
        return sorted(set(self.iter_non_completers(sid)))

    def iter_non_completers(self, sid: str, batch: int = 500):
        """Yield members without a counted attempt, reading members batch by batch (SSCAN)."""
        for bid in self._redis.hkeys(BRANCHES):
            chunk = []
            for openid in self._redis.sscan_iter(branch_members_key(bid), count=batch):
                chunk.append(openid)
                if len(chunk) == batch:
                    yield from self._without_score(sid, chunk)
                    chunk = []
            yield from self._without_score(sid, chunk)

    def _without_score(self, sid: str, openids: list[str]):
        if openids:
            scores = self._redis.zmscore(scores_key(sid), openids)
            yield from (o for o, s in zip(openids, scores) if s is None)

    def members(self) -> list[str]:
        bids = self._redis.hkeys(BRANCHES)
        return sorted(self._redis.sunion([branch_members_key(b) for b in bids])) if bids else []

    def participants(self, sid: str) -> list[tuple[str, int]]:
        return [(o, int(p)) for o, p in self._redis.zrange(scores_key(sid), 0, -1, withscores=True)]

    def evidence(self, sid: str, openid: str) -> dict | None:
        raw = self._redis.hget(evidence_key(sid), openid)
        return json.loads(raw) if raw else None


def build_index(redis, start: int, batch: int = 200) -> int:
    """Note when each of a batch of sessions closes (offset start); return the next offset, 0 when done.
    Run once by domain/indexes.py for a store written before CLOSES existed."""
    ids = redis.zrange(SESSIONS, start, start + batch - 1)
    pipe = redis.pipeline(transaction=False)
    for sid in ids:
        pipe.get(session_key(sid))
    closes = {s.id: s.closes for s in (Session.from_json(r) for r in pipe.execute() if r)} if ids else {}
    if closes:
        redis.zadd(CLOSES, closes)
    return start + batch if len(ids) == batch else 0


def _rank(redis, zkey: str, openid: str) -> int | None:
    score = redis.zscore(zkey, openid)
    if score is None:
        return None
    return redis.zcount(zkey, f"({score}", "+inf") + 1
