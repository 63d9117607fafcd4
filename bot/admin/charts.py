"""Rows for the console's bar charts (drawn by the `bars` macro in _macros.html)."""
from __future__ import annotations


def row(label: str, parts: list[tuple[float, str]], text: str, href: str | None = None) -> dict:
    """One bar: its label, its segments [(value, css class)], the figure shown after it, and where it links."""
    return {"label": label, "parts": parts, "text": text, "href": href}
