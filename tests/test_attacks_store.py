"""The store under attack (issue 19): damaged backups are refused before anything changes, and a
restore or a backup killed with SIGKILL at any moment leaves the store wholly before or wholly after.

Restores and backups run as `python -m bot.cli ...` in real processes against the test's Redis.
"""
from __future__ import annotations

import io
import json
import random
import time
from pathlib import Path

import pytest

from bot.ops import backup as bk
from tests import store_attacks as sa

OLD, NEW = 6000, 9000  # keys in the live store, and in the backup restored over it


@pytest.fixture(scope="module")
def new_store_backup(redis_url, tmp_path_factory):
    """A backup of a 'new' store (NEW keys), made once for the module (tests only read it), and its fingerprint."""
    folder = tmp_path_factory.mktemp("new-store")
    r = sa.raw_client(redis_url)
    r.flushdb()
    sa.fill(r, "new", NEW)
    after = sa.fingerprint(r)
    archive = bk.backup(redis_url, folder / "new.tar.gz", None, work_root=folder / "data" / "tmp").path
    r.flushdb()
    r.close()
    return archive, after


@pytest.fixture
def stores(redis_client, redis_url, new_store_backup):
    """A backup of a 'new' store (NEW keys), and the live store holding the 'old' one (OLD keys);
    yields (archive, fingerprint before, fingerprint after)."""
    r = sa.raw_client(redis_url)
    staging = sa.raw_client(redis_url, db=15)
    staging.flushdb()
    archive, after = new_store_backup
    sa.fill(r, "old", OLD)
    before = sa.fingerprint(r)
    try:
        yield archive, before, after
    finally:
        staging.flushdb()
        r.close()
        staging.close()


def _restore_cli(cli, archive):
    code, out = cli("restore", str(archive), "--force")
    assert "Traceback" not in out and out.strip() != "Aborted!", out
    return code, out


