"""The console and the store under attack (issue 19), repeated. The console: ~250 login and session attempts
(guessing, a login flood from 30 addresses while WeChat messages are sent, forged, stale and logged-out cookies),
XSS in every text field of the event and posting forms, hostile uploads, and a 350-way mixed load of console pages and WeChat
messages, against `youthbot serve` run as youthbot-web and youthbot-console. The store: damaged backups, and
restores, backups and console uploads killed with SIGKILL at random moments. Prints what was refused and what
was lost or leaked (0 expected).

Not a CI test (tests/test_attacks_store.py runs one of each). Everything runs on this machine: an embedded
Redis in a fresh temporary DATA_DIR (or REDIS_URL), the console on 127.0.0.1. Bounded by counts and by
--seconds per part.

    python bench/attack.py [--keys 30000] [--kills 8] [--damaged 12] [--rows 600] [--seconds 120] [--seed 19]
                           [--logins 250] [--ways 350] [--parts store,console]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.ops import backup as bk  # noqa: E402
from bot.runtime import storage  # noqa: E402
from tests import store_attacks as sa  # noqa: E402


def damaged_archives(url, archive, work: Path, count: int, rng, before, deadline) -> Counter:
    """Restore `count` damaged copies of archive; each must be refused with the store untouched."""
    r = sa.raw_client(url)
    kinds = [
        ("truncated", lambda o: sa.truncated(archive, o, rng.uniform(0.05, 0.999))),
        ("bad line", lambda o: sa.with_store(archive, o, sa.bad_json_line, fix_checksum=rng.random() < 0.5)),
        ("wrong checksum", lambda o: sa.with_store(archive, o, sa.flipped_value, fix_checksum=False)),
        ("damaged payload, forged checksum", lambda o: sa.with_store(archive, o, sa.bad_payload, fix_checksum=True)),
        ("lost lines", lambda o: sa.with_store(archive, o, lambda ls: ls[:rng.randrange(1, len(ls))],
                                               fix_checksum=False)),
    ]
    seen = Counter()
    for i in range(count):
        if time.monotonic() > deadline:
            break
        kind, make = kinds[i % len(kinds)]
        path = make(work / f"damaged-{i}.tar.gz")
        proc = sa.command(url, "restore", str(path), "--force", log=work / "restore.log")
        code = proc.wait(300)
        text = (work / "restore.log").read_text(errors="replace").strip().splitlines()[-1:]
        intact = sa.fingerprint(r) == before
        outcome = ("refused, store intact" if code != 0 and intact else
                   "ACCEPTED" if code == 0 else "refused, STORE CHANGED")
        if "Traceback" in (work / "restore.log").read_text(errors="replace") or text == ["Aborted!"]:
            outcome += " (without a sentence)"
        seen[(kind, outcome)] += 1
        print(f"  damaged {i + 1}: {kind}: {outcome}: {text[0][:140] if text else ''}")
        (work / "restore.log").unlink()
    return seen


def restore_kills(url, archive, work: Path, count: int, rng, old_keys: int, before, after, deadline) -> Counter:
    r = sa.raw_client(url)
    started = time.monotonic()
    proc = sa.command(url, "restore", str(archive), "--force", log=work / "kills.log")
    assert proc.wait(600) == 0, (work / "kills.log").read_text()
    took = time.monotonic() - started
    print(f"  an undisturbed restore: {took:.2f} s")
    seen = Counter()
    for i in range(count):
        if time.monotonic() > deadline:
            break
        r.flushdb()
        sa.fill(r, "old", old_keys)
        delay = rng.uniform(0.02, 1.1) * took
        proc = sa.command(url, "restore", str(archive), "--force", log=work / "kills.log")
        killed = sa.kill_after(proc, delay)
        state = sa.which_state(sa.fingerprint(r), before, after)
        seen[state] += 1
        print(f"  restore kill {i + 1} at {delay:.2f} s ({'killed' if killed else 'had finished'}): {state}")
    return seen


def backup_kills(url, work: Path, data_dir: Path, count: int, rng, deadline) -> Counter:
    out = work / "backups" / "b.tar.gz"
    seen = Counter()
    for i in range(count):
        if time.monotonic() > deadline:
            break
        proc = sa.command(url, "backup", "--out", str(out), "--no-content", data_dir=data_dir, log=work / "bk.log")
        killed = sa.kill_after(proc, rng.uniform(0.05, 2.0))
        left = sorted(p.name for p in (data_dir / "tmp").glob("*")) if (data_dir / "tmp").exists() else []
        in_tmp = sorted(p.name for p in Path(tempfile.gettempdir()).glob("youthbot-backup-*"))
        seen["killed" if killed else "finished"] += 1
        if in_tmp:
            seen["snapshot left in the system's temp folder"] += 1
        print(f"  backup kill {i + 1}: {'killed' if killed else 'finished'}; left in DATA_DIR/tmp: {len(left)}, "
              f"in /tmp: {len(in_tmp)}")
    proc = sa.command(url, "backup", "--out", str(out), "--no-content", data_dir=data_dir, log=work / "bk.log")
    assert proc.wait(600) == 0
    left = list((data_dir / "tmp").glob("*"))
    partials = [p for p in out.parent.iterdir() if p.name.endswith(".partial")]
    print(f"  after one more backup: {len(left)} folders in DATA_DIR/tmp, {len(partials)} partial archives; "
          f"the archive checks: {bk.check_archive(out).keys} keys")
    seen["left behind after the next backup"] += len(left) + len(partials)
    return seen


def upload_kills(url, work: Path, data_dir: Path, rows: int, count: int, rng, deadline) -> Counter:
    from domain.events import INDEX
    from domain.staff import Staff
    from tests.helpers import STAFF_PASSWORD, free_port, staff_account

    live = storage.connect(url, data_dir)
    staff_account(live, "org-bench", "organiser")
    seen = Counter()
    took = None
    for i in range(count + 1):
        if time.monotonic() > deadline:
            break
        tag = f"kill{i}"
        path = sa.events_sheet(work / f"{tag}.xlsx", rows, tag=tag)
        port = free_port()
        server = sa.console_server(url, data_dir, port, work / "console.log")
        try:
            base = f"http://127.0.0.1:{port}"
            session = sa.console_login(base, "org-bench", STAFF_PASSWORD)
            token = sa.csrf_of(session, f"{base}/admin/events/")
            started = time.monotonic()
            thread, result = sa.upload_in_thread(session, f"{base}/admin/events/upload", token, path)
            if took is None:  # the first: undisturbed, for the time an upload takes
                thread.join(600)
                took = time.monotonic() - started
                print(f"  an undisturbed upload of {rows} events: {took:.1f} s, HTTP {result}")
                continue
            delay = rng.uniform(0.05, 1.05) * took
            killed = sa.kill_after(server, delay)
            thread.join(30)
        finally:
            sa.stop(server)
        sa.stop(sa.console_server(url, data_dir, free_port(), work / "console.log"))  # a worker starts again
        saved = sum(1 for m in live.zrange(INDEX, 0, -1) if m.startswith(f"{tag}-"))
        owned = sum(1 for e in Staff(live).events_run_by("org-bench") if e.startswith(f"{tag}-"))
        state = ("before" if saved == 0 else "after" if saved == owned == rows else
                 f"MIXED ({saved} saved, {owned} assigned)")
        left = list((data_dir / "tmp").glob("upload-*"))
        seen[state] += 1
        if left:
            seen["sheet copies left"] += len(left)
        print(f"  upload kill {i} at {delay:.1f} s ({'killed' if killed else 'had finished'}): {state}; "
              f"sheet copies left: {len(left)}")
    live.close()
    return seen


# -- the console under attack (issue 19, part B): logins, sessions, XSS, hostile uploads, mixed load ---------
class _From:
    """A requests adapter whose connections come from one loopback address (127.0.0.N): one attacker of many."""

    def __new__(cls, address: str):
        from requests.adapters import HTTPAdapter

        class Adapter(HTTPAdapter):
            def init_poolmanager(self, *a, **kw):
                kw["source_address"] = (address, 0)
                super().init_poolmanager(*a, **kw)
        return Adapter(pool_connections=1, pool_maxsize=1)


def _serve(url: str, data_dir: Path, port: int, log: Path, role: str = "web", nice: int = 0):
    """`youthbot serve` on the bench's store, as youthbot-web or youthbot-console runs it (role, Nice=)."""
    import subprocess

    import requests

    env = {**os.environ, "REDIS_URL": url, "DATA_DIR": str(data_dir), "LOAD_DEMO": "0", "WECHAT_TOKEN": "testtoken",
           "WECHAT_AES_KEY": "", "ADMIN_COOKIE_SECURE": "0", "SERVE_ROLE": role, "PUBLIC_URL": f"http://127.0.0.1:{port}"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cmd = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", "2"]
    proc = subprocess.Popen((["nice", "-n", str(nice)] if nice else []) + cmd, env=env, cwd=ROOT,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"serve on {port} did not start: {log.read_text()[-2000:]}")


def _session(base: str, address: str | None = None):
    import re

    import requests

    s = requests.Session()
    s.trust_env = False
    if address:
        s.mount("http://", _From(address))
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(f"{base}/admin/login", timeout=60).text).group(1)
    return s, token


