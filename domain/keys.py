"""Redis key names: every key lives under "yb:".

Keys that one atomic step touches share a hash tag ("{...}") so that a Redis
Cluster keeps them in one slot. The full list is in README.md ("Redis keys").
"""
from __future__ import annotations


def key(*parts: object) -> str:
    """Join parts into a namespaced key: key("msg", openid, 1) -> "yb:msg:<openid>:1"."""
    return "yb:" + ":".join(str(p) for p in parts)


def user_key(openid: str, *parts: object) -> str:
    """A key owned by one user, hash-tagged by openid: "yb:{u:<openid>}:flow"."""
    return key("{u:%s}" % openid, *parts)
