"""/healthz, /readyz and /metrics.

/healthz: the process is up and answers (for a supervisor's liveness check).
/readyz: the service can do its work: Redis answers within READYZ_TIMEOUT, its
persistence is on, the scheduler's leader was seen in the last minute, and the
shared access token is fresh when pushes are configured. JSON, 200 or 503.
/metrics: Prometheus' text format, only from METRICS_ALLOW or with the token.
"""
from __future__ import annotations

import json
import logging
import threading
import time

import redis
from flask import Blueprint, Response, current_app, jsonify, request

from bot.ops import SCHEDULER_SEEN, metrics
from domain.keys import key

log = logging.getLogger(__name__)
bp = Blueprint("ops", __name__)

SEEN_WITHIN = 60  # seconds
TOKEN_MIN_TTL = 60  # seconds the shared access token must still be valid
_CONFIG_CACHE = {"at": 0.0, "value": None}
_config_lock = threading.Lock()


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    bot = current_app.extensions["youthbot"]
    checks = readiness(bot, _probe_client(bot))
    ready = all(c["ok"] for c in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503


@bp.get("/metrics")
def metrics_view():
    bot = current_app.extensions["youthbot"]
    if not metrics.allowed(bot.settings, request.remote_addr, request.headers.get("Authorization")):
        return jsonify(error="forbidden: not from METRICS_ALLOW and no valid bearer token"), 403
    return Response(metrics.exposition(bot), mimetype=metrics.CONTENT_TYPE)


def _probe_client(bot):
    """A client with READYZ_TIMEOUT as its socket timeout, made once per process."""
    probe = current_app.extensions.get("youthbot_probe")
    if probe is None:
        url, t = bot.settings.redis_url, bot.settings.readyz_timeout
        if not url:
            probe = bot.redis
        elif url.startswith("redis+cluster://"):
            from redis.cluster import RedisCluster

            probe = RedisCluster.from_url(url.replace("redis+cluster://", "redis://"), decode_responses=True,
                                          socket_timeout=t, socket_connect_timeout=t)
        else:
            probe = redis.Redis.from_url(url, decode_responses=True, socket_timeout=t, socket_connect_timeout=t,
                                         retry_on_timeout=False)
        current_app.extensions["youthbot_probe"] = probe
    return probe


def readiness(bot, client) -> dict:
    s = bot.settings
    checks = {}
    started = time.perf_counter()
    try:
        client.ping()
        checks["redis"] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}
    except (redis.RedisError, OSError) as exc:
        metrics.REDIS_ERRORS.labels("readyz").inc()
        checks["redis"] = {"ok": False, "error": f"{exc.__class__.__name__}: {exc}"[:200]}
        return checks  # nothing else can be read
    checks["persistence"] = _persistence(client)
    try:
        pipe = client.pipeline(transaction=False)
        pipe.get(SCHEDULER_SEEN)
        token_key = key("wechat", f"{s.wechat_appid}_access_token")
        pipe.ttl(token_key)
        seen_raw, token_ttl = pipe.execute()
    except (redis.RedisError, OSError) as exc:
        metrics.REDIS_ERRORS.labels("readyz").inc()
        checks["redis"] = {"ok": False, "error": f"{exc.__class__.__name__}: {exc}"[:200]}
        return checks
    seen = json.loads(seen_raw) if seen_raw else None
    age = time.time() - seen["at"] if seen else None
    checks["scheduler"] = {"ok": age is not None and age <= SEEN_WITHIN,
                           "leader": seen["who"] if seen else None,
                           "seen_seconds_ago": round(age, 1) if age is not None else None}
    if pushes_configured(s):
        checks["access_token"] = {"ok": token_ttl >= TOKEN_MIN_TTL, "expires_in": max(token_ttl, 0)}
    return checks


def pushes_configured(s) -> bool:
    """Real credentials are set: pushes go out, so the shared token must be kept fresh."""
    from bot.config import Settings

    d = Settings()
    return s.wechat_appid != d.wechat_appid and s.wechat_secret != d.wechat_secret


def _persistence(client) -> dict:
    """appendonly must be on (a restart must not lose the store); read at most once a minute."""
    with _config_lock:
        if time.monotonic() - _CONFIG_CACHE["at"] > 60 or _CONFIG_CACHE["value"] is None:
            try:
                cfg = client.config_get("append*")
                if isinstance(next(iter(cfg.values()), None), dict):  # a Cluster: one answer per node
                    cfg = next(iter(cfg.values()))
                value = {"appendonly": cfg.get("appendonly"), "appendfsync": cfg.get("appendfsync")}
            except redis.RedisError:
                value = {"appendonly": "unknown"}  # CONFIG forbidden (managed Redis): not held against it
            _CONFIG_CACHE.update(at=time.monotonic(), value=value)
        value = dict(_CONFIG_CACHE["value"])
    value["ok"] = value.get("appendonly") in ("yes", "unknown")
    return value


def register(app, bot) -> None:
    """Mount the routes and count Redis errors that escape a view (answered 503 so WeChat retries)."""
    app.register_blueprint(bp)

    @app.errorhandler(redis.RedisError)
    def redis_down(exc):
        metrics.REDIS_ERRORS.labels("request").inc()
        log.error("redis error in %s: %s", request.path, exc.__class__.__name__)
        return jsonify(error="store unavailable"), 503
