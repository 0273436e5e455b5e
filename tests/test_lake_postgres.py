"""The daily DAG under a real Airflow scheduler (LocalExecutor, mapped tasks in parallel) publishing
to a DuckLake whose catalog is a real PostgreSQL (Debian's package, on loopback), while an analyst
process keeps querying it; four daily runs, each triggered from the CLI with its logical date; afterwards every table in the lake equals the same days run in-process
into the embedded warehouse (the published file copy). Issue 16's deployment, on one machine.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.airflow_scheduler import Airflow
from tests.conftest import PROJECT
from tests.postgres_server import postgres, postgres_bin
from tests.reliability.harness import run_day, sample_feeds_yaml, write_config
from tests.test_airflow_scheduler import overlapping
from warehouse.lake import CATALOG_ENV, DATA_PATH_ENV, PUBLISHED_TABLE, WRITER_ONLY
from warehouse.publish import open_published

pytestmark = pytest.mark.slow

FIRST, DAYS_AFTER = "2026-11-20", ["2026-11-21", "2026-11-22", "2026-11-23"]
# Columns that record when or where a run happened rather than what it stored.
BOOKKEEPING = {"mentions": ["fetched_at", "first_run", "last_run"], "mention_tags": ["tagged_at"],
               "alerts": ["notified_at", "delivery"], "deliveries": ["delivered_at", "destination"]}


def every_table(con) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, bookkeeping columns left out and floats to 9 places (a sum's last digit
    depends on the order DuckDB adds its terms in); not the writer's own band index, which the lake leaves out."""
    tables = [t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND NOT list_contains(?, table_name) ORDER BY 1", [[PUBLISHED_TABLE, *WRITER_ONLY]]).fetchall()]
    rows = {}
    for table in tables:
        left_out = BOOKKEEPING.get(table)
        columns = f"* EXCLUDE ({', '.join(left_out)})" if left_out else "*"
        rows[table] = sorted((tuple(round(v, 9) if isinstance(v, float) else v for v in row)
                              for row in con.execute(f'SELECT {columns} FROM "{table}"').fetchall()), key=repr)
    return rows


def test_the_daily_dag_on_a_postgresql_catalog_lake_with_an_analyst_querying_throughout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    if postgres_bin() is None or shutil.which("bash") is None:
        pytest.skip("PostgreSQL's server (Debian: apt-get install postgresql) and bash are needed")
    config = write_config(tmp_path / "config", sample_feeds_yaml())

    reference = tmp_path / "reference"  # the embedded warehouse: the same days, in-process, no lake
    for day in [FIRST, *DAYS_AFTER]:
        run_day(config, reference, day)
    with open_published(reference / "zmot.duckdb") as con:
        expected = every_table(con)

    with postgres() as dsn:
        lake = {CATALOG_ENV: f"postgres:{dsn}", DATA_PATH_ENV: str(tmp_path / "shared-volume" / "lake")}
        airflow = Airflow(tmp_path / "project", config)
        airflow.env.update(lake)
        answers, stop = tmp_path / "analyst.jsonl", tmp_path / "analyst.stop"
        analyst = subprocess.Popen([sys.executable, "-m", "tests.lake_analyst", str(airflow.data_dir), str(answers), str(stop)],
                                   cwd=PROJECT, env={**airflow.env, "PYTHONPATH": str(PROJECT)}, stderr=subprocess.PIPE)
        try:
            with airflow.running():
                airflow.sh("airflow dags unpause zmot_daily")
                # One run after another, each triggered once the last has finished: `airflow backfill
                # create` (tests/test_airflow_scheduler.py runs README's) once met "database is locked"
                # in Airflow's SQLite metadata file here, which is Airflow's business, not this test's.
                for day in [FIRST, *DAYS_AFTER]:
                    airflow.sh(f"airflow dags trigger zmot_daily -l {day}")
                    assert airflow.wait_for_runs([day]) == {day: "success"}
                task_runs = airflow.task_runs()
        finally:
            stop.touch()
            assert analyst.wait(timeout=60) == 0, analyst.stderr.read().decode() if analyst.stderr else ""
        assert not (airflow.data_dir / "zmot.duckdb").exists()  # readers have only the lake
        for name, value in lake.items():
            monkeypatch.setenv(name, value)
        with open_published(airflow.data_dir / "zmot.duckdb") as con:
            assert every_table(con) == expected

    assert not overlapping([t for t in task_runs if t.task_id in ("load", "detect", "notify", "digest")])
    mapped = [t for t in task_runs if t.map_index >= 0]
    assert overlapping(mapped), "the mapped tasks never ran side by side"

    seen = [json.loads(line) for line in answers.read_text(encoding="utf-8").splitlines()]
    answered = [a for a in seen if "runs" in a]
    assert not [a for a in seen if "error" in a]
    assert all("waiting" not in a for a in seen[seen.index(answered[0]):])  # once published, always there
    assert [a["runs"] for a in answered] == sorted(a["runs"] for a in answered)  # never back in time
    assert {a["runs"] for a in answered} >= {1, 4} and answered[-1]["mentions"] == len(expected["mentions"])
    assert all(a["mentions"] == a["stored"] for a in answered)  # a run's mentions and its run row arrive together
