"""Reliability under faults (issue 11): crashes, a dead Redis, a frozen Redis, fuzzed bodies.

Not a CI test: it takes a few minutes and kills processes. It runs `youthbot serve`
(2 gunicorn workers, embedded Redis, demo content) on a fresh DATA_DIR and keeps
it busy with simulated residents, each one of three kinds:

- sign-up: a resident with a profile sends `报名 N`; acknowledged when the reply says 报名成功;
- profile: a new resident signs up and answers consent, name and phone; acknowledged
  when the reply says 已记录;
- quiz: `答题`, then every question; each answer acknowledged by its ✅/❌ reply, the
  quiz by 本期答题完成.

Then, under that load:

1. kill -9 of the web process group AND the embedded Redis, twice; restart; count every
   acknowledged sign-up, profile, answer and finished quiz in the store;
2. kill -9 of the embedded Redis alone: what WeChat sees, and how long until normal replies;
3. SIGSTOP of Redis for 30 s: what WeChat would have seen (in time, fixed text, timeouts),
   and the time to recover after SIGCONT;
4. fuzzed signed bodies against the live server: 5xx and tracebacks in its log.

    python bench/reliability.py [--clients 12] [--load-seconds 6] [--freeze 30] [--fuzz 2000]
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis
import requests

from bot.runtime import storage
from bot.wechat.simulator import WeChatSimulator, event_xml, text_xml
from domain.events import Events, Occurrence
from domain.profiles import Profiles
from domain.quiz import Quiz, attempt_key, scores_key
from harness import ROOT, TOKEN, free_port, youthbot_env

WECHAT_WAITS = 5.0  # seconds WeChat waits for an answer before it retries


class Service:
    """`youthbot serve` in its own process group, its output in a log file."""

    def __init__(self, data_dir: Path):
        self.data_dir, self.proc, self.port = data_dir, None, None
        self.log = data_dir.parent / (data_dir.name + ".log")

    def start(self) -> float:
        self.port = free_port()
        env = youthbot_env(str(self.data_dir))
        env.update(WECHAT_TOKEN=TOKEN, PYTHONPATH=str(ROOT))
        started = time.monotonic()
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(self.port)],
                                         env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        while time.monotonic() - started < 60:
            try:
                if requests.get(self.url.replace("/wechat", "/healthz"), timeout=1).ok:
                    return time.monotonic() - started
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError("the service did not start; see " + str(self.log))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/wechat"

    def redis_pid(self) -> int:
        return storage.server_pid(self.data_dir)

    def store(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=storage.socket_path(self.data_dir), decode_responses=True,
                           socket_timeout=5)

    def kill_all(self) -> None:
        """kill -9 of the gunicorn master and workers, and of the Redis server, at once."""
        pid = self.redis_pid()
        os.killpg(self.proc.pid, signal.SIGKILL)
        os.kill(pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)

    def tracebacks(self) -> int:
        return self.log.read_text(errors="replace").count("Traceback")


class Load:
    """Residents sending messages from client threads; what was acknowledged, and every response."""

    def __init__(self, service: Service, number: int, clients: int):
        self.service, self.number, self.clients = service, number, clients
        self.sim = WeChatSimulator(TOKEN)
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.acked = {"signup": set(), "profile": set(), "answers": Counter(), "finished": set()}
        self.responses: list[tuple[float, float, int, str]] = []  # (sent at, seconds, status, kind of answer)
        self.seq = 0

    def run(self, seconds: float | None = None) -> threading.Thread:
        self.stop_flag.clear()
        thread = threading.Thread(target=self._run, args=(seconds,), daemon=True)
        thread.start()
        return thread

    def _run(self, seconds):
        until = time.monotonic() + seconds if seconds else None
        with ThreadPoolExecutor(self.clients) as pool:
            for i in range(self.clients):
                pool.submit(self._client, i, until)

    def _client(self, i: int, until):
        http = requests.Session()
        while not self.stop_flag.is_set() and (until is None or time.monotonic() < until):
            with self.lock:
                self.seq += 1
                n = self.seq
            kind = ("signup", "profile", "quiz")[n % 3]
            openid = f"o_rel_{kind}_{n:06d}"
            try:
                getattr(self, "_" + kind)(http, openid)
            except requests.RequestException:
                time.sleep(0.05)

    def _say(self, http, openid: str, text: str) -> str:
        params, body = self.sim.request(text_xml(openid, text))
        sent = time.monotonic()
        try:
            resp = http.post(self.service.url, params=params, data=body, timeout=30)
        except requests.RequestException:
            with self.lock:
                self.responses.append((sent, time.monotonic() - sent, 0, "no answer"))
            raise
        took = time.monotonic() - sent
        reply = (self.sim.reply_text(resp.content) or "") if resp.status_code == 200 else ""
        what = "success" if resp.status_code == 200 and not reply else \
            "fixed text" if "系统维护中" in reply else "reply" if reply else f"http {resp.status_code}"
        with self.lock:
            self.responses.append((sent, took, resp.status_code, what))
        if resp.status_code != 200:
            raise requests.RequestException(f"status {resp.status_code}")
        return reply

    def _signup(self, http, openid):
        if "报名成功" in self._say(http, openid, f"报名 {self.number}"):
            self.acked["signup"].add(openid)

    def _profile(self, http, openid):
        for text in (f"报名 {self.number}", "同意", "张小明"):
            self._say(http, openid, text)
        reply = self._say(http, openid, f"139{random.randrange(10**8):08d}")
        if "已记录" in reply:
            self.acked["profile"].add(openid)
        if "报名成功" in reply:
            self.acked["signup"].add(openid)

    def _quiz(self, http, openid):
        reply = self._say(http, openid, "答题")
        for turn in range(12):
            if "第" not in reply or "题" not in reply:
                return
            answer = ("对", "错")[turn % 2] if "「对」或「错」" in reply else ("AC" if "AC" in reply else "AB"[turn % 2])
            reply = self._say(http, openid, answer)
            if "回答正确" in reply or "回答错误" in reply:
                self.acked["answers"][openid] += 1
            if "本期答题完成" in reply:
                self.acked["finished"].add(openid)
                return

    def seed(self, store: redis.Redis, count: int = 0) -> None:
        """Profiles for the sign-up residents, made ahead (their sign-up is one message)."""
        from domain.keys import user_key

        pipe = store.pipeline(transaction=False)
        for n in range(1, count + 1):
            pipe.hset(user_key(f"o_rel_signup_{n:06d}", "profile"),
                      mapping={"name": "李晓", "phone": "13912345678", "consent_at": int(time.time())})
            if n % 1000 == 0:
                pipe.execute()
        pipe.execute()

    def lost(self, store: redis.Redis) -> dict[str, int]:
        """Acknowledged writes the store does not have."""
        events, profiles, quiz = Events(store), Profiles(store), Quiz(store)
        occ = events.by_number(self.number)
        session = quiz.open_session(time.time())
        lost = {"signup": sum(events.status_of(occ.id, o)[0] == "none" for o in self.acked["signup"]),
                "profile": sum(not profiles.get(o).has_contact for o in self.acked["profile"]),
                "answers": 0, "finished": 0}
        done = set(store.zrange(scores_key(session.id), 0, -1))
        for openid, n in self.acked["answers"].items():
            if openid in done:
                continue
            idx = int(store.hget(attempt_key(openid), "idx") or 0)
            lost["answers"] += max(0, n - idx)
        lost["finished"] = len(self.acked["finished"] - done)
        return lost

    def totals(self) -> dict[str, int]:
        return {"signup": len(self.acked["signup"]), "profile": len(self.acked["profile"]),
                "answers": sum(self.acked["answers"].values()), "finished": len(self.acked["finished"])}

    def window(self, start: float, end: float) -> Counter:
        return Counter(what for sent, _, _, what in self.responses if start <= sent < end)

    def slow(self, start: float, end: float) -> int:
        return sum(took > WECHAT_WAITS for sent, took, _, _ in self.responses if start <= sent < end)

    def five_xx(self, start: float = 0, end: float = float("inf")) -> int:
        return sum(500 <= status < 600 for sent, _, status, _ in self.responses if start <= sent < end)

    def first_normal_after(self, t: float) -> float | None:
        normal = [sent + took for sent, took, _, what in self.responses if sent >= t and what == "reply"]
        return min(normal) - t if normal else None


def _secs(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def make_event(store: redis.Redis) -> int:
    start = time.time() + 7 * 86400
    occ = Events(store).save(Occurrence("reliability@1", "reliability", "护河行动", "", "三干渠", start,
                                        start + 7200, 1_000_000, start - 7200, start - 86400))
    return occ.number


def fuzz_bodies(n: int, rng: random.Random) -> list[bytes]:
    """Signed garbage in the shapes an attacker sends: mutated, nested, re-encoded, random."""
    out = []
    for i in range(n):
        base = text_xml(f"o_fz{i}", rng.choice(["帮助", "搜 a]]>b", "报名 1", "答题", "A", "删除我的信息"])) \
            if i % 2 else event_xml(f"o_fz{i}", rng.choice(["subscribe", "CLICK", "SCAN"]), "HELP")
        body = base.encode()
        shape = i % 6
        if shape == 0:
            for _ in range(rng.randrange(1, 4)):
                at = rng.randrange(len(body))
                body = body[:at] + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8))) + body[at:]
        elif shape == 1:
            field = rng.choice(["MsgId", "ToUserName", "CreateTime", "FromUserName", "Content", "Event"])
            text = body.decode()
            if f"<{field}>" in text:
                depth = rng.randrange(10, 3000)
                a, b = text.index(f"<{field}>") + len(field) + 2, text.index(f"</{field}>")
                body = (text[:a] + "<a>" * depth + "x" + "</a>" * depth + text[b:]).encode()
        elif shape == 2:
            body = f'<?xml version="1.0" encoding="{rng.choice(["gbk", "utf-16", "bogus", "latin-1"])}"?>'.encode() + body
        elif shape == 3:
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 400)))
        elif shape == 4:
            body = body[:rng.randrange(len(body))]
        else:
            body = body.replace(b"<![CDATA[", b"<![CDATA[<b>", 1)
        out.append(body)
    return out


def fuzz(service: Service, n: int) -> dict:
    sim, rng = WeChatSimulator(TOKEN), random.Random(11)
    counts, bad_replies = Counter(), 0
    with ThreadPoolExecutor(8) as pool:
        def one(body):
            params = sim.params()
            if rng.random() < 0.1:
                params["signature"] = rng.choice(["é", "%C3%A9", "0" * 40, ""])
            resp = requests.post(service.url, params=params, data=body, timeout=30)
            ok = True
            if resp.status_code == 200 and resp.content not in (b"", b"success"):
                try:
                    sim.reply_text(resp.content)
                except Exception:  # noqa: BLE001 - a reply that does not parse is what we count
                    ok = False
            return resp.status_code, ok
        for status, ok in pool.map(one, fuzz_bodies(n, rng)):
            counts[f"{status // 100}xx"] += 1
            bad_replies += not ok
    return {"sent": n, "by_class": dict(counts), "5xx": counts.get("5xx", 0), "malformed_replies": bad_replies}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=12)
    ap.add_argument("--load-seconds", type=float, default=6)
    ap.add_argument("--freeze", type=float, default=30)
    ap.add_argument("--fuzz", type=int, default=2000)
    args = ap.parse_args()
    work = Path(youthbot_env()["DATA_DIR"])
    data_dir = work / "data"
    service = Service(data_dir)
    first_start = service.start()
    store = service.store()
    number = make_event(store)
    load = Load(service, number, args.clients)
    load.seed(store, 20000)
    print(f"youthbot serve, 2 gunicorn workers, embedded Redis (appendfsync always), {args.clients} client threads;"
          f" first start {first_start:.1f} s (demo content loaded)")

    # 1. kill -9 of everything, twice
    for run in (1, 2):
        t = load.run()
        time.sleep(args.load_seconds)
        service.kill_all()
        load.stop_flag.set()
        t.join(60)
        restart = service.start()
        store = service.store()
        totals, lost = load.totals(), load.lost(store)
        print(f"crash {run}: kill -9 of gunicorn (master + workers) and Redis under load; restart {restart:.1f} s; "
              f"acknowledged so far {totals}; lost {lost}")

    # 2. kill -9 of Redis alone
    t = load.run()
    time.sleep(2)
    killed = time.monotonic()
    os.kill(service.redis_pid(), signal.SIGKILL)
    time.sleep(8)
    load.stop_flag.set()
    t.join(60)
    recovered = load.first_normal_after(killed)
    seen = load.window(killed, killed + 8)
    print(f"redis kill -9 under load: WeChat saw {dict(seen)}; 5xx {load.five_xx(killed)}; "
          f"answers over {WECHAT_WAITS:.0f} s {load.slow(killed, killed + 8)}; "
          f"normal replies again after {_secs(recovered)}; lost {load.lost(service.store())}")

    # 3. Redis frozen
    t = load.run()
    time.sleep(2)
    pid = service.redis_pid()
    frozen = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    time.sleep(args.freeze)
    thawed = time.monotonic()
    os.kill(pid, signal.SIGCONT)
    time.sleep(5)
    load.stop_flag.set()
    t.join(60)
    during = load.window(frozen, thawed)
    took = [d for sent, d, _, _ in load.responses if frozen <= sent < thawed]
    print(f"redis frozen {args.freeze:.0f} s under load: {sum(during.values())} messages; WeChat saw {dict(during)}; "
          f"5xx {load.five_xx(frozen, thawed)}; over {WECHAT_WAITS:.0f} s (WeChat would retry) "
          f"{load.slow(frozen, thawed)}; slowest {max(took, default=0):.2f} s; "
          f"normal replies again {_secs(load.first_normal_after(thawed))} after SIGCONT; lost {load.lost(service.store())}")

    # 4. fuzzing the live server
    before = service.tracebacks()
    result = fuzz(service, args.fuzz)
    print(f"fuzzed bodies against the live server: {result}; tracebacks in its log {service.tracebacks() - before}")

    totals, lost = load.totals(), load.lost(service.store())
    print(f"overall: acknowledged {totals}; acknowledged writes lost {sum(lost.values())} {lost}; "
          f"5xx under load {load.five_xx()}; tracebacks in the service log {service.tracebacks()}")
    service.stop()
    print(f"(service log: {service.log})")


if __name__ == "__main__":
    main()
