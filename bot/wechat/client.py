"""The WeChat API client: wechatpy's, with the access token shared through Redis.

Several processes (web workers, the scheduler, the CLI) call WeChat. Each
fetching a token on its own invalidates the others' (error 40001, the classic
multi-worker bug), so the token lives in Redis and one process at a time
refreshes it, under a Redis lock, from the stable-token endpoint (which does not
invalidate tokens in use). A call that fails with 40001/42001 refreshes once and
is retried once.
"""
from __future__ import annotations

import logging

import redis
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from domain.keys import key

log = logging.getLogger(__name__)

TOKEN_INVALID = (40001, 42001)
REFRESH_EARLY = 300  # refresh 5 minutes before WeChat's expiry
LOCK = key("wechat", "token_lock")


class WeChatError(Exception):
    def __init__(self, errcode, errmsg=""):
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class SharedTokenClient(WeChatClient):
    """wechatpy's client whose token is kept in Redis and refreshed by one process at a time."""

    def __init__(self, redis, appid: str, secret: str, api_base_url: str, timeout: float = 10):
        super().__init__(appid, secret, session=RedisStorage(redis, prefix=key("wechat")), timeout=timeout,
                         auto_retry=False)
        self.API_BASE_URL = api_base_url.rstrip("/") + "/"
        self._redis = redis
        self._http = requests.Session()
        self._used: str | None = None  # the token this process last sent

    @property
    def access_token(self) -> str:
        token = self.session.get(self.access_token_key)
        if not token:
            self.fetch_access_token()
            token = self.session.get(self.access_token_key)
        self._used = token
        return token

    def fetch_access_token(self, force: bool = False) -> None:
        """Refresh the shared token, unless another process already did while we waited."""
        lock = self._lock()
        if not lock.acquire(blocking_timeout=15):
            raise WeChatError(None, "token refresh lock not released")
        try:
            current = self.session.get(self.access_token_key)
            if current and (not force or current != self._used):
                return  # a valid token is there, or another process replaced the one that failed
            self._stable_token(force_refresh=bool(current))
        finally:
            _release(lock)

    def keep_fresh(self, min_ttl: int = 900) -> int:
        """Fetch the token (never forcing a new one) when it is missing or valid for less than min_ttl
        seconds; return how long the shared token is valid. The scheduler calls this every few minutes."""
        token_key = self.session.key_name(self.access_token_key)
        ttl = self._redis.ttl(token_key)
        if ttl >= min_ttl:
            return ttl
        lock = self._lock()
        if not lock.acquire(blocking=False):
            return ttl  # another process is refreshing it right now
        try:
            self._stable_token(force_refresh=False)
        finally:
            _release(lock)
        return self._redis.ttl(token_key)

    def _lock(self):
        """redis-py's Lock: released only by its owner, atomically (an expired lock is never deleted under another)."""
        return self._redis.lock(LOCK, timeout=10, sleep=0.05)

    def _stable_token(self, force_refresh: bool) -> None:
        resp = self._http.post(self.API_BASE_URL + "stable_token", timeout=self.timeout, json={
            "grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
            "force_refresh": force_refresh})
        resp.raise_for_status()
        data = resp.json()
        if data.get("errcode"):
            raise WeChatError(data["errcode"], data.get("errmsg", ""))
        ttl = max(60, int(data.get("expires_in", 7200)) - REFRESH_EARLY)
        self.session.set(self.access_token_key, data["access_token"], ttl)
        log.info("access token refreshed (force=%s), valid for %ss", force_refresh, ttl)

    def call(self, fn, *args, **kwargs):
        """Run one API call; on an invalid token refresh once and retry once. Raise WeChatError."""
        for attempt in (1, 2):
            try:
                return fn(*args, **kwargs)
            except WeChatClientException as exc:
                code = exc.errcode
                if code is None and exc.response is not None:
                    code = exc.response.status_code  # an HTTP error: 5xx
                if code in TOKEN_INVALID and attempt == 1:
                    self.fetch_access_token(force=True)
                    continue
                raise WeChatError(code, exc.errmsg) from exc
            except requests.RequestException as exc:
                raise WeChatError(-2, f"network: {exc.__class__.__name__}") from exc

    # -- what the bot sends ---------------------------------------------------------
    def send_text(self, openid: str, text: str):
        return self.call(self.message.send_text, openid, text)

    def send_template(self, openid: str, template_id: str, data: dict):
        return self.call(self.message.send_template, openid, template_id, data)

    def create_menu(self, menu: dict):
        return self.call(self.menu.create, menu)

    def create_qrcode(self, scene: str, expire_seconds: int) -> dict:
        """A temporary parametric QR code for scene (1-64 characters): {"ticket", "expire_seconds", "url"}."""
        return self.call(self.qrcode.create, {"expire_seconds": int(expire_seconds), "action_name": "QR_STR_SCENE",
                                              "action_info": {"scene": {"scene_str": scene}}})


def _release(lock) -> None:
    try:
        lock.release()
    except redis.exceptions.LockError:  # it expired (a refresh slower than its 10 s) and may be another's now
        log.warning("token refresh took longer than its lock")
