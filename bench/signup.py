"""1,000 concurrent sign-ups for one 30-place event through the webhook.

Gunicorn (2 sync workers) serves youthbot; 1,000 distinct users, each with a
profile already, send `报名 N` at once from 64 client threads over keep-alive
connections. Prints sign-ups/s, p50/p99 and checks overbooking and duplicates.

    python bench/signup.py [--users 1000] [--capacity 30] [--clients 64]
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import redis
import requests

from bot.wechat.simulator import WeChatSimulator, text_xml
from bot.runtime.storage import embedded_socket
from domain.events import Events, Occurrence
from domain.profiles import Profiles
from harness import TOKEN, gunicorn, youthbot_env


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--capacity", type=int, default=30)
    ap.add_argument("--clients", type=int, default=64)
    args = ap.parse_args()
    env = youthbot_env()
    env["LOAD_DEMO"] = "0"
    with gunicorn("bot.app:create_app()", env=env, config=True) as url:
        r = redis.Redis(unix_socket_path=embedded_socket(env["DATA_DIR"]), decode_responses=True)
        start = time.time() + 7 * 86400
        occ = Events(r).save(Occurrence("bench@1", "bench", "护河行动", "", "三干渠", start, start + 7200,
                                        args.capacity, start - 7200, start - 86400))
        users = [f"o_bench_{i:05d}" for i in range(args.users)]
        for openid in users:
            Profiles(r).save_contact(openid, "张小明", "13800138000")
        sim, local, latencies = WeChatSimulator(TOKEN), threading.local(), []

        def sign(openid):
            local.__dict__.setdefault("http", requests.Session())
            params, body = sim.request(text_xml(openid, f"报名 {occ.number}"))
            t = time.perf_counter()
            resp = local.http.post(url + "/wechat", params=params, data=body, timeout=30)
            latencies.append((time.perf_counter() - t) * 1000)
            return resp.status_code

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            codes = list(pool.map(sign, users))
        elapsed = time.perf_counter() - t0
        events = Events(r)
        confirmed, waitlist = events.confirmed(occ.id), events.waitlist(occ.id)
    everyone = confirmed + waitlist
    print(f"{args.users} concurrent sign-ups ({args.clients} client threads), {args.capacity} places, "
          f"2 gunicorn sync workers, appendfsync always")
    print(f"sign-ups/s {args.users / elapsed:.0f}   p50 {statistics.median(latencies):.1f} ms   "
          f"p99 {statistics.quantiles(latencies, n=100)[98]:.1f} ms   non-200 {sum(c != 200 for c in codes)}")
    print(f"confirmed {len(confirmed)} (overbooked by {max(0, len(confirmed) - args.capacity)}), "
          f"waitlisted {len(waitlist)}, duplicates {len(everyone) - len(set(everyone))}, "
          f"lost {args.users - len(set(everyone))}")


if __name__ == "__main__":
    main()
