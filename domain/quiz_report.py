"""Figures the committee reports on a quiz session: participation, branches, who has not done it."""
from __future__ import annotations

from dataclasses import dataclass

from domain import clock
from domain.profiles import Profiles
from domain.quiz import Quiz, Session


@dataclass
class SessionStats:
    session: Session
    participants: int  # counted attempts, members or not
    members: int  # people who chose a branch
    member_completers: int
    standings: list
    not_completed: list[str]

    @property
    def completion_rate(self) -> float:
        return self.member_completers / self.members if self.members else 0.0


def session_stats(redis, session: Session) -> SessionStats:
    quiz = Quiz(redis)
    standings = quiz.branch_standings(session.id)
    missing = quiz.non_completers(session.id)
    members = len(quiz.members())
    return SessionStats(session, len(quiz.participants(session.id)), members, members - len(missing),
                        standings, missing)


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
