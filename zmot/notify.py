"""Turn unsent alerts into emails and mark each one sent only after it was accepted."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb

from alerts.compose import AlertEmail, DrivingMention, compose
from alerts.deliver import SmtpTarget, send_smtp, write_outbox
from warehouse.detect import SeriesKey, daily_series
from zmot.config import AlertsConfig, SmtpSettings

log = logging.getLogger(__name__)

CHART_DAYS = 42
_ALERT_COLUMNS = (
    "alert_id, brand, product, source_kind, metric, window_start, window_end, observed, expected, ratio, severity, reason"
)


class SmtpConfigError(ValueError):
    """SMTP is configured but its credentials cannot be found; names what is missing, never the secret."""


def smtp_target(settings: SmtpSettings) -> SmtpTarget:
    """Host and credentials from the Airflow connection or the named environment variables."""
    if settings.airflow_conn_id:
        try:
            from airflow.sdk import BaseHook

            conn = BaseHook.get_connection(settings.airflow_conn_id)
        except Exception as exc:  # Airflow raises several types for "not found"
            raise SmtpConfigError(
                f"alerts.yaml: smtp.airflow_conn_id: connection {settings.airflow_conn_id!r} not found "
                f"({type(exc).__name__}); create it or set AIRFLOW_CONN_{settings.airflow_conn_id.upper()}"
            ) from None
        return SmtpTarget(conn.host or settings.host, conn.port or settings.port, settings.security,
                          conn.login or None, conn.password or None, settings.timeout_seconds)
    username = _secret(settings.username_env, "username_env")
    password = _secret(settings.password_env, "password_env")
    return SmtpTarget(settings.host, settings.port, settings.security, username, password, settings.timeout_seconds)


def _secret(env_name: str | None, key: str) -> str | None:
    if env_name is None:
        return None
    if env_name not in os.environ:
        raise SmtpConfigError(f"alerts.yaml: smtp.{key}: environment variable {env_name} is not set")
    return os.environ[env_name]


def notify_pending(
    con: duckdb.DuckDBPyConnection, cfg: AlertsConfig, *, data_dir: Path, now: datetime | None = None
) -> dict[str, Any]:
    """Send every alert not yet delivered (oldest first); one failure stops the rest for a retry."""
    now = now or datetime.now(timezone.utc)
    pending = con.execute(
        f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE notified_at IS NULL AND delivery IS NULL "
        "ORDER BY window_start, alert_id"
    ).fetchall()
    if not pending:
        return {"sent": 0, "deliveries": []}
    if not cfg.recipients:
        log.warning("%d alerts pending but alerts.yaml has no recipients; nothing sent", len(pending))
        return {"sent": 0, "deliveries": [], "pending": len(pending)}
    target = smtp_target(cfg.smtp) if cfg.smtp else None
    outbox = Path(cfg.outbox_dir) if Path(cfg.outbox_dir).is_absolute() else data_dir / cfg.outbox_dir
    deliveries = []
    for row in pending:
        alert = build_alert_email(con, dict(zip([c.strip() for c in _ALERT_COLUMNS.split(",")], row)), cfg)
        msg = compose(alert, sender=cfg.sender, recipients=cfg.recipients, sent_at=now)
        delivery = send_smtp(msg, target) if target else write_outbox(msg, outbox, f"alert-{alert.alert_id}")
        con.execute(
            "UPDATE alerts SET notified_at = ?, message_id = ?, delivery = ? WHERE alert_id = ?",
            [now.replace(tzinfo=None), msg["Message-ID"], delivery, alert.alert_id],
        )
        log.info("alert %s delivered: %s (%s)", alert.alert_id, msg["Subject"], delivery)
        deliveries.append(delivery)
    return {"sent": len(deliveries), "deliveries": deliveries}


def build_alert_email(con: duckdb.DuckDBPyConnection, row: dict[str, Any], cfg: AlertsConfig) -> AlertEmail:
    """Gather the series and the mentions behind one alert."""
    start: datetime = row["window_start"]
    key = SeriesKey(row["brand"], row["product"], row["source_kind"])
    series = daily_series(con, key, row["metric"], start.date() - timedelta(days=CHART_DAYS), start.date())
    mentions = _driving_mentions(con, row["brand"], start, row["window_end"], cfg.rules.max_mentions_per_email)
    brand_literal = row["brand"].replace("'", "''")
    reproduce = (
        f"SELECT published_at, source_id, sentiment_score, text FROM v_brand_mentions "
        f"WHERE brand = '{brand_literal}' AND published_day = DATE '{start:%Y-%m-%d}' "
        f"AND sentiment_label = 'negative' ORDER BY sentiment_score"
    )
    return AlertEmail(
        alert_id=row["alert_id"], brand=row["brand"], product=row["product"], source_kind=row["source_kind"],
        metric=row["metric"], window_start=start, window_end=row["window_end"], observed=row["observed"],
        expected=row["expected"], ratio=row["ratio"], severity=row["severity"], reason=row["reason"],
        series=series, mentions=mentions,
        reproduce_sql=reproduce,
    )


def _driving_mentions(con: duckdb.DuckDBPyConnection, brand: str, start: datetime, end: datetime, limit: int) -> list[DrivingMention]:
    """The negative mentions behind an alert: customers' own stories first, the same text only once."""
    rows = con.execute(
        """
        SELECT published_at, source_id, author,
               CASE WHEN title IS NULL OR starts_with(text, title) THEN text ELSE title || ' — ' || text END,
               url, sentiment_label,
               sentiment_score, text
        FROM v_brand_mentions
        WHERE brand = ? AND published_at >= ? AND published_at < ? AND sentiment_label = 'negative'
        ORDER BY moment = 'lzmot' DESC, sentiment_score NULLS LAST, published_at, mention_id
        """,
        [brand, start, end],
    ).fetchall()
    chosen: dict[str, list] = {}
    for *fields, text in rows:
        key = " ".join(text.casefold().split())
        if key in chosen:
            chosen[key][-1] += 1
        elif len(chosen) < limit:
            chosen[key] = [*fields, 0]
    return [DrivingMention(*fields) for fields in chosen.values()]


def notify_window(interval_end: datetime, max_age_days: int) -> datetime:
    """Alerts whose window ended before this are stored but not emailed."""
    return (interval_end - timedelta(days=max_age_days)).replace(tzinfo=None)

