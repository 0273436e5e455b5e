"""The detector's knobs and their defaults, defined once, for `zmot spikes` and the daily run alike.

Kept apart from the detector (no numpy here) so that loading alerts.yaml stays cheap.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SpikeDefaults(BaseModel):
    """What an analyst may set per alert rule (alerts.yaml `rules:`), with the product's defaults, once.

    `zmot spikes` and the daily run's detect step both start from these values.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_volume: float = Field(default=5, ge=0, description="No alert below this many in the judged window.")
    min_excess: float = Field(default=4, ge=0, description="No alert unless observed exceeds expected by this much.")
    threshold: float = Field(default=5, gt=0, description="Severity (spreads above both baselines) a burst needs to fire.")
    rise_threshold: float = Field(
        default=3, gt=0, description="Severity a rise over the long horizons (3 hours and a day, or three days) needs to fire."
    )
    cooldown_days: float | None = Field(
        default=None, ge=0, le=60,
        description="Quiet time after an episode for the same series; empty = 2 days for daily series, 12 hours below that.",
    )


class DetectorRules(SpikeDefaults):
    """SpikeDefaults plus what the series itself decides: its kind and the direction worth alerting on."""

    kind: Literal["count", "ratio", "level"] = "count"
    direction: Literal["up", "down", "both"] = "up"
    min_history: int = Field(default=7, ge=1, description="Points of history needed before judging.")


def spike_settings(rules: SpikeDefaults) -> DetectorRules:
    """The detector's rules from any model carrying the SpikeDefaults fields (AlertRules does)."""
    return DetectorRules(**{name: getattr(rules, name) for name in SpikeDefaults.model_fields})
