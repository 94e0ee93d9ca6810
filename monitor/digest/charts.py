"""Matches per day as a small PNG bar chart (matplotlib, Agg backend: no display needed).

One chart per watchlist that matched anything; a quiet watchlist gets none. The bytes are
deterministic for the same data (no timestamps in the PNG), so a re-sent digest is identical.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from .model import Digest

BAR = "#2b6cb0"  # the HTML's accent colour, so the chart reads as part of the page
WIDTH_IN, HEIGHT_IN, DPI = 5.6, 1.6, 100  # 560 x 160 px: fits a mail column


def chart_png(per_day: Sequence[tuple[date, int]]) -> bytes:
    """A bar per local day, labelled with weekday and day of month."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    axes = figure.add_subplot()
    labels = [f"{day:%a} {day.day}" for day, _ in per_day]
    counts = [count for _, count in per_day]
    axes.bar(range(len(counts)), counts, color=BAR, width=0.7)
    axes.set_xticks(range(len(counts)), labels, fontsize=7)
    axes.tick_params(axis="y", labelsize=7)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for x, count in enumerate(counts):
        if count:
            axes.text(x, count, str(count), ha="center", va="bottom", fontsize=7)
    axes.set_ylim(0, max([*counts, 1]) * 1.25)
    figure.tight_layout(pad=0.4)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def digest_charts(digest: Digest) -> dict[str, bytes]:
    """Watchlist name -> PNG, for every watchlist with matches."""
    return {w.name: chart_png(w.per_day) for w in digest.watchlists if not w.quiet}
