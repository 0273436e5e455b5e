"""Day-bar charts drawn as plain SVG geometry: each bar a link (click a day to filter) with its values as a tooltip."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

WIDTH = 600
HEIGHT = 120


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    total_y: float
    total_height: float
    part_y: float
    part_height: float
    href: str
    title: str
    highlight: bool


def day_bars(rows: list[dict[str, Any]], first: date, last: date, *, total: str, part: str,
             href: Any, highlight: tuple[date, date] | None = None) -> list[Bar]:
    """One bar per day from `first` to `last` (missing days are zero): `total` drawn light, `part` of it dark."""
    by_day = {r["day"]: r for r in rows}
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    peak = max([by_day.get(d, {}).get(total) or 0 for d in days] + [1])
    width = WIDTH / max(len(days), 1)
    bars = []
    for i, day in enumerate(days):
        row = by_day.get(day, {})
        t, p = row.get(total) or 0, row.get(part) or 0
        th, ph = HEIGHT * t / peak, HEIGHT * p / peak
        bars.append(Bar(
            x=round(i * width, 2), width=round(max(width - 1, 1), 2),
            total_y=round(HEIGHT - th, 2), total_height=round(th, 2),
            part_y=round(HEIGHT - ph, 2), part_height=round(ph, 2),
            href=href(day), title=f"{day}: {t:g} {total}, {p:g} {part}",
            highlight=bool(highlight and highlight[0] <= day <= highlight[1]),
        ))
    return bars
