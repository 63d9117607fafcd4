"""People: the branch a member belongs to, and the contact details they consented to give.

A profile is one Redis hash per user. Name and phone are kept only after the
user agreed to the personal-information notice; `删除我的信息` removes them.

The console finds people through an index the profile writes keep (no keyspace scan): a sorted set per character
of a name ("<name>\\0<openid>", all scores 0, so it reads in name order) and one of reversed phone numbers (a
suffix of digits is a prefix there). A third, DUE, holds everyone with contact details scored by a time at or
before their last activity, so the nightly retention sweep reads only who may be due (domain/privacy.py). The index
lives in its own slot ({people}): it is written before the profile and cleared after it, so a process killed
between the two leaves an entry that find() checks against the profile and drops, never a person it cannot find.
`build_index` makes it for a store written before it existed (domain/indexes.py runs it once).
"""
from __future__ import annotations

from typing import Callable

import re
import time
from dataclasses import dataclass

from domain.keys import key, user_key
from domain.keyscan import scan_step
from domain.userwrites import held, one_server

PHONE = re.compile(r"^1[3-9]\d{9}$")
_PREFIX, _SUFFIX = user_key("\0", "profile").split("\0")  # a profile key around its openid
BRANCHES = key("{quiz}", "branches")  # hash: branch id -> name (ordered by id)
PHONES = key("{people}", "phones")  # zset, scores 0: "<phone reversed>\0<openid>"
DUE = key("{people}", "due")  # zset: openid (with contact details) -> a time at or before their last activity
_SEP = "\0"
FIND_SCAN = 500  # index entries read per round trip while finding people


def name_index_key(char: str) -> str:
    return key("{people}", "name", char)  # zset, scores 0: "<name>\0<openid>" for names holding char


def _index_ops(pipe, openid: str, name: str, phone: str, add: bool) -> None:
    """Queue the index entries of one name and phone: added, or removed."""
    for char in set(name or ""):
        member = f"{name}{_SEP}{openid}"
        pipe.zadd(name_index_key(char), {member: 0}) if add else pipe.zrem(name_index_key(char), member)
    if phone:
        member = f"{phone[::-1]}{_SEP}{openid}"
        pipe.zadd(PHONES, {member: 0}) if add else pipe.zrem(PHONES, member)


class _Held:
    """_index_ops' pipeline interface over a message's held writes (domain/userwrites.py)."""

    def __init__(self, batch):
        self._batch = batch

    def zadd(self, key: str, mapping: dict) -> None:
        for member, score in mapping.items():
            self._batch.add("ZADD", key, score, member)

    def zrem(self, key: str, member: str) -> None:
        self._batch.add("ZREM", key, member)


MAX_BRANCH_NAME = 30


class BranchError(ValueError):
    """A branch that cannot be kept: which field (编号, 名称) and why, in words staff read."""

    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


def branch_id(text) -> str:
    """A branch id as staff type it: letters, digits, - and _, at most 20."""
    bid = str(text if text is not None else "").strip()
    if not bid:
        raise BranchError("编号", "没有填写")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,20}", bid):
        raise BranchError("编号", f"“{bid}”只能用字母、数字、- 和 _，最多20个字符")
    return bid


def branch_name(text, branches: list[tuple[str, str]], branch_id: str = "") -> str:
    """A branch's name, checked: present, not too long, not already another branch's."""
    name = re.sub(r"\s+", " ", str(text if text is not None else "")).strip()
    if not name:
        raise BranchError("名称", "没有填写")
    if len(name) > MAX_BRANCH_NAME:
        raise BranchError("名称", f"最多{MAX_BRANCH_NAME}个字，现在{len(name)}个字")
    other = next((bid for bid, n in branches if n == name and bid != branch_id), None)
    if other:
        raise BranchError("名称", f"“{name}”已经是编号 {other} 的支部名称")
    return name


def branch_members_key(branch_id: str) -> str:
    return key("{quiz}", "branch", branch_id)


def mask_phone(phone: str) -> str:
    """13812341234 -> 138****1234."""
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) == 11 else "***"


