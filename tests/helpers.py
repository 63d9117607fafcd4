"""What tests share besides fixtures: the test account's credentials, a WeChat that signs requests, and
`youthbot serve` started in real processes."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from domain import clock
from domain.events import Events, Occurrence
from domain.fields import EVENT_FIELDS, POSTING_FIELDS, headers
from domain.followers import Followers
from domain.jobs import Posting, default_expiry
from domain.profiles import Profiles
from domain.quiz import Question, Session
from domain.staff import Staff

from bot.wechat.simulator import WeChatSimulator, event_xml, text_xml

# How often a test's HTTP server looks for shutdown: the default half second was paid at the end of every test
# with a live server or the fake WeChat API.
SHUTDOWN_POLL = 0.02

TOKEN = "testtoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx2c2769f8efd9abc2"

# The sheets' header rows, as the templates write them: the declared fields (domain/fields.py), never a copied list.
EVENT_HEADERS = headers(EVENT_FIELDS)
POSTING_HEADERS = headers(POSTING_FIELDS)


def _row(fields, values: dict) -> list:
    unknown = set(values) - {f.key for f in fields}
    assert not unknown, f"not a declared field: {unknown}"
    return [values.get(f.key, "") for f in fields]


def event_row(**values) -> list:
    """One row of an events sheet under EVENT_HEADERS, from {field key: cell}; the other cells empty."""
    return _row(EVENT_FIELDS, values)


def posting_row(**values) -> list:
    """One row of a postings sheet under POSTING_HEADERS, from {field key: cell}; the other cells empty."""
    return _row(POSTING_FIELDS, values)



class WeChat:
    """Sends signed, correctly formed WeChat requests to the test client."""

    def __init__(self, client, aes: bool = False):
        self.client = client
        self.sim = WeChatSimulator(TOKEN, AES_KEY if aes else "", APPID)

    def post(self, xml: str, timestamp: int | None = None, **extra_args):
        params, body = self.sim.request(xml, timestamp)
        params.update(extra_args)
        return self.client.post("/wechat", query_string=params, data=body, content_type="text/xml")

    def reply(self, response) -> str | None:
        assert response.status_code == 200, response.data
        return self.sim.reply_text(response.data)

    def send(self, text: str, openid: str = "o_alice", msg_id: int | None = None) -> str | None:
        """Send a text message and return the reply text (None for `success`)."""
        return self.reply(self.post(text_xml(openid, text, msg_id)))

    def event(self, event: str, openid: str = "o_alice", key: str = "", create_time: int | None = None):
        return self.reply(self.post(event_xml(openid, event, key, create_time)))



def post_signed(url: str, sim: WeChatSimulator, xml: str, session=None) -> str | None:
    """POST one signed message over HTTP and return the reply text."""
    params, body = sim.request(xml)
    resp = (session or requests).post(url, params=params, data=body, timeout=30)
    assert resp.status_code == 200, resp.text
    return sim.reply_text(resp.content)


# -- the staff console ------------------------------------------------------------------
STAFF_PASSWORD = "lantern-river-42"


def staff_account(redis, name: str, role: str, password: str = STAFF_PASSWORD) -> str:
    """An account that has already changed its one-time password to `password`."""
    from domain.staff import Staff

    staff = Staff(redis)
    staff.change_password(name, staff.create(name, role), password)
    return name


class Console:
    """Drives the console through Flask's test client, with the CSRF token a browser would send."""

    def __init__(self, client):
        self.client = client

    def csrf(self, path: str = "/admin/login") -> str:
        import re

        html = self.client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def login(self, name: str, password: str = STAFF_PASSWORD, **extra):
        return self.client.post("/admin/login", data={"name": name, "password": password,
                                                      "csrf_token": self.csrf(), **extra})

    def post(self, path: str, data: dict | None = None, token_from: str = "/admin/", **kwargs):
        """POST a console form with a valid CSRF token (taken from a page of the session)."""
        return self.client.post(path, data={"csrf_token": self.csrf(token_from), **(data or {})}, **kwargs)

    def page(self, path: str) -> str:
        resp = self.client.get(path)
        assert resp.status_code == 200, (path, resp.status_code)
        return resp.get_data(as_text=True)


