"""The NAB benchmark's scoring and its leave-one-series-out fold, on written alerts and scores."""

from __future__ import annotations

from datetime import datetime, timedelta

from bench.spikes_nab import Score, held_back, score

T0 = datetime(2015, 3, 1)
HOUR = timedelta(hours=1)


def test_alerts_within_six_hours_are_one_episode_and_leads_count_from_the_window_start() -> None:
    series = [(T0, 1.0), (T0 + 30 * 24 * HOUR, 1.0)]
    window = (T0 + 100 * HOUR, T0 + 110 * HOUR)
    alerts = [T0 + 10 * HOUR, T0 + 14 * HOUR,  # one false episode
              T0 + 50 * HOUR,  # another
              T0 + 98 * HOUR, T0 + 102 * HOUR]  # runs into the window: a true episode
    s = score(alerts, [window, (T0 + 200 * HOUR, T0 + 210 * HOUR)], series)
    assert (s.windows, s.caught, s.false, s.true_episodes) == (2, 1, 2, 1)
    assert s.leads == (120.0, None) and s.days == 30 and s.false_per_30_days == 2
    assert round(s.precision, 3) == 0.333 and s.recall == 0.5


def test_each_series_is_scored_with_the_setting_best_on_the_others() -> None:
    def scored(caught: int, false: int) -> Score:
        return Score(windows=2, caught=caught, false=false, true_episodes=caught, days=30.0, leads=())

    settings = [{"threshold": 4, "rise_threshold": 3, "cooldown_days": 1},
                {"threshold": 5, "rise_threshold": 3, "cooldown_days": 1}]
    grid = [[scored(2, 0), scored(1, 5), scored(1, 5)],  # perfect on the first series only
            [scored(1, 1), scored(2, 0), scored(2, 0)]]  # perfect on the other two
    folds = held_back(grid, settings)
    assert [best for _, best in folds] == [1, 1, 1]  # the first series may not choose for itself
    assert folds[0][0] == scored(1, 1)
