"""The hours ledger: every volunteer's activities in a period, the hours credited, and those not credited and why.

What the committee copies into the volunteer registration platforms and gives
schools. One row per confirmed volunteer and activity that has started in the
period (cancelled activities are left out: nobody served), with the reason a
row earns no hours:

- 未到: signed up, never checked in (a no-show);
- 未签退: checked in, never checked out (staff can still record the time on the event page);
- 停留不足: checked out before staying 60% of the activity (domain/events.py credited_minutes);
- 进行中: the activity has not ended yet.

Waitlisted people are not in it (they were never expected). A person who deleted
their data keeps their hours under 已删除个人信息.
"""
from __future__ import annotations

from dataclasses import dataclass

from domain.events import Events, Occurrence
from domain.profiles import Profiles

REASONS = {"absent": "未到", "no_checkout": "未签退", "too_short": "停留不足活动时长60%", "running": "活动进行中"}
MAX_DAYS = 400  # a ledger covers at most this many days (a year and a little)


@dataclass
class LedgerRow:
    openid: str
    name: str
    phone: str
    occ: Occurrence
    came: int | None
    left: int | None
    minutes: int  # credited
    reason: str  # "" when credited, else a key of REASONS

    @property
    def reason_text(self) -> str:
        return REASONS.get(self.reason, "")


@dataclass
class Person:
    openid: str
    name: str
    phone: str
    activities: int
    minutes: int
    not_credited: int


def ledger(redis, start: float, end: float, now: float) -> list[LedgerRow]:
    """Rows for activities that started in [start, end), by activity then sign-up order."""
    events = Events(redis)
    rows: list[tuple[Occurrence, str, tuple]] = []
    for occ in events.between(start, end, kind="volunteer"):
        if occ.status == "cancelled" or occ.start > now:
            continue
        times = events.attendance(occ.id)
        for openid in events.confirmed(occ.id):
            rows.append((occ, openid, times.get(openid, (None, None, None))))
    people = Profiles(redis).many(list(dict.fromkeys(o for _, o, _ in rows)))
    out = []
    for occ, openid, (came, left, minutes) in rows:
        p = people[openid]
        credited = int(minutes or 0)
        if credited:
            reason = ""
        elif came is None:
            reason = "running" if occ.end > now else "absent"
        elif left is None:
            reason = "running" if occ.end > now else "no_checkout"
        else:
            reason = "too_short"
        out.append(LedgerRow(openid, p.name, p.phone, occ, came, left, credited, reason))
    return out


def by_person(rows: list[LedgerRow]) -> list[Person]:
    """One line per volunteer: activities, hours credited, activities not credited; most hours first."""
    people: dict[str, Person] = {}
    for r in rows:
        p = people.setdefault(r.openid, Person(r.openid, r.name, r.phone, 0, 0, 0))
        p.activities += 1
        p.minutes += r.minutes
        p.not_credited += 0 if r.minutes else 1
    return sorted(people.values(), key=lambda p: (-p.minutes, p.name, p.openid))


def no_shows(redis, occ: Occurrence, now: float) -> list[str]:
    """The confirmed volunteers of an activity that has started who never checked in."""
    if occ.start > now:
        return []
    checked_in = Events(redis).attendance(occ.id)
    return [o for o in Events(redis).confirmed(occ.id) if o not in checked_in]
