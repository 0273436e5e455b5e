"""A source's stored cursor, read by the extract step before it fetches."""

from __future__ import annotations

import duckdb


def stored_state_json(con: duckdb.DuckDBPyConnection, source_id: str) -> str | None:
    """The source's state as the JSON text it was stored as; None for a source never loaded."""
    rows = con.execute("SELECT state::VARCHAR FROM source_state WHERE source_id = ?", [source_id]).fetchall()
    return rows[0][0] if rows else None
