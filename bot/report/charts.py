"""The report's charts as PNG images (matplotlib, no display needed).

Chinese labels need a CJK font. A system one is used when there is one (Debian's
fonts-noto-cjk, which .ci/run installs; Source Han Sans; WenQuanYi; Windows' and
macOS's own); otherwise the Noto Sans CJK font that the notojp-matplotlib package
ships (a dependency), so a fresh machine with no CJK font still shows Chinese.
"""
from __future__ import annotations

import importlib.util
import io
import logging
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager, pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from domain.halfyear import HalfYear  # noqa: E402

log = logging.getLogger(__name__)
SYSTEM_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
                "Microsoft YaHei", "SimHei", "PingFang SC")
BLUE, ORANGE = "#2f6db5", "#e08a2c"
DPI = 200


@lru_cache(maxsize=1)
def cjk_family() -> str:
    """The name of a font family with Chinese glyphs that matplotlib can use."""
    for name in SYSTEM_FONTS:
        try:
            font_manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False)
            return name
        except ValueError:
            continue
    spec = importlib.util.find_spec("notojp_matplotlib")  # located, not imported: importing it changes rcParams
    if spec and spec.submodule_search_locations:
        for path in Path(next(iter(spec.submodule_search_locations)), "fonts").glob("*.otf"):
            font_manager.fontManager.addfont(str(path))
            return font_manager.FontProperties(fname=str(path)).get_name()
    log.warning("no CJK font found: chart labels will not show Chinese (apt-get install fonts-noto-cjk)")
    return "DejaVu Sans"


def _figure(width: float, height: float) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, height), dpi=DPI)
    ax = fig.subplots()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e5e8eb", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _style():
    return plt.rc_context({"font.family": [cjk_family(), "DejaVu Sans"], "font.size": 10,
                           "axes.unicode_minus": False})


def _plotted(h: HalfYear) -> tuple:
    """What the charts draw, and nothing else: (people per study session, (kind, hours) of the kinds with
    time, (category, positions, hires))."""
    return (tuple(len(r.participants) for r in h.study.sessions),
            tuple((k.kind, k.hours) for k in h.volunteering.kinds if k.minutes),
            tuple((c.name, c.headcount, c.hires) for c in h.jobs.categories))


def participation(h: HalfYear, labels: dict) -> bytes | None:
    return _participation(_plotted(h)[0], labels)


def hours_per_kind(h: HalfYear, labels: dict) -> bytes | None:
    return _hours_per_kind(_plotted(h)[1], labels)


def jobs_per_category(h: HalfYear, labels: dict) -> bytes | None:
    return _jobs_per_category(_plotted(h)[2], labels)


def _participation(counts: tuple, labels: dict) -> bytes | None:
    if not counts:
        return None
    with _style():
        fig, ax = _figure(7.0, 2.7)
        x = list(range(1, len(counts) + 1))
        ax.bar(x, counts, color=BLUE, width=0.7)
        ax.set_xticks(x, [str(i) for i in x], fontsize=8)
        ax.set_xlabel(labels["sessions_x"])
        ax.set_ylabel(labels["sessions_y"])
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # people: whole numbers
        for xi, c in zip(x, counts):
            ax.text(xi, c, str(c), ha="center", va="bottom", fontsize=6.5, color="#333")
        return _png(fig)


def _hours_per_kind(kinds: tuple, labels: dict) -> bytes | None:
    if not kinds:
        return None
    with _style():
        fig, ax = _figure(7.0, 0.32 * len(kinds) + 1.0)
        ax.grid(False)
        ax.grid(axis="x", color="#e5e8eb", linewidth=0.8)
        names = [kind for kind, _ in kinds][::-1]
        values = [hours for _, hours in kinds][::-1]
        ax.barh(names, values, color=BLUE, height=0.6)
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:g}", va="center", fontsize=8)
        ax.set_xlabel(labels["hours_x"])
        return _png(fig)


def _jobs_per_category(cats: tuple, labels: dict) -> bytes | None:
    if not cats:
        return None
    with _style():
        fig, ax = _figure(7.0, 3.2)
        x = list(range(len(cats)))
        positions, hires = [headcount for _, headcount, _ in cats], [n for _, _, n in cats]
        ax.bar([i - 0.2 for i in x], positions, width=0.4, color=BLUE, label=labels["jobs_positions"])
        ax.bar([i + 0.2 for i in x], hires, width=0.4, color=ORANGE, label=labels["jobs_hires"])
        for i, (p, n) in enumerate(zip(positions, hires)):
            ax.text(i - 0.2, p, str(p), ha="center", va="bottom", fontsize=7)
            ax.text(i + 0.2, n, str(n), ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, [name for name, _, _ in cats], fontsize=8.5)
        ax.set_ylabel(labels["jobs_y"])
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # positions and people: whole numbers
        ax.legend(frameon=False, fontsize=8.5)
        return _png(fig)


def all_charts(h: HalfYear, labels: dict) -> dict[str, tuple[str, bytes]]:
    """{section: (caption, png)} for the charts that have something to show.

    Drawn once for the same figures and words: the report page shows them, and the Word file asked for
    next holds them again (0.4 s a set for the demo half year on a 2-core machine, 0.2 ms when drawn before)."""
    return dict(_drawn(_plotted(h), tuple(sorted(labels.items()))))


@lru_cache(maxsize=8)
def _drawn(plotted: tuple, labels: tuple) -> dict[str, tuple[str, bytes]]:
    words = dict(labels)
    counts, kinds, cats = plotted
    made = {"study": (words["sessions"], _participation(counts, words)),
            "volunteering": (words["hours"], _hours_per_kind(kinds, words)),
            "services": (words["jobs"], _jobs_per_category(cats, words))}
    return {section: (caption, png) for section, (caption, png) in made.items() if png}
