"""Staff's view of a posting: the people interested in it, for that employer only."""
from __future__ import annotations

from domain import clock
from domain.jobs import Jobs, Posting
from domain.profiles import Profiles

OUTCOME_NAMES = {"registered": "已登记", "contacted": "已联系", "interviewed": "已面试",
                 "hired": "已录用", "not_hired": "未录用"}


def export_rows(redis, p: Posting) -> tuple[list[str], list[list]]:
    """One row per interested person: what the employer needs to contact them, nothing else."""
    rows_in = Jobs(redis).interested(p.id)
    people = Profiles(redis).many([o for o, *_ in rows_in])
    headers = ["序号", "姓名", "手机号", "补充说明", "进度", "登记时间"]
    rows = [[i, people[o].name, people[o].phone, note, OUTCOME_NAMES.get(outcome, outcome), clock.to_naive(when)]
            for i, (o, when, outcome, note) in enumerate(rows_in, start=1)]
    return headers, rows
