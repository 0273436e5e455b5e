"""Causal spike detection over any signal series: daily counts of negative mentions, a share, a rating.

Each point is judged only on the points before it, as in production. A series is judged on
several horizons at once: a short one (an hour of sub-daily counts, a day of daily ones) that
catches a burst, and long ones (3 hours and a day, or three days) that catch a rise over hours or
days. Each horizon is compared with two baselines, the same slot on earlier days (or the recent
days, for daily data) and the same slot in earlier weeks, and is only unusual when it is unusual
against both: a busy Monday morning is judged against Monday mornings and against yesterday
morning. Counts are negative binomial, variance mu + alpha * mu^2, with alpha learned from the
series' own past (so a jump from 0 to 3 is no crisis, 3 to 30 is, and a noisy series needs more to
fire than a steady one). A sub-daily burst must stay unusual for 15 minutes before it fires;
minimum volume, minimum excess and a cooldown keep one noisy day, or one long episode, from
flooding anyone, and a horizon whose sum still holds an alert can not raise it again. Shares and ratings are judged on their own points with a robust spread (MAD).
Method, figures and failure modes: docs/alerts.md.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from statistics import NormalDist
from typing import Any

import numpy as np

from warehouse.spike_rules import DetectorRules

__all__ = ["DETECTOR_VERSION", "DetectorRules", "JudgedSeries", "Spike", "alerts_from", "detect_spikes", "judge_series",
           "spikes_from_csv"]

DETECTOR_VERSION = "zmot-spikes-3"
MAD_TO_SD = 1.4826


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
    judged_from: datetime | None = None  # the start of the horizon that fired (3 days before a daily point); None: the point alone


@dataclass(frozen=True)
class _Horizon:
    width: int  # points summed (counts) or taken (other kinds) into one judged value
    near_lags: tuple[int, ...]  # earlier judged values forming the first baseline
    season_lags: tuple[int, ...]  # the same slot in earlier weeks: the second baseline
    min_near: int  # values the first baseline needs before a point is judged
    label: str


@dataclass(frozen=True)
class _Shape:
    step: timedelta
    horizons: tuple[_Horizon, ...]
    persistence: int  # consecutive unusual points before a sub-daily burst fires
    noise_every: int  # points between refits of the series' dispersion
    noise_window: int  # points of past residuals the dispersion is learned from
    noise_stride: int  # learn from every n-th past point: an hour apart for sub-daily data
    min_noise: int  # past residuals needed before the series' own noise replaces ALPHA_YOUNG
    cooldown: timedelta


ALPHA_FLOOR = 0.01  # even the steadiest series varies by about 10 % beyond Poisson
ALPHA_CEILING = 100.0
ALPHA_YOUNG = 0.5  # until a series has shown its own noise, assume it varies by about 70 % of its level
SEASON_MIN_WEEKS = 2  # one earlier week is an anecdote, not a season: the weekly baseline waits for two
NOISE_QUANTILE = 0.99
NOISE_DAYS = 28


def shape_for(step: timedelta) -> _Shape:
    """Horizons and baselines from the sampling step: weekly seasons for daily data, daily ones below that."""
    if step >= timedelta(days=1):
        weeks = tuple(7 * k for k in range(1, 5))
        return _Shape(
            step,
            (_Horizon(1, tuple(range(1, 15)), weeks, 7, "day"), _Horizon(3, (3, 6, 9, 12), weeks, 2, "3 days")),
            persistence=1, noise_every=1, noise_window=NOISE_DAYS, noise_stride=1, min_noise=7, cooldown=timedelta(days=2),
        )
    per_day = max(1, round(timedelta(days=1) / step))
    per_hour = max(1, round(timedelta(hours=1) / step))
    days = tuple(per_day * k for k in range(1, 8))
    weeks = tuple(per_day * 7 * k for k in range(1, 5))
    return _Shape(
        step,
        (_Horizon(per_hour, days, weeks, 3, "hour"), _Horizon(per_hour * 3, days, weeks, 3, "3 hours"),
         _Horizon(per_day, days, weeks, 3, "day")),
        persistence=max(1, round(timedelta(minutes=15) / step)), noise_every=per_day,
        noise_window=per_day * NOISE_DAYS, noise_stride=per_hour, min_noise=2 * 24, cooldown=timedelta(hours=12),
    )


@dataclass(frozen=True)
class _Judged:
    values: np.ndarray  # the judged value per point (a rolling sum for counts)
    expected: np.ndarray  # the baseline that made the point least unusual
    score: np.ndarray  # spreads above (+) or below (-) both baselines; NaN = not judged


@dataclass(frozen=True)
class JudgedSeries:
    """A series scored on every horizon: the costly part, shared by every setting of the cut-offs."""

    times: list[datetime]
    history: np.ndarray  # points seen up to each slot
    shape: _Shape
    horizons: tuple[_Horizon, ...]
    judged: tuple[_Judged, ...]
    kind: str


def judge_series(points: Sequence[tuple[datetime, float]], kind: str = "count") -> JudgedSeries | None:
    """Score each point on each horizon from earlier points only; None for fewer than two points."""
    if len(points) < 2:
        return None
    ordered = sorted(points, key=lambda p: p[0])
    step = _step(ordered)
    times, raw = _regular(ordered, step, kind)
    shape = shape_for(step)
    # A share or a rating has no sum over days: it is judged on its own points only.
    horizons = shape.horizons if kind == "count" else shape.horizons[:1]
    judged = tuple(_judge(raw, h, shape, kind) for h in horizons)
    return JudgedSeries(times, np.cumsum(~np.isnan(raw)), shape, horizons, judged, kind)


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
    series = judge_series(points, rules.kind)
    return [] if series is None else alerts_from(series, rules, evaluate_from=evaluate_from)


def alerts_from(series: JudgedSeries, rules: DetectorRules, *, evaluate_from: datetime | None = None) -> list[Spike]:
    """Apply the cut-offs, persistence and episodes to a judged series; its kind was fixed when it was judged."""
    times, shape, horizons, judged = series.times, series.shape, series.horizons, series.judged
    step = shape.step
    cooldown = timedelta(days=rules.cooldown_days) if rules.cooldown_days is not None else shape.cooldown
    start = _naive(evaluate_from) if evaluate_from is not None else None
    spikes: list[Spike] = []
    last_unusual: datetime | None = None  # an episode lasts while points stay unusual
    last_alert: int | None = None
    streak = np.zeros(len(judged), dtype=int)
    for i in range(len(times)):
        if i == 0 or series.history[i - 1] < rules.min_history:
            continue
        fired: tuple[float, int] | None = None
        unusual = False
        for h, j in enumerate(judged):
            z = float(j.score[i])
            direction = "up" if z > 0 else "down"
            cut = rules.threshold if h == 0 else rules.rise_threshold
            if math.isnan(z) or abs(z) < cut or (rules.direction != "both" and direction != rules.direction):
                streak[h] = 0
                continue
            observed, expected = float(j.values[i]), float(j.expected[i])
            volume = observed if direction == "up" else expected
            if abs(observed - expected) < rules.min_excess or volume < rules.min_volume:
                streak[h] = 0
                continue
            streak[h] += 1
            if streak[h] < shape.persistence:
                continue
            unusual = True
            # One burst is one episode: a horizon whose sum still holds the last alert only repeats it.
            holds_last_alert = last_alert is not None and i - last_alert < horizons[h].width
            if not holds_last_alert and (fired is None or abs(z) > fired[0]):
                fired = (abs(z), h)
        if not unusual:
            continue
        t = times[i]
        in_episode = last_unusual is not None and t - last_unusual < cooldown
        last_unusual = t
        if fired is not None and not in_episode:
            last_alert = i
            spikes.append(_spike(times, i, judged[fired[1]], horizons[fired[1]], step, series.kind))
    return [s for s in spikes if start is None or s.timestamp >= start]


def _spike(times: list[datetime], i: int, judged: _Judged, horizon: _Horizon, step: timedelta, kind: str) -> Spike:
    t = times[i]
    observed, expected, z = float(judged.values[i]), float(judged.expected[i]), float(judged.score[i])
    ratio = observed / expected if expected > 0 else float("inf") if observed > 0 else 1.0
    window_start = times[max(0, i - horizon.width + 1)] if kind == "count" else t
    value = f"{observed:g}" if kind == "count" else f"{observed:.3g}"
    span = "" if horizon.width == 1 else f" in {window_start:%Y-%m-%d %H:%M} to {t + step:%Y-%m-%d %H:%M} ({horizon.label})"
    reason = (f"{value}{span} vs about {expected:.3g} expected (same slot on earlier days and weeks); "
              f"{abs(z):.1f} spreads {'above' if z > 0 else 'below'}")
    return Spike(
        timestamp=t, window_end=t + step, observed=observed, expected=round(expected, 4),
        severity=round(abs(z), 2), score=round(z, 4), ratio=round(min(ratio, 1e6), 3),
        direction="up" if z > 0 else "down", reason=reason, judged_from=window_start,
    )


def _judge(raw: np.ndarray, horizon: _Horizon, shape: _Shape, kind: str) -> _Judged:
    """Score every point of one horizon against its two baselines, from earlier values only."""
    values = _rolling_sum(raw, horizon.width) if kind == "count" else raw.copy()
    near = _lagged_median(values, horizon.near_lags, minimum=horizon.min_near)
    season = _lagged_median(values, horizon.season_lags, minimum=SEASON_MIN_WEEKS)
    if kind == "count":
        closer = np.where(np.isnan(season) | (np.abs(values - near) <= np.abs(values - season)), near, season)
        alpha = _dispersion(values, closer, shape, stride=min(horizon.width, shape.noise_stride))
        z_near = _count_score(values, near, alpha)
        z_season = _count_score(values, season, alpha)
    else:
        spread = _level_spread(values, horizon.near_lags, kind)
        z_near = (values - near) / spread
        z_season = (values - season) / spread
    # Unusual only when unusual against both baselines, in the same direction; the milder one counts.
    both = ~np.isnan(z_season)
    agree = np.sign(z_near) == np.sign(z_season)
    milder_is_season = both & (np.abs(z_season) < np.abs(z_near))
    score = np.where(both & ~agree, 0.0, np.where(milder_is_season, z_season, z_near))
    expected = np.where(milder_is_season, season, near)
    return _Judged(values, expected, score)


def _count_score(values: np.ndarray, baseline: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    mu = np.maximum(baseline, 1.0)
    with np.errstate(invalid="ignore"):
        return (values - baseline) / np.sqrt(mu + alpha * mu * mu)


def _dispersion(values: np.ndarray, baseline: np.ndarray, shape: _Shape, *, stride: int) -> np.ndarray:
    """The series' own overdispersion alpha, refitted now and then from past residuals only.

    alpha is the smallest value at which the series' past residuals look like a normal's out to the
    NOISE_QUANTILE: a bursty series (many retweet storms that were never news) gets a wide spread,
    a steady one a narrow spread. Only the outermost (1 - NOISE_QUANTILE) of the past may be unusual.
    """
    alpha = np.full(len(values), ALPHA_YOUNG)
    target = NormalDist().inv_cdf((1 + NOISE_QUANTILE) / 2)
    current: float | None = None
    for i in range(0, len(values), shape.noise_every):
        lo = max(0, i - shape.noise_window)
        x, mu = values[lo:i:stride], baseline[lo:i:stride]
        ok = ~np.isnan(x) & ~np.isnan(mu)
        if np.count_nonzero(ok) >= shape.min_noise:
            current = _fit_alpha(x[ok], mu[ok], target)
        if current is not None:
            alpha[i: i + shape.noise_every] = current
    return alpha


def _fit_alpha(x: np.ndarray, mu: np.ndarray, target: float) -> float:
    def tail(a: float) -> float:
        return float(np.quantile(np.abs(_count_score(x, mu, a)), NOISE_QUANTILE))

    lo, hi = math.log(ALPHA_FLOOR), math.log(ALPHA_CEILING)
    if tail(ALPHA_FLOOR) <= target:
        return ALPHA_FLOOR
    for _ in range(25):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if tail(math.exp(mid)) > target else (lo, mid)
    return math.exp(hi)


def _lagged_median(values: np.ndarray, lags: Sequence[int], *, minimum: int) -> np.ndarray:
    """Median of the values at the given lags before each point; NaN where fewer than `minimum` exist."""
    n = len(values)
    stacked = np.full((len(lags), n), np.nan)
    for row, lag in enumerate(lags):
        if lag < n:
            stacked[row, lag:] = values[: n - lag]
    count = np.count_nonzero(~np.isnan(stacked), axis=0)
    out = np.full(n, np.nan)
    enough = count >= minimum
    if enough.any():
        out[enough] = np.nanmedian(stacked[:, enough], axis=0)
    return out


def _level_spread(values: np.ndarray, lags: Sequence[int], kind: str) -> np.ndarray:
    """Robust spread (MAD) of a share or a rating over the near baseline's values, with a floor."""
    n = len(values)
    stacked = np.full((len(lags), n), np.nan)
    for row, lag in enumerate(lags):
        if lag < n:
            stacked[row, lag:] = values[: n - lag]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN median just means "no baseline yet"
        centre = np.nanmedian(stacked, axis=0)
        mad = np.nanmedian(np.abs(stacked - centre), axis=0) * MAD_TO_SD
    mad = np.nan_to_num(mad, nan=0.0)
    if kind == "ratio":
        return np.maximum(mad, 0.05)
    return np.maximum(np.maximum(mad, 0.01 * np.maximum(np.abs(np.nan_to_num(centre)), 1e-9)), 1e-9)


