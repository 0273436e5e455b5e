"""Share of voice: a brand's mentions against its configured competitors that are themselves watched
brands. One definition for `zmot report` and the dashboard."""

from __future__ import annotations

from datetime import date
from typing import Any

VOICE_SQL = """
SELECT brand, sum(mentions) AS mentions, sum(negative) AS negative, sum(zmot) AS zmot, sum(lzmot) AS lzmot
FROM daily_signals
WHERE product = '*' AND source_kind = '*' AND day BETWEEN ? AND ? AND list_contains(?, brand)
GROUP BY 1 ORDER BY 2 DESC, 1
"""

VOICE_DAILY_SQL = """
SELECT day, brand, mentions, negative
FROM daily_signals
WHERE product = '*' AND source_kind = '*' AND day BETWEEN ? AND ? AND list_contains(?, brand)
ORDER BY day, brand
"""


def compared_brands(con: Any, brand: str) -> list[str]:
    """The brand first, then its competitors as brands.yaml names them."""
    competitors = con.execute("SELECT competitors FROM brands WHERE brand = ?", [brand]).fetchall()
    return [brand, *(c for c in (competitors[0][0] or []) if c != brand)] if competitors else [brand]


def voice_params(names: list[str], first: date, last: date) -> list[Any]:
    return [first, last, names]


def with_shares(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each brand's share of the compared brands' mentions."""
    total = sum(r["mentions"] or 0 for r in rows) or 1
    return [{**r, "share": (r["mentions"] or 0) / total} for r in rows]
