"""The daily run's detect step and `zmot spikes` judge with one set of defaults, defined once."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from warehouse.db import connect
from warehouse.spike_rules import DetectorRules, SpikeDefaults, spike_settings
from zmot import steps
from zmot.cli import main
from zmot.config import AlertRules, load_config
from zmot.runcontext import RunContext

FIRST = date(2026, 9, 7)  # a Monday
DAYS = 60
PROJECT_CONFIG = Path(__file__).resolve().parents[1] / "config"


def negatives_per_day() -> list[int]:
    """Busy weekends, some noise, and three jumps of different sizes."""
    values = [[4, 5, 4, 5, 6, 12, 14][d % 7] + (d * 7919) % 5 - 2 for d in range(DAYS)]
    for day, extra in ((30, 25), (44, 9), (52, 40)):
        values[day] += extra
    return values


def _config(directory: Path) -> Path:
    directory.mkdir()
    (directory / "brands.yaml").write_text("brands:\n  - name: Acme\n")
    (directory / "sources.yaml").write_text("sources:\n  - name: news\n    kind: rss\n    url: https://news.example.com/feed.xml\n")
    (directory / "alerts.yaml").write_text("sender: alerts@example.com\nrecipients: [team@example.com]\n")
    return directory


def _warehouse(path: Path, values: list[int]) -> None:
    con = connect(path)
    con.executemany(
        "INSERT INTO daily_signals (day, brand, product, source_kind, mentions, positive, neutral, negative, unscored, "
        "avg_sentiment, zmot, lzmot, umot, zmot_negative, lzmot_negative, umot_negative, avg_rating, rating_count) "
        "VALUES (?, 'Acme', '*', '*', ?, 0, 0, ?, 0, -0.5, 0, 0, 0, 0, 0, 0, NULL, 0)",
        [(FIRST + timedelta(days=d), v, v) for d, v in enumerate(values)],
    )
    con.close()


def test_alert_rules_take_every_detector_default_from_one_place() -> None:
    assert spike_settings(AlertRules()) == DetectorRules()
    assert {name: getattr(AlertRules(), name) for name in SpikeDefaults.model_fields} == SpikeDefaults().model_dump()
    shipped = load_config(PROJECT_CONFIG).alerts.rules  # the sample alerts.yaml sets no rules
    assert spike_settings(shipped) == DetectorRules()


def test_the_daily_runs_detect_step_and_zmot_spikes_raise_the_same_alerts(tmp_path: Path, capsys) -> None:
    values = negatives_per_day()
    warehouse = tmp_path / "w.duckdb"
    _warehouse(warehouse, values)
    end = datetime.combine(FIRST + timedelta(days=DAYS), datetime.min.time(), tzinfo=timezone.utc)
    ctx = RunContext.for_date(end, config_dir=_config(tmp_path / "config"), data_dir=tmp_path / "data", warehouse=warehouse)
    steps.detect(ctx, [(FIRST + timedelta(days=d)).isoformat() for d in range(DAYS)])
    con = connect(warehouse)
    stored = con.execute(
        "SELECT window_start, observed, expected, severity FROM alerts WHERE metric = 'negative_mentions' ORDER BY window_start"
    ).fetchall()
    con.close()

    csv = tmp_path / "negatives.csv"
    csv.write_text("timestamp,value\n" + "".join(f"{FIRST + timedelta(days=d)},{v}\n" for d, v in enumerate(values)))
    capsys.readouterr()
    assert main(["spikes", str(csv)]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    assert [row[0].date() for row in stored] == [date.fromisoformat(a["timestamp"][:10]) for a in printed]
    assert [tuple(row[1:]) for row in stored] == [(a["observed"], a["expected"], a["severity"]) for a in printed]
    assert {FIRST + timedelta(days=30), FIRST + timedelta(days=52)} <= {row[0].date() for row in stored}
