"""Turn unsent alerts into emails and mark each one sent only after it was accepted."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb

from alerts.compose import AlertEmail, AlsoUnusual, DrivingMention, compose
from alerts.deliver import DeliveryError, SmtpTarget, send_smtp, write_outbox
from alerts.webhook import AlertPost, WebhookError, WebhookTarget, post_alert
from warehouse.alert_drivers import AlertDrivers, alert_drivers
from warehouse.alert_mentions import AlertMentions
from warehouse.alert_queue import StoredAlert, alerts_to_post, mark_notified, pending_alerts
from warehouse.deliveries import delivered, record_delivery
from warehouse.detect import METRICS, SeriesKey, daily_series
from zmot.config import ALERTS_FILE, AlertsConfig, SmtpSettings, WebhookSettings

log = logging.getLogger(__name__)

CHART_DAYS = 42


class SmtpConfigError(ValueError):
    """SMTP is configured but its credentials cannot be found; names what is missing, never the secret."""


class WebhookConfigError(ValueError):
    """A webhook's URL or secret names an environment variable that is not set; never shows the value."""


SMTP_HOST_ENV = "ZMOT_SMTP_HOST"


def smtp_settings(cfg: AlertsConfig) -> SmtpSettings | None:
    """SMTP from alerts.yaml, else from ZMOT_SMTP_HOST/_PORT/_SECURITY (how a deployment points the
    example config at its mail server, e.g. Mailpit in docker-compose), else none: use the outbox."""
    if cfg.smtp is not None or not os.environ.get(SMTP_HOST_ENV):
        return cfg.smtp
    return SmtpSettings.model_validate({
        "host": os.environ[SMTP_HOST_ENV], "port": int(os.environ.get("ZMOT_SMTP_PORT", "587")),
        "security": os.environ.get("ZMOT_SMTP_SECURITY", "starttls"),
        "username_env": "ZMOT_SMTP_USER" if os.environ.get("ZMOT_SMTP_USER") else None,
        "password_env": "ZMOT_SMTP_PASSWORD" if os.environ.get("ZMOT_SMTP_PASSWORD") else None,
    })


def smtp_target(settings: SmtpSettings) -> SmtpTarget:
    """Host and credentials from the Airflow connection or the named environment variables."""
    if settings.airflow_conn_id:
        try:
            from airflow.sdk import BaseHook

            conn = BaseHook.get_connection(settings.airflow_conn_id)
        except Exception as exc:  # noqa: BLE001 - Airflow raises several types for "not found"
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
    """Send every alert not yet delivered, one email per brand and window (a digest when several of
    the brand's series jumped together); oldest first; one failure stops the rest for a retry."""
    now = now or datetime.now(timezone.utc)
    pending = pending_alerts(con)
    if not pending:
        return {"sent": 0, "deliveries": []}
    if not cfg.recipients:
        log.warning("%d alerts pending but alerts.yaml has no recipients; nothing sent", len(pending))
        return {"sent": 0, "deliveries": [], "pending": len(pending)}
    settings = smtp_settings(cfg)
    target = smtp_target(settings) if settings else None
    outbox = Path(cfg.outbox_dir) if Path(cfg.outbox_dir).is_absolute() else data_dir / cfg.outbox_dir
    groups: dict[tuple[str, datetime], list[StoredAlert]] = {}
    for record in pending:
        groups.setdefault((record.brand, record.window_start), []).append(record)
    deliveries = []
    for group in groups.values():
        lead, *others = sorted(group, key=lambda r: (-r.severity, r.alert_id))
        alert = build_alert_email(con, lead, cfg, also=others)
        msg = compose(alert, sender=cfg.sender, recipients=cfg.recipients, sent_at=now)
        delivery = send_smtp(msg, target) if target else write_outbox(msg, outbox, f"alert-{alert.alert_id}")
        mark_notified(con, [r.alert_id for r in group], now.replace(tzinfo=None), msg["Message-ID"], delivery)
        log.info("alerts %s delivered: %s (%s)", ", ".join(r.alert_id for r in group), msg["Subject"], delivery)
        deliveries.append(delivery)
    return {"sent": len(deliveries), "deliveries": deliveries}


def build_alert_email(
    con: duckdb.DuckDBPyConnection, row: StoredAlert, cfg: AlertsConfig, also: Sequence[StoredAlert] = ()
) -> AlertEmail:
    """Gather the series and the mentions behind one alert, and the brand's other jumps that day."""
    start: datetime = row.window_start
    key = SeriesKey(row.brand, row.product, row.source_kind)
    series = daily_series(con, key, row.metric, start.date() - timedelta(days=CHART_DAYS), start.date(), cfg.rules.voices)
    query = AlertMentions.of(key, start, row.metric)
    mentions = _driving_mentions(query.rows(con), cfg.rules.max_mentions_per_email)
    return AlertEmail(
        alert_id=row.alert_id, brand=row.brand, product=row.product, source_kind=row.source_kind,
        metric=row.metric, window_start=start, window_end=row.window_end, observed=row.observed,
        expected=row.expected, ratio=row.ratio, severity=row.severity, reason=row.reason,
        series=series, mentions=mentions, voices=cfg.rules.voices,
        also=[AlsoUnusual(r.metric, r.product, r.source_kind, r.observed, r.expected, r.ratio) for r in also],
        reproduce_sql=query.reproduce_sql, drivers=_drivers(con, row),
    )


