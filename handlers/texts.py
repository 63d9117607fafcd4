"""The words users read: YAML files in content/texts/, looked up by dotted key.

content/texts/general.yaml holding `welcome: ...` is Texts.get("general.welcome").
Templates use str.format fields ({name}). A template line that holds only fields
which all came out empty is dropped, so an optional part ("{waiting}") leaves
no blank line behind.
"""
from __future__ import annotations

from pathlib import Path

import yaml

# libyaml's parser when PyYAML was built with it (the wheels are): the texts were 40 % of building the app
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Texts:
    def __init__(self, entries: dict[str, str]):
        self._entries = entries

    @classmethod
    def load(cls, texts_dir: Path) -> "Texts":
        entries: dict[str, str] = {}
        for path in sorted(Path(texts_dir).glob("*.yaml")):
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}
            _flatten(path.stem, data, entries)
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
