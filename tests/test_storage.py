"""The embedded Redis: one server per data folder, however many processes start at once."""
from __future__ import annotations

import multiprocessing
import os

import pytest
import redis

from bot.runtime import storage
from domain import keys


def _start_and_incr(data_dir, barrier, out):
    barrier.wait()
    socket = storage.embedded_socket(data_dir)
    redis.Redis(unix_socket_path=socket).incr("counter")
    out.put(socket)
    barrier.wait()  # keep every process alive until all have written


@pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="about the embedded server only")
@pytest.mark.slow
def test_concurrent_first_starts_share_one_server(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_start_and_incr, args=(str(tmp_path), barrier, out)) for _ in range(3)]
    for p in procs:
        p.start()
    sockets = {out.get(timeout=30) for _ in procs}
    for p in procs:
        p.join(30)
    assert len(sockets) == 1
    socket = storage.embedded_socket(tmp_path)
    try:
        assert int(redis.Redis(unix_socket_path=socket).get("counter")) == 3
    finally:
        storage.send_shutdown(redis.Redis(unix_socket_path=socket))


def test_keys_are_namespaced_and_user_keys_hash_tagged():
    assert keys.key("msg", "o_1", 5) == "yb:msg:o_1:5"
    assert keys.user_key("o_1", "flow") == "yb:{u:o_1}:flow"


@pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="about the embedded server only")
def test_the_embedded_store_fsyncs_every_write_and_says_so(redis_client):
    durable, said = storage.durability(redis_client)
    assert durable and "appendfsync always" in said


def test_a_store_that_may_lose_acknowledged_writes_is_named_at_start(redis_client):
    policy = redis_client.config_get("appendfsync")["appendfsync"]
    redis_client.config_set("appendfsync", "everysec")
    try:
        durable, said = storage.durability(redis_client)
    finally:
        redis_client.config_set("appendfsync", policy)
    assert not durable and "appendfsync everysec" in said and "set appendonly yes and appendfsync always" in said


def test_the_client_tells_a_write_scope_about_the_first_write_only(redis_client):
    from bot.runtime.writes import WriteScope

    seen = []
    with WriteScope(lambda: seen.append(redis_client.get("yb:test:w"))) as scope:
        redis_client.get("yb:test:w")
        pipe = redis_client.pipeline(transaction=False)
        pipe.hgetall("yb:test:h")
        pipe.zscore("yb:test:z", "a")
        pipe.execute()
        assert not scope.wrote and seen == []
        pipe = redis_client.pipeline()
        pipe.get("yb:test:w")
        pipe.set("yb:test:w", "1")
        pipe.execute()
        redis_client.register_script("return redis.call('INCR', KEYS[1])")(keys=["yb:test:n"])
    assert scope.wrote and seen == [None]  # called once, before the pipeline wrote
    redis_client.set("yb:test:w", "2")  # outside the scope: nothing noticed
    assert seen == [None]
