"""People: find someone by name or the last digits of their phone, to answer a correction or deletion request,
or to give a volunteer their service certificate.

Admins only. Every search that shows someone is written to the audit log; the
delete button does exactly what `删除我的信息` does in chat (domain.privacy); the
certificate is the chat's `志愿证明` itself (handlers.volunteer.certificate), numbered
by the same domain call, and written to the audit log.
"""
from __future__ import annotations

import io
import re

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for

from bot.admin.access import audit, bot, gate, note, refused
from bot.report import certificate as printable
from domain import clock
from domain.audit import person_ref, search_what
from domain.certificates import NUMBER_PATTERN
from domain.event_changes import tell_promoted
from domain.privacy import forget_person
from domain.profiles import ProfileError, mask_phone
from handlers import volunteer as volunteer_chat
from handlers.message import Incoming
from handlers.router import Context

bp = Blueprint("people", __name__, url_prefix="/people")
gate(bp, "admin")
MAX_QUERY = 30  # a name or the last digits of a phone number


@bp.get("/")
def index():
    query = request.args.get("q", "").strip()[:MAX_QUERY]
    found = bot().profiles.find(query) if query else []
    if found:
        audit("search", search_what(query), len(found))
    branches = dict(bot().profiles.branches())
    return render_template("admin/people.html", title="人员", query=query, found=found, branches=branches,
                           mask_phone=mask_phone, too_short=query.isdigit() and len(query) < 4)


@bp.get("/<openid>")
def person(openid):
    """What youthbot keeps about one person, before a correction or a deletion."""
    profile = bot().profiles.get(openid)
    if not profile.has_contact and not profile.branch:
        abort(404, "没有这个人的个人信息（可能已经删除）。")
    audit("view", f"人员 {person_ref(openid)} 的信息", 1)
    return _person_page(openid, profile)


def _person_page(openid, profile, form=None, error="", status=200):
    now = clock.now()
    events = bot().events
    form = form or {"name": profile.name, "phone": "", "birth_year": profile.birth_year or "",
                    "student": "" if profile.student is None else str(int(profile.student)), "branch": profile.branch}
    branches = bot().profiles.branches()
    return render_template("admin/person.html", title=profile.name or "人员", p=profile, openid=openid,
                           phone=mask_phone(profile.phone), branch=dict(branches).get(profile.branch, ""),
                           signups=events.mine(openid, now), served=events.service_record(openid),
                           jobs=bot().jobs.mine(openid), quiz=bot().quiz.totals(openid), branches=branches,
                           form=form, correct_error=error), status


@bp.post("/<openid>/correct")
def correct(openid):
    """Correct what the person gave, at their request: checked as the chat checks it, all or nothing, audited
    with the values before and after (kept as long as the audit log: within the privacy notice's two years)."""
    profiles = bot().profiles
    profile = profiles.get(openid)
    if not profile.has_contact and not profile.branch:
        abort(404, "没有这个人的个人信息（可能已经删除）。")
    form = request.form
    note(f"更正人员 …{openid[-6:]} 的信息", people=1)
    changes = {"birth_year": _year(form.get("birth_year", "")), "student": {"1": True, "0": False}.get(
        form.get("student", ""), None), "branch": form.get("branch", "")}
    if profile.consent_at:
        changes["name"] = form.get("name", "")
        if form.get("phone", "").strip():
            changes["phone"] = form.get("phone", "")
    try:
        if changes["birth_year"] is False:
            raise ProfileError("出生年份", "需要4位数字的年份，例如「2001」")
        changed = profiles.correct(openid, clock.local(clock.now()).year, **changes)
    except ProfileError as exc:
        refused(str(exc))
        return _person_page(openid, profile, {k: form.get(k, "") for k in ("name", "phone", "birth_year", "student",
                                                                           "branch")}, str(exc), 400)
    note("", changed)
    flash("已更正：" + "、".join(changed) + "。" if changed else "没有改动。")
    return redirect(url_for(".person", openid=openid))


def _year(text: str):
    """The birth-year field: None when empty (not known), False when not a number."""
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isdigit() and len(text) == 4 else False


@bp.post("/<openid>/delete")
def delete(openid):
    """Delete the person's personal data: the same effect as `删除我的信息` in chat."""
    done = forget_person(bot().redis, openid, clock.now())
    for occ, promoted in done.cancelled:
        if promoted:
            tell_promoted(bot().outbox, bot().texts, occ, promoted)
    audit("delete", f"删除人员 {person_ref(openid)} 的个人信息", 1)
    flash(f"已删除：姓名、手机号等个人信息；取消了{len(done.cancelled)}个未开始的活动报名，撤回了{done.interests_withdrawn}个岗位意向。"
          if done.anything else "这个人没有可删除的个人信息。")
    return redirect(url_for(".index"))


# -- the volunteer's service record and certificate ------------------------------------------------
def _volunteer(openid):
    profile = bot().profiles.get(openid)
    if not profile.has_contact and not profile.branch:
        abort(404, "没有这个人的个人信息（可能已经删除）。")
    return profile


@bp.get("/<openid>/certificate")
def certificate(openid):
    """The service record behind a certificate: every activity with its credited hours (audited)."""
    profile = _volunteer(openid)
    served = bot().events.service_record(openid)
    audit("view", f"人员 {person_ref(openid)} 的志愿服务记录", 1)
    return render_template("admin/certificate.html", title=f"志愿服务证明：{profile.name or '未登记姓名'}", p=profile,
                           openid=openid, served=served, credited=[(o, m) for o, m in served if m], text=None)


@bp.post("/<openid>/certificate")
def issue_certificate(openid):
    """Issue the numbered certificate exactly as the chat's 志愿证明 words and numbers it (audited)."""
    profile = _volunteer(openid)
    served = bot().events.service_record(openid)
    credited = [(o, m) for o, m in served if m]
    if not credited or not profile.name or not profile.consent_at:
        flash("没有计入时长的志愿服务记录，不能开具证明。" if not credited else
              "没有登记真实姓名，不能开具证明：请本人在公众号发「志愿证明」并按提示填写姓名。", "error")
        return redirect(url_for(".certificate", openid=openid))
    text = volunteer_chat.certificate(_chat_context(openid))
    number = re.search(NUMBER_PATTERN, text)
    audit("certificate", f"为 {person_ref(openid)} 开具志愿服务证明 {number[0] if number else ''}".rstrip(), 1)
    return render_template("admin/certificate.html", title=f"志愿服务证明：{profile.name}", p=profile, openid=openid,
                           served=served, credited=credited, text=text, number=number[0] if number else "")


@bp.get("/<openid>/certificate/<record>.docx")
def certificate_docx(openid, record):
    """The printable A4 record (full name, activities, hours, number, the QR code of its /verify link): audited."""
    cert = bot().certificates.get(record[:40])
    if cert is None or cert.openid != openid:
        abort(404, "没有这份志愿服务证明。")
    audit("export", f"志愿服务证明 {cert.number} 打印版", 1)
    return send_file(io.BytesIO(printable.document(cert, bot().settings.public_url)), as_attachment=True,
                     download_name=printable.filename(cert),
                     mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document")


def _chat_context(openid: str) -> Context:
    """The context the chat's handler gets when this person sends 志愿证明 (staff ask on their behalf)."""
    now = int(clock.now())
    message = Incoming(sender=openid, recipient="console", kind="text", time=now, content="志愿证明")
    return Context(openid=openid, message=message, bot=bot(), text="志愿证明")
