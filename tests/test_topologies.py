"""Past one machine (issue 24): a Redis Cluster of 3 primaries + 3 replicas and a primary + 2 replicas
watched by 3 sentinels, real servers on loopback started here (tests/redis_topologies.py; why two
replicas for Sentinel: docs/operations.md, "Several machines").

For each: the features' journeys through the webhook, every primary checked (durability at start,
/readyz, doctor, the restore refusal) naming the node at fault, and the real service (gunicorn,
2 workers) under load while a node is frozen, a failover is made and a primary is killed: every
request answered 200 in words, none waiting past ~2 s, no acknowledged sign-up lost, and normal
replies again within a few seconds. The figures are printed (pytest -s) and written up in
docs/reliability.md.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests

from bot.runtime import storage
from bot.app import create_app
from bot.config import Settings
from bot.runtime import topology
from bot.wechat.simulator import WeChatSimulator, text_xml
from domain.events import Events
from domain.followers import ACTIVE
from domain.keys import user_key
from domain.profiles import Profiles
from domain.quiz import Quiz
from tests.helpers import AES_KEY, APPID, TOKEN, WeChat, follower, make_event, make_session
from tests.redis_topologies import CLI, SERVER, Cluster, SentinelGroup, free_ports, until
from bot.runtime.writes import READS

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (SERVER and CLI and os.path.exists(SERVER)),
                                 reason="needs Debian's redis-server and redis-sentinel (.ci/run installs them)")]

UNAVAILABLE = "系统维护中"
HELP = "青年大学习"
SIGNED = "报名成功"


def start(kind: str, folder: Path, **options):
    return Cluster(folder, **options) if kind == "cluster" else SentinelGroup(folder, **options)


@pytest.fixture(params=["cluster", "sentinel"])
def store(request, tmp_path):
    topo = start(request.param, tmp_path / "redis")
    topo.kind = request.param
    yield topo
    topo.stop()


def make_app(url: str, data_dir: Path):
    settings = Settings(wechat_token=TOKEN, wechat_appid=APPID, wechat_aes_key=AES_KEY, redis_url=url,
                        data_dir=data_dir, load_demo="0")
    client = storage.connect(url, data_dir)
    return create_app(settings, client), client


# -- journeys --------------------------------------------------------------------------------------
def test_quiz_search_sign_up_contention_and_pushes_once_on_each_topology(store, tmp_path, fake_wechat):
    from dataclasses import replace

    from bot import importers
    from bot.pushes.delivery import Deliverer
    from bot.wechat.client import SharedTokenClient

    app, client = make_app(store.url, tmp_path)
    bot = app.extensions["youthbot"]
    wechat = WeChat(app.test_client())
    # the quiz, whole, through the webhook
    quiz = Quiz(client)
    client.hset("yb:{quiz}:branches", mapping={"b1": "一支部"})
    make_session(quiz)
    assert "第1题/共3题" in wechat.send("答题", "o_quiz")
    assert "回答正确" in wechat.send("b", "o_quiz")
    assert "回答错误" in wechat.send("A、B", "o_quiz")
    assert "得分：20分" in wechat.send("√", "o_quiz")
    assert quiz.result_of("o_quiz", quiz.session("s-now")) == (20, 1)
    # search over the shipped jobs
    import shutil

    shutil.copytree(bot.settings.content_dir / "jobs", tmp_path / "content" / "jobs")
    importers.load_dir(bot, tmp_path / "content")
    assert "货车司机" in wechat.send("搜索 司机", "o_search")
    # 30 residents sign up at once for 10 places, over real HTTP on a threaded server
    occ = make_event(Events(client), "crowd", capacity=10)
    people = [f"o_crowd_{i}" for i in range(30)]
    for p in people:
        Profiles(client).save_contact(p, "张小明", "13800138000")
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sim = WeChatSimulator(TOKEN, "", APPID)

        def sign_up(openid):
            params, body = sim.request(text_xml(openid, f"报名 {occ.number}"))
            resp = requests.post(f"http://127.0.0.1:{server.server_port}/wechat", params=params, data=body,
                                 timeout=30)
            return resp.status_code, sim.reply_text(resp.content) or ""
        with ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(sign_up, people))
    finally:
        server.shutdown()
    assert {code for code, _ in answers} == {200}
    assert sum(SIGNED in r for _, r in answers) == 10 and sum("候补" in r for _, r in answers) == 20
    assert len(Events(client).confirmed(occ.id)) == 10
    # pushes: two deliverers, each with its own connections, drain one outbox at once: each push sent once
    base, fake = fake_wechat
    bot.settings = replace(bot.settings, wechat_api_base_url=base + "/cgi-bin/", push_retry_base=0.01,
                           quiet_hours="03:00-03:00", push_rate=1000)
    for p in people:
        client.sadd(ACTIVE, p)
        bot.outbox.enqueue(p, f"通知{p}", kind="event_moved", idem_key=f"k:{p}")
    drainers = []
    for _ in range(2):
        other = storage.connect(store.url, tmp_path)
        twin = create_app(bot.settings, other).extensions["youthbot"]
        drainers.append((twin, Deliverer(twin, SharedTokenClient(other, "wxtest", "secret",
                                                                   bot.settings.wechat_api_base_url))))
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda d: d[0].outbox.drain(lambda item: d[1].deliver(
            _push(item)).status.value), drainers))
    sent = Counter(m["touser"] for m in fake.messages)
    assert sent == Counter(people), sent


def test_each_state_change_keeps_its_rules_where_it_spans_slots(store, tmp_path):
    """On a Cluster a sign-up, a cancellation, a check-in/out and an interest make one call per slot
    (docs/reliability.md, "One write call per state change"); under Sentinel one call. Through the
    webhook on each: the consent questions end in the sign-up, an overlap is refused, a cancellation
    promotes the first waitlisted and queues their notice once, check-in and out credit the stay, and
    the note ends its question and is kept with the interest."""
    from domain.jobs import Jobs, interest_key
    from tests.helpers import posting

    app, client = make_app(store.url, tmp_path)
    bot = app.extensions["youthbot"]
    wechat = WeChat(app.test_client())
    events = Events(client)
    occ = make_event(events, "tag", capacity=1)
    same_time = make_event(events, "same", starts_in=3 * 86400 + 1800)
    for text, expected in [(f"报名 {occ.number}", "个人信息说明"), ("同意", "真实姓名"), ("张小明", "手机号"),
                           ("13800138000", SIGNED)]:
        assert expected in wechat.send(text, "o_first"), text
    assert Profiles(client).get("o_first").has_contact and client.exists(user_key("o_first", "flow")) == 0
    assert client.zscore(user_key("o_first", "signups"), occ.id) == occ.start
    assert "活动tag" in wechat.send(f"报名 {same_time.number}", "o_first")  # the overlap, named
    assert events.status_of(same_time.id, "o_first") == ("none", 0)
    Profiles(client).save_contact("o_second", "李雷", "13900139000")
    assert "候补" in wechat.send(f"报名 {occ.number}", "o_second")
    assert "已取消" in wechat.send(f"取消报名 {occ.number}", "o_first")
    assert events.status_of(occ.id, "o_second") == ("confirmed", 1)
    assert client.zscore(user_key("o_first", "signups"), occ.id) is None
    assert [p["key"] for p in bot.outbox.pending()] == [f"promote:{occ.id}:o_second"]
    now_on = make_event(events, "now", starts_in=-600)
    events.sign_up(now_on, "o_second")
    assert "签到成功" in wechat.send(f"签到 {events.code(now_on.id)}", "o_second")
    assert client.get(user_key("o_second", "checked_in")) == now_on.id
    assert now_on.title in wechat.send("签退", "o_second")
    assert client.zscore(user_key("o_second", "served"), now_on.id) == 0
    assert client.get(user_key("o_second", "checked_out")) == now_on.id
    job = Jobs(client).save(posting("jt", "仓库分拣员"))
    assert "跳过" in wechat.send(f"投递 {job.number}", "o_second")
    assert "仓库分拣员" in wechat.send("周末也可以", "o_second")
    assert client.zscore(interest_key(job.id), "o_second") is not None
    assert client.zscore(user_key("o_second", "jobs"), job.id) is not None
    assert client.exists(user_key("o_second", "flow")) == 0


def _push(item):
    from bot.pushes.delivery import Push

    return Push(item["openid"], item["text"], item["kind"], item["key"], expires=item.get("expires"))


# -- every primary checked, the node at fault named -------------------------------------------------
def test_each_cluster_primary_is_checked_and_the_one_at_fault_named(tmp_path):
    from bot.ops import doctor
    from bot.ops.backup import BackupError, restore

    with Cluster(tmp_path / "redis") as cluster:
        app, client = make_app(cluster.url, tmp_path)
        primaries = [cluster.by_port(n.name.rsplit(":", 1)[1]) for n in topology.primaries(client)]
        assert len(primaries) == 3
        for i in range(300):  # keys on every node
            client.set(f"yb:t:{i}", i)
        counts = topology.key_counts(client)
        total = sum(counts.values())  # the 300, and what the app keeps (its signing key)
        assert len(counts) == 3 and all(c > 50 for c in counts.values()) and 300 <= total < 310, counts
        # the restore refusal counts every node's keys (a Cluster's DBSIZE through one client counts one)
        with pytest.raises(BackupError, match=f"holds {total} keys"):
            restore(cluster.url, _empty_archive(tmp_path))
        # appendonly off on two of three: start-up's line, /readyz and doctor name both
        bad = primaries[1:]
        for s in bad:
            with s.client() as c:
                c.config_set("appendonly", "no")
        durable, said = storage.durability(client)
        assert not durable and all(s.name in said for s in bad) and primaries[0].name not in said, said
        topology.forget_settings()
        resp = app.test_client().get("/readyz")
        assert resp.status_code == 503
        assert resp.get_json()["checks"]["persistence"]["failed"] == sorted(s.name for s in bad)
        settings = app.extensions["youthbot"].settings
        found = [f for f in doctor.check_redis(settings, client) if f.status == doctor.FAIL]
        assert any("appendonly is off" in f.message and all(s.name in f.message for s in bad) for f in found)
        for s in bad:
            with s.client() as c:
                c.config_set("appendonly", "yes")
        # a frozen primary is named by /readyz (in about its timeout) and doctor; the others still answer
        frozen = primaries[2]
        for s in cluster.servers:  # no failover in this test: the frozen node stays the primary
            with s.client() as c:
                c.config_set("cluster-replica-no-failover", "yes")
        topology.forget_settings()
        frozen.freeze()
        try:
            started = time.monotonic()
            resp = app.test_client().get("/readyz")
            took = time.monotonic() - started
            body = resp.get_json()
            assert resp.status_code == 503 and body["checks"]["redis"]["failed"] == [frozen.name], body
            assert took < 2.5, took
            found = doctor.check_redis(settings, client)
            assert any(f.status == doctor.FAIL and frozen.name in f.message for f in found), found
        finally:
            frozen.thaw()


def _empty_archive(tmp_path) -> Path:
    from bot.ops.backup import backup

    with SentinelGroup(tmp_path / "empty") as empty:  # any empty store makes a valid archive
        return backup(empty.url, tmp_path / "empty.tar.gz", None).path


def test_sentinel_store_is_named_everywhere_and_a_demoted_primary_is_not_ready(tmp_path):
    from bot.ops import doctor
    from bot.ops.backup import backup, nodes_of

    with SentinelGroup(tmp_path / "redis") as group:
        app, client = make_app(group.url, tmp_path)
        client.set("yb:t:1", "x")
        durable, said = storage.durability(client)
        assert durable, said
        assert nodes_of(group.url)[1][0].port == group.primary.port  # backups read the primary Sentinel names
        result = backup(group.url, tmp_path / "b.tar.gz", None)
        assert result.keys == client.dbsize() >= 1  # what the app keeps, and ours
        resp = app.test_client().get("/readyz")
        assert resp.get_json()["checks"]["redis"]["ok"], resp.get_json()
        # plain redis:// pointing at a server that is now a replica: not ready, and said why
        url = f"redis://{group.replica.name}/0"
        plain, _ = make_app(url, tmp_path)
        body = plain.test_client().get("/readyz").get_json()
        assert body["checks"]["redis"]["failed"] == [group.replica.name]
        assert "not a primary" in body["checks"]["redis"]["error"]
        found = doctor.check_redis(plain.extensions["youthbot"].settings, storage.connect(url, tmp_path))
        assert any(f.status == doctor.FAIL and "not a primary" in f.message for f in found), found
        # doctor on the Sentinel URL: the sentinels answer; a primary a failover could lose writes on is named
        settings = app.extensions["youthbot"].settings
        found = doctor.check_redis(settings, client)
        assert any(f.status == doctor.OK and "3 sentinels answer" in f.message for f in found), found
        assert not any("min-replicas-to-write 0" in f.message for f in found), found
        with group.primary.client() as c:
            c.config_set("min-replicas-to-write", "0")
        group.sentinels[2].kill()
        found = doctor.check_redis(settings, client)
        assert any(f.status == doctor.WARN and group.primary.name in f.message and "min-replicas-to-write 0"
                   in f.message for f in found), found
        assert any(f.status == doctor.WARN and group.sentinels[2].name in f.message for f in found), found


# -- the real service under load: a frozen node, a failover, a killed primary -----------------------
class Load:
    """Residents sending signed messages to the service: each signs up once (a write that is
    acknowledged by 报名成功), then asks for 帮助 (a read). Every answer is recorded."""

    def __init__(self, port: int, users: list[str], number: int, threads: int = 4):
        self.url = f"http://127.0.0.1:{port}/wechat"
        self.users, self.number = list(users), number
        self.sim = WeChatSimulator(TOKEN, "", APPID)
        self.records: list[dict] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self._threads:
            t.join(30)

    def _next_user(self):
        with self._lock:
            return self.users.pop() if self.users else None

    def _send(self, session, openid, text, kind):
        params, body = self.sim.request(text_xml(openid, text))
        started = time.monotonic()
        try:
            resp = session.post(self.url, params=params, data=body, timeout=10)
            status, reply = resp.status_code, (self.sim.reply_text(resp.content) if resp.status_code == 200 else "")
        except requests.RequestException as exc:
            status, reply = 0, type(exc).__name__
        ended = time.monotonic()
        record = {"at": started, "end": ended, "took": ended - started, "status": status, "kind": kind,
                  "user": openid, "reply": reply or ""}
        with self._lock:
            self.records.append(record)
        return record

    def _run(self):
        seen = None
        with requests.Session() as session:
            while not self.stop.is_set():
                user = self._next_user()
                if user is not None:  # a new resident signs up, then asks for help
                    seen = user
                    self._send(session, user, f"报名 {self.number}", "write")
                if seen and not self.stop.is_set():  # (every resident used: reads only)
                    self._send(session, seen, "帮助", "read")
                self.stop.wait(0.02)  # a bounded load: fixed-text answers come back at once

    def normal(self, r) -> bool:
        return r["status"] == 200 and (SIGNED in r["reply"] if r["kind"] == "write" else HELP in r["reply"])

    def since(self, t0: float) -> list[dict]:
        with self._lock:
            return [r for r in self.records if r["at"] >= t0]

    def wait_normal(self, t0: float, count: int = 6, timeout: float = 30) -> float:
        """Wait until `count` replies in a row started after t0 are normal; return seconds from t0 to the
        end of the last abnormal one (0 when none was)."""
        def settled():
            recent = self.since(t0)
            return len(recent) >= count and all(self.normal(r) for r in recent[-count:])
        try:
            until(settled, timeout, "normal replies again", every=0.1)
        except AssertionError as exc:
            last = [(r["status"], r["kind"], r["reply"][:30], round(r["took"], 2)) for r in self.since(t0)[-12:]]
            raise AssertionError(f"{exc}; the last replies: {last}") from None
        bad = [r["end"] for r in self.since(t0) if not self.normal(r)]
        return round(max(bad) - t0, 2) if bad else 0.0

    def figures(self, t0: float, t1: float) -> dict:
        window = [r for r in self.since(t0) if r["at"] < t1]
        return {"answered": len(window), "status_200": sum(r["status"] == 200 for r in window),
                "5xx": sum(r["status"] >= 500 for r in window), "no_answer": sum(r["status"] == 0 for r in window),
                "fixed_text": sum(UNAVAILABLE in r["reply"] for r in window),
                "normal": sum(self.normal(r) for r in window),
                "slowest_s": round(max((r["took"] for r in window), default=0.0), 2)}


def serve(url: str, data_dir: Path) -> tuple[subprocess.Popen, int]:
    port = free_ports(1)[0]
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PROMETHEUS_MULTIPROC_DIR")}
    env.update(REDIS_URL=url, DATA_DIR=str(data_dir), WECHAT_TOKEN=TOKEN, WECHAT_APPID=APPID, WECHAT_AES_KEY="",
               LOAD_DEMO="0")
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=open(data_dir / "serve.log", "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        until(lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok, 60, "the service starts",
              every=0.2)
    except BaseException:
        stop_service(proc)
        raise
    return proc, port


def stop_service(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def prepare(url: str, data_dir: Path, residents: int = 3000):
    """An event of 5,000 places and residents with profiles on the store at url."""
    client = storage.connect(url, data_dir)
    occ = make_event(Events(client), "big", capacity=5000)
    users = [f"o_load_{i}" for i in range(residents)]
    for i in range(0, len(users), 500):
        pipe = client.pipeline(transaction=False)
        for u in users[i:i + 500]:
            pipe.hset(user_key(u, "profile"), mapping={"name": "张小明", "phone": "13800138000",
                                                       "consent_at": int(time.time())})
        pipe.execute()
    return client, occ, users


@pytest.fixture
def loaded(store, tmp_path):
    """The service on `store`, with an event of 5,000 places and 3,000 residents with profiles."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    client, occ, users = prepare(store.url, data_dir)
    proc, port = serve(store.url, data_dir)
    try:
        said = (data_dir / "serve.log").read_text(errors="replace")  # written before the first worker answered
        primaries = "on all 3 primaries" if store.kind == "cluster" else "store fsyncs every write"
        assert "nothing acknowledged is lost" in said and primaries in said, said[-2000:]  # every primary read
        yield store, client, occ, users, port
    finally:
        stop_service(proc)
        print((data_dir / "serve.log").read_text(errors="replace")[-3000:])


