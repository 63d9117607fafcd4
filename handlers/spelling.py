"""Near-misses of a command word: `答提` for `答题`, `报命 2` for `报名 2`.

People type Chinese with a pinyin keyboard, so a wrong character is almost
always one that sounds the same: 提 for 题, 原 for 愿, 命 for 名, 份 for 分.
A word that reads the same as a command (tones ignored, any reading of a
character with several) is taken as a near-miss. The readings come from
pypinyin's table of single characters, loaded on the first near-miss check
(about 0.25 s, once per process).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_WORD_AND_NUMBER = re.compile(r"^(\D+?)\s*(\d+)$")


@lru_cache(maxsize=1)
def _table() -> dict[int, str]:
    from pypinyin.pinyin_dict import pinyin_dict

    return pinyin_dict


@lru_cache(maxsize=4096)
def readings(ch: str) -> frozenset[str]:
    """Toneless readings of one character ({'ti', 'di', 'chi', 'shi'} for 提); itself when not Chinese."""
    raw = _table().get(ord(ch))
    if not raw:
        return frozenset({ch.lower()})
    return frozenset(_toneless(r) for r in raw.split(","))


def _toneless(syllable: str) -> str:
    plain = unicodedata.normalize("NFKD", syllable)
    return "".join(c for c in plain if not unicodedata.combining(c)).replace("ü", "v")


def sounds_like(typed: str, word: str) -> bool:
    """True when typed is another spelling of word: same length, each character sharing a reading."""
    return len(typed) == len(word) and typed != word and \
        all(a == b or readings(a) & readings(b) for a, b in zip(typed, word))


def suggest(text: str, words) -> list[str]:
    """Commands text probably meant (`报命 2` -> ['报名 2']), or []."""
    m = _WORD_AND_NUMBER.match(text)
    head, tail = (m.group(1).strip(), " " + m.group(2)) if m else (text, "")
    if not head or len(head) > 8 or not any("\u4e00" <= ch <= "\u9fff" for ch in head):
        return []
    return [w + tail for w in sorted(words) if sounds_like(head, w)][:2]
