"""Failed pushes are not dropped: tried again later while they make sense, then given up with a reason (issue 11 #4)."""
from __future__ import annotations

import time

import requests

from bot.pushes import tasks
from bot.pushes.delivery import Push, failed_pushes, retry_failed, stats
from domain.outbox import RETRY_AFTER
from tests.helpers import follower
from tests.helpers import make_event


def fail_next(base, times=1, **failure):
    requests.post(f"{base}/_fake/fail", json={**failure, "times": times}, timeout=5)


def test_a_promotion_that_failed_goes_out_on_a_later_run(bot, pushing, fake_wechat, wechat):
    deliverer, fake = pushing
    occ = make_event(bot.events, capacity=1)
    bot.events.sign_up(occ, "o_first")
    bot.events.sign_up(occ, "o_waiting")
    follower(bot, "o_waiting")
    bot.events.cancel(occ, "o_first")
    bot.outbox.enqueue("o_waiting", "你已从候补转为正式报名", kind="waitlist_promotion",
                       idem_key=f"promote:{occ.id}:o_waiting", expires=occ.start)
    deliverer.client.send_text("o_waiting", "warm up the token")
    fail_next(fake_wechat[0], times=2, errcode=40001)  # the token refresh and its one retry both fail
    now = time.time()
    assert tasks.drain_outbox(bot, deliverer, now) == {"failed": 1}
    [kept] = failed_pushes(bot.redis)
    assert (kept.openid, kept.errcode, kept.state, kept.expires) == ("o_waiting", "40001", "retrying", int(occ.start))
    assert kept.next_at == now + RETRY_AFTER[0]
    assert tasks.retry_pushes(bot, deliverer, now + 1) == {}  # not due yet
    assert tasks.retry_pushes(bot, deliverer, now + RETRY_AFTER[0] + 1) == {"sent": 1}
    assert [m["text"] for m in fake.messages if m["touser"] == "o_waiting"][-1] == "你已从候补转为正式报名"
    assert failed_pushes(bot.redis) == []
    counts = stats(bot.redis)
    assert counts["sent"] >= 1 and counts.get("failed", 0) == 0 and counts.get("sending", 0) == 0


def test_retries_back_off_then_give_up_with_the_reason(bot, pushing, fake_wechat):
    deliverer, fake = pushing
    follower(bot, "o_r")
    now = time.time()
    push = Push("o_r", "提醒", "event_reminder", "event_24h:x:o_r", {"title": "x"}, now + 10 * 86400)
    fail_next(fake_wechat[0], times=1000, http=502)
    assert str(deliverer.deliver(push, now)) == "failed:502"
    t = now
    for delay in RETRY_AFTER:
        t += delay + 1
        assert tasks.retry_pushes(bot, deliverer, t) == {"failed": 1}
    [gone] = failed_pushes(bot.redis)
    assert (gone.state, gone.reason, gone.failures) == ("given_up", "attempts", len(RETRY_AFTER) + 1)
    assert tasks.retry_pushes(bot, deliverer, t + 86400) == {}
    assert fake.messages == []


def test_a_reminder_is_not_retried_past_its_deadline(bot, pushing, fake_wechat):
    deliverer, fake = pushing
    follower(bot, "o_late")
    now = time.time()
    fail_next(fake_wechat[0], times=1000, errcode=45009)
    deliverer.deliver(Push("o_late", "2小时后开始", "event_reminder", "event_2h:y:o_late", None, now + 30), now)
    [gone] = failed_pushes(bot.redis)
    assert (gone.state, gone.reason) == ("given_up", "expired")  # the next try would come after the start


def test_errors_no_retry_can_cure_are_given_up_at_once(bot, pushing, fake_wechat):
    deliverer, _ = pushing
    follower(bot, "o_blocked")
    fail_next(fake_wechat[0], times=1, errcode=43004)
    deliverer.deliver(Push("o_blocked", "x", "waitlist_promotion", "promote:z:o_blocked", None, time.time() + 86400))
    [gone] = failed_pushes(bot.redis)
    assert (gone.state, gone.reason, gone.errcode) == ("given_up", "permanent", "43004")


def test_pushes_failed_lists_and_pushes_retry_requeues(bot, pushing, fake_wechat, cli):
    deliverer, fake = pushing
    follower(bot, "o_c")
    now = time.time()
    fail_next(fake_wechat[0], times=1, errcode=43004)
    deliverer.deliver(Push("o_c", "候补转正", "waitlist_promotion", "promote:c:o_c", None, now + 86400), now)
    code, out = cli("pushes", "failed")
    assert code == 0 and "43004" in out and "given up: permanent" in out and "promote:c:o_c" in out
    code, out = cli("pushes", "retry")
    assert code == 0 and out.startswith("1 queued")
    assert tasks.retry_pushes(bot, deliverer, time.time() + 1) == {"sent": 1}
    assert fake.messages[-1]["text"] == "候补转正"
    assert cli("pushes", "failed")[1].strip() == "no failed pushes"


def test_retry_now_gives_up_what_no_longer_makes_sense(bot, pushing, fake_wechat):
    deliverer, _ = pushing
    follower(bot, "o_old")
    now = time.time()
    fail_next(fake_wechat[0], times=1, errcode=43004)
    deliverer.deliver(Push("o_old", "x", "event_reminder", "event_2h:old:o_old", None, now + 3600), now)
    assert retry_failed(bot.redis, now=now + 7200) == (0, 1)
    [gone] = failed_pushes(bot.redis)
    assert gone.reason == "expired"


def test_a_retry_held_by_quiet_hours_waits_without_counting(bot, pushing, fake_wechat):
    from dataclasses import replace

    from bot.pushes.delivery import Deliverer
    from domain import clock

    deliverer, _ = pushing
    follower(bot, "o_q")
    night = clock.parse_when("today 23:30")
    fail_next(fake_wechat[0], times=1, http=502)
    bot.settings = replace(bot.settings, quiet_hours="22:00-08:00", push_attempts=1)
    quiet = Deliverer(bot, deliverer.client)
    quiet.deliver(Push("o_q", "x", "waitlist_promotion", "promote:q:o_q", None, night + 86400), night - 3600 * 2)
    assert tasks.retry_pushes(bot, quiet, night) == {"quiet": 1}
    [kept] = failed_pushes(bot.redis)
    assert kept.failures == 1 and kept.state == "retrying"


def test_deleting_my_data_drops_my_failed_pushes(bot, pushing, fake_wechat):
    from domain.privacy import forget_person

    deliverer, _ = pushing
    follower(bot, "o_del")
    fail_next(fake_wechat[0], times=10, http=502)
    deliverer.deliver(Push("o_del", "王小红，你的报名已确认", "waitlist_promotion", "promote:d:o_del", None,
                           time.time() + 86400))
    assert failed_pushes(bot.redis)
    forget_person(bot.redis, "o_del", time.time())
    assert failed_pushes(bot.redis) == []