def _settle_time(load: Load, t0: float) -> float:
    """Seconds from t0 to the end of the last reply since t0 that was not the normal one."""
    bad = [r["end"] for r in load.since(t0) if not load.normal(r)]
    return round(max(bad) - t0, 2) if bad else 0.0


def _synced(primary) -> bool:
    with primary.client(1) as c:
        info = c.info("replication")
    replicas = [v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)]
    # online and streaming (under load a replica's offset is always a few writes behind: async)
    return bool(replicas) and all(r["state"] == "online" and int(r["lag"]) <= 1 for r in replicas)


def _wait_replica_synced(group: SentinelGroup) -> None:
    """The sentinels' primary has its replica attached, caught up, and known to the sentinels."""
    def ready():
        primary = group.current_primary()
        with group.sentinels[0].client(1) as c:
            known = [r for r in c.sentinel_slaves(group.SERVICE) if not r.get("is_odown") and not r.get("is_sdown")]
        return known and _synced(primary)
    until(ready, 30, "the replica is attached and caught up")


def _wait_cluster_replica_synced(cluster: Cluster, primary) -> None:
    until(lambda: _synced(primary), 30, f"the replica of {primary.name} is caught up")


def _acknowledged_lost(load: Load, client, occ) -> list[str]:
    acked = {r["user"] for r in load.records if r["kind"] == "write" and SIGNED in r["reply"]}
    confirmed = set(until(lambda: Events(client).confirmed(occ.id), 20, "the store answers"))
    return sorted(acked - confirmed)


