"""The words users read: YAML files in content/texts/, looked up by dotted key.

content/texts/general.yaml holding `welcome: ...` is Texts.get("general.welcome").
Templates use str.format fields ({name}). A template line that holds only fields
which all came out empty is dropped, so an optional part ("{waiting}") leaves
no blank line behind.
"""
from __future__ import annotations

from pathlib import Path

import yaml

# libyaml's parser when PyYAML was built with it (its wheels are), the safe constructor either way: the texts were
# 40 % of building the app with the pure-Python one. The staff's YAML files are read with it too (bot/importers).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_parsed: dict[str, tuple[tuple, dict[str, str]]] = {}  # texts_dir -> (its files' names, mtimes and sizes, entries)


class Texts:
    def __init__(self, entries: dict[str, str]):
        self._entries = entries

    @classmethod
    def load(cls, texts_dir: Path) -> "Texts":
        """The texts of texts_dir; parsed again only when a file there was added, removed or changed."""
        paths = sorted(Path(texts_dir).glob("*.yaml"))
        stamp = tuple((p.name, st.st_mtime_ns, st.st_size) for p in paths for st in [p.stat()])
        cached = _parsed.get(str(texts_dir))
        if cached is not None and cached[0] == stamp:
            return cls(cached[1])
        entries: dict[str, str] = {}
        for path in paths:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}
            _flatten(path.stem, data, entries)
        _parsed[str(texts_dir)] = (stamp, entries)  # never changed after this: Texts only reads it
        return cls(entries)

    def get(self, key: str, **fields) -> str:
        """Return the text for key with its {fields} filled in."""
        template = self._entries[key]
        if not fields:
            return template.strip()
        lines = (line.format(**fields) if "{" in line else line for line in template.split("\n"))
        kept = [out for line, out in zip(template.split("\n"), lines) if out.strip() or not line.strip()]
        return "\n".join(kept).strip()

    def has(self, key: str) -> bool:
        return key in self._entries

    def values(self) -> list[str]:
        """Every template, unfilled (what the committee itself publishes)."""
        return list(self._entries.values())


def _flatten(prefix: str, data, out: dict) -> None:
    if isinstance(data, dict):
        for name, value in data.items():
            _flatten(f"{prefix}.{name}", value, out)
    else:
        out[prefix] = data
