"""`youthbot backup` / `restore`: every key comes back with its type, value and expiry; a backup
taken while writes go on is one instant of the store."""
from __future__ import annotations

import tarfile
import threading
import time
from datetime import datetime, timedelta

import pytest


from bot.ops import backup as bk
from bot.wechat.simulator import WeChatSimulator, event_xml, text_xml
from tests.helpers import TOKEN, post_signed, until


def describe(client) -> dict:
    """Every key: (type, value, remaining time in ms or None)."""
    out = {}
    for k in client.scan_iter(count=1000):
        kind = client.type(k)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        value = {
            "string": lambda: client.get(k),
            "hash": lambda: sorted(client.hgetall(k).items()),
            "list": lambda: client.lrange(k, 0, -1),
            "set": lambda: sorted(client.smembers(k)),
            "zset": lambda: client.zrange(k, 0, -1, withscores=True),
            "stream": lambda: client.xrange(k),
        }[kind]()
        ttl = client.pttl(k)
        out[k] = (kind, value, None if ttl < 0 else ttl)
    return out


def assert_same(got: dict, want: dict, slack_ms: int = 5000) -> None:
    # slack: the remaining times are read before and after the backup and restore, seconds apart on a busy machine
    """The same keys with the same type and value; expiries within slack_ms of each other."""
    assert set(got) == set(want), (set(got) ^ set(want))
    for k, (kind, value, ttl) in want.items():
        g_kind, g_value, g_ttl = got[k]
        assert (g_kind, g_value) == (kind, value), k
        assert (g_ttl is None) == (ttl is None), k
        if ttl is not None:
            assert abs(g_ttl - ttl) <= slack_ms, (k, g_ttl, ttl)


def fill(redis_client, bot, live_server):
    """Demo content, a few conversations through the webhook, and one key of every type."""
    from bot import importers as content

    content.load_dir(bot, bot.settings.content_dir)
    sim = WeChatSimulator(TOKEN)
    for i in range(5):
        post_signed(live_server, sim, event_xml(f"o_bk_{i}", "subscribe"))
        post_signed(live_server, sim, text_xml(f"o_bk_{i}", "答题"))
    r = redis_client
    r.set("yb:test:string", "一二三", ex=3600)
    r.hset("yb:test:hash", mapping={"a": "1", "名字": "值"})
    r.rpush("yb:test:list", "x", "y", "x")
    r.sadd("yb:test:set", "p", "q")
    r.zadd("yb:test:zset", {"m1": 1.5, "m2": -3})
    r.xadd("yb:test:stream", {"f": "v"})
    r.set("yb:test:gone", "soon", px=1)  # expired by the time of the backup
    time.sleep(0.01)


def test_round_trip_restores_every_key_with_its_type_value_and_expiry(redis_client, bot, live_server, cli, tmp_path,
                                                                    redis_url):
    fill(redis_client, bot, live_server)
    before = describe(bk.client_for(redis_url))
    assert len(before) > 100 and any(v[2] for v in before.values())  # keys with an expiry among them
    archive = tmp_path / "b.tar.gz"
    code, out = cli("backup", "--out", str(archive))
    assert code == 0, out
    assert f"{len(before)} keys (snapshot)" in out
    assert archive.stat().st_mode & 0o777 == 0o600
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names and "store.jsonl" in names and "rdb/node0.rdb" in names
    assert "content/menu.yaml" in names and any(n.startswith("content/quizzes/") for n in names)

    code, out = cli("restore", str(archive))
    assert code != 0 and "holds" in out and "--force" in out  # refused: the store is not empty

    redis_client.flushdb()
    code, out = cli("restore", str(archive), "--content-to", str(tmp_path / "content"))
    assert code == 0, out
    assert_same(describe(bk.client_for(redis_url)), before, slack_ms=30_000)
    assert (tmp_path / "content" / "menu.yaml").read_bytes() == (bot.settings.content_dir / "menu.yaml").read_bytes()

    redis_client.set("yb:test:extra", "1")
    code, out = cli("restore", str(archive), "--force")
    assert code == 0, out
    assert_same(describe(bk.client_for(redis_url)), before, slack_ms=30_000)  # --force empties the store first


def test_the_scan_mode_round_trips_too(redis_client, bot, live_server, redis_url, tmp_path):
    fill(redis_client, bot, live_server)
    before = describe(bk.client_for(redis_url))
    result = bk.backup(redis_url, tmp_path / "s.tar.gz", None, scan=True)
    assert result.keys == len(before) and result.manifest["consistent"] is False
    redis_client.flushdb()
    bk.restore(redis_url, result.path)
    assert_same(describe(bk.client_for(redis_url)), before, slack_ms=30_000)


