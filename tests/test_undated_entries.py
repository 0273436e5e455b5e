"""Issue 13: feed entries without a date, through the real DAG (dag.test(), as `zmot run` runs it) on
scheduled-style past dates.

Such an entry is stored once, by the first run that sees it, dated by that run's window (its interval
end) and flagged `date_missing`; a rerun or a backfill of the day stores the same; later runs never
store it again nor move it; nothing is held back, so the feed's ETag is kept.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from connectors.kinds.rss import RssState
from connectors.records import SourceState
from tests.conftest import PROJECT
from zmot.analyst import run_query

FEED = PROJECT / "tests" / "fixtures" / "feeds" / "undated.rss.xml"
DAY, NEXT_DAY = "2026-11-30", "2026-12-01"
UNDATED_IDS = {"undated-1", "https://notes.example.com/acme-family"}
TABLES = ["mentions", "mention_nlp", "mention_refs", "mention_targets", "daily_signals", "source_state", "rejects"]


def _config(directory: Path) -> Path:
    """The sample's brands and one file: feed, copied beside the config so a test may rewrite it."""
    (directory / "feeds").mkdir(parents=True)
    shutil.copy(FEED, directory / "feeds" / "undated.rss.xml")
    shutil.copy(PROJECT / "config" / "sample" / "brands.yaml", directory / "brands.yaml")
    (directory / "sources.yaml").write_text("sources:\n  - {name: notes, kind: rss, url: 'file:feeds/undated.rss.xml'}\n")
    (directory / "alerts.yaml").write_text(f"sender: zmot@example.com\nrecipients: [team@example.com]\noutbox_dir: {directory / 'outbox'}\n")
    return directory


@pytest.fixture
def run(airflow_db, monkeypatch: pytest.MonkeyPatch):
    """Run the real zmot_daily DAG for one logical date on a config and data dir; the run must succeed."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(PROJECT / "dags")).dags["zmot_daily"]

    def run_day(config: Path, data: Path, day: str) -> None:
        for name, value in (("ZMOT_CONFIG_DIR", config), ("ZMOT_DATA_DIR", data), ("ZMOT_WAREHOUSE", data / "zmot.duckdb")):
            monkeypatch.setenv(name, str(value))
        logical = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
        assert str(dag.test(logical_date=logical).state) == "success"

    return run_day


def _mentions(data: Path) -> dict[str, tuple]:
    rows = run_query(data / "zmot.duckdb", "SELECT native_id, published_at, date_missing, first_run, last_run, text FROM mentions")[1]
    return {row[0]: row[1:] for row in rows}


def _snapshot(data: Path) -> dict[str, list[tuple]]:
    return {t: run_query(data / "zmot.duckdb", f"SELECT * FROM {t} ORDER BY ALL")[1] for t in TABLES}


def _state(data: Path) -> RssState:
    stored = run_query(data / "zmot.duckdb", "SELECT state::VARCHAR FROM source_state WHERE source_id = 'notes'")[1][0][0]
    return RssState.read(SourceState.from_json(stored))


def test_two_undated_entries_are_stored_once_dated_by_the_first_run_through_the_real_dag(run, tmp_path: Path) -> None:
    config, data = _config(tmp_path / "config"), tmp_path / "data"
    run(config, data, DAY)
    first = _snapshot(data)
    stored = _mentions(data)
    assert set(stored) == UNDATED_IDS
    for published_at, date_missing, first_run, last_run, _ in stored.values():
        assert published_at == datetime(2026, 11, 30) and date_missing  # the run's interval end: inside its window
        assert first_run == last_run == "2026-11-30T000000Z"
    assert run_query(data / "zmot.duckdb", "SELECT count(*) FROM v_mentions WHERE date_missing AND 'Acme Mobile' IN brands")[1] == [(2,)]
    assert run_query(data / "zmot.duckdb", "SELECT count(*) FROM rejects")[1] == [(0,)]
    state = _state(data)
    assert state.etag and state.watermark is None  # nothing held back: the ETag is kept; no date to move the watermark
    assert sorted(state.undated_ids) == sorted(UNDATED_IDS)
    signals = run_query(data / "zmot.duckdb", "SELECT day::VARCHAR, mentions FROM daily_signals "
                                              "WHERE brand = 'Acme Mobile' AND product = '*' AND source_kind = '*'")[1]
    assert signals == [("2026-11-30", 2)]

    run(config, data, NEXT_DAY)  # the feed unchanged: a conditional read, nothing new
    run(config, data, DAY)  # and the first day again
    assert _snapshot(data) == first


def test_later_runs_store_only_new_undated_entries_and_a_backfill_of_the_day_stores_the_same(run, tmp_path: Path) -> None:
    config, data = _config(tmp_path / "config"), tmp_path / "data"
    feed = config / "feeds" / "undated.rss.xml"
    run(config, data, DAY)
    after_day = _mentions(data)
    text = feed.read_text()
    new_item = ("<item><guid isPermaLink=\"false\">undated-3</guid><title>Acme Mobile support was great</title>"
                "<description>Highly recommend Acme Mobile.</description></item>\n    <item>")
    feed.write_text(text.replace("<item>", new_item, 1))  # rewritten: a new ETag, so the next run reads it in full
    run(config, data, NEXT_DAY)
    stored = _mentions(data)
    assert set(stored) == UNDATED_IDS | {"undated-3"}
    assert stored["undated-3"][:3] == (datetime(2026, 12, 1), True, "2026-12-01T000000Z")
    assert {k: stored[k] for k in UNDATED_IDS} == after_day  # never stored again, never moved
    os.utime(feed, (1_900_000_000, 1_900_000_000))  # a new ETag again: the rerun of the first day reads it in full too
    run(config, data, DAY)
    assert _mentions(data) == stored

    backfill = tmp_path / "backfill"  # the first day alone into a fresh warehouse, as a backfill would
    shutil.copy(FEED, feed)
    run(config, backfill, DAY)
    assert _mentions(backfill) == after_day
