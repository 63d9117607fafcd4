"""Volunteer events: list, create, edit, cancel or move, sign-up lists, attendance, the check-in screen.

Organisers see and run only the events assigned to them (or that they created);
admins all. Sign-up lists are shown masked; the full list is a download, audited.
"""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for

from bot.wechat import qr as checkin_qr

from domain import event_changes
from bot.admin.access import (audit, bot, diff, gate, note, note_upload, refused, roles_allowed, send_table,
                              skip_audit, wechat)
from bot.admin import spool
from bot.admin.spool import uploaded
from bot.pushes import broadcasts
from bot.importers import loaders, sheets
from bot.importers.files import Collector, ContentError, plain_number
from bot.wechat.client import WeChatError
from domain import clock
from domain.event_report import export_rows
from domain.events import Occurrence
from domain.hours import no_shows
from domain.fields import EVENT_FIELDS, Field, named, on_form
from domain.limits import EVENT_LIMITS, too_long
from domain.outcomes import MAX_NOTE, OutcomeError, Outcomes, items_from_rows
from domain.profiles import mask_name, mask_phone
from domain.staff import Staff

bp = Blueprint("events", __name__, url_prefix="/events")
gate(bp, "admin", "organiser")
WEEKDAYS = [(1, "一"), (2, "二"), (3, "三"), (4, "四"), (5, "五"), (6, "六"), (7, "日")]
KINDS = ["敬老", "护河", "洁城", "四点半课堂", "希望家园", "义诊", "捐赠"]  # the report's kinds (content/report/report.yaml)


def _mine(occurrences: list[Occurrence]) -> list[Occurrence]:
    """The occurrences the signed-in account may open."""
    staff = Staff(bot().redis)
    return [o for o in occurrences if staff.runs(g.staff, o.event_id)]


def _occurrence(number: int) -> Occurrence:
    occ = bot().events.by_number(number)
    if occ is None or occ.kind != "volunteer":
        abort(404, f"没有编号为 {number} 的活动。")
    if not Staff(bot().redis).runs(g.staff, occ.event_id):
        abort(403)
    return occ


@bp.get("/")
def index(upload=None, status=200):
    events, now = bot().events, clock.now()
    upcoming, past = _mine(events.upcoming(now)), _mine(events.past(now))
    counts = {o.id: events.counts(o.id) for o in upcoming + past}
    attended = {o.id: events.attendance_counts(o.id) for o in past}
    outcomes = Outcomes(bot().redis).get_many([o.id for o in past])
    return render_template("admin/events.html", title="志愿活动", upcoming=upcoming, past=past, counts=counts,
                           attended=attended, outcomes=outcomes, upload=upload, now=now), status


@bp.post("/upload")
def upload():
    """Load an events sheet: every bad row listed and nothing saved, or every event saved.
    An organiser's new events are theirs; rows that would change someone else's event are refused."""
    with uploaded("sheet") as path:
        if path is None:
            return index(sheets.SheetUpload(errors=["请选择要上传的活动表"]), 400)

        def work(staged):  # the events and their assignment to the uploader land together, or nothing does
            staff = Staff(staged.redis)
            result = sheets.load_events(staged, path, may_change=lambda eid: staff.runs(g.staff, eid))
            if result.saved and g.staff.role == "organiser":
                for event_id in dict.fromkeys(o.event_id for o in result.records):
                    staff.assign_event(g.staff.name, event_id)
            return result

        result = spool.atomically(bot(), work, lambda sentence: sheets.SheetUpload(errors=[sentence]))
        note_upload("活动表", path, result)
    return index(result, 400 if result.errors else 200)


@bp.get("/template.xlsx")
def template():
    """An events sheet with the right columns and two example rows (a one-off and a weekly event)."""
    headers, rows = sheets.template_rows()["events"]
    return send_table("活动表模板.xlsx", headers, rows)


