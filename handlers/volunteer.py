"""Volunteer events in chat: list, details, sign up, cancel, check in and out, hours."""
from __future__ import annotations

from domain import clock
from domain.certificates import PRINT_DAYS
from domain.events import Events, Occurrence, parse_scene
from domain.profiles import mask_phone
from handlers.conversation import Conversation, accepts
from handlers.router import Router
from handlers.notices import promotion
from handlers.profile import ensure_profile, missing

router = Router()

SHOWN_PER_EVENT = 2  # a recurring class lists its next two dates in full, the rest by number
EVENTS_PER_SCREEN = 6  # three lines each: about a phone screen


@router.keyword("志愿", "志愿者", "志愿活动", "志愿服务", "活动", "近期活动")
@router.click("EVENTS_LIST")
def list_events(ctx):
    """List the open events soonest first, with places left, a screen at a time (`更多`)."""
    events = ctx.events
    upcoming = events.upcoming(clock.now())
    if not upcoming:
        return ctx.t("volunteer.list_empty")
    by_event: dict[str, list[Occurrence]] = {}
    for o in upcoming:
        by_event.setdefault(o.event_id, []).append(o)
    items = []
    for o in upcoming:
        mine = by_event[o.event_id]
        if o.id in {x.id for x in mine[:SHOWN_PER_EVENT]}:
            items.append(ctx.t("volunteer.list_row", number=o.number, title=o.title, when=clock.fmt(o.start),
                               place=o.place, left=_left(ctx, events, o)))
        if o is mine[min(SHOWN_PER_EVENT, len(mine)) - 1] and len(mine) > SHOWN_PER_EVENT:
            later = mine[SHOWN_PER_EVENT:]  # a recurring class: its later dates on one line, under its rows
            dates = "、".join(f"【{x.number}】{clock.fmt_day(x.start)}" for x in later)
            items.append(ctx.t("volunteer.list_more", title=o.title, dates=dates))
    return ctx.bot.pager.listing(ctx.openid, ctx.t("volunteer.list_head"), items, EVENTS_PER_SCREEN)


@router.numbered("活动")
def event_detail(ctx):
    """Show one event's details."""
    events = ctx.events
    occ = _occurrence(ctx, events)
    if isinstance(occ, str):
        return occ
    confirmed, waiting = events.counts(occ.id)
    req = occ.requirements or {}
    lines = ([ctx.t("volunteer.req_min_age", age=req["min_age"])] if req.get("min_age") else []) + \
            ([ctx.t("volunteer.req_students")] if req.get("students_only") else [])
    return ctx.t("volunteer.detail", number=occ.number, title=occ.title, when=clock.fmt(occ.start),
                 end=clock.local(occ.end).strftime("%H:%M"), place=occ.place, capacity=occ.capacity,
                 confirmed=confirmed, waiting=ctx.t("volunteer.detail_waiting", waiting=waiting) if waiting else "",
                 requirements="；".join(lines), description=occ.description, deadline=clock.fmt(occ.signup_deadline),
                 cutoff=_hours_before(occ))


@router.numbered("报名")
def sign_up(ctx):
    """Sign up for an event: profile first if need be, then a place or a waitlist position."""
    return signup_continue(ctx, number=int(ctx.match.group(1)))


@router.returning("signup")
def signup_continue(ctx, number: int, code: str = ""):
    """Sign up for event `number`; with the check-in `code` of a walk-in who scanned it, check in too."""
    events, now = ctx.events, clock.now()
    occ = events.by_number(number)
    if occ is None:
        return ctx.t("volunteer.no_such_event", number=number)
    fields = dict(title=occ.title, number=occ.number, when=clock.fmt(occ.start), place=occ.place,
                  deadline=clock.fmt(occ.signup_deadline), cutoff=_hours_before(occ))
    (status, position), profile, upcoming = events.before_sign_up(occ.id, ctx.openid, now, ctx.profiles)
    if status != "none":
        return ctx.t(f"volunteer.already_{status}", position=position, **fields)
    needs = {"contact"} | ({"birth_year"} if occ.requirements.get("min_age") else set()) | \
        ({"student"} if occ.requirements.get("students_only") else set())
    # An overlap is refused here only before questions would be asked; otherwise the sign-up itself refuses it
    # (events.sign_up checks it atomically with the booking), and reading the other sign-ups here too was a
    # round trip done twice.
    refusal = events.check(occ, ctx.openid, profile, now, upcoming if missing(profile, needs) else [])
    if refusal and not refusal.reason.startswith("requirement"):
        return ctx.t(f"volunteer.refused_{refusal.reason}", detail=refusal.detail, **fields)
    asked = ensure_profile(ctx, needs, then="signup", restart=f"报名 {occ.number}", profile=profile,
                           number=occ.number, **({"code": code} if code else {}))
    if asked:
        return asked
    if refusal:
        return ctx.t(f"volunteer.refused_{refusal.reason}", detail=refusal.detail, **fields)
    booking = events.sign_up(occ, ctx.openid, now)
    if booking.status == "overlap":  # another sign-up for the same time went through meanwhile
        return ctx.t("volunteer.refused_overlap", detail=booking.detail, **fields)
    if booking.status == "confirmed":  # the contact shown is the user's own, as recorded
        done = ctx.t("volunteer.confirmed", name=profile.name, phone=mask_phone(profile.phone),
                     cancel=_how_to_cancel(ctx, occ, now), **fields)
        return done + "\n\n" + checked_in(ctx, code) if code else done
    if booking.status == "waitlisted":
        return ctx.t("volunteer.waitlisted", position=booking.position, **fields)
    if booking.status == "closed":
        return ctx.t("volunteer.refused_cancelled", **fields)
    return ctx.t(f"volunteer.{booking.status}", position=booking.position, **fields)


