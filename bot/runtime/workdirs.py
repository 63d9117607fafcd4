"""Private working folders: where backups, restores and uploads write files that hold personal data.

In a folder of the process inside DATA_DIR/tmp (0700), never in the system's /tmp, and a
folder whose process is gone (killed with SIGKILL half way) is removed by the next backup,
upload or start (clean_leftovers).
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

WORK = "tmp"  # below DATA_DIR


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(work_root: Path) -> list[Path]:
    """Remove the working folders of processes that are gone."""
    removed = []
    work_root = Path(work_root)
    if not work_root.is_dir():
        return removed
    for p in work_root.iterdir():
        m = re.fullmatch(r"(?:backup|restore|upload)-(\d+)-.*", p.name)
        if m and not _pid_alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def clean_partials(folder: Path) -> None:
    """Remove archives a killed backup left half written (NAME.<pid>.partial)."""
    for p in Path(folder).glob("*.partial"):
        m = re.search(r"\.(\d+)\.partial$", p.name)
        if m and not _pid_alive(int(m.group(1))):
            p.unlink(missing_ok=True)


def work_folder(work_root: Path | None, kind: str) -> tempfile.TemporaryDirectory:
    """A private folder for this process's backup files: in work_root (DATA_DIR/tmp) when given."""
    if work_root is None:
        return tempfile.TemporaryDirectory(prefix=f"youthbot-{kind}-")
    work_root = Path(work_root)
    work_root.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(work_root, 0o700)
    clean_leftovers(work_root)
    return tempfile.TemporaryDirectory(prefix=f"{kind}-{os.getpid()}-", dir=work_root)
