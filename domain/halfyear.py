"""The committee's figures for a period (a half year, usually), each with the records behind it.

Which records belong to a period, decided here:
- a quiz session belongs to the period it opens in; an attempt counts if it was
  completed before the period ends (a session still open at the end is counted
  with the attempts made by then);
- an activity belongs to the period it starts in (one that straddles the end is
  reported once, in the period it started); it was held if it has started, was
  not cancelled, and someone checked in or its organiser recorded an outcome;
- volunteer-hours are the minutes credited at check-out (60% rule, domain/events.py);
- a job posting's positions belong to the period it was published in; its fair is
  the job-fair event it names; interest and hires count when they happened (a hire
  recorded before hire times were kept: at its posting's publication), people who
  deleted their data included; 现场签约 are a fair's hires by the end of its day;
- followers gained and lost are follows and unfollows logged in the period;
  active followers are those who wrote to the account in it;
- 人 counts distinct people, 人次 people at each activity added up (docs/report.md);
- rates are compared exactly (fractions): tied branches are all named;
- a period is a day, today or today-N to another, at most three years (Period.parse:
  the one rule for the CLI and the console).

An empty period gives zeros and empty lists, never a division by zero.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction

from domain import clock
from domain.events import INDEX as EVENTS_INDEX, Events, Occurrence, occ_key
from domain.followers import Followers
from domain.jobs import Jobs
from domain.outcomes import ActivityOutcome, Outcomes, Programme
from domain.profiles import Profiles, branch_members_key
from domain.push_log import daily_counts
from domain.quiz import POINTS_PER_QUESTION, Quiz, Session, evidence_key

DEFAULT_REGULAR_SHARE = 0.5
MIN_SESSIONS_REGULAR = 4  # fewer sessions than this: no one is a "regular" participant
# The order the committee's summary takes the kinds of activity in; others follow by name.
KIND_ORDER = ("敬老", "义诊", "便民服务", "捐赠", "四点半课堂", "希望家园", "护河", "洁城")
OTHER_KIND = "其他"


DEFAULT_FROM, DEFAULT_TO = "today-180", "today"  # the report's period when none is given (CLI, console)
MAX_PERIOD_DAYS = 3 * 366  # the longest period a report covers (three years)
_DAY = re.compile(r"^(?:(\d{4}-\d{1,2}-\d{1,2})|today(?:\s*([+-])\s*(\d{1,5}))?)$")


class PeriodError(ValueError):
    """A period the report cannot cover, with the reason in the staff's words (CLI and console alike)."""


FIRST_YEAR, LAST_YEAR = 2000, 2100  # the years a report's period may span


def parse_day(text: str, today: date | None = None) -> date:
    """'2026-01-01', 'today', 'today-180' or 'today+7' as a day; anything else is refused (PeriodError)."""
    m = _DAY.match(str(text).strip())
    if not m:
        raise PeriodError(f"日期格式应为 2026-01-01（或 today、today-180），不是“{text}”")
    if m[1]:
        try:
            return date.fromisoformat("-".join(f"{int(x):02d}" for x in m[1].split("-")))
        except ValueError:
            raise PeriodError(f"没有这一天：{text}") from None
    today = today or clock.local(clock.now()).date()
    days = int(m[3] or 0) * (-1 if m[2] == "-" else 1)
    return today + timedelta(days=days)


