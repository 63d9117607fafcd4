"""Staff's view of an event: its contact list, as the CLI and the console download it."""
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
    headers = ["状态", "序号", "姓名", "手机号", "签到", "签退", "计入时长(小时)", "备注", "openid"]
    rows = []
    for status, openids in (("已报名", confirmed), ("候补", waiting)):
        for position, openid in enumerate(openids, start=1):
            p = people[openid]
            came, left, minutes = attendance.get(openid, (None, None, None))
            rows.append([status, position, p.name, p.phone, clock.to_naive(came) if came else "",
                         clock.to_naive(left) if left else "", round(minutes / 60, 1) if minutes is not None else "",
                         "签到签退由工作人员补录" if openid in fixed else "", openid])
    return headers, rows

