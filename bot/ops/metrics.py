"""Prometheus metrics, with the official client in its multi-process mode under gunicorn.

Each process writes its own files under PROMETHEUS_MULTIPROC_DIR, which must be
set before prometheus_client is first imported: bot/runtime/gunicorn_conf.py sets it to
METRICS_DIR/web for the web workers, the scheduler command to
METRICS_DIR/scheduler for itself. /metrics (any web worker) adds both folders
up, so one scrape shows the webhook's and the scheduler's figures (when they
run on the same machine), plus gauges read from Redis at scrape time (the
outbox depth), which are the same whichever machine answers.

Without PROMETHEUS_MULTIPROC_DIR (tests in one process, the CLI) the metrics
live in the process.
"""
from __future__ import annotations

import hmac
import ipaddress
import os
import shutil
import threading
from pathlib import Path

_NAMES = ("MESSAGES", "HANDLING", "RETRIES_DEDUPED", "BUDGET_OVERRUNS", "REDIS_ERRORS", "PUSHES", "JOB_RUNS",
          "JOB_SECONDS", "CONTENT_TYPE")
_made: dict | None = None
_making = threading.Lock()


def __getattr__(name: str):
    """The metrics are made on first use, in the process that uses them: prometheus_client decides
    between in-memory and multi-process values when it is imported, and the CLI imports this module
    long before gunicorn's configuration sets PROMETHEUS_MULTIPROC_DIR for the workers."""
    if name not in _NAMES:
        raise AttributeError(name)
    global _made
    if _made is None:
        with _making:  # sender threads may all get here first at once
            if _made is None:
                _made = _build()
    return _made[name]


def _build() -> dict:
    from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram

    return dict(
        MESSAGES=Counter("youthbot_messages", "Messages handled, by message kind, handler and outcome",
                         ["kind", "handler", "outcome"]),
        HANDLING=Histogram("youthbot_handling_seconds",
                           "Time from receiving a message to its reply (late replies: to the handler's end)",
                           ["kind"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8)),
        RETRIES_DEDUPED=Counter("youthbot_retries_deduped",
                                "WeChat retries of a message already being or been handled"),
        BUDGET_OVERRUNS=Counter("youthbot_reply_budget_overruns",
                                "Handlers slower than the reply budget: answered `success`, the reply pushed later"),
        REDIS_ERRORS=Counter("youthbot_redis_errors", "Redis errors, by where they happened", ["where"]),
        PUSHES=Counter("youthbot_pushes", "Pushes by kind and outcome (sent, skipped, failed, duplicate, quiet)",
                       ["kind", "outcome"]),
        JOB_RUNS=Counter("youthbot_scheduler_job_runs", "Scheduler job runs, by job and outcome (ok, error)",
                         ["job", "outcome"]),
        JOB_SECONDS=Histogram("youthbot_scheduler_job_seconds", "Scheduler job durations", ["job"],
                              buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800)),
        CONTENT_TYPE=CONTENT_TYPE_LATEST,
    )


def prepare_dir(folder: Path, wipe: bool) -> Path:
    """Create a multi-process folder; wipe it at a web master's start (files of an earlier run)."""
    folder = Path(folder)
    if wipe and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def forget_dead_processes(folder: Path) -> None:
    """Remove the files of processes that no longer run (a restarted scheduler's predecessors)."""
    for path in Path(folder).glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def mark_process_dead(pid: int) -> None:
    """gunicorn's child_exit: drop a dead worker's live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


class OutboxDepth:
    """The outbox's depth, read from Redis at scrape time."""

    def __init__(self, redis):
        self.redis = redis

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        from domain.outbox import QUEUE, TAKEN

        gauge = GaugeMetricFamily("youthbot_outbox_depth", "Pushes waiting in the outbox (queued, being delivered)",
                                  labels=["state"])
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.llen(QUEUE)
            pipe.llen(TAKEN)
            queued, taken = pipe.execute()
        except Exception:  # noqa: BLE001 - a scrape never fails on Redis; the error is counted
            __getattr__("REDIS_ERRORS").labels("metrics").inc()
            return
        gauge.add_metric(["queued"], queued)
        gauge.add_metric(["taken"], taken)
        yield gauge


def exposition(bot) -> bytes:
    """The text /metrics serves."""
    from prometheus_client import CollectorRegistry, generate_latest

    web_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    extra = CollectorRegistry()
    extra.register(OutboxDepth(bot.redis))
    if not web_dir:
        from prometheus_client import REGISTRY

        return generate_latest(REGISTRY) + generate_latest(extra)
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    registry.register(_Folders([Path(web_dir), bot.settings.metrics_path / "scheduler"], multiprocess))
    return generate_latest(registry) + generate_latest(extra)


class _Folders:
    """The files of every process in several multi-process folders, added up as one."""

    def __init__(self, folders, multiprocess):
        self.folders, self.multiprocess = list(dict.fromkeys(folders)), multiprocess

    def collect(self):
        files = [str(p) for folder in self.folders if folder.is_dir() for p in sorted(folder.glob("*.db"))]
        return self.multiprocess.MultiProcessCollector.merge(files, accumulate=True)


def allowed(settings, remote_addr: str | None, authorization: str | None) -> bool:
    """From a configured network, or with the bearer token."""
    token = settings.metrics_token
    if token and authorization and hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
        return True
    try:
        addr = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    for net in settings.metrics_allow.split(","):
        net = net.strip()
        if net:
            try:
                if addr in ipaddress.ip_network(net, strict=False):
                    return True
            except ValueError:
                continue
    return False

