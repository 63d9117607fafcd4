"""Costs that stay flat as the store grows (issue 25, item 4): people, a person's records, the retention sweep,
the quiz and the job search read indexes, never the keyspace or every record there has been; follows and
unfollows are trimmed by a stated rule. Each lookup is checked through the way in a person uses, against what
the old full read found, and the server says (MONITOR, INFO commandstats) what was read."""
from __future__ import annotations

import dataclasses
import threading
import time
import uuid

import pytest

from domain import indexes
from domain.followers import FOLLOWS, UNFOLLOWS, Followers
from domain.jobs import Jobs
from domain.outbox import QUEUE, FailedPushes, Outbox
from domain.privacy import RETENTION_SECONDS
from domain.profiles import DUE, PHONES, Profiles, name_index_key
from domain.quiz import CLOSES, STREAK_BATCH
from tests.helpers import make_session, posting, with_profile


class Monitor:
    """Every command the server runs while it is open, with its arguments (Redis MONITOR on its own connection)."""

    def __init__(self, redis):
        self._redis = redis
        self.commands: list[list[str]] = []

    def __enter__(self):
        self._mon = self._redis.monitor().__enter__()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()
        self._stop = f"monitor-stop-{uuid.uuid4().hex}"
        start = f"monitor-start-{uuid.uuid4().hex}"
        deadline = time.monotonic() + 10
        while not self._ready.is_set() and time.monotonic() < deadline:
            self._redis.echo(start)
            self._ready.wait(0.05)
        assert self._ready.is_set(), "MONITOR saw nothing"
        self.commands.clear()
        return self

    def _listen(self):
        self._done = threading.Event()
        for item in self._mon.listen():
            command = item["command"]
            if command.startswith("ECHO monitor-start-"):
                self._ready.set()
                continue
            if self._ready.is_set() and command == f"ECHO {self._stop}":
                self._done.set()
                return
            if self._ready.is_set():
                self.commands.append(command.split(" "))

    def __exit__(self, *exc):
        try:
            self._redis.echo(self._stop)
            self._thread.join(10)
        finally:
            self._mon.__exit__(*exc)
        assert not self._thread.is_alive(), "MONITOR did not see its stop"

    def named(self, *names: str) -> list[list[str]]:
        return [c for c in self.commands if c[0].upper() in names]

    def touched(self, fragment: str) -> list[list[str]]:
        return [c for c in self.commands if any(fragment in part for part in c[1:])]


def _scans(redis) -> int:
    stats = redis.info("commandstats")
    return sum(stats.get(f"cmdstat_{c}", {}).get("calls", 0) for c in ("scan", "keys"))


def _brute_force_find(redis, query: str) -> list[tuple[str, str]]:
    """What the console's search found before the index: every profile read, name or phone-suffix matched."""
    found = []
    for k in redis.scan_iter(match="yb:{u:*}:profile"):
        d = redis.hgetall(k)
        hit = d.get("phone", "").endswith(query) if query.isdigit() and len(query) >= 4 else query in d.get("name", "")
        if hit and d.get("consent_at"):
            found.append((d.get("name", ""), k[len("yb:{u:"):-len("}:profile")]))
    return sorted(found)[:50]


NAMES = ["张小明", "张伟", "李小红", "王芳", "张三丰", "欧阳娜娜", "Anna Li", "买买提·艾力", "张小", "李明"]


def _people(bot, n=60):
    profiles = Profiles(bot.redis)
    for i in range(n):
        profiles.save_contact(f"o_p{i:03d}", NAMES[i % len(NAMES)] + ("" if i < 10 else "华"[: i % 2]),
                              f"13{i % 10}0000{i:04d}")
    profiles.set_branch("o_p000", "b1")
    bot.redis.hset("yb:{u:o_nocontact}:profile", "branch", "b1")  # a member who gave no contact details


# -- 1. people: the console's search by name and by phone digits ---------------------------------------------
@pytest.mark.parametrize("query", ["张", "小", "张小", "明", "李小红", "娜", "Anna", "·", "0001", "00010", "9999", "无此人"])
def test_console_search_finds_what_a_full_read_found_without_a_scan(console, bot, query):
    _people(bot)
    expected = _brute_force_find(bot.redis, query)
    before = _scans(bot.redis)
    html = console.page(f"/admin/people/?q={query}")
    assert _scans(bot.redis) == before  # no keyspace scan on the request path
    shown = [(p.name, p.openid) for p in Profiles(bot.redis).find(query)]
    assert shown == expected
    for name, openid in expected:
        assert f"/admin/people/{openid}" in html
    if not expected:
        assert "没有找到" in html


