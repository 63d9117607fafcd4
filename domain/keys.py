"""Redis key names: every key lives under "yb:".

Keys that one atomic step touches share a hash tag ("{...}") so that a Redis
Cluster keeps them in one slot. The full list is in docs/development.md ("Redis keys").
"""
from __future__ import annotations


def key(*parts: object) -> str:
    """Join parts into a namespaced key: key("msg", openid, 1) -> "yb:msg:<openid>:1"."""
    return "yb:" + ":".join(str(p) for p in parts)


def user_key(openid: str, *parts: object) -> str:
    """A key owned by one user, hash-tagged by openid: "yb:{u:<openid>}:flow"."""
    return key("{u:%s}" % openid, *parts)


def ledger_key(openid: str, *parts: object) -> str:
    """The message ledger's key for one of openid's messages: "yb:{u:<openid>}:msg:<MsgId>", on the user's
    slot, so that a claim can ride in the first script a message runs on that slot (domain/scripting.py)."""
    return user_key(openid, "msg", *parts)


def legacy_ledger_key(openid: str, *parts: object) -> str:
    """The ledger key before it was user-tagged: "yb:msg:<openid>:<MsgId>". Still read and deleted until
    the last ones written expire (they lived `dedupe_ttl`, 10 minutes)."""
    return key("msg", openid, *parts)
