"""Settings: defaults in code, deployment values from the environment.

This is the one place that reads the environment. Every limit WeChat imposes
is a setting here, because WeChat changes them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEV_APPID = "wx0000000000000000"  # the development credentials' appid: no real account has it
# The default content: the copy the wheel carries inside the package (an installed service), or the
# checkout's content/ folder (a developer's editable install, where there is no bot/content).
_PACKAGED_CONTENT = Path(__file__).resolve().parent / "content"
DEFAULT_CONTENT_DIR = _PACKAGED_CONTENT if _PACKAGED_CONTENT.is_dir() else PROJECT_DIR / "content"


@dataclass(frozen=True)
class Settings:
    # WeChat credentials (the official account's developer settings page).
    wechat_token: str = "youthbot-dev-token"
    wechat_appid: str = DEV_APPID
    wechat_secret: str = "dev-secret"
    # 43-character EncodingAESKey; when set, safe-mode (AES) requests are accepted.
    wechat_aes_key: str = ""
    # Only safe-mode (AES) messages are handled; plaintext POSTs get 403. Without it a
    # leaked token is enough to forge any user's messages: turn it on in production.
    wechat_safe_mode_only: bool = False
    # Seconds a request's timestamp may differ from our clock; 0 turns the check off.
    wechat_timestamp_tolerance: int = 300
    # Seconds a handler may take before the webhook answers "success" and the
    # reply goes out later as a customer-service message (WeChat waits 5 s).
    reply_budget: float = 4.0
    # Largest reply text in UTF-8 bytes; longer answers are paged.
    reply_max_bytes: int = 2000
    # Largest request body WeChat could plausibly send.
    max_body_bytes: int = 64 * 1024
    # How long a finished message's reply is kept for WeChat's retries (s).
    dedupe_ttl: int = 600
    # How long a message may stay "being handled" before a retry may run it again (s).
    # Above reply_budget (a live handler answers within it), and short enough that
    # WeChat's second delivery (about 5 s after the first) finds the claim of a
    # process that died and runs the message itself.
    dedupe_pending_ttl: int = 6
    # Idle minutes after which a multi-step conversation expires.
    flow_ttl_minutes: int = 30
    # Redis: empty means the embedded server under data_dir.
    redis_url: str = ""
    # Seconds to connect to Redis and to wait for an answer; past it the webhook
    # answers a fixed text instead of hanging (WeChat waits 5 s).
    redis_timeout: float = 1.0
    data_dir: Path = PROJECT_DIR / "var"
    content_dir: Path = DEFAULT_CONTENT_DIR
    # Base URL of the WeChat API (a fake one in tests and demos).
    wechat_api_base_url: str = "https://api.weixin.qq.com/cgi-bin/"
    # Demo mode: "auto" (the dev credentials above mean a demo; a real WECHAT_APPID never is), or 1 / 0.
    # In demo mode the first start loads content_dir with made-up members and sign-ups;
    # otherwise nothing made up is ever loaded (`content load` skips demo/ and demo_signups).
    load_demo: str = "auto"
    # The committee as residents see it: the issuer of service records, and who to contact.
    committee_name: str = "共青团街道委员会"
    committee_contact: str = "街道党群服务中心二楼团委办公室"
    committee_hours: str = "工作日 9:00—12:00、14:30—17:30"
    # Where the public pages (/verify/<number>) are reached from outside: printed in service records.
    public_url: str = "http://127.0.0.1:8000"
    # Pushes. Customer-service messages reach a user only within this many hours
    # of their last message, and at most cs_per_window of them in that window.
    cs_window_hours: int = 48
    cs_per_window: int = 5
    # No pushes in these local hours ("22:00-08:00"); they wait.
    quiet_hours: str = "22:00-08:00"
    # Global send rate to the WeChat API, messages per second.
    push_rate: float = 20.0
    # Sender threads in a fan-out (the rate limit still holds across them).
    push_concurrency: int = 4
    # Attempts per message on 5xx, -1, 45009, 45047, with exponential backoff from push_retry_base s.
    push_attempts: int = 4
    push_retry_base: float = 1.0
    # Template messages for users outside the 48-hour window, per push kind, as JSON:
    # {"quiz_reminder": {"template_id": "...", "fields": {"first": "text", "keyword1": "title"}}}
    wechat_templates: str = "{}"
    # Staff console (/admin). The key that signs session cookies: empty means one
    # random key made on the first start and kept in Redis (shared by all workers).
    admin_secret_key: str = ""
    # Send the session cookie only over HTTPS; set 0 to try the console over plain
    # http on another machine (browsers accept Secure cookies from 127.0.0.1 and localhost).
    admin_cookie_secure: bool = True
    # A console session ends after this many hours, however busy (an absolute lifetime) ...
    admin_session_hours: int = 8
    # Days the audit log keeps an entry (who did what in the console or with the youthbot command);
    # the scheduler trims older ones each night. Entries can name residents and keep a corrected value,
    # so at most 730 (the privacy notice's two years): a larger value, or 0, is taken as 730.
    audit_keep_days: int = 365
    # Days the log of follows and unfollows keeps an entry (the report counts followers gained and lost in a
    # period); trimmed each night. Entries are pseudonymous (an openid and a time), kept like the rest of a
    # person's traces no longer than the privacy notice's two years: a larger value, or 0, is taken as 730.
    follows_keep_days: int = 730
    # ... and after this many minutes without a request.
    admin_idle_minutes: int = 120
    # Password checks (Argon2) running at once on this machine, across every web and console process;
    # a login past them is answered 429 请稍后再试 at once (docs/security.md, "Logins and the webhook").
    login_checks: int = 1
    # -- operations (bot/ops) --
    # Which gunicorn this is: "web" (the webhook) or "console" (youthbot-console, the staff console's own);
    # names its metrics folder (METRICS_DIR/<role>), its processes' role label and its LOG_DIR file.
    serve_role: str = "web"
    # Proxies in front of gunicorn whose X-Forwarded-For/-Proto to trust (nginx on the machine: 1).
    proxy_hops: int = 0
    # /metrics: client networks allowed (comma-separated CIDRs), or a bearer token.
    metrics_allow: str = "127.0.0.1/32,::1/128"
    metrics_token: str = ""
    # Prometheus multi-process files; empty: DATA_DIR/metrics.
    metrics_dir: str = ""
    # Nightly backups: folder (empty: DATA_DIR/backups) and how many to keep.
    backup_dir: str = ""
    backup_keep: int = 14
    # Logs: "json", "text" or "auto" (text when stderr is a terminal); log_dir also writes JSON files there.
    log_format: str = "auto"
    log_dir: str = ""
    # The share of residents whose every handled message gets an INFO line (event="message"), 0..1: chosen by
    # the user's pseudonym, so a sampled resident's messages are all there. Retries, errors, late replies
    # and messages slower than log_slow_ms are always logged; /metrics counts every message regardless.
    log_message_sample: float = 0.1
    log_slow_ms: int = 500
    # Seconds /readyz waits for Redis.
    readyz_timeout: float = 1.0
    # The scheduler's own /metrics (for a machine without a web process): port (0: off) and address.
    scheduler_metrics_port: int = 0
    scheduler_metrics_host: str = "127.0.0.1"
    # Nightly backups: a command run with the new archive's path as its last argument, to copy it off the
    # machine (e.g. "rsync -a --chmod=F600" to a backup host, "rclone copyto"); empty: none.
    backup_copy_command: str = ""

    @property
    def demo_mode(self) -> bool:
        value = str(self.load_demo).strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off", ""):
            return False
        return self.wechat_appid == DEV_APPID

    @property
    def demo_reason(self) -> str:
        """Why this is (or is not) a demo, for the start-up log."""
        if str(self.load_demo).strip().lower() != "auto":
            return f"LOAD_DEMO={self.load_demo}"
        return "WECHAT_APPID is the dev value" if self.wechat_appid == DEV_APPID else "WECHAT_APPID is a real account's"

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Build settings from YOUTHBOT-style env names (WECHAT_TOKEN, REDIS_URL, ...)."""
        values = {}
        for f in fields(cls):
            raw = os.environ.get(f.name.upper())
            if raw is not None:
                values[f.name] = _coerce(f, raw)
        values.update(overrides)
        return cls(**values)

    @property
    def backups_path(self) -> Path:
        return Path(self.backup_dir) if self.backup_dir else Path(self.data_dir) / "backups"

    @property
    def metrics_path(self) -> Path:
        return Path(self.metrics_dir) if self.metrics_dir else Path(self.data_dir) / "metrics"


def _coerce(f, raw: str):
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "bool":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if kind == "Path":
        return Path(raw)
    return raw
