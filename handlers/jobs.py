"""Job postings in chat: browse, search, register interest, follow outcomes, alerts."""
from __future__ import annotations

from domain import clock
from domain.jobs import Jobs, Posting, matched_in
from domain.profiles import mask_phone
from handlers.router import Router
from handlers.conversation import Conversation, accepts
from handlers.profile import ensure_profile

router = Router()

PER_SCREEN = 8  # postings on one screen (two lines each); `更多` shows the next
MAX_RESULTS = 40  # a search that finds more lists these; a sharper word narrows it
NOTE_MAX = 50


@router.keyword("岗位", "招聘", "就业", "找工作", "工作", "招聘会")
@router.click("JOBS_LIST")
def jobs_home(ctx):
    """Categories with counts, the fair, and the open postings newest first, a screen at a time."""
    jobs, now = ctx.jobs, clock.now()
    postings = jobs.open(now)
    if not postings:
        return ctx.t("jobs.empty")
    fair = next(iter(ctx.events.upcoming(now, kind="job_fair")), None)
    head = ctx.t("jobs.home", count=len(postings),
                 fair=ctx.t("jobs.fair", title=fair.title, when=clock.fmt(fair.start), place=fair.place) if fair else "",
                 categories="、".join(ctx.t("jobs.category_item", name=n, count=c) for n, c in jobs.categories(now)))
    return ctx.bot.pager.listing(ctx.openid, head, [_row(ctx, p) for p in postings], PER_SCREEN,
                                 tail=ctx.t("jobs.home_how"))


@router.numbered("岗位", "职位")
def job_detail(ctx):
    """One posting's details (never the employer's contact)."""
    p = ctx.jobs.by_number(ctx.match.group(1))
    if p is None:
        return ctx.t("jobs.no_such", number=ctx.match.group(1))
    state = p.state(clock.now())
    if state != "open":
        return ctx.t(f"jobs.not_open_{state}", title=p.title)
    return ctx.t("jobs.detail", number=p.number, title=p.title, employer=p.employer, salary=p.salary, place=p.place,
                 education=p.education, experience=p.experience, headcount=p.headcount,
                 description=p.description)


@router.pattern(r"(?:搜索|搜|岗位|找)\s*(\D.*)", words=("搜", "搜索"))
def job_search(ctx):
    """Search titles, employers and requirements: `搜 司机`, `岗位 护理`; title matches first."""
    query = ctx.match.group(1).strip()
    found = ctx.jobs.search(query, clock.now())[:MAX_RESULTS]
    if not found:
        return ctx.t("jobs.search_none", query=query)
    words = query.lower().split()
    items, group = [], "title"
    for p in found:
        where = matched_in(p, words)
        if where != group:  # say why the postings below turned up
            group = where
            value = {"employer": p.employer, "category": p.category, "place": p.place}.get(where, "")
            items.append(ctx.t(f"jobs.search_via_{where}", query=query, value=value))
        items.append(_row(ctx, p))
    head = ctx.t("jobs.search_head", query=query, count=len(found))
    return ctx.bot.pager.listing(ctx.openid, head, items, PER_SCREEN)


@router.pattern(r"类别\s*(.+)", words=("类别",))
def job_category(ctx):
    """Open postings in one category."""
    jobs, now, category = ctx.jobs, clock.now(), ctx.match.group(1).strip()
    postings = jobs.open(now, category)
    if not postings:
        return ctx.t("jobs.no_category", category=category, categories=_category_names(jobs, now))
    return ctx.bot.pager.listing(ctx.openid, ctx.t("jobs.category_head", category=category, count=len(postings)),
                                 [_row(ctx, p) for p in postings], PER_SCREEN)


@router.numbered("投递", "意向")
def express_interest(ctx):
    """Register interest: profile first if need be, then an optional one-line note."""
    return interest_continue(ctx, number=int(ctx.match.group(1)))


@router.returning("jobs_interest")
def interest_continue(ctx, number: int):
    p = ctx.jobs.by_number(number)
    if p is None:
        return ctx.t("jobs.no_such", number=number)
    state = p.state(clock.now())
    if state != "open":
        return ctx.t(f"jobs.not_open_{state}", title=p.title)
    asked = ensure_profile(ctx, {"contact"}, then="jobs_interest", restart=f"投递 {number}", number=number)
    if asked:
        return asked
    INTEREST.start(ctx, "jobs.note", posting=p.id)
    return ctx.t("jobs.ask_note")