def _message(web: str, sim, openid: str, text: str, msg_id: int, budget: float) -> str:
    """'answered', 'late' (past the reply budget), or what went wrong."""
    import requests

    params, body = sim.request(sim_text(openid, text, msg_id))
    sent = time.monotonic()
    try:
        resp = requests.post(f"{web}/wechat", params=params, data=body, timeout=30)
    except requests.RequestException as exc:
        return f"error {type(exc).__name__}"
    took = time.monotonic() - sent
    if resp.status_code != 200:
        return f"HTTP {resp.status_code}"
    if not (sim.reply_text(resp.content) or ""):
        return "no reply"
    return "late" if took >= budget else "answered"


def sim_text(openid, text, msg_id):
    from bot.wechat.simulator import text_xml

    return text_xml(openid, text, msg_id=msg_id)


def logins_and_sessions(web: str, console: str, n: int, budget: float) -> Counter:
    """~n login and session attempts: guessing the admin's password from one address; a flood of logins from
    30 addresses while a resident sends messages; forged, stale and logged-out session cookies."""
    import secrets
    import threading

    from bot.wechat.simulator import WeChatSimulator

    seen = Counter()
    s, token = _session(console, "127.0.0.2")  # one address guessing the admin's password
    for i in range(n // 5):
        code = s.post(f"{console}/admin/login", data={"name": "admin-bench", "password": f"guess-{i}",
                                                      "csrf_token": token}, allow_redirects=False, timeout=60).status_code
        seen[f"guess from one address: HTTP {code}"] += 1
        if code == 302:
            seen["LEAKED: a guessed password signed in"] += 1
    real, token = _session(console)  # the admin, at the address they use, is not locked out by it
    ok = real.post(f"{console}/admin/login", data={"name": "admin-bench", "password": PASSWORD, "csrf_token": token},
                   allow_redirects=False, timeout=60).status_code
    seen["the real admin at their own address: " + ("signed in" if ok == 302 else f"REFUSED ({ok})")] += 1

    flood = n // 2
    results, lock = [], threading.Lock()
    sim = WeChatSimulator("testtoken")

    def attacker(k: int):
        sess, tok = _session(console, f"127.0.1.{k % 30 + 2}")
        for j in range(flood // 30):
            try:
                code = sess.post(f"{console}/admin/login", data={"name": f"nobody{k}x{j}", "password": "x" * 12,
                                                                "csrf_token": tok}, timeout=120).status_code
            except Exception as exc:  # noqa: BLE001
                code = type(exc).__name__
            with lock:
                results.append(f"login flood: HTTP {code}")

    messages: list[str] = []
    threads = [threading.Thread(target=attacker, args=(k,)) for k in range(30)]
    for t in threads:
        t.start()
    i = 0
    while any(t.is_alive() for t in threads):
        messages.append(_message(web, sim, f"o_bench_{i % 5}", "帮助", 5_000_000 + i, budget))
        i += 1
    for t in threads:
        t.join()
    seen.update(results)
    seen.update(f"message during the flood: {m}" for m in messages)

    for i in range(n - n // 5 - 1 - flood):  # cookies: made up, copied before 退出, tampered with
        kind = ("made-up session cookie", "cookie copied before logout", "tampered cookie")[i % 3]
        jar = __import__("requests").Session()
        jar.trust_env = False
        if kind == "made-up session cookie":
            jar.cookies.set("session", secrets.token_urlsafe(40))
        else:
            sess, tok = _session(console)
            sess.post(f"{console}/admin/login", data={"name": "admin-bench", "password": PASSWORD, "csrf_token": tok},
                      allow_redirects=False, timeout=60)
            cookie = sess.cookies.get("session") or ""
            if kind == "cookie copied before logout":
                out_token = __import__("re").search(r'name="csrf_token" value="([^"]+)"',
                                                    sess.get(f"{console}/admin/", timeout=60).text).group(1)
                sess.post(f"{console}/admin/logout", data={"csrf_token": out_token}, timeout=60)
            else:
                cookie = cookie[:-3] + ("AAA" if not cookie.endswith("AAA") else "BBB")
            jar.cookies.set("session", cookie)
        code = jar.get(f"{console}/admin/staff/", allow_redirects=False, timeout=60).status_code
        seen[f"{kind}: " + ("LEAKED (page opened)" if code == 200 else "refused")] += 1
    return seen


XSS = '<script>alert("x{i}")</script>"\'><img src=x onerror=alert({i})>'


def xss_fields(console: str) -> Counter:
    """A payload in every text field of the new-event and new-posting forms (the page answered and the list
    pages read back): a payload that comes back unescaped is a leak."""
    import re

    from domain import clock

    seen = Counter()
    s, token = _session(console)
    s.post(f"{console}/admin/login", data={"name": "admin-bench", "password": PASSWORD, "csrf_token": token},
           allow_redirects=False, timeout=60)
    start = clock.local(time.time() + 5 * 86400).strftime("%Y-%m-%dT09:00")
    forms = [("/admin/events/new", "/admin/events/",
              {"title": "敬老服务", "place": "养老院", "start": start, "end_time": "11:30", "capacity": "5"}),
             ("/admin/jobs/new", "/admin/jobs/",
              {"employer": "顺达物流", "title": "货车司机", "category": "物流司机", "place": "物流园", "headcount": "2",
               "contact": "王经理 0724-0000001", "description": "长期稳定。"})]
    i = 0
    for path, listing, base in forms:
        form = s.get(console + path, timeout=60).text
        fields = sorted(set(re.findall(r'<input[^>]*type="text"[^>]*name="([^"]+)"', form)
                            + re.findall(r'<input[^>]*name="([^"]+)"[^>]*type="text"', form)
                            + re.findall(r'<textarea[^>]*name="([^"]+)"', form)))
        for name in fields:
            i += 1
            token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(console + path, timeout=60).text).group(1)
            payload = XSS.format(i=i)[:58]
            resp = s.post(console + path, data={**base, name: payload, "csrf_token": token}, timeout=60)
            pages = resp.text + s.get(console + listing, timeout=60).text
            leaked = "<script>alert" in pages or "<img src=x" in pages
            stored = "&lt;script&gt;" in pages or "&lt;img" in pages or "&#34;" in pages
            seen[f"{path} field {name}: " + ("LEAKED (unescaped)" if leaked else "shown as text" if stored
                                             else f"refused or not shown (HTTP {resp.status_code})")] += 1
            if resp.status_code >= 500:
                seen[f"{path} field {name}: SERVER ERROR {resp.status_code}"] += 1
    return seen


def hostile_uploads(console: str, url: str) -> Counter:
    """Zip bomb, YAML alias bomb, odd names, a file past the limit: each refused in words, the store unchanged."""
    import io
    import re
    import zipfile

    seen = Counter()
    s, token = _session(console)
    s.post(f"{console}/admin/login", data={"name": "admin-bench", "password": PASSWORD, "csrf_token": token},
           allow_redirects=False, timeout=60)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b" " * (80 * 1024 * 1024))
    laughs = ("a: &a [\"哈哈哈哈哈哈哈哈\", \"哈哈哈哈哈哈哈哈\"]\n"
              + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))
              + "postings: []\n")
    files = [("zip bomb", "/admin/jobs/upload", "炸弹.xlsx", bomb.getvalue()),
             ("zip bomb", "/admin/events/upload", "炸弹.xlsx", bomb.getvalue()),
             ("YAML aliases", "/admin/jobs/upload", "岗位.yaml", laughs.encode()),
             ("name ..", "/admin/jobs/upload", "..", b"postings: []\n"),
             ("name with NUL", "/admin/jobs/upload", "a\0b.yaml", b"postings: []\n"),
             ("300-character name", "/admin/jobs/upload", "长" * 300 + ".yaml", b"postings: []\n"),
             ("past 10 MB", "/admin/jobs/upload", "大.xlsx", b"\0" * (11 * 1024 * 1024)),
             ("not a workbook", "/admin/events/upload", "活动.xlsx", b"PK\3\4 not really"),
             ("quiz id a/b", "/admin/quizzes/upload", "题库.yaml",
              "id: a/b\ntitle: x\nopens: today 09:00\ncloses: today+3 09:00\nquestions: []\n".encode())]
    r = sa.raw_client(url)
    for kind, path, name, data in files:
        before = {k: v for k, v in sa.fingerprint(r).items() if not k.startswith((b"yb:audit", b"yb:{staff}"))}
        page = path.rsplit("/", 1)[0] + "/"
        token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(console + page, timeout=60).text).group(1)
        field = "bank" if "quizzes" in path else "sheet"
        resp = s.post(console + path, data={"csrf_token": token}, files={field: (name, data)}, timeout=120)
        after = {k: v for k, v in sa.fingerprint(r).items() if not k.startswith((b"yb:audit", b"yb:{staff}"))}
        outcome = ("SERVER ERROR" if resp.status_code >= 500 else
                   "refused, store unchanged" if resp.status_code >= 400 and after == before else
                   "refused, STORE CHANGED" if resp.status_code >= 400 else f"accepted (HTTP {resp.status_code})")
        seen[f"{kind} to {path}: {outcome}"] += 1
    return seen


