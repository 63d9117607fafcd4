"""Paging of long replies: WeChat drops text replies above about 2,048 bytes.

A reply over the limit is cut at line ends into pages; the first is sent, the
rest wait in Redis until the user sends `更多`.
"""
from __future__ import annotations

from domain.keys import user_key

PAGES_TTL = 3600


class Pager:
    def __init__(self, redis, texts, max_bytes: int):
        self._redis = redis
        self._texts = texts
        self._max = max_bytes

    def fit(self, openid: str, text: str | None) -> str | None:
        """Return text if it fits, else its first page, keeping the rest for `更多`."""
        if text is None or _size(text) <= self._max:
            return text
        footer = "\n" + self._texts.get("general.more_footer")
        pages = split_pages(text, self._max - _size(footer))
        pipe = self._redis.pipeline(transaction=False)
        k = user_key(openid, "more")
        pipe.delete(k)
        pipe.rpush(k, *pages[1:])
        pipe.expire(k, PAGES_TTL)
        pipe.execute()
        return pages[0] + footer

    def next_page(self, openid: str) -> str | None:
        """Return the next stored page, with the footer when more remain; None when none."""
        k = user_key(openid, "more")
        pipe = self._redis.pipeline(transaction=False)
        pipe.lpop(k)
        pipe.llen(k)
        page, left = pipe.execute()
        if page is None:
            return None
        return page + ("\n" + self._texts.get("general.more_footer") if left else "")


def split_pages(text: str, limit: int) -> list[str]:
    """Cut text into pages of at most `limit` UTF-8 bytes, between items where possible.

    An indented line belongs to the item above it (a list row and its details),
    so a page break never separates them unless the item alone is too long.
    """
    pages, current = [], ""
    for line in _cut_long_lines(_items(text.split("\n")), limit):
        candidate = f"{current}\n{line}" if current else line
        if _size(candidate) > limit:
            pages.append(current)
            current = line
        else:
            current = candidate
    if current:
        pages.append(current)
    return [p.strip("\n") for p in pages if p.strip()]


def _items(lines: list[str]) -> list[str]:
    items: list[str] = []
    for line in lines:
        if items and line.startswith((" ", "\u3000")):
            items[-1] += "\n" + line
        else:
            items.append(line)
    return items


def _cut_long_lines(lines: list[str], limit: int):
    for line in lines:
        while _size(line) > limit:
            cut = len(line.encode("utf-8")[:limit].decode("utf-8", "ignore"))
            yield line[:cut]
            line = line[cut:]
        yield line


def _size(text: str) -> int:
    return len(text.encode("utf-8"))