# -- `youthbot serve` in real processes (gunicorn) --------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(data_dir: Path, port: int, workers: int = 2, app: str | None = None, log_path: Path | None = None,
                demo: bool = True, nice: int = 0, **env_extra) -> subprocess.Popen:
    """`youthbot serve` on 127.0.0.1:port with its own DATA_DIR; waits for /healthz (up to 120 s on a busy
    machine). If it does not come up, its whole process group (gunicorn, the embedded Redis) is killed."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "LOAD_DEMO", "PUBLIC_URL")}
    env.update(DATA_DIR=str(data_dir), WECHAT_AES_KEY="")
    if demo:
        env["LOAD_DEMO"] = "1"
    env.update({k: str(v) for k, v in env_extra.items()})
    cmd = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", str(workers)]
    if nice:  # a unit's Nice=
        cmd = ["nice", "-n", str(nice), *cmd]
    if app:
        cmd += ["--app", app]
    out = open(log_path, "ab") if log_path else subprocess.PIPE
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                return proc
        except requests.RequestException:  # refused while it starts, or slow to answer on a busy machine
            time.sleep(0.2)
    stop(proc, signal.SIGKILL)
    text = log_path.read_text(errors="replace") if log_path else proc.stdout.read().decode(errors="replace")
    raise AssertionError(text)


def stop(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 30) -> int:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
    return proc.wait(timeout)


# -- builders the tests share: records made through the domain, as the service makes them -----------
def make_event(events, eid="river", capacity=30, starts_in=3 * 86400, hours=2, **extra) -> Occurrence:
    """A volunteer event starting exactly starts_in seconds from now."""
    start = time.time() + starts_in
    occ = Occurrence(id=f"{eid}@1", event_id=eid, title=extra.pop("title", f"活动{eid}"), description="清理河道垃圾。",
                     place="三干渠",
                     start=start, end=start + hours * 3600, capacity=capacity, signup_deadline=start - 2 * 3600,
                     cancel_cutoff=start - 24 * 3600, **extra)
    return events.save(occ)


def make_morning_event(events, eid="river", capacity=30, starts_in=3 * 86400, hours=2, **extra):
    """An event on a whole minute; at 09:00 on the day starts_in falls on (none crosses midnight) unless it starts soon."""
    start = (time.time() + starts_in) // 60 * 60
    if abs(starts_in) >= 86400:
        start = clock.local(start).replace(hour=9, minute=0).timestamp()
    occ = Occurrence(id=f"{eid}@1", event_id=eid, title=extra.pop("title", f"活动{eid}"), description="清理河道垃圾。",
                     place="三干渠",
                     start=start, end=start + hours * 3600, capacity=capacity, signup_deadline=start - 2 * 3600,
                     cancel_cutoff=start - 24 * 3600, **extra)
    return events.save(occ)


def with_profile(bot, openid="o_alice", name="张小明", phone="13800138000", **details):
    """A resident who gave their name and phone (and details, if given)."""
    Profiles(bot.redis).save_contact(openid, name, phone)
    if details:
        Profiles(bot.redis).set_details(openid, **details)


def posting(pid, title, category="物流司机", employer="顺达物流", days_ago=0.5, **extra) -> Posting:
    published = time.time() - days_ago * 86400
    fields = dict(salary="6000元/月", place="物流园", education="不限", experience="驾龄2年", headcount=2,
                  contact="王经理 0724-0000001", published=published, expires=default_expiry(published))
    fields.update(extra)
    return Posting(pid, employer, title, category, **fields)


QUESTIONS = [
    Question("团员年龄？", "single", ["12至25", "14至28", "16至30"], "B", "团章规定14至28周岁。"),
    Question("团员义务？", "multi", ["学习", "守法", "缺席", "带头"], "ABD", "缺席组织生活不是义务。"),
    Question("五四青年节是5月4日。", "judge", [], "T", "源于1919年五四运动。"),
]


def make_session(quiz, sid="s-now", opens_in=-3600, closes_in=86400, now=None):
    now = now or time.time()
    session = Session(sid, f"第{sid}期", "学习团章。", now + opens_in, now + closes_in, QUESTIONS, "https://example.org")
    quiz.save_session(session)
    return session


def follower(bot, openid, hours_ago=1.0):
    """A follower whose last message was hours_ago."""
    bot.redis.sadd("yb:followers:active", openid)
    bot.redis.hset(f"yb:{{u:{openid}}}:follower", "last_seen", int(time.time() - hours_ago * 3600))


def in_days(days: int, hour: int = 9) -> str:
    return clock.local(time.time() + days * 86400).strftime(f"%Y-%m-%dT{hour:02d}:00")


def new_event(console, **fields):
    """An event created on the console's form (the fields as staff type them)."""
    data = {"title": "白石坡养老院敬老服务", "place": "白石坡社区养老院", "description": "陪老人聊天、打扫卫生。",
            "start": in_days(5), "end_time": "11:30", "capacity": "2", "signup_deadline_hours": "2",
            "cancel_cutoff_hours": "24", **fields}
    return console.post("/admin/events/new", data, token_from="/admin/events/new")