SKIP = ("跳过", "不用", "无", "没有", "不需要")


@accepts(lambda ctx: True)  # any free text may be a note
def interest_note(ctx):
    """Take the optional note and register the interest; a note that reads as a command is asked about."""
    if ctx.text in SKIP:
        return _register(ctx, "")
    if ctx.bot.router.match_command(ctx) is not None:  # `投递 99`: meant as a command, or as the note?
        INTEREST.start(ctx, "jobs.note_confirm", posting=ctx.flow.data["posting"], pending=ctx.raw_text)
        return ctx.t("jobs.note_is_command", text=ctx.raw_text)
    return _register(ctx, ctx.raw_text)


@accepts(lambda ctx: True)
def interest_note_confirm(ctx):
    """`是`: the text that read as a command was the note; anything else is taken as at the note prompt."""
    if ctx.text in ("是", "是的", "对", "确认"):
        return _register(ctx, ctx.flow.data["pending"])
    return interest_note(ctx)


def _register(ctx, note: str) -> str:
    if len(note) > NOTE_MAX:
        return ctx.t("jobs.note_too_long")
    jobs = ctx.jobs
    p = jobs.get(ctx.flow.data["posting"])
    ctx.flow.end()
    result = jobs.register_interest(p, ctx.openid, note, clock.now())
    if result in ("expired", "filled", "withdrawn"):
        return ctx.t(f"jobs.not_open_{result}", title=p.title)
    phone = mask_phone(ctx.profiles.get(ctx.openid).phone)
    key = "jobs.interest_ok" if result == "ok" else "jobs.interest_again" if note else "jobs.interest_same"
    return ctx.t(key, title=p.title, employer=p.employer, phone=phone)


@router.keyword("投递", "意向")
def ask_number(ctx):
    """`投递` without a posting number."""
    return ctx.t("jobs.ask_number", word=ctx.text)


@router.keyword("我的投递", "我的求职", "投递进度")
@router.click("JOBS_MINE")
def my_interests(ctx):
    """The user's registered interests and their outcomes."""
    mine = ctx.jobs.mine(ctx.openid)
    if not mine:
        return ctx.t("jobs.mine_empty")
    now, rows = clock.now(), []
    for p, outcome in mine:
        status = ctx.t(f"jobs.outcome_{outcome}")
        state = p.state(now)
        if state != "open" and outcome not in ("hired", "not_hired"):
            status += ctx.t("jobs.posting_closed_suffix", state=ctx.t(f"jobs.state_{state}"))
        rows.append(ctx.t("jobs.mine_row", number=p.number, title=p.title, employer=p.employer, status=status))
    return ctx.bot.pager.listing(ctx.openid, ctx.t("jobs.mine_head"), rows, PER_SCREEN)


@router.pattern(r"订阅岗位\s*(.*)", words=("订阅岗位",))
def subscribe(ctx):
    """Daily digest of new postings, in one category or all."""
    jobs, category = ctx.jobs, ctx.match.group(1).strip()
    known = jobs.known_categories()
    if category and category not in known:
        return ctx.t("jobs.unknown_category", category=category, categories="、".join(sorted(known)))
    jobs.subscribe(ctx.openid, [category] if category else [])
    return ctx.t("jobs.subscribed", what=f"「{category}」" if category else ctx.t("jobs.subscribed_all"))


@router.keyword("退订岗位", "取消订阅岗位")
def unsubscribe(ctx):
    """Stop the job digest."""
    return ctx.t("jobs.unsubscribed" if ctx.jobs.unsubscribe(ctx.openid) else "jobs.not_subscribed")


def _row(ctx, p: Posting) -> str:
    return ctx.t("jobs.row", number=p.number, title=p.title, employer=p.employer, salary=p.salary, place=p.place)


def _category_names(jobs: Jobs, now: float) -> str:
    return "、".join(name for name, _ in jobs.categories(now))


INTEREST = router.conversation(Conversation("jobs_interest", entry="投递 N", states={
    "jobs.note": interest_note,
    "jobs.note_confirm": interest_note_confirm,
}))
