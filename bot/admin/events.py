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
from bot.admin.access import audit, bot, gate, roles_allowed, send_table, uploaded, wechat
from bot.importers import loaders, sheets
from bot.importers.files import Collector, ContentError
from bot.importers.uploads import say
from bot.wechat.client import WeChatError
from domain import clock
from domain.event_report import export_rows
from domain.events import Occurrence
from domain.limits import too_long
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
                           attended=attended, outcomes=outcomes, upload=upload), status


@bp.post("/upload")
def upload():
    """Load an events sheet: every bad row listed and nothing saved, or every event saved.
    An organiser's new events are theirs; rows that would change someone else's event are refused."""
    staff = Staff(bot().redis)
    with uploaded("sheet") as path:
        if path is None:
            return index(sheets.SheetUpload(errors=["请选择要上传的活动表"]), 400)
        result = sheets.load_events(bot(), path, may_change=lambda eid: staff.runs(g.staff, eid))
    if result.saved and g.staff.role == "organiser":
        for event_id in dict.fromkeys(o.event_id for o in result.records):
            staff.assign_event(g.staff.name, event_id)
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
    form = request.form if request.method == "POST" else {"signup_deadline_hours": "2", "cancel_cutoff_hours": "24",
                                                            "capacity": "20", "repeat_days": "28"}
    if request.method == "GET":
        return render_template("admin/event_form.html", title="新建活动", form=form, weekdays=WEEKDAYS, occ=None,
                               kinds=KINDS)
    problems: list[ContentError] = []
    try:
        occurrences = loaders.occurrences_from(_event_data(request.form), Collector(Path("网页表单"), problems))
        if problems:
            raise problems[0]
    except (ValueError, ContentError) as exc:
        message = say(exc) if isinstance(exc, ContentError) else str(exc)
        return render_template("admin/event_form.html", title="新建活动", form=form, weekdays=WEEKDAYS, occ=None,
                               kinds=KINDS, error=message), 400
    if not occurrences:
        return render_template("admin/event_form.html", title="新建活动", form=form, weekdays=WEEKDAYS, occ=None,
                               kinds=KINDS, error="所选星期在这段时间里没有日期"), 400
    events = bot().events
    saved = [events.save(o) for o in occurrences]
    if g.staff.role == "organiser":
        Staff(bot().redis).assign_event(g.staff.name, saved[0].event_id)
    flash(f"已发布「{saved[0].title}」，共{len(saved)}场；居民发「志愿」即可看到并报名。")
    return redirect(url_for(".detail", number=saved[0].number))


def _event_data(form) -> dict:
    """The form as the fields an event file has (the same checks then apply: domain importers)."""
    title, place = form.get("title", "").strip(), form.get("place", "").strip()
    if not title or not place:
        raise ValueError("请填写活动名称和地点")
    start = _when(form.get("start", ""), "开始时间")
    end_time = form.get("end_time", "").strip()
    if not end_time:
        raise ValueError("请填写结束时间")
    data = {"id": f"web-{clock.local(start):%Y%m%d%H%M}-{secrets.token_hex(2)}", "title": title, "place": place,
            "description": form.get("description", "").strip(), "capacity": _int(form.get("capacity"), "名额"),
            "signup_deadline_hours": _number(form.get("signup_deadline_hours") or 2, "报名截止"),
            "cancel_cutoff_hours": _number(form.get("cancel_cutoff_hours") or 24, "取消截止"),
            "requirements": _requirements(form), "category": form.get("category", "").strip()[:20]}
    weekdays = [int(d) for d in form.getlist("weekdays") if d.isdigit() and 1 <= int(d) <= 7]
    if weekdays:
        data.update(start=f"{clock.local(start):%H:%M}", end=end_time,
                    recurrence={"weekdays": weekdays, "from": f"{clock.local(start):%Y-%m-%d}",
                                "days": min(_int(form.get("repeat_days") or 28, "持续天数"), 366)})
    else:
        data.update(start=f"{clock.local(start):%Y-%m-%d %H:%M}", end=f"{clock.local(start):%Y-%m-%d} {end_time}")
    return data


