"""Query results as rows keyed by column name: what the report and digest templates read."""

from __future__ import annotations

from typing import Any

import duckdb


def dict_rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | dict[str, Any]) -> list[dict[str, Any]]:
    """Each row of the query as a dict from its column names, in the query's order."""
    result = con.execute(sql, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
