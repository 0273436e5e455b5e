"""A backfill fills history through the real DAG without emailing anyone about the past."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import PROJECT
from zmot.analyst import run_query
from zmot.cli import main


def test_backfill_stores_alerts_but_sends_none_and_a_rerun_changes_nothing(airflow_db, tmp_path: Path) -> None:
    args = ["backfill", "--start", "2026-11-09", "--end", "2026-11-12", "--config", str(PROJECT / "config" / "sample"),
            "--data-dir", str(tmp_path)]
    assert main(args) == 0
    warehouse = tmp_path / "zmot.duckdb"
    alerts = run_query(warehouse, "SELECT metric, notified_at, delivery FROM alerts ORDER BY metric")[1]
    assert [a[0] for a in alerts] == ["lzmot_mentions", "negative_mentions"]  # the outage was found...
    assert all(a[1] is None and a[2].startswith("suppressed: found by a backfill run") for a in alerts)  # ...and not emailed
    assert not (tmp_path / "outbox").exists()
    before = run_query(warehouse, "SELECT * FROM mentions ORDER BY mention_id")[1]
    assert main(args) == 0
    assert run_query(warehouse, "SELECT * FROM mentions ORDER BY mention_id")[1] == before
    assert run_query(warehouse, "SELECT count(*) FROM alerts")[1] == [(2,)]
