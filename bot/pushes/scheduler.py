"""The scheduler process (`youthbot scheduler`, the Procfile's `scheduler:`).

The whole timetable is TIMETABLE below. APScheduler keeps the jobs in Redis
(RedisJobStore), so schedules survive restarts; a Redis lock with an expiry
elects one leader, so two schedulers started by mistake never run a job twice
(the standby takes over when the leader's lock lapses).
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass

import redis
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.runtime import storage
from bot.ops import SCHEDULER_SEEN
from domain import clock
from domain.keys import key

log = logging.getLogger(__name__)

LEADER = key("scheduler", "leader")
LEADER_TTL = 30  # seconds; the leader renews every third of it
SEEN = SCHEDULER_SEEN  # {"who", "at"}: the leader's heartbeat, for /readyz
STANDBY_POLL = 1.0  # seconds between a standby's tries: it takes over within this of a release


@dataclass(frozen=True)
class TimetableEntry:
    job: str  # function name in bot.pushes.tasks
    trigger: object
    what: str


TIMETABLE = [
    TimetableEntry("drain_outbox", IntervalTrigger(seconds=3), "late replies, waitlist promotions, event changes"),
    TimetableEntry("quiz_opening_notice", CronTrigger(day_of_week="mon", hour=9, minute=0, timezone=clock.TZ),
          "this week's quiz is open (to every member)"),
    TimetableEntry("quiz_reminders", CronTrigger(day_of_week="thu,sat", hour=19, minute=30, timezone=clock.TZ),
          "members who have not done this week's quiz"),
    TimetableEntry("event_reminders", IntervalTrigger(minutes=5), "volunteers, 24 h and 2 h before the start"),
    TimetableEntry("job_digest", CronTrigger(hour=18, minute=0, timezone=clock.TZ), "new job postings, for subscribers"),
    TimetableEntry("stats_rollup", CronTrigger(hour=2, minute=0, timezone=clock.TZ), "nightly figures snapshot"),
    TimetableEntry("nightly_backup", CronTrigger(hour=3, minute=30, timezone=clock.TZ),
          "a backup of the store and content in BACKUP_DIR, keeping the last BACKUP_KEEP"),
    TimetableEntry("wechat_token", IntervalTrigger(minutes=10), "keep the shared access token fresh (when pushes are configured)"),
    TimetableEntry("retention", CronTrigger(hour=3, minute=15, timezone=clock.TZ),
          "contact details deleted two years after a person's last activity"),
    TimetableEntry("compact_store", IntervalTrigger(minutes=5),
          "after a deletion: Redis rewrites its AOF and snapshot, so deleted data leaves the disk"),
    TimetableEntry("audit_retention", CronTrigger(hour=3, minute=20, timezone=clock.TZ),
          "audit-log entries older than AUDIT_KEEP_DAYS deleted"),
    TimetableEntry("follows_retention", CronTrigger(hour=3, minute=25, timezone=clock.TZ),
          "follows and unfollows logged more than FOLLOWS_KEEP_DAYS ago deleted"),
    TimetableEntry("pushes_retention", CronTrigger(hour=3, minute=25, timezone=clock.TZ),
          "given-up pushes whose record expired taken off the list of given-up ones"),
]


_runtime = {}


def run_job(name: str) -> dict:
    """Run one task of bot.pushes.tasks by name (what APScheduler stores: a name, not a closure)."""
    from bot.pushes import tasks

    from bot.ops import metrics

    bot, deliverer = _services()
    started = time.perf_counter()
    outcome = "error"
    try:
        result = getattr(tasks, name)(bot, deliverer, clock.now())
        outcome = "ok"
    finally:
        seconds = time.perf_counter() - started
        metrics.JOB_RUNS.labels(name, outcome).inc()
        metrics.JOB_SECONDS.labels(name).observe(seconds)
    if result:
        log.info("job %s: %s", name, result, extra={"event": "job", "job": name, "seconds": round(seconds, 3)})
    return result


def _services():
    if "bot" not in _runtime:
        from bot.pushes.delivery import Deliverer
        from bot.runtime.services import build_bot
        from bot.wechat.client import SharedTokenClient

        bot = build_bot()
        s = bot.settings
        client = SharedTokenClient(bot.redis, s.wechat_appid, s.wechat_secret, s.wechat_api_base_url)
        _runtime["bot"], _runtime["deliverer"] = bot, Deliverer(bot, client)
    return _runtime["bot"], _runtime["deliverer"]


class Leadership:
    """A Redis lock with an expiry: held by one scheduler, renewed while it lives."""

    def __init__(self, redis, ttl: int = LEADER_TTL):
        self.redis, self.ttl = redis, ttl
        self.me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def try_acquire(self) -> bool:
        """Take the lock when it is free, or when it is this scheduler's own: after Redis restarted (the web
        master restarts the embedded one) the lock comes back from the append-only file with our name on it,
        and waiting for it to lapse would send nothing for up to LEADER_TTL seconds."""
        return bool(self.redis.eval(
            "local v = redis.call('GET', KEYS[1]) "
            "if v == false then return redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) and 1 or 0 end "
            "if v == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end return 0",
            1, LEADER, self.me, self.ttl))

    def renew(self) -> bool:
        """Extend the lock if it is still ours (compare and expire in one script)."""
        return bool(self.redis.eval(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end return 0",
            1, LEADER, self.me, self.ttl))

    def release(self) -> None:
        self.redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
                        1, LEADER, self.me)

    def heartbeat(self) -> None:
        self.redis.set(SEEN, json.dumps({"who": self.me, "at": time.time()}), ex=LEADER_TTL * 4)


def alive(redis) -> bool:
    """Whether a scheduler leads now (it holds the leader lock): pushes, promotions and notices go out."""
    try:
        return bool(redis.exists(LEADER))
    except Exception:  # a CLI hint must never fail the command
        return False


def build_scheduler(redis_url: str) -> BackgroundScheduler:
    from apscheduler.events import EVENT_SCHEDULER_START
    from apscheduler.jobstores.redis import RedisJobStore

    # APScheduler logs two INFO lines per run (drain_outbox every 3 s): only its warnings are kept;
    # what a job did is logged by run_job when it did something.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)

    # APScheduler updates both keys in one MULTI: one hash tag keeps them in one cluster slot
    keys = dict(jobs_key=key("{scheduler}", "jobs"), run_times_key=key("{scheduler}", "run_times"))
    if storage.is_cluster(redis_url):
        store = RedisJobStore(**keys)
        store.redis = _ClusterForJobStore(redis_url)
    elif storage.is_sentinel(redis_url):  # the primary Sentinel names, found again after a failover
        store = RedisJobStore(**keys)
        store.redis = storage.sentinel_master(redis_url, timeout=5.0, decode=False, redis_class=redis.Redis)
    else:
        store = RedisJobStore(**keys, **storage.connection_args(redis_url))
    scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=clock.TZ,
                                    job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 600})
    for entry in TIMETABLE:
        scheduler.add_job(run_job, entry.trigger, args=[entry.job], id=entry.job, name=entry.what,
                          replace_existing=True)
    scheduler.add_listener(lambda _: _drop_retired(store), EVENT_SCHEDULER_START)
    return scheduler


def _drop_retired(store) -> None:
    """Remove stored jobs the timetable no longer has (a store written by an older version)."""
    current = {e.job for e in TIMETABLE}
    for job_id in store.redis.hkeys(store.jobs_key):
        job_id = job_id.decode() if isinstance(job_id, bytes) else job_id
        if job_id not in current:
            store.remove_job(job_id)
            log.info("scheduler: dropped retired job %s", job_id)


class _ClusterForJobStore:
    """A Redis Cluster client shaped as APScheduler's job store expects (pipeline(), then multi())."""

    def __init__(self, redis_url: str):
        from redis.cluster import RedisCluster

        self._cluster = storage.cluster_client(redis_url, timeout=5.0, decode=False)

    def pipeline(self):
        pipe = self._cluster.pipeline(transaction=True)  # the keys share one slot
        pipe.multi = lambda: None  # already transactional
        return pipe

    @property
    def connection_pool(self):  # the job store disconnects its pool on shutdown
        from types import SimpleNamespace

        return SimpleNamespace(disconnect=self._cluster.close)

    def __getattr__(self, name):
        return getattr(self._cluster, name)