# -- builders of issue 22's tests --------------------------------------------------------------
def served(redis, openid="o_vol", name="王小红", phone="13800138001"):
    """A volunteer who came to two past activities: 2 h credited at one, too short a stay at the other."""
    Profiles(redis).save_contact(openid, name, phone)
    events = Events(redis)
    long_ago = make_morning_event(events, "river", starts_in=-3 * 86400, hours=2)
    yesterday = make_morning_event(events, "elder", starts_in=-1 * 86400, hours=2)
    for occ in (long_ago, yesterday):
        events.sign_up(occ, openid)
    events.record_attendance(long_ago, openid, long_ago.start, long_ago.end)
    events.record_attendance(yesterday, openid, yesterday.start, yesterday.start + 10 * 60)
    return long_ago, yesterday


QUIZ_BANK_HEADERS = ["期号", "标题", "学习内容", "链接", "开始", "截止", "题目", "题型", "A", "B", "C", "D", "答案", "解析"]


def workbook(headers: list, rows, path: Path | None = None):
    """A sheet of a header row and rows, as staff upload one: saved at path (returned), or an in-memory file
    read from its start."""
    import io

    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(headers)
    for r in rows:
        wb.active.append(r)
    if path is not None:
        wb.save(path)
        return path
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


def quiz_bank_file(rows: list[list]):
    """A question bank workbook (an in-memory file) with the upload's headers and these rows."""
    return workbook(QUIZ_BANK_HEADERS, rows)


def upload_bank(console, data, name="题库.xlsx"):
    """Upload a question bank on the console's 答题 page."""
    return console.post("/admin/quizzes/upload", {"bank": (data, name)}, token_from="/admin/quizzes/",
                        content_type="multipart/form-data")


def volunteer_season(redis):
    """Two past activities and one ahead: credited, too short, never checked out, never came; a waitlisted one."""
    events, profiles = Events(redis), Profiles(redis)
    for openid, name, phone in (("o_a", "张小明", "13800138000"), ("o_b", "李小红", "13900139000"),
                                ("o_c", "王小刚", "13700137000"), ("o_d", "赵小芳", "13600136000"),
                                ("o_w", "钱小伟", "13500135000")):
        profiles.save_contact(openid, name, phone)
    river = make_morning_event(events, "river", capacity=4, starts_in=-3 * 86400, hours=2, category="护河")
    elder = make_morning_event(events, "elder", capacity=1, starts_in=-1 * 86400, hours=2)
    ahead = make_morning_event(events, "ahead", starts_in=2 * 86400)
    for openid in ("o_a", "o_b", "o_c", "o_d"):
        events.sign_up(river, openid)
    events.sign_up(elder, "o_a")
    events.sign_up(elder, "o_w")  # waitlisted: not expected, not in the ledger
    events.sign_up(ahead, "o_a")
    events.record_attendance(river, "o_a", river.start, river.end)
    events.record_attendance(river, "o_b", river.start, river.start + 15 * 60)
    events.record_attendance(river, "o_c", river.start, None)
    events.record_attendance(elder, "o_a", elder.start, elder.end - 30 * 60)
    return river, elder, ahead


def event_with_volunteers(bot, organiser="organiser1"):
    """An event the organiser runs with one signed up and one waiting, another event with its own volunteer."""
    events, followers = Events(bot.redis), Followers(bot.redis)
    occ = make_morning_event(events, "river", capacity=1)
    other = make_morning_event(events, "elder")
    for openid in ("o_in", "o_wait", "o_other", "o_fan"):
        followers.subscribe(openid)
    events.sign_up(occ, "o_in")
    events.sign_up(occ, "o_wait")  # waitlisted: told too
    events.sign_up(other, "o_other")  # someone else's event
    Staff(bot.redis).assign_event(organiser, occ.event_id)
    return occ, other


