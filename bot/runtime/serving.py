"""What happens once, in the serving master, before workers are forked; and its watchdog.

The master owns the embedded Redis: it starts it, restarts it within a second
when its process dies (workers reconnect by themselves: the socket path never
changes), and stops it on exit. Commands run meanwhile (CLI, scheduler) use
the same server and never start a second one (bot/runtime/storage.py).
"""
from __future__ import annotations

import logging
import os
import threading

from bot.runtime import storage
from bot.config import Settings

log = logging.getLogger(__name__)

WATCH_EVERY = 0.5  # seconds between two looks at the embedded server
_served: dict[str, object] = {}  # the data dir whose server this master owns


def resolve_redis_url() -> Settings:
    """Without REDIS_URL, find the embedded Redis (a command's own one when no service runs)
    and export its socket as REDIS_URL."""
    settings = Settings.from_env()
    if not settings.redis_url:
        socket = storage.attach_embedded(settings.data_dir)
        os.environ["REDIS_URL"] = f"unix://{socket}"
        settings = Settings.from_env()
    return settings


def prepare_master() -> Settings:
    """Start the embedded Redis if REDIS_URL is unset (and watch it), export its socket, load demo content."""
    settings = Settings.from_env()
    if not settings.redis_url:
        storage.hold_service_lock(settings.data_dir)
        socket = storage.embedded_socket(settings.data_dir)
        os.environ["REDIS_URL"] = f"unix://{socket}"
        _served["data_dir"] = settings.data_dir
        _served["watchdog"] = start_watchdog(settings.data_dir)
        settings = Settings.from_env()
    if settings.demo_mode:
        from bot import importers as content
        from bot.runtime.services import build_bot

        content.load_demo_if_empty(build_bot(settings))
    return settings


def start_watchdog(data_dir, stop: threading.Event | None = None) -> threading.Thread:
    """Restart the embedded server whenever its process is gone, until stop is set."""
    stop = stop or threading.Event()

    def watch():
        while not stop.wait(WATCH_EVERY):
            try:
                if storage.ensure_embedded(data_dir):
                    log.warning("embedded redis was down and has been restarted: data_dir=%s", data_dir)
            except Exception as exc:  # noqa: BLE001 - keep watching; say why once per try
                log.warning("could not restart the embedded redis: %s: %s", type(exc).__name__, exc)

    thread = threading.Thread(target=watch, name="redis-watchdog", daemon=True)
    thread.stop = stop
    thread.start()
    return thread


def stop_master() -> None:
    """On the master's exit: stop the embedded server unless another service still uses it."""
    data_dir = _served.pop("data_dir", None)
    if data_dir is None:
        return
    watchdog = _served.pop("watchdog", None)
    if watchdog is not None:  # first, or it would start the server again as soon as it stops
        watchdog.stop.set()
        watchdog.join(5)
    storage.release_service_lock(data_dir)
    if not storage.service_running(data_dir):
        storage.stop_embedded(data_dir)


def control_socket_path(data_dir, tag: str) -> str:
    """Gunicorn's control socket for one instance (DATA_DIR and bind address), not the
    per-user default that two instances on one machine would both take."""
    import hashlib
    import tempfile
    from pathlib import Path

    safe = "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in tag)
    path = Path(data_dir).resolve() / f"gunicorn-{safe}.ctl"
    if len(str(path)) < 100:
        return str(path)
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:16]
    return str(Path(tempfile.gettempdir()) / f"youthbot-{os.getuid()}-{digest}.ctl")
