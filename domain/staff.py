"""Staff accounts for the web console: names, roles, passwords, login limits, event ownership.

Rules, all decided here:
- three roles: admin (everything, accounts), organiser (their own events),
  jobs (postings and the people interested in them);
- a new account, or one whose password an admin reset, gets a one-time password
  and must change it at its first login;
- passwords are hashed with Argon2id (argon2-cffi); the hash, never the password, is kept;
- failed logins are counted in Redis (every web worker sees the same counts) per
  account+address pair, per address, and per account; past a limit, logins are
  refused for the rest of the window whatever the password. A stranger can only
  lock the pair they use (and their own address), never the real admin at their
  usual address: the per-account ceiling (against guessing from many addresses)
  does not apply to an address this account signed in from before. An attempt is
  counted before its password is checked, atomically, so simultaneous tries check
  at most the limit; a success takes its count back. Unknown names cost the same
  Argon2 check as real ones, and a name too long to be one never reaches a key;
- a new password must not be weak (only digits, few different characters, a common
  one, or the account's name); changing it is limited like logins;
- sessions are records in Redis: logging out deletes one; changing or resetting
  the password, or deleting the account, deletes all of the account's; each ends
  after an idle time and, whatever happens, an absolute lifetime; an account
  created later under the same name is another account (its own id) and never
  takes over an old session.

Keys live under the {staff} hash tag.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain import clock
from domain.keys import key

ROLES = ("admin", "organiser", "jobs")
ROLE_NAMES = {"admin": "管理员", "organiser": "活动组织者", "jobs": "就业联络员"}
NAMES = key("{staff}", "names")  # set of account names
MIN_PASSWORD = 10
MAX_PASSWORD = 256  # Argon2 hashes anything; a bound keeps a request's cost bounded
PAIR_FAILURES, ADDRESS_FAILURES, ACCOUNT_FAILURES = 5, 30, 100  # failed logins allowed per window
CHANGE_FAILURES = 5  # wrong old passwords allowed per window when changing a password
FAILURE_WINDOW = 15 * 60  # seconds
KNOWN_ADDRESS_DAYS = 90  # an address that signed in to an account stays "known" to it this long
# Passwords people pick first (here and in published leak lists); lower case, compared without case.
COMMON_PASSWORDS = frozenset("""
password password1 password123 passw0rd p@ssw0rd p@ssword qwertyuiop qwerty123 qwerty1234 qwertyuiop123
1qaz2wsx 1qaz2wsx3edc qazwsxedc qazwsxedcrfv zaq12wsx asdfghjkl asdfghjkl123 zxcvbnm123 abc123456 abcd123456
abcdefghij abcdefg123 a123456789 aa123456789 woaini1314 woaini520 iloveyou iloveyou1 5201314520 wodemima123
administrator admin12345 admin123456 changeme123 welcome123 letmein123 trustno1234 football123 baseball123
sunshine123 princess123 dragon1234 monkey1234 superman123 master1234 youthbot123 huanying123 zhongguo123
""".split())
# Letters that cannot be misread on a slip of paper (no 0/O, 1/l/I).
_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

_hasher = PasswordHasher()


def account_key(name: str) -> str:
    return key("{staff}", "account", name)


def failures_key(kind: str, who: str) -> str:
    return key("{staff}", "failures", kind, who)


def pair_key(name: str, address: str) -> str:
    return key("{staff}", "failures", "pair", name, address)


def known_key(name: str) -> str:
    return key("{staff}", "known", name)  # set: addresses this account signed in from


def session_key(sid: str) -> str:
    return key("{staff}", "session", sid)  # hash: name, account id, started


def sessions_key(name: str) -> str:
    return key("{staff}", "sessions", name)  # set: the account's session ids


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
    uid: str = ""  # made at creation: an account created later under the same name is another account

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


def weak_password(password: str, name: str = "") -> str:
    """Why a new password is too weak, in the staff's words ("" if it is not)."""
    low = password.lower()
    if len(password) < MIN_PASSWORD:
        return f"新密码至少{MIN_PASSWORD}个字符"
    if len(password) > MAX_PASSWORD:
        return f"新密码最多{MAX_PASSWORD}个字符"
    if password.isdigit():
        return "新密码不能只有数字：请加上字母或符号"
    if len(set(low)) < 4:
        return "新密码重复的字符太多，请换一个"
    if low in COMMON_PASSWORDS or low.rstrip("0123456789!.@#") in COMMON_PASSWORDS:
        return "这个密码太常见，很容易被猜到，请换一个"
    if name and (low == name.lower() or name.lower() in low):
        return "新密码不能包含账号名"
    return ""