# -- create and edit ------------------------------------------------------------------------
@bp.route("/new", methods=["GET", "POST"])
def create():
    """A new event, one-off or weekly; an organiser who creates it runs it."""
    form = request.form if request.method == "POST" else {
        **{f.input: f"{f.default}" for f in on_form(EVENT_FIELDS) if f.default is not None}, "capacity": "20"}
    if request.method == "GET":
        return _form_page("新建活动", None, form)
    problems: list[ContentError] = []
    try:
        occurrences = loaders.occurrences_from(_event_data(request.form), Collector(Path("网页表单"), problems))
        if problems:
            raise FormErrors({CONTENT_FIELDS.get(p.column, "form"): p.problem for p in reversed(problems)})
        if not occurrences:
            raise FormErrors({"weekdays": "所选星期在这段时间里没有日期"})
    except FormErrors as exc:
        note(f"新建活动「{request.form.get('title', '').strip()[:60]}」")
        refused(str(exc))
        return _form_page("新建活动", None, form, exc.errors, 400)
    events = bot().events
    saved = [events.save(o) for o in occurrences]
    if g.staff.role == "organiser":
        Staff(bot().redis).assign_event(g.staff.name, saved[0].event_id)
    note(f"活动 {saved[0].number}「{saved[0].title}」共{len(saved)}场（{clock.fmt(saved[0].start)} 起）",
         diff({}, _audited(saved[0])))
    flash(f"已发布「{saved[0].title}」，共{len(saved)}场；居民发「志愿」即可看到并报名。")
    return redirect(url_for(".detail", number=saved[0].number))


# -- the form's fields and their errors (shown beside the field, in the field's own label) --------------------
# The fields are the event's (domain/fields.py); the weekly ones (weekdays, days) have their own fieldset.
FORM_FIELDS = tuple(f for f in on_form(EVENT_FIELDS) if f.record != "recurrence")
# how the form lays them out: a row each, these side by side; a field not named here gets a row of its own at the end
LAYOUT = (("title",), ("place",), ("category",), ("description",), ("start", "end", "capacity"),
          ("signup_deadline_hours", "cancel_cutoff_hours", "min_age"), ("students_only",))
LABELS = {f.input: f.on_form for f in on_form(EVENT_FIELDS)}
CONTENT_FIELDS = {**{f.key: f.input for f in on_form(EVENT_FIELDS)},
                  "recurrence.weekdays": "weekdays"}  # the event-file field a check names -> the form's field
DAYS = named(EVENT_FIELDS, "days")


def _rows() -> list[list[Field]]:
    """The form's fields in the rows the page shows."""
    by_key = {f.key: f for f in FORM_FIELDS}
    laid = [[by_key[k] for k in row if k in by_key] for row in LAYOUT]
    named_in_layout = {k for row in LAYOUT for k in row}
    return [row for row in laid if row] + [[f] for f in FORM_FIELDS if f.key not in named_in_layout]


def _form_page(title: str, occ, form, errors=None, status=200):
    return render_template("admin/event_form.html", title=title, form=form, weekdays=WEEKDAYS, occ=occ, kinds=KINDS,
                           rows=_rows(), days=DAYS, errors=errors or {}), status


class FormErrors(ValueError):
    """What is wrong with a form, field by field: {form field: the problem in the staff's words}."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("；".join(f"{LABELS.get(f, '')}：{p}" if f in LABELS else p for f, p in errors.items()))


class _Fields:
    """Read a form's fields, collecting a problem for each bad one instead of stopping at the first."""

    def __init__(self, form):
        self.form, self.errors = form, {}

    def text(self, name: str, required: str = "") -> str:
        value = self.form.get(name, "").strip()
        if required and not value:
            self.errors[name] = required
        return value

    def take(self, name: str, read, default=None):
        try:
            return read(self.form.get(name, ""))
        except ValueError as exc:
            self.errors.setdefault(name, str(exc))
            return default

    def check(self) -> None:
        if self.errors:
            raise FormErrors(self.errors)


def _read_form(form) -> tuple[_Fields, dict]:
    """Every field of the form read by its kind, in the page's order: {field key: value}; the problems in f.errors."""
    f, values = _Fields(form), {}
    for fld in (fld for row in _rows() for fld in row):
        if fld.text:
            values[fld.key] = f.text(fld.input, f"请填写{fld.on_form}" if fld.required else "")
        elif fld.kind == "when":
            values[fld.key] = f.take(fld.input, _when)
        elif fld.kind == "time":
            values[fld.key] = f.take(fld.input, _time)
        elif fld.kind == "hours":
            values[fld.key] = f.take(fld.input, lambda t, d=fld.default: _number(t or d))
        elif fld.kind == "int" and fld.record == fld.key:
            values[fld.key] = f.take(fld.input, _int if fld.required else lambda t, d=fld.default: (
                _int(t) if str(t).strip() else d))
    values["requirements"] = _requirements(f)
    return f, values


