"""Spike detection on written series: each point judged only on earlier points."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest

from warehouse.spikes import DetectorRules, detect_spikes, spikes_from_csv

DAY = timedelta(days=1)
START = datetime(2026, 9, 7)  # a Monday


def daily(values: list[float]) -> list[tuple[datetime, float]]:
    return [(START + i * DAY, v) for i, v in enumerate(values)]


def weekly_pattern(weeks: int) -> list[float]:
    return [4, 5, 4, 5, 6, 14, 15] * weeks  # busy weekends


def test_a_flat_series_raises_nothing() -> None:
    assert detect_spikes(daily([5.0] * 60)) == []


def test_a_slow_trend_raises_nothing() -> None:
    assert detect_spikes(daily([5 + 0.3 * i for i in range(90)])) == []


def test_a_weekly_pattern_is_not_a_spike_every_weekend() -> None:
    assert detect_spikes(daily(weekly_pattern(10))) == []


def test_a_jump_from_zero_to_three_is_not_a_crisis() -> None:
    assert detect_spikes(daily([0, 0, 1, 0, 0, 0, 0] * 5 + [3])) == []


def test_three_a_day_to_thirty_is() -> None:
    [spike] = detect_spikes(daily([3, 2, 4, 3, 3, 2, 3] * 4 + [30]))
    assert spike.timestamp == START + 28 * DAY and spike.observed == 30
    assert 2 <= spike.expected <= 4 and spike.ratio > 7 and spike.direction == "up"
    assert "30 vs about" in spike.reason and spike.detector_version


def test_a_spike_on_a_weekend_is_judged_against_weekends() -> None:
    values = weekly_pattern(6)
    values[-2] = 60  # a Saturday far above usual Saturdays
    [spike] = detect_spikes(daily(values))
    assert spike.timestamp == START + (len(values) - 2) * DAY
    assert spike.expected > 8  # weekend level, not the weekday one


def test_a_sustained_shift_alerts_once_then_cools_down() -> None:
    values = [3, 2, 4, 3, 3, 2, 3] * 4 + [30, 31, 29, 30]
    spikes = detect_spikes(daily(values))
    assert [s.timestamp for s in spikes] == [START + 28 * DAY]


def test_missing_days_count_as_zero_for_counts() -> None:
    points = [p for i, p in enumerate(daily([3, 2, 4, 3, 3, 2, 3] * 4 + [30])) if i not in (5, 12)]
    [spike] = detect_spikes(points)
    assert spike.observed == 30


def test_short_history_is_never_judged_on_noise() -> None:
    assert detect_spikes(daily([1, 8, 0, 9, 2])) == []
    assert detect_spikes(daily([4])) == []


def test_evaluate_from_limits_what_fires_but_keeps_history_and_cooldown() -> None:
    values = [3, 2, 4, 3, 3, 2, 3] * 4 + [30, 32]
    assert detect_spikes(daily(values), evaluate_from=START + 29 * DAY) == []  # the episode began the day before
    [spike] = detect_spikes(daily(values), evaluate_from=START + 28 * DAY)
    assert spike.timestamp == START + 28 * DAY


def test_the_past_never_changes_when_the_future_arrives() -> None:
    values = [3, 2, 4, 3, 3, 2, 3] * 4 + [30, 3, 2, 4, 3, 2, 3, 3, 2, 4, 3, 3, 2, 3, 40, 3, 3]
    full = detect_spikes(daily(values))
    for cut in range(10, len(values)):
        prefix = detect_spikes(daily(values[:cut]))
        assert prefix == [s for s in full if s.timestamp < START + cut * DAY]


def test_a_ratio_series_uses_a_robust_spread() -> None:
    values = [0.20, 0.22, 0.18, 0.21, 0.19, 0.20, 0.23] * 4 + [0.75]
    [spike] = detect_spikes(daily(values), DetectorRules(kind="ratio", min_volume=0, min_excess=0.1))
    assert spike.observed == 0.75 and math.isclose(spike.expected, 0.205, abs_tol=0.02)


def test_drops_are_found_when_asked() -> None:
    values = [40, 42, 38, 41, 39, 40, 43] * 4 + [2]
    assert detect_spikes(daily(values)) == []
    [spike] = detect_spikes(daily(values), DetectorRules(direction="down"))
    assert spike.direction == "down"


@pytest.mark.parametrize("step", [timedelta(minutes=5), timedelta(hours=1), timedelta(days=1)])
def test_any_granularity_through_the_csv_contract(step: timedelta) -> None:
    per_day = round(DAY / step)
    n = max(per_day * 10, 40)
    values = [10 + (i % per_day == 0) for i in range(n)]
    burst = n - 5
    for k in range(burst, n):
        values[k] = 200
    lines = ["timestamp,value"] + [f"{(START + i * step).isoformat()},{v}" for i, v in enumerate(values)]
    alerts = list(spikes_from_csv(lines))
    assert len(alerts) == 1
    fired = datetime.fromisoformat(alerts[0]["timestamp"])
    assert START + burst * step <= fired <= START + (n - 1) * step
    assert set(alerts[0]) >= {"timestamp", "observed", "expected", "severity", "reason", "detector_version"}


def test_csv_accepts_nabs_timestamps_and_refuses_bad_rows_by_line() -> None:
    assert list(spikes_from_csv(["timestamp,value", "2015-02-26 21:42:53,104"])) == []
    assert list(spikes_from_csv([])) == []
    with pytest.raises(ValueError, match="line 3: 'abc' is not a number"):
        list(spikes_from_csv(["timestamp,value", "2026-01-01,1", "2026-01-02,abc"]))
    with pytest.raises(ValueError, match="line 2: 'yesterday' is not an ISO timestamp"):
        list(spikes_from_csv(["timestamp,value", "yesterday,1"]))
    with pytest.raises(ValueError, match="line 1: expected the header"):
        list(spikes_from_csv(["when,count", "2026-01-01,1"]))
    with pytest.raises(ValueError, match="not a finite number"):
        list(spikes_from_csv(["timestamp,value", "2026-01-01,nan"]))


FIVE_MINUTES = timedelta(minutes=5)
PER_DAY = 288


def tweets(days: int, *, seed: int, level: float = 20.0) -> np.ndarray:
    """Poisson counts every five minutes around a daily cycle: quiet nights, busy afternoons."""
    slot = np.arange(days * PER_DAY)
    rate = level * (1 + 0.6 * np.sin(2 * np.pi * slot / PER_DAY))
    return np.random.default_rng(seed).poisson(rate).astype(float)


def five_minutely(values: np.ndarray) -> list[tuple[datetime, float]]:
    return [(START + i * FIVE_MINUTES, float(v)) for i, v in enumerate(values)]


def test_a_rise_over_hours_fires_on_the_long_horizon_not_as_a_burst() -> None:
    values = tweets(15, seed=1)
    values[14 * PER_DAY:] *= 1.4  # the last day runs 40 % busier, hour after hour: no hour stands out
    [spike] = detect_spikes(five_minutely(values))
    assert spike.timestamp >= START + 14 * DAY and "(hour)" not in spike.reason and "hours)" in spike.reason
    assert detect_spikes(five_minutely(values), DetectorRules(rise_threshold=99)) == []


def test_a_burst_of_an_hour_fires_on_the_short_horizon() -> None:
    values = tweets(15, seed=2)
    burst = 14 * PER_DAY + 150
    values[burst: burst + 12] += 40
    [spike] = detect_spikes(five_minutely(values))
    assert START + burst * FIVE_MINUTES <= spike.timestamp <= START + (burst + 12) * FIVE_MINUTES
    assert "(hour)" in spike.reason


def test_a_series_that_often_bursts_needs_a_bigger_burst_to_fire() -> None:
    bursts_only = DetectorRules(rise_threshold=99)  # the long horizons' lower cut is near a stormy series' own tail
    steady, bursty = tweets(22, seed=3), tweets(22, seed=3)
    rng = np.random.default_rng(4)
    for day in range(21):  # a retweet storm most days, never news
        at = day * PER_DAY + int(rng.integers(0, PER_DAY - 12))
        bursty[at: at + 6] += 45
    last = 21 * PER_DAY + 150
    for values in (steady, bursty):
        values[last: last + 6] += 45
    assert [s.timestamp.date() for s in detect_spikes(five_minutely(steady), bursts_only)] == [(START + 21 * DAY).date()]
    assert [s for s in detect_spikes(five_minutely(bursty), bursts_only) if s.timestamp >= START + 7 * DAY] == []


def test_three_busy_days_fire_as_a_rise_though_no_day_is_a_spike() -> None:
    values = [10, 11, 9, 10, 12, 10, 11] * 5 + [17, 18, 18]
    [spike] = detect_spikes(daily(values))
    assert spike.timestamp == START + 37 * DAY and "(3 days)" in spike.reason and spike.observed == 53
    assert detect_spikes(daily(values), DetectorRules(rise_threshold=99)) == []


def test_one_burst_is_not_alerted_again_while_a_horizon_still_holds_its_alert() -> None:
    values = tweets(15, seed=2)
    burst = 14 * PER_DAY + 150
    values[burst: burst + 12] += 40
    # With no cooldown at all, only the rule that a sum holding the last alert repeats it keeps this to
    # one alert per hour of the burst's sums (without it: 39, one per five minutes).
    spikes = detect_spikes(five_minutely(values), DetectorRules(cooldown_days=0))
    assert 1 <= len(spikes) <= 2
    assert START + burst * FIVE_MINUTES <= spikes[0].timestamp <= START + (burst + 12) * FIVE_MINUTES
    assert all(b.timestamp - a.timestamp >= timedelta(hours=1) for a, b in zip(spikes, spikes[1:]))


def test_one_earlier_week_is_not_yet_a_season_two_are() -> None:
    one_off = [3, 2, 4, 3, 3, 2, 30]  # a Sunday of 30 once
    sunday = START + 13 * DAY
    assert sunday in [s.timestamp for s in detect_spikes(daily(one_off * 2))]  # one Sunday before: news
    later = sunday + 7 * DAY
    assert later not in [s.timestamp for s in detect_spikes(daily(one_off * 3))]  # two before: the season
