"""The warehouse published as a DuckLake (issue 16), here on a SQLite catalog; the PostgreSQL catalog
under a real scheduler is tests/test_lake_postgres.py.

Readers attach the lake; each query sees the newest published step, an open transaction keeps its
snapshot, and the writer never waits for either. The lake holds what the writer's file holds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.concurrent_writer import stage
from tests.conftest import PROJECT
from tests.reliability.harness import SAMPLE_DAYS, run_day, sample_feeds_yaml, write_config
from tests.test_analyst_access import SEES_DAY_TWO, _QueryInTheMiddle
from warehouse.db import WarehouseError
from warehouse.lake import CATALOG_ENV, DATA_PATH_ENV, LAKE_ALIAS, PUBLISHED_TABLE, WRITER_ONLY, lake_settings, publish_to_lake
from warehouse.load import load_run
from warehouse.publish import open_published, published_exists, writer, writer_file
from zmot import analyst
from zmot.analyst import run_query
from zmot.cli import main

DAY_ONE, DAY_TWO = SAMPLE_DAYS


@pytest.fixture
def lake(monkeypatch: pytest.MonkeyPatch) -> None:
    """The warehouse is published to a SQLite-catalog lake beside it (subprocesses inherit the setting)."""
    monkeypatch.setenv(CATALOG_ENV, "sqlite:lake/catalog.sqlite")
    monkeypatch.delenv(DATA_PATH_ENV, raising=False)


def all_tables(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, list[tuple]]:
    """Every row of every table of `database` but the lake's own bookkeeping and the writer's own index, sorted."""
    tables = [t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND NOT list_contains(?, table_name) ORDER BY 1",
        [database, [PUBLISHED_TABLE, *WRITER_ONLY]]).fetchall()]
    return {t: sorted(con.execute(f'SELECT * FROM "{database}".main."{t}"').fetchall(), key=repr) for t in tables}


def writer_tables(published: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(writer_file(published)), read_only=True) as con:
        return all_tables(con, con.execute("SELECT current_database()").fetchone()[0])


def test_the_setting_is_checked_and_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CATALOG_ENV, "mysql:host=db")
    with pytest.raises(WarehouseError, match=rf"\${CATALOG_ENV}='mysql:host=db': expected 'sqlite:<catalog file>'"):
        lake_settings(tmp_path / "zmot.duckdb")
    monkeypatch.setenv(CATALOG_ENV, "postgres:")
    with pytest.raises(WarehouseError, match=CATALOG_ENV):
        lake_settings(tmp_path / "zmot.duckdb")
    monkeypatch.setenv(CATALOG_ENV, "postgres:host=db dbname=lake password=s3cret")
    monkeypatch.setenv(DATA_PATH_ENV, "s3://bucket/zmot/")
    settings = lake_settings(tmp_path / "zmot.duckdb")
    assert settings is not None and settings.data_path == "s3://bucket/zmot/"
    assert "s3cret" not in settings.describe()
    monkeypatch.setenv(CATALOG_ENV, "sqlite:cat.sqlite")
    monkeypatch.delenv(DATA_PATH_ENV)
    settings = lake_settings(tmp_path / "zmot.duckdb")
    assert settings is not None
    assert (settings.catalog, settings.data_path) == (str(tmp_path / "cat.sqlite"), f"{tmp_path / 'lake'}/")
    monkeypatch.delenv(CATALOG_ENV)
    assert lake_settings(tmp_path / "zmot.duckdb") is None


def test_nothing_published_yet_is_a_clear_error(tmp_path: Path, lake: None) -> None:
    assert not published_exists(tmp_path / "zmot.duckdb")
    with pytest.raises(WarehouseError, match="nothing published to this lake yet"):
        analyst.connect(tmp_path)


def test_a_catalog_that_cannot_be_reached_is_an_error_not_an_empty_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An extract that took it for a new warehouse would fetch every source's whole history again."""
    from tests.postgres_server import free_port

    monkeypatch.setenv(CATALOG_ENV, f"postgres:host=127.0.0.1 port={free_port()} user=nobody dbname=lake connect_timeout=5")
    with pytest.raises(WarehouseError, match="cannot attach the lake"):
        published_exists(tmp_path / "zmot.duckdb")


class _HeldTransaction(_QueryInTheMiddle):
    """An analyst's long query inside a transaction, waiting mid-scan until released, then asking again."""

    def run(self) -> None:
        self.con.execute("BEGIN")
        super().run()
        assert self.result is not None
        self.result += self.con.execute(SEES_DAY_TWO).fetchall()  # later in the same transaction: same snapshot
        self.con.execute("COMMIT")