def _event_data(form) -> dict:
    """The form as the fields an event file has (the same checks then apply: domain importers)."""
    f, values = _read_form(form)
    start, end_time = values.pop("start"), values.pop("end")
    data = {k: v for k, v in values.items()}
    weekdays = [int(d) for d in form.getlist("weekdays") if d.isdigit() and 1 <= int(d) <= 7]
    repeat_days = f.take(DAYS.input, lambda t: min(_int(t or DAYS.default), DAYS.bounds[1])) if weekdays else 0
    f.check()
    data["id"] = f"web-{clock.local(start):%Y%m%d%H%M}-{secrets.token_hex(2)}"
    if weekdays:
        data.update(start=f"{clock.local(start):%H:%M}", end=end_time,
                    recurrence={"weekdays": weekdays, "from": f"{clock.local(start):%Y-%m-%d}", "days": repeat_days})
    else:
        data.update(start=f"{clock.local(start):%Y-%m-%d %H:%M}", end=f"{clock.local(start):%Y-%m-%d} {end_time}")
    return data


def _requirements(f: _Fields) -> dict:
    req = {}
    if f.form.get("min_age", "").strip():
        req["min_age"] = f.take("min_age", _int)
    if f.form.get("students_only"):
        req["students_only"] = True
    return req


def _when(text: str) -> float:
    """A date and time as staff type it (clock.parse_when: 2026-12-03 09:00, 2026/12/3 9:00, 2026年12月3日 9:00)."""
    text = str(text or "").strip()
    if not text:
        raise ValueError("请填写日期和时间")
    try:
        return clock.parse_when(text)
    except ValueError:
        raise ValueError(f"“{text}”不是日期和时间，请写成 2026-12-03 09:00") from None


def _time(text: str) -> str:
    """A time of day as staff type it (11:30, 11：30, 11点半) as HH:MM."""
    text = str(text or "").strip()
    if not text:
        raise ValueError("请填写时间")
    try:
        return clock.parse_time(text)
    except ValueError:
        raise ValueError(f"“{text}”不是时间，请写成 11:30") from None


def _int(text) -> int:
    try:
        return int(plain_number(text))
    except (TypeError, ValueError):
        raise ValueError(f"应为整数，现在是“{str(text).strip()}”") from None


def _number(text) -> float:
    try:
        return float(plain_number(text))
    except (TypeError, ValueError):
        raise ValueError(f"应为小时数，现在是“{str(text).strip()}”") from None


@bp.route("/<int:number>/edit", methods=["GET", "POST"])
def edit(number):
    """Change one date's details; a new start moves it (with the notice), more places promote the waitlist."""
    occ = _occurrence(number)
    if request.method == "GET":
        return _form_page(f"修改：{occ.title}", occ, _form_of(occ))
    before = _audited(occ)
    note(f"活动 {occ.number}「{occ.title}」{clock.fmt(occ.start, with_weekday=False)}")
    try:
        changes, new_start = _changes(occ, request.form)
        if abs(new_start - occ.start) >= 60:  # the form shows minutes: seconds are no move
            occ, told = event_changes.move_event(bot(), occ, new_start)
            flash(f"已改到{clock.fmt(occ.start)}，将通知{told}人。")
        occ, promoted = event_changes.update_event(bot(), occ, **changes)
        note("", diff(before, _audited(occ)))
        if occ.category != before["类别"]:  # the kind of activity is the event's, not one date's
            others = _other_dates(occ)
            for other in others:
                event_changes.update_event(bot(), other, category=occ.category)
            if others:
                note(f"类别同时改了其他{len(others)}个日期")
    except FormErrors as exc:
        refused(str(exc))
        return _form_page(f"修改：{occ.title}", occ, request.form, exc.errors, 400)
    except ValueError as exc:
        refused(str(exc))
        return _form_page(f"修改：{occ.title}", occ, request.form, {"form": str(exc)}, 400)
    flash("已保存。" + (f"名额增加，候补的{len(promoted)}人已转为正式报名并会收到通知。" if promoted else ""))
    return redirect(url_for(".detail", number=occ.number))


def _other_dates(occ: Occurrence) -> list[Occurrence]:
    """The event's other occurrences (a weekly event's other dates), past and ahead."""
    return [o for o in bot().events.between(0, float("inf"), kind=None)
            if o.event_id == occ.event_id and o.id != occ.id]


