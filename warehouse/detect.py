"""Run spike detection over the warehouse's daily signals and store what fires as alerts.

Each series is judged causally, day by day, from the first day this run touched; alerts are keyed
by brand / product / source kind / metric / window, so reruns and backfills never duplicate them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

import duckdb

from warehouse.alert_drivers import alert_drivers
from warehouse.db import transaction
from warehouse.spikes import DetectorRules, Spike, detect_spikes


@dataclass(frozen=True)
class Metric:
    """A daily_signals series worth alerting on, and how to judge it."""

    expression: str  # over daily_signals s, {count} being a count column's suffix and {total} the total; NULL means "no value that day"
    kind: str  # count | ratio | level
    direction: str  # up | down
    zero_filled: bool  # a day without rows is a 0 (counts), or simply has no value
    mentions: str  # over v_target_mentions: the mentions that make the series (an alert's email and drivers)

    def sql(self, voices: str = "mentions") -> str:
        """The expression counting every mention, each cluster of near-copies once, or each author once."""
        return self.expression.format(count=VOICE_SUFFIX[voices], total=f"s.{voices}")


# alerts.yaml rules.voices -> the suffix of daily_signals' count columns (negative, negative_clusters, ...)
VOICE_SUFFIX = {"mentions": "", "clusters": "_clusters", "authors": "_authors"}
VOICE_NOTE = {"clusters": "counted in unique voices: near-copies once", "authors": "counted in unique voices: each author once"}
# Shares are only computed on days with enough mentions to mean something (see MIN_SHARE_VOLUME).
MIN_SHARE_VOLUME = 5
METRICS = {
    "negative_mentions": Metric("s.negative{count}", "count", "up", True, "sentiment_label = 'negative'"),
    "lzmot_mentions": Metric("s.lzmot{count}", "count", "up", True, "moment = 'lzmot'"),
    "negative_share": Metric(f"CASE WHEN {{total}} >= {MIN_SHARE_VOLUME} THEN s.negative{{count}} / {{total}} END", "ratio", "up", False,
                             "sentiment_label = 'negative'"),
    "avg_rating": Metric("s.avg_rating", "level", "down", False, "rating IS NOT NULL"),
}


@dataclass(frozen=True)
class SeriesKey:
    brand: str
    product: str = "*"
    source_kind: str = "*"


def alert_id(key: SeriesKey, metric: str, window_start: datetime) -> str:
    raw = "\x1f".join([key.brand, key.product, key.source_kind, metric, window_start.isoformat()])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:20]


def daily_series(
    con: duckdb.DuckDBPyConnection, key: SeriesKey, metric: str, first_day: date, last_day: date, voices: str = "mentions"
) -> list[tuple[datetime, float]]:
    """The metric per day; counts are zero-filled (a day without mentions has none), others skip the day."""
    spec = METRICS[metric]
    value = f"coalesce({spec.sql(voices)}, 0)" if spec.zero_filled else spec.sql(voices)
    rows = con.execute(
        f"""
        SELECT d::DATE AS day, ({value})::DOUBLE AS value
        FROM range(?::DATE, ?::DATE + INTERVAL 1 DAY, INTERVAL 1 DAY) AS r(d)
        LEFT JOIN daily_signals s
          ON s.day = r.d::DATE AND s.brand = ? AND s.product = ? AND s.source_kind = ?
        ORDER BY day
        """,
        [first_day, last_day, key.brand, key.product, key.source_kind],
    ).fetchall()
    return [(datetime.combine(day, time(0)), v) for day, v in rows if v is not None]


def series_keys(con: duckdb.DuckDBPyConnection, brands: Iterable[str], *, per_product: bool, per_source_kind: bool) -> list[SeriesKey]:
    """The brand as a whole, and, when asked, each product and each source kind seen in the signals."""
    keys = [SeriesKey(b) for b in brands]
    if per_product or per_source_kind:
        rows = con.execute(
            "SELECT DISTINCT brand, product, source_kind FROM daily_signals "
            "WHERE (product <> '*' AND source_kind = '*' AND ?) OR (product = '*' AND source_kind <> '*' AND ?) ORDER BY ALL",
            [per_product, per_source_kind],
        ).fetchall()
        wanted = set(brands)
        keys += [SeriesKey(*row) for row in rows if row[0] in wanted]
    return keys


def detect_and_store(
    con: duckdb.DuckDBPyConnection,
    *,
    run_key: str,
    brands: Iterable[str],
    metrics: Iterable[str],
    days_touched: Iterable[date],
    rules: DetectorRules,
    history_days: int,
    notify_after: datetime,
    per_product: bool = False,
    per_source_kind: bool = False,
    suppress: str | None = None,
    voices: str = "mentions",
) -> list[str]:
    """Detect spikes on the touched days and insert new alerts; returns the ids of new ones.

    Alerts whose window ended before `notify_after` are stored as suppressed: a backfill or late
    data should not email anyone about last month. `voices` (alerts.yaml rules.voices) says what a count
    counts: every mention, each cluster of near-copies once, or each author once.
    """
    days = sorted(set(days_touched))
    if not days:
        return []
    tracked_since, last = con.execute("SELECT min(day), max(day) FROM daily_signals").fetchall()[0]
    last = last or days[-1]
    # Days before the warehouse's first day are unknown, not zero: a new deployment has no baseline yet.
    first = max(days[0] - timedelta(days=history_days), tracked_since or days[0])
    evaluate_from = datetime.combine(days[0], time(0))
    new_ids: list[str] = []
    with transaction(con):
        for key in series_keys(con, brands, per_product=per_product, per_source_kind=per_source_kind):
            for metric in metrics:
                spec = METRICS[metric]
                metric_rules = rules.model_copy(update={"kind": spec.kind, "direction": spec.direction, **_scale(spec.kind)})
                points = daily_series(con, key, metric, first, last, voices)
                for spike in detect_spikes(points, metric_rules, evaluate_from=evaluate_from):
                    if voices != "mentions" and spec.kind != "level":
                        spike = replace(spike, reason=f"{spike.reason}; {VOICE_NOTE[voices]}")
                    if _insert(con, key, metric, spike, run_key, notify_after, suppress):
                        new_ids.append(alert_id(key, metric, spike.timestamp))
                        _store_drivers(con, key, metric, spike)
    return new_ids


def _scale(kind: str) -> dict[str, float]:
    """Volume rules are in mentions; a share or a rating has its own units, guarded elsewhere."""
    if kind == "count":
        return {}
    return {"min_volume": 0.0, "min_excess": 0.1 if kind == "ratio" else 0.05}


def _store_drivers(con: duckdb.DuckDBPyConnection, key: SeriesKey, metric: str, spike: Spike) -> None:
    """Once, with the alert: the email, the report and anyone querying `alerts` read the same reason.

    The drivers read the whole horizon that fired: an alert on "5 negative in three days" is about
    those three days' mentions, not only its last day's."""
    drivers = alert_drivers(con, brand=key.brand, product=key.product, source_kind=key.source_kind,
                            mentions_condition=METRICS[metric].mentions, window_start=spike.judged_from or spike.timestamp,
                            window_end=spike.window_end)
    con.execute("UPDATE alerts SET drivers = ? WHERE alert_id = ?", [drivers.to_json(), alert_id(key, metric, spike.timestamp)])


def _insert(con: duckdb.DuckDBPyConnection, key: SeriesKey, metric: str, spike: Spike, run_key: str,
            notify_after: datetime, suppress: str | None) -> bool:
    suppressed = f"suppressed: {suppress}" if suppress else None
    if suppressed is None and spike.window_end < notify_after:
        suppressed = f"suppressed: window ended before {notify_after:%Y-%m-%d}, detected late by run {run_key}"
    inserted = con.execute(
        """
        INSERT INTO alerts (alert_id, brand, product, source_kind, metric, window_start, window_end, observed,
                            expected, ratio, severity, reason, detector_version, created_run, delivery)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT DO NOTHING
        RETURNING alert_id
        """,
        [
            alert_id(key, metric, spike.timestamp), key.brand, key.product, key.source_kind, metric,
            spike.timestamp, spike.window_end, spike.observed, spike.expected, spike.ratio, spike.severity,
            spike.reason, spike.detector_version, run_key, suppressed,
        ],
    ).fetchall()
    return bool(inserted)