def mask_name(name: str) -> str:
    """张小明 -> 张*明, 李雷 -> 李*."""
    if not name:
        return ""
    return name[0] + "*" if len(name) <= 2 else name[0] + "*" * (len(name) - 2) + name[-1]


def normalize_phone(text: str) -> str | None:
    """Return an 11-digit mainland mobile number from what the user typed, or None."""
    digits = re.sub(r"[\s\-]", "", text or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    return digits if PHONE.match(digits) else None


# Replies to the question before the name (the consent notice) and other everyday answers:
# never a name, however plausible their length (`同意` sent twice is not 同*).
NOT_NAMES = frozenset("""同意 我同意 同意了 不同意 好 好的 好滴 行 可以 是 是的 对 对的 嗯 嗯嗯 ok 确认 确定 知道了 收到 明白
取消 退出 不要 不用 没有 无 否 不是 谢谢 你好 您好 在吗 报名 志愿 答题 岗位 投递 帮助 姓名 名字 真实姓名 不知道""".split())
_CHINESE_NAME = re.compile(r"[\u4e00-\u9fff]{2,6}")  # 王芳, 欧阳娜娜; longer ones are written with ·
_DOTTED_NAME = re.compile(r"[\u4e00-\u9fff]{1,10}(?:·[\u4e00-\u9fff]{1,10}){1,3}")  # 买买提·艾力
_LATIN_NAME = re.compile(r"[A-Za-z]+(?:[ .'·-][A-Za-z]+){0,4}")  # Anna Li


def valid_name(text: str) -> bool:
    """A plausible real name: 2 to 6 Chinese characters (or parts joined by ·), or a name in Latin
    letters; never a word that answers a question (同意, 是, 好) or a command, never digits."""
    text = re.sub(r"\s+", " ", (text or "").strip())
    if not 2 <= len(text) <= 20 or text.lower() in NOT_NAMES:
        return False
    return any(p.fullmatch(text) for p in (_CHINESE_NAME, _DOTTED_NAME, _LATIN_NAME))


def name_is_an_answer(text: str) -> bool:
    """`同意`, `好的`: a reply to an earlier question sent where the name is asked for."""
    return (text or "").strip().lower() in NOT_NAMES


FIRST_BIRTH_YEAR = 1940


def valid_birth_year(year, this_year: int) -> bool:
    """A four-digit year a resident could have been born in."""
    return isinstance(year, int) and FIRST_BIRTH_YEAR <= year <= this_year


class ProfileError(ValueError):
    """A correction that cannot be saved: which field, and why (in Chinese, for the page)."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}：{problem}")
        self.field, self.problem = field, problem


UNCHANGED = object()  # a correction's default: leave the field as it is


@dataclass
class Profile:
    openid: str
    name: str = ""
    phone: str = ""
    consent_at: int = 0
    branch: str = ""
    birth_year: int | None = None
    student: bool | None = None

    @property
    def has_contact(self) -> bool:
        return bool(self.name and self.phone and self.consent_at)

    def display_name(self) -> str:
        """What others may see of this person on a leaderboard."""
        return mask_name(self.name) if self.name else f"团员{self.openid[-4:]}"


class Profiles:
    def __init__(self, redis):
        self._redis = redis

    def get(self, openid: str) -> Profile:
        return _profile(openid, _with_held(openid, self._redis.hgetall(user_key(openid, "profile"))))

    @staticmethod
    def queue_get(pipe, openid: str) -> Callable[[dict], Profile]:
        """get() on a caller's pipeline (one round trip with the caller's other reads): queues the read and
        returns what turns its result into the Profile."""
        pipe.hgetall(user_key(openid, "profile"))
        return lambda stored: _profile(openid, _with_held(openid, stored))

    def _hset(self, openid: str, values: dict) -> None:
        """Write profile fields; within a message, held for its one write call (domain/userwrites.py)."""
        batch = held(openid)
        if batch is None:
            self._redis.hset(user_key(openid, "profile"), mapping=values)
            return
        batch.add("HSET", user_key(openid, "profile"), *(str(x) for kv in values.items() for x in kv))
        batch.profile.update({k: str(v) for k, v in values.items()})

    def many(self, openids: list[str]) -> dict[str, Profile]:
        pipe = self._redis.pipeline(transaction=False)
        for openid in openids:
            pipe.hgetall(user_key(openid, "profile"))
        return {o: _profile(o, d) for o, d in zip(openids, pipe.execute())}

    def set_details(self, openid: str, birth_year: int | None = None, student: bool | None = None) -> None:
        """Keep the details an event's requirements are checked against."""
        values = {}
        if birth_year is not None:
            values["birth_year"] = birth_year
        if student is not None:
            values["student"] = int(student)
        if values:
            self._hset(openid, values)

    def save_contact(self, openid: str, name: str, phone: str) -> None:
        """Keep name and phone; only after the user agreed to the notice."""
        self._write(openid, {"name": name.strip(), "phone": phone, "consent_at": int(time.time())})

    def save_name(self, openid: str, name: str) -> None:
        """Keep the real name alone (a service record needs no phone); only after the user agreed."""
        self._write(openid, {"name": name.strip(), "consent_at": int(time.time())})

    def save_imported_name(self, openid: str, name: str, consent_at: int) -> None:
        """A name loaded with consent given elsewhere (the demo's made-up members); a consent kept stays."""
        self._write(openid, {"name": name}, consent_at=consent_at)

    def _write(self, openid: str, values: dict, consent_at: int | None = None, cleared: tuple = ()) -> None:
        """Save profile fields with their index: the new entries before the profile, the replaced ones after
        (see the module's docstring). The profile's own fields change all at once or not at all.

        Within a message on one server, all of it is held for the message's one write call
        (domain/userwrites.py), in the same order; on a Redis Cluster the index (another slot) is written here."""
        k = user_key(openid, "profile")
        old_name, old_phone, old_consent = self._redis.hmget(k, "name", "phone", "consent_at")
        batch = held(openid)
        if batch is not None:
            old_name = batch.profile.get("name", old_name)
            old_phone = batch.profile.get("phone", old_phone)
            old_consent = batch.profile.get("consent_at", old_consent)
        name = values.get("name", old_name or "")
        phone = values.get("phone", old_phone or "")
        consent = values.get("consent_at", int(old_consent or 0) or consent_at or 0)
        replaced = (old_name if old_name and old_name != name else "",  # the entries to clear after the profile
                    old_phone if old_phone and old_phone != phone else "")
        if batch is not None and consent_at is None and not cleared and one_server(self._redis):
            hold = _Held(batch)
            _index_ops(hold, openid, name, phone, add=True)
            if name or phone or consent:
                batch.add("ZADD", DUE, "GT", int(consent or time.time()), openid)
            self._hset(openid, values)
            _index_ops(hold, openid, *replaced, add=False)
            return
        pipe = self._redis.pipeline(transaction=False)
        _index_ops(pipe, openid, name, phone, add=True)
        if name or phone or consent:
            pipe.zadd(DUE, {openid: int(consent or time.time())}, gt=True)  # never earlier than it was
        pipe.execute()
        if batch is not None and consent_at is None and not cleared:
            self._hset(openid, values)  # a Cluster: the person's own fields still ride in the message's call
        else:
            tx = self._redis.pipeline(transaction=True)  # the person's own fields: one slot
            if values:
                tx.hset(k, mapping=values)
            if consent_at is not None and not old_consent:
                tx.hsetnx(k, "consent_at", consent_at)
            if cleared:
                tx.hdel(k, *cleared)
            tx.execute()
        stale = self._redis.pipeline(transaction=False)
        _index_ops(stale, openid, *replaced, add=False)
        stale.execute()

    def find(self, query: str, limit: int = 50) -> list[Profile]:
        """People with contact details whose name contains query, or whose phone ends with it (4+ digits),
        by name: read through the index (see the module's docstring), each hit checked against the profile."""
        query = (query or "").strip()
        if not query:
            return []
        if query.isdigit() and len(query) >= 4:
            rev = query[::-1].encode()
            members = self._redis.zrangebylex(PHONES, b"[" + rev, b"[" + rev + b"\xff", start=0, num=10 * limit)
            hits = [m.split(_SEP)[-1] for m in members]
            found = [p for p in self.many(list(dict.fromkeys(hits))).values()
                     if p.consent_at and p.phone.endswith(query)]
            return sorted(found, key=lambda p: (p.name, p.openid))[:limit]
        chars = sorted(set(query))
        pipe = self._redis.pipeline(transaction=False)
        for char in chars:
            pipe.zcard(name_index_key(char))
        sizes = pipe.execute()
        if not all(sizes):
            return []
        rarest = name_index_key(min(zip(sizes, chars))[1])  # every hit is in each char's set: read the smallest
        found: list[Profile] = []
        start = 0
        while len(found) < limit:
            members = self._redis.zrange(rarest, start, start + FIND_SCAN - 1)  # in name order
            start += FIND_SCAN
            hits = [tuple(m.rsplit(_SEP, 1)) for m in members if query in m.rsplit(_SEP, 1)[0]]
            people = self.many([o for _, o in hits]) if hits else {}
            found += [people[o] for name, o in hits if people[o].consent_at and people[o].name == name]
            if len(members) < FIND_SCAN:
                break
        return found[:limit]

    def branches(self) -> list[tuple[str, str]]:
        return sorted(self._redis.hgetall(BRANCHES).items())

    def branch_size(self, branch_id: str) -> int:
        return self._redis.scard(branch_members_key(branch_id))

    def set_branch(self, openid: str, branch_id: str) -> None:
        old = self._redis.hget(user_key(openid, "profile"), "branch")
        pipe = self._redis.pipeline(transaction=False)
        if old and old != branch_id:
            pipe.srem(branch_members_key(old), openid)
        pipe.sadd(branch_members_key(branch_id), openid)
        pipe.hset(user_key(openid, "profile"), "branch", branch_id)
        pipe.execute()

    # -- branches: staff add and rename them (the console, a sheet); members keep theirs by id ------------
    def add_branch(self, name: str) -> str:
        """A new branch named name (checked); return its id, the next free b<n>."""
        name = branch_name(name, self.branches())
        taken = {bid for bid, _ in self.branches()}
        n = 1 + max((int(b[1:]) for b in taken if re.fullmatch(r"b\d+", b)), default=len(taken))
        while not self._redis.hsetnx(BRANCHES, f"b{n}", name):  # another admin added one at the same moment
            n += 1
        return f"b{n}"

    def rename_branch(self, branch_id: str, name: str) -> None:
        """Give a branch a new name (checked); its members and their results stay with it."""
        branches = self.branches()
        if branch_id not in dict(branches):
            raise BranchError("编号", f"没有编号为 {branch_id} 的支部")
        self._redis.hset(BRANCHES, branch_id, branch_name(name, branches, branch_id))

    def save_branches(self, pairs: list[tuple[str, str]]) -> None:
        """Add or rename several branches at once (a checked sheet: see branch_id and branch_name)."""
        if pairs:
            self._redis.hset(BRANCHES, mapping=dict(pairs))

    def correct(self, openid: str, this_year: int, name=UNCHANGED, phone=UNCHANGED, birth_year=UNCHANGED,
                student=UNCHANGED, branch=UNCHANGED) -> dict[str, tuple[str, str]]:
        """Staff correct what a resident gave (at the resident's request): every value checked as the chat
        checks it, all saved at once or none. birth_year / student None: not known. Return what changed,
        {field: (before, after)} in the page's words."""
        before = self.get(openid)
        if not before.has_contact and not before.branch:
            raise ProfileError("人员", "没有这个人的个人信息（可能已经删除）")
        values, cleared, changes = {}, [], {}
        if name is not UNCHANGED or phone is not UNCHANGED:
            if not before.consent_at:
                raise ProfileError("姓名", "本人还没有同意登记个人信息，不能代为填写姓名和手机号")
        if name is not UNCHANGED:
            name = (name or "").strip()
            if not valid_name(name):
                raise ProfileError("姓名", "需要2—20个字，不含数字和符号，例如「张小明」")
            if name != before.name:
                values["name"], changes["姓名"] = name, (before.name, name)
        if phone is not UNCHANGED:
            number = normalize_phone(phone or "")
            if number is None:
                raise ProfileError("手机号", "需要11位手机号，例如「13812345678」")
            if number != before.phone:
                values["phone"], changes["手机号"] = number, (before.phone, number)
        if birth_year is not UNCHANGED and birth_year != before.birth_year:
            if birth_year is not None and not valid_birth_year(birth_year, this_year):
                raise ProfileError("出生年份", f"需要{FIRST_BIRTH_YEAR}—{this_year}之间的4位年份")
            if birth_year is None:
                cleared.append("birth_year")
            else:
                values["birth_year"] = birth_year
            changes["出生年份"] = (_shown(before.birth_year), _shown(birth_year))
        if student is not UNCHANGED and student != before.student:
            if student is None:
                cleared.append("student")
            else:
                values["student"] = int(bool(student))
            changes["在校学生"] = (_yes_no(before.student), _yes_no(student))
        branches = dict(self.branches())
        if branch is not UNCHANGED and (branch or "") != before.branch:
            if branch and branch not in branches:
                raise ProfileError("支部", f"没有编号为 {branch} 的支部")
            changes["支部"] = (branches.get(before.branch, before.branch), branches.get(branch, ""))
        if not changes:
            return {}
        if values or cleared:
            self._write(openid, values, cleared=tuple(cleared))  # the person's own fields: all or none (one slot)
        if "支部" in changes:  # the branch's member list is in another slot: as the chat's 支部 does it
            if branch:
                self.set_branch(openid, branch)
            else:
                self.leave_branch(openid)
        return changes

    def leave_branch(self, openid: str) -> None:
        old = self._redis.hget(user_key(openid, "profile"), "branch")
        if old:
            self._redis.hdel(user_key(openid, "profile"), "branch")
            self._redis.srem(branch_members_key(old), openid)

    def forget_contact(self, openid: str) -> None:
        """Delete name, phone, consent and details; the branch (no personal data) stays for statistics.
        The index entries go first: a deletion killed half-way leaves no name in the index (run again, it
        finishes)."""
        k = user_key(openid, "profile")
        name, phone = self._redis.hmget(k, "name", "phone")
        pipe = self._redis.pipeline(transaction=False)
        _index_ops(pipe, openid, name or "", phone or "", add=False)
        pipe.execute()
        self._redis.hdel(k, "name", "phone", "consent_at", "birth_year", "student")
        self._redis.zrem(DUE, openid)