def _audited(occ: Occurrence) -> dict:
    """What the audit log keeps of an occurrence before and after a change (nothing personal)."""
    req = occ.requirements or {}
    return {**{f.audit or f.label: getattr(occ, f.record) or "" for f in FORM_FIELDS if f.text},
            "开始": clock.fmt(occ.start, with_weekday=False),
            "结束": clock.fmt(occ.end, with_weekday=False), "名额": occ.capacity,
            "报名截止": clock.fmt(occ.signup_deadline, with_weekday=False),
            "取消截止": clock.fmt(occ.cancel_cutoff, with_weekday=False),
            "最低年龄": req.get("min_age", ""), "仅限学生": "是" if req.get("students_only") else "",
            "状态": "已取消" if occ.status == "cancelled" else ""}


def _form_of(occ: Occurrence) -> dict:
    form = {}
    for f in FORM_FIELDS:
        value = getattr(occ, f.record)
        if f.text or (f.kind == "int" and f.record == f.key):
            form[f.input] = value
        elif f.kind == "hours":
            form[f.input] = f"{(occ.start - value) / 3600:g}"
    return {**form, "start": f"{clock.local(occ.start):%Y-%m-%dT%H:%M}", "end_time": f"{clock.local(occ.end):%H:%M}",
            "min_age": (occ.requirements or {}).get("min_age", ""),
            "students_only": (occ.requirements or {}).get("students_only", False)}


def _changes(occ: Occurrence, form) -> tuple[dict, float | None]:
    """What the edit form changes, as update_event's arguments, and the new start."""
    f, values = _read_form(form)
    for fld in FORM_FIELDS:
        problem = too_long(fld.key, values[fld.key], EVENT_LIMITS) if fld.text else ""
        if problem:
            f.errors.setdefault(fld.input, problem)
    f.check()
    start, end_time = values.pop("start"), values.pop("end")
    end = clock.parse_when(f"{clock.local(start):%Y-%m-%d} {end_time}")
    if end <= start:
        raise FormErrors({"end_time": f"{end_time}不晚于开始时间{clock.local(start):%H:%M}"})
    hours = {fld.record: start - values.pop(fld.key) * 3600 for fld in FORM_FIELDS if fld.kind == "hours"}
    return {**values, **hours, "end": end}, start


# -- one event -------------------------------------------------------------------------------
@bp.get("/<int:number>")
def detail(number):
    """The event, its sign-ups masked (names and phones), attendance, and what staff can do."""
    occ = _occurrence(number)
    events = bot().events
    confirmed, waiting = events.confirmed(occ.id), events.waitlist(occ.id)
    people = bot().profiles.many(confirmed + waiting)
    attendance = events.attendance(occ.id)
    absent = no_shows(bot().redis, occ, clock.now()) if occ.status != "cancelled" else []
    rows = [{"status": status, "position": i, "openid": o, "name": mask_name(people[o].name) or "（未登记）",
             "phone": mask_phone(people[o].phone), "times": attendance.get(o, (None, None, None)),
             "absent": o in absent}
            for status, openids in (("已报名", confirmed), ("候补", waiting)) for i, o in enumerate(openids, 1)]
    only_absent = request.args.get("show") == "absent"
    if only_absent:
        rows = [r for r in rows if r["absent"]]
    staff = Staff(bot().redis)
    organisers = [a.name for a in staff.all() if a.role == "organiser"] if g.staff.role == "admin" else []
    return render_template("admin/event.html", title=occ.title, occ=occ, rows=rows, code=events.code(occ.id),
                           confirmed=len(confirmed), waiting=len(waiting), running=staff.organisers(occ.event_id),
                           organisers=organisers, attended=events.attendance_counts(occ.id), now=clock.now(),
                           outcome=Outcomes(bot().redis).get(occ.id), absent=len(absent), only_absent=only_absent)


@bp.get("/<int:number>/export.xlsx")
def export(number):
    """The full list with names and phone numbers: a download, written to the audit log."""
    occ = _occurrence(number)
    headers, rows = export_rows(bot().redis, occ)
    audit("export", f"活动 {occ.number}「{occ.title}」{clock.fmt(occ.start, with_weekday=False)} 报名名单", len(rows))
    return send_table(f"活动{occ.number}-报名名单.xlsx", headers, rows, sheet="报名名单")


