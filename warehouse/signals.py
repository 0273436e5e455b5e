"""Daily signals and daily tag signals: recomputed only for the days a load touched, so a daily run stays cheap."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import duckdb

from warehouse.db import sql_text, transaction


def recompute_signals(con: duckdb.DuckDBPyConnection, days: Iterable[date]) -> int:
    """Rebuild daily_signals rows for `days` in one transaction; returns the rows written."""
    with transaction(con):
        written = recompute_signals_within(con, days)
    return written


def recompute_signals_within(con: duckdb.DuckDBPyConnection, days: Iterable[date]) -> int:
    """The same, inside the caller's transaction: the loader publishes a run and its signals at once.

    The days' daily_tag_signals too: a correction or an edit changes what a tag counts as negative."""
    days = sorted(set(days))
    if not days:
        return 0
    _touched(con, days)
    con.execute(sql_text("signals_recompute"))
    con.execute(sql_text("tag_signals_recompute"))
    return con.execute("SELECT count(*) FROM daily_signals WHERE day IN (SELECT day FROM touched_days)").fetchall()[0][0]


def recompute_tag_signals_within(con: duckdb.DuckDBPyConnection, days: Iterable[date]) -> None:
    """daily_tag_signals alone for `days`, in the caller's transaction (a retag changes no other signal)."""
    days = sorted(set(days))
    if days:
        _touched(con, days)
        con.execute(sql_text("tag_signals_recompute"))


def _touched(con: duckdb.DuckDBPyConnection, days: list[date]) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE touched_days AS SELECT unnest(?::DATE[]) AS day", [days])
