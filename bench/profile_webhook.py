"""Where a message's time goes: youthbot's webhook and the echo bot, in-process, one at a time.

Calls each WSGI app directly (no HTTP, no gunicorn) with prepared signed
requests, each with its own MsgId, and prints wall and CPU milliseconds per
message; with --profile, the top functions by cumulative time.

    python bench/profile_webhook.py [--n 3000] [--profile 帮助|answer|signup|cancel|checkin|echo] [--inline]

--profile prints the top functions (SORT=tottime for own time) under a CPU-time profiler and
the CPU per message by area (Flask/Werkzeug, the Redis client, logging, youthbot's own code, ...):
compare areas within one run, not across runs on a loaded machine.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import os
import time

import redis
from werkzeug.test import EnvironBuilder

from bot.wechat.simulator import WeChatSimulator, text_xml
from bot.runtime.storage import embedded_socket, stop_embedded
from harness import TOKEN


def environs(contents_and_senders, n):
    sim = WeChatSimulator(TOKEN)
    out = []
    for i in range(n):
        content, sender = contents_and_senders(i)
        params, body = sim.request(text_xml(sender, content))
        out.append(EnvironBuilder(path="/wechat", method="POST", query_string=params, data=body,
                                  content_type="text/xml").get_environ())
    return out


def drive(app, envs, expect: str, profile: bool):
    replies = []

    def start_response(status, headers):
        replies.append(status)

    def loop():
        for env in envs:
            body = b"".join(app(env, start_response))
        return body

    # CPU time, not wall: waits for Redis are not "time spent" here (and on a loaded machine
    # wall time is mostly other jobs').
    prof = cProfile.Profile(time.process_time) if profile else None
    t0, c0 = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    last = loop()
    if prof:
        prof.disable()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert all(s.startswith("200") for s in replies), set(replies)
    assert expect.encode() in last, last[:300]
    if prof:
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats(os.environ.get("SORT", "cumulative")).print_stats(35)
        print(out.getvalue())
        print(areas(stats, len(envs)))
    return wall * 1000 / len(envs), cpu * 1000 / len(envs)


AREAS = [  # (area, what a function's file path contains); the first that matches counts
    ("logging (log line, JSON)", ("/logging/", "pythonjsonlogger", "/json/")),
    ("metrics (prometheus_client)", ("prometheus_client",)),
    ("Redis client (redis-py, hiredis, sockets)", ("/redis/", "hiredis", "_socket", "socket.py")),
    ("XML parse (ElementTree, xmltodict, expat)", ("xmltodict", "pyexpat", "expat", "xml/etree", "elementtree")),
    ("Flask/Werkzeug (request context, routing, response)", ("/flask/", "/werkzeug/", "/urllib/")),
    ("signature (wechatpy, hashlib)", ("wechatpy", "hashlib", "_sha", "hmac")),
    ("thread hand-off (concurrent.futures, threading)", ("concurrent/futures", "threading.py", "_thread")),
    ("youthbot: bot/", ("/bot/",)),
    ("youthbot: handlers/", ("/handlers/",)),
    ("youthbot: domain/", ("/domain/",)),
    ("text reading (opencc, regex, unicodedata)", ("opencc", "re/__init__", "_sre", "re.Pattern", "unicodedata")),
]


def areas(stats, n: int) -> str:
    """CPU per message by area: each function's own time (tottime), summed by where it lives."""
    sums: dict[str, float] = {}
    total = 0.0
    def area_of(path, name, default="other (stdlib)"):
        where = f"{path}:{name}".lower()
        return next((a for a, marks in AREAS if any(m.lower() in where for m in marks)), default)

    for (path, _line, name), (_cc, _nc, tottime, _ct, callers) in stats.stats.items():
        total += tottime
        if path == "~" and callers and area_of(path, name, None) is None:
            # a builtin of no area of its own (isinstance, str.lower, ...): counted where it was called from
            for (cpath, _cl, cname), caller in callers.items():
                area = area_of(cpath, cname)
                sums[area] = sums.get(area, 0.0) + caller[2]
            continue
        area = area_of(path, name)
        sums[area] = sums.get(area, 0.0) + tottime
    lines = [f"CPU by area (own time of its functions), {total * 1000 / n:.3f} ms/msg under the profiler:"]
    for area, t in sorted(sums.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {area:<52} {t * 1000 / n:7.3f} ms/msg {100 * t / total:5.1f} %")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--profile", default="", help="the case to profile: echo, 帮助, answer, signup, cancel, checkin")
    ap.add_argument("--only", default="", help="comma-separated cases to run (default: all)")
    ap.add_argument("--inline", action="store_true",
                    help="run handlers on the request thread (so that the profile sees them; no reply budget)")
    args = ap.parse_args()
    if args.inline:
        from bot.web import handling

        from concurrent.futures import Future

        class Inline:
            def submit(self, fn, *a):
                fn(*a)
                done = Future()
                done.set_result(None)
                return done

        handling._executor = Inline
    import os

    os.environ["WECHAT_TOKEN"] = TOKEN
    import echo_app

    data_dir = tempfile.mkdtemp(prefix="yb-profile-")
    sock = embedded_socket(data_dir)
    try:
        run_cases(args, sock, data_dir, echo_app)
    finally:
        if not args.inline:
            from bot.web import handling

            handling._executor().shutdown(wait=True)  # the last replies' records, before the server stops
        stop_embedded(data_dir)


def run_cases(args, sock: str, data_dir: str, echo_app) -> None:
    from webhook import seed_cancels, seed_checkins, seed_quiz, seed_signups

    from bot.app import create_app
    from bot.config import Settings

    store = redis.Redis(unix_socket_path=sock, decode_responses=True)
    settings = Settings(wechat_token=TOKEN, redis_url=f"unix://{sock}", data_dir=data_dir, load_demo=False,
                        wechat_aes_key="")
    app = create_app(settings)
    policy = store.config_get("appendfsync")["appendfsync"]
    store.config_set("appendfsync", "no")
    seed_quiz(store, redis.Redis(unix_socket_path=sock), ["o_pq"], args.n)
    occ = seed_signups(store, ["o_ps"], args.n)
    cancel_occ = seed_cancels(store, ["o_pc"], args.n // 2 + 1)
    _checkin_occ, code = seed_checkins(store, ["o_pi"], args.n // 2 + 1)
    store.config_set("appendfsync", policy)
    cases = [
        ("echo", echo_app.app, lambda i: ("帮助", f"o_e_{i % 500}"), "帮助"),
        ("帮助", app, lambda i: ("帮助", f"o_h_{i % 500}"), "青年大学习"),
        ("answer", app, lambda i: ("A", f"o_pq_{i % 2}_{i // 2}"), "第2题"),
        ("signup", app, lambda i: (f"报名 {occ.number}", f"o_ps_{i % 2}_{i // 2}"), "报名成功"),
        ("cancel", app, lambda i: (f"取消报名 {cancel_occ.number}", f"o_pc_{i % 2}_{i // 2}"), "已取消"),
        ("checkin", app, lambda i: (f"签到 {code}", f"o_pi_{i % 2}_{i // 2}"), "签到成功"),
    ]
    print(f"in-process, one message at a time, {args.n} messages each; store appendfsync {policy}")
    for name, wsgi, make, expect in cases:
        if args.only and name not in args.only.split(","):
            continue
        wall, cpu = drive(wsgi, environs(make, args.n), expect, args.profile == name)
        print(f"{name:<8} wall {wall:.3f} ms/msg   CPU (this process) {cpu:.3f} ms/msg")

if __name__ == "__main__":
    main()
