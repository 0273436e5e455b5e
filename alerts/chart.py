"""A small PNG of the series with the spike marked, to sit inline in the alert email."""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from datetime import datetime


def spike_chart(points: Sequence[tuple[datetime, float]], spike_at: datetime, expected: float, title: str) -> bytes:
    """Render the series (the last weeks before the spike and the spike) as PNG bytes."""
    # matplotlib takes 1.5 s to import: only a run that has an alert to send pays for it
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and workers
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")  # e.g. CJK brand names
        fig, ax = plt.subplots(figsize=(7.0, 2.6), dpi=110)
        try:
            ax.plot([p[0] for p in points], [p[1] for p in points], color="#4a6fa5", linewidth=1.6,  # type: ignore[arg-type]  # dates: the stubs miss matplotlib.dates' converter
                    marker="o", markersize=2.5, label="observed")
            ax.axhline(expected, color="#999999", linestyle="--", linewidth=1, label=f"expected ≈ {expected:.1f}")
            spike_values = [y for x, y in points if x == spike_at]
            if spike_values:
                ax.scatter([spike_at], spike_values, color="#c0392b", s=60, zorder=3, label="spike")  # type: ignore[arg-type]
            ax.set_title(title, fontsize=10, loc="left")
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))
            ax.grid(alpha=0.25)
            ax.legend(fontsize=7, loc="upper left", frameon=False)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
            fig.autofmt_xdate()
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", metadata={"Software": None})
            return buffer.getvalue()
        finally:
            plt.close(fig)