def run(stop: threading.Event | None = None, every: float = LEADER_TTL / 3) -> None:
    """Stand by until this scheduler leads, run the timetable while it leads; when it loses
    the lead (the lock lapsed, Redis went away) stop the jobs and stand by again.

    On stop (SIGTERM) the leader stops starting jobs and gives up the lock at
    once, so a standby takes over within STANDBY_POLL; jobs already running
    finish (every push they make has its idempotency key, so an overlap with the
    new leader sends nothing twice).
    """
    bot, _ = _services()
    try:  # a store from an earlier version: the retention sweep reads the people index
        from domain import indexes

        indexes.ensure(bot.redis, say=log.info)
    except redis.RedisError as exc:
        log.warning("store indexes not checked, redis unavailable: %s", exc)
    stop = stop or threading.Event()
    leadership = Leadership(bot.redis)
    while not stop.is_set():
        if not _wait_for_lead(leadership, stop, min(every, STANDBY_POLL)):
            return
        _lead(bot, leadership, stop, every)


def _wait_for_lead(leadership: Leadership, stop: threading.Event, poll: float) -> bool:
    said = False
    while not stop.is_set():
        try:
            if leadership.try_acquire():
                return True
            if not said:
                log.info("another scheduler leads; standing by")
                said = True
        except redis.RedisError as exc:
            log.warning("standing by: redis unavailable: %s: %s", type(exc).__name__, exc)
        stop.wait(poll)
    return False


def _lead(bot, leadership: Leadership, stop: threading.Event, every: float) -> None:
    leadership.heartbeat()
    log.info("scheduler %s leads; timetable: %s", leadership.me, ", ".join(e.job for e in TIMETABLE))
    scheduler = build_scheduler(bot.settings.redis_url)
    scheduler.start()
    try:
        while not stop.wait(every):
            try:
                still = leadership.renew()
                if still:
                    leadership.heartbeat()
            except redis.RedisError as exc:
                log.warning("leadership could not be renewed: %s: %s", type(exc).__name__, exc)
                still = False
            if not still:
                log.error("leadership lost; jobs stopped so that none runs twice; standing by")
                return
    finally:
        scheduler.pause()  # no new job runs from here on
        try:
            leadership.release()
            bot.redis.delete(SEEN)
        except redis.RedisError:
            pass  # the lock lapses by itself
        log.info("scheduler %s stopped leading; waiting for running jobs", leadership.me)
        scheduler.shutdown(wait=True)