# -- Prometheus figures ---------------------------------------------------------------------------
def samples(text: str) -> dict:
    """{(name, labels as a sorted tuple): value} of a Prometheus exposition."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def until(predicate, timeout: float = 10, what: str = ""):
    """Wait for predicate() to be true (its value returned), polling briefly; fail after timeout seconds.
    An event-driven wait: it returns as soon as the condition holds, however busy the machine."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or predicate}")
        time.sleep(0.01)


def settled(timeout: float = 10) -> None:
    """Wait until the handlers of the messages sent so far have finished: a message's ledger record and its
    "last seen" are written after its reply went out, on the handler's thread."""
    from bot.web import handling

    _, running = handling.drain(timeout)
    assert not running, f"{running} handlers still running after {timeout} s"


def value(text: str, name: str, **labels) -> float:
    return sum(v for (n, ls), v in samples(text).items() if n == name and all((k, str(x)) in ls for k, x in labels.items()))


# -- the demo content, loaded once per run ---------------------------------------------------
_DEMO_SNAPSHOTS: dict = {}


def dump_all(redis, skip: tuple = (), ttl: bool = False) -> dict:
    """Every key's DUMP payload (names starting with one of `skip` left out), 2,000 keys a round trip; with ttl,
    (payload, its PTTL) for each. A key gone between the SCAN and its DUMP is left out."""
    names = sorted(n for n in redis.scan_iter(count=5000) if not (skip and n.startswith(skip)))
    out = {}
    for at in range(0, len(names), 2000):
        part = names[at:at + 2000]
        pipe = redis.pipeline(transaction=False)
        for name in part:
            pipe.dump(name)
            if ttl:
                pipe.pttl(name)
        res = pipe.execute()
        step = 2 if ttl else 1
        for i, name in enumerate(part):
            payload = res[step * i]
            if payload is not None:
                out[name] = (payload, res[step * i + 1]) if ttl else payload
    return out


def demo_loaded(bot):
    """The demo content (content/ with its made-up members and half-year history), as `load_dir(..., demo=True)`
    writes it, for a test's store. Loading it takes ~5 s of round trips; a run did that twenty times. The first
    load in a run is real; the store's new and changed keys are kept (DUMP) with when they were written, and a later
    test on a store holding the same keys as that first one gets them back with RESTORE: the demo as if loaded a
    moment before (the times in it are relative to the load, expiries count down from it), which is what staff
    see when they open the console after a demo start. Any other store is loaded for real."""
    from bot import importers

    from bot.runtime import storage

    binary = storage._from_url(bot.settings.redis_url, 5.0, decode=False)  # DUMP payloads are bytes
    try:
        before = dump_all(binary)
        # a signed-in console's session ids are random: the same store otherwise
        key = (bot.settings.redis_url, str(bot.settings.content_dir),
               frozenset(re.sub(rb"^(yb:\{staff\}:session:).*", rb"\1*", n) for n in before))
        kept = _DEMO_SNAPSHOTS.get(key)
        if kept is not None and all(before[n] == payload for n, payload in kept[3].items()):
            taken, written, report, _ = kept
            pipe = binary.pipeline(transaction=False)
            for name, (payload, ttl_ms) in written.items():
                left = ttl_ms - int((time.time() - taken) * 1000) if ttl_ms > 0 else 0
                if ttl_ms > 0 and left <= 0:
                    pipe.delete(name)
                else:
                    pipe.restore(name, left, payload, replace=True)
            pipe.execute()
            return report
        taken = time.time()
        report = importers.load_dir(bot, bot.settings.content_dir, demo=True)
        after = dump_all(binary, ttl=True)
        written = {n: (payload, ttl) for n, (payload, ttl) in after.items() if before.get(n) != payload}
        if not set(before) - set(after):  # the load deleted nothing: what it wrote is the whole difference
            # a key the load changed (not only created) must hold the same before a reuse
            _DEMO_SNAPSHOTS[key] = (taken, written, report, {n: before[n] for n in written if n in before})
        return report
    finally:
        binary.close()
