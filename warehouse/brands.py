"""Which brands the warehouse knows, and the one a user's spelling means (case does not matter)."""

from __future__ import annotations

import duckdb


def signal_brands(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Brands that have daily signals, alphabetically."""
    return [r[0] for r in con.execute("SELECT DISTINCT brand FROM daily_signals ORDER BY 1").fetchall()]


def catalog_brands(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Brands of the loaded catalog (brands.yaml), alphabetically."""
    return [r[0] for r in con.execute("SELECT brand FROM brands ORDER BY 1").fetchall()]


def match_brand(known: list[str], brand: str) -> str | None:
    """The known brand spelled like `brand` up to case, or None."""
    return next((b for b in known if b.casefold() == brand.casefold()), None)
