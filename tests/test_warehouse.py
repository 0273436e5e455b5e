"""The warehouse stores runs atomically and idempotently, and its signals follow the data."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from connectors.records import Mention, MentionRow, Reject, SourceState
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
    staging.write_rows(staging.nlp_path(folder, "news"), nlp_rows, staging.NLP_SCHEMA)
    staging.write_rows(staging.refs_path(folder, "news"), ref_rows, staging.REF_SCHEMA)
    state = SourceState("news", "rss", watermark=max(m.published_at for m in mentions), boundary_ids=["x"])
    return StagedRun(run_key, T0, [staging.mentions_path(folder, "news")], [staging.nlp_path(folder, "news")],
                     [staging.refs_path(folder, "news")], [state], rejects or [], ["news"], [])


VOICE_COLUMNS = ("clusters", "authors", "negative_clusters", "negative_authors", "lzmot_clusters", "lzmot_authors")


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


def test_a_migration_merged_after_a_higher_one_is_still_applied(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    connect(path).close()
    con = duckdb.connect(str(path))  # as if migration 11 had landed after the file reached the newest
    con.execute("DELETE FROM schema_version WHERE version = 11")
    con.execute("DROP TABLE mention_tags")
    con.close()
    con = connect(path)
    assert con.execute("SELECT count(*) FROM mention_tags").fetchall() == [(0,)]
    assert [r[0] for r in con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()] == \
        [v for v, _, _ in migrations()]


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
    assert again.days_touched == first.days_touched  # re-judged, so an earlier attempt's lost detect is redone
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


def test_an_edit_never_moves_a_mention_whose_date_was_missing(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    later = T0 + timedelta(days=3)
    undated = dataclasses.replace(_mention("u", "Acme is fine"), date_missing=True)
    load_run(con, _stage(tmp_path, "r1", [undated, _mention("d", "Acme dated"), _mention("m", "Acme moved")],
                         {"u": ("neutral", 0.0), "d": ("neutral", 0.0), "m": ("neutral", 0.0)}))
    edits = [
        dataclasses.replace(undated, text="Acme is awful", published_at=later, fetched_at=later),  # seen again by a later run
        dataclasses.replace(_mention("d", "Acme dated, edited"), published_at=later, date_missing=True),  # its date vanished
        _mention("m", "Acme moved, edited", published=later),  # a dated edit with a new date moves, as before
    ]
    summary = load_run(con, _stage(tmp_path, "r2", edits, {"u": ("negative", -0.8), "d": ("neutral", 0.0), "m": ("neutral", 0.0)}))
    assert summary.mentions_updated == 3 and summary.days_touched == [T0.date(), later.date()]
    rows = con.execute("SELECT native_id, text, published_at, published_day, date_missing FROM mentions ORDER BY 1").fetchall()
    assert rows == [
        ("d", "Acme dated, edited", T0.replace(tzinfo=None), T0.date(), False),
        ("m", "Acme moved, edited", later.replace(tzinfo=None), later.date(), False),
        ("u", "Acme is awful", T0.replace(tzinfo=None), T0.date(), True),
    ]
    targets = con.execute("SELECT published_day, count(*) FROM mention_targets GROUP BY 1 ORDER BY 1").fetchall()
    assert targets == [(T0.date(), 2), (later.date(), 1)]


def test_migration_8_moves_the_date_missing_metadata_key_into_its_column(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = connect(path)
    reviews = [dataclasses.replace(_mention(n, "Acme"), source_kind="reviews", metadata={"site": "s", "date_missing": flag})
               for n, flag in (("r1", True), ("r2", False))]
    load_run(con, _stage(tmp_path, "r1", [*reviews, _mention("a", "Acme")], {"r1": ("neutral", 0.0), "r2": ("neutral", 0.0), "a": ("neutral", 0.0)}))
    con.execute("ALTER TABLE mentions DROP COLUMN date_missing; DELETE FROM schema_version WHERE version >= 8")  # as version 7 left it
    con.close()
    con = connect(path)
    rows = con.execute("SELECT native_id, date_missing, metadata::VARCHAR FROM mentions ORDER BY 1").fetchall()
    assert rows == [("a", False, "{}"), ("r1", True, '{"site":"s"}'), ("r2", False, '{"site":"s"}')]
    assert con.execute("SELECT count(*) FROM v_mentions WHERE date_missing").fetchall() == [(1,)]


def test_the_staged_records_and_the_migrated_tables_have_the_same_columns(tmp_path: Path) -> None:
    """Adding a field to a record type needs a migration adding its column, and nothing else."""
    con = connect(tmp_path / "w.duckdb")

    def columns(table: str) -> set[str]:
        rows = con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()
        return {name for (name,) in rows}

    mention_fields = {f.name for f in dataclasses.fields(MentionRow)}
    assert set(dataclasses.asdict(_mention("a", "Acme").to_row())) == mention_fields
    assert {"declared_language" if f == "language" else f for f in mention_fields} | {"published_day", "first_run", "last_run"} == columns("mentions")
    assert set(staging.NLP_SCHEMA.names) | {"published_day"} == columns("mention_nlp")
    assert set(staging.REF_SCHEMA.names) | {"published_day"} == columns("mention_refs")


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
    broken = StagedRun(**{**run.__dict__, "refs_files": [*run.refs_files, tmp_path / "missing.parquet"]})
    with pytest.raises(duckdb.Error):
        load_run(con, broken)
    assert con.execute("SELECT count(*) FROM mentions").fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM source_state").fetchall() == [(0,)]


def test_a_run_whose_every_source_failed_stores_its_rejects_and_run_row(tmp_path: Path) -> None:
    """No source staged mentions, so no enrich wrote NLP files: the load still records the run."""
    con = connect(tmp_path / "w.duckdb")
    reject = Reject(source_id="news", source_kind="rss", stage="extract", reason="http_404", message="gone")
    summary = load_run(con, StagedRun("r1", T0, [], [], [], [], [reject], [], ["news"]))
    assert (summary.mentions_new, summary.rejects) == (0, 1)
    assert con.execute("SELECT reason FROM rejects").fetchall() == [("http_404",)]
    assert con.execute("SELECT run_key, sources_failed FROM runs").fetchall() == [("r1", ["news"])]
    assert con.execute("SELECT count(*) FROM mention_nlp").fetchall() == [(0,)]


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
    con.execute("DROP VIEW v_target_mentions; DROP TABLE mention_targets; ALTER TABLE mentions DROP COLUMN date_missing; "
                "ALTER TABLE mention_nlp DROP COLUMN published_day; ALTER TABLE mention_refs DROP COLUMN published_day; "
                "DELETE FROM schema_version WHERE version >= 5")  # the file as schema version 4 left it
    con.close()
    con = connect(path)  # migration 5 again, on a file that already holds mentions
    assert con.execute("SELECT * FROM v_target_mentions ORDER BY ALL").fetchall() == before
    assert [r[1] for r in before] == ["Acme", "Acme"] and {r[12] for r in before} == {"neutral", "negative"}


def _days_of_nlp_and_refs(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT m.native_id, m.published_day, n.published_day, r.published_day FROM mentions m "
                       "JOIN mention_nlp n USING (mention_id) JOIN mention_refs r USING (mention_id) ORDER BY 1").fetchall()


def test_migration_15_gives_nlp_and_references_their_mention_day_and_the_loader_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = connect(path)
    later = T0 + timedelta(days=3)
    load_run(con, _stage(tmp_path, "r1", [_mention("a", "Acme"), _mention("b", "Acme bad", later)],
                         {"a": ("neutral", 0.0), "b": ("negative", -0.7)}))
    before = {t: con.execute(f"SELECT * EXCLUDE (published_day) FROM {t} ORDER BY ALL").fetchall()
              for t in ("mention_nlp", "mention_refs")}
    con.execute("ALTER TABLE mention_nlp DROP COLUMN published_day; ALTER TABLE mention_refs DROP COLUMN published_day; "
                "DELETE FROM schema_version WHERE version >= 15")  # the file as schema version 14 left it
    con.close()
    con = connect(path)
    assert {t: con.execute(f"SELECT * EXCLUDE (published_day) FROM {t} ORDER BY ALL").fetchall() for t in before} == before
    assert _days_of_nlp_and_refs(con) == [("a", T0.date(), T0.date(), T0.date()), ("b", later.date(), later.date(), later.date())]
    moved = dataclasses.replace(_mention("a", "Acme, edited"), published_at=later + timedelta(days=1))
    load_run(con, _stage(tmp_path, "r2", [moved], {"a": ("positive", 0.4)}))  # an edit that moves the mention's day
    assert _days_of_nlp_and_refs(con)[0] == ("a", moved.published_at.date(), moved.published_at.date(), moved.published_at.date())


# mentions.mention_id and mention_nlp.mention_id carry no index since migration 6 (it was most of a
# load's time); the loader keeps them unique. These prove it.

def _assert_unique(con: duckdb.DuckDBPyConnection) -> None:
    for table, key in [("mentions", "mention_id"), ("mention_nlp", "mention_id"), ("mention_refs", "mention_id, ref_index"),
                       ("mention_targets", "mention_id, brand, product")]:
        assert con.execute(f"SELECT count(*) - count(DISTINCT ({key})) FROM {table}").fetchall() == [(0,)], table


def test_the_same_mention_staged_by_two_sources_is_stored_once_with_the_newest_fetch(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    old = _mention("a", "Acme is fine")
    newer = dataclasses.replace(old, source_id="mirror", text="Acme is fine, edited",
                                fetched_at=datetime(2026, 11, 10, 12, 0, tzinfo=timezone.utc))
    run = _stage(tmp_path, "r1", [old, _mention("b", "Acme too")], {"a": ("neutral", 0.0), "b": ("positive", 0.5)})
    mirror = staging.mentions_path(tmp_path / "r1", "mirror")
    staging.write_mentions(mirror, [newer])
    # each source's enrich reads its own rows, so both sources' NLP and reference files hold the shared id
    mirror_nlp, mirror_refs = staging.nlp_path(tmp_path / "r1", "mirror"), staging.refs_path(tmp_path / "r1", "mirror")
    scratch = duckdb.connect()
    for path, copy in ((run.nlp_files[0], mirror_nlp), (run.refs_files[0], mirror_refs)):
        scratch.execute(f"COPY (SELECT * FROM read_parquet('{path}') WHERE mention_id = ?) TO '{copy}'", [old.mention_id])
    scratch.close()
    run = StagedRun(**{**run.__dict__, "mention_files": [*run.mention_files, mirror],
                       "nlp_files": [*run.nlp_files, mirror_nlp], "refs_files": [*run.refs_files, mirror_refs]})
    summary = load_run(con, run)
    assert (summary.mentions_new, summary.mentions_updated) == (2, 0)
    assert con.execute("SELECT text, source_id FROM mentions WHERE mention_id = ?", [old.mention_id]).fetchall() == [
        ("Acme is fine, edited", "mirror")]
    _assert_unique(con)
    assert con.execute("SELECT count(*) FROM mention_targets").fetchall() == [(2,)]
    assert load_run(con, run).mentions_new == 0  # and again: nothing new, nothing doubled
    _assert_unique(con)


def test_reruns_edits_and_new_ids_never_duplicate_a_mention(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    load_run(con, _stage(tmp_path, "r1", [_mention("a", "Acme is fine"), _mention("b", "Acme ok")],
                         {"a": ("neutral", 0.0), "b": ("neutral", 0.0)}))
    before_b = con.execute("SELECT * FROM mentions WHERE native_id = 'b'").fetchall()
    summary = load_run(con, _stage(tmp_path, "r2", [_mention("a", "Acme is awful"), _mention("b", "Acme ok"), _mention("c", "Acme?")],
                                   {"a": ("negative", -0.8), "b": ("neutral", 0.0), "c": ("neutral", 0.0)}))
    assert (summary.mentions_new, summary.mentions_updated) == (1, 1)
    _assert_unique(con)
    assert con.execute("SELECT native_id, text, first_run, last_run FROM mentions ORDER BY 1").fetchall() == [
        ("a", "Acme is awful", "r1", "r2"), ("b", "Acme ok", "r1", "r1"), ("c", "Acme?", "r2", "r2")]
    assert con.execute("SELECT * FROM mentions WHERE native_id = 'b'").fetchall() == before_b  # untouched
    assert con.execute("SELECT m.native_id, n.sentiment_label FROM mention_nlp n JOIN mentions m USING (mention_id) ORDER BY 1").fetchall() == [
        ("a", "negative"), ("b", "neutral"), ("c", "neutral")]


def test_overlapping_loads_conflict_instead_of_inserting_the_same_id_twice(tmp_path: Path) -> None:
    from warehouse.load import _load

    con = connect(tmp_path / "w.duckdb")
    first, second = con.cursor(), con.cursor()  # two writers in one process: no file lock between them
    run_a = _stage(tmp_path, "r1", [_mention("a", "Acme")], {"a": ("neutral", 0.0)})
    run_b = _stage(tmp_path, "r2", [_mention("a", "Acme"), _mention("b", "Acme b")], {"a": ("neutral", 0.0), "b": ("neutral", 0.0)})
    second.execute("BEGIN TRANSACTION")
    second.execute("SELECT count(*) FROM mentions").fetchall()  # its snapshot starts before the first load commits
    first.execute("BEGIN TRANSACTION")
    _load(first, run_a)  # stored, not yet committed
    with pytest.raises(duckdb.TransactionException):
        load_run(con.cursor(), run_b)  # a third, overlapping the first: refused
    first.execute("COMMIT")
    with pytest.raises(duckdb.TransactionException):
        _load(second, run_b)  # began before the first committed: it would not see 'a', so it is refused too
    second.execute("ROLLBACK")
    assert load_run(con, run_b).mentions_new == 1  # once the first is in, the same run stores only 'b'
    _assert_unique(con)
    assert con.execute("SELECT count(*) FROM mentions").fetchall() == [(2,)]


def test_a_version_5_warehouse_migrates_with_its_data_and_loads_after(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import warehouse.db as db

    current = connect(tmp_path / "current.duckdb")
    load_run(current, _stage(tmp_path, "r1", [_mention("a", "Acme is fine"), _mention("b", "Acme bad")],
                             {"a": ("neutral", 0.0), "b": ("negative", -0.7)}))
    current.close()
    all_migrations = migrations()
    monkeypatch.setattr(db, "migrations", lambda: [m for m in all_migrations if m[0] <= 5])
    monkeypatch.setattr(db, "views", lambda: "")  # views.sql reads tables of later versions
    old = connect(tmp_path / "old.duckdb")  # the schema as version 5 left it: primary keys on both tables
    old.execute(f"ATTACH '{tmp_path / 'current.duckdb'}' AS cur (READ_ONLY)")
    for table in ("mentions", "mention_nlp", "mention_refs", "mention_targets", "daily_signals", "source_state", "runs"):
        added_later = {"mentions": " EXCLUDE (date_missing)",  # migration 8
                       "daily_signals": f" EXCLUDE ({', '.join(VOICE_COLUMNS)})",  # migration 12
                       "mention_nlp": " EXCLUDE (published_day)", "mention_refs": " EXCLUDE (published_day)",  # 15
                       "mention_targets": " EXCLUDE (cluster_no)"}.get(table, "")  # 16
        old.execute(f"INSERT INTO {table} SELECT *{added_later} FROM cur.{table}")
    old.execute("DETACH cur")
    assert schema_version(old) == 5
    assert old.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'mentions' AND constraint_type = 'PRIMARY KEY'").fetchall() == [(1,)]
    before = _tables(old)
    old.close()
    monkeypatch.undo()
    con = connect(tmp_path / "old.duckdb")
    assert schema_version(con) == all_migrations[-1][0]
    after = _tables(con)
    assert {row[-1] for row in after["mentions"]} == {False}  # date_missing, added by migration 8 at the end
    voices = len(VOICE_COLUMNS)  # added by migration 12 at the end, and counted from the stored mentions
    assert {row[-voices:] for row in after["daily_signals"]} == {(2, 1, 1, 1, 0, 0)}  # two texts, one author, one negative
    assert {**after, "mentions": [row[:-1] for row in after["mentions"]],
            "mention_nlp": [row[:-1] for row in after["mention_nlp"]], "mention_refs": [row[:-1] for row in after["mention_refs"]],
            "daily_signals": [row[:-voices] for row in after["daily_signals"]]} == before  # every row kept, column for column
    assert con.execute("SELECT count(*) FROM mention_clusters").fetchall() == [(2,)]
    assert con.execute("SELECT count(*) FROM mention_targets t JOIN mention_clusters c USING (mention_id) "
                       "WHERE t.cluster_no = c.cluster_no").fetchall() == [(2,)]  # migration 16 numbered them
    assert con.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name IN ('mentions', 'mention_nlp') "
                       "AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')").fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM v_mentions").fetchall() == [(2,)]  # views still read the new tables
    summary = load_run(con, _stage(tmp_path, "r2", [_mention("a", "Acme is fine"), _mention("c", "Acme new")],
                                   {"a": ("neutral", 0.0), "c": ("positive", 0.5)}))
    assert (summary.mentions_new, summary.mentions_updated) == (1, 0)
    _assert_unique(con)


def test_nlp_rows_for_mentions_outside_the_run_are_not_stored(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    first = _stage(tmp_path, "r1", [_mention("a", "Acme")], {"a": ("neutral", 0.0)})
    load_run(con, first)
    second = _stage(tmp_path, "r2", [_mention("b", "Acme b")], {"b": ("positive", 0.5)})
    # staging that disagrees with itself: the NLP and reference files also hold 'a', stored by r1 already
    second = StagedRun(**{**second.__dict__, "nlp_files": [*first.nlp_files, *second.nlp_files],
                          "refs_files": [*first.refs_files, *second.refs_files]})
    assert load_run(con, second).mentions_new == 1
    _assert_unique(con)
    assert con.execute("SELECT count(*) FROM mention_nlp").fetchall() == [(2,)]
