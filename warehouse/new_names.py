"""New names worth tracking: what people name beside a brand that the catalog does not know yet
(a new competitor, a product, a campaign's hashtag), ranked by how much more it is named now than
before. One query (warehouse/sql/new_names.sql) serves the digest, analysts and the WNUT-17 benchmark."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb

from warehouse.db import sql_text

BEFORE_DAYS = 28
MIN_VOICES = 2

BRAND_TEXTS = """
    SELECT CASE WHEN published_day >= $start THEN 'now' ELSE 'before' END AS period,
           CASE WHEN author IS NULL OR author = '' THEN NULL ELSE source_kind || ':' || author END AS voice,
           CASE WHEN title IS NULL OR starts_with(text, title) THEN text ELSE title || ' . ' || text END AS text
    FROM v_brand_mentions
    WHERE brand = $brand AND published_day BETWEEN $before_start AND $end
"""
# Every name the catalog knows (any brand's, alias, product, competitor) and every text that matched one.
CATALOG_NAMES = """
    SELECT DISTINCT lower(name) AS name FROM (
        SELECT unnest([brand] || aliases || products || competitors) AS name FROM brands
        UNION ALL SELECT matched_text FROM mention_refs
    ) WHERE name IS NOT NULL AND name <> ''
"""


@dataclass(frozen=True)
class NewName:
    name: str  # as most often written
    kind: str  # handle | hashtag | product-like | name
    voices_now: int  # distinct authors (else mentions) naming it in the period
    voices_before: int  # ... in the period before
    lift: float  # smoothed rate now / rate before
    score: float  # the lift's z: ranks by lift and evidence together


def rank_names(con: duckdb.DuckDBPyConnection, texts_sql: str, known_sql: str, params: dict[str, Any], *,
               min_voices: int = MIN_VOICES, limit: int = 20) -> list[NewName]:
    """The ranking over any texts: `texts_sql` selects (period, voice, text), `known_sql` (name) casefolded."""
    query = sql_text("new_names").replace("{texts}", texts_sql).replace("{known}", known_sql)
    rows = con.execute(query, {**params, "min_voices": min_voices, "limit": limit}).fetchall()
    return [NewName(*row) for row in rows]


def new_names(con: duckdb.DuckDBPyConnection, brand: str, start: date, end: date, *, before_days: int = BEFORE_DAYS,
              min_voices: int = MIN_VOICES, limit: int = 20) -> list[NewName]:
    """Names seen with `brand` from `start` to `end` (inclusive) that the catalog lacks, against the
    `before_days` before `start`."""
    params = {"brand": brand, "start": start, "end": end, "before_start": start - timedelta(days=before_days)}
    return rank_names(con, BRAND_TEXTS, CATALOG_NAMES, params, min_voices=min_voices, limit=limit)
