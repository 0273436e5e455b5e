"""A backfill fills history through the real DAG without emailing anyone about the past."""

from __future__ import annotations

from pathlib import Path

from connectors import reddit
from connectors.replay import ReplayServer
from tests.conftest import PROJECT
from zmot.analyst import run_query
from zmot.cli import main


def test_backfill_stores_alerts_but_sends_none_and_a_rerun_changes_nothing(airflow_db, tmp_path: Path, monkeypatch) -> None:
    sample = PROJECT / "config" / "sample"
    replay = ReplayServer()
    replay.add_cassettes(sorted((sample / "reddit").glob("*.cassette.json")))
    with replay:  # the sample's Reddit source, answered on loopback as in the demo
        for name, value in ((reddit.ENV_OAUTH_URL, replay.url), (reddit.ENV_REDDIT_URL, replay.url),
                            (reddit.ENV_CLIENT_ID, "test"), (reddit.ENV_CLIENT_SECRET, "test")):
            monkeypatch.setenv(name, value)
        _backfill_twice(tmp_path, sample)


def _backfill_twice(tmp_path: Path, sample: Path) -> None:
    args = ["backfill", "--start", "2026-11-09", "--end", "2026-11-12", "--config", str(sample), "--data-dir", str(tmp_path)]
    assert main(args) == 0
    warehouse = tmp_path / "zmot.duckdb"
    alerts = run_query(
        warehouse, "SELECT brand, metric, window_start::DATE::VARCHAR, notified_at, delivery FROM alerts ORDER BY ALL"
    )[1]
    found = {(a[0], a[1], a[2]) for a in alerts}
    assert {("Acme Mobile", "lzmot_mentions", "2026-11-11"), ("Acme Mobile", "negative_mentions", "2026-11-11")} <= found
    assert all(a[3] is None and a[4].startswith("suppressed: found by a backfill run") for a in alerts)  # none emailed
    assert not (tmp_path / "outbox").exists()
    before = run_query(warehouse, "SELECT * FROM mentions ORDER BY mention_id")[1]
    assert main(args) == 0
    assert run_query(warehouse, "SELECT * FROM mentions ORDER BY mention_id")[1] == before
    assert run_query(warehouse, "SELECT count(*) FROM alerts")[1] == [(len(alerts),)]