@dataclass(frozen=True)
class Period:
    start: float  # first moment, inclusive
    end: float  # the moment after the last day ends: exclusive
    first: date
    last: date

    @classmethod
    def of_days(cls, first: date, last: date) -> "Period":
        """The one rule for a report's period (CLI and console): last not before first, at most three years."""
        if not (FIRST_YEAR <= first.year and last.year <= LAST_YEAR):  # 0001-01-01, 9999-12-31: words, not a 500
            raise PeriodError(f"日期应在{FIRST_YEAR}年到{LAST_YEAR}年之间")
        if last < first:
            raise PeriodError(f"结束日期（{last}）不能早于开始日期（{first}）")
        if (last - first).days + 1 > MAX_PERIOD_DAYS:
            raise PeriodError(f"时间段最长三年（{MAX_PERIOD_DAYS}天），所选为{(last - first).days + 1}天")
        start = clock.parse_when(f"{first:%Y-%m-%d}")
        end = clock.parse_when(f"{last + timedelta(days=1):%Y-%m-%d}")
        return cls(start, end, first, last)

    @classmethod
    def parse(cls, first: str, last: str, today: date | None = None) -> "Period":
        """From '2026-01-01' and '2026-06-30' (or 'today-180', 'today'), both days included."""
        return cls.of_days(parse_day(first, today), parse_day(last, today))

    def __contains__(self, ts: float) -> bool:
        return self.start <= ts < self.end

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def until(self, made_at: float) -> date | None:
        """The day the records stop when the report is made before the period is over, else None."""
        today = clock.local(made_at).date()
        return today if today < self.last else None

    def label(self) -> str:
        """2026年上半年 / 2026年下半年 / 2026年 / 2026年5月30日至11月26日 / 2026年12月2日."""
        a, b = self.first, self.last
        if a.year == b.year and (a.month, a.day) == (1, 1) and (b.month, b.day) in ((6, 30), (12, 31)):
            return f"{a.year}年" + ("上半年" if b.month == 6 else "")
        if a.year == b.year and (a.month, a.day, b.month, b.day) == (7, 1, 12, 31):
            return f"{a.year}年下半年"
        if a == b:
            return f"{a.year}年{a.month}月{a.day}日"
        tail = f"{b.month}月{b.day}日" if a.year == b.year else f"{b.year}年{b.month}月{b.day}日"
        return f"{a.year}年{a.month}月{a.day}日至{tail}"


# -- study ---------------------------------------------------------------------------
@dataclass
class SessionRow:
    id: str
    title: str
    opens: float
    closes: float
    participants: list[str]  # counted attempts completed within the period
    average: float  # score out of 100
    after_period: int  # counted attempts completed after the period ended (left out)


def _ratio(done: int, possible: int) -> Fraction:
    return Fraction(done, possible) if possible else Fraction(0)


@dataclass
class BranchRow:
    id: str
    name: str
    members: int
    completions: int  # counted attempts by its members, summed over the sessions
    possible: int  # members x sessions
    score_sum: Fraction  # of its members' attempts, each out of 100 (exact: ties are ties)
    first: tuple[int, int]  # (completions, possible) over the first half of the sessions
    second: tuple[int, int]  # ... and the second half

    @property
    def exact_rate(self) -> Fraction:
        return _ratio(self.completions, self.possible)

    @property
    def rate(self) -> float:
        return float(self.exact_rate)

    @property
    def average(self) -> float:
        return float(self.score_sum / self.completions) if self.completions else 0.0

    @property
    def first_rate(self) -> float:
        return float(_ratio(*self.first))

    @property
    def second_rate(self) -> float:
        return float(_ratio(*self.second))

    @property
    def exact_improvement(self) -> Fraction:
        return _ratio(*self.second) - _ratio(*self.first)

    @property
    def improvement(self) -> float:
        return float(self.exact_improvement)


@dataclass
class Study:
    sessions: list[SessionRow]
    participants: list[str]  # distinct, in any session of the period
    regular: list[str]  # completed at least `threshold` sessions
    regular_share: float
    threshold: int
    completed_by: dict[str, int]  # openid -> sessions completed in the period
    branches: list[BranchRow]
    most_improved: list[BranchRow]  # every branch tied for the largest rise, in the branches' order
    best: list[BranchRow]  # every branch tied for the highest completion rate (exact), in the branches' order

    @property
    def attempts(self) -> int:
        return sum(len(s.participants) for s in self.sessions)

    @property
    def member_rate(self) -> float:
        possible = sum(b.possible for b in self.branches)
        return sum(b.completions for b in self.branches) / possible if possible else 0.0

    @property
    def average(self) -> float:
        n = self.attempts
        return sum(s.average * len(s.participants) for s in self.sessions) / n if n else 0.0


