"""Volunteer events in chat: list, details, sign up, cancel, check in and out, hours."""
from __future__ import annotations

from domain import clock
from domain.events import Events, Occurrence, parse_scene
from domain.profiles import mask_phone
from handlers.router import Router
from handlers.notices import tell_promoted
from handlers.profile import ensure_profile

router = Router()

SHOWN_PER_EVENT = 2  # a recurring class lists its next two dates in full, the rest by number


@router.keyword("志愿", "志愿活动", "志愿服务", "活动", "近期活动")
@router.click("EVENTS_LIST")
def list_events(ctx):
    """List the open events soonest first, with places left (paged by `更多`)."""
    events = ctx.events
    upcoming = events.upcoming(clock.now())
    if not upcoming:
        return ctx.t("volunteer.list_empty")
    rows, shown = [], {}
    for o in upcoming:
        shown.setdefault(o.event_id, []).append(o)
        if len(shown[o.event_id]) <= SHOWN_PER_EVENT:
            rows.append(ctx.t("volunteer.list_row", number=o.number, title=o.title, when=clock.fmt(o.start),
                              place=o.place, left=_left(ctx, events, o)))
    for later in (occs[SHOWN_PER_EVENT:] for occs in shown.values()):
        if later:
            dates = "、".join(f"【{o.number}】{clock.fmt(o.start, with_weekday=False).split()[0]}" for o in later)
            rows.append(ctx.t("volunteer.list_more", title=later[0].title, dates=dates))
    return ctx.t("volunteer.list_head") + "\n" + "\n".join(rows)


@router.pattern(r"活动\s*(\d+)")
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


@router.pattern(r"报名\s*(\d+)")
def sign_up(ctx):
    """Sign up for an event: profile first if need be, then a place or a waitlist position."""
    return signup_continue(ctx, number=int(ctx.match.group(1)))


@router.returning("signup")
def signup_continue(ctx, number: int):
    events, now = ctx.events, clock.now()
    occ = events.by_number(number)
    if occ is None:
        return ctx.t("volunteer.no_such_event", number=number)
    fields = dict(title=occ.title, number=occ.number, when=clock.fmt(occ.start), place=occ.place,
                  deadline=clock.fmt(occ.signup_deadline), cutoff=_hours_before(occ))
    status, position = events.status_of(occ.id, ctx.openid)
    if status != "none":
        return ctx.t(f"volunteer.already_{status}", position=position, **fields)
    profile = ctx.profiles.get(ctx.openid)
    refusal = events.check(occ, ctx.openid, profile, now)
    if refusal and not refusal.reason.startswith("requirement"):
        return ctx.t(f"volunteer.refused_{refusal.reason}", detail=refusal.detail, **fields)
    needs = {"contact"} | ({"birth_year"} if occ.requirements.get("min_age") else set()) | \
        ({"student"} if occ.requirements.get("students_only") else set())
    asked = ensure_profile(ctx, needs, then="signup", restart=f"报名 {occ.number}", profile=profile,
                           number=occ.number)
    if asked:
        return asked
    if refusal:
        return ctx.t(f"volunteer.refused_{refusal.reason}", detail=refusal.detail, **fields)
    booking = events.sign_up(occ, ctx.openid)
    if booking.status == "confirmed":
        return ctx.t("volunteer.confirmed", name=profile.name, phone=mask_phone(profile.phone), **fields)
    if booking.status == "waitlisted":
        return ctx.t("volunteer.waitlisted", position=booking.position, **fields)
    if booking.status == "closed":
        return ctx.t("volunteer.refused_cancelled", **fields)
    return ctx.t(f"volunteer.{booking.status}", position=booking.position, **fields)


@router.keyword("报名", "取消报名", "签到")
def ask_number(ctx):
    """A command that needs an event number was sent without one."""
    return ctx.t("volunteer.ask_number", word=ctx.text)


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
    return ctx.t("volunteer.mine_head") + "\n" + "\n".join(rows)


@router.pattern(r"取消报名\s*(\d+)")
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
    if status == "confirmed" and now >= occ.cancel_cutoff:
        return ctx.t("volunteer.cancel_too_late", **fields)
    was, promoted = events.cancel(occ, ctx.openid)
    tell_promoted(ctx, occ, promoted)
    return ctx.t("volunteer.cancel_wait_done" if was == "waitlisted" else "volunteer.cancel_done", **fields)


@router.pattern(r"签到\s*(\d{4,8})")
def check_in(ctx):
    """Check in at an event with the organiser's code."""
    return checked_in(ctx, ctx.match.group(1))


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
    return ctx.t(f"volunteer.checkin_{status}", title=occ.title if occ else "",
                 time=clock.local(clock.now()).strftime("%H:%M"))


@router.keyword("签退")
def check_out(ctx):
    """Check out; hours are credited from check-in, capped at the event's length."""
    status, occ, minutes = ctx.events.check_out(ctx.openid, clock.now())
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
    """A text certificate of service: name, events, dates, hours, issuer, record number, date."""
    profile = ctx.profiles.get(ctx.openid)
    record = [(o, m) for o, m in ctx.events.service_record(ctx.openid) if m]
    if not record:
        return ctx.t("volunteer.hours_empty")
    if not profile.name:
        return ctx.t("volunteer.certificate_needs_name")
    record_no = ctx.events.issue_certificate(ctx.openid, sum(m for _, m in record), clock.now())
    rows = [ctx.t("volunteer.certificate_row", date=clock.fmt_date(o.start), title=o.title, hours=_hours(m))
            for o, m in record]
    return ctx.t("volunteer.certificate", record=record_no, name=profile.name, count=len(record),
                 hours=_hours(sum(m for _, m in record)), rows="\n".join(rows), issuer=ctx.t("volunteer.issuer"),
                 date=clock.fmt_date(clock.now()))


# -- helpers ---------------------------------------------------------------------
def _occurrence(ctx, events: Events):
    number = int(ctx.match.group(1))
    return events.by_number(number) or ctx.t("volunteer.no_such_event", number=number)


def _left(ctx, events: Events, occ: Occurrence) -> str:
    confirmed, waiting = events.counts(occ.id)
    left = occ.capacity - confirmed
    return ctx.t("volunteer.left_places", left=left) if left > 0 else ctx.t("volunteer.left_full", waiting=waiting)


def _hours_before(occ: Occurrence) -> str:
    hours = (occ.start - occ.cancel_cutoff) / 3600
    return f"{hours:g}小时"


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.1f}".rstrip("0").rstrip(".")
