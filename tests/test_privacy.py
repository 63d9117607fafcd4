"""What `删除我的信息` and the retention rule leave behind, and what they must keep (issue 11 #10, issue 10 #16)."""
from __future__ import annotations

import time

from domain import indexes, ledger_index
from domain.jobs import Jobs
from domain.keys import ledger_key
from domain.privacy import RETENTION_SECONDS, forget_person
from domain.profiles import Profiles
from tests.helpers import posting
from tests.helpers import make_event, with_profile


def _forget_through_chat(wechat, openid):
    assert "确认删除" in wechat.send("删除我的信息", openid)
    return wechat.send("确认删除", openid)


def _scans(redis) -> int:
    stats = redis.info("commandstats")
    return sum(stats.get(f"cmdstat_{c}", {}).get("calls", 0) for c in ("scan", "keys"))


def test_deletion_scrubs_the_message_ledger_without_a_scan(wechat, bot):
    with_profile(bot, "o_led", name="王小红", phone="13912345678")
    with_profile(bot, "o_other", name="李四", phone="13900001111")
    wechat.send("搜 13912345678", "o_led")  # read-only: answered, and nothing kept in the ledger
    # a message that changed something keeps its reply for WeChat's retries, as the profile step's does
    bot.ledger.record(ledger_key("o_led", 777), "✅ 已记录：王小红，139****5678。", "o_led")
    bot.ledger.record(ledger_key("o_led", 778), None, "o_led")  # answered nothing: a marker, no text
    bot.ledger.record(ledger_key("o_other", 779), "✅ 已记录：李四。", "o_other")
    assert ledger_index.entries(bot.redis, "o_led") == [ledger_key("o_led", 777)]
    scans = _scans(bot.redis)
    _forget_through_chat(wechat, "o_led")
    assert _scans(bot.redis) == scans  # found by the person's index, not by reading the keyspace
    left = [bot.redis.get(k) for k in bot.redis.scan_iter(match="yb:{u:o_led}:msg:*")]
    assert not any("王小红" in (v or "") or "5678" in (v or "") for v in left)
    assert bot.redis.get(ledger_key("o_led", 778)) is not None  # the marker stays
    assert len(left) <= 3  # the marker and at most the two messages of the deletion itself (no personal data)
    assert bot.redis.get(ledger_key("o_other", 779)) == "✅ 已记录：李四。"  # someone else's entry is theirs


def test_a_ledger_written_before_the_index_is_indexed_once_and_scrubbed(wechat, bot):
    """Entries an earlier version wrote (no index; some in the key format before) are found by the index build
    that start-up runs (domain/indexes.py), and deleted with the person."""
    with_profile(bot, "o_old", name="王小红", phone="13912345678")
    bot.redis.set("yb:msg:o_old:501", "✅ 已记录：王小红。", ex=600)  # the format before
    bot.redis.set(ledger_key("o_old", 502), "✅ 已报名：王小红", ex=600)  # the format now, but no index
    bot.redis.set(ledger_key("o_old", 503), "\x00nothing", ex=600)
    bot.redis.hdel(indexes.DONE, "ledger")
    assert "ledger" in indexes.ensure(bot.redis)
    assert sorted(ledger_index.entries(bot.redis, "o_old")) == sorted(
        ["yb:msg:o_old:501", ledger_key("o_old", 502), ledger_key("o_old", 503)])
    assert 0 < bot.redis.ttl(ledger_index.index_key("o_old")) <= 600
    _forget_through_chat(wechat, "o_old")
    assert not bot.redis.exists("yb:msg:o_old:501", ledger_key("o_old", 502))
    assert bot.redis.exists(ledger_key("o_old", 503))  # a marker holds no text


def test_the_ledger_index_holds_only_entries_that_may_exist(bot):
    """Each recorded reply drops what has expired: the index of a chatty person stays the size of the ledger."""
    for n in range(5):
        bot.ledger.queue_record(bot.redis, ledger_key("o_chatty", n), f"回复{n}", "o_chatty")
    idx = ledger_index.index_key("o_chatty")
    bot.redis.zadd(idx, {ledger_key("o_chatty", "gone"): time.time() - 1})  # an entry that expired
    assert ledger_key("o_chatty", "gone") not in ledger_index.entries(bot.redis, "o_chatty")
    bot.ledger.record(ledger_key("o_chatty", 9), "回复9", "o_chatty")
    assert bot.redis.zcard(idx) == 6 and 0 < bot.redis.ttl(idx) <= bot.settings.dedupe_ttl


def test_deletion_drops_the_persons_pending_pushes(wechat, bot):
    bot.outbox.enqueue("o_gone", "王小红，你已从候补转为正式报名", kind="waitlist_promotion", idem_key="p:1:o_gone")
    bot.outbox.enqueue("o_other", "你好", kind="late_reply", idem_key="l:1:o_other")
    forget_person(bot.redis, "o_gone", time.time())
    assert [p["openid"] for p in bot.outbox.pending()] == ["o_other"]