@router.keyword("报名", "取消报名")
def ask_number(ctx):
    """A command that needs an event number was sent without one."""
    return ctx.t("volunteer.ask_number", word=ctx.text)


@router.keyword("签到")
@router.pattern(r"签到(?!码?\s*[:：是]?\s*\d)\s*\S.*")  # `签到 abc`, `签到码`: the expected format, not 没看懂
def ask_code(ctx):
    """`签到` without the organiser's code."""
    return ctx.t("volunteer.ask_code")


@router.keyword("我的报名", "我的活动")
@router.click("EVENTS_MINE")
def my_signups(ctx):
    """List the user's upcoming sign-ups and waitlist positions."""
    events = ctx.events
    mine = events.mine(ctx.openid, clock.now())
    if not mine:
        return ctx.t("volunteer.mine_empty")
    rows = []
    for occ in mine:
        status, position = events.status_of(occ.id, ctx.openid)
        rows.append(ctx.t("volunteer.mine_row", number=occ.number, title=occ.title, when=clock.fmt(occ.start),
                          status=ctx.t(f"volunteer.status_{status}", position=position)))
    return ctx.bot.pager.listing(ctx.openid, ctx.t("volunteer.mine_head"), rows, EVENTS_PER_SCREEN + 2)


@router.numbered("取消报名")
def cancel_signup(ctx):
    """Give up a place before the cut-off; the first on the waitlist is promoted and told."""
    events, now = ctx.events, clock.now()
    occ = _occurrence(ctx, events)
    if isinstance(occ, str):
        return occ
    status, _ = events.status_of(occ.id, ctx.openid)
    fields = dict(title=occ.title, cutoff=_hours_before(occ))
    if status == "none":
        return ctx.t("volunteer.cancel_not_signed", **fields)
    if now >= occ.start:
        return ctx.t("volunteer.cancel_started", contact=_contact(ctx), **fields)
    if status == "confirmed" and now >= occ.cancel_cutoff:
        return ctx.t("volunteer.cancel_too_late", contact=_contact(ctx), **fields)
    was, _ = events.cancel(occ, ctx.openid, notice=promotion(ctx, occ))  # the promoted volunteer is told in the same step
    return ctx.t("volunteer.cancel_wait_done" if was == "waitlisted" else "volunteer.cancel_done", **fields)


@router.pattern(r"签到码?\s*[:：是]?\s*(\d+)", words=("签到",))
def check_in(ctx):
    """Check in at an event with the organiser's code (`签到 6` is an event's number, not a code: say so)."""
    code = ctx.match.group(1)
    if len(code) < 4:
        return ctx.t("volunteer.checkin_not_a_code", number=code)
    return checked_in(ctx, code)


@router.event("scan")
def scanned(ctx):
    """A follower scanned a check-in screen's QR code: check in or out as its scene says."""
    scene = parse_scene(ctx.message.key)
    if scene is None:
        return None  # some other QR code of the account: nothing to say
    action, code = scene
    return checked_in(ctx, code) if action == "checkin" else check_out(ctx)


def checked_in(ctx, code: str) -> str:
    status, occ = ctx.events.check_in(ctx.openid, code, clock.now())
    if status == "not_signed_up":
        offer = _walk_in(ctx, occ, code)
        if offer:
            return offer
    return ctx.t(f"volunteer.checkin_{status}", title=occ.title if occ else "",
                 time=clock.local(clock.now()).strftime("%H:%M"))


@router.keyword("签退")
def check_out(ctx):
    """Check out; hours are credited from check-in, capped at the event's length."""
    now = clock.now()
    status, occ, minutes = ctx.events.check_out(ctx.openid, now)
    if status == "too_early":
        return ctx.t("volunteer.checkout_too_early", title=occ.title, when=clock.fmt(occ.start),
                     end=clock.local(occ.end).strftime("%H:%M"))
    if status == "ok" and minutes == 0:
        return ctx.t("volunteer.checkout_short", title=occ.title)
    key = {"ok": "checkout_ok", "not_checked_in": "checkout_none", "already": "checkout_already"}[status]
    return ctx.t(f"volunteer.{key}", title=occ.title if occ else "", hours=_hours(minutes))


