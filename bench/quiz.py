"""Quiz benchmarks: leaderboard at 1,000,000 users, the answer round trip, memory per user.

(The answer figures published before issue 25 were measured with a wrk script that sent every message
twice, and were withdrawn; this version gives each round its own senders and counts the answers.)

    python bench/quiz.py [--users 1000000] [--seconds 8] [--rounds 3]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import redis

from bot.runtime.storage import embedded_socket, stop_embedded
from domain.quiz import Question, Quiz, Session, attempt_key, scores_key
from harness import fmt, gunicorn, median_of, wrk, youthbot_env


def p99(samples):
    return statistics.quantiles(samples, n=100)[98]


def leaderboard(users: int) -> None:
    data_dir = tempfile.mkdtemp(prefix="yb-bench-lb-")
    r = redis.Redis(unix_socket_path=embedded_socket(data_dir), decode_responses=True)
    quiz = Quiz(r)
    key = scores_key("bench")
    t0 = time.perf_counter()
    for start in range(0, users, 20000):
        pipe = r.pipeline(transaction=False)
        pipe.zadd(key, {f"o_user_{i:07d}": (i * 7919) % 101 * 10 for i in range(start, min(users, start + 20000))})
        pipe.execute()
    fill = time.perf_counter() - t0
    samples = []
    for i in range(3000):
        openid = f"o_user_{(i * 104729) % users:07d}"
        t = time.perf_counter()
        quiz.top_in_session("bench", 10)
        quiz.rank_in_session("bench", openid)
        samples.append((time.perf_counter() - t) * 1000)
    print(f"leaderboard, {r.zcard(key):,} users (filled in {fill:.1f}s): top 10 + one user's rank: "
          f"p50 {statistics.median(samples):.3f} ms, p99 {p99(samples):.3f} ms (target p99 < 2 ms)")
    stop_embedded(data_dir)


def memory_per_user(n: int = 10000) -> None:
    data_dir = tempfile.mkdtemp(prefix="yb-bench-mem-")
    r = redis.Redis(unix_socket_path=embedded_socket(data_dir), decode_responses=True)
    r.config_set("appendfsync", "no")  # loading speed only; memory is what is measured
    quiz, now = Quiz(r), time.time()
    questions = [Question(f"q{i}", "single", ["a", "b", "c", "d"], "B", "") for i in range(5)]
    past = Session("past", "past", "", now - 8 * 86400, now - 86400, questions)
    current = Session("cur", "cur", "", now - 3600, now + 86400, questions)
    quiz.save_session(past)
    quiz.save_session(current)
    r.execute_command("MEMORY", "PURGE")
    before = r.info("memory")["used_memory"]
    for i in range(n):
        openid = f"oyORnuP8q7ou2gfYjqLz{i:08d}"  # real openids are 28 characters
        quiz.record_completed(openid, past, ["B", "A", "B", "B", "C"], past.opens + 600)
        quiz.start(openid, current, now)
        quiz.answer(openid, current, "B", now + 5)
        quiz.answer(openid, current, "C", now + 10)
    per_user = (r.info("memory")["used_memory"] - before) / n
    sample = "oyORnuP8q7ou2gfYjqLz00000001"
    attempt = r.memory_usage(attempt_key(sample))
    print(f"memory per user: {per_user:.0f} bytes (one counted session with evidence + a half-done attempt; "
          f"MEMORY USAGE of one attempt hash {attempt} bytes; target < 1 KB)")
    stop_embedded(data_dir)


def answer_round_trip(seconds: int, rounds: int, users: int = 20000) -> None:
    """Quiz answers through the webhook against the echo, interleaved; every answer a sender's first.

    The senders are put inside an attempt as bench/webhook.py does (one through the domain, the others
    copies of its keys), a new set of senders for each round, and a check answer before measuring."""
    from webhook import check_reply, quiz_answers, seed_quiz

    env = youthbot_env()
    env["LOAD_DEMO"] = "0"
    prefixes = [f"o_qb{i}" for i in range(rounds)]
    with gunicorn("echo_app:app") as echo_url, gunicorn("bot.app:create_app()", env=env, config=True) as bot_url:
        sock = embedded_socket(env["DATA_DIR"])
        r = redis.Redis(unix_socket_path=sock, decode_responses=True)
        policy = r.config_get("appendfsync")["appendfsync"]
        r.config_set("appendfsync", "no")  # seeding speed only
        seed_quiz(r, redis.Redis(unix_socket_path=sock), prefixes + ["o_qbcheck"], users)
        r.config_set("appendfsync", policy)
        check_reply(bot_url, "A", "o_qbcheck_0_0", "第2题")
        base_runs, bot_runs = [], []
        for prefix in prefixes:
            base_runs.append(wrk(echo_url, "A", 32, seconds, users=users))
            bot_runs.append(wrk(bot_url, "A", 32, seconds, users=users, prefix=prefix))
        answered = quiz_answers(r, prefixes, users)
    base, bot = median_of(base_runs), median_of(bot_runs)
    print(f"answer a question through the webhook, 32 connections, 2 sync workers, appendfsync {policy}, median of "
          f"{rounds} x {seconds}s ({2 * users:,} senders per round, each inside an attempt; answers recorded: "
          f"{answered:,} of {sum(b['requests'] for b in bot_runs):,} sent)")
    print(fmt("baseline (flask+wechatpy echo)", base))
    print(fmt("youthbot answer", bot))
    print(f"ratio youthbot/baseline msg/s: {bot['rps'] / base['rps']:.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    leaderboard(args.users)
    memory_per_user()
    answer_round_trip(args.seconds, args.rounds)


if __name__ == "__main__":
    main()
