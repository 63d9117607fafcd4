"""Cost as the store grows (issue 25): build a year-old store of N residents through the domain functions and
measure what staff wait for.

Each resident: a profile (name and phone, consented) in one of 20 branches, a follow a year ago, 26 counted quiz
attempts (a session every two weeks) and a third of them the open session's, 4 sign-ups with check-ins, interest in 2
job postings, and 50 days on which they wrote. Then, for each size:

- Redis used_memory and keys;
- the console's people search `?q=张`, the dashboard `/admin/`, the open quiz session's non-completer page and its
  xlsx (Flask's test client in this process, signed in as an admin: server time, no network; min–max of --repeat);
- `youthbot report` for the year and `youthbot backup` (each its own process: wall time, peak RSS of the process
  and its children, e.g. backup's throw-away server; the archive's size).

    python bench/scale.py --sizes 1000,10000,50000 [--repeat 5]

Seeding 50,000 residents takes a while (the domain functions one resident at a time, appendfsync off while seeding).
Figures depend on the machine and its load: say both when quoting them.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import create_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.runtime.storage import embedded_socket, stop_embedded  # noqa: E402
from domain.events import Events, Occurrence  # noqa: E402
from domain.followers import Followers  # noqa: E402
from domain.jobs import Jobs, Posting, default_expiry  # noqa: E402
from domain.profiles import Profiles  # noqa: E402
from domain.quiz import Question, Quiz, Session  # noqa: E402
from domain.staff import Staff  # noqa: E402

DAY = 86400
BRANCHES = 20
SESSIONS = 26
SIGNUPS = 4
PER_EVENT = 200
INTERESTS = 2
CHAT_DAYS = 50
SURNAMES = "张王李赵刘陈杨黄周吴"
PASSWORD = "bench-password-123"
TOKEN = "benchtoken"


def openid_of(i: int) -> str:
    return f"oScaleBench{i:017d}"  # 28 characters, as WeChat's


def seed(r, size: int, now: float) -> Session:
    """The store, through the domain functions; returns the open session."""
    rng = random.Random(size)
    year_ago = now - 365 * DAY
    profiles, quiz, events, jobs, followers = Profiles(r), Quiz(r), Events(r), Jobs(r), Followers(r)
    branch_ids = [profiles.add_branch(f"第{b + 1}团支部") for b in range(BRANCHES)]
    questions = [Question(f"第{q + 1}题", "single", ["甲", "乙", "丙", "丁"], "ABCD"[q % 4]) for q in range(5)]
    sessions = []
    for n in range(SESSIONS):
        opens = year_ago + n * 14 * DAY
        s = Session(f"scale-{n + 1:02d}", f"第{n + 1}期", "学习内容", opens, opens + 7 * DAY, questions)
        quiz.save_session(s)
        sessions.append(s)
    current = Session("scale-now", "本期", "学习内容", now - DAY, now + 6 * DAY, questions)
    quiz.save_session(current)
    per_group = max(1, -(-size // PER_EVENT))
    groups = []
    for g in range(SIGNUPS):
        occs = []
        for j in range(per_group):
            start = year_ago + (40 + 80 * g) * DAY + j * 3 * 3600
            occ = events.save(Occurrence(f"scale{g}-{j}@1", f"scale{g}-{j}", f"活动{g}-{j}", "", "社区", start,
                                         start + 2 * 3600, PER_EVENT, start - 3600, start - 7200,
                                         category="敬老"))
            occs.append((occ, events.code(occ.id)))
        groups.append(occs)
    postings = []
    for j in range(max(INTERESTS, size // 100)):
        published = year_ago + rng.uniform(0, 330) * DAY
        postings.append(jobs.save(Posting(f"scale-{j}", f"企业{j}", f"岗位{j}", "物流", "面议", "社区", "不限", "不限",
                                          3, "联系人", published, default_expiry(published))))
    for i in range(size):
        openid = openid_of(i)
        joined = year_ago + rng.uniform(0, 10) * DAY
        followers.subscribe(openid, joined)
        profiles.save_contact(openid, f"{SURNAMES[i % len(SURNAMES)]}{i}", f"138{i:08d}")
        profiles.set_branch(openid, branch_ids[i % BRANCHES])
        done = [quiz.record_completed(openid, s, [rng.choice("ABCD") for _ in questions],
                                      s.opens + rng.uniform(0, 6) * DAY) for s in sessions]
        if i % 3 == 0:
            done.append(quiz.record_completed(openid, current, [rng.choice("ABCD") for _ in questions], now - 3600))
        booked, checked = [], []
        for occs in groups:
            occ, code = occs[i // PER_EVENT]
            booked.append(events.sign_up(occ, openid, occ.start - 2 * DAY).status)
            checked.append(events.check_in(openid, code, occ.start + 60)[0])
        interest = [jobs.register_interest(p, openid, "", p.published + 3600)
                    for p in (postings[(i + k) % len(postings)] for k in range(INTERESTS))]
        if not all(done) or set(booked) != {"confirmed"} or set(checked) != {"ok"} or set(interest) != {"ok"}:
            raise RuntimeError(f"resident {i}: not built as meant: {done} {booked} {checked} {interest}")
        pipe = r.pipeline(transaction=False)
        for day in sorted(rng.sample(range(12, 365), CHAT_DAYS)):
            followers.log_seen(pipe, openid, year_ago + day * DAY)
        pipe.execute()
    return current


def _login(client) -> None:
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/admin/login", data={"name": "bench-admin", "password": PASSWORD, "csrf_token": token})
    if resp.status_code != 302:
        raise RuntimeError(f"console login failed ({resp.status_code})")


def _timed(client, path: str, repeat: int) -> tuple[float, float, int]:
    """(min ms, max ms, bytes) of GET path, repeat times after one warm-up."""
    client.get(path)
    times, size = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        resp = client.get(path)
        times.append((time.perf_counter() - t) * 1000)
        if resp.status_code != 200:
            raise RuntimeError(f"GET {path}: {resp.status_code}")
        size = len(resp.data)
    return min(times), max(times), size


def _run(cmd: list[str], env: dict) -> tuple[float, float]:
    """Run a youthbot command; (seconds, peak RSS in MB of it and its children, sampled every 50 ms)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ps, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - t
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd[2:])} failed: {proc.stderr.read().decode()[-800:]}")
    return seconds, peak / 2**20