def _drivers(con: duckdb.DuckDBPyConnection, row: StoredAlert) -> AlertDrivers:
    """As stored with the alert; an alert stored before drivers were (migration 010) gets them now."""
    if row.drivers:
        return AlertDrivers.from_json(row.drivers)
    return alert_drivers(con, brand=row.brand, product=row.product, source_kind=row.source_kind,
                         mentions_condition=METRICS[row.metric].mentions, window_start=row.window_start,
                         window_end=row.window_end)


def _driving_mentions(rows: list[tuple[Any, ...]], limit: int) -> list[DrivingMention]:
    """The mentions behind an alert, each cluster of near-copies once (reposts, syndication, floods) with its size."""
    chosen: dict[str, DrivingMention] = {}
    copies: dict[str, int] = {}
    for *fields, cluster_id in rows:
        if cluster_id in chosen:
            copies[cluster_id] += 1
        elif len(chosen) < limit:
            chosen[cluster_id] = DrivingMention(*fields)
            copies[cluster_id] = 0
    return [replace(mention, repeats=copies[cluster_id]) for cluster_id, mention in chosen.items()]


def notify_all(
    con: duckdb.DuckDBPyConnection, cfg: AlertsConfig, *, data_dir: Path, not_before: datetime,
    now: datetime | None = None, sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Email and webhooks, each tried even when the other fails; a failure is raised after both, so the
    task fails (and is retried) with everything that did go out recorded."""
    failures: list[str] = []
    try:
        result = notify_pending(con, cfg, data_dir=data_dir, now=now)
    except DeliveryError as exc:
        failures.append(str(exc))
        result = {"sent": 0, "deliveries": []}
    posted = post_pending_webhooks(con, cfg, not_before=not_before, now=now, sleep=sleep)
    failures += posted.pop("failures")
    if failures:
        raise DeliveryError("; ".join(failures) + "; what failed is tried again by the next run (or a retry of this task)")
    return {**result, "webhooks": posted}


def webhook_target(settings: WebhookSettings) -> WebhookTarget:
    """The URL and the signing key from the environment variables alerts.yaml names."""
    where = f"{ALERTS_FILE}: webhooks[{settings.name}]"
    url = settings.url or ""  # the model holds exactly one of url and url_env
    if settings.url_env is not None:
        if not os.environ.get(settings.url_env):
            raise WebhookConfigError(f"{where}.url_env: environment variable {settings.url_env} is not set")
        url = os.environ[settings.url_env]
        if not url.startswith(("http://", "https://")):
            raise WebhookConfigError(f"{where}.url_env: {settings.url_env} does not hold an http(s) URL")
    secret = None
    if settings.secret_env is not None:
        if not os.environ.get(settings.secret_env):
            raise WebhookConfigError(f"{where}.secret_env: environment variable {settings.secret_env} is not set")
        secret = os.environ[settings.secret_env].encode()
    return WebhookTarget(settings.name, settings.kind, url, secret, settings.timeout_seconds, settings.max_retries)


def post_pending_webhooks(
    con: duckdb.DuckDBPyConnection, cfg: AlertsConfig, *, not_before: datetime, now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """POST each alert to each webhook once, oldest first: a delivery row per (alert, webhook) is written
    only once the receiver answered 2xx. Suppressed alerts (backfills, late finds) and windows that ended
    before `not_before` are not posted, so adding a webhook does not replay history. A webhook that fails
    stops there (the rest keep their order for the next run); the other webhooks go on."""
    now = now or datetime.now(timezone.utc)
    if not cfg.webhooks:
        return {"posted": 0, "failures": []}
    rows = alerts_to_post(con, not_before.replace(tzinfo=None))
    posted, failures = 0, []
    for settings in cfg.webhooks:
        destination = f"webhook:{settings.name}"
        todo = [row for row in rows if not delivered(con, row.alert_id, destination)]
        if not todo:
            continue
        target = webhook_target(settings)
        for record in todo:
            alert = AlertPost(**record.record_fields(), drivers=_drivers(con, record))
            try:
                detail = post_alert(alert, target, sleep=sleep)
            except WebhookError as exc:
                log.warning("%s; %d alert(s) left for the next run", exc, len(todo) - todo.index(record))
                failures.append(str(exc))
                break
            record_delivery(con, alert.alert_id, destination, now, detail)
            log.info("alert %s posted to %s (%s)", alert.alert_id, destination, detail)
            posted += 1
    return {"posted": posted, "failures": failures}


def notify_window(interval_end: datetime, max_age_days: int) -> datetime:
    """Alerts whose window ended before this are stored but not emailed."""
    return (interval_end - timedelta(days=max_age_days)).replace(tzinfo=None)

