"""The mentions behind an alert: the query the email quotes them from and shows to reproduce them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from warehouse.detect import METRICS, SeriesKey

# metric -> the order its mentions are quoted in (which mentions: METRICS): customers' own stories first
MENTION_ORDER = {
    "negative_mentions": "moment = 'lzmot' DESC, sentiment_score NULLS LAST, published_at, mention_id",
    "negative_share": "moment = 'lzmot' DESC, sentiment_score NULLS LAST, published_at, mention_id",
    "lzmot_mentions": "sentiment_score NULLS LAST, published_at, mention_id",
    "avg_rating": "rating, published_at, mention_id",
}


@dataclass(frozen=True)
class AlertMentions:
    """The WHERE clause (with ? parameters) and order that select one alert's mentions."""

    scope: str
    params: list[str]
    order: str

    @classmethod
    def of(cls, key: SeriesKey, day: datetime, metric: str) -> AlertMentions:
        parts = ["brand = ?", "product = ?", "published_day = ?::DATE", METRICS[metric].mentions]
        params = [key.brand, key.product, f"{day:%Y-%m-%d}"]
        if key.source_kind != "*":
            parts.append("source_kind = ?")
            params.append(key.source_kind)
        return cls(" AND ".join(parts), params, MENTION_ORDER[metric])

    def rows(self, con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
        """(published_at, source_id, author, title and text as one line, url, sentiment_label,
        sentiment_score, cluster_id) of each mention, in the metric's order."""
        return con.execute(
            f"""
            SELECT published_at, source_id, author,
                   CASE WHEN title IS NULL OR starts_with(text, title) THEN text ELSE title || ' — ' || text END,
                   url, sentiment_label, sentiment_score, cluster_id
            FROM v_target_mentions
            WHERE {self.scope}
            ORDER BY {self.order}
            """,
            self.params,
        ).fetchall()

    @property
    def reproduce_sql(self) -> str:
        """The query with its values written in, for an analyst to paste into a SQL shell."""
        shown = self.scope
        for value in self.params:
            shown = shown.replace("?", "'" + value.replace("'", "''") + "'", 1)
        return (f"SELECT published_at, source_id, sentiment_score, moment, rating, text FROM v_target_mentions "
                f"WHERE {shown} ORDER BY {self.order}")
