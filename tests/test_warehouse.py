"""The warehouse stores runs atomically and idempotently, and its signals follow the data."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pytest

from connectors.records import Mention, Reject, SourceState
from warehouse.db import connect, migrations, schema_version
from warehouse.load import StagedRun, load_run
from warehouse.signals import recompute_signals
from zmot import staging

T0 = datetime(2026, 11, 10, 9, 30, tzinfo=timezone.utc)


def _mention(native_id: str, text: str, published: datetime = T0, author: str = "ana") -> Mention:
    return Mention(
        source_kind="rss", source_id="news", native_id=native_id, url=f"https://n.example/{native_id}",
        author=author, title=None, text=text, published_at=published, fetched_at=published,
    )


def _stage(tmp: Path, run_key: str, mentions: list[Mention], sentiment: dict[str, tuple[str, float]],
           brand: str = "Acme", rejects: list[Reject] | None = None) -> StagedRun:
    folder = tmp / run_key
    staging.write_mentions(staging.mentions_path(folder, "news"), mentions)
    nlp_rows, ref_rows = [], []
    for m in mentions:
        label, score = sentiment[m.native_id]
        nlp_rows.append({"mention_id": m.mention_id, "language": "en", "language_score": 0.9,
                         "sentiment_label": label, "sentiment_score": score, "ref_count": 1,
                         "moment": "none", "stage": None, "moment_confidence": 0.5, "moment_evidence": [],
                         "model_version": "test"})
        ref_rows.append({"mention_id": m.mention_id, "ref_index": 0, "brand": brand, "product": None,
                         "matched_text": brand, "start_char": 0, "end_char": len(brand),
                         "sentiment_label": label, "sentiment_score": score, "moment": "none", "stage": None,
                         "moment_confidence": 0.5, "moment_evidence": []})
    staging.write_rows(staging.nlp_path(folder), nlp_rows, staging.NLP_SCHEMA)
    staging.write_rows(staging.refs_path(folder), ref_rows, staging.REF_SCHEMA)
    state = SourceState("news", "rss", watermark=max(m.published_at for m in mentions), boundary_ids=["x"])
    return StagedRun(run_key, T0, [staging.mentions_path(folder, "news")], staging.nlp_path(folder),
                     staging.refs_path(folder), [state], rejects or [], ["news"], [])


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    names = ["mentions", "mention_nlp", "mention_refs", "daily_signals", "source_state", "rejects"]
    return {n: con.execute(f"SELECT * FROM {n} ORDER BY ALL").fetchall() for n in names}


def test_a_new_file_is_migrated_to_the_latest_schema(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    assert schema_version(con) == migrations()[-1][0]
    assert con.execute("SELECT count(*) FROM v_mentions").fetchall() == [(0,)]


def test_opening_again_applies_nothing_twice(tmp_path: Path) -> None:
    connect(tmp_path / "w.duckdb").close()
    con = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT count(*) FROM schema_version").fetchall()[0][0] == len(migrations())


def test_an_old_file_is_brought_up_to_date(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    first_version, first_name, first_sql = migrations()[0]
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL)")
    con.execute(first_sql)
    con.execute("INSERT INTO schema_version VALUES (?, ?)", [first_version, first_name])
    con.close()
    con = connect(path)
    assert schema_version(con) == migrations()[-1][0]


def test_reloading_the_same_run_leaves_every_table_identical(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    run = _stage(tmp_path, "r1", [_mention("a", "Acme is great"), _mention("b", "Acme is awful")],
                 {"a": ("positive", 0.8), "b": ("negative", -0.7)},
                 rejects=[Reject("news", "rss", "extract", "feed_bozo", "stray byte")])
    first = load_run(con, run)
    recompute_signals(con, first.days_touched)
    before = _tables(con)
    again = load_run(con, run)
    recompute_signals(con, again.days_touched)
    assert (first.mentions_new, again.mentions_new, again.mentions_updated) == (2, 0, 0)
    assert again.days_touched == []
    assert _tables(con) == before


def test_an_edited_mention_replaces_its_text_and_nlp_instead_of_duplicating(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    load_run(con, _stage(tmp_path, "r1", [_mention("a", "Acme is fine")], {"a": ("neutral", 0.0)}))
    summary = load_run(con, _stage(tmp_path, "r2", [_mention("a", "Acme is awful, cancelling")], {"a": ("negative", -0.8)}))
    assert (summary.mentions_new, summary.mentions_updated) == (0, 1)
    rows = con.execute("SELECT text, first_run, last_run FROM mentions").fetchall()
    assert rows == [("Acme is awful, cancelling", "r1", "r2")]
    assert con.execute("SELECT sentiment_label FROM mention_nlp").fetchall() == [("negative",)]
    assert con.execute("SELECT count(*) FROM mention_refs").fetchall() == [(1,)]


def test_signals_count_distinct_mentions_per_day_brand_and_sentiment(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    day2 = datetime(2026, 11, 11, 23, 59, tzinfo=timezone.utc)
    run = _stage(tmp_path, "r1", [_mention("a", "x"), _mention("b", "y"), _mention("c", "z", day2)],
                 {"a": ("negative", -0.5), "b": ("positive", 0.5), "c": ("negative", -0.9)})
    summary = load_run(con, run)
    assert summary.days_touched == [date(2026, 11, 10), date(2026, 11, 11)]
    recompute_signals(con, summary.days_touched)
    rows = con.execute(
        "SELECT day, mentions, positive, neutral, negative, round(avg_sentiment, 2) FROM daily_signals "
        "WHERE brand = 'Acme' AND product = '*' AND source_kind = '*' ORDER BY day"
    ).fetchall()
    assert rows == [(date(2026, 11, 10), 2, 1, 0, 1, 0.0), (date(2026, 11, 11), 1, 0, 0, 1, -0.9)]
    by_kind = con.execute("SELECT DISTINCT source_kind FROM daily_signals ORDER BY 1").fetchall()
    assert by_kind == [("*",), ("rss",)]


def test_a_failed_load_stores_nothing_and_keeps_the_cursor(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    run = _stage(tmp_path, "r1", [_mention("a", "Acme")], {"a": ("neutral", 0.0)})
    broken = StagedRun(**{**run.__dict__, "refs_file": tmp_path / "missing.parquet"})
    with pytest.raises(duckdb.Error):
        load_run(con, broken)
    assert con.execute("SELECT count(*) FROM mentions").fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM source_state").fetchall() == [(0,)]


def test_analysts_can_read_while_nothing_writes(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = connect(path)
    load_run(con, _stage(tmp_path, "r1", [_mention("a", "Acme")], {"a": ("neutral", 0.0)}))
    con.close()
    reader = connect(path, read_only=True)
    assert reader.execute("SELECT count(*) FROM v_mentions").fetchall() == [(1,)]
    with pytest.raises(duckdb.Error):
        reader.execute("DELETE FROM mentions")


def test_the_targets_table_is_filled_when_an_older_warehouse_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = connect(path)
    load_run(con, _stage(tmp_path, "r1", [_mention("a", "Acme"), _mention("b", "Acme bad")],
                         {"a": ("neutral", 0.0), "b": ("negative", -0.7)}))
    before = con.execute("SELECT * FROM v_target_mentions ORDER BY ALL").fetchall()
    con.execute("DROP VIEW v_target_mentions; DROP TABLE mention_targets; DELETE FROM schema_version WHERE version >= 5")
    con.close()
    con = connect(path)  # migration 5 again, on a file that already holds mentions
    assert con.execute("SELECT * FROM v_target_mentions ORDER BY ALL").fetchall() == before
    assert [r[1] for r in before] == ["Acme", "Acme"] and {r[12] for r in before} == {"neutral", "negative"}
