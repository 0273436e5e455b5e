"""Analysts query while the DAG writes: a query never errors, never waits, and never sees half of a run.

The writer works on its own file and, after each committed step, publishes a copy by an atomic
rename at the path readers open (warehouse/publish.py); a run is one transaction in the writer's
file (mentions, NLP, references, cursors, rejects and the touched days' signals), so a reader sees
the warehouse before the run or after it. These tests use a real second process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from tests.concurrent_writer import stage
from warehouse.load import load_run
from warehouse.publish import writer
from zmot.analyst import run_query

PROJECT = Path(__file__).resolve().parents[1]
SNAPSHOT = """
    SELECT (SELECT count(*) FROM mentions), (SELECT count(*) FROM mention_refs),
           (SELECT coalesce(sum(mentions), 0) FROM daily_signals WHERE product = '*' AND source_kind = '*')
"""


def _warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    with writer(path) as con:
        load_run(con, stage(tmp_path / "r1", "r1", 2_000))
    return path


def _writer(path: Path, tmp_path: Path, count: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.concurrent_writer", str(path), str(tmp_path / "r2"), str(count), "2000"],
        cwd=PROJECT, stderr=subprocess.PIPE,
    )


def test_queries_during_a_load_see_the_run_whole_or_not_at_all(tmp_path: Path) -> None:
    path = _warehouse(tmp_path)
    before = run_query(path, SNAPSHOT)[1][0]
    writer = _writer(path, tmp_path, 150_000)
    seen, during = [], 0
    while writer.poll() is None:
        writing = Path(str(path) + ".staged").exists() and not Path(str(path) + ".loaded").exists()
        seen.append(run_query(path, SNAPSHOT)[1][0])  # the published copy: never waits, never errors
        during += writing
    assert writer.returncode == 0, writer.stderr.read().decode()
    after = run_query(path, SNAPSHOT)[1][0]
    assert before == (2_000, 2_000, 2_000) and after == (152_000, 152_000, 152_000)
    assert set(seen) <= {before, after}
    assert during >= 1  # at least one query was asked while the writer was at work


def test_a_reader_holding_the_file_keeps_its_snapshot_and_never_makes_the_writer_wait(tmp_path: Path) -> None:
    path = _warehouse(tmp_path)
    reader = duckdb.connect(str(path), read_only=True)  # an analyst's notebook, left open on the file itself
    writer_process = _writer(path, tmp_path, 1_000)
    assert writer_process.wait(timeout=120) == 0, writer_process.stderr.read().decode()
    assert reader.execute("SELECT count(*) FROM mentions").fetchall() == [(2_000,)]  # still the run it opened
    assert run_query(path, "SELECT count(*) FROM mentions")[1] == [(3_000,)]  # a new connection: the new run
    reader.close()
