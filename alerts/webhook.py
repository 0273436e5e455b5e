"""Alerts as webhook POSTs: a generic JSON body or a Slack incoming-webhook message, signed with
HMAC-SHA256 over the timestamp and the body, sent by the connectors' HTTP client (its timeouts,
size cap and retries honouring Retry-After)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.http import FetchError, FetchPolicy, post
from warehouse.alert_drivers import AlertDrivers
from warehouse.alert_queue import AlertRecord

USER_AGENT = "zmot-monitor-webhook/1"
SIGNATURE_HEADER = "X-Zmot-Signature"
TIMESTAMP_HEADER = "X-Zmot-Timestamp"
DELIVERY_HEADER = "X-Zmot-Delivery"  # the same on every retry of one delivery: receivers dedupe on it
SIGNATURE_TOLERANCE_SECONDS = 300


class WebhookError(RuntimeError):
    """The receiver did not accept the post; nothing is recorded, so the next run posts it again."""


@dataclass(frozen=True)
class WebhookTarget:
    name: str
    kind: str  # json | slack
    url: str = field(repr=False)  # a Slack URL is itself a secret: never in logs
    secret: bytes | None = field(default=None, repr=False)
    timeout_seconds: float = 10.0
    max_retries: int = 3


@dataclass(frozen=True)
class AlertPost(AlertRecord):
    """What a webhook says about one alert: the alert's row and what drives it."""

    drivers: AlertDrivers | None


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>`: the timestamp is signed so a captured post
    cannot be replayed later."""
    return "sha256=" + hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify(secret: bytes, timestamp: str, body: bytes, signature: str, *, now: float | None = None,
           tolerance: float = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    if not timestamp.isdigit() or abs((now if now is not None else time.time()) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def payload(alert: AlertPost, kind: str) -> dict[str, Any]:
    """The JSON body for a receiver of this kind."""
    return _slack(alert) if kind == "slack" else _generic(alert)


def _generic(alert: AlertPost) -> dict[str, Any]:
    drivers = alert.drivers
    return {
        "type": "zmot.alert", "alert_id": alert.alert_id, "brand": alert.brand,
        "product": None if alert.product == "*" else alert.product,
        "source_kind": None if alert.source_kind == "*" else alert.source_kind,
        "metric": alert.metric, "window_start": alert.window_start.isoformat() + "Z", "window_end": alert.window_end.isoformat() + "Z",
        "observed": alert.observed, "expected": round(alert.expected, 3), "ratio": round(alert.ratio, 3),
        "severity": round(alert.severity, 3), "reason": alert.reason,
        "drivers": None if drivers is None else json.loads(drivers.to_json()),
    }


def slack_escape(text: str) -> str:
    """Slack reads &, < and > as markup (<!channel>, <url|link>): escaped, a mention's text stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack(alert: AlertPost) -> dict[str, Any]:
    scope = alert.brand + ("" if alert.product == "*" else f" / {alert.product}") + (
        "" if alert.source_kind == "*" else f" on {alert.source_kind}")
    headline = (f"{scope}: {alert.metric.replace('_', ' ')} {alert.observed:g} against about {alert.expected:.0f} expected "
                f"on {alert.window_start:%a %d %b %Y}")
    lines = [f"*{slack_escape(headline)}*", slack_escape(alert.reason)]
    if alert.drivers is not None:
        if alert.drivers.phrases:
            lines.append("What drives it: " + slack_escape(", ".join(f"“{p.text}” ({p.window} vs {p.baseline})"
                                                                     for p in alert.drivers.phrases[:5])))
        lines.append(slack_escape(alert.drivers.voices))
    text = "\n".join(lines)
    return {
        "text": slack_escape(headline),  # the notification's fallback
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"zmot alert {alert.alert_id}"}]},
        ],
    }


def post_alert(alert: AlertPost, target: WebhookTarget, *, sleep: Callable[[float], None] = time.sleep,
               now: Callable[[], float] = time.time) -> str:
    """POST one alert; returns the receiver's status as the delivery detail, or raises WebhookError."""
    body = json.dumps(payload(alert, target.kind), ensure_ascii=False, sort_keys=True).encode()
    timestamp = int(now())
    headers = {"Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: str(timestamp),
               DELIVERY_HEADER: f"{alert.alert_id}:{target.name}"}
    if target.secret is not None:
        headers[SIGNATURE_HEADER] = sign(target.secret, timestamp, body)
    policy = FetchPolicy(user_agent=USER_AGENT, timeout_seconds=target.timeout_seconds, max_retries=target.max_retries,
                         max_retry_after_seconds=60.0, max_bytes=100_000)
    try:
        response = post(target.url, body, policy=policy, headers=headers, sleep=sleep, label=f"webhook {target.name}")
    except FetchError as exc:
        raise WebhookError(f"webhook {target.name}: {exc.message}") from None
    if not 200 <= response.status < 300:
        raise WebhookError(f"webhook {target.name}: answered {response.status}, not 2xx (a redirect is not followed: "
                           "put the final URL in alerts.yaml)")
    return f"http {response.status} after {response.requests} request(s)"
