"""The console's push pages: figures, failed pushes retried, broadcasts with reach under the 48-hour rule."""
from __future__ import annotations

import re

import time
from dataclasses import replace

import requests

from bot.pushes import broadcasts

from bot.pushes import tasks
from bot.pushes.delivery import Push, Status
from domain.followers import Followers
from domain.profiles import Profiles


def test_a_failed_push_is_listed_and_retried_once(console, bot, pushing):
    deliverer, fake = pushing
    Followers(bot.redis).subscribe("o_a")
    base = deliverer.client.API_BASE_URL.split("/cgi-bin")[0]
    requests.post(base + "/_fake/fail", json={"errcode": 40003, "times": 1})
    assert deliverer.deliver(Push("o_a", "活动提醒", "event_reminder", "k1")).status == Status.FAILED
    html = console.page("/admin/pushes/")
    assert "40003" in html and "活动提醒" in html
    console.post("/admin/pushes/retry", {"key": "k1"}, token_from="/admin/pushes/")
    assert tasks.drain_outbox(bot, deliverer, time.time()) == {"sent": 1}
    assert "没有失败的推送" in console.page("/admin/pushes/")
    again = console.post("/admin/pushes/retry", {"key": "k1"}, token_from="/admin/pushes/", follow_redirects=True)
    assert "已经重试过" in again.get_data(as_text=True)


def test_a_broadcast_shows_its_reach_then_sends_on_confirmation(console, bot, pushing):
    deliverer, fake = pushing
    followers = Followers(bot.redis)
    for o in ("o_recent", "o_quiet", "o_left"):
        followers.subscribe(o)
    long_ago = int(time.time()) - 3 * 86400
    bot.redis.hset("yb:{u:o_quiet}:follower", "last_seen", long_ago)
    followers.unsubscribe("o_left")
    profiles = Profiles(bot.redis)
    bot.redis.hset("yb:{quiz}:branches", "b1", "机关团支部")
    for o in ("o_recent", "o_quiet", "o_left"):
        profiles.set_branch(o, "b1")
    form = {"segment": "branch:b1", "text": "周六上午团日活动，请准时参加。"}
    preview = console.post("/admin/pushes/broadcast", form, token_from="/admin/pushes/").get_data(as_text=True)
    assert 'id="reach">1<' in preview and "确认发送给 1 人" in preview and "周六上午团日活动" in preview
    assert bot.outbox.pending() == []  # nothing is sent before the confirmation
    once = re.search(r'name="once" value="([^"]+)"', preview).group(1)
    resp = console.post("/admin/pushes/broadcast", {**form, "confirm": "1", "once": once}, token_from="/admin/pushes/")
    progress_path = resp.headers["Location"]
    assert len(bot.outbox.pending()) == 3
    assert tasks.drain_outbox(bot, deliverer, time.time()) == {"sent": 1, "skipped": 2}
    html = console.page(progress_path)
    assert "已全部处理" in html
    bid = progress_path.rsplit("/", 1)[1]
    p = broadcasts.progress(bot.redis, bid)
    assert (p.total, p.sent, p.skipped, p.waiting) == (3, 1, 2, 0)
    assert [m["touser"] for m in fake.messages] == ["o_recent"]


def test_with_a_template_configured_the_quiet_ones_are_reached_too(bot):
    bot.settings = replace(bot.settings, wechat_templates='{"broadcast": {"template_id": "T1", "fields": {"first": "text"}}}')
    followers = Followers(bot.redis)
    followers.subscribe("o_quiet")
    bot.redis.hset("yb:{u:o_quiet}:follower", "last_seen", int(time.time()) - 3 * 86400)
    assert broadcasts.reach(bot, ["o_quiet"], time.time()) == broadcasts.BroadcastReach(1, 0, 1, 0)


def test_a_broadcast_without_text_or_to_no_segment_gets_a_clear_answer(console):
    html = console.post("/admin/pushes/broadcast", {"segment": "all", "text": " "}, token_from="/admin/pushes/",
                        follow_redirects=True).get_data(as_text=True)
    assert "请填写要发送的内容" in html
    html = console.post("/admin/pushes/broadcast", {"segment": "branch:nope", "text": "x"}, token_from="/admin/pushes/",
                        follow_redirects=True).get_data(as_text=True)
    assert "没有这个发送对象" in html


def test_a_broadcast_is_sent_exactly_as_previewed_a_contact_number_included_with_a_warning(console, bot, pushing):
    """Issue 21 item 12: the preview is what is sent. A contact number staff type is theirs to give (not a
    resident's data): it is sent in full, and the preview says so before sending; other pushes still mask numbers."""
    deliverer, fake = pushing
    Followers(bot.redis).subscribe("o_recent")
    text = "周六团日活动改到下午，有事请联系王老师 139 1111 1111。"
    form = {"segment": "all", "text": text}
    preview = console.post("/admin/pushes/broadcast", form, token_from="/admin/pushes/").get_data(as_text=True)
    assert f'<div class="bubble">{text}</div>' in preview
    assert 'id="numbers-warning"' in preview and "139 1111 1111：会原样发给每一位收到的人" in preview
    once = re.search(r'name="once" value="([^"]+)"', preview).group(1)
    console.post("/admin/pushes/broadcast", {**form, "confirm": "1", "once": once}, token_from="/admin/pushes/")
    assert tasks.drain_outbox(bot, deliverer, time.time()) == {"sent": 1}
    assert [m["text"] for m in fake.messages] == [text]
    assert deliverer.deliver(Push("o_recent", "你填写的手机号是 13922223333", "late_reply", "k9")).status == Status.SENT
    assert fake.messages[-1]["text"] == "你填写的手机号是 139****3333"


def test_a_broadcast_without_a_number_has_no_warning(console, bot):
    Followers(bot.redis).subscribe("o_recent")
    preview = console.post("/admin/pushes/broadcast", {"segment": "all", "text": "周六团日活动。"},
                           token_from="/admin/pushes/").get_data(as_text=True)
    assert "确认发送给" in preview and 'id="numbers-warning"' not in preview