_dummy_hash: list[str] = []


def _dummy() -> str:
    """A hash no password matches, checked for unknown names so that they cost what real ones do."""
    if not _dummy_hash:
        _dummy_hash.append(_hasher.hash(secrets.token_hex(16)))
    return _dummy_hash[0]


# Take one attempt if no limit is reached (KEYS: pair, address, account; ARGV: window, the three limits,
# whether the address is known to the account). Counted before the password is checked: atomic, so
# simultaneous tries past the limit are refused without a check.
_TAKE_ATTEMPT = """
local limits = {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])}
for i, k in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', k) or '0')
  if n >= limits[i] and not (i == 3 and ARGV[5] == '1') then return 0 end
end
for _, k in ipairs(KEYS) do
  if redis.call('INCR', k) == 1 then redis.call('EXPIRE', k, ARGV[1]) end
end
return 1
"""
# Give an attempt back after a success (the keys are only ever lowered, never below zero).
_GIVE_BACK = """
for _, k in ipairs(KEYS) do
  if tonumber(redis.call('GET', k) or '0') > 0 then redis.call('DECR', k) end
end
return 1
"""


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
                                                      "created": int(time.time()), "uid": secrets.token_hex(8)})
        self._redis.sadd(NAMES, name)
        return password

    def get(self, name: str) -> Account | None:
        data = self._redis.hgetall(account_key(name)) if name and valid_name(name) else {}
        if not data.get("role"):
            return None
        return Account(name, data["role"], data.get("must_change") == "1", int(data.get("epoch", 1)),
                       int(data.get("created", 0)), data.get("uid", ""))

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
        self.end_sessions(name)
        for event_id in self._redis.smembers(owned_key(name)):
            self._redis.srem(organisers_key(event_id), name)
        self._redis.delete(account_key(name), owned_key(name), known_key(name))
        self._redis.srem(NAMES, name)
        self.end_sessions(name)  # one opened while the account was being deleted

    def _require(self, name: str) -> Account:
        account = self.get(name)
        if account is None:
            raise StaffError(f"没有账号 {name}")
        return account

    # -- passwords and logins --------------------------------------------------------
    def login(self, name: str, password: str, address: str) -> Login:
        """Check a login under the limits (see the module's rules); 'locked' past them, whatever the password."""
        name = name if valid_name(name) else ""  # never a key from a name no account can have
        password = password[:MAX_PASSWORD + 1]
        keys = self._attempt_keys(name, address)
        known = bool(name) and bool(self._redis.sismember(known_key(name), address or "-"))
        if not self._redis.eval(_TAKE_ATTEMPT, 3, *keys, FAILURE_WINDOW, PAIR_FAILURES, ADDRESS_FAILURES,
                                ACCOUNT_FAILURES, int(known)):
            return Login("locked")
        account = self.get(name)
        stored = self._redis.hget(account_key(name), "hash") if account else None
        ok = _verify(stored or _dummy(), password) and stored is not None
        if not ok:
            return Login("bad")
        self._redis.delete(keys[0])
        self._redis.eval(_GIVE_BACK, 2, keys[1], keys[2])
        pipe = self._redis.pipeline(transaction=True)
        pipe.sadd(known_key(name), address or "-")
        pipe.expire(known_key(name), KNOWN_ADDRESS_DAYS * 86400)
        pipe.execute()
        if _hasher.check_needs_rehash(stored):
            self._redis.hset(account_key(name), "hash", _hasher.hash(password))
        return Login("ok", account)

    def _attempt_keys(self, name: str, address: str) -> list[str]:
        who = name or "-"
        return [pair_key(who, address or "-"), failures_key("address", address or "-"), failures_key("account", who)]

    def change_password(self, name: str, old: str, new: str) -> Account:
        """Change a password after checking the old one (limited like logins); the new one must be new and strong."""
        if not self._redis.eval(_TAKE_ATTEMPT, 1, failures_key("change", name), FAILURE_WINDOW, CHANGE_FAILURES,
                                0, 0, 0):
            raise StaffError(f"原密码输错次数过多，请{FAILURE_WINDOW // 60}分钟后再试")
        stored = self._redis.hget(account_key(name), "hash")
        if stored is None or not _verify(stored, old[:MAX_PASSWORD + 1]):
            raise StaffError("原密码不对")
        self._redis.delete(failures_key("change", name))
        problem = weak_password(new, name)
        if problem:
            raise StaffError(problem)
        if new == old:
            raise StaffError("新密码不能和原密码相同")
        self._set_password(name, new, must_change=False)
        return self.get(name)

    def _set_password(self, name: str, password: str, must_change: bool) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(account_key(name), mapping={"hash": _hasher.hash(password), "must_change": int(must_change)})
        pipe.hincrby(account_key(name), "epoch", 1)
        pipe.execute()
        self.end_sessions(name)

    # -- sessions ------------------------------------------------------------------------
    def open_session(self, account: Account, idle: int, lifetime: int, now: float | None = None) -> str:
        """A new session for account; returns its id (the cookie carries it, signed)."""
        sid = secrets.token_urlsafe(32)
        now = clock.now() if now is None else now
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(session_key(sid), mapping={"name": account.name, "uid": account.uid, "epoch": account.epoch,
                                             "started": int(now), "seen": int(now)})
        pipe.expire(session_key(sid), max(1, min(idle, lifetime)))
        pipe.sadd(sessions_key(account.name), sid)
        pipe.expire(sessions_key(account.name), lifetime)
        pipe.execute()
        return sid

    def session(self, sid: str, idle: int, lifetime: int, now: float | None = None) -> Account | None:
        """The account of a live session (its idle time starts again), or None: ended, expired, or not this account."""
        if not sid or not isinstance(sid, str) or len(sid) > 64:
            return None
        data = self._redis.hgetall(session_key(sid))
        if not data:
            return None
        now = clock.now() if now is None else now
        account = self.get(data.get("name", ""))
        left = int(data.get("started", 0)) + lifetime - now
        if account is None or account.uid != data.get("uid", "") or str(account.epoch) != data.get("epoch") \
                or left <= 0 or now - int(data.get("seen", 0)) > idle:
            self.end_session(sid)
            return None
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(session_key(sid), "seen", int(now))
        pipe.expire(session_key(sid), max(1, int(min(idle, left))))  # the record goes by itself, too
        pipe.execute()
        return account

    def end_session(self, sid: str) -> None:
        if not sid or not isinstance(sid, str) or len(sid) > 64:
            return
        name = self._redis.hget(session_key(sid), "name")
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(session_key(sid))
        if name:
            pipe.srem(sessions_key(name), sid)
        pipe.execute()

    def end_sessions(self, name: str) -> int:
        """End every session of the account; returns how many were open."""
        sids = list(self._redis.smembers(sessions_key(name)))
        pipe = self._redis.pipeline(transaction=True)
        for sid in sids:
            pipe.delete(session_key(sid))
        pipe.delete(sessions_key(name))
        pipe.execute()
        return len(sids)

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