def build_index(redis, cursor: int, batch: int = 500) -> int:
    """Index one batch of the profiles a store holds (SCAN from cursor); return the next cursor (0: done).
    Run by domain/indexes.py once for a store written before the index existed; running it again adds nothing.
    On a Redis Cluster (a cursor per node) it indexes them all in one call."""
    return scan_step(redis, cursor, user_key("*", "profile"), batch, _index_profiles)


def _index_profiles(redis, keys: list[str]) -> None:
    openids = [k[len(_PREFIX):-len(_SUFFIX)] for k in keys]
    if not openids:
        return
    read = redis.pipeline(transaction=False)
    for openid in openids:
        read.hmget(user_key(openid, "profile"), "name", "phone", "consent_at")
        read.hget(user_key(openid, "follower"), "last_seen")
    rows = read.execute()
    pipe = redis.pipeline(transaction=False)
    for i, openid in enumerate(openids):
        (name, phone, consent), last_seen = rows[2 * i], rows[2 * i + 1]
        _index_ops(pipe, openid, name or "", phone or "", add=True)
        if name or phone or consent:
            pipe.zadd(DUE, {openid: max(int(consent or 0), int(last_seen or 0))}, gt=True)
    pipe.execute()


def _shown(year) -> str:
    return "" if year is None else str(year)


def _yes_no(value) -> str:
    return "" if value is None else ("是" if value else "否")


def _with_held(openid: str, stored: dict) -> dict:
    """The stored profile with the writes this message holds for it on top."""
    batch = held(openid)
    return {**stored, **batch.profile} if batch is not None and batch.profile else stored


def _profile(openid: str, d: dict) -> Profile:
    return Profile(openid, d.get("name", ""), d.get("phone", ""), int(d.get("consent_at") or 0), d.get("branch", ""),
                   int(d["birth_year"]) if d.get("birth_year") else None,
                   None if d.get("student") in (None, "") else d["student"] == "1")