READ_BATCH = 1000  # entries read per call: the report's memory grows with the people counted, not with a reply


def _session_scores(redis, s: Session, cutoff: float, names: dict) -> tuple[dict[str, int], int]:
    """({openid: points} of the counted attempts completed before cutoff, how many were completed later), read from the
    session's kept answers READ_BATCH at a time (HSCAN; an attempt returned twice is one key of the dict). `names`
    keeps one copy of each openid across sessions."""
    inside, late = {}, set()
    for openid, raw in redis.hscan_iter(evidence_key(s.id), count=READ_BATCH):
        ev = json.loads(raw)
        openid = names.setdefault(openid, openid)
        if ev["s"] + (ev["a"][-1][2] if ev["a"] else 0) < cutoff:
            inside[openid] = ev["p"]
        else:
            late.add(openid)
    return inside, len(late)


def _points_sum(s: Session, points) -> Fraction:
    """The sum of attempts' scores out of 100 (exact)."""
    return Fraction(100 * sum(points), POINTS_PER_QUESTION * len(s.questions) or 1)


def study_figures(redis, period: Period, now: float, share: float = DEFAULT_REGULAR_SHARE) -> Study:
    sessions = [s for s in Quiz(redis).sessions() if s.opens in period and s.opens <= now]
    cutoff = min(period.end, now + 1)
    rows, completed_by, attempts, names = [], {}, {}, {}
    for s in sessions:
        inside, late = _session_scores(redis, s, cutoff, names)
        rows.append(SessionRow(s.id, s.title, s.opens, s.closes, sorted(inside),
                               float(_points_sum(s, inside.values()) / len(inside)) if inside else 0.0, late))
        for o in inside:
            completed_by[o] = completed_by.get(o, 0) + 1
        attempts[s.id] = inside
    # "regular" needs a run of sessions to mean anything: with fewer than MIN_SESSIONS_REGULAR there is none
    threshold = max(2, math.ceil(Fraction(share).limit_denominator(1000) * len(sessions))) \
        if len(sessions) >= MIN_SESSIONS_REGULAR else 0
    regular = sorted(o for o, n in completed_by.items() if threshold and n >= threshold)
    branches = _branch_rows(redis, sessions, attempts)
    improved = [b for b in branches if len(sessions) >= 2 and b.members and b.exact_improvement > 0]
    top_rise = max((b.exact_improvement for b in improved), default=None)
    members = [b for b in branches if b.members and b.completions]
    top_rate = max((b.exact_rate for b in members), default=None)
    return Study(rows, sorted(completed_by), regular, share, threshold, completed_by, branches,
                 [b for b in improved if b.exact_improvement == top_rise],
                 [b for b in members if b.exact_rate == top_rate])


def _branch_rows(redis, sessions: list[Session], attempts: dict[str, dict]) -> list[BranchRow]:
    """attempts: {session id: {openid: points}}. Each branch's members read READ_BATCH at a time (SSCAN)."""
    half = len(sessions) // 2
    rows = []
    for bid, name in Profiles(redis).branches():
        members = set(redis.sscan_iter(branch_members_key(bid), count=READ_BATCH))
        done_in = {s.id: [attempts[s.id][o] for o in members if o in attempts[s.id]] for s in sessions}

        def done(part: list[Session]) -> tuple[int, int]:
            return sum(len(done_in[s.id]) for s in part), len(members) * len(part)

        rows.append(BranchRow(bid, name, len(members), sum(len(v) for v in done_in.values()),
                              len(members) * len(sessions),
                              sum((_points_sum(s, done_in[s.id]) for s in sessions), Fraction(0)),
                              done(sessions[:half]), done(sessions[half:])))
    return rows