def _report(kind: str, phase: str, figures: dict) -> None:
    print(f"\n[{kind}] {phase}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


def run_faults(store, client, occ, users, port, threads: int = 4):
    """Load on the service while (1) a primary is frozen until replaced, then continued, (2) a failover
    is asked for, (3) the primary holding the sign-ups is killed. Returns the figures of each phase,
    when each began, the Load and the acknowledged sign-ups the store lost (bench/reliability.py
    makes the same runs, longer)."""
    kind = store.kind
    results, starts = {}, {}
    with Load(port, users, occ.number, threads) as load:
        t = time.monotonic()
        load.wait_normal(t, count=10)
        results["before"] = load.figures(t, time.monotonic())

        # 1. a node frozen (SIGSTOP) until the topology replaces it, then continued
        if kind == "cluster":  # a primary holding neither the events nor the followers set: others go on
            busy = {store.primary_of("yb:{events}:x").port, store.primary_of(ACTIVE).port}
            victim = next(s for s in store.servers if s.port not in busy and store.roles().get(s.port) == "master")
        else:
            victim = store.current_primary()
        heir = store.replica_of(victim) if kind == "cluster" else None
        t0 = starts["frozen"] = time.monotonic()
        victim.freeze()
        try:
            if kind == "cluster":
                until(lambda: store.roles().get(heir.port) == "master", 30, "the frozen primary's replica is promoted")
                results["frozen_until_replaced"] = load.figures(t0, time.monotonic())
                load.wait_normal(time.monotonic(), count=10)
            else:
                until(lambda: store.current_primary() is not victim, 30, "the sentinels elect the replica")
        finally:
            victim.thaw()
        if kind == "sentinel":  # the new primary takes writes once it has a replica in step: the old one
            load.wait_normal(time.monotonic(), count=10)
        t1 = time.monotonic()
        results["frozen"] = {**load.figures(t0, t1), "normal_again_after_s": _settle_time(load, t0)}
        if kind == "cluster":
            until(store.healthy, 30, "the thawed node rejoins as a replica")
        else:
            _wait_replica_synced(store)

        # 2. a failover asked for (a primary demoted while clients hold connections to it: READONLY)
        t0 = starts["failover"] = time.monotonic()
        if kind == "cluster":
            primary = store.primary_of("yb:{events}:x")
            replica = store.replica_of(primary)
            with replica.client() as c:
                c.execute_command("CLUSTER", "FAILOVER")
            until(lambda: store.primary_of("yb:{events}:x") is replica, 30, "the manual failover")
        else:
            old = store.current_primary()
            _wait_replica_synced(store)
            store.failover()
            until(lambda: store.current_primary() is not old, 30, "the sentinel failover")
        load.wait_normal(time.monotonic(), count=10)
        results["failover"] = {**load.figures(t0, time.monotonic()), "normal_again_after_s": _settle_time(load, t0)}

        # 3. the primary holding the sign-ups killed (SIGKILL)
        if kind == "cluster":
            victim = store.primary_of("yb:{events}:x")
            _wait_cluster_replica_synced(store, victim)
        else:
            victim = store.current_primary()
            _wait_replica_synced(store)
        t0 = starts["killed"] = time.monotonic()
        victim.kill()
        if kind == "cluster":
            until(lambda: store.primary_of("yb:{events}:x") is not victim, 30, "the replica takes over")
        else:
            until(lambda: store.current_primary() is not victim, 30, "the sentinels elect the replica")
            victim.restart()  # as systemd would; the sentinels make it the new primary's replica
        load.wait_normal(time.monotonic(), count=10)
        t1 = time.monotonic()
        results["killed"] = {**load.figures(t0, t1), "normal_again_after_s": _settle_time(load, t0)}
    lost = _acknowledged_lost(load, client, occ)
    acked_at = {r["user"]: r["end"] for r in load.records if r["kind"] == "write" and SIGNED in r["reply"]}
    for phase, at in sorted(starts.items(), key=lambda kv: kv[1]):
        later = [t for t in starts.values() if t > at]
        results[phase]["acknowledged_lost"] = sum(at <= acked_at[u] < min(later, default=1e18) for u in lost)
    return results, starts, load, lost


def test_service_under_load_survives_a_frozen_node_a_failover_and_a_killed_primary(loaded):
    store, client, occ, users, port = loaded
    results, starts, load, lost = run_faults(store, client, occ, users, port)
    signed = sum(1 for r in load.records if r["kind"] == "write" and SIGNED in r["reply"])
    for phase, figures in results.items():
        _report(store.kind, phase, figures)
    print(f"[{store.kind}] acknowledged sign-ups: {signed}, lost: {len(lost)}")
    every = load.figures(0, time.monotonic())
    assert every["5xx"] == 0 and every["no_answer"] == 0, every
    slow = [(r["kind"], r["reply"][:20], round(r["took"], 2), {p: round(r["at"] - t, 1) for p, t in starts.items()})
            for r in load.records if r["took"] >= 2.5]
    assert not slow, slow  # no message waits much past a second (plus a busy machine)
    assert lost == [], lost
    for phase in ("frozen", "failover", "killed"):
        assert results[phase]["normal_again_after_s"] < 15, results
    assert signed >= 20, signed  # writes went on between the faults
    if store.kind == "cluster":  # users on the healthy nodes went on being answered while one was frozen
        assert results["frozen_until_replaced"]["normal"] >= 3, results


def test_the_cli_the_push_rate_limit_and_the_scheduler_use_the_primary_sentinel_names(tmp_path, fake_wechat):
    from dataclasses import replace

    from click.testing import CliRunner

    from bot.cli import main
    from bot.pushes.delivery import Deliverer, Push
    from bot.pushes.scheduler import build_scheduler
    from bot.wechat.client import SharedTokenClient

    with SentinelGroup(tmp_path / "redis") as group:
        app, client = make_app(group.url, tmp_path)
        bot = app.extensions["youthbot"]
        # the rate limiter (the `limits` library reads the same redis+sentinel:// URL) and a push
        base, fake = fake_wechat
        bot.settings = replace(bot.settings, wechat_api_base_url=base + "/cgi-bin/", push_retry_base=0.01,
                               quiet_hours="03:00-03:00", push_rate=1000)
        follower(bot, "o_s")
        deliverer = Deliverer(bot, SharedTokenClient(client, "wxtest", "secret", bot.settings.wechat_api_base_url))
        assert str(deliverer.deliver(Push("o_s", "你好", "waitlist_promotion", "k1"))) == "sent"
        # a command
        result = CliRunner().invoke(main, ["pushes", "stats"], env={"REDIS_URL": group.url, "WECHAT_TOKEN": TOKEN,
                                                                    "LOAD_DEMO": "0", "DATA_DIR": str(tmp_path)})
        assert result.exit_code == 0 and "sent" in result.output, result.output
        # the scheduler's job store, on the primary the sentinels name
        scheduler = build_scheduler(group.url)
        scheduler.start(paused=True)
        try:
            with group.primary.client() as c:
                assert c.hlen("yb:{scheduler}:jobs") > 0
        finally:
            scheduler.shutdown(wait=False)
        # after a failover the same clients write to the new primary
        client.set("yb:before", "1")  # a pooled connection to the primary about to be demoted
        old = group.primary
        group.failover()
        until(lambda: group.current_primary() is not old, 30, "the failover")
        new = group.current_primary()
        with old.client() as c:  # the sentinels make the old primary a replica of the new one
            until(lambda: c.execute_command("ROLE")[0] == "slave", 30, "the old primary is demoted")
        # the pooled connection to the old primary gets READONLY; the client asks the sentinels again
        # and the write reaches the new primary within a few seconds, not a stream of 系统维护中
        started = time.monotonic()
        until(lambda: client.set("yb:after", "1"), 5, "a write reaches the new primary", every=0.1)
        print(f"first write after the demotion: {time.monotonic() - started:.2f} s")
        with new.client() as c:
            assert c.get("yb:after") == "1" and c.get("yb:before") == "1"


# -- a frozen or dead node costs a message at most about a second --------------------------------------
def _slot_free_msg_id(cluster: Cluster, openid: str, avoid: set[int]) -> int:
    """A MsgId whose ledger key lives on none of the ports in avoid. The ledger key lives on its user's slot
    (issue 25): for a user whose own keys live there, any MsgId (their messages touch that node anyway)."""
    from handlers.ledger import message_key
    from handlers.message import Incoming

    if cluster.primary_of(user_key(openid, "x")).port in avoid:
        return 1
    for msg_id in range(1, 10_000):
        key = message_key(Incoming(sender=openid, recipient="gh", kind="text", time=0, msg_id=str(msg_id)))
        if cluster.primary_of(key).port not in avoid:
            return msg_id
    raise AssertionError("no such MsgId")


def test_a_frozen_cluster_primary_delays_only_the_users_whose_keys_live_there(tmp_path):
    with Cluster(tmp_path / "redis") as cluster:
        for s in cluster.servers:  # no failover in this test: the frozen node stays the primary
            with s.client() as c:
                c.config_set("cluster-replica-no-failover", "yes")
        app, client = make_app(cluster.url, tmp_path)
        wechat = WeChat(app.test_client())
        shared = {cluster.primary_of(ACTIVE).port}
        frozen = next(s for s in cluster.servers if cluster.roles().get(s.port) == "master" and s.port not in shared)
        there = next(f"o_there_{i}" for i in range(1000) if cluster.primary_of(user_key(f"o_there_{i}", "x")) is frozen)
        elsewhere = [f"o_else_{i}" for i in range(1000)
                     if cluster.primary_of(user_key(f"o_else_{i}", "x")).port not in shared | {frozen.port}][:5]
        for u in [there, *elsewhere]:
            assert HELP in wechat.send("帮助", u)
        frozen.freeze()
        try:
            started = time.monotonic()
            assert UNAVAILABLE in wechat.send("帮助", there, msg_id=_slot_free_msg_id(cluster, there, {frozen.port}))
            assert time.monotonic() - started < 1.8
            for u in elsewhere:  # right after, while the worker's breaker holds back the frozen node's messages
                started = time.monotonic()
                reply = wechat.send("帮助", u, msg_id=_slot_free_msg_id(cluster, u, {frozen.port}))
                assert HELP in reply and time.monotonic() - started < 0.5, (u, reply)
            started = time.monotonic()  # the breaker answers the frozen node's users at once
            assert UNAVAILABLE in wechat.send("帮助", there, msg_id=_slot_free_msg_id(cluster, there, {frozen.port}))
            assert time.monotonic() - started < 0.5
        finally:
            frozen.thaw()


def test_a_cluster_with_every_node_dead_gets_words_and_200_not_a_500(tmp_path):
    with Cluster(tmp_path / "redis") as cluster:
        app, client = make_app(cluster.url, tmp_path)
        test_client = app.test_client()
        wechat = WeChat(test_client)
        assert HELP in wechat.send("帮助", "o_dead")
        for s in cluster.servers:
            s.kill()
        for i in range(3):  # the first a connection error, then "no node answers the slot map"
            started = time.monotonic()
            assert UNAVAILABLE in wechat.send("帮助", f"o_dead_{i}")
            assert time.monotonic() - started < 2.5
            time.sleep(1.1)  # past the breaker: the store is asked again
        resp = test_client.get("/readyz")
        assert resp.status_code == 503 and not resp.get_json()["checks"]["redis"]["ok"]


def test_a_frozen_sentinel_primary_is_named_by_readyz_and_doctor(tmp_path):
    from bot.ops import doctor

    with SentinelGroup(tmp_path / "redis", replicas=1, down_after_ms=60000) as group:  # no failover here
        app, client = make_app(group.url, tmp_path)
        group.primary.freeze()
        try:
            started = time.monotonic()
            resp = app.test_client().get("/readyz")
            assert time.monotonic() - started < 2.5
            assert resp.status_code == 503 and resp.get_json()["checks"]["redis"]["failed"] == [group.primary.name]
            found = doctor.check_redis(app.extensions["youthbot"].settings, client)
            assert any(f.status == doctor.FAIL and group.primary.name in f.message for f in found), found
        finally:
            group.primary.thaw()


# -- pushes exactly once with two schedulers -----------------------------------------------------------
def test_two_schedulers_send_each_push_once_when_the_leader_stops_mid_drain(store, tmp_path, fake_wechat):
    from bot.pushes.scheduler import LEADER
    from domain.outbox import QUEUE, RETRY_DUE, TAKEN, Outbox

    base, fake = fake_wechat
    client = storage.connect(store.url, tmp_path)
    people = [f"o_push_{i}" for i in range(40)]
    for p in people:
        client.sadd(ACTIVE, p)
        client.hset(user_key(p, "follower"), "last_seen", int(time.time()) - 3600)
        Outbox(client).enqueue(p, f"活动改期通知 {p}", kind="event_moved", idem_key=f"moved:{p}")
    procs = []

    def start(name):
        data_dir = tmp_path / name
        data_dir.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PROMETHEUS_MULTIPROC_DIR")}
        env.update(REDIS_URL=store.url, DATA_DIR=str(data_dir), WECHAT_TOKEN=TOKEN, LOAD_DEMO="0",
                   WECHAT_API_BASE_URL=base + "/cgi-bin/", QUIET_HOURS="03:00-03:00", PUSH_RATE="8",
                   PUSH_RETRY_BASE="0.01")
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "scheduler"], env=env, start_new_session=True,
                                stdout=open(data_dir / "scheduler.log", "wb"), stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    try:
        first = start("first")
        until(lambda: client.get(LEADER), 30, "the first scheduler leads")
        start("second")  # stands by
        until(lambda: len(fake.messages) >= 5, 60, "the leader starts draining the outbox")
        os.killpg(first.pid, signal.SIGTERM)  # mid-drain (8 a second): its job finishes while the other leads
        until(lambda: len(fake.messages) >= len(people), 90, "every push delivered")
        until(lambda: client.get(LEADER) and first.poll() is not None, 30, "the second scheduler leads")
        # nothing queued, nothing being delivered, nothing to retry: no push can be sent after this
        until(lambda: not client.exists(QUEUE, TAKEN, RETRY_DUE), 30, "the outbox is empty")
    finally:
        for proc in procs:
            stop_service(proc)
    sent = Counter(m["touser"] for m in fake.messages)
    assert sent == Counter(people), [p for p, n in sent.items() if n != 1]


