"""Staff's view of an event: the contact list, and telling everyone about a change."""
from __future__ import annotations

from domain import clock
from domain.events import Events, Occurrence, occ_key
from domain.profiles import Profiles


def export_rows(redis, occ: Occurrence) -> tuple[list[str], list[list]]:
    events, profiles = Events(redis), Profiles(redis)
    confirmed, waiting = events.confirmed(occ.id), events.waitlist(occ.id)
    people = profiles.many(confirmed + waiting)
    attendance = events.attendance(occ.id)
    fixed = redis.hgetall(occ_key(occ.id, "fixed"))
    headers = ["状态", "序号", "姓名", "手机号", "签到", "签退", "计入时长(小时)", "备注", "活动", "活动时间", "地点"]
    when = clock.to_naive(occ.start)  # which event the list is of, on every row: the file may be forwarded alone
    rows = []
    for status, openids in (("已报名", confirmed), ("候补", waiting)):
        for position, openid in enumerate(openids, start=1):
            p = people[openid]
            came, left, minutes = attendance.get(openid, (None, None, None))
            rows.append([status, position, p.name, p.phone, clock.to_naive(came) if came else "",
                         clock.to_naive(left) if left else "", round(minutes / 60, 1) if minutes is not None else "",
                         "签到签退由工作人员补录" if openid in fixed else "", occ.title, when, occ.place])
    return headers, rows


def notify_all(redis, outbox, occ: Occurrence, text: str, kind: str) -> int:
    """Queue text for everyone signed up or waitlisted, once per person and change (the occurrence's
    version counts its moves: a move back to an earlier time is a new change)."""
    events = Events(redis)
    version = events.version(occ.id)
    queued = 0
    for openid in events.confirmed(occ.id) + events.waitlist(occ.id):
        queued += outbox.enqueue(openid, text, kind=kind, idem_key=f"{kind}:{occ.id}:v{version}:{openid}",
                                 expires=occ.start)
    return queued


def tell_promoted(outbox, texts, occ: Occurrence, openid: str) -> bool:
    """Queue the notice for a volunteer promoted from the waitlist (once per occurrence and person)."""
    text = texts.get("volunteer.promoted", title=occ.title, when=clock.fmt(occ.start), number=occ.number)
    return outbox.enqueue(openid, text, kind="waitlist_promotion", idem_key=f"promote:{occ.id}:{openid}",
                          expires=occ.start)