# -- volunteering ----------------------------------------------------------------------
@dataclass
class ActivityRow:
    occurrence: Occurrence
    volunteers: list[str]  # checked in
    minutes: int  # credited
    outcome: ActivityOutcome | None

    @property
    def kind(self) -> str:
        return self.occurrence.category or OTHER_KIND

    @property
    def performance(self) -> bool:
        return bool(self.acts)

    @property
    def served(self) -> int:
        """People served (人次); a performance's people are its audience, not people served."""
        return self.outcome.served if self.outcome and not self.performance else 0

    @property
    def audience(self) -> int:
        return self.outcome.served if self.outcome and self.performance else 0

    @property
    def attendances(self) -> int:
        """Volunteers at this activity (人次): those who checked in and those who came without signing up."""
        return len(self.volunteers) + self.walk_ins

    @property
    def walk_ins(self) -> int:
        return self.outcome.walk_ins if self.outcome else 0

    @property
    def acts(self) -> int:
        return self.outcome.acts if self.outcome else 0


@dataclass
class KindRow:
    """Activities of one kind (or all of them), added up."""

    kind: str
    activities: list[ActivityRow]

    @property
    def volunteers(self) -> list[str]:
        return sorted({o for a in self.activities for o in a.volunteers})

    @property
    def walk_ins(self) -> int:
        return sum(a.walk_ins for a in self.activities)

    @property
    def people(self) -> int | None:
        """Distinct people who volunteered (名): those who checked in, plus the walk-ins when they all came to one
        activity (walk-ins at several activities may be the same people: then it is not known, None)."""
        if sum(1 for a in self.activities if a.walk_ins) > 1:
            return None
        return len(self.volunteers) + self.walk_ins

    @property
    def attendances(self) -> int:
        """Volunteers counted at each activity and added up (人次)."""
        return sum(a.attendances for a in self.activities)

    @property
    def audience(self) -> int:
        return sum(a.audience for a in self.activities)

    @property
    def days(self) -> list[str]:
        """The days (local dates) the activities were held on."""
        return sorted({f"{clock.local(a.occurrence.start):%Y-%m-%d}" for a in self.activities})

    @property
    def minutes(self) -> int:
        return sum(a.minutes for a in self.activities)

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)

    @property
    def served(self) -> int:
        return sum(a.served for a in self.activities)

    @property
    def items(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for a in self.activities:
            for name, n in (a.outcome.items if a.outcome else {}).items():
                total[name] = total.get(name, 0) + n
        return total

    @property
    def services(self) -> list[str]:
        return _union(a.outcome.services for a in self.activities if a.outcome)

    @property
    def partners(self) -> list[str]:
        return _union(a.outcome.partners for a in self.activities if a.outcome)

    @property
    def places(self) -> list[str]:
        return _union([a.occurrence.place] for a in self.activities)

    @property
    def titles(self) -> list[str]:
        return _union([a.occurrence.title] for a in self.activities)

    @property
    def notes(self) -> list[str]:
        return _union([a.outcome.note] for a in self.activities if a.outcome and a.outcome.note)


@dataclass
class ProgrammeRow:
    programme: Programme
    activities: list[ActivityRow]

    @property
    def total(self) -> KindRow:
        return KindRow(self.programme.category, self.activities)

    @property
    def sites_active(self) -> list[str]:
        return [s for s in self.programme.sites if any(a.occurrence.site == s for a in self.activities)]

    @property
    def performances(self) -> list[ActivityRow]:
        return [a for a in self.activities if a.acts]

    @property
    def acts(self) -> int:
        return sum(a.acts for a in self.activities)


@dataclass
class Volunteering:
    kinds: list[KindRow]
    programmes: list[ProgrammeRow]
    unrecorded: list[Occurrence]  # started, not cancelled, nobody checked in and no outcome

    @property
    def total(self) -> KindRow:
        return KindRow("合计", [a for k in self.kinds for a in k.activities])

    def kind(self, name: str) -> KindRow:
        return next((k for k in self.kinds if k.kind == name), KindRow(name, []))


def _union(lists) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for values in lists:
        for v in values:
            if v and v not in seen:
                seen.add(v)
                out.append(v)
    return out


def _occurrences_in(redis, period: Period, now: float, kind: str) -> list[Occurrence]:
    ids = redis.zrangebyscore(EVENTS_INDEX, period.start, f"({period.end}")
    return [o for o in Events(redis).get_many(ids)
            if o and o.kind == kind and o.status != "cancelled" and o.start <= now]


def activity_rows(redis, occurrences: list[Occurrence]) -> list[ActivityRow]:
    raw = []
    for at in range(0, len(occurrences), 100):  # pipelines of a bounded size
        pipe = redis.pipeline(transaction=False)
        for o in occurrences[at:at + 100]:
            pipe.hkeys(occ_key(o.id, "checkin"))
            pipe.hvals(occ_key(o.id, "minutes"))
        raw += pipe.execute()
    outcomes = Outcomes(redis).get_many([o.id for o in occurrences])
    return [ActivityRow(o, sorted(raw[2 * i]), sum(int(m) for m in raw[2 * i + 1]), outcomes.get(o.id))
            for i, o in enumerate(occurrences)]


def volunteering_figures(redis, period: Period, now: float) -> Volunteering:
    rows = activity_rows(redis, _occurrences_in(redis, period, now, "volunteer"))
    held = [a for a in rows if a.volunteers or a.outcome]
    by_kind: dict[str, list[ActivityRow]] = {}
    for a in sorted(held, key=lambda a: a.occurrence.start):
        by_kind.setdefault(a.kind, []).append(a)
    order = {k: i for i, k in enumerate(KIND_ORDER)}
    kinds = [KindRow(k, acts) for k, acts in sorted(by_kind.items(),
                                                    key=lambda kv: (order.get(kv[0], len(order)), kv[0]))]
    programmes = [ProgrammeRow(p, [a for a in held if a.occurrence.programme == p.id])
                  for p in Outcomes(redis).programmes() if p.start < period.end and p.end > period.start]
    return Volunteering(kinds, programmes, [a.occurrence for a in rows if not (a.volunteers or a.outcome)])


# -- jobs ------------------------------------------------------------------------------
@dataclass
class PostingRow:
    id: str
    number: int
    employer: str
    title: str
    category: str
    headcount: int
    published: float
    fair: str
    interested: list[str]  # registered interest in the period ("gone:…" for people who deleted their data)
    hired: list[str]  # hired in the period
    hired_at: list[tuple[str, float]] = field(default_factory=list)  # (who, when) of those hires
    in_period: bool = True  # published in the period


@dataclass
class PostingSet:
    """Postings added up: those of one fair, one category, or all in the period.

    Positions and employers are those of the postings offered (published in the period; a fair's: all that
    name it); interest and hires are those that happened in the period, whenever the posting was published."""

    name: str
    postings: list[PostingRow]
    offered_all: bool = False  # a fair's set: every posting offered at it counts, whenever published

    @property
    def offered(self) -> list[PostingRow]:
        return self.postings if self.offered_all else [p for p in self.postings if p.in_period]

    @property
    def employers(self) -> list[str]:
        return _union([p.employer] for p in self.offered)

    @property
    def headcount(self) -> int:
        return sum(p.headcount for p in self.offered)

    @property
    def interested(self) -> list[str]:
        return sorted({o for p in self.postings for o in p.interested})

    @property
    def registrations(self) -> int:
        return sum(len(p.interested) for p in self.postings)

    @property
    def hires(self) -> int:
        return sum(len(p.hired) for p in self.postings)


@dataclass
class FairRow:
    occurrence: Occurrence
    postings: PostingSet
    day_ends: float  # the end of the fair's (last) day: hires up to then were signed at the fair

    @property
    def on_site(self) -> list[tuple[str, str]]:
        """(posting, who) hired in the period by the end of the fair's day."""
        return [(p.id, who) for p in self.postings.postings for who, when in p.hired_at if when < self.day_ends]

    @property
    def later(self) -> list[tuple[str, str]]:
        """(posting, who) hired in the period after the fair's day."""
        return [(p.id, who) for p in self.postings.postings for who, when in p.hired_at if when >= self.day_ends]


@dataclass
class JobsFigures:
    fairs: list[FairRow]
    all: PostingSet
    categories: list[PostingSet]


def _end_of_day(ts: float) -> float:
    return clock.parse_when(f"{clock.local(ts).date() + timedelta(days=1):%Y-%m-%d}")


def jobs_figures(redis, period: Period, now: float) -> JobsFigures:
    """Postings published in the period; interest and hires counted when they happened (a hire recorded before
    hire times were kept counts at its posting's publication), so a closed period's figures never change."""
    cutoff = min(period.end, now + 1)
    jobs = Jobs(redis)
    fairs = _occurrences_in(redis, period, now, "job_fair")
    fair_ids = {o.event_id for o in fairs}
    postings = sorted((p for p in jobs.all() if p.published <= now), key=lambda p: (p.published, p.id))
    timeline = jobs.outcomes_over_time([p.id for p in postings])
    rows = []
    for p in postings:
        t = timeline[p.id]

        def inside(entries):
            return [(who, p.published if when is None else when) for who, when in entries
                    if period.start <= (p.published if when is None else when) < cutoff]

        interested, hired = inside(t.interest), inside(t.hired)
        published_in = p.published in period
        if published_in or interested or hired or p.fair in fair_ids:
            rows.append(PostingRow(p.id, p.number, p.employer, p.title, p.category, p.headcount, p.published,
                                   p.fair, [w for w, _ in interested], [w for w, _ in hired], hired, published_in))
    fair_rows = []
    for o in fairs:  # a fair's postings: those naming it published by the end of its day, whenever that was
        day_ends = _end_of_day(max(o.start, o.end - 1))
        fair_rows.append(FairRow(o, PostingSet(o.title, [r for r in rows if r.fair == o.event_id
                                                         and r.published < day_ends], offered_all=True), day_ends))
    counted = [r for r in rows if r.in_period or r.interested or r.hired]
    by_category: dict[str, list[PostingRow]] = {}
    for r in counted:
        by_category.setdefault(r.category, []).append(r)
    categories = sorted((PostingSet(c, rs) for c, rs in by_category.items()),
                        key=lambda s: (-s.headcount, -s.hires, s.name))
    return JobsFigures(fair_rows, PostingSet("合计", counted), categories)


# -- reach -----------------------------------------------------------------------------
@dataclass
class Reach:
    gained: list[str]
    lost: list[str]
    active: list[str]  # wrote to the account in the period
    followers_now: int
    pushes: dict[str, dict[str, int]]  # day -> {"<kind>:<status>": count}

    def pushes_by(self, status: str = "sent") -> dict[str, int]:
        """{kind: count} of pushes that ended with status in the period."""
        out: dict[str, int] = {}
        for counts in self.pushes.values():
            for k, n in counts.items():
                kind, _, st = k.rpartition(":")
                if st == status:
                    out[kind] = out.get(kind, 0) + n
        return out

    @property
    def pushes_sent(self) -> int:
        return sum(self.pushes_by("sent").values())


def reach_figures(redis, period: Period, now: float) -> Reach:
    f = Followers(redis)
    end = min(period.end, now + 1)
    return Reach(f.followed_between(period.start, end), f.unfollowed_between(period.start, end),
                 f.seen_between(period.start, end), f.count(), daily_counts(redis, period.start, end))


# -- all of it -------------------------------------------------------------------------
@dataclass
class Figure:
    """One figure of the report: its exact value and the records it was counted from."""

    section: str
    label: str
    value: int | float
    unit: str
    basis: list = field(default_factory=list)


@dataclass
class HalfYear:
    period: Period
    made_at: float
    study: Study
    volunteering: Volunteering
    jobs: JobsFigures
    reach: Reach

    @property
    def empty(self) -> bool:
        """Nothing at all happened in the period (as far as youthbot knows)."""
        return not (self.study.sessions or self.volunteering.kinds or self.jobs.fairs or self.jobs.all.postings
                    or self.reach.gained or self.reach.lost or self.reach.active or self.reach.pushes)

    def figures(self) -> list[Figure]:
        return _study_figures(self.study) + _volunteer_figures(self.volunteering) + \
            _jobs_figures(self.jobs) + _reach_figures(self.reach)


def compute(redis, period: Period, now: float | None = None, share: float = DEFAULT_REGULAR_SHARE) -> HalfYear:
    """Every figure of the report for period, as the records stand at now."""
    now = clock.now() if now is None else now
    return HalfYear(period, now, study_figures(redis, period, now, share), volunteering_figures(redis, period, now),
                    jobs_figures(redis, period, now), reach_figures(redis, period, now))


def _pct(x: float) -> float:
    return round(100 * x, 1)


def _study_figures(s: Study) -> list[Figure]:
    sec = "学习"
    out = [Figure(sec, "网上答题期数", len(s.sessions), "期", [r.id for r in s.sessions]),
           Figure(sec, "参与答题人数（去重）", len(s.participants), "人", s.participants)]
    if s.threshold:
        out.append(Figure(sec, f"长期参与人数（完成{s.threshold}期及以上）", len(s.regular), "人", s.regular))
    out += [Figure(sec, "答题总人次", s.attempts, "人次", [(r.id, len(r.participants)) for r in s.sessions]),
            Figure(sec, "平均得分（百分制）", round(s.average, 1), "分", [(r.id, round(r.average, 1)) for r in s.sessions]),
            Figure(sec, "团员完成率", _pct(s.member_rate), "%",
                   [(b.name, b.completions, b.possible) for b in s.branches])]
    for b in s.branches:
        out.append(Figure(sec, f"{b.name}完成率", _pct(b.rate), "%", [(b.completions, b.possible)]))
        out.append(Figure(sec, f"{b.name}平均得分", round(b.average, 1), "分", [b.completions]))
    for b in s.most_improved:
        out.append(Figure(sec, f"进步最快支部：{b.name}（完成率提高）", _pct(b.improvement), "百分点",
                          [(b.name, _pct(b.first_rate), _pct(b.second_rate))]))
    return out


def _kind_figures(sec: str, k: KindRow, prefix: str) -> list[Figure]:
    ids = [a.occurrence.id for a in k.activities]
    out = [Figure(sec, f"{prefix}活动场次", len(k.activities), "场", ids),
           Figure(sec, f"{prefix}参与志愿者", k.attendances, "人次", [(i, a.attendances) for i, a in zip(ids, k.activities)]),
           Figure(sec, f"{prefix}签到志愿者（去重）", len(k.volunteers), "人", k.volunteers),
           Figure(sec, f"{prefix}现场参与未报名志愿者", k.walk_ins, "人次", [(i, a.walk_ins) for i, a in zip(ids, k.activities)]),
           Figure(sec, f"{prefix}志愿服务时长", k.hours, "小时", [(i, a.minutes) for i, a in zip(ids, k.activities)]),
           Figure(sec, f"{prefix}服务群众", k.served, "人次", [(i, a.served) for i, a in zip(ids, k.activities)])]
    if k.audience:
        out.append(Figure(sec, f"{prefix}演出观众", k.audience, "人次",
                          [(i, a.audience) for i, a in zip(ids, k.activities) if a.audience]))
    if k.kind == "四点半课堂":
        out.append(Figure(sec, f"{prefix}开展天数", len(k.days), "天", k.days))
    for name, n in k.items.items():
        out.append(Figure(sec, f"{prefix}捐赠{name}", n, "", [(a.occurrence.id, a.outcome.items[name])
                                                             for a in k.activities
                                                             if a.outcome and name in a.outcome.items]))
    return out


def _volunteer_figures(v: Volunteering) -> list[Figure]:
    sec = "志愿服务"
    out = _kind_figures(sec, v.total, "")
    for k in v.kinds:
        out += _kind_figures(sec, k, f"{k.kind}：")
    for p in v.programmes:
        prefix = f"{p.programme.title}："
        out += [Figure(sec, f"{prefix}站点", len(p.programme.sites), "个", p.programme.sites),
                Figure(sec, f"{prefix}新设站点", len(p.programme.new_sites), "个", p.programme.new_sites),
                Figure(sec, f"{prefix}志愿者（去重）", len(p.total.volunteers), "人", p.total.volunteers),
                Figure(sec, f"{prefix}活动场次", len(p.activities), "场", [a.occurrence.id for a in p.activities]),
                Figure(sec, f"{prefix}志愿服务时长", p.total.hours, "小时", [(a.occurrence.id, a.minutes)
                                                                       for a in p.activities]),
                Figure(sec, f"{prefix}服务儿童", p.total.served, "人次", [(a.occurrence.id, a.served)
                                                                     for a in p.activities]),
                Figure(sec, f"{prefix}汇报演出", len(p.performances), "场",
                       [a.occurrence.id for a in p.performances]),
                Figure(sec, f"{prefix}节目", p.acts, "个", [(a.occurrence.id, a.acts) for a in p.performances])]
    return out


def _jobs_figures(j: JobsFigures) -> list[Figure]:
    sec = "就业"
    a = j.all
    out = [Figure(sec, "举办招聘会", len(j.fairs), "场", [f.occurrence.id for f in j.fairs]),
           Figure(sec, "发布岗位信息", len(a.offered), "条", [p.id for p in a.offered]),
           Figure(sec, "提供就业岗位（招聘人数）", a.headcount, "个", [(p.id, p.headcount) for p in a.offered]),
           Figure(sec, "用人单位", len(a.employers), "家", a.employers),
           Figure(sec, "投递意向人数（去重）", len(a.interested), "人", a.interested),
           Figure(sec, "投递意向人次", a.registrations, "人次", [(p.id, len(p.interested)) for p in a.postings]),
           Figure(sec, "签约录用", a.hires, "人", [(p.id, o) for p in a.postings for o in p.hired])]
    for f in j.fairs:
        s = f.postings
        out += [Figure(sec, f"{s.name}：岗位", s.headcount, "个", [(p.id, p.headcount) for p in s.offered]),
                Figure(sec, f"{s.name}：用人单位", len(s.employers), "家", s.employers),
                Figure(sec, f"{s.name}：现场签约", len(f.on_site), "人", f.on_site)]
        if f.later:
            out.append(Figure(sec, f"{s.name}：会后签约", len(f.later), "人", f.later))
    for c in j.categories:
        out += [Figure(sec, f"{c.name}：岗位", c.headcount, "个", [p.id for p in c.offered]),
                Figure(sec, f"{c.name}：录用", c.hires, "人", [(p.id, o) for p in c.postings for o in p.hired])]
    return out


def _reach_figures(r: Reach) -> list[Figure]:
    sec = "网上阵地"
    out = [Figure(sec, "新增关注", len(r.gained), "人", r.gained),
           Figure(sec, "取消关注", len(r.lost), "人", r.lost),
           Figure(sec, "净增关注", len(r.gained) - len(r.lost), "人", []),
           Figure(sec, "期间互动用户", len(r.active), "人", r.active),
           Figure(sec, "当前关注人数", r.followers_now, "人", []),
           Figure(sec, "推送消息", r.pushes_sent, "条", sorted(r.pushes_by("sent").items()))]
    return out
