"""Every primary of the store, and checks that read each one and name the node at fault.

The store is one server (the embedded one, or REDIS_URL redis://), the primary a
Redis Sentinel group names (redis+sentinel://), or the primaries of a Redis
Cluster (redis+cluster://). Start-up's durability line, /readyz, `youthbot
doctor` and the restore refusal all read every primary through these functions:
one node with `appendonly no`, or one frozen, is named, not averaged away.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import redis
from redis.exceptions import RedisClusterException

# What a store client raises when a node is down, frozen or between roles: redis-py's
# errors, and the Cluster client's own (no node answers the slot map) that are not RedisErrors.
STORE_ERRORS = (redis.RedisError, RedisClusterException, OSError)


@dataclass
class Node:
    """One primary: its address ("host:port" or a socket path) and a client of that node alone."""

    name: str
    client: redis.Redis


def primaries(client) -> list[Node]:
    """The primaries behind a store client (one, unless it is a Cluster client)."""
    if hasattr(client, "get_primaries"):  # redis.cluster.RedisCluster
        return [Node(n.name, client.get_redis_connection(n)) for n in client.get_primaries()]
    pool = client.connection_pool
    if hasattr(pool, "get_master_address"):  # a Sentinel-managed primary
        host, port = pool.get_master_address()
        return [Node(f"{host}:{port}", client)]
    return [Node(node_name(client), client)]


def node_name(client) -> str:
    kw = client.connection_pool.connection_kwargs
    return kw.get("path") or f"{kw.get('host', 'localhost')}:{kw.get('port', 6379)}"


def error_node(exc: BaseException) -> str | None:
    """The node a store error came from, when the client says (the Cluster client does)."""
    if getattr(exc, "node", None):  # bot.runtime.storage.NodeConnection
        return exc.node
    conn = getattr(exc, "connection", None)
    if conn is None:
        return None
    name = getattr(conn, "name", None)
    if name:
        return name
    host, port = getattr(conn, "host", None), getattr(conn, "port", None)
    return f"{host}:{port}" if host else None


def nodes_of_keys(client, keys) -> frozenset[str]:
    """The names of the Cluster nodes holding keys now; empty for a one-primary store."""
    if not hasattr(client, "get_primaries"):
        return frozenset()
    try:
        return frozenset(client.get_node_from_key(k).name for k in keys)
    except (STORE_ERRORS + (AttributeError, IndexError, KeyError)):
        return frozenset()


def each_node(nodes: list[Node], check) -> dict[str, dict]:
    """check(node) for every node at once (a frozen node costs one timeout, not one per node)."""
    if len(nodes) == 1:
        return {nodes[0].name: check(nodes[0])}
    with ThreadPoolExecutor(max_workers=len(nodes), thread_name_prefix="topology") as pool:
        return dict(zip((n.name for n in nodes), pool.map(check, nodes)))


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


# -- durability -----------------------------------------------------------------------------------
def append_settings(node: Node) -> dict:
    """{"appendonly", "appendfsync"} of one node, or {"error"} when they cannot be read."""
    try:
        conf = node.client.config_get("append*")
    except redis.ResponseError as exc:  # CONFIG forbidden or renamed (a managed Redis)
        return {"error": _error(exc), "forbidden": True}
    except STORE_ERRORS as exc:
        return {"error": _error(exc)}
    return {"appendonly": conf.get("appendonly"), "appendfsync": conf.get("appendfsync")}


def durability(client) -> tuple[bool, str]:
    """Whether every primary fsyncs each write before acknowledging it, and a sentence saying so,
    naming each primary that does not."""
    try:
        nodes = primaries(client)
    except STORE_ERRORS as exc:
        return False, (f"cannot find the store's primaries ({type(exc).__name__}): make sure each runs "
                       "appendonly yes and appendfsync always, or a crash may lose acknowledged changes")
    settings = each_node(nodes, append_settings)
    bad = {name: s for name, s in settings.items()
           if not (s.get("appendonly") == "yes" and s.get("appendfsync") == "always")}
    where = f" on all {len(nodes)} primaries" if len(nodes) > 1 else ""
    if not bad:
        return True, (f"store fsyncs every write{where} (appendonly yes, appendfsync always): "
                      "nothing acknowledged is lost")
    said = []
    for name, s in bad.items():
        node = f"{name} " if len(nodes) > 1 or "error" in s else ""
        if "error" in s:
            said.append(f"cannot read the persistence settings of {name} ({s['error'].split(':')[0]}): make sure "
                        "it runs appendonly yes and appendfsync always")
        else:
            said.append(f"store {node}runs appendonly {s['appendonly']}, appendfsync {s['appendfsync']}")
    return False, ("; ".join(said) + ": a crash may lose acknowledged sign-ups, answers and profiles; set "
                   "appendonly yes and appendfsync always (WAITAOF with everysec is not used: see bot/runtime/storage.py)")


# -- readiness ------------------------------------------------------------------------------------
_CONFIG_EVERY = 60.0  # seconds: CONFIG GET is read at most this often per node
_config_cache: dict[str, tuple[float, dict]] = {}
_config_lock = threading.Lock()


def _cached_settings(node: Node) -> dict:
    with _config_lock:
        hit = _config_cache.get(node.name)
    if hit and time.monotonic() - hit[0] < _CONFIG_EVERY:
        return dict(hit[1])
    value = append_settings(node)
    if value.get("forbidden"):
        value = {"appendonly": "unknown"}  # not held against it: the operator checks by hand (doctor says so)
    elif "error" in value:
        return value  # the node did not answer: not cached
    with _config_lock:
        _config_cache[node.name] = (time.monotonic(), value)
    return dict(value)


def forget_settings() -> None:
    """Read every node's settings afresh at the next check (tests change them)."""
    with _config_lock:
        _config_cache.clear()


def probe(node: Node) -> dict:
    """One primary as /readyz and doctor see it: it answers in time, as a primary, and persists."""
    started = time.perf_counter()
    try:
        role = node.client.execute_command("ROLE")[0]
    except STORE_ERRORS as exc:
        return {"ok": False, "error": _error(exc)}
    out = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}
    role = role.decode() if isinstance(role, bytes) else role
    if role != "master":
        out.update(ok=False, role=role, error=f"{node.name} is a {role}, not a primary: a failover demoted it "
                   "(with plain redis:// point REDIS_URL at the new primary, or use redis+sentinel://)")
    settings = _cached_settings(node)
    if "error" in settings:
        out.update(ok=False, error=settings["error"])
    else:
        out["persistence"] = settings
        if settings.get("appendonly") not in ("yes", "unknown"):
            out.update(ok=False, error=f"{node.name} runs appendonly {settings.get('appendonly')}: a restart "
                       "loses what it holds; set appendonly yes and appendfsync always")
    return out


def check_primaries(client) -> dict:
    """{"ok", "nodes": {name: probe}, "failed": [names]} for every primary of the store."""
    try:
        nodes = primaries(client)
    except STORE_ERRORS as exc:
        return {"ok": False, "nodes": {}, "failed": [], "error": _error(exc)}
    found = each_node(nodes, probe)
    failed = [name for name, p in found.items() if not p["ok"]]
    return {"ok": not failed, "nodes": found, "failed": failed}


# -- size -----------------------------------------------------------------------------------------
def key_counts(client) -> dict[str, int]:
    """Keys held by each primary (a Cluster's DBSIZE through one client may count one node only)."""
    return {n.name: int(n.client.dbsize()) for n in primaries(client)}
