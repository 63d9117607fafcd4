"""Webhook throughput: youthbot's `帮助` round trip against a minimal echo bot.

Both served by gunicorn with 2 workers, loaded by wrk at 32 connections with
signed text messages, each with its own MsgId and sender. Rounds alternate
between the two so machine noise hits both alike; medians are printed.

    python bench/webhook.py [--rounds 3] [--seconds 8] [--content 帮助]
"""
from __future__ import annotations

import argparse

import redis

from bot.storage import embedded_socket

from harness import fmt, gunicorn, median_of, wrk, youthbot_env


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--content", default="帮助")
    ap.add_argument("--worker-class", default="sync")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--appendfsync", default="always", choices=["always", "everysec", "no"],
                    help="the embedded Redis's fsync policy (youthbot runs with always)")
    args = ap.parse_args()
    extra = ["-k", args.worker_class] + (["--threads", str(args.threads)] if args.worker_class == "gthread" else []) \
        + (["--worker-connections", "64"] if args.worker_class == "gevent" else [])
    base_runs, bot_runs = [], []
    env = youthbot_env()
    with gunicorn("echo_app:app", extra=extra) as echo_url, \
            gunicorn("bot.app:create_app()", env=env, config=True, extra=extra) as bot_url:
        store = redis.Redis(unix_socket_path=embedded_socket(env["DATA_DIR"]))
        store.config_set("appendfsync", args.appendfsync)
        wrk(echo_url, args.content, args.connections, 2)  # warm-up
        wrk(bot_url, args.content, args.connections, 2)
        for _ in range(args.rounds):
            base_runs.append(wrk(echo_url, args.content, args.connections, args.seconds))
            bot_runs.append(wrk(bot_url, args.content, args.connections, args.seconds))
    base, bot = median_of(base_runs), median_of(bot_runs)
    print(f"webhook, {args.connections} connections, 2 gunicorn {args.worker_class} workers, "
          f"appendfsync {args.appendfsync}, "
          f"median of {args.rounds} x {args.seconds}s, message {args.content!r}")
    print(fmt("baseline (flask+wechatpy echo)", base))
    print(fmt("youthbot", bot))
    print(f"ratio youthbot/baseline msg/s: {bot['rps'] / base['rps']:.2f}  (target >= 0.80; p99 target < 25 ms)")


if __name__ == "__main__":
    main()