def test_readers_held_open_across_a_daily_run_on_a_lake_then_see_the_new_day(tmp_path: Path, lake: None) -> None:
    config = write_config(tmp_path / "config", sample_feeds_yaml())
    data = tmp_path / "data"
    run_day(config, data, DAY_ONE)
    assert not (data / "zmot.duckdb").exists() and (data / "lake" / "catalog.sqlite").exists()
    mentions_day_one = analyst.connect(data).execute("SELECT count(*) FROM mentions").fetchall()[0][0]
    notebook = analyst.connect(data)  # the contract, unchanged: the data folder's warehouse
    shell = subprocess.Popen([sys.executable, "-m", "zmot.cli", "shell", "--warehouse", str(data / "zmot.duckdb")],
                             cwd=PROJECT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    long_query = _HeldTransaction(data)
    long_query.start()
    assert long_query.scanning.wait(timeout=60)
    try:
        day_two = run_day(config, data, DAY_TWO)  # the writer commits while both are open
    finally:
        long_query.release.set()
    long_query.join(timeout=120)

    assert day_two.load["mentions_new"] > 0
    assert long_query.result == [(mentions_day_one, 0), (0,)]  # its transaction kept the run it started on
    assert notebook.execute(SEES_DAY_TWO).fetchall() == [(1,)]  # a lake's next query sees the new day
    analyst.refresh(notebook)  # harmless on a lake
    assert long_query.con.execute(SEES_DAY_TWO).fetchall() == [(1,)]
    out, _ = shell.communicate(SEES_DAY_TWO + ";\n.quit\n", timeout=60)
    assert shell.returncode == 0 and "1" in out.splitlines()
    lake_con = analyst.connect(data)
    assert all_tables(lake_con, "zmot") == writer_tables(data / "zmot.duckdb")
    assert lake_con.execute("SELECT count(*) FROM v_brand_mentions").fetchall()[0][0] > 0  # the views came along
    assert lake_con.execute("SELECT count(*) FROM normann_balance(DATE '2026-11-01', DATE '2026-11-30')").fetchall()  # and the macros


def test_a_step_rewrites_only_the_tables_it_changed(tmp_path: Path, lake: None) -> None:
    path = tmp_path / "zmot.duckdb"
    with writer(path) as con:
        load_run(con, stage(tmp_path / "r1", "r1", 200))
    settings = lake_settings(path)
    assert settings is not None
    with duckdb.connect(str(writer_file(path))) as con:
        assert publish_to_lake(con, settings) == []  # published already: nothing differs
        con.execute("INSERT INTO brands VALUES ('B', [], [], [])")
        assert publish_to_lake(con, settings) == ["brands"]
        edited = con.execute("UPDATE mentions SET title = 'edited' WHERE native_id = 'm7' RETURNING published_day::VARCHAR").fetchall()
        assert publish_to_lake(con, settings) == ["mentions"]  # a day at a time: only m7's day is rewritten
    lake_con = analyst.connect(path)
    assert all_tables(lake_con, "zmot") == writer_tables(path)
    assert lake_con.execute(f"SELECT part FROM {PUBLISHED_TABLE} WHERE name = 'mentions' AND published_at = "
                            f"(SELECT max(published_at) FROM {PUBLISHED_TABLE})").fetchall() == edited
    snapshots = _snapshot_count(settings.attach_target)
    with writer(path) as con:
        con.execute("SELECT count(*) FROM mentions").fetchall()
    assert _snapshot_count(settings.attach_target) == snapshots  # a step that changed nothing made no snapshot
    assert run_query(path, "SELECT count(*) FROM brands")[1] == [(1,)]


def _snapshot_count(target: str) -> int:
    from warehouse.lake import load_extensions

    con = duckdb.connect()
    load_extensions(con, "sqlite")
    con.execute(f"ATTACH '{target}' AS {LAKE_ALIAS} (READ_ONLY)")
    return con.execute(f"SELECT count(*) FROM ducklake_snapshots('{LAKE_ALIAS}')").fetchall()[0][0]


def test_queries_from_another_process_during_a_load_see_the_run_whole_or_not_at_all(tmp_path: Path, lake: None) -> None:
    path = tmp_path / "w.duckdb"
    with writer(path) as con:
        load_run(con, stage(tmp_path / "r1", "r1", 2_000))
    snapshot = ("SELECT (SELECT count(*) FROM mentions), (SELECT count(*) FROM mention_refs), "
                "(SELECT coalesce(sum(mentions), 0) FROM daily_signals WHERE product = '*' AND source_kind = '*')")
    before = run_query(path, snapshot)[1][0]
    loader = subprocess.Popen([sys.executable, "-m", "tests.concurrent_writer", str(path), str(tmp_path / "r2"), "60000", "2000"],
                              cwd=PROJECT, stderr=subprocess.PIPE)
    seen = []
    while loader.poll() is None:
        seen.append(run_query(path, snapshot)[1][0])
    assert loader.returncode == 0, loader.stderr.read().decode() if loader.stderr else ""
    after = run_query(path, snapshot)[1][0]
    assert before == (2_000, 2_000, 2_000) and after == (62_000, 62_000, 62_000)
    assert set(seen) <= {before, after} and len(seen) > 1


def test_zmot_migrate_publishes_an_existing_warehouse_to_the_lake_whole(
    demo_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    legacy = data / "zmot.duckdb"
    shutil.copyfile(demo_warehouse, legacy)  # one file, as kept before the writer/reader split
    with duckdb.connect(str(legacy), read_only=True) as con:
        before = all_tables(con, "zmot")
    monkeypatch.setenv(CATALOG_ENV, "sqlite:lake/catalog.sqlite")
    assert main(["migrate", "--warehouse", str(legacy)]) == 0
    capsys.readouterr()
    assert all_tables(analyst.connect(data), "zmot") == before
    assert before["source_state"] and before["mentions"]
    os.environ.pop(CATALOG_ENV)
    with open_published(legacy) as copy:  # the old published copy is left as it was
        assert all_tables(copy, "zmot") == before
