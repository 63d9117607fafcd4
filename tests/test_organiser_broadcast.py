"""Organisers message their own event's volunteers (issue 22 #7): the admin's broadcast limited to one event, with
the same preview, reach, confirmation and audit; sent over HTTP to the fake WeChat API; never to anyone else."""
from __future__ import annotations

import re
import time

from bot.pushes import broadcasts, tasks
from domain.audit import Audit
from domain.events import Events
from tests.helpers import event_with_volunteers


def test_an_organiser_previews_confirms_and_only_their_events_volunteers_get_it(console_as, bot, pushing):
    deliverer, fake = pushing
    organiser = console_as("organiser")
    occ, _ = event_with_volunteers(bot)
    page = organiser.page(f"/admin/events/{occ.number}")
    assert "通知这场活动的志愿者" in page and "报名和候补的2人" in page
    form = {"text": "明早集合地点改为三干渠北门，请带好手套。", "segment": "all"}  # a forged segment is ignored
    preview = organiser.post(f"/admin/events/{occ.number}/broadcast", form, token_from=f"/admin/events/{occ.number}")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "确认发送给 2 人" in html and "三干渠北门" in html
    assert bot.outbox.pending() == [] and not Audit(bot.redis).search(action="push.broadcast").entries
    once = re.search(r'name="once" value="([^"]+)"', html).group(1)
    resp = organiser.post(f"/admin/events/{occ.number}/broadcast", {**form, "confirm": "1", "once": once},
                          token_from=f"/admin/events/{occ.number}")
    assert resp.status_code == 302 and f"/admin/events/{occ.number}/broadcast/" in resp.headers["Location"]
    assert sorted(p["openid"] for p in bot.outbox.pending()) == ["o_in", "o_wait"]
    assert tasks.drain_outbox(bot, deliverer, time.time()) == {"sent": 2}
    assert sorted(m["touser"] for m in fake.messages) == ["o_in", "o_wait"]
    assert all("三干渠北门" in m["text"] for m in fake.messages)
    assert "已全部处理" in organiser.page(resp.headers["Location"])
    e = Audit(bot.redis).search(action="push.broadcast").entries[0]
    assert e.staff == "organiser1" and "三干渠北门" in e.what and "共2人" in e.what and e.refused == ""


def test_an_organiser_cannot_message_another_event_or_read_its_broadcasts(console_as, bot):
    organiser = console_as("organiser")
    occ, other = event_with_volunteers(bot)
    resp = organiser.post(f"/admin/events/{other.number}/broadcast", {"text": "你好", "confirm": "1"})
    assert resp.status_code == 403 and bot.outbox.pending() == []
    assert Audit(bot.redis).search(action="push.broadcast").entries[0].refused == "无权操作"
    bid = broadcasts.start(bot, f"event:{other.number}", "活动", "通知", "admin1")
    assert organiser.client.get(f"/admin/events/{other.number}/broadcast/{bid}").status_code == 403
    assert organiser.client.get(f"/admin/events/{occ.number}/broadcast/{bid}").status_code == 404
    assert console_as("jobs").post(f"/admin/events/{occ.number}/broadcast", {"text": "x"}).status_code == 403


def test_empty_too_long_cancelled_and_too_many_are_refused_with_the_reason(console_as, bot):
    organiser = console_as("organiser")
    occ, _ = event_with_volunteers(bot)
    url, page = f"/admin/events/{occ.number}/broadcast", f"/admin/events/{occ.number}"

    def send(text, confirm="1"):
        preview = organiser.post(url, {"text": text}, token_from=page, follow_redirects=True).get_data(as_text=True)
        once = re.search(r'name="once" value="([^"]+)"', preview)
        if not once:  # refused at the preview already: what the confirm would say too
            return preview
        return organiser.post(url, {"text": text, "confirm": confirm, "once": once.group(1)}, token_from=page,
                              follow_redirects=True).get_data(as_text=True)

    assert "请填写要发送的内容" in send("  ")
    assert "内容最多600字，现在601字" in send("长" * 601)
    for i in range(3):
        send(f"第{i + 1}条通知")
    assert "24小时内已经群发了3次" in send("第4条通知")
    assert len(bot.outbox.pending()) == 3 * 2
    Events(bot.redis).set_status(occ, "cancelled")
    assert "活动已取消" in send("还有一件事")
    refusals = [e.refused for e in Audit(bot.redis).search(action="push.broadcast").entries if e.refused]
    assert len(refusals) == 4 and refusals[0].startswith("活动已取消")


def test_a_double_clicked_organiser_broadcast_is_sent_once(console_as, bot):
    """The admin broadcast's one-time token, on the organiser's own: a second click (or a resent form) shows the
    broadcast the first one started; nothing goes twice, and it does not count against the day's three."""
    organiser = console_as("organiser")
    occ, _ = event_with_volunteers(bot)
    url, page = f"/admin/events/{occ.number}/broadcast", f"/admin/events/{occ.number}"
    form = {"text": "集合时间改为八点半。"}
    preview = organiser.post(url, form, token_from=page).get_data(as_text=True)
    once = re.search(r'name="once" value="([^"]+)"', preview).group(1)
    first = organiser.post(url, {**form, "confirm": "1", "once": once}, token_from=page)
    again = organiser.post(url, {**form, "confirm": "1", "once": once}, token_from=page)
    assert first.status_code == again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    assert f"/admin/events/{occ.number}/broadcast/" in first.headers["Location"]
    assert len(bot.outbox.pending()) == 2
    assert "已经开始发送，没有再发一次" in organiser.page(again.headers["Location"])
    no_token = organiser.post(url, {**form, "confirm": "1"}, token_from=page, follow_redirects=True)
    assert "请从确认页面发送" in no_token.get_data(as_text=True) and len(bot.outbox.pending()) == 2
    for i in range(2):  # the day's other two
        preview = organiser.post(url, {"text": f"第{i + 2}条"}, token_from=page).get_data(as_text=True)
        organiser.post(url, {"text": f"第{i + 2}条", "confirm": "1",
                             "once": re.search(r'name="once" value="([^"]+)"', preview).group(1)}, token_from=page)
    assert len(bot.outbox.pending()) == 3 * 2
    late = organiser.post(url, {**form, "confirm": "1", "once": once}, token_from=page, follow_redirects=True)
    assert "已经开始发送，没有再发一次" in late.get_data(as_text=True) and "24小时内" not in late.get_data(as_text=True)
    assert len(broadcasts.recent(bot.redis)) == 3
