"""One quiz reminder fanned out to 100,000 members through the fake WeChat API.

Measures sends/s against the configured rate limit, the sender's peak RSS, and
kills the sender (kill -9) part-way, restarts it, and counts what arrived:
every member once, nobody twice.

    python bench/fanout.py [--users 100000] [--rate 1000] [--kill-at 0.4]
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

import psutil
import redis
import requests

from bot.runtime.storage import embedded_socket, stop_embedded
from domain.quiz import Question, Quiz, Session
from harness import ROOT, free_port


def seed(r, users: int) -> None:
    r.config_set("appendfsync", "no")  # seeding speed only
    now = int(time.time())
    Quiz(r).save_session(Session("s-bench", "第48期", "学习", now - 3600, now + 86400,
                                 [Question("q", "single", ["a", "b"], "A")]))
    r.hset("yb:{quiz}:branches", "b1", "一支部")
    for start in range(0, users, 5000):
        pipe = r.pipeline(transaction=False)
        ids = [f"oyORnuP8q7ou2gfYjqLz{i:08d}" for i in range(start, min(users, start + 5000))]
        pipe.sadd("yb:{quiz}:branch:b1", *ids)
        pipe.sadd("yb:followers:active", *ids)
        for openid in ids:
            pipe.hset(f"yb:{{u:{openid}}}:follower", "last_seen", now)
        pipe.execute()
    r.config_set("appendfsync", "always")


def run_sender(env, kill_after: int | None, fake: str) -> tuple[float, int, float]:
    """Run the reminder job; return (seconds, messages seen at the end, peak RSS MB)."""
    cmd = [sys.executable, "-m", "bot.cli", "pushes", "run", "quiz_reminders"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ps, peak, t0 = psutil.Process(proc.pid), 0, time.perf_counter()
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        sent = requests.get(f"{fake}/_fake/stats", timeout=5).json()["messages"]
        if kill_after is not None and sent >= kill_after:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            break
        time.sleep(0.2)
    elapsed = time.perf_counter() - t0
    return elapsed, requests.get(f"{fake}/_fake/stats", timeout=5).json()["messages"], peak / 2**20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--kill-at", type=float, default=0.4)
    args = ap.parse_args()
    data_dir = tempfile.mkdtemp(prefix="yb-bench-fanout-")
    socket = embedded_socket(data_dir)
    r = redis.Redis(unix_socket_path=socket, decode_responses=True)
    seed(r, args.users)
    port = free_port()
    fake_proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "16", "-w", "1",
                                  "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                                  "bot.wechat.fake_api:create_fake_app()"], cwd=ROOT, start_new_session=True)
    fake = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{fake}/_fake/stats", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        env = {**os.environ, "REDIS_URL": f"unix://{socket}", "WECHAT_API_BASE_URL": f"{fake}/cgi-bin/",
               "PUSH_RATE": str(args.rate), "PUSH_CONCURRENCY": str(args.concurrency), "QUIET_HOURS": "00:00-00:00",
               "LOAD_DEMO": "0", "WECHAT_APPID": "wxbench"}
        t1, before_kill, rss1 = run_sender(env, int(args.users * args.kill_at), fake)
        t2, total, rss2 = run_sender(env, None, fake)
        messages = requests.get(f"{fake}/_fake/messages", timeout=60).json()["messages"]
    finally:
        os.killpg(fake_proc.pid, signal.SIGTERM)
        fake_proc.wait(30)
    to = [m["touser"] for m in messages]
    stuck = int(r.hget("yb:{push}:stats", "sending") or 0)
    rate = total / (t1 + t2)
    print(f"fan-out of one reminder to {args.users:,} members, rate limit {args.rate:g}/s, "
          f"{args.concurrency} sender threads, appendfsync always")
    print(f"first run killed (kill -9) after {before_kill:,} messages in {t1:.1f}s; restart finished in {t2:.1f}s")
    print(f"sends/s {rate:.0f} = {rate / args.rate:.0%} of the limit (target >= 95%)")
    print(f"sender peak RSS {max(rss1, rss2):.0f} MB (target < 150 MB)")
    print(f"delivered {len(to):,}, distinct {len(set(to)):,}, sent twice {len(to) - len(set(to))}, "
          f"claimed but unconfirmed at the kill (not resent) {stuck}")
    stop_embedded(data_dir)


if __name__ == "__main__":
    main()