def test_deletion_keeps_the_anonymous_job_figures(bot):
    jobs = Jobs(bot.redis)
    p = jobs.save(posting("p_forget", title="仓库管理员"))
    with_profile(bot, "o_hired")
    with_profile(bot, "o_stays")
    jobs.register_interest(p, "o_hired", "", time.time())
    jobs.register_interest(p, "o_stays", "", time.time())
    jobs.set_outcome(p.id, "o_hired", "hired")
    before = jobs.stats()
    forget_person(bot.redis, "o_hired", time.time())
    assert jobs.stats() == before  # interest 2, hired 1: the counts survive the person
    assert [o for o, *_ in jobs.interested(p.id)] == ["o_stays"]  # the employer no longer sees them
    assert jobs.mine("o_hired") == []


def test_jobs_stats_after_a_hired_person_deletes_their_data(wechat, bot, cli):
    jobs = Jobs(bot.redis)
    p = jobs.save(posting("p_cli", title="叉车司机"))
    with_profile(bot, "o_h")
    jobs.register_interest(p, "o_h", "", time.time())
    jobs.set_outcome(p.id, "o_h", "hired")
    _, before = cli("jobs", "stats")
    _forget_through_chat(wechat, "o_h")
    _, after = cli("jobs", "stats")
    assert after == before and " 1 " in after.splitlines()[2]


def test_deletion_keeps_hours_and_attendance_pseudonymous(wechat, bot):
    occ = make_event(bot.events, starts_in=-3 * 3600, hours=2)
    with_profile(bot, "o_vol", name="李晓")
    bot.redis.zadd("yb:{ev:%s}:confirmed" % occ.id, {"o_vol": 1})
    bot.redis.hset("yb:{ev:%s}:checkin" % occ.id, "o_vol", int(occ.start))
    bot.redis.set("yb:{u:o_vol}:checked_in", occ.id)
    assert bot.events.check_out("o_vol", occ.end)[0] == "ok"
    _forget_through_chat(wechat, "o_vol")
    assert bot.events.service_record("o_vol")[0][1] == 120  # the hours stay, keyed by openid only
    assert "o_vol" in bot.events.attendance(occ.id)
    assert not Profiles(bot.redis).get("o_vol").name


# -- retention: contact details go two years after the last activity --------------------------------
def test_contact_details_are_deleted_two_years_after_the_last_activity(bot, monkeypatch):
    from bot.pushes import tasks

    now = time.time()
    with monkeypatch.context() as m:  # o_old agreed to the notice 500 days ago
        m.setattr(time, "time", lambda: now - 500 * 86400)
        with_profile(bot, "o_old")
    with_profile(bot, "o_recent")
    bot.redis.hset("yb:{u:o_old}:follower", "last_seen", int(now - 400 * 86400))
    bot.redis.hset("yb:{u:o_recent}:follower", "last_seen", int(now - 10 * 86400))
    assert int(bot.redis.hget("yb:{u:o_old}:profile", "consent_at")) == int(now - 500 * 86400)

    assert tasks.retention(bot, None, now) == {"deleted": 0}  # nobody is two years idle yet
    later = now + RETENTION_SECONDS - 399 * 86400  # the clock moved on: o_old is 2 years and a day idle
    assert tasks.retention(bot, None, later) == {"deleted": 1}
    assert not Profiles(bot.redis).get("o_old").has_contact
    assert Profiles(bot.redis).get("o_recent").has_contact
    assert tasks.retention(bot, None, later) == {"deleted": 0}  # done once


def test_a_person_who_never_wrote_counts_from_their_consent(bot):
    from bot.pushes import tasks

    with_profile(bot, "o_silent")
    consent = int(Profiles(bot.redis).get("o_silent").consent_at)
    assert tasks.retention(bot, None, consent + RETENTION_SECONDS - 60) == {"deleted": 0}
    assert tasks.retention(bot, None, consent + RETENTION_SECONDS + 60) == {"deleted": 1}


def test_retention_runs_nightly_in_the_timetable():
    from bot.pushes.scheduler import TIMETABLE

    assert "retention" in [e.job for e in TIMETABLE]


def test_deletion_drops_the_text_kept_with_a_failed_push(bot, pushing, fake_wechat):
    import requests

    from bot.pushes.delivery import Push, failed_pushes as failed
    from tests.helpers import follower

    deliverer, _ = pushing
    follower(bot, "o_f")
    requests.post(f"{fake_wechat[0]}/_fake/fail", json={"errcode": 43004, "times": 1}, timeout=5)
    deliverer.deliver(Push("o_f", "王小红，你已递补成功", "waitlist_promotion", "promote:x:o_f", None, time.time() + 9e4))
    assert [p.text for p in failed(bot.redis)] == ["王小红，你已递补成功"]
    forget_person(bot.redis, "o_f", time.time())
    assert failed(bot.redis) == [] and "王小红" not in str(bot.redis.hgetall("yb:{push}:log:promote:x:o_f"))
