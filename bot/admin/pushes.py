"""Pushes: what was sent, skipped and failed (with a retry), and broadcasts with preview, reach and progress."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from bot.pushes import broadcasts

from bot.pushes import delivery
from bot.admin.access import bot, gate, note, skip_audit
from bot.admin.charts import row
from bot.wechat.outgoing import numbers_in
from domain import clock
from domain.push_kinds import KINDS
from domain.profiles import mask_name

bp = Blueprint("pushes", __name__, url_prefix="/pushes")
gate(bp, "admin")
REASON_NAMES = {"out_of_window": "超出48小时互动窗口且无模板", "unsubscribed": "已取消关注", "opted_out": "已退订提醒"}
KIND_NAMES = {kind.value: r.what for kind, r in KINDS.items()}
GIVEN_UP_NAMES = {"expired": "已过时", "attempts": "多次失败", "permanent": "对方无法接收"}


@bp.get("/")
def index():
    redis, now = bot().redis, clock.now()
    totals = delivery.stats(redis)
    days = delivery.daily(redis, 14, now)
    chart = [row(day[5:], [(d.get("sent", 0), "bar"), (d.get("skipped", 0), "bar3"), (d.get("failed", 0), "bar2")],
                 f"{d.get('sent', 0)}/{d.get('skipped', 0)}/{d.get('failed', 0)}") for day, d in days]
    failed = delivery.failed_pushes(redis)
    names = bot().profiles.many([f.openid for f in failed])
    return render_template("admin/pushes.html", title="推送", totals=totals, chart=chart, failed=failed,
                           names={o: mask_name(p.name) or o[-6:] for o, p in names.items()},
                           reasons={k.split(":", 1)[1]: v for k, v in totals.items() if k.startswith("reason:")},
                           reason_names=REASON_NAMES, kinds=KIND_NAMES, given_up=GIVEN_UP_NAMES,
                           segments=broadcasts.segments(redis, now),
                           recent=broadcasts.recent(redis))


@bp.post("/retry")
def retry():
    note(f"推送 {request.form.get('key', '')[:120]}")
    queued, expired = delivery.retry_failed(bot().redis, [request.form.get("key", "")], clock.now())
    if queued:
        flash("已重新排队，调度进程几秒内会再发一次。")
    elif expired:
        flash("这条推送已经过时（活动已开始或已截止），不再发送。", "error")
    else:
        flash("这条推送已经重试过或不是失败状态。", "error")
    return redirect(url_for(".index"))


@bp.post("/broadcast")
def broadcast():
    """Step 1 shows the message as residents will see it and how many it reaches; step 2 (confirm) sends it."""
    redis, now = bot().redis, clock.now()
    segment, text = request.form.get("segment", ""), request.form.get("text", "").strip()
    label = dict(broadcasts.segments(redis, now)).get(segment, segment)
    note(f"群发给「{label}」：{text[:200]}")
    try:
        openids = broadcasts.recipients(redis, segment)
        if not text:
            raise ValueError("请填写要发送的内容")
        if len(text) > broadcasts.MAX_TEXT:
            raise ValueError(f"内容最多{broadcasts.MAX_TEXT}字，现在{len(text)}字")
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".index") + "#broadcast")
    if request.form.get("confirm") != "1":
        skip_audit()  # the preview: nothing sent yet
        return render_template("admin/broadcast_preview.html", title="确认群发", segment=segment, label=label,
                               text=text, reach=broadcasts.reach(bot(), openids, now), once=broadcasts.new_once(),
                               numbers=[f"{n[:3]} {n[3:7]} {n[7:]}" for n in numbers_in(text)])
    # The confirm form carries a token made for it: a second click (or a resent form) finds it taken and shows
    # the broadcast the first one started, instead of sending everything again.
    once = request.form.get("once", "")[:64]
    if not once:
        flash("请从确认页面发送。", "error")
        return redirect(url_for(".index") + "#broadcast")
    if not broadcasts.claim_once(redis, once):
        bid = broadcasts.once_used(redis, once)
        if bid:
            flash("这条群发已经开始发送，没有再发一次。")
            return redirect(url_for(".broadcast_progress", bid=bid))
        flash("这条群发正在开始发送，没有再发一次。")
        return redirect(url_for(".index"))
    bid = broadcasts.start(bot(), segment, label, text, g.staff.name, now)
    broadcasts.started_once(redis, once, bid)
    note(f"群发编号 {bid}，共{len(openids)}人")
    return redirect(url_for(".broadcast_progress", bid=bid))


@bp.get("/broadcast/<bid>")
def broadcast_progress(bid):
    progress = broadcasts.progress(bot().redis, bid) or abort(404, "没有这次群发。")
    return render_template("admin/broadcast.html", title="群发进度", b=progress)
