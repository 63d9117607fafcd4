"""Competition ranking ("1, 2, 2, 4"): what leaderboards and branch tables share."""
from __future__ import annotations

from typing import Callable, Iterable, TypeVar

T = TypeVar("T")


def ranked(items: Iterable[T], score: Callable[[T], object]) -> list[tuple[int, T]]:
    """[(rank, item)] for items already sorted best first; items with equal scores share a rank."""
    out, rank, previous = [], 0, object()
    for position, item in enumerate(items, start=1):
        if score(item) != previous:
            rank, previous = position, score(item)
        out.append((rank, item))
    return out
