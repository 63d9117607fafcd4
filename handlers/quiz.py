"""青年大学习 in chat: take the quiz, see points and rankings, choose a branch."""
from __future__ import annotations

from domain import clock
from domain.quiz import Quiz, Session
from handlers.conversation import Conversation
from handlers.reading import number
from handlers.router import Router

router = Router()


@router.keyword("答题", "学习", "大学习", "青年大学习", "开始答题", "quiz")
@router.click("QUIZ_START")
def start_quiz(ctx):
    """Show the open session's study text and its first question, or resume where the user was."""
    quiz, now = ctx.quiz, clock.now()
    session = quiz.open_session(now)
    if session is None:
        return _nothing_open(ctx, quiz, now)
    progress, resumed = quiz.start(ctx.openid, session, now)
    QUIZ.start(ctx, "quiz.answer", session=session.id)
    if resumed:
        head = ctx.t("quiz.resume", number=progress.index + 1)
    else:
        head = _intro(ctx, session) + ("" if progress.counted else "\n" + ctx.t("quiz.practice_note"))
    return head + "\n\n" + _question(ctx, session, progress.index)


def answer(ctx):
    """Check one answer, explain it, then ask the next question or show the result."""
    quiz, now = ctx.quiz, clock.now()
    session = quiz.session(ctx.flow.data["session"])
    if session is None:
        ctx.flow.end()
        return ctx.t("quiz.gone")
    # One step in the store: the flow ends with the attempt, in the same script (the reply's only write).
    outcome = quiz.answer(ctx.openid, session, ctx.text, now, ends=ctx.flow.keys)
    if outcome.status == "gone":
        ctx.flow.ended()
        return ctx.t("quiz.gone")
    if outcome.status == "invalid":
        invalid = "quiz.invalid_judge" if outcome.question.kind == "judge" else "quiz.invalid"
        return ctx.t(invalid, how=_how(ctx, outcome.question)) + "\n\n" + \
            _question(ctx, session, outcome.next_index)
    if outcome.status == "stale":
        return ctx.t("quiz.stale") + "\n\n" + _question(ctx, session, outcome.next_index)
    q = outcome.question
    verdict = ctx.t("quiz.right" if outcome.correct else "quiz.wrong", answer=q.shown_answer(), explain=q.explain)
    if outcome.result is None:
        return verdict + "\n\n" + _question(ctx, session, outcome.next_index)
    ctx.flow.ended()
    return verdict + "\n\n" + _result(ctx, quiz, outcome.result)


@router.keyword("积分", "我的积分", "我的", "成绩")
@router.click("QUIZ_ME")
def my_points(ctx):
    """Show cumulative points, rank, sessions done and streak."""
    quiz, now = ctx.quiz, clock.now()
    points, done = quiz.totals(ctx.openid)
    if not done:
        progress = quiz.progress(ctx.openid)
        session = quiz.session(progress.session_id) if progress else None
        if session and progress.index < len(session.questions):
            return ctx.t("quiz.me_in_progress", title=session.title)
        return ctx.t("quiz.me_empty")
    current = quiz.open_session(now)
    line = ""
    if current:
        mine = quiz.result_of(ctx.openid, current)
        line = ctx.t("quiz.me_current_done", title=current.title, points=mine[0], rank=mine[1]) if mine \
            else ctx.t("quiz.me_current_todo", title=current.title)
    profile = ctx.profiles.get(ctx.openid)
    if profile.branch:
        line += "\n" + ctx.t("quiz.me_branch", branch=dict(ctx.profiles.branches()).get(profile.branch, ""))
    return ctx.t("quiz.me", points=points, rank=quiz.rank_all_time(ctx.openid), done=done,
                 streak=quiz.streak(ctx.openid, now), current=line.strip())


@router.keyword("排行", "排行榜", "排名")
@router.click("QUIZ_RANK")
def leaderboard(ctx):
    """Top 10 of the current session and of all time, with the user's own ranks."""
    quiz, now = ctx.quiz, clock.now()
    session = quiz.current_session(now)
    if session is None:
        return ctx.t("quiz.none_open") + ctx.t("quiz.no_next")
    session_top, total_top = quiz.top_in_session(session.id), quiz.top_all_time()
    names = _names(ctx, [o for _, o, _ in session_top + total_top])
    mine = ctx.t("quiz.board_mine", session_rank=_rank_text(ctx, quiz.rank_in_session(session.id, ctx.openid)),
                 total_rank=_rank_text(ctx, quiz.rank_all_time(ctx.openid)))
    return ctx.t("quiz.board", title=session.title, session_rows=_rows(ctx, session_top, names),
                 total_rows=_rows(ctx, total_top, names), mine=mine)


@router.keyword("支部", "选择支部", "我的支部")
def choose_branch(ctx):
    """List the branches and ask which one the user belongs to."""
    profiles = ctx.profiles
    branches = profiles.branches()
    if not branches:
        return ctx.t("quiz.no_branches")
    BRANCH.start(ctx, "branch.choose")
    text = ctx.t("quiz.branches", rows="\n".join(ctx.t("quiz.branch_row", n=i, name=name)
                                                  for i, (_, name) in enumerate(branches, start=1)))
    current = profiles.get(ctx.openid).branch
    return text + ("\n" + ctx.t("quiz.branch_current", name=dict(branches)[current]) if current in dict(branches) else "")