@bp.post("/<int:number>/cancel")
def cancel(number):
    occ = _occurrence(number)
    reason = request.form.get("reason", "").strip()[:100]
    note(f"活动 {occ.number}「{occ.title}」{clock.fmt(occ.start, with_weekday=False)}",
         {"状态": ("", "已取消"), "原因": ("", reason)})
    if occ.status == "cancelled":
        flash("这场活动已经取消了。", "error")
    else:
        told = event_changes.cancel_event(bot(), occ, reason)
        note(f"通知{told}人")
        flash(f"已取消，将通知{told}位报名和候补的志愿者。")
    return redirect(url_for(".detail", number=number))


@bp.post("/<int:number>/reinstate")
def reinstate(number):
    """Undo a cancellation while the event is still ahead: everyone keeps their place and is told."""
    occ = _occurrence(number)
    note(f"活动 {occ.number}「{occ.title}」{clock.fmt(occ.start, with_weekday=False)}", {"状态": ("已取消", "")})
    try:
        told = event_changes.reinstate_event(bot(), occ)
    except event_changes.EventChangeError as exc:
        flash(f"不能恢复：{exc}。", "error")
    else:
        note(f"通知{told}人")
        flash(f"已恢复，报名和候补的顺序不变；将通知{told}位志愿者。")
    return redirect(url_for(".detail", number=number))


@bp.post("/<int:number>/attendance")
def attendance(number):
    """Fix one volunteer's check-in and check-out (forgot 签退, came without a phone)."""
    occ = _occurrence(number)
    day = f"{clock.local(occ.start):%Y-%m-%d}"
    openid = request.form.get("openid", "")
    came_before, left_before, _ = bot().events.attendance(occ.id).get(openid, (None, None, None))
    note(f"活动 {occ.number}「{occ.title}」{clock.fmt(occ.start, with_weekday=False)} 志愿者 …{openid[-6:]}",
         {"签到": (_hhmm(came_before), request.form.get("came", "").strip()),
          "签退": (_hhmm(left_before), request.form.get("left", "").strip())})
    try:
        came = _attendance_time(day, request.form.get("came", ""), "签到时间")
        left_text = request.form.get("left", "").strip()
        left = _attendance_time(day, left_text, "签退时间") if left_text else None
        minutes = bot().events.record_attendance(occ, request.form.get("openid", ""), came, left)
    except ValueError as exc:
        flash(str(exc), "error")
    else:
        note(f"计入{minutes / 60:.1f}小时" if left else "")
        flash(f"已记录：计入志愿时长{minutes / 60:.1f}小时。" if left else "已记录签到。")
    return redirect(url_for(".detail", number=number) + "#signups")


def _attendance_time(day: str, text: str, label: str) -> float:
    """A time on the event's day as staff type it (9:05, 9：05, 9点05, or a full date and time)."""
    try:
        return clock.parse_when(f"{day} {_time(text)}")
    except ValueError as exc:
        try:
            return clock.parse_when(text)
        except ValueError:
            raise ValueError(f"{label}：{exc}") from None


@bp.post("/<int:number>/organisers")
@roles_allowed("admin")
def organisers(number):
    """Admins choose which organisers run the event (all its dates)."""
    occ = _occurrence(number)
    staff, name = Staff(bot().redis), request.form.get("name", "")
    before = "、".join(staff.organisers(occ.event_id))
    try:
        if request.form.get("remove"):
            staff.unassign_event(name, occ.event_id)
        else:
            staff.assign_event(name, occ.event_id)
    except ValueError as exc:
        flash(str(exc), "error")
    note(f"活动 {occ.number}「{occ.title}」（所有日期）", {"组织者": (before, "、".join(staff.organisers(occ.event_id)))})
    return redirect(url_for(".detail", number=number))


def _hhmm(ts) -> str:
    return clock.local(ts).strftime("%H:%M") if ts else ""


# -- telling the event's volunteers something (an organiser's broadcast) --------------------------------------
ORGANISER_BROADCASTS_PER_DAY = 3  # per event: enough for a change of meeting point, not for spam