# -- issue 25: on a Cluster too, a read-only message writes nothing and the claim rides in the script ----------
def test_on_a_cluster_help_writes_nothing_and_a_quiz_answer_claims_inside_its_script(tmp_path):
    from tests.test_one_write import RECORD, round_trips

    with Cluster(tmp_path / "redis") as cluster:
        app, client = make_app(cluster.url, tmp_path)
        wechat = WeChat(app.test_client())
        make_session(Quiz(client))
        assert HELP in wechat.send("帮助", "o_cl")  # the day's interaction recorded, after the reply
        wechat.send("答题", "o_cl")
        assert "回答正确" in wechat.send("B", "o_cl")
        until(lambda: all(client.get(k) != "\x00pending" for k in client.scan_iter(match="yb:{u:o_cl}:msg:*")), 5,
              "the earlier replies recorded")
        with round_trips() as trips:
            assert HELP in wechat.send("帮助", "o_cl", 9101)
        assert all(set(t) <= READS for t in trips), trips  # no claim, no touch: nothing written
        with round_trips() as trips:
            reply = wechat.send("ABD", "o_cl", 9102)
            until(lambda: RECORD in trips, 5, "the reply's record")
        assert "回答正确" in reply
        record = trips.index(RECORD)
        writes = [t for t in trips[:record] if not set(t) <= READS]
        assert writes == [["EVALSHA"]], trips  # the claim rode in the attempt's script (the user's slot)
        assert client.get("yb:{u:o_cl}:msg:9102") == reply