def mixed_load(web: str, console: str, ways: int, budget: float) -> Counter:
    """`ways` requests at once: three in four WeChat messages, the rest console pages of a signed-in admin."""
    import threading

    from bot.wechat.simulator import WeChatSimulator

    sim = WeChatSimulator("testtoken")
    s, token = _session(console)
    s.post(f"{console}/admin/login", data={"name": "admin-bench", "password": PASSWORD, "csrf_token": token},
           allow_redirects=False, timeout=60)
    cookie = s.cookies.get("session")
    results, lock, go = [], threading.Lock(), threading.Event()

    def one(i: int):
        import requests

        go.wait()
        if i % 4:
            outcome = "message: " + _message(web, sim, f"o_mix_{i}", ("帮助", "志愿", "岗位")[i % 3], 6_000_000 + i,
                                             budget)
        else:
            try:
                resp = requests.get(f"{console}/admin/events/", cookies={"session": cookie}, timeout=120)
                outcome = f"console page: HTTP {resp.status_code}"
            except requests.RequestException as exc:
                outcome = f"console page: {type(exc).__name__}"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(ways)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(600)
    return Counter(results)


PASSWORD = "bench-river-lantern-19"


def console_runs(url: str, work: Path, data_dir: Path, args) -> Counter:
    from bot.config import Settings
    from domain.staff import Staff
    from tests.helpers import free_port

    live = storage.connect(url, data_dir)
    staff = Staff(live)
    staff.change_password("admin-bench", staff.create("admin-bench", "admin"), PASSWORD)
    budget = Settings().reply_budget
    web_port, console_port = free_port(), free_port()
    web = _serve(url, data_dir, web_port, work / "web.log")
    con = _serve(url, data_dir, console_port, work / "console.log", role="console", nice=10)
    seen = Counter()
    try:
        base_web, base_console = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{console_port}"
        print("logins and sessions:")
        part = logins_and_sessions(base_web, base_console, args.logins, budget)
        seen.update(part)
        print("XSS in the event and posting forms' text fields:")
        part2 = xss_fields(base_console)
        seen.update(part2)
        print("hostile uploads:")
        part3 = hostile_uploads(base_console, url)
        seen.update(part3)
        print(f"{args.ways}-way mixed load:")
        part4 = mixed_load(base_web, base_console, args.ways, budget)
        seen.update(part4)
        for what, n in sorted(seen.items()):
            print(f"  {what}: x{n}")
    finally:
        _stop_group(con)
        _stop_group(web)
        live.close()
    return seen


