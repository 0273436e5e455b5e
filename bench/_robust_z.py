"""The robust-z detector the product shipped before zmot-spikes-2, kept only as the benchmark's baseline.

It blends the recent level with the same slot in earlier seasons, spreads by Poisson plus the median
absolute deviation, sums sub-daily counts over an hour, and fires at 5 spreads with a 6-hour
cooldown (3 days on daily data), min_volume 5 and min_excess 3: its defaults as they were.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Literal

import numpy as np

from warehouse.spikes import _naive, _regular, _step  # the grid the baseline and the product share

DETECTOR_VERSION = "zmot-spikes-1 (robust z)"
MAD_TO_SD = 1.4826
FLOOR_FRACTION = 0.5  # a new alert must be at least half as unusual as the worst in the floor window


@dataclass(frozen=True)
class DetectorRules:
    """Its defaults as shipped."""

    min_volume: float = 5.0  # no alert while the observed value is below this
    min_excess: float = 3.0  # observed must exceed expected by at least this much
    threshold: float = 5.0  # z-like severity needed to fire
    cooldown: timedelta | None = None  # quiet time after an alert; None = derived from the step
    min_history: int = 7  # points of history needed before judging
    kind: Literal["count", "ratio", "level"] = "count"
    direction: Literal["up", "down", "both"] = "up"


@dataclass(frozen=True)
class Spike:
    timestamp: datetime
    window_end: datetime
    observed: float
    expected: float
    severity: float
    score: float
    ratio: float
    direction: str
    reason: str
    detector_version: str = DETECTOR_VERSION


@dataclass(frozen=True)
class _Shape:
    step: timedelta
    season: int  # points per season (0 = none)
    recent: int  # points in the recent-level window
    spread: int  # points in the window that measures spread
    seasons_back: int  # earlier seasons averaged for the same-slot level
    cooldown: timedelta
    aggregate: int  # points summed into one judged value: an hour for sub-daily data
    floor_window: int  # past judged values whose unusualness a new alert must exceed


def shape_for(step: timedelta) -> _Shape:
    """Season and windows chosen from the sampling step: weekly for daily data, daily below that.

    Sub-daily counts are judged an hour at a time (Meltwater's social rule looks at the last hour),
    so a sustained rise stands out and a single burst of retweets does not.
    """
    if step >= timedelta(days=1):
        return _Shape(step, 7, 14, 28, 4, max(step, timedelta(days=3)), 1, 28)
    per_day = max(1, round(timedelta(days=1) / step))
    per_hour = max(1, round(timedelta(hours=1) / step))
    return _Shape(step, per_day, per_hour * 3, per_day, 7, timedelta(hours=6), per_hour, per_day * 7)


def detect_spikes(
    points: Sequence[tuple[datetime, float]],
    rules: DetectorRules = DetectorRules(),
    *,
    evaluate_from: datetime | None = None,
) -> list[Spike]:
    """Alerts the series would have raised, each point judged only on the points before it.

    Points before `evaluate_from` still count as history and still start cooldowns, so a daily run
    that evaluates only its new day does not alert again on an episode an earlier run reported.
    """
    if len(points) < 2:
        return []
    ordered = sorted(points, key=lambda p: p[0])
    step = _step(ordered)
    times, raw = _regular(ordered, step, rules.kind)
    shape = shape_for(step)
    values = _rolling_sum(raw, shape.aggregate) if rules.kind == "count" else raw
    cooldown = rules.cooldown if rules.cooldown is not None else shape.cooldown
    scores = np.full(len(values), np.nan)
    expectations = np.full(len(values), np.nan)
    for i in range(len(values)):
        if math.isnan(values[i]):
            continue
        history = raw[max(0, i - shape.season * shape.seasons_back - shape.spread): i]
        if np.count_nonzero(~np.isnan(history)) < rules.min_history:
            continue
        expected, spread = _expectation(values, i, shape, rules.kind)
        if expected is not None:
            expectations[i] = expected
            scores[i] = (values[i] - expected) / spread
    start = _naive(evaluate_from) if evaluate_from is not None else None
    spikes: list[Spike] = []
    last_unusual: datetime | None = None  # an episode lasts while points stay unusual
    for i in range(len(values)):
        t = times[i]
        z = float(scores[i])
        if math.isnan(z):
            continue
        direction = "up" if z > 0 else "down"
        if rules.direction != "both" and direction != rules.direction:
            continue
        observed, expected = float(values[i]), float(expectations[i])
        volume = observed if direction == "up" else expected
        if abs(z) < rules.threshold or abs(observed - expected) < rules.min_excess or volume < rules.min_volume:
            continue
        past = np.abs(scores[max(0, i - shape.floor_window): i])
        past = past[~np.isnan(past)]
        if past.size and abs(z) <= float(np.max(past)) * FLOOR_FRACTION:
            continue  # no more unusual than what recent history already shows: not news
        in_episode = last_unusual is not None and t - last_unusual < cooldown
        last_unusual = t
        if in_episode:
            continue
        window_start = times[max(0, i - shape.aggregate + 1)] if rules.kind == "count" else t
        ratio = observed / expected if expected > 0 else float("inf") if observed > 0 else 1.0
        spikes.append(
            Spike(
                timestamp=t, window_end=t + step, observed=observed, expected=round(expected, 4),
                severity=round(abs(z), 2), score=round(float(z), 4), ratio=round(min(ratio, 1e6), 3), direction=direction,
                reason=_reason(observed, expected, float(z), shape, rules.kind, window_start, t + step),
            )
        )
    return [s for s in spikes if start is None or s.timestamp >= start]


def _rolling_sum(values: np.ndarray, width: int) -> np.ndarray:
    """Sum of each point and the width-1 before it (causal); the first width-1 points have no full window."""
    if width <= 1:
        return values.copy()
    sums = np.convolve(values, np.ones(width), mode="full")[: len(values)]
    sums[: width - 1] = np.nan
    return sums


def _expectation(values: np.ndarray, i: int, shape: _Shape, kind: str) -> tuple[float | None, float]:
    """Expected value at i from earlier points only, and the spread a normal value has around it."""
    recent = values[max(0, i - shape.recent): i]
    recent = recent[~np.isnan(recent)]
    wide = values[max(0, i - shape.spread): i]
    wide = wide[~np.isnan(wide)]
    if recent.size == 0 or wide.size == 0:
        return None, 1.0
    level = float(np.median(recent))
    same_slot = [values[i - k * shape.season] for k in range(1, shape.seasons_back + 1) if i - k * shape.season >= 0]
    same_slot = [v for v in same_slot if not math.isnan(v)]
    if len(same_slot) >= 2:
        level = 0.5 * level + 0.5 * float(median(same_slot))
    mad = float(np.median(np.abs(wide - np.median(wide)))) * MAD_TO_SD
    if kind == "count":
        spread = math.sqrt(max(level, 1.0) + mad * mad)
    elif kind == "ratio":
        spread = max(mad, 0.05)
    else:
        spread = max(mad, 0.01 * max(abs(level), 1e-9), 1e-9)
    return level, spread


def _reason(observed: float, expected: float, z: float, shape: _Shape, kind: str, start: datetime, end: datetime) -> str:
    slot = "same weekday and recent days" if shape.step >= timedelta(days=1) else "same time of day and the last hours"
    value = f"{observed:g}" if kind == "count" else f"{observed:.3g}"
    span = "" if shape.aggregate == 1 else f" in {start:%H:%M}-{end:%H:%M}"
    return f"{value}{span} vs about {expected:.3g} expected ({slot}); {abs(z):.1f} spreads {'above' if z > 0 else 'below'}"