def _rolling_sum(values: np.ndarray, width: int) -> np.ndarray:
    """Sum of each point and the width-1 before it (causal); the first width-1 points have no full window."""
    if width <= 1:
        return values.copy()
    sums = np.convolve(values, np.ones(width), mode="full")[: len(values)]
    sums[: width - 1] = np.nan
    return sums


def _step(points: Sequence[tuple[datetime, float]]) -> timedelta:
    gaps = [b[0] - a[0] for a, b in zip(points, points[1:]) if b[0] > a[0]]
    if not gaps:
        return timedelta(days=1)
    return sorted(gaps)[len(gaps) // 2]


def _regular(points: Sequence[tuple[datetime, float]], step: timedelta, kind: str) -> tuple[list[datetime], np.ndarray]:
    """Put the points on a regular grid; missing counts are zero (nothing was said), other kinds NaN."""
    start = _naive(points[0][0])
    slots = int((_naive(points[-1][0]) - start) / step) + 1
    times = [start + k * step for k in range(slots)]
    values = np.full(slots, 0.0 if kind == "count" else np.nan)
    for t, v in points:
        values[round((_naive(t) - start) / step)] = float(v)
    return times, values


def _naive(t: datetime) -> datetime:
    return t.astimezone(timezone.utc).replace(tzinfo=None) if t.tzinfo else t


def spikes_from_csv(lines: Iterable[str], rules: DetectorRules = DetectorRules()) -> Iterator[dict[str, Any]]:
    """The `zmot spikes` contract: CSV `timestamp,value` in, one dict per alert out."""
    reader = csv.reader(line for line in lines if line.strip())
    header = next(reader, None)
    if header is None:
        return
    names = [h.strip().lower() for h in header]
    if names[:2] != ["timestamp", "value"]:
        raise ValueError(f"line 1: expected the header 'timestamp,value', got {','.join(header)!r}")
    points = []
    for number, row in enumerate(reader, start=2):
        if len(row) < 2:
            raise ValueError(f"line {number}: expected 'timestamp,value', got {','.join(row)!r}")
        try:
            when = datetime.fromisoformat(row[0].strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"line {number}: {row[0]!r} is not an ISO timestamp like 2026-11-24T10:00:00") from None
        try:
            value = float(row[1])
        except ValueError:
            raise ValueError(f"line {number}: {row[1]!r} is not a number") from None
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"line {number}: {row[1]!r} is not a finite number")
        points.append((when, value))
    for spike in detect_spikes(points, rules):
        yield {
            "timestamp": spike.timestamp.isoformat(), "observed": spike.observed, "expected": spike.expected,
            "severity": spike.severity, "ratio": spike.ratio, "direction": spike.direction,
            "reason": spike.reason, "detector_version": spike.detector_version,
        }
