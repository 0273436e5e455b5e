"""An alert as the `alerts` table stores it: what every delivery (email, webhook) starts from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AlertRecord:
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
