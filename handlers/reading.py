"""How people write what the bot reads: traditional characters, and numbers said the Chinese way.

- Traditional characters (`報名 3`, `誌願`, `對`) are read as simplified, with
  OpenCC's tables (opencc-purepy, pure Python; loaded when a web worker boots,
  about 0.4 s): one conversion, the same everywhere. A name is kept as written.
- A numbered command (`报名 3`, `取消报名 257`, `活动 3`, `岗位 12`, `投递 5`) is
  recognised however the number is said: `报名三`, `报名3号`, `报名第3个`,
  `报名【3】` (how the lists show numbers), `报名 3 号活动`, `我要报名第三个活动`,
  `取消报名 二百五十七`. number() is the one parser; canonical() rewrites such a
  text to `报名 3` so every handler's pattern sees one form.
"""
from __future__ import annotations

import re
from functools import lru_cache

_CN_DIGITS = "零〇一二两三四五六七八九十百千万壹贰叁肆伍陆柒捌玖拾佰仟"
# 第 3 个 / 【3】 / (3) / 3号 / 三个活动 / 3号岗位: the number and what people put around it.
_NUMBER = re.compile(
    rf"^(?:第|No\.?|#)?\s*[【\[(（〔<《]?\s*(?P<n>\d{{1,7}}|[{_CN_DIGITS}]{{1,12}})\s*[】\])）〕>》]?\s*"
    r"(?:号|个|场|项|位|条)?\s*(?:的)?\s*(?:活动|志愿活动|岗位|职位|工作)?$", re.IGNORECASE)


@lru_cache(maxsize=1)
def _converter():
    from opencc_purepy import OpenCC

    return OpenCC("t2s")


def warm() -> None:
    """Load OpenCC's tables now (about 0.4 s, once per process) rather than on a user's first message."""
    _converter()


def simplified(text: str) -> str:
    """`報名 3` -> `报名 3`; text that is simplified (or not Chinese) comes back as it was."""
    if not text or all(ord(ch) < 0x3000 for ch in text):
        return text
    return _converter().convert(text)


def number(text: str) -> int | None:
    """The number in `3`, `三`, `第3个`, `【3】`, `3号活动`, `二百五十七`; None when text is not just a number."""
    m = _NUMBER.match((text or "").strip())
    if not m:
        return None
    n = m.group("n")
    if n.isdigit():
        return int(n)
    return _chinese_number(n)


def _chinese_number(text: str) -> int | None:
    import cn2an

    try:
        value = cn2an.cn2an(text, "normal")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return int(value) if value == int(value) and value >= 0 else None


def canonical(text: str, words) -> str:
    """`报名第三个活动` -> `报名 3` when text is one of words followed by a number said any way; else text."""
    for word in sorted(words, key=len, reverse=True):
        if text.startswith(word) and len(text) > len(word):
            n = number(text[len(word):])
            if n is not None:
                return f"{word} {n}"
    return text


def numbered_word(text: str, words) -> str | None:
    """The numbered command text starts with (`报名 abc` -> `报名`), for an answer that shows the format."""
    for word in sorted(words, key=len, reverse=True):
        if text.startswith(word):
            return word
    return None
