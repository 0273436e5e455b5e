"""What the daily or weekly digest reads for one brand: period totals against the period before,
stories, alerts and the products and sources whose mentions moved."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from warehouse.rows import dict_rows

# moment -> how its stories are listed: worst LZMOT, newest ZMOT first
STORY_ORDER = {"lzmot": "sentiment_score ASC NULLS LAST, published_at DESC, mention_id",
               "zmot": "published_at DESC, mention_id"}


def period_totals(con: duckdb.DuckDBPyConnection, brand: str, start: date, before: date, end: date) -> list[dict[str, Any]]:
    """Mentions and moments summed over [start, end] (`now` true) and [before, start) (`now` false)."""
    return dict_rows(con, """
        SELECT day >= $start AS now, sum(mentions) AS mentions, sum(negative) AS negative,
               sum(zmot) AS zmot, sum(lzmot) AS lzmot, sum(umot) AS umot
        FROM daily_signals WHERE brand = $brand AND product = '*' AND source_kind = '*' AND day BETWEEN $before AND $end
        GROUP BY 1""", {"brand": brand, "start": start, "before": before, "end": end})


def digest_alerts(con: duckdb.DuckDBPyConnection, brand: str, start: date, end: date) -> list[dict[str, Any]]:
    """The brand's alerts whose window starts in the period, in time order, the most severe first within a window."""
    return dict_rows(con, """
        SELECT window_start, product, source_kind, metric, observed, expected, reason, drivers
        FROM alerts WHERE brand = $brand AND window_start::DATE BETWEEN $start AND $end
        ORDER BY window_start, severity DESC""", {"brand": brand, "start": start, "end": end})


def story_lines(con: duckdb.DuckDBPyConnection, brand: str, moment: str, start: date, end: date) -> list[tuple[Any, ...]]:
    """(published_at, source_kind, author, title and text as one line, url) of the moment's mentions in STORY_ORDER."""
    return con.execute(f"""
        SELECT published_at, source_kind, author,
               CASE WHEN title IS NULL OR starts_with(text, title) THEN text ELSE title || ' — ' || text END, url
        FROM v_brand_mentions
        WHERE brand = ? AND moment = ? AND published_day BETWEEN ? AND ?
        ORDER BY {STORY_ORDER[moment]}""", [brand, moment, start, end]).fetchall()


def mention_moves(
    con: duckdb.DuckDBPyConnection, brand: str, start: date, before: date, end: date
) -> list[tuple[str, int | None, int | None]]:
    """('product X' or 'source Y', mentions in [start, end], mentions in [before, start)) per product and source kind."""
    return con.execute("""
        SELECT CASE WHEN product <> '*' THEN 'product ' || product ELSE 'source ' || source_kind END AS what,
               sum(mentions) FILTER (WHERE day >= $start) AS now, sum(mentions) FILTER (WHERE day < $start) AS before
        FROM daily_signals
        WHERE brand = $brand AND day BETWEEN $before AND $end AND ((product <> '*') <> (source_kind <> '*'))
        GROUP BY 1""", {"brand": brand, "start": start, "before": before, "end": end}).fetchall()
