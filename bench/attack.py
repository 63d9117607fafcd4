"""The store under attack (issue 19, part A), repeated: damaged backups, and restores, backups and console
uploads killed with SIGKILL at random moments. Prints what was refused and what was lost.

Not a CI test (tests/test_attacks_store.py runs one of each). Everything runs on this machine: an embedded
Redis in a fresh temporary DATA_DIR (or REDIS_URL), the console on 127.0.0.1. Bounded by counts and by
--seconds per part.

    python bench/attack.py [--keys 30000] [--kills 8] [--damaged 12] [--rows 600] [--seconds 120] [--seed 19]
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=30000, help="keys in the backup restored over the live store")
    ap.add_argument("--kills", type=int, default=8, help="kills per kind (restore, backup, upload)")
    ap.add_argument("--damaged", type=int, default=12, help="damaged archives to restore")
    ap.add_argument("--rows", type=int, default=600, help="events in the uploaded sheet")
    ap.add_argument("--seconds", type=float, default=120, help="time limit per part")
    ap.add_argument("--seed", type=int, default=19)
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
    finally:
        if own:
            storage.stop_embedded(data_dir)


if __name__ == "__main__":
    main()