@bp.post("/<int:number>/broadcast")
def broadcast(number):
    """A message to this event's volunteers (signed up and waiting): the admin's broadcast limited to one event.
    Step 1 shows it as residents will see it and how many it reaches; step 2 (confirm) sends it."""
    occ = _occurrence(number)
    redis, now = bot().redis, clock.now()
    segment, text = f"event:{occ.number}", request.form.get("text", "").strip()
    label = f"活动：【{occ.number}】{occ.title} {clock.fmt(occ.start, with_weekday=False)}"
    note(f"群发给「{label}」：{text[:200]}")
    back = url_for(".detail", number=number) + "#broadcast"
    confirm, once = request.form.get("confirm") == "1", request.form.get("once", "")[:64]
    if confirm and once and (started := broadcasts.once_used(redis, once)) is not None:
        return _sent_already(number, started)  # a double click: before the day's count, which it is part of
    problem = ""
    if confirm and not once:
        problem = "请从确认页面发送。"
    elif not text:
        problem = "请填写要发送的内容"
    elif len(text) > broadcasts.MAX_TEXT:
        problem = f"内容最多{broadcasts.MAX_TEXT}字，现在{len(text)}字"
    elif occ.status == "cancelled":
        problem = "活动已取消，取消通知已经发给志愿者了"
    elif broadcasts.sent_since(redis, segment, now - 86400) >= ORGANISER_BROADCASTS_PER_DAY:
        problem = f"这场活动24小时内已经群发了{ORGANISER_BROADCASTS_PER_DAY}次，请合并成一条或明天再发"
    if problem:
        flash(problem, "error")
        return redirect(back)
    openids = broadcasts.recipients(redis, segment)
    if not confirm:
        skip_audit()  # the preview: nothing sent yet
        return render_template("admin/broadcast_preview.html", title="确认群发", segment=segment, label=label,
                               text=text, reach=broadcasts.reach(bot(), openids, now), back=back,
                               action=url_for(".broadcast", number=number), once=broadcasts.new_once())
    if not broadcasts.claim_once(redis, once):  # two clicks at the same moment: one sends
        return _sent_already(number, broadcasts.once_used(redis, once) or "")
    bid = broadcasts.start(bot(), segment, label, text, g.staff.name, now)
    broadcasts.started_once(redis, once, bid)
    note(f"群发编号 {bid}，共{len(openids)}人")
    return redirect(url_for(".broadcast_progress", number=number, bid=bid))


def _sent_already(number: int, bid: str):
    skip_audit()  # nothing done: the first click's entry says what was sent
    if bid:
        flash("这条群发已经开始发送，没有再发一次。")
        return redirect(url_for(".broadcast_progress", number=number, bid=bid))
    flash("这条群发正在开始发送，没有再发一次。")
    return redirect(url_for(".detail", number=number) + "#broadcast")


@bp.get("/<int:number>/broadcast/<bid>")
def broadcast_progress(number, bid):
    occ = _occurrence(number)
    if broadcasts.segment_of(bot().redis, bid) != f"event:{occ.number}":
        abort(404, "这场活动没有这次群发。")
    return render_template("admin/broadcast.html", title="群发进度", b=broadcasts.progress(bot().redis, bid),
                           back=url_for(".detail", number=number), back_label=occ.title)


# -- the check-in screen -----------------------------------------------------------------------
@bp.get("/<int:number>/checkin")
def checkin(number):
    """For a phone or a projector: the check-in and check-out QR codes, the typed code, a live count."""
    occ = _occurrence(number)
    codes, problem = {}, ""
    for action in ("checkin", "checkout"):
        try:
            codes[action] = checkin_qr.svg(checkin_qr.qr_code(bot().redis, wechat(), occ, action, clock.now())["url"])
        except WeChatError as exc:
            problem = (f"微信二维码暂时生成不了：{QR_PROBLEMS.get(exc.errcode, QR_PROBLEM_OTHER)}"
                       f"（微信返回码 {exc.errcode}）。现在请让志愿者在公众号发送「签到 {bot().events.code(occ.id)}」。")
    page = "admin/checkin_screen.html" if request.args.get("screen") else "admin/checkin.html"
    return render_template(page, title=f"签到：{occ.title}", occ=occ, codes=codes, problem=problem,
                           code=bot().events.code(occ.id), counts=_counts(occ))


