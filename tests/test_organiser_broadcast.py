"""Organisers message their own event's volunteers (issue 22 #7): the admin's broadcast limited to one event, with
the same preview, reach, confirmation and audit; sent over HTTP to the fake WeChat API; never to anyone else."""
from __future__ import annotations

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
    resp = organiser.post(f"/admin/events/{occ.number}/broadcast", {**form, "confirm": "1"},
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
        return organiser.post(url, {"text": text, "confirm": confirm}, token_from=page,
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
