"""/healthz, /readyz and /metrics.

/healthz: the process is up and answers (for a supervisor's liveness check).
/readyz: this web process can answer messages: its Redis answers within
READYZ_TIMEOUT, persistence is on and a write goes through. JSON, 200 or 503.
The scheduler and the access token are other processes' business: /metrics and doctor.
/metrics: Prometheus' text format, only from METRICS_ALLOW or with the token.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time

import redis
from flask import Blueprint, Response, current_app, jsonify, request

from bot.ops import SCHEDULER_SEEN, metrics, pushes_configured
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
    """Whether this web process can answer messages: its store answers and persists. Nothing about
    other processes (the scheduler's heartbeat, the access token): a load balancer acting on those
    would take every web instance out because of a different process; they are in /metrics
    (youthbot_scheduler_heartbeat_age_seconds, youthbot_access_token_expires_in_seconds) and doctor."""
    checks = {"redis": store_answers(client)}
    if not checks["redis"]["ok"]:
        return checks  # nothing else can be read
    checks["persistence"] = _persistence(client)
    checks["write"] = store_takes_a_write(client)
    return checks


def store_answers(client) -> dict:
    started = time.perf_counter()
    try:
        client.ping()
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}
    except (redis.RedisError, OSError) as exc:
        metrics.REDIS_ERRORS.labels("readyz").inc()
        return {"ok": False, "error": f"{exc.__class__.__name__}: {exc}"[:200]}


READYZ_PROBE = key("readyz", "probe")


def store_takes_a_write(client) -> dict:
    """One small write with an expiry: a store that answers PING but refuses writes (disk full, MISCONF,
    NOREPLICAS, a read-only replica) cannot keep what the webhook acknowledges."""
    started = time.perf_counter()
    try:
        client.set(READYZ_PROBE, f"{socket.gethostname()}:{os.getpid()}", ex=60)
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}
    except (redis.RedisError, OSError) as exc:
        metrics.REDIS_ERRORS.labels("readyz").inc()
        return {"ok": False, "error": f"{exc.__class__.__name__}: {exc}"[:200]}


def scheduler_and_token(client, s) -> dict:
    """The scheduler leader's heartbeat and the shared token's remaining life (doctor shows them)."""
    pipe = client.pipeline(transaction=False)
    pipe.get(SCHEDULER_SEEN)
    pipe.ttl(key("wechat", f"{s.wechat_appid}_access_token"))
    seen_raw, token_ttl = pipe.execute()
    seen = json.loads(seen_raw) if seen_raw else None
    age = time.time() - seen["at"] if seen else None
    out = {"scheduler": {"ok": age is not None and age <= SEEN_WITHIN, "leader": seen["who"] if seen else None,
                         "seen_seconds_ago": round(age, 1) if age is not None else None}}
    if pushes_configured(s):
        out["access_token"] = {"ok": token_ttl >= TOKEN_MIN_TTL, "expires_in": max(token_ttl, 0)}
    return out


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


def count_http_response(status: int) -> None:
    """youthbot_http_responses_total{status, route}: the route's pattern, never the raw path (bounded)."""
    rule = request.url_rule
    metrics.HTTP_RESPONSES.labels(str(status), rule.rule if rule is not None else "unmatched").inc()


def register(app, bot) -> None:
    """Mount the routes and count Redis errors that escape a view (answered 503 so WeChat retries)."""
    app.register_blueprint(bp)

    @app.after_request
    def count_response(response):
        count_http_response(response.status_code)
        return response

    @app.errorhandler(redis.RedisError)
    def redis_down(exc):
        metrics.REDIS_ERRORS.labels("request").inc()
        log.error("redis error in %s: %s", request.path, exc.__class__.__name__)
        return jsonify(error="store unavailable"), 503