def test_search_follows_corrections_and_deletions(console, bot, wechat):
    profiles = Profiles(bot.redis)
    with_profile(bot, "o_alice", "张小明", "13800138000")
    profiles.correct("o_alice", 2026, name="李大明", phone="13911112222")
    assert "没有找到" in console.page("/admin/people/?q=张小明")
    assert "没有找到" in console.page("/admin/people/?q=8000")
    assert "/admin/people/o_alice" in console.page("/admin/people/?q=李大")
    assert "/admin/people/o_alice" in console.page("/admin/people/?q=2222")
    assert "确认删除" in wechat.send("删除我的信息", "o_alice")
    wechat.send("确认删除", "o_alice")
    assert "没有找到" in console.page("/admin/people/?q=李大明")
    assert "没有找到" in console.page("/admin/people/?q=2222")
    # nothing of the deleted name or number is left in the index
    assert not bot.redis.exists(name_index_key("李"), name_index_key("大"), PHONES, DUE)


def test_an_old_store_gets_its_indexes_once_and_a_killed_build_resumes(bot, cli, monkeypatch):
    from domain import profiles as profiles_module

    for i in range(30):  # profiles as an earlier version wrote them: no index
        bot.redis.hset(f"yb:{{u:o_old{i:02d}}}:profile",
                       mapping={"name": f"陈{'一二三四五'[i % 5]}", "phone": f"1380000{i:04d}", "consent_at": 1000 + i})
    bot.redis.delete(indexes.DONE)
    assert Profiles(bot.redis).find("陈") == []  # the index is missing: nothing found until it is built

    real = profiles_module.build_index
    calls = []

    def killed_after_one_batch(redis, cursor, batch=500):
        calls.append(cursor)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the start-up killed half-way
        return real(redis, cursor, batch=4)

    monkeypatch.setattr(profiles_module, "build_index", killed_after_one_batch)
    with pytest.raises(KeyboardInterrupt):
        indexes.ensure(bot.redis)
    saved = int(bot.redis.hget(indexes.DONE, "people:at") or 0)
    assert saved and "people" in indexes.missing(bot.redis) and not bot.redis.exists(indexes.LOCK)
    resumed = []

    def build(redis, cursor):
        resumed.append(cursor)
        return real(redis, cursor, batch=4)

    monkeypatch.setattr(profiles_module, "build_index", build)
    code, out = cli("indexes")
    assert code == 0 and "people" in out
    assert resumed[0] == saved and 0 not in resumed  # it carried on from where it stopped
    assert indexes.missing(bot.redis) == []
    assert [p.name for p in Profiles(bot.redis).find("陈")] == sorted(f"陈{'一二三四五'[i % 5]}" for i in range(30))
    assert [p.openid for p in Profiles(bot.redis).find("0007")] == ["o_old07"]
    assert bot.redis.zcard(DUE) == 30
    code, out = cli("indexes")
    assert code == 0 and "nothing to build" in out


# -- 1. deletion: a person's pushes found by their index, not by reading every queued and failed push ---------
def test_deletion_finds_the_persons_pushes_by_index(bot, wechat):
    outbox, failed = Outbox(bot.redis), FailedPushes(bot.redis)
    now = time.time()
    with_profile(bot, "o_gone", "张小明", "13800138000")
    for i in range(40):  # other people's pushes, queued and failed
        outbox.enqueue(f"o_other{i}", f"通知{i}", "late_reply", f"k-other-{i}")
        failed.record(f"f-other-{i}", f"o_other{i}", "late_reply", "回复", {}, now + 3600, 45047, now)
    outbox.enqueue("o_gone", "张小明，你的报名成功了", "late_reply", "k-gone")
    failed.record("f-gone", "o_gone", "late_reply", "张小明的回复", {}, now + 3600, 45047, now)
    assert "确认删除" in wechat.send("删除我的信息", "o_gone")
    with Monitor(bot.redis) as seen:
        assert "已删除" in wechat.send("确认删除", "o_gone")
    assert not [c for c in seen.named("LRANGE") if c[1].strip('"') == QUEUE]  # the queue was not read
    assert not seen.touched("f-other-")  # nor anyone else's failed push
    assert not seen.named("SCAN") and not seen.named("KEYS")  # the message ledger too: by its index
    assert [i["openid"] for i in outbox.pending()] == [f"o_other{i}" for i in range(40)]
    assert {p.openid for p in failed.all()} == {f"o_other{i}" for i in range(40)}


