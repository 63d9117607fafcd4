"""People: find someone by name or the last digits of their phone, to answer a correction or deletion request.

Admins only. Every search that shows someone is written to the audit log; the
delete button does exactly what `删除我的信息` does in chat (domain.privacy).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from bot.admin.access import audit, bot, gate
from domain import clock
from domain.event_report import tell_promoted
from domain.events import Events
from domain.jobs import Jobs
from domain.privacy import forget_person
from domain.profiles import Profiles, mask_phone
from domain.quiz import Quiz

bp = Blueprint("people", __name__, url_prefix="/people")
gate(bp, "admin")


@bp.get("/")
def index():
    query = request.args.get("q", "").strip()
    found = Profiles(bot().redis).find(query) if query else []
    if found:
        audit("search", f"查找“{query}”", len(found))
    branches = dict(Profiles(bot().redis).branches())
    return render_template("admin/people.html", title="人员", query=query, found=found, branches=branches,
                           mask_phone=mask_phone, too_short=query.isdigit() and len(query) < 4)


@bp.get("/<openid>")
def person(openid):
    """What youthbot keeps about one person, before a correction or a deletion."""
    redis, now = bot().redis, clock.now()
    profile = Profiles(redis).get(openid)
    if not profile.has_contact and not profile.branch:
        abort(404, "没有这个人的个人信息（可能已经删除）。")
    audit("view", f"人员 {profile.name or openid[-6:]} 的信息", 1)
    events = Events(redis)
    return render_template("admin/person.html", title=profile.name or "人员", p=profile, openid=openid,
                           phone=mask_phone(profile.phone), branch=dict(Profiles(redis).branches()).get(profile.branch, ""),
                           signups=events.mine(openid, now), served=events.service_record(openid),
                           jobs=Jobs(redis).mine(openid), quiz=Quiz(redis).totals(openid))


@bp.post("/<openid>/delete")
def delete(openid):
    """Delete the person's personal data: the same effect as `删除我的信息` in chat."""
    done = forget_person(bot().redis, openid, clock.now())
    for occ, promoted in done.cancelled:
        if promoted:
            tell_promoted(bot().outbox, bot().texts, occ, promoted)
    audit("delete", f"删除人员 {openid[-6:]} 的个人信息", 1)
    flash(f"已删除：姓名、手机号等个人信息；取消了{len(done.cancelled)}个未开始的活动报名，撤回了{done.interests_withdrawn}个岗位意向。"
          if done.anything else "这个人没有可删除的个人信息。")
    return redirect(url_for(".index"))
