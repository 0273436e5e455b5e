"""What `zmot report` reads for one brand and period: daily totals, sources, products, stories, alerts."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from warehouse.rows import dict_rows
from warehouse.share_of_voice import VOICE_SQL, compared_brands, voice_params, with_shares

# moment -> how its stories are ranked: worst LZMOT, newest ZMOT, warmest UMOT first
STORY_ORDER = {"lzmot": "sentiment_score ASC NULLS LAST, published_at DESC",
               "zmot": "published_at DESC", "umot": "sentiment_score DESC NULLS LAST, published_at DESC"}


def last_signal_day(con: duckdb.DuckDBPyConnection, brand: str) -> date:
    """The brand's newest day with signals (the report ends there unless told otherwise)."""
    day: date = con.execute("SELECT max(day) FROM daily_signals WHERE brand = ?", [brand]).fetchall()[0][0]
    return day


def daily_totals(con: duckdb.DuckDBPyConnection, brand: str, start: date, end: date) -> list[dict[str, Any]]:
    """The brand's all-products, all-sources signals per day, oldest first (days without any are absent)."""
    return dict_rows(con, """
        SELECT day, mentions, positive, neutral, negative, zmot, lzmot, umot, avg_sentiment, avg_rating, rating_count
        FROM daily_signals WHERE brand = ? AND product = '*' AND source_kind = '*' AND day BETWEEN ? AND ?
        ORDER BY day""", [brand, start, end])


def top_stories(con: duckdb.DuckDBPyConnection, brand: str, start: date, end: date, moment: str, limit: int) -> list[dict[str, Any]]:
    """The period's stories of one moment in STORY_ORDER; a cluster of near-copies is one story with its copies."""
    order = STORY_ORDER[moment]
    return dict_rows(con, f"""
        SELECT published_at, source_kind, source_id, author, title, text, url, rating, sentiment_label, sentiment_score,
               count(*) OVER (PARTITION BY cluster_id) - 1 AS copies
        FROM v_brand_mentions WHERE brand = ? AND published_day BETWEEN ? AND ? AND moment = ?
        QUALIFY row_number() OVER (PARTITION BY cluster_id ORDER BY {order}, mention_id) = 1
        ORDER BY {order} LIMIT {int(limit)}""", [brand, start, end, moment])


def source_totals(con: duckdb.DuckDBPyConnection, brand: str, start: date, end: date) -> list[dict[str, Any]]:
    """Mentions and negatives per source kind over the period, the busiest first."""
    return dict_rows(con, """
        SELECT source_kind, sum(mentions) AS mentions, sum(negative) AS negative
        FROM daily_signals WHERE brand = ? AND product = '*' AND source_kind <> '*' AND day BETWEEN ? AND ?
        GROUP BY 1 ORDER BY 2 DESC""", [brand, start, end])


def product_totals(con: duckdb.DuckDBPyConnection, brand: str, start: date, end: date) -> list[dict[str, Any]]:
    """Mentions, moments and the rating-weighted average rating per product over the period, the busiest first."""
    return dict_rows(con, """
        SELECT product, sum(mentions) AS mentions, sum(negative) AS negative, sum(zmot) AS zmot, sum(lzmot) AS lzmot,
               sum(avg_rating * rating_count) / nullif(sum(rating_count), 0) AS avg_rating, sum(rating_count) AS ratings
        FROM daily_signals WHERE brand = ? AND product <> '*' AND source_kind = '*' AND day BETWEEN ? AND ?
        GROUP BY 1 ORDER BY 2 DESC""", [brand, start, end])


def report_alerts(con: duckdb.DuckDBPyConnection, brand: str, start: date, end: date) -> list[dict[str, Any]]:
    """The brand's alerts whose window starts in the period, newest first, with how each was delivered."""
    return dict_rows(con, """
        SELECT window_start, product, source_kind, metric, observed, expected, reason, drivers, delivery
        FROM alerts WHERE brand = ? AND window_start::DATE BETWEEN ? AND ? ORDER BY window_start DESC""", [brand, start, end])


def share_of_voice(con: duckdb.DuckDBPyConnection, brand: str, start: date, end: date) -> list[dict[str, Any]]:
    """The brand against its watched competitors over the period, each with its share."""
    return with_shares(dict_rows(con, VOICE_SQL, voice_params(compared_brands(con, brand), start, end)))