@pytest.mark.parametrize("damage, says", [
    (lambda a, o: sa.truncated(a, o, 0.5), "cut short"),
    (lambda a, o: sa.truncated(a, o, 0.97), "cut short"),
    (lambda a, o: sa.with_store(a, o, sa.bad_json_line, fix_checksum=False), "is not a well-formed key record"),
    (lambda a, o: sa.with_store(a, o, sa.bad_json_line, fix_checksum=True), "is not a well-formed key record"),
    (lambda a, o: sa.with_store(a, o, sa.flipped_value, fix_checksum=False), "does not match its checksum"),
    (lambda a, o: sa.with_store(a, o, lambda lines: lines[:len(lines) // 2], fix_checksum=False), "manifest says"),
    (lambda a, o: sa.gzip_garbage(o), "not a youthbot backup"),
], ids=["truncated-half", "truncated-tail", "bad-line", "bad-line-checksum-forged", "wrong-checksum",
        "lost-half-lines", "not-a-tar"])
def test_a_damaged_backup_is_refused_and_the_store_is_untouched(stores, cli, redis_url, tmp_path, damage, says):
    archive, before, _ = stores
    damaged = damage(archive, tmp_path / "damaged.tar.gz")
    code, out = _restore_cli(cli, damaged)
    assert code != 0 and says in out and "nothing was changed" in out, out
    assert sa.fingerprint(sa.raw_client(redis_url)) == before
    assert sa.raw_client(redis_url, db=15).dbsize() == 0


def test_a_payload_redis_rejects_leaves_the_store_untouched(stores, cli, redis_url, tmp_path):
    """A record that is well-formed and matches a forged checksum, but whose DUMP payload is damaged:
    Redis refuses it in the staging database, before the switch."""
    archive, before, _ = stores
    damaged = sa.with_store(archive, tmp_path / "forged.tar.gz", sa.bad_payload, fix_checksum=True)
    code, out = _restore_cli(cli, damaged)
    assert code != 0 and "refused a key" in out and "nothing was changed" in out, out
    assert sa.fingerprint(sa.raw_client(redis_url)) == before
    assert sa.raw_client(redis_url, db=15).dbsize() == 0


def test_a_good_restore_replaces_the_store_whole_and_leaves_no_staging(stores, cli, redis_url):
    archive, _, after = stores
    code, out = _restore_cli(cli, archive)
    assert code == 0, out
    assert sa.which_state(sa.fingerprint(sa.raw_client(redis_url)), {}, after) == "after"
    deadline = time.monotonic() + 30  # the old keys are freed in the background (FLUSHDB ASYNC)
    while sa.raw_client(redis_url, db=15).dbsize() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sa.raw_client(redis_url, db=15).dbsize() == 0


def test_a_staging_database_holding_something_else_is_not_touched(stores, cli, redis_url):
    archive, before, _ = stores
    other = sa.raw_client(redis_url, db=15)
    other.set("someone-elses-key", "1")
    code, out = _restore_cli(cli, archive)
    assert code != 0 and "--staging-db" in out, out
    assert other.get("someone-elses-key") == b"1"
    assert sa.fingerprint(sa.raw_client(redis_url)) == before


@pytest.mark.slow  # starts youthbot processes and kills them
def test_restore_killed_at_any_moment_leaves_the_old_store_or_the_new_one(stores, redis_url, tmp_path):
    archive, before, after = stores
    live, staging = sa.raw_client(redis_url), sa.raw_client(redis_url, db=15)
    # How long an undisturbed restore takes here (then the old store is put back).
    started = time.monotonic()
    proc = sa.command(redis_url, "restore", str(archive), "--force", log=tmp_path / "restore.log")
    assert proc.wait(300) == 0, (tmp_path / "restore.log").read_text()
    took = time.monotonic() - started
    assert sa.which_state(sa.fingerprint(live), before, after) == "after"

    seen = []
    rng = random.Random(19)
    # Killed while the keys are being staged (the moment is observed, not guessed), then at random moments.
    moments = [("staging", None)] + [("random", rng.uniform(0.05, 1.0) * took) for _ in range(4)]
    for kind, delay in moments:
        live.flushdb()
        sa.fill(live, "old", OLD)
        assert sa.fingerprint(live) == before
        proc = sa.command(redis_url, "restore", str(archive), "--force", log=tmp_path / "restore.log")
        if kind == "staging":
            sa.kill_after(proc, 0, until=lambda: staging.dbsize() > NEW // 3)
        else:
            sa.kill_after(proc, delay)
        state = sa.which_state(sa.fingerprint(live), before, after)
        seen.append((kind, round(delay or 0, 2), state))
        assert state in ("before", "after"), seen
    assert seen[0][2] == "before"  # killed mid-staging: the live store was never touched
    # What an interrupted restore left in the staging database goes with the next restore.
    proc = sa.command(redis_url, "restore", str(archive), "--force", log=tmp_path / "restore.log")
    assert proc.wait(300) == 0
    assert sa.which_state(sa.fingerprint(live), before, after) == "after"
    print("restore kills:", seen, f"(an undisturbed restore took {took:.2f} s)")


@pytest.mark.slow  # starts youthbot processes and kills them
def test_backup_killed_leaves_no_snapshot_behind_and_the_next_one_cleans_up(redis_client, redis_url, tmp_path):
    """The snapshot of a killed backup (every name and phone) is neither left in the system's /tmp nor kept."""
    import tempfile
    from pathlib import Path

    r = sa.raw_client(redis_url)
    sa.fill(r, "bk", 20000)
    data_dir = tmp_path / "data"
    work = data_dir / "tmp"
    system_tmp = Path(tempfile.gettempdir())
    before_tmp = set(system_tmp.glob("youthbot-backup-*"))
    out = tmp_path / "out" / "b.tar.gz"
    proc = sa.command(redis_url, "backup", "--out", str(out), "--no-content", data_dir=data_dir,
                      log=tmp_path / "backup.log")
    killed = sa.kill_after(proc, 0, until=lambda: any(work.glob("backup-*/rdb/*.rdb")))
    assert killed, (tmp_path / "backup.log").read_text()
    assert set(system_tmp.glob("youthbot-backup-*")) == before_tmp  # nothing in /tmp
    assert oct(work.stat().st_mode & 0o777) == "0o700"
    deadline = time.monotonic() + 10  # the scratch server dies with the backup (PR_SET_PDEATHSIG)
    while _scratch_servers(work) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _scratch_servers(work)
    proc = sa.command(redis_url, "backup", "--out", str(out), "--no-content", data_dir=data_dir,
                      log=tmp_path / "backup.log")
    assert proc.wait(300) == 0, (tmp_path / "backup.log").read_text()
    assert list(work.iterdir()) == []  # the killed one's folder was removed, the new one's too
    assert [p.name for p in out.parent.iterdir()] == ["b.tar.gz"]
    assert bk.check_archive(out).keys == r.dbsize()


def _scratch_servers(work) -> list[int]:
    from pathlib import Path

    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if (b"redis-server" in cmd or b"valkey-server" in cmd) and str(work).encode() in cmd:
                found.append(int(proc.name))
    return found


# -- a worker killed mid-upload -------------------------------------------------------------------
ROWS = 600


def _events_state(r, organiser: str) -> tuple[int, int]:
    """(events of the sheet in the store, of them assigned to the organiser)."""
    from domain.events import INDEX
    from domain.staff import Staff

    ids = {m for m in r.zrange(INDEX, 0, -1) if m.startswith("kill-")}
    owned = {e for e in Staff(r).events_run_by(organiser) if e.startswith("kill-")}
    return len(ids), len(owned)


@pytest.mark.slow  # starts youthbot processes and kills them
def test_a_worker_killed_mid_upload_leaves_the_sheet_wholly_unsaved_or_wholly_saved(redis_client, redis_url,
                                                                                       tmp_path):
    """An organiser uploads a sheet of ROWS events to the console running in its own process, which is killed
    with SIGKILL: while the sheet is being saved (observed), then at moments spread over an undisturbed upload's
    time. Each time the store holds none of the sheet (and nothing else changed) or all of it, every event
    assigned to the organiser; the copy of the sheet the worker wrote is gone once a worker starts again."""
    from tests.helpers import STAFF_PASSWORD, free_port, staff_account

    staff_account(redis_client, "org-kill", "organiser")
    data_dir = tmp_path / "data"
    stage = sa.raw_client(redis_url, db=14)

    def serve_and_upload(path, kill=None):
        """(killed, HTTP result, seconds, fingerprint before the upload)"""
        port = free_port()
        server = sa.console_server(redis_url, data_dir, port, tmp_path / "console.log")
        try:
            base = f"http://127.0.0.1:{port}"
            session = sa.console_login(base, "org-kill", STAFF_PASSWORD)
            token = sa.csrf_of(session, f"{base}/admin/events/")
            before = sa.fingerprint(sa.raw_client(redis_url))
            started = time.monotonic()
            thread, result = sa.upload_in_thread(session, f"{base}/admin/events/upload", token, path)
            if kill is None:
                thread.join(300)
                killed = False
            elif kill == "mid-staging":
                killed = sa.kill_after(server, 0, until=lambda: stage.dbsize() > ROWS // 3
                                       or _events_state(redis_client, "org-kill")[0] > 0)
            else:
                killed = sa.kill_after(server, kill)
            thread.join(60)
            return killed, result, time.monotonic() - started, before
        finally:
            sa.stop(server)

    # An undisturbed upload of another sheet of the same size: how long one takes here.
    killed, result, took, _ = serve_and_upload(sa.events_sheet(tmp_path / "warm.xlsx", ROWS, tag="warm"))
    assert result == [200], result
    path = sa.events_sheet(tmp_path / "活动表.xlsx", ROWS)
    rng = random.Random(5)
    outcomes = []
    for kill in ["mid-staging"] + [rng.uniform(0.1, 1.0) * took for _ in range(3)] + [None]:
        killed, result, _, before = serve_and_upload(path, kill)
        if killed:  # a worker starting again cleans up what the killed one left: its lock, its staging copies
            sa.stop(sa.console_server(redis_url, data_dir, free_port(), tmp_path / "console.log"))
            assert stage.dbsize() == 0
            assert not list((data_dir / "tmp").glob("upload-*")), list((data_dir / "tmp").iterdir())
        n_events, n_owned = _events_state(redis_client, "org-kill")
        if n_events == 0:
            # the console's own records move with every request (logins, sessions, the audit log of actions)
            console_own = (b"yb:audit", b"yb:{staff}:")
            now, then = ({k: v for k, v in fp.items() if not k.startswith(console_own)}
                         for fp in (sa.fingerprint(sa.raw_client(redis_url)), before))
            state = "before" if now == then else f"MIXED: other keys changed: {sorted(k for k in set(now) | set(then) if now.get(k) != then.get(k))[:5]}"
        elif n_events == ROWS and n_owned == ROWS:
            state = "after"
        else:
            state = f"MIXED: {n_events} of {ROWS} events saved, {n_owned} assigned to the uploader"
        outcomes.append((kill if isinstance(kill, str) or kill is None else round(kill, 2), killed, result, state))
        assert state in ("before", "after"), outcomes
        if kill == "mid-staging":
            assert state == "before", outcomes
        if state == "after":
            break
    assert outcomes[-1][3] == "after"
    print(f"upload kills ({ROWS} events, an undisturbed upload took {took:.1f} s):", outcomes)


def _loaded(r, tag: str) -> int:
    from domain.events import INDEX

    return sum(1 for m in r.zrange(INDEX, 0, -1) if m.startswith(f"{tag}-"))


@pytest.mark.slow  # starts `youthbot content load` processes and kills them, ~10 s
def test_content_load_killed_at_any_moment_leaves_the_store_wholly_before_or_after(redis_client, redis_url, tmp_path):
    """`youthbot content load DIR` (an events sheet of ROWS events) killed with SIGKILL: while it stages (observed),
    then at moments spread over an undisturbed load's time. Each time the store holds none of the folder (and
    nothing else changed) or all of it; the next load cleans up what the killed one left."""
    stage = sa.raw_client(redis_url, db=14)
    data_dir = tmp_path / "data"

    def folder(tag: str) -> Path:
        path = tmp_path / f"content-{tag}"
        (path / "events").mkdir(parents=True)
        sa.events_sheet(path / "events" / "活动.xlsx", ROWS, tag=tag)
        return path

    def load(path: Path, kill=None):
        before = sa.fingerprint(sa.raw_client(redis_url))
        started = time.monotonic()
        proc = sa.command(redis_url, "content", "load", str(path), data_dir=data_dir, log=tmp_path / "load.log")
        if kill is None:
            assert proc.wait(300) == 0, (tmp_path / "load.log").read_text(errors="replace")[-2000:]
            killed = False
        elif kill == "mid-staging":
            killed = sa.kill_after(proc, 0, until=lambda: stage.dbsize() > ROWS // 3 or _loaded(redis_client, "load"))
        else:
            killed = sa.kill_after(proc, kill)
        return killed, time.monotonic() - started, before

    killed, took, _ = load(folder("warm"))  # an undisturbed load of another folder of the same size
    assert _loaded(redis_client, "warm") == ROWS
    path = folder("load")
    rng = random.Random(7)
    outcomes = []
    for kill in ["mid-staging"] + [rng.uniform(0.1, 1.0) * took for _ in range(3)] + [None]:
        killed, _, before = load(path, kill)
        n = _loaded(redis_client, "load")
        if n == 0:
            # the audit log moves with every command; a killed load's lock stays until the next run drops it
            # (its process is gone)
            now, then = ({k: v for k, v in fp.items() if not k.startswith((b"yb:audit", b"yb:staged:lock"))}
                         for fp in (sa.fingerprint(sa.raw_client(redis_url)), before))
            state = "before" if now == then else \
                f"MIXED: other keys changed: {sorted(k for k in set(now) | set(then) if now.get(k) != then.get(k))[:5]}"
        elif n == ROWS:
            state = "after"
        else:
            state = f"MIXED: {n} of {ROWS} events saved"
        outcomes.append((kill if isinstance(kill, str) or kill is None else round(kill, 2), killed, state))
        assert state in ("before", "after"), outcomes
        if kill == "mid-staging":
            assert killed and state == "before", outcomes
        if state == "after":
            break
    assert outcomes[-1][2] == "after"
    assert stage.dbsize() == 0 and not redis_client.exists("yb:staged:lock")  # the next load cleaned up
    print(f"content load kills ({ROWS} events, an undisturbed load took {took:.1f} s):", outcomes)


# -- deletion is complete: the store, the audit log, the files on disk, later backups ------------------------
def _everything(r) -> bytes:
    """Every key name and value of the store, as bytes, to search for a deleted person."""
    out = []
    for k in r.scan_iter(count=1000):
        out.append(k)
        kind = r.type(k)
        if kind == b"string":
            out.append(r.get(k))
        elif kind == b"hash":
            out.extend(x for kv in r.hgetall(k).items() for x in kv)
        elif kind == b"list":
            out.extend(r.lrange(k, 0, -1))
        elif kind == b"set":
            out.extend(r.smembers(k))
        elif kind == b"zset":
            out.extend(m for m, _ in r.zrange(k, 0, -1, withscores=True))
        elif kind == b"stream":
            out.extend(x for _, fields in r.xrange(k) for kv in fields.items() for x in kv)
    return b"\n".join(x if isinstance(x, bytes) else str(x).encode() for x in out)


def _served(redis, openid: str, name: str, phone: str) -> None:
    """A volunteer with a name and phone who served 2 credited hours at an activity three days ago."""
    from domain.events import Events
    from domain.profiles import Profiles
    from tests.helpers import make_morning_event

    Profiles(redis).save_contact(openid, name, phone)
    events = Events(redis)
    occ = make_morning_event(events, "river", starts_in=-3 * 86400, hours=2)
    events.sign_up(occ, openid)
    events.record_attendance(occ, openid, occ.start, occ.end)


@pytest.mark.slow  # rewrites the AOF and makes a backup, ~13 s
def test_a_deleted_person_is_found_nowhere_not_in_the_audit_log_the_aof_or_a_later_backup(
        console, redis_client, redis_url, wechat, bot, tmp_path):
    from bot.pushes import tasks
    from domain.audit import Audit
    from domain.certificates import RECORDS

    name, phone = "赵铁柱", f"139{random.randrange(10**8):08d}"
    _served(redis_client, "o_zhao_tiezhu", name, phone)
    # An earlier version wrote names into the audit log: one such entry.
    Audit(redis_client).record("admin0", "view", f"人员 {name} 的信息", 1)
    # The admin finds them, opens their record, gives their certificate (all audited).
    assert name in console.page(f"/admin/people/?q={name}")
    console.page("/admin/people/o_zhao_tiezhu")
    console.page("/admin/people/o_zhao_tiezhu/certificate")
    resp = console.post("/admin/people/o_zhao_tiezhu/certificate", token_from="/admin/people/o_zhao_tiezhu/certificate")
    assert resp.status_code == 200
    raw = sa.raw_client(redis_url)
    audit_before = Audit(redis_client).recent(50)
    named = [(e.action, e.what) for e in audit_before if name in e.what or phone in e.what]
    assert named == [("view", f"人员 {name} 的信息")], named  # only the old entry names them

    # 删除我的信息, through signed WeChat messages.
    assert "确认删除" in wechat.send("删除我的信息", "o_zhao_tiezhu")
    wechat.send("确认删除", "o_zhao_tiezhu")

    everything = _everything(raw)
    assert name.encode() not in everything and phone.encode() not in everything
    audit_after = Audit(redis_client).recent(50)
    assert [(e.id, e.action) for e in audit_after] == [(e.id, e.action) for e in audit_before]  # entries kept, in order
    assert any(e.what == "人员 #tiezhu 的信息" for e in audit_after)  # the old entry, now pseudonymous
    certs = [json.loads(v) for v in redis_client.hvals(RECORDS)]  # still checkable, without name or openid
    assert certs and all(c["openid"] == "" and c["name"] == "" and c["rows"] for c in certs)
    assert b"o_zhao_tiezhu" not in b"".join(raw.hvals(RECORDS))

    # The files on disk: the AOF held the phone number until the scheduler's compaction rewrote it.
    folder = Path(redis_client.config_get("dir")["dir"])
    multipart = folder / (redis_client.config_get("appenddirname").get("appenddirname") or "-")  # Redis 7+, Valkey

    def aof_bytes() -> bytes:
        if multipart.is_dir():
            return b"".join(f.read_bytes() for f in sorted(multipart.iterdir()) if f.is_file())
        return (folder / redis_client.config_get("appendfilename")["appendfilename"]).read_bytes()

    assert phone.encode() in aof_bytes()  # the HSET that saved it, before the rewrite
    assert tasks.compact_store(bot, None, time.time()).get("aof") == "rewrite started"
    deadline = time.monotonic() + 60
    while raw.info("persistence")["aof_rewrite_in_progress"] and time.monotonic() < deadline:
        time.sleep(0.05)
    while raw.info("persistence").get("aof_rewrite_scheduled") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert phone.encode() not in aof_bytes() and name.encode() not in aof_bytes()
    assert tasks.compact_store(bot, None, time.time()) == {}  # nothing due until the next deletion

    # A backup made afterwards holds nothing of them (its snapshot, read back by a scratch server).
    archive = bk.backup(redis_url, tmp_path / "after.tar.gz", None, work_root=tmp_path / "work").path
    import tarfile

    with tarfile.open(archive) as tar:
        rdb = tar.extractfile("rdb/node0.rdb").read()
    (tmp_path / "scratch").mkdir()
    (tmp_path / "scratch" / "dump.rdb").write_bytes(rdb)
    with bk.ScratchServer(tmp_path / "scratch" / "dump.rdb") as scratch:
        held = _everything(scratch)
    found = [held[max(0, i - 80):i + 40] for w in (name.encode(), phone.encode()) for i in [held.find(w)] if i >= 0]
    assert not found, found


# -- SIGTERM while handlers run slow: the embedded Redis goes with the service ------------------------------
@pytest.mark.slow  # starts youthbot processes and kills them
@pytest.mark.skipif(bool(__import__("os").environ.get("REDIS_URL")), reason="about `youthbot serve`'s embedded Redis")
def test_sigterm_during_a_slow_handler_stops_the_embedded_redis_too(tmp_path):
    """gunicorn kills a worker still busy past its graceful timeout; the worker's copy of the service lock
    kept the master from stopping the embedded Redis, which then ran on with nobody to stop it."""
    import os
    import signal
    import threading

    from bot.runtime import storage
    from bot.config import PROJECT_DIR
    from bot.wechat.simulator import WeChatSimulator, text_xml
    from tests.helpers import free_port, start_serve, stop

    port = free_port()
    proc = start_serve(tmp_path, port, workers=1, app="tests.slow_app:create_app()", WECHAT_TOKEN="testtoken",
                       REPLY_BUDGET=0.5, SLOW_SECONDS=60, GUNICORN_CMD_ARGS="--graceful-timeout 2",
                       PYTHONPATH=os.pathsep.join([str(PROJECT_DIR), os.environ.get("PYTHONPATH", "")]),
                       log_path=tmp_path / "serve.log")
    redis_pid = storage.server_pid(tmp_path)
    try:
        assert redis_pid is not None
        sim = WeChatSimulator("testtoken")

        def send():
            import requests

            params, body = sim.request(text_xml("o_slow", "慢"))
            requests.post(f"http://127.0.0.1:{port}/wechat", params=params, data=body, timeout=30)

        threading.Thread(target=send, daemon=True).start()
        deadline = time.monotonic() + 30
        while b"reply budget exceeded" not in (tmp_path / "serve.log").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)  # the handler is running, past the reply budget
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(60) == 0
        deadline = time.monotonic() + 15
        while storage.server_pid(tmp_path) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert storage.server_pid(tmp_path) is None, "the embedded Redis outlived the service"
    finally:
        stop(proc, signal.SIGKILL)
        if storage.server_pid(tmp_path) is not None:
            os.kill(storage.server_pid(tmp_path), signal.SIGKILL)


def test_an_upload_never_empties_a_staging_database_that_holds_something_else(console, redis_client, redis_url,
                                                                             tmp_path):
    """The upload staging database (14) of a shared Redis holding another program's keys: the upload is
    refused in the staff's words, nothing is saved, and the other keys stay."""
    from domain.events import INDEX
    other = sa.raw_client(redis_url, db=14)
    other.set("another-programs-key", "1")
    try:
        path = sa.events_sheet(tmp_path / "活动表.xlsx", 3)
        resp = console.post("/admin/events/upload", {"sheet": (io.BytesIO(path.read_bytes()), path.name)},
                            token_from="/admin/events/", content_type="multipart/form-data")
        assert resp.status_code == 400 and "未保存任何内容" in resp.get_data(as_text=True)
        assert other.get("another-programs-key") == b"1"
        assert not [m for m in redis_client.zrange(INDEX, 0, -1) if m.startswith("kill-")]
        create_app_again = __import__("bot.app", fromlist=["create_app"]).create_app
        create_app_again(console.client.application.extensions["youthbot"].settings, redis_client)
        assert other.get("another-programs-key") == b"1"  # nor does a start
    finally:
        other.flushdb()