# -- 1. the nightly retention sweep reads who may be due, not every profile ----------------------------------
def test_retention_reads_only_who_may_be_due(bot, monkeypatch):
    from bot.pushes import tasks

    now = time.time()
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: now - 800 * 86400)  # agreed to the notice 800 days ago ...
        for i in range(5):
            with_profile(bot, f"o_idle{i}", "王芳", f"1380000000{i}")
        with_profile(bot, "o_wrote", "李明", "13900000000")
    bot.redis.hset("yb:{u:o_wrote}:follower", "last_seen", int(now - 30 * 86400))  # ... one wrote a month ago
    for i in range(200):
        with_profile(bot, f"o_new{i:03d}", "张伟", f"1370000{i:04d}")
    with Monitor(bot.redis) as seen:
        assert tasks.retention(bot, None, now) == {"deleted": 5}
    assert not seen.named("KEYS")
    assert not seen.named("SCAN")  # the deleted ones' message ledger too: by its index
    read = {c[1].strip('"') for c in seen.named("HMGET")}
    assert not any("o_new" in k for k in read)  # the 200 recent ones were not read
    assert not Profiles(bot.redis).get("o_idle0").has_contact and Profiles(bot.redis).get("o_wrote").has_contact
    assert bot.redis.zscore(DUE, "o_wrote") == int(now - 30 * 86400)  # its own two years count from then
    assert tasks.retention(bot, None, now) == {"deleted": 0}
    assert tasks.retention(bot, None, now - 30 * 86400 + RETENTION_SECONDS + 60) == {"deleted": 1}  # o_wrote


# -- 3. the chat's quiz reads the sessions not yet closed, and a streak only as far back as it goes -----------
def test_quiz_in_chat_does_not_read_every_session(bot, wechat):
    quiz = bot.quiz
    now = time.time()
    for w in range(30):  # thirty weeks of closed sessions
        make_session(quiz, f"old{w:02d}", opens_in=-(40 - w) * 7 * 86400, closes_in=-(40 - w) * 7 * 86400 + 86400,
                     now=now)
    for w in (27, 28, 29):
        assert quiz.record_completed("o_alice", quiz.session(f"old{w:02d}"), ["B", "ABD", "T"],
                                     now - (40 - w) * 7 * 86400 + 60)
    make_session(quiz, "s-now")
    before = _scans(bot.redis)
    with Monitor(bot.redis) as seen:
        assert "第1题/共3题" in wechat.send("答题")
        wechat.send("B")
        wechat.send("ABD")
        result = wechat.send("对")
    assert "连续参与：4期" in result  # the three before it and this one
    assert _scans(bot.redis) == before
    loaded = {c[1].strip('"') for c in seen.named("GET", "MGET")}
    assert not any(f"session:old{w:02d}" in k for k in loaded for w in range(30))
    scores_read = {c[1] for c in seen.named("ZSCORE") if ":score:old" in c[1]}
    assert 0 < len(scores_read) < STREAK_BATCH and not any(f"old{w:02d}" in k for k in scores_read for w in range(9))
    assert quiz.streak("o_alice", now + 60) == 4


def test_an_old_store_gets_the_closing_times(bot):
    quiz = bot.quiz
    make_session(quiz, "s-now")
    bot.redis.delete(CLOSES)
    bot.redis.hdel(indexes.DONE, "quiz")
    assert quiz.open_session(time.time()) is None
    assert indexes.ensure(bot.redis) == ["quiz"]
    assert quiz.open_session(time.time()).id == "s-now"


