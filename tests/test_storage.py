"""The embedded Redis: one server per data folder, however many processes start at once."""
from __future__ import annotations

import multiprocessing
import os

import pytest
import redis

from bot import storage
from domain import keys


def _start_and_incr(data_dir, barrier, out):
    barrier.wait()
    socket = storage.embedded_socket(data_dir)
    redis.Redis(unix_socket_path=socket).incr("counter")
    out.put(socket)
    barrier.wait()  # keep every process alive until all have written


@pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="about the embedded server only")
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
        try:
            redis.Redis(unix_socket_path=socket).shutdown(save=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it exits


def test_keys_are_namespaced_and_user_keys_hash_tagged():
    assert keys.key("msg", "o_1", 5) == "yb:msg:o_1:5"
    assert keys.user_key("o_1", "flow") == "yb:{u:o_1}:flow"