def _requirements(form) -> dict:
    req = {}
    if form.get("min_age", "").strip():
        req["min_age"] = _int(form.get("min_age"), "最低年龄")
    if form.get("students_only"):
        req["students_only"] = True
    return req


def _when(text: str, what: str) -> float:
    try:
        return clock.parse_when(text.replace("T", " ").strip())
    except ValueError:
        raise ValueError(f"{what}格式不对，请写成 2026-12-03 09:00") from None


def _int(text, what: str) -> int:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{what}应为整数") from None


def _number(text, what: str) -> float:
    try:
        return float(str(text).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{what}应为数字（小时）") from None


@bp.route("/<int:number>/edit", methods=["GET", "POST"])
def edit(number):
    """Change one date's details; a new start moves it (with the notice), more places promote the waitlist."""
    occ = _occurrence(number)
    if request.method == "GET":
        return render_template("admin/event_form.html", title=f"修改：{occ.title}", occ=occ, weekdays=WEEKDAYS,
                               form=_form_of(occ))
    try:
        changes, new_start = _changes(occ, request.form)
        if abs(new_start - occ.start) >= 60:  # the form shows minutes: seconds are no move
            occ, told = event_changes.move_event(bot(), occ, new_start)
            flash(f"已改到{clock.fmt(occ.start)}，将通知{told}人。")
        occ, promoted = event_changes.update_event(bot(), occ, **changes)
    except ValueError as exc:
        return render_template("admin/event_form.html", title=f"修改：{occ.title}", occ=occ, weekdays=WEEKDAYS,
                               form=request.form, error=str(exc)), 400
    flash("已保存。" + (f"名额增加，候补的{len(promoted)}人已转为正式报名并会收到通知。" if promoted else ""))
    return redirect(url_for(".detail", number=occ.number))


def _form_of(occ: Occurrence) -> dict:
    return {"title": occ.title, "place": occ.place, "description": occ.description, "capacity": occ.capacity,
            "start": f"{clock.local(occ.start):%Y-%m-%dT%H:%M}", "end_time": f"{clock.local(occ.end):%H:%M}",
            "signup_deadline_hours": f"{(occ.start - occ.signup_deadline) / 3600:g}",
            "cancel_cutoff_hours": f"{(occ.start - occ.cancel_cutoff) / 3600:g}",
            "min_age": (occ.requirements or {}).get("min_age", ""),
            "students_only": (occ.requirements or {}).get("students_only", False)}


def _changes(occ: Occurrence, form) -> tuple[dict, float | None]:
    """What the edit form changes, as update_event's arguments, and the new start (None: unchanged)."""
    title, place = form.get("title", "").strip(), form.get("place", "").strip()
    if not title or not place:
        raise ValueError("请填写活动名称和地点")
    for f, label in (("title", "活动名称"), ("place", "地点"), ("description", "活动说明")):
        problem = too_long(f, form.get(f, "").strip())
        if problem:
            raise ValueError(f"{label}{problem}")
    start = _when(form.get("start", ""), "开始时间")
    end = _when(f"{clock.local(start):%Y-%m-%d} {form.get('end_time', '').strip()}", "结束时间")
    return {"title": title, "place": place, "description": form.get("description", "").strip(),
            "capacity": _int(form.get("capacity"), "名额"), "requirements": _requirements(form),
            "end": end,
            "signup_deadline": start - _number(form.get("signup_deadline_hours") or 2, "报名截止") * 3600,
            "cancel_cutoff": start - _number(form.get("cancel_cutoff_hours") or 24, "取消截止") * 3600,
            }, start


# -- one event -------------------------------------------------------------------------------
@bp.get("/<int:number>")
def detail(number):
    """The event, its sign-ups masked (names and phones), attendance, and what staff can do."""
    occ = _occurrence(number)
    events = bot().events
    confirmed, waiting = events.confirmed(occ.id), events.waitlist(occ.id)
    people = bot().profiles.many(confirmed + waiting)
    attendance = events.attendance(occ.id)
    rows = [{"status": status, "position": i, "openid": o, "name": mask_name(people[o].name) or "（未登记）",
             "phone": mask_phone(people[o].phone), "times": attendance.get(o, (None, None, None))}
            for status, openids in (("已报名", confirmed), ("候补", waiting)) for i, o in enumerate(openids, 1)]
    staff = Staff(bot().redis)
    organisers = [a.name for a in staff.all() if a.role == "organiser"] if g.staff.role == "admin" else []
    return render_template("admin/event.html", title=occ.title, occ=occ, rows=rows, code=events.code(occ.id),
                           confirmed=len(confirmed), waiting=len(waiting), running=staff.organisers(occ.event_id),
                           organisers=organisers, attended=events.attendance_counts(occ.id), now=clock.now(),
                           outcome=Outcomes(bot().redis).get(occ.id))


@bp.get("/<int:number>/export.xlsx")
def export(number):
    """The full list with names and phone numbers: a download, written to the audit log."""
    occ = _occurrence(number)
    headers, rows = export_rows(bot().redis, occ)
    audit("export", f"活动 {occ.number}「{occ.title}」{clock.fmt(occ.start, with_weekday=False)} 报名名单", len(rows))
    return send_table(f"活动{occ.number}-报名名单.xlsx", headers, rows)


@bp.post("/<int:number>/cancel")
def cancel(number):
    occ = _occurrence(number)
    if occ.status == "cancelled":
        flash("这场活动已经取消了。", "error")
    else:
        told = event_changes.cancel_event(bot(), occ, request.form.get("reason", "").strip()[:100])
        flash(f"已取消，将通知{told}位报名和候补的志愿者。")
    return redirect(url_for(".detail", number=number))


@bp.post("/<int:number>/attendance")
def attendance(number):
    """Fix one volunteer's check-in and check-out (forgot 签退, came without a phone)."""
    occ = _occurrence(number)
    day = f"{clock.local(occ.start):%Y-%m-%d}"
    try:
        came = _when(f"{day} {request.form.get('came', '').strip()}", "签到时间")
        left_text = request.form.get("left", "").strip()
        left = _when(f"{day} {left_text}", "签退时间") if left_text else None
        minutes = bot().events.record_attendance(occ, request.form.get("openid", ""), came, left)
    except ValueError as exc:
        flash(str(exc), "error")
    else:
        flash(f"已记录：计入志愿时长{minutes / 60:.1f}小时。" if left else "已记录签到。")
    return redirect(url_for(".detail", number=number) + "#signups")


@bp.post("/<int:number>/organisers")
@roles_allowed("admin")
def organisers(number):
    """Admins choose which organisers run the event (all its dates)."""
    occ = _occurrence(number)
    staff, name = Staff(bot().redis), request.form.get("name", "")
    try:
        if request.form.get("remove"):
            staff.unassign_event(name, occ.event_id)
        else:
            staff.assign_event(name, occ.event_id)
    except ValueError as exc:
        flash(str(exc), "error")
    return redirect(url_for(".detail", number=number))


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
            problem = f"微信二维码暂时生成不了（{exc.errcode}），请让志愿者发送「签到 码」。"
    return render_template("admin/checkin.html", title=f"签到：{occ.title}", occ=occ, codes=codes, problem=problem,
                           code=bot().events.code(occ.id), counts=_counts(occ))


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
        return _outcome_form(occ, values, {FIELDS.get(exc.field, "form"): exc.problem}, exc.row), 400
    flash("已登记活动成效，工作总结会计入。")
    return redirect(url_for(".detail", number=number) + "#outcome")


def _outcome_values(o) -> dict:
    if o is None:
        return {"items": []}
    return {"served": o.served or "", "services": "、".join(o.services), "partners": "、".join(o.partners),
            "walk_ins": o.walk_ins or "", "acts": o.acts or "", "note": o.note,
            "items": [(name, str(n)) for name, n in o.items.items()]}


def _outcome_form(occ: Occurrence, values: dict, errors: dict | None = None, bad_row: int | None = None):
    items = values["items"] + [("", "")] * ITEM_ROWS
    return render_template("admin/outcome_form.html", title=f"活动成效：{occ.title}", occ=occ, v=values, items=items,
                           errors=errors or {}, bad_row=bad_row, started=occ.start <= clock.now(),
                           max_note=MAX_NOTE, recorded=Outcomes(bot().redis).get(occ.id))
