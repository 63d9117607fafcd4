"""Numbered service records (志愿证明) that a school or employer can check at /verify/<number>.

Rules, all decided here:
- one number per record: asking again for the same hours under the same name
  gives the same number; new hours make a new record (the old one stays
  checkable as it was issued);
- a number is the issue date, a sequence and ten random characters in two groups
  (TW20251203-00012-K7QMA-3HXPR: 50 random bits), so nobody can walk through the
  records by counting or guess one (with /verify's limit on misses per address,
  finding one valid number by guessing takes millions of years); numbers issued
  before with four characters stay checkable;
- what a record says is kept as issued (name, events, hours, issuer); deleting
  the person's data removes the name and the openid from their records, the hours stay.

Keys: the records in one hash (`yb:certificates`), each person's numbers under
their own tag (record fingerprint -> number).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, field

from domain import clock
from domain.keys import key, user_key

RECORDS = key("certificates")  # hash: number -> JSON Certificate
SEQ = key("certificates", "seq")
PRINT_SECRET = key("certificates", "print_secret")  # signs the links to a record's printable version
PRINT_DAYS = 30  # a printable version's link works this long; 志愿证明 again gives a fresh one
_CHECK_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: 5 bits each
CHECK_LENGTH = 10  # 50 random bits
NUMBER_PATTERN = r"TW\d{8}-\d{5}(?:-[A-Z0-9]{5}-[A-Z0-9]{5}|-[A-Z0-9]{4})?"


def _mine_key(openid: str) -> str:
    return user_key(openid, "certificates")  # hash: fingerprint -> number


@dataclass
class Certificate:
    number: str
    name: str  # "" once the person deleted their data
    issued: float
    issuer: str
    rows: list = field(default_factory=list)  # [[start, title, minutes]], oldest first
    openid: str = ""

    @property
    def minutes(self) -> int:
        return sum(int(m) for _, _, m in self.rows)


class Certificates:
    def __init__(self, redis):
        self._redis = redis

    def issue(self, openid: str, name: str, record: list[tuple[float, str, int]], issuer: str,
              now: float) -> Certificate:
        """The record's certificate: the one issued before for the same record and name, else a new one."""
        rows = [[int(start), title, int(minutes)] for start, title, minutes in record]
        fingerprint = hashlib.sha1(json.dumps([name, issuer, rows], ensure_ascii=False).encode()).hexdigest()[:16]
        number = self._redis.hget(_mine_key(openid), fingerprint)
        if number:
            found = self.get(number)
            if found:
                return found
        seq = self._redis.incr(SEQ)
        check = "".join(secrets.choice(_CHECK_LETTERS) for _ in range(CHECK_LENGTH))
        number = f"TW{clock.local(now):%Y%m%d}-{seq:05d}-{check[:5]}-{check[5:]}"
        cert = Certificate(number, name, int(now), issuer, rows, openid)
        self._redis.hset(RECORDS, number, json.dumps(asdict(cert), ensure_ascii=False))
        if not self._redis.hsetnx(_mine_key(openid), fingerprint, number):  # a second request won the race
            self._redis.hdel(RECORDS, number)
            return self.get(self._redis.hget(_mine_key(openid), fingerprint))
        return cert

    def get(self, number: str) -> Certificate | None:
        raw = self._redis.hget(RECORDS, (number or "").strip().upper())
        if not raw:
            return None
        try:
            return Certificate(**json.loads(raw))
        except (ValueError, TypeError):  # a record from before numbers had their own page
            return None

    # -- the printable version: a link only its owner gets (it shows the name whole, as the paper does) ----------
    def print_token(self, number: str, now: float) -> str:
        """A token for the printable version of record `number`, valid PRINT_DAYS days from now."""
        expires = int(now + PRINT_DAYS * 86400)
        return f"{expires}-{self._signature(number, expires)}"

    def print_allowed(self, number: str, token: str, now: float) -> bool:
        """Is token a valid, unexpired print token for this record?"""
        expires, _, signature = (token or "").partition("-")
        if not expires.isdigit() or int(expires) < now:
            return False
        return hmac.compare_digest(signature, self._signature(number, int(expires)))

    def _signature(self, number: str, expires: int) -> str:
        self._redis.set(PRINT_SECRET, secrets.token_hex(32), nx=True)
        secret = self._redis.get(PRINT_SECRET)
        return hmac.new(secret.encode(), f"{number.upper()}:{expires}".encode(), hashlib.sha256).hexdigest()[:24]

    def forget_name(self, openid: str) -> int:
        """Remove the person's name and openid from every record issued to them; the hours stay checkable."""
        numbers = self._redis.hvals(_mine_key(openid))
        for cert in filter(None, (self.get(n) for n in numbers)):
            cert.name, cert.openid = "", ""
            self._redis.hset(RECORDS, cert.number, json.dumps(asdict(cert), ensure_ascii=False))
        self._redis.delete(_mine_key(openid))
        return len(numbers)
