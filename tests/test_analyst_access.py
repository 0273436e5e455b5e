"""Analysts never block the nightly load (issue 16): every way in holds its connection across a daily run.

A notebook's `analyst.connect()`, a raw `duckdb.connect(path, read_only=True)` (what the issue's
user held), a `zmot shell` in its own process and a query caught in the middle of its scan are all
open while the next day runs; the run succeeds, each keeps the run it opened, and each sees the new
day once it reconnects, refreshes or asks again (the shell follows publishing by itself).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from tests.conftest import PROJECT
from tests.reliability.harness import SAMPLE_DAYS, run_day, sample_feeds_yaml, write_config
from warehouse.db import connect, migrations, schema_version
from warehouse.publish import adopt_single_file, open_published, writer, writer_file
from zmot import analyst
from zmot.cli import main

DAY_ONE, DAY_TWO = SAMPLE_DAYS
DAY_TWO_KEY = DAY_TWO + "T000000Z"
SEES_DAY_TWO = f"SELECT count(*) FROM runs WHERE run_key = '{DAY_TWO_KEY}'"


def _count(con: duckdb.DuckDBPyConnection, sql: str = SEES_DAY_TWO) -> int:
    return con.execute(sql).fetchall()[0][0]


def _all_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every row of every table, sorted: what an upgrade must keep."""
    tables = [t for (t,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
        "AND table_catalog = current_database() ORDER BY 1").fetchall()]
    return {t: _rows(con, f'SELECT * FROM "{t}"') for t in tables}


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    """A query's rows, sorted, with floats to 12 places: an average recomputed by an upgrade may sum its terms
    in another order and differ in its last digit."""
    rounded = [tuple(round(v, 12) if isinstance(v, float) else v for v in row) for row in con.execute(sql).fetchall()]
    return sorted(rounded, key=repr)


class _ShellProcess:
    """`zmot shell` in its own process, fed statements on stdin as a user types them."""

    def __init__(self, warehouse: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "zmot.cli", "shell", "--warehouse", str(warehouse)],
            cwd=PROJECT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def ask(self, sql: str) -> list[str]:
        """The result lines of one statement (up to the shell's row count line)."""
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(sql + "\n")
        self.process.stdin.flush()
        lines = []
        while not (line := self.process.stdout.readline()).startswith("("):
            assert line, f"the shell ended: {self.process.stderr.read() if self.process.stderr else ''}"
            lines.append(line.rstrip("\n"))
        return lines

    def quit(self) -> int:
        assert self.process.stdin
        self.process.stdin.write(".quit\n")
        self.process.stdin.close()
        return self.process.wait(timeout=60)


class _QueryInTheMiddle(threading.Thread):
    """A query that is scanning `mentions` while the run loads: a UDF holds it mid-scan until released."""

    def __init__(self, warehouse: Path) -> None:
        super().__init__(daemon=True)
        self.con = analyst.connect(warehouse)
        self.scanning, self.release = threading.Event(), threading.Event()
        self.con.create_function("hold", self._hold, [duckdb.sqltypes.VARCHAR], duckdb.sqltypes.BOOLEAN)
        self.result: list[tuple] | None = None

    def _hold(self, _mention_id: str) -> bool:
        self.scanning.set()
        self.release.wait(timeout=600)
        return True

    def run(self) -> None:
        self.result = self.con.execute(
            f"SELECT count(*), ({SEES_DAY_TWO}) FROM mentions WHERE hold(mention_id)").fetchall()