def _stop_group(proc) -> None:
    """The process group stopped as the tests stop theirs (tests.helpers.stop): SIGTERM, then SIGKILL."""
    import signal

    from tests.helpers import stop

    try:
        stop(proc, timeout=60)
    except Exception:  # noqa: BLE001  (it did not stop in time)
        stop(proc, signal.SIGKILL)


def console_lost(seen: Counter) -> int:
    """What was lost or leaked: a leak, a server error, a refused upload that changed the store, a message late
    or unanswered, a real admin locked out."""
    bad = ("LEAKED", "SERVER ERROR", "STORE CHANGED", "REFUSED", "HTTP 5", "error ", "no reply")
    return sum(n for what, n in seen.items()
               if any(b in what for b in bad) or what.endswith(": late") or "message" in what and "HTTP" in what)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=30000, help="keys in the backup restored over the live store")
    ap.add_argument("--kills", type=int, default=8, help="kills per kind (restore, backup, upload)")
    ap.add_argument("--damaged", type=int, default=12, help="damaged archives to restore")
    ap.add_argument("--rows", type=int, default=600, help="events in the uploaded sheet")
    ap.add_argument("--seconds", type=float, default=120, help="time limit per part")
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--logins", type=int, default=250, help="login and session attempts on the console")
    ap.add_argument("--ways", type=int, default=350, help="requests at once in the mixed load (console + webhook)")
    ap.add_argument("--parts", default="store,console", help="which parts to run: store, console or both")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="youthbot-attack-"))
    data_dir = work / "data"
    own = not os.environ.get("REDIS_URL")
    url = os.environ.get("REDIS_URL") or f"unix://{storage.embedded_socket(data_dir)}"
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    try:
        r = sa.raw_client(url)
        r.flushdb()
        if "console" in args.parts:
            print("the console under attack:")
            console = console_runs(url, work, data_dir, args)
            print(f"  console: lost, leaked or late: {console_lost(console)}")
            args.console_lost = console_lost(console)
            r.flushdb()
        if "store" not in args.parts:
            return
        sa.fill(r, "new", args.keys)
        after = sa.fingerprint(r)
        archive = bk.backup(url, work / "new.tar.gz", None, work_root=data_dir / "tmp").path
        r.flushdb()
        old_keys = args.keys * 2 // 3
        sa.fill(r, "old", old_keys)
        before = sa.fingerprint(r)
        print(f"store: {len(before)} keys live, a backup of {len(after)} keys ({archive.stat().st_size // 1024} KB)")

        print("damaged archives:")
        damaged = damaged_archives(url, archive, work, args.damaged, rng, before,
                                   time.monotonic() + args.seconds)
        print("restores killed:")
        restores = restore_kills(url, archive, work, args.kills, rng, old_keys, before, after,
                                 time.monotonic() + args.seconds)
        print("backups killed:")
        backups = backup_kills(url, work, data_dir, args.kills, rng, time.monotonic() + args.seconds)
        print("uploads killed:")
        r.flushdb()
        uploads = upload_kills(url, work, data_dir, args.rows, args.kills, rng, time.monotonic() + args.seconds)

        print("\nsummary")
        for (kind, outcome), n in sorted(damaged.items()):
            print(f"  damaged archive, {kind}: {outcome} x{n}")
        print(f"  restores killed: {dict(restores)}")
        print(f"  backups killed: {dict(backups)}")
        print(f"  uploads killed: {dict(uploads)}")
        lost = (sum(n for (_, o), n in damaged.items() if o != "refused, store intact")
                + sum(n for s, n in restores.items() if s.startswith("MIXED"))
                + sum(n for s, n in uploads.items() if s.startswith("MIXED"))
                + backups.get("left behind after the next backup", 0)
                + backups.get("snapshot left in the system's temp folder", 0))
        print(f"  lost or left behind: {lost}")
        if getattr(args, "console_lost", None) is not None:
            print(f"  console: lost, leaked or late: {args.console_lost}")
    finally:
        if own:
            storage.stop_embedded(data_dir)


if __name__ == "__main__":
    main()