# What a failed QR request means, for the staff at the door (WeChat's global return codes).
QR_PROBLEMS = {
    -2: "连不上微信服务器（网络不通，或 WECHAT_API_BASE_URL 指向的地址没有运行；演示时先启动 `youthbot fake-wechat`）",
    -1: "微信系统繁忙，稍后刷新本页再试",
    40001: "公众号的 AppSecret 不对或令牌已失效，请管理员核对 WECHAT_APPSECRET",
    40013: "公众号 AppID 不对，请管理员核对 WECHAT_APPID",
    40164: "本服务器的 IP 不在公众号的 IP 白名单里，请管理员在公众平台添加",
    42001: "令牌已过期，刷新本页即可",
    45009: "今天生成二维码的次数已用完，明天再试",
    48001: "公众号没有生成带参数二维码的权限（需认证的服务号）",
}
QR_PROBLEM_OTHER = "微信拒绝了请求，请把返回码告诉管理员"


@bp.get("/<int:number>/checkin.json")
def checkin_counts(number):
    return jsonify(_counts(_occurrence(number)))


def _counts(occ: Occurrence) -> dict:
    events = bot().events
    checked_in, checked_out = events.attendance_counts(occ.id)
    return {"checked_in": checked_in, "checked_out": checked_out, "confirmed": events.counts(occ.id)[0]}


# -- what the activity achieved (for the half-year report) ---------------------------------------
ITEM_ROWS = 3  # empty item rows offered below those recorded
FIELDS = {"服务人数": "served", "物品": "items", "服务项目": "services", "合作单位": "partners", "现场志愿者": "walk_ins",
          "节目数": "acts", "说明": "note", "活动": "form"}  # OutcomeError.field -> the form's field


@bp.route("/<int:number>/outcome", methods=["GET", "POST"])
def outcome(number):
    """After the activity: people served, items given, services, partners, walk-ins, acts, a note.
    The same domain call as `youthbot events outcome` (domain.outcomes.Outcomes.record)."""
    occ = _occurrence(number)
    outcomes = Outcomes(bot().redis)
    if request.method == "GET":
        return _outcome_form(occ, _outcome_values(outcomes.get(occ.id)))
    form = request.form
    before = _outcome_values(outcomes.get(occ.id))
    note(f"活动 {occ.number}「{occ.title}」{clock.fmt(occ.start, with_weekday=False)} 的成效")
    rows = list(zip(form.getlist("item_name"), form.getlist("item_count")))
    try:
        items = items_from_rows(rows)
        outcomes.record(occ, served=form.get("served", "").strip() or 0, items=items,
                        services=form.get("services", ""), partners=form.get("partners", ""),
                        note=form.get("note", ""), walk_ins=form.get("walk_ins", "").strip() or 0,
                        acts=form.get("acts", "").strip() or 0, recorded_by=g.staff.name, now=clock.now())
    except OutcomeError as exc:
        values = {k: form.get(k, "") for k in ("served", "services", "partners", "walk_ins", "acts", "note")}
        values["items"] = [(n, c) for n, c in rows if n.strip() or c.strip()]
        refused(f"{exc.field}：{exc.problem}" if exc.field else exc.problem)
        return _outcome_form(occ, values, {FIELDS.get(exc.field, "form"): exc.problem}, exc.row), 400
    note("", diff(_outcome_audited(before), _outcome_audited(_outcome_values(outcomes.get(occ.id)))))
    flash("已登记活动成效，工作总结会计入。")
    return redirect(url_for(".detail", number=number) + "#outcome")


def _outcome_values(o) -> dict:
    if o is None:
        return {"items": []}
    return {"served": o.served or "", "services": "、".join(o.services), "partners": "、".join(o.partners),
            "walk_ins": o.walk_ins or "", "acts": o.acts or "", "note": o.note,
            "items": [(name, str(n)) for name, n in o.items.items()]}


def _outcome_audited(values: dict) -> dict:
    names = {"served": "服务人数", "services": "服务项目", "partners": "合作单位", "walk_ins": "现场志愿者", "acts": "节目数",
             "note": "说明"}
    audited = {label: values.get(k, "") for k, label in names.items()}
    audited["物品"] = "、".join(f"{n}×{c}" for n, c in values.get("items", []))
    return audited


def _outcome_form(occ: Occurrence, values: dict, errors: dict | None = None, bad_row: int | None = None):
    items = values["items"] + [("", "")] * ITEM_ROWS
    return render_template("admin/outcome_form.html", title=f"活动成效：{occ.title}", occ=occ, v=values, items=items,
                           errors=errors or {}, bad_row=bad_row, started=occ.start <= clock.now(),
                           max_note=MAX_NOTE, recorded=Outcomes(bot().redis).get(occ.id))
