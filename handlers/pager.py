"""Paging of long replies: WeChat drops text replies above about 2,048 bytes,
and a list longer than a phone screen is not read.

A list (events, postings, search results) goes a screen at a time: listing()
sends the first page and keeps the rest. A reply over the byte limit is cut at
line ends into pages (fit()). Either way the rest waits in Redis until the user
sends `更多`.
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
        pages = [page + footer for page in pages[:-1]] + pages[-1:]  # each page says whether more follow
        pipe = self._redis.pipeline(transaction=False)
        k = user_key(openid, "more")
        pipe.delete(k)
        pipe.rpush(k, *pages[1:])
        pipe.expire(k, PAGES_TTL)
        pipe.execute()
        return pages[0]

    def listing(self, openid: str, head: str, items: list[str], per_page: int, tail: str = "") -> str:
        """The first screen of a list (head, per_page items, tail); later screens wait for `更多`."""
        chunks = [items[i:i + per_page] for i in range(0, len(items), per_page)] or [[]]
        pages = ["\n".join(part for part in ([head] if n == 0 else []) + chunk + ([tail] if n == 0 else []) if part)
                 for n, chunk in enumerate(chunks)]
        k = user_key(openid, "more")
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(k)
        if len(pages) > 1:
            total = len(pages)
            pipe.rpush(k, *(page + "\n" + self._texts.get("general.more_page", n=n, total=total)
                            if n < total else page for n, page in enumerate(pages[1:], start=2)))
            pipe.expire(k, PAGES_TTL)
        pipe.execute()
        if len(pages) == 1:
            return pages[0]
        return pages[0] + "\n" + self._texts.get("general.more_page", n=1, total=len(pages))

    def next_page(self, openid: str) -> str | None:
        """Return the next stored page (it says itself whether more follow); None when none."""
        return self._redis.lpop(user_key(openid, "more"))


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
    items: list[list[str]] = []  # each item's lines, joined once at the end (linear in the text's length)
    for line in lines:
        if items and line.startswith((" ", "\u3000")):
            items[-1].append(line)
        else:
            items.append([line])
    return ["\n".join(item) for item in items]


def _cut_long_lines(lines: list[str], limit: int):
    """Lines longer than limit bytes cut at character boundaries; each line is encoded once (linear time)."""
    for line in lines:
        data = line.encode("utf-8")
        start = 0
        while len(data) - start > limit:
            end = start + limit
            while end > start and (data[end] & 0xC0) == 0x80:  # never inside a character
                end -= 1
            yield data[start:end].decode("utf-8")
            start = end
        yield data[start:].decode("utf-8") if start else line


def _size(text: str) -> int:
    return len(text.encode("utf-8"))
