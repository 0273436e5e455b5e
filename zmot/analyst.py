"""Read-only access for analysts: `analyst.connect()` in a notebook, `zmot sql`, the demo's summary.

Every reader opens the published copy of the warehouse (warehouse/publish.py), never the writer's
file, so a connection held open for hours delays no load: it keeps the run it opened, and
`refresh(con)` (or a new connection) moves it on to the newest one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

import duckdb

from warehouse.publish import open_published, refresh
from zmot.runcontext import WAREHOUSE_FILE, default_warehouse
from zmot.tabular import write_rows

__all__ = ["QueryError", "connect", "refresh", "run_query", "query_to_parquet", "print_summary"]


def connect(where: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only DuckDB connection on the last published run.

    `where` is a data folder (its `zmot.duckdb`) or a warehouse file; by default the warehouse
    under `$ZMOT_DATA_DIR`, else `./data` (`$ZMOT_WAREHOUSE` names the file itself). Other tools
    rely on this call: `from zmot import analyst; con = analyst.connect()`.
    """
    return open_published(warehouse_path(where))


def warehouse_path(where: str | Path | None = None) -> Path:
    """The published warehouse file that `where` (a data folder, a file, or nothing) names."""
    if where is None:
        return default_warehouse()
    where = Path(where)
    return where / WAREHOUSE_FILE if where.is_dir() else where


class QueryError(ValueError):
    """The analyst's SQL could not run; the message is DuckDB's, with the query's first line."""


def run_query(warehouse: Path, sql: str, params: list[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one statement on a read-only connection: analysts cannot change the warehouse by accident."""
    con = open_published(warehouse)
    try:
        result = con.execute(sql, params or [])
        columns = [d[0] for d in result.description or []]
        return columns, result.fetchall()
    except duckdb.Error as exc:
        raise _query_error(exc, sql) from None
    finally:
        con.close()


def query_to_parquet(warehouse: Path, sql: str, params: list[Any] | None, out: Path) -> int:
    """Write a read-only query's result to a Parquet file; returns the number of rows."""
    import pyarrow.parquet as pq

    con = open_published(warehouse)
    try:
        table = con.sql(sql, params=params or None).to_arrow_table()
    except duckdb.Error as exc:
        raise _query_error(exc, sql) from None
    finally:
        con.close()
    pq.write_table(table, out)
    return table.num_rows


def _query_error(exc: duckdb.Error, sql: str) -> QueryError:
    first_line = sql.strip().splitlines()[0] if sql.strip() else "(empty query)"
    return QueryError(f"{type(exc).__name__}: {exc}\n  in: {first_line[:200]}")


SUMMARY_QUERIES = {
    "Mentions per brand and source": """
        SELECT brand, source_kind, source_id, count(*) AS mentions,
               min(published_day) AS first_day, max(published_day) AS last_day
        FROM v_brand_mentions GROUP BY ALL ORDER BY brand, mentions DESC
    """,
    "Sentiment split per brand": """
        SELECT brand, count(*) AS mentions,
               count(*) FILTER (WHERE sentiment_label = 'positive') AS positive,
               count(*) FILTER (WHERE sentiment_label = 'neutral') AS neutral,
               count(*) FILTER (WHERE sentiment_label = 'negative') AS negative,
               count(*) FILTER (WHERE sentiment_label = 'unscored') AS unscored,
               round(100.0 * count(*) FILTER (WHERE sentiment_label = 'negative') / count(*), 1) AS negative_pct
        FROM v_brand_mentions GROUP BY brand ORDER BY mentions DESC
    """,
    "Moments of truth per brand (ZMOT: researching; LZMOT: leaving or warning others; UMOT: advocacy)": """
        SELECT brand,
               count(*) FILTER (WHERE moment = 'zmot') AS zmot,
               count(*) FILTER (WHERE moment = 'lzmot') AS lzmot,
               count(*) FILTER (WHERE moment = 'umot') AS umot,
               count(*) FILTER (WHERE moment = 'zmot' AND sentiment_label = 'negative') AS zmot_negative,
               round(count(*) FILTER (WHERE sentiment_label = 'positive' OR moment = 'umot')
                     / nullif(count(*) FILTER (WHERE sentiment_label = 'negative' OR moment = 'lzmot'), 0), 2) AS good_per_bad
        FROM v_brand_mentions GROUP BY brand ORDER BY brand
    """,
    "Alerts": """
        SELECT brand, metric, window_start::DATE AS day, observed, round(expected, 1) AS expected,
               round(ratio, 1) AS ratio, coalesce(delivery, 'pending') AS delivery
        FROM alerts ORDER BY window_start, brand
    """,
    "Runs": """
        SELECT run_key, mentions_new, mentions_updated, rejects, len(days_touched) AS days_touched,
               sources_failed
        FROM runs ORDER BY run_key
    """,
}

EXAMPLE_QUERY = (
    "SELECT day, negative, mentions FROM daily_signals "
    "WHERE brand = 'Acme Mobile' AND product = '*' AND source_kind = '*' ORDER BY day DESC LIMIT 10"
)


def print_summary(warehouse: Path, out: TextIO) -> None:
    """The short picture a new user sees at the end of `zmot demo`."""
    for title, sql in SUMMARY_QUERIES.items():
        columns, rows = run_query(warehouse, sql)
        out.write(f"\n{title}\n")
        write_rows(out, columns, rows)