def branch_chosen(ctx):
    """Bind the user to the branch whose number (`2`, `第二个`) or name (`白石坡`) they sent."""
    profiles = ctx.profiles
    branches = profiles.branches()
    chosen = _branch_named(ctx.text, branches)
    if chosen is None:
        n = number(ctx.text)
        chosen = branches[n - 1] if n is not None and 1 <= n <= len(branches) else None
    if chosen is None:
        return ctx.t("quiz.branch_invalid", count=len(branches))
    bid, name = chosen
    profiles.set_branch(ctx.openid, bid)
    ctx.flow.end()
    return ctx.t("quiz.branch_set", name=name)


@router.keyword("支部排行", "支部排名")
def branch_board(ctx):
    """Branches ranked by completion rate and average score for the current session."""
    quiz, now = ctx.quiz, clock.now()
    session = quiz.current_session(now)
    if session is None:
        return ctx.t("quiz.none_open") + ctx.t("quiz.no_next")
    rows = [ctx.t("quiz.branch_board_row", rank=b.rank, name=b.name, rate=f"{b.rate:.0%}", completers=b.completers,
                  members=b.members, average=f"{b.average:.0f}") for b in quiz.branch_standings(session.id)]
    return ctx.t("quiz.branch_board", title=session.title, rows="\n".join(rows) or ctx.t("quiz.board_empty"))


def _branch_named(text: str, branches: list[tuple[str, str]]):
    """The one branch whose name is text or holds it (`白石坡` for 白石坡社区团支部), or None."""
    text = text.strip()
    if len(text) < 2:
        return None
    exact = [b for b in branches if b[1] == text]
    found = exact or [b for b in branches if text in b[1]]
    return found[0] if len(found) == 1 else None


# -- wording helpers ---------------------------------------------------------------
def _intro(ctx, s: Session) -> str:
    return ctx.t("quiz.intro", title=s.title, summary=s.summary.strip(),
                 link=ctx.t("quiz.link", link=s.link) if s.link else "", closes=clock.fmt(s.closes),
                 count=len(s.questions))


def _how(ctx, q) -> str:
    return ctx.t(f"quiz.how_{q.kind}")


def _question(ctx, s: Session, index: int) -> str:
    q = s.questions[index]
    return ctx.t("quiz.question", number=index + 1, total=len(s.questions), kind=ctx.t(f"quiz.kind_{q.kind}"),
                 text=q.text, options="\n".join(q.lettered()) if q.kind != "judge" else "", how=_how(ctx, q)
                 )


def _duration(seconds: int) -> str:
    return f"{seconds // 60}分{seconds % 60}秒" if seconds >= 60 else f"{seconds}秒"


def _result(ctx, quiz: Quiz, r) -> str:
    total = len(r.session.questions)
    if r.counted:
        text = ctx.t("quiz.result", points=r.points, right=r.right, total=total, duration=_duration(r.seconds),
                     rank=r.rank, streak=r.streak)
        if not r.branch:
            text += "\n" + ctx.t("quiz.bind_branch_hint")
    else:
        mine = r.official
        official = ctx.t("quiz.official_result", points=mine[0], rank=mine[1]) if mine \
            else ctx.t("quiz.no_official_result")
        text = ctx.t("quiz.result_practice", points=r.points, right=r.right, total=total,
                     duration=_duration(r.seconds), official=official)
    return text + "\n" + ctx.t("quiz.after_result")


def _nothing_open(ctx, quiz: Quiz, now: float) -> str:
    lines = [ctx.t("quiz.none_open")]
    last = quiz.last_closed(now)
    if last:
        mine = quiz.result_of(ctx.openid, last)
        lines.append(ctx.t("quiz.last_result", title=last.title, points=mine[0], rank=mine[1]) if mine
                     else ctx.t("quiz.last_missed", title=last.title))
    upcoming = quiz.next_upcoming(now)
    lines.append(ctx.t("quiz.next_opens", title=upcoming.title, opens=clock.fmt(upcoming.opens)) if upcoming
                 else ctx.t("quiz.no_next"))
    return "\n".join(lines)


def _names(ctx, openids: list[str]) -> dict[str, str]:
    profiles = ctx.profiles.many(sorted(set(openids)))
    branches = dict(ctx.profiles.branches())
    return {o: p.display_name() + (f"（{branches[p.branch]}）" if p.branch in branches else "")
            for o, p in profiles.items()}


def _rows(ctx, rows, names) -> str:
    return "\n".join(ctx.t("quiz.board_row", rank=rank, name=names[o], points=pts) for rank, o, pts in rows) \
        or ctx.t("quiz.board_empty")


def _rank_text(ctx, rank) -> str:
    return ctx.t("quiz.rank_n", rank=rank) if rank else ctx.t("quiz.rank_none")


def _where(ctx) -> str:
    """Under a command answered mid-quiz: the question that still waits."""
    progress = ctx.quiz.progress(ctx.openid)
    return ctx.t("flows.quiz.waiting", number=progress.index + 1 if progress else 1)


QUIZ = router.conversation(Conversation("quiz", entry="答题", reminder=_where, states={"quiz.answer": answer}))
BRANCH = router.conversation(Conversation("branch", entry="支部", states={"branch.choose": branch_chosen}))