def test_a_damaged_or_foreign_file_is_refused_with_a_reason(redis_client, cli, tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a backup")
    code, out = cli("restore", str(junk))
    assert code != 0 and "not a youthbot backup" in out


WRITERS = 4


def _writer(url: str, w: int, stop: threading.Event, done: list):
    """Transaction i of writer w touches six keys of five types under one hash tag."""
    import redis

    r = redis.Redis.from_url(url, decode_responses=True)
    i = 0
    while not stop.is_set():
        i += 1
        tag = f"yb:{{load{w}}}"
        pipe = r.pipeline(transaction=True)
        pipe.set(f"{tag}:s:{i}", f"v{i}")
        pipe.hset(f"{tag}:h", f"f{i % 50}", i)
        pipe.rpush(f"{tag}:log", i)
        pipe.zadd(f"{tag}:z", {f"m{i % 100}": i})
        pipe.sadd(f"{tag}:set", i % 30)
        pipe.set(f"{tag}:ttl:{i % 20}", i, ex=3600)
        pipe.incr(f"{tag}:n")
        pipe.execute()
        done[w] = i


def _expected(w: int, n: int) -> dict:
    """The keys of writer w after exactly n transactions (replayed in a dict)."""
    tag = f"yb:{{load{w}}}"
    exp = {f"{tag}:s:{i}": ("string", f"v{i}", None) for i in range(1, n + 1)}
    h, z, ttl = {}, {}, {}
    for i in range(1, n + 1):
        h[f"f{i % 50}"], z[f"m{i % 100}"], ttl[f"{tag}:ttl:{i % 20}"] = str(i), float(i), str(i)
    exp[f"{tag}:h"] = ("hash", sorted(h.items()), None)
    exp[f"{tag}:log"] = ("list", [str(i) for i in range(1, n + 1)], None)
    exp[f"{tag}:z"] = ("zset", sorted(z.items(), key=lambda kv: kv[1]), None)
    exp[f"{tag}:set"] = ("set", sorted({str(i % 30) for i in range(1, n + 1)}), None)
    exp[f"{tag}:n"] = ("string", str(n), None)
    for k, v in ttl.items():
        exp[k] = ("string", v, 3_600_000)
    return exp


def test_a_backup_under_load_restores_to_one_instant_of_the_store(redis_client, bot, live_server, redis_url,
                                                                   tmp_path):
    """Writers and webhook traffic run through the backup; the restored store is the store at one instant."""
    fill(redis_client, bot, live_server)
    untouched = describe(redis_client)
    stop, done = threading.Event(), [0] * WRITERS
    writers = [threading.Thread(target=_writer, args=(redis_url, w, stop, done)) for w in range(WRITERS)]
    sim = WeChatSimulator(TOKEN)

    def chatter():
        n = 0
        while not stop.is_set():
            n += 1
            post_signed(live_server, sim, text_xml(f"o_load_{n % 40}", "帮助"))

    traffic = threading.Thread(target=chatter)
    for t in writers + [traffic]:
        t.start()
    try:
        until(lambda: all(done), what="every writer has written")
        at_start = sum(done)
        result = bk.backup(redis_url, tmp_path / "load.tar.gz", bot.settings.content_dir)
        during = sum(done) - at_start
        until(lambda: sum(done) > at_start + during, what="the writers write on after the backup")
    finally:
        stop.set()
        for t in writers + [traffic]:
            t.join(30)
    assert during > 50, "the writers should have kept writing while the backup ran"
    redis_client.flushdb()
    bk.restore(redis_url, result.path)
    restored = describe(redis_client)
    for w in range(WRITERS):
        n = int(restored[f"yb:{{load{w}}}:n"][1])
        assert 0 < n <= done[w]
        mine = {k: v for k, v in restored.items() if k.startswith(f"yb:{{load{w}}}")}
        assert_same(mine, _expected(w, n), slack_ms=30_000)  # the state after exactly n transactions
    kept = {k: v for k, v in untouched.items() if not k.startswith(("yb:msg:", "yb:{u:o_load_", "yb:followers"))}
    assert_same({k: restored[k] for k in kept}, kept, slack_ms=30_000)
    print(f"backup under load: {result.keys} keys in {result.seconds:.2f} s, {during} transactions during it")


def test_nightly_backups_keep_the_last_n(redis_client, bot, tmp_path):
    from dataclasses import replace

    redis_client.set("yb:test:one", "1")
    settings = replace(bot.settings, backup_dir=str(tmp_path / "nightly"), backup_keep=2)
    (tmp_path / "nightly").mkdir()
    (tmp_path / "nightly" / "notes.txt").write_text("left alone")
    day = datetime(2026, 3, 1, 3, 30)
    files = [bk.nightly(settings, now=day + timedelta(days=d))["file"] for d in range(4)]
    left = sorted(p.name for p in (tmp_path / "nightly").iterdir())
    assert left == sorted(files[-2:] + ["notes.txt"])


def test_the_nightly_backup_is_copied_off_the_machine_by_the_hook(redis_client, bot, tmp_path):
    """BACKUP_COPY_COMMAND gets the new archive's path as its last argument (a local folder stands in for
    the backup host); a copy that fails makes the job fail, and the local archive is kept."""
    from dataclasses import replace

    from bot.pushes import tasks

    redis_client.set("yb:test:offsite", "1")
    vault = tmp_path / "vault"
    vault.mkdir()
    settings = replace(bot.settings, backup_dir=str(tmp_path / "nightly"),
                       backup_copy_command=f"cp -p --target-directory={vault}")
    done = bk.nightly(settings, now=datetime(2026, 3, 1, 3, 30))
    assert [p.name for p in vault.iterdir()] == [done["file"]] and done["copied_in"] >= 0
    assert (vault / done["file"]).read_bytes() == (tmp_path / "nightly" / done["file"]).read_bytes()

    bot.settings = replace(settings, backup_copy_command=f"cp --target-directory={tmp_path / 'no-such-host'}")
    with pytest.raises(bk.BackupError, match="off the machine failed: cp exited 1"):
        tasks.nightly_backup(bot, None, time.time())
    assert len(list((tmp_path / "nightly").glob("youthbot-*.tar.gz"))) == 2  # kept locally