# -- 3. job search holds the live postings only -------------------------------------------------------------
def test_job_search_loads_live_postings_only(bot, wechat):
    jobs = Jobs(bot.redis)
    for i in range(40):  # a year of fairs: expired and filled postings
        jobs.save(posting(f"old{i}", f"旧货车司机{i}", days_ago=60 + i))
    jobs.set_status(jobs.save(posting("filled", "叉车司机")), "filled")
    jobs.save(posting("live1", "货车司机"))
    jobs.save(posting("live2", "网约车司机", days_ago=2))
    now = time.time()
    jobs.save(posting("late", "货运司机", days_ago=1, expires=now + 30))  # expires in half a minute
    with Monitor(bot.redis) as seen:
        reply = wechat.send("搜 司机")
    assert "货车司机" in reply and "网约车司机" in reply and "旧货车司机" not in reply and "叉车司机" not in reply
    assert "货运司机" in reply or time.time() >= now + 30
    loaded = [k.strip('"') for c in seen.named("MGET", "GET") for k in c[1:]]
    assert not any(":posting:old" in k or ":posting:filled" in k for k in loaded)
    assert [p.id for p in jobs.open(now)] == ["live1", "late", "live2"]
    with Monitor(bot.redis) as seen:
        assert [p.id for p in jobs.open(now + 60)] == ["live1", "live2"]  # expired meanwhile: out, ...
    assert not seen.named("MGET", "ZRANGEBYSCORE")  # ... without reading the postings again
    assert jobs.known_categories() == {"物流司机"}


# -- 2. follows and unfollows: kept FOLLOWS_KEEP_DAYS -------------------------------------------------------
def test_follow_logs_are_trimmed_by_their_setting(bot):
    from bot.pushes import tasks
    from bot.pushes.scheduler import TIMETABLE

    now = time.time()
    f = Followers(bot.redis)
    f.log_follow("o_long_ago", now - 800 * 86400, left_at=now - 760 * 86400)
    f.log_follow("o_last_year", now - 300 * 86400, left_at=now - 200 * 86400)
    f.subscribe("o_now", now)
    assert tasks.follows_retention(bot, None, now) == {"follows_trimmed": 2}
    assert f.followed_between(0, now + 1) == ["o_last_year", "o_now"]
    assert f.unfollowed_between(0, now + 1) == ["o_last_year"]
    bot.settings = dataclasses.replace(bot.settings, follows_keep_days=100)
    assert tasks.follows_retention(bot, None, now) == {"follows_trimmed": 2}
    assert bot.redis.zcard(FOLLOWS) == 1 and bot.redis.zcard(UNFOLLOWS) == 0
    bot.settings = dataclasses.replace(bot.settings, follows_keep_days=5000)  # never more than the two years the notice promises
    f.log_follow("o_older", now - 900 * 86400)
    assert tasks.follows_retention(bot, None, now) == {"follows_trimmed": 1}
    assert "follows_retention" in [e.job for e in TIMETABLE]


# -- 2. given-up pushes: their records expire a month past the deadline, and so do their places in the list ----
def test_given_up_pushes_leave_the_list_when_their_record_expires(bot):
    from bot.pushes import tasks
    from bot.pushes.scheduler import TIMETABLE
    from domain.outbox import GIVEN_UP, failed_key

    failed, now = FailedPushes(bot.redis), time.time()
    for i in range(7):  # refused for good (43004: the user unfollowed): given up at once
        failed.record(f"gone-{i}", f"o_{i}", "late_reply", "回复", {}, now + 3600, 43004, now)
    assert 0 < bot.redis.ttl(failed_key("gone-0")) <= 3600 + 30 * 86400
    for i in range(5):  # a month past the deadline: what the record's expiry does
        bot.redis.delete(failed_key(f"gone-{i}"))
    assert tasks.pushes_retention(bot, None, now) == {"given_up_pruned": 5}
    assert sorted(bot.redis.zrange(GIVEN_UP, 0, -1)) == ["gone-5", "gone-6"]
    assert {p.key for p in failed.all()} == {"gone-5", "gone-6"}
    assert tasks.pushes_retention(bot, None, now) == {"given_up_pruned": 0}
    assert "pushes_retention" in [e.job for e in TIMETABLE]


# -- 4. no keyspace scan on any request path ---------------------------------------------------------------
def test_a_week_of_messages_and_console_pages_scans_nothing(console, bot, wechat):
    quiz = bot.quiz
    _people(bot, 20)
    make_session(quiz, "s-now")
    Jobs(bot.redis).save(posting("live1", "货车司机"))
    before = _scans(bot.redis)
    for text in ("帮助", "答题", "B", "ABD", "对", "积分", "排行", "岗位", "搜 司机", "订阅岗位", "志愿", "我的"):
        assert wechat.send(text, "o_p001")
    for path in ("/admin/people/?q=张", "/admin/people/?q=0001", "/admin/people/o_p001"):
        console.page(path)
    assert _scans(bot.redis) == before
