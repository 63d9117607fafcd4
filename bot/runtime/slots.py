"""A few slots shared by every process that uses one DATA_DIR (the webhook's and the console's gunicorn
workers alike): taken without waiting, given back when the holder ends, even by kill -9.

Each slot is a file in DATA_DIR/slots locked with flock: the kernel drops the lock with the process, so a
crashed worker never keeps one. Used to bound the password checks (Argon2, ~0.1–0.3 s of CPU and 64 MiB
each) that run at the same time on the machine.
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def slot(data_dir: Path, name: str, count: int):
    """Yields True holding one of `count` slots named `name`, or False at once when all are taken."""
    folder = Path(data_dir) / "slots"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for i in range(max(1, count)):
        fd = os.open(folder / f"{name}-{i}", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield True
        finally:
            os.close(fd)  # closing the only descriptor drops the lock
        return
    yield False