@router.keyword("我的时长", "志愿时长", "时长")
@router.click("EVENTS_HOURS")
def my_hours(ctx):
    """Total volunteer hours and the events they came from."""
    record = [(o, m) for o, m in ctx.events.service_record(ctx.openid) if m]
    if not record:
        return ctx.t("volunteer.hours_empty")
    rows = [ctx.t("volunteer.hours_row", date=clock.fmt_date(o.start), title=o.title, hours=_hours(m))
            for o, m in record]
    return ctx.t("volunteer.hours", hours=_hours(sum(m for _, m in record)), count=len(record), rows="\n".join(rows))


@router.keyword("志愿证明", "服务证明", "证明")
def certificate(ctx):
    """A numbered service record: name, events, dates, hours, issuer, and where to check it."""
    record = [(o, m) for o, m in ctx.events.service_record(ctx.openid) if m]
    if not record:
        return ctx.t("volunteer.hours_empty")
    profile = ctx.profiles.get(ctx.openid)
    asked = ensure_profile(ctx, {"name"}, then="certificate", restart="志愿证明", profile=profile)
    if asked:  # no name on file (never given, or deleted): ask for it, with the notice
        return ctx.t("volunteer.certificate_needs_name") + "\n\n" + asked
    settings = ctx.bot.settings
    cert = ctx.bot.certificates.issue(ctx.openid, profile.name, [(o.start, o.title, m) for o, m in record],
                                      settings.committee_name, clock.now())
    rows = [ctx.t("volunteer.certificate_row", date=clock.fmt_date(start), title=title, hours=_hours(m))
            for start, title, m in cert.rows]
    base = f"{settings.public_url.rstrip('/')}/verify/{cert.number}"
    printable = f"{base}/print.docx?t={ctx.bot.certificates.print_token(cert.number, clock.now())}"
    return ctx.t("volunteer.certificate", record=cert.number, name=cert.name, count=len(cert.rows),
                 hours=_hours(cert.minutes), rows="\n".join(rows), issuer=cert.issuer,
                 date=clock.fmt_date(cert.issued), link=base).rstrip("\n") + "\n" + \
        ctx.t("volunteer.certificate_print", days=PRINT_DAYS, link=printable)


@router.returning("certificate")
def certificate_continue(ctx):
    return certificate(ctx)


# -- a walk-in: scanned the check-in code without a sign-up -------------------------------------
def _walk_in(ctx, occ: Occurrence, code: str) -> str | None:
    """While sign-up is open and places are free, offer to sign up and check in at once."""
    now = clock.now()
    refusal = ctx.events.check(occ, ctx.openid, ctx.profiles.get(ctx.openid), now)
    if refusal is not None or ctx.events.status_of(occ.id, ctx.openid)[0] != "none":
        return None  # closed, started, too young, a waitlist place already, ...: the plain answer
    confirmed, _ = ctx.events.counts(occ.id)
    if confirmed >= occ.capacity:
        return None
    WALK_IN.start(ctx, "walkin.confirm", number=occ.number, code=code)
    return ctx.t("volunteer.walkin_offer", title=occ.title, left=occ.capacity - confirmed, number=occ.number)


YES = ("是", "是的", "好", "好的", "要", "报名", "确认", "确定", "同意", "可以", "ok", "嗯")


@accepts(lambda ctx: ctx.text.lower() in YES)
def walk_in_confirmed(ctx):
    """`是`: sign up (the profile questions first if need be), then check in."""
    if ctx.text.lower() not in YES:
        return ctx.t("volunteer.walkin_again")
    number, code = ctx.flow.data["number"], ctx.flow.data["code"]
    ctx.flow.end()
    return signup_continue(ctx, number=number, code=code)


WALK_IN = router.conversation(Conversation("walkin", entry="扫签到码", states={
    "walkin.confirm": walk_in_confirmed,
}))


# -- helpers ---------------------------------------------------------------------
def _occurrence(ctx, events: Events):
    number = int(ctx.match.group(1))
    return events.by_number(number) or ctx.t("volunteer.no_such_event", number=number)


def _left(ctx, events: Events, occ: Occurrence) -> str:
    confirmed, waiting = events.counts(occ.id)
    left = occ.capacity - confirmed
    return ctx.t("volunteer.left_places", left=left) if left > 0 else ctx.t("volunteer.left_full", waiting=waiting)


def _how_to_cancel(ctx, occ: Occurrence, now: float) -> str:
    """The confirmation's last line: how to cancel while it is still possible, else whom to tell."""
    if now < occ.cancel_cutoff:
        return ctx.t("volunteer.cancel_hint", cutoff=_hours_before(occ), number=occ.number)
    return ctx.t("volunteer.cancel_closed_hint", cutoff=_hours_before(occ), contact=_contact(ctx))


def _contact(ctx) -> str:
    s = ctx.bot.settings
    return ctx.t("volunteer.organiser_contact", committee=s.committee_name, contact=s.committee_contact,
                 hours=s.committee_hours)


def _hours_before(occ: Occurrence) -> str:
    hours = (occ.start - occ.cancel_cutoff) / 3600
    return f"{hours:g}小时"


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.1f}".rstrip("0").rstrip(".")
