"""Alerts waiting to go out: those not yet emailed, those to post to webhooks, and marking them sent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import duckdb


@dataclass(frozen=True)
class AlertRecord:
    """An alert as the `alerts` table stores it: what every delivery (email, webhook) starts from."""

    alert_id: str
    brand: str
    product: str
    source_kind: str
    metric: str
    window_start: datetime
    window_end: datetime
    observed: float
    expected: float
    ratio: float
    severity: float
    reason: str


@dataclass(frozen=True)
class StoredAlert(AlertRecord):
    """`drivers` is the AlertDrivers JSON stored with it, None for alerts stored before migration 010."""

    drivers: str | None

    def record_fields(self) -> dict[str, Any]:
        """The AlertRecord fields by name, to build what a delivery sends (which carries drivers parsed)."""
        return {f.name: getattr(self, f.name) for f in fields(AlertRecord)}


_COLUMNS = ", ".join(f.name for f in fields(StoredAlert))


def pending_alerts(con: duckdb.DuckDBPyConnection) -> list[StoredAlert]:
    """Alerts neither emailed nor suppressed, oldest window first."""
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM alerts WHERE notified_at IS NULL AND delivery IS NULL ORDER BY window_start, alert_id"
    ).fetchall()
    return [_alert(row) for row in rows]


def alerts_to_post(con: duckdb.DuckDBPyConnection, not_before: datetime) -> list[StoredAlert]:
    """Alerts not suppressed whose window ended at or after `not_before` (naive UTC), oldest window first."""
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM alerts WHERE (delivery IS NULL OR NOT starts_with(delivery, 'suppressed')) "
        "AND window_end >= ? ORDER BY window_start, alert_id", [not_before],
    ).fetchall()
    return [_alert(row) for row in rows]


def mark_notified(
    con: duckdb.DuckDBPyConnection, alert_ids: Iterable[str], notified_at: datetime, message_id: str, delivery: str
) -> None:
    """Record that one email (its Message-ID, where it went) carried these alerts."""
    con.executemany(
        "UPDATE alerts SET notified_at = ?, message_id = ?, delivery = ? WHERE alert_id = ?",
        [[notified_at, message_id, delivery, alert_id] for alert_id in alert_ids],
    )


def _alert(row: tuple[Any, ...]) -> StoredAlert:
    return StoredAlert(*row)
