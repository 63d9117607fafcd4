"""/healthz, /readyz and /metrics.

/healthz: the process is up and answers (for a supervisor's liveness check).
/readyz: this web process can answer messages: every Redis primary answers within
READYZ_TIMEOUT, as a primary, with its persistence on (a failed one is named), and a
write goes through. JSON, 200 or 503. The scheduler and the access token are other
processes' business: /metrics and doctor.
/metrics: Prometheus' text format, only from METRICS_ALLOW or with the token.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import time

import redis
from redis.exceptions import RedisClusterException
from flask import Blueprint, Response, current_app, jsonify, request

from bot.ops import SCHEDULER_SEEN, metrics, pushes_configured
from bot.runtime import storage, topology
from domain.keys import key

log = logging.getLogger(__name__)
bp = Blueprint("ops", __name__)

SEEN_WITHIN = 60  # seconds
TOKEN_MIN_TTL = 60  # seconds the shared access token must still be valid


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    bot = current_app.extensions["youthbot"]
    try:
        checks = readiness(bot, _probe_client(bot))
    except topology.STORE_ERRORS as exc:  # a Cluster client cannot even be made: no node answers
        metrics.REDIS_ERRORS.labels("readyz").inc()
        checks = {"redis": {"ok": False, "error": f"{exc.__class__.__name__}: {exc}"[:200]}}
    ready = all(c["ok"] for c in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503


@bp.get("/metrics")
def metrics_view():
    bot = current_app.extensions["youthbot"]
    if not metrics.allowed(bot.settings, request.remote_addr, request.headers.get("Authorization")):
        return jsonify(error="forbidden: not from METRICS_ALLOW and no valid bearer token"), 403
    return Response(metrics.exposition(bot), mimetype=metrics.CONTENT_TYPE)


def _probe_client(bot):
    """A client with READYZ_TIMEOUT as its socket timeout (each node's, on a Cluster), made once per process."""
    probe = current_app.extensions.get("youthbot_probe")
    if probe is None:
        url, t = bot.settings.redis_url, bot.settings.readyz_timeout
        probe = storage.connect(url, bot.settings.data_dir, timeout=t) if url else bot.redis
        current_app.extensions["youthbot_probe"] = probe
    return probe


def readiness(bot, client) -> dict:
    """Whether this web process can answer messages: every primary answers in time, as a primary, with its
    append-only file on, and takes a write; a failed check names the node at fault. Nothing about other
    processes (the scheduler's heartbeat, the access token): a load balancer acting on those would take
    every web instance out because of a different process; they are in /metrics
    (youthbot_scheduler_heartbeat_age_seconds, youthbot_access_token_expires_in_seconds) and doctor."""
    checks = {}
    found = topology.check_primaries(client)
    nodes = found["nodes"]
    if not nodes:
        metrics.REDIS_ERRORS.labels("readyz").inc()
        checks["redis"] = {"ok": False, "error": found.get("error", "no primary found")}
        return checks
    silent = {n: p for n, p in nodes.items() if "persistence" not in p and "role" not in p}
    demoted = {n: p for n, p in nodes.items() if "role" in p}
    answered = [p["ms"] for p in nodes.values() if "ms" in p]
    checks["redis"] = {"ok": not silent and not demoted, "ms": max(answered) if answered else None}
    if len(nodes) > 1:
        checks["redis"]["primaries"] = len(nodes)
    if silent or demoted:
        metrics.REDIS_ERRORS.labels("readyz").inc()
        bad = {**silent, **demoted}
        checks["redis"].update(failed=sorted(bad), error="; ".join(f"{n}: {p['error']}" for n, p in bad.items())[:400])
        return checks  # nothing else can be read in time
    persisted = {n: p["persistence"] for n, p in nodes.items()}
    off = {n: v for n, v in persisted.items() if v.get("appendonly") not in ("yes", "unknown")}
    name, shown = next(iter(off.items())) if off else next(iter(persisted.items()))
    checks["persistence"] = {"ok": not off, **{k: shown.get(k) for k in ("appendonly", "appendfsync")}}
    if off:
        checks["persistence"]["failed"] = sorted(off)
    checks["write"] = store_takes_a_write(client)
    return checks


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


_responses: dict[tuple[int, str], object] = {}  # (status, route) -> its counter child, looked up once


def count_http_response(status: int, route: str | None = None) -> None:
    """youthbot_http_responses_total{status, route}: the route's pattern, never the raw path (bounded)."""
    if route is None:
        rule = request.url_rule
        route = rule.rule if rule is not None else "unmatched"
    labels = (status, route)
    counter = _responses.get(labels)
    if counter is None:
        counter = metrics.HTTP_RESPONSES.labels(str(status), labels[1])
        if len(_responses) < 1024:
            _responses[labels] = counter
    counter.inc()


def register(app, bot) -> None:
    """Mount the routes and count Redis errors that escape a view (answered 503 so WeChat retries)."""
    app.register_blueprint(bp)

    @app.after_request
    def count_response(response):
        count_http_response(response.status_code)
        return response

    @app.errorhandler(redis.RedisError)
    @app.errorhandler(RedisClusterException)  # no Cluster node answers the slot map: not a RedisError
    def redis_down(exc):
        return store_unavailable(exc, request.path)


def store_unavailable(exc: Exception, path: str) -> Response:
    """A Redis error that escaped a view: 503 (WeChat retries), counted and logged without a traceback."""
    metrics.REDIS_ERRORS.labels("request").inc()
    log.error("redis error in %s: %s", path, exc.__class__.__name__)
    return Response(json.dumps({"error": "store unavailable"}), status=503, mimetype="application/json")
