"""Staff accounts for the web console: names, roles, passwords, login limits, event ownership.

Rules, all decided here:
- three roles: admin (everything, accounts), organiser (their own events),
  jobs (postings and the people interested in them);
- a new account, or one whose password an admin reset, gets a one-time password
  and must change it at its first login;
- passwords are hashed with Argon2id (argon2-cffi); the hash, never the password, is kept;
- failed logins are counted per account and per address in Redis, so every web
  worker sees the same counts: past the limit, logins are refused for the rest of
  the window whatever the password;
- each account has a session epoch: changing or resetting the password, or
  deleting the account, ends every session opened before.

Keys live under the {staff} hash tag.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.keys import key

ROLES = ("admin", "organiser", "jobs")
ROLE_NAMES = {"admin": "管理员", "organiser": "活动组织者", "jobs": "就业联络员"}
NAMES = key("{staff}", "names")  # set of account names
MIN_PASSWORD = 10
ACCOUNT_FAILURES, ADDRESS_FAILURES = 5, 30  # failed logins allowed per window
FAILURE_WINDOW = 15 * 60  # seconds
# Letters that cannot be misread on a slip of paper (no 0/O, 1/l/I).
_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

_hasher = PasswordHasher()

# Count one failure on each key; the window starts at the first failure (Redis 6.2: no EXPIRE NX).
_COUNT_FAILURE = """
for _, k in ipairs(KEYS) do
  if redis.call('INCR', k) == 1 then redis.call('EXPIRE', k, ARGV[1]) end
end
return 1
"""


def account_key(name: str) -> str:
    return key("{staff}", "account", name)


def failures_key(kind: str, who: str) -> str:
    return key("{staff}", "failures", kind, who)


def organisers_key(event_id: str) -> str:
    return key("{staff}", "organisers", event_id)  # set: staff names who run the event


def owned_key(name: str) -> str:
    return key("{staff}", "owns", name)  # set: event ids the organiser runs


class StaffError(ValueError):
    """A staff action that cannot be done; the message says why, in Chinese, for the page or the CLI."""


@dataclass
class Account:
    name: str
    role: str
    must_change: bool
    epoch: int  # bumped when the password changes: older sessions end
    created: int

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)


@dataclass
class Login:
    status: str  # ok | bad | locked
    account: Account | None = None


def one_time_password() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(12))


def valid_name(name: str) -> bool:
    return 2 <= len(name) <= 32 and all(ch.isalnum() or ch in "._-" for ch in name)


class Staff:
    def __init__(self, redis):
        self._redis = redis

    # -- accounts ------------------------------------------------------------------
    def create(self, name: str, role: str) -> str:
        """Create an account; return its one-time password (shown once, never stored)."""
        name = (name or "").strip()
        if not valid_name(name):
            raise StaffError("账号名须为2—32个字母、数字、汉字或 . _ -")
        if role not in ROLES:
            raise StaffError(f"角色须为 {'/'.join(ROLES)} 之一")
        password = one_time_password()
        created = self._redis.hsetnx(account_key(name), "hash", _hasher.hash(password))
        if not created:
            raise StaffError(f"账号 {name} 已存在")
        self._redis.hset(account_key(name), mapping={"role": role, "must_change": 1, "epoch": 1,
                                                      "created": int(time.time())})
        self._redis.sadd(NAMES, name)
        return password

    def get(self, name: str) -> Account | None:
        data = self._redis.hgetall(account_key(name)) if name else {}
        if not data.get("role"):
            return None
        return Account(name, data["role"], data.get("must_change") == "1", int(data.get("epoch", 1)),
                       int(data.get("created", 0)))

    def all(self) -> list[Account]:
        return [a for a in (self.get(n) for n in sorted(self._redis.smembers(NAMES))) if a]

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise StaffError(f"角色须为 {'/'.join(ROLES)} 之一")
        self._require(name)
        self._redis.hset(account_key(name), "role", role)

    def reset_password(self, name: str) -> str:
        """A new one-time password for name; their open sessions end."""
        self._require(name)
        password = one_time_password()
        self._set_password(name, password, must_change=True)
        return password

    def delete(self, name: str) -> None:
        self._require(name)
        for event_id in self._redis.smembers(owned_key(name)):
            self._redis.srem(organisers_key(event_id), name)
        self._redis.delete(account_key(name), owned_key(name))
        self._redis.srem(NAMES, name)

    def _require(self, name: str) -> Account:
        account = self.get(name)
        if account is None:
            raise StaffError(f"没有账号 {name}")
        return account

    # -- passwords and logins --------------------------------------------------------
    def login(self, name: str, password: str, address: str) -> Login:
        """Check a login, counting failures per account and per address; 'locked' past the limits."""
        if self._locked(name, address):
            return Login("locked")
        account = self.get(name)
        stored = self._redis.hget(account_key(name), "hash") if account else None
        if stored is None or not _verify(stored, password):
            self._count_failure(name, address)
            return Login("bad")
        self._redis.delete(failures_key("account", name))
        if _hasher.check_needs_rehash(stored):
            self._redis.hset(account_key(name), "hash", _hasher.hash(password))
        return Login("ok", account)

    def change_password(self, name: str, old: str, new: str) -> Account:
        """Change a password after checking the old one; the new one must be new and long enough."""
        stored = self._redis.hget(account_key(name), "hash")
        if stored is None or not _verify(stored, old):
            raise StaffError("原密码不对")
        if len(new) < MIN_PASSWORD:
            raise StaffError(f"新密码至少{MIN_PASSWORD}个字符")
        if new == old:
            raise StaffError("新密码不能和原密码相同")
        self._set_password(name, new, must_change=False)
        return self.get(name)

    def _set_password(self, name: str, password: str, must_change: bool) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(account_key(name), mapping={"hash": _hasher.hash(password), "must_change": int(must_change)})
        pipe.hincrby(account_key(name), "epoch", 1)
        pipe.execute()

    def _locked(self, name: str, address: str) -> bool:
        account_fails, address_fails = self._redis.mget(failures_key("account", name),
                                                        failures_key("address", address))
        return int(account_fails or 0) >= ACCOUNT_FAILURES or int(address_fails or 0) >= ADDRESS_FAILURES

    def _count_failure(self, name: str, address: str) -> None:
        self._redis.eval(_COUNT_FAILURE, 2, failures_key("account", name), failures_key("address", address),
                         FAILURE_WINDOW)

    # -- which events an organiser runs --------------------------------------------------
    def assign_event(self, name: str, event_id: str) -> None:
        self._require(name)
        pipe = self._redis.pipeline(transaction=True)
        pipe.sadd(organisers_key(event_id), name)
        pipe.sadd(owned_key(name), event_id)
        pipe.execute()

    def unassign_event(self, name: str, event_id: str) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.srem(organisers_key(event_id), name)
        pipe.srem(owned_key(name), event_id)
        pipe.execute()

    def organisers(self, event_id: str) -> list[str]:
        return sorted(self._redis.smembers(organisers_key(event_id)))

    def events_run_by(self, name: str) -> list[str]:
        return sorted(self._redis.smembers(owned_key(name)))

    def runs(self, account: Account, event_id: str) -> bool:
        """May this account see the lists of this event? Admins all; organisers their own."""
        if account.role == "admin":
            return True
        return account.role == "organiser" and bool(self._redis.sismember(organisers_key(event_id), account.name))


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        return False