def measure(size: int, repeat: int) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix=f"yb-bench-scale-{size}-"))
    socket = embedded_socket(data_dir)
    r = redis.Redis(unix_socket_path=socket, decode_responses=True)
    try:
        r.config_set("appendfsync", "no")  # seeding speed only
        now = time.time()
        t = time.perf_counter()
        current = seed(r, size, now)
        seeded = time.perf_counter() - t
        r.config_set("appendfsync", "always")
        out = {"size": size, "seed_s": seeded, "memory_mb": r.info("memory")["used_memory"] / 1e6,
               "keys": r.dbsize()}
        staff = Staff(r)
        staff.change_password("bench-admin", staff.create("bench-admin", "admin"), PASSWORD)
        settings = Settings(wechat_token=TOKEN, redis_url=f"unix://{socket}", data_dir=data_dir, load_demo="0")
        client = create_app(settings, r).test_client()
        _login(client)
        for name, path in [("search", "/admin/people/?q=张"), ("dashboard", "/admin/"),
                           ("missing_page", f"/admin/quizzes/{current.id}"),
                           ("missing_xlsx", f"/admin/quizzes/{current.id}/not-done.xlsx")]:
            out[name] = _timed(client, path, repeat)
        env = {**os.environ, "REDIS_URL": f"unix://{socket}", "DATA_DIR": str(data_dir), "WECHAT_TOKEN": TOKEN,
               "LOAD_DEMO": "0", "PYTHONPATH": str(ROOT)}
        out["report"] = _run([sys.executable, "-m", "bot.cli", "report", "--from", "today-365", "--to", "today",
                              "--out", str(data_dir / "report.docx")], env)
        archive = data_dir / "backup.tar.gz"
        out["backup"] = _run([sys.executable, "-m", "bot.cli", "backup", "--out", str(archive), "--no-content"], env)
        out["backup_mb"] = archive.stat().st_size / 1e6
        return out
    finally:
        r.close()
        stop_embedded(data_dir)


def _ms(t: tuple[float, float, int]) -> str:
    return f"{t[0]:.0f}–{t[1]:.0f} ms"


def table(results: list[dict]) -> str:
    head = "| figure | " + " | ".join(f"{r['size']:,}" for r in results) + " |"
    rows = [head, "|---|" + "---|" * len(results)]

    def line(name, cell):
        rows.append(f"| {name} | " + " | ".join(cell(r) for r in results) + " |")

    line("Redis used_memory / keys", lambda r: f"{r['memory_mb']:.1f} MB / {r['keys']:,}")
    line("console people search `?q=张`", lambda r: _ms(r["search"]))
    line("dashboard `/admin/`", lambda r: _ms(r["dashboard"]))
    line("quiz non-completer page / its xlsx",
         lambda r: f"{_ms(r['missing_page'])} ({r['missing_page'][2] / 1e3:.0f} kB) / {_ms(r['missing_xlsx'])}")
    line("`youthbot report`, one year", lambda r: f"{r['report'][0]:.1f} s, {r['report'][1]:.0f} MB peak RSS")
    line("`youthbot backup`",
         lambda r: f"{r['backup'][0]:.1f} s, {r['backup_mb']:.1f} MB, {r['backup'][1]:.0f} MB peak RSS")
    line("(seeding the store)", lambda r: f"{r['seed_s']:.0f} s")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,50000", help="residents, comma-separated")
    ap.add_argument("--repeat", type=int, default=5, help="timed requests per console page")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results = []
    for size in sizes:
        print(f"building and measuring {size:,} residents ...", file=sys.stderr, flush=True)
        results.append(measure(size, args.repeat))
    print(f"load average {os.getloadavg()[0]:.1f} at the end; {os.cpu_count()} CPUs")
    print(table(results))


if __name__ == "__main__":
    main()
