"""Daily signals: recomputed only for the days a load touched, so a daily run stays cheap."""

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
    """The same, inside the caller's transaction: the loader publishes a run and its signals at once."""
    days = sorted(set(days))
    if not days:
        return 0
    con.execute("CREATE OR REPLACE TEMP TABLE touched_days (day DATE)")
    con.executemany("INSERT INTO touched_days VALUES (?)", [[d] for d in days])
    con.execute(sql_text("signals_recompute"))
    return con.execute("SELECT count(*) FROM daily_signals WHERE day IN (SELECT day FROM touched_days)").fetchall()[0][0]
