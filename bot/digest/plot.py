"""Coverage timeline: a story's articles over time, one row per outlet (PNG via matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from io import BytesIO

import matplotlib

matplotlib.use("Agg")  # no display: render to files/bytes only

import matplotlib.dates as mdates
import matplotlib.pyplot as plt


def coverage_png(title: str, points: Sequence[tuple[datetime, str]]) -> bytes:
    """PNG bytes of a dot plot: x = publication time (UTC), y = outlet; one dot per article."""
    outlets = sorted({outlet for _, outlet in points}, key=str.casefold)
    rows = {outlet: i for i, outlet in enumerate(outlets)}
    height = 1.6 + 0.35 * max(len(outlets), 1)
    fig, ax = plt.subplots(figsize=(9, min(height, 12)), dpi=100)
    try:
        if points:
            times = [when for when, _ in points]
            ys = [rows[outlet] for _, outlet in points]
            ax.scatter(mdates.date2num(times), ys, s=48, color="#1f6feb", alpha=0.8, zorder=3)
            lo, hi = min(times), max(times)
            pad = max((hi - lo) * 0.05, timedelta(hours=2))
            ax.set_xlim(float(mdates.date2num(lo - pad)), float(mdates.date2num(hi + pad)))
        ax.set_yticks(range(len(outlets)), [o[:40] for o in outlets])
        ax.set_ylim(-0.7, max(len(outlets) - 0.3, 0.7))
        ax.grid(axis="x", color="#dddddd", zorder=0)
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.set_xlabel("published (UTC)")
        ax.set_title(title[:90], fontsize=11, loc="left")
        fig.tight_layout()
        buf = BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)