def test_every_way_in_held_open_across_a_daily_run_then_sees_the_new_day(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config", sample_feeds_yaml())
    data = tmp_path / "data"
    run_day(config, data, DAY_ONE)
    published = data / "zmot.duckdb"
    mentions_day_one = _count(analyst.connect(data), "SELECT count(*) FROM mentions")

    notebook = analyst.connect(data)  # the contract: a data folder, or nothing for $ZMOT_DATA_DIR / ./data
    raw = duckdb.connect(str(published), read_only=True)  # what the user held
    shell = _ShellProcess(published)
    assert shell.ask(SEES_DAY_TWO + ";")[-1].strip() == "0"
    long_query = _QueryInTheMiddle(published)
    long_query.start()
    assert long_query.scanning.wait(timeout=60)
    try:
        day_two = run_day(config, data, DAY_TWO)  # the writer never waits for any of them
    finally:
        long_query.release.set()
    long_query.join(timeout=120)

    assert day_two.load["mentions_new"] > 0
    assert long_query.result == [(mentions_day_one, 0)]  # finished on the run it started on
    assert _count(notebook) == 0 and _count(raw) == 0  # held connections keep their snapshot
    assert shell.ask(SEES_DAY_TWO + ";")[-1].strip() == "1"  # the shell moves on by itself
    assert shell.quit() == 0
    analyst.refresh(notebook)
    assert _count(notebook) == 1
    assert _count(long_query.con) == 0
    analyst.refresh(long_query.con)
    assert _count(long_query.con) == 1
    raw.close()
    assert _count(duckdb.connect(str(published), read_only=True)) == 1  # reconnecting sees it too
    assert _count(analyst.connect(data)) == 1
    assert not [p.name for p in data.iterdir() if p.name.startswith(".")]  # no temporary copy left


def test_analyst_connect_defaults_to_the_data_dir_and_is_read_only(tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "elsewhere"
    with writer(data / "zmot.duckdb") as con:
        con.execute("INSERT INTO brands VALUES ('Acme', [], [], [])")
    monkeypatch.delenv("ZMOT_WAREHOUSE", raising=False)
    monkeypatch.setenv("ZMOT_DATA_DIR", str(data))
    con = analyst.connect()
    assert con.execute("SELECT brand FROM brands").fetchall() == [("Acme",)]
    with pytest.raises(duckdb.Error, match="read-only"):
        con.execute("DELETE FROM brands")
    assert analyst.connect(data / "zmot.duckdb").execute("SELECT count(*) FROM v_mentions").fetchall() == [(0,)]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZMOT_DATA_DIR")
    with pytest.raises(RuntimeError, match="no warehouse here yet"):
        analyst.connect()  # ./data has none


def test_the_shell_reads_a_script_with_dot_commands_and_reports_errors(tmp_path: Path, capsys, monkeypatch) -> None:
    import io

    path = tmp_path / "zmot.duckdb"
    with writer(path) as con:
        con.execute("INSERT INTO brands VALUES ('Acme', [], [], ['Orbit']), ('Orbit', [], [], [])")
    script = ".tables\nSELECT brand,\n       len(competitors) AS n\nFROM brands ORDER BY brand;\nDELETE FROM brands;\n.nope\n.quit\nSELECT 1;\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    code = main(["shell", "--warehouse", str(path)])
    out, err = capsys.readouterr()
    assert code == 1  # a statement failed
    assert "mention_targets" in out and "v_zmot_picture" in out
    assert [line.split() for line in out.splitlines() if line.startswith(("Acme", "Orbit"))] == [["Acme", "1"], ["Orbit", "0"]]
    assert "read-only" in err and "unknown command .nope" in err
    assert "(1 row)" not in out.split("(2 rows)")[-1]  # nothing ran after .quit


def test_a_reader_keeps_its_snapshot_through_several_publishes(tmp_path: Path) -> None:
    path = tmp_path / "zmot.duckdb"
    with writer(path) as con:
        con.execute("INSERT INTO brands VALUES ('A', [], [], [])")
    old = open_published(path)
    raw = duckdb.connect(str(path), read_only=True)
    for name in ("B", "C"):
        with writer(path) as con:
            con.execute("INSERT INTO brands VALUES (?, [], [], [])", [name])
    assert _count(old, "SELECT count(*) FROM brands") == 1 and _count(raw, "SELECT count(*) FROM brands") == 1
    assert _count(open_published(path), "SELECT count(*) FROM brands") == 3
    with pytest.raises(ValueError), writer(path) as con:  # a failed step publishes nothing
        con.execute("INSERT INTO brands VALUES ('D', [], [], [])")
        raise ValueError("the step failed after writing")
    assert _count(open_published(path), "SELECT count(*) FROM brands") == 3


def _single_file_copy(source: Path, data: Path) -> Path:
    """A warehouse as zmot kept it before the split: one file at the path analysts open."""
    data.mkdir(parents=True)
    legacy = data / "zmot.duckdb"
    shutil.copyfile(source, legacy)  # a published copy is a whole warehouse, as the old single file was
    return legacy


def test_zmot_migrate_keeps_every_row_and_cursor_of_the_demo_warehouse(demo_warehouse: Path, tmp_path: Path, capsys) -> None:
    legacy = _single_file_copy(demo_warehouse, tmp_path / "data")
    with duckdb.connect(str(legacy), read_only=True) as con:
        before = _all_tables(con)
    holder = duckdb.connect(str(legacy), read_only=True)  # an analyst on the old single file
    assert main(["migrate", "--warehouse", str(legacy)]) == 0
    assert "adopted" in capsys.readouterr().out
    assert writer_file(legacy).exists()
    with duckdb.connect(str(writer_file(legacy)), read_only=True) as con:
        assert _all_tables(con) == before
    assert _all_tables(analyst.connect(legacy)) == before
    assert before["source_state"] and before["mentions"]
    assert _count(holder, "SELECT count(*) FROM mentions") == len(before["mentions"])
    holder.close()
    assert main(["migrate", "--warehouse", str(legacy)]) == 0  # a second time: nothing to adopt, same rows
    assert "adopted" not in capsys.readouterr().out
    assert _all_tables(analyst.connect(legacy)) == before


ADDED_SINCE_7 = {"mentions": "date_missing", "alerts": "drivers",  # columns of migrations 8, 10, 12, 15 and 16
                 "daily_signals": "clusters, authors, negative_clusters, negative_authors, lzmot_clusters, lzmot_authors",
                 "mention_nlp": "published_day", "mention_refs": "published_day", "mention_targets": "cluster_no"}


def test_a_version_7_single_file_warehouse_is_adopted_and_migrated_by_the_first_load(
    demo_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import warehouse.db as db

    all_migrations = migrations()
    monkeypatch.setattr(db, "migrations", lambda: [m for m in all_migrations if m[0] <= 7])
    monkeypatch.setattr(db, "views", lambda: "")  # views.sql reads tables of later versions
    legacy = tmp_path / "data" / "zmot.duckdb"
    old = connect(legacy)
    old.execute(f"ATTACH '{demo_warehouse}' AS demo (READ_ONLY)")
    for table in ("mentions", "mention_nlp", "mention_refs", "mention_targets", "daily_signals", "source_state", "runs",
                  "rejects", "alerts", "brands"):
        added_later = f" EXCLUDE ({ADDED_SINCE_7[table]})" if table in ADDED_SINCE_7 else ""
        old.execute(f"INSERT INTO {table} SELECT *{added_later} FROM demo.{table}")
    old.execute("DETACH demo")
    assert schema_version(old) == 7
    before = _all_tables(old)
    old.close()
    monkeypatch.undo()
    holder = duckdb.connect(str(legacy), read_only=True)
    with writer(legacy) as con:  # what the first load after the upgrade opens
        assert schema_version(con) == all_migrations[-1][0]
    upgraded = analyst.connect(legacy)
    for table, rows in before.items():
        if table != "schema_version":
            added_later = f" EXCLUDE ({ADDED_SINCE_7[table]})" if table in ADDED_SINCE_7 else ""
            assert _rows(upgraded, f'SELECT *{added_later} FROM "{table}"') == rows, table
    assert _count(holder, "SELECT count(*) FROM mentions") == len(before["mentions"])
    holder.close()


@pytest.mark.slow
def test_a_one_million_mention_single_file_warehouse_is_adopted_whole_and_published_to_a_lake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench.scale import TWEETS, build
    from warehouse.lake import CATALOG_ENV

    if not TWEETS.exists():
        pytest.skip(f"{TWEETS} is not here: the generator takes its texts from it")
    legacy = tmp_path / "data" / "zmot.duckdb"
    legacy.parent.mkdir()
    build(legacy, tmp_path / "work", 1_000_000)
    counts = ("SELECT (SELECT count(*) FROM mentions), (SELECT count(DISTINCT mention_id) FROM mentions), "
              "(SELECT count(*) FROM mention_nlp), (SELECT count(*) FROM mention_refs), (SELECT count(*) FROM mention_targets), "
              "(SELECT count(*) FROM daily_signals), (SELECT sum(hash(mention_id, content_hash)) FROM mentions), "
              "(SELECT list(run_key ORDER BY run_key) FROM runs)")
    with duckdb.connect(str(legacy), read_only=True) as con:
        before = con.execute(counts).fetchall()
    assert before[0][0] == 1_000_000
    assert adopt_single_file(legacy)
    with writer(legacy):
        pass
    assert analyst.connect(legacy).execute(counts).fetchall() == before
    with duckdb.connect(str(writer_file(legacy)), read_only=True) as con:
        assert con.execute(counts).fetchall() == before
    monkeypatch.setenv(CATALOG_ENV, "sqlite:lake/catalog.sqlite")
    assert main(["migrate", "--warehouse", str(legacy)]) == 0  # the same warehouse, now published to a lake
    assert analyst.connect(legacy).execute(counts).fetchall() == before


def test_a_step_that_changed_nothing_is_not_copied_again(tmp_path: Path) -> None:
    path = tmp_path / "zmot.duckdb"
    with writer(path) as con:
        con.execute("INSERT INTO brands VALUES ('A', [], [], [])")
    old = os.stat(writer_file(path)).st_mtime_ns - 10_000_000_000
    os.utime(writer_file(path), ns=(old, old))  # written long enough ago for its timestamp to tell
    with writer(path):
        pass  # the file looks changed (its time moved): published again, and its state recorded
    published = os.stat(path).st_ino
    with writer(path) as con:
        con.execute("SELECT count(*) FROM brands").fetchall()
    assert os.stat(path).st_ino == published  # unchanged: not copied again
    with writer(path) as con:
        con.execute("INSERT INTO brands VALUES ('B', [], [], [])")
    assert os.stat(path).st_ino != published
    assert _count(analyst.connect(path), "SELECT count(*) FROM brands") == 2
    path.unlink()
    with writer(path):
        pass  # the published copy went missing: published again though nothing changed
    assert _count(analyst.connect(path), "SELECT count(*) FROM brands") == 2


def test_the_shell_on_a_terminal_prompts_and_keeps_its_history(tmp_path: Path) -> None:
    import pty
    import select

    path = tmp_path / "zmot.duckdb"
    with writer(path) as con:
        con.execute("INSERT INTO brands VALUES ('Acme', [], [], [])")
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "zmot.cli", "shell", "--warehouse", str(path)], cwd=PROJECT,
        stdin=terminal, stdout=terminal, stderr=terminal, env={**os.environ, "HOME": str(tmp_path), "TERM": "dumb"},
    )
    os.close(terminal)
    seen = b""

    def until(text: bytes) -> None:
        nonlocal seen
        while text not in seen:
            ready, _, _ = select.select([controller], [], [], 60)
            assert ready, f"no {text!r} from the shell; it wrote {seen[-500:]!r}"
            seen += os.read(controller, 4096)

    until(b"zmot> ")
    os.write(controller, b"SELECT brand\r")
    until(b"...> ")
    os.write(controller, b"FROM brands;\r")
    until(b"(1 row)")
    os.write(controller, b".quit\r")
    assert process.wait(timeout=60) == 0
    os.close(controller)
    assert b"Acme" in seen
    assert "FROM brands;" in (tmp_path / ".zmot_shell_history").read_text()
