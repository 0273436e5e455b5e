"""Two daily runs at once: they end as the same runs one after the other would, whatever order their steps take.

Locally, `zmot run` processes on one data dir take turns (a second would otherwise race the first's
Airflow metadata migration). In a deployment, two workers can still overlap two runs (a manual
trigger beside the scheduled one): their steps interleave on the same warehouse and staging area.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.reliability.harness import SAMPLE_DAYS, query, run_day, sample_days_in_a_row, snapshot
from zmot import steps
from zmot.runcontext import RunContext

DAYS = SAMPLE_DAYS


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> tuple[Path, dict[str, list[tuple]]]:
    """The config, and the warehouse the two days leave when run one after the other."""
    return sample_days_in_a_row(tmp_path_factory.mktemp("sequential"))


def _ctx(config: Path, data: Path, day: str) -> RunContext:
    return RunContext.for_date(datetime.fromisoformat(day).replace(tzinfo=timezone.utc), config_dir=config, data_dir=data)


@pytest.mark.parametrize("days", [DAYS, DAYS[::-1], [DAYS[1], DAYS[1]]], ids=["older-loads-first", "older-loads-last", "same-day-twice"])
def test_interleaved_steps_of_two_runs_end_as_sequential_runs(setup, tmp_path: Path, days: list[str]) -> None:
    """Both runs extract before either loads (both read the same cursors); then they load in `days` order."""
    config, expected = setup
    data = tmp_path / "data"
    run_day(config, data, DAYS[0])  # history before the overlap
    first, second = (_ctx(config, data, d) for d in days)
    for ctx in (first, second):
        for name in steps.source_names(ctx):
            steps.extract(ctx, name)
    for ctx in (first, second):
        for name in steps.source_names(ctx):
            steps.enrich(ctx, name)
    for ctx in (first, second):
        loaded = steps.load(ctx)
        steps.detect(ctx, loaded["days_touched"])
        steps.notify(ctx)
    assert snapshot(data / "zmot.duckdb") == expected


def test_a_late_older_run_does_not_rewind_the_cursors(setup, tmp_path: Path) -> None:
    config, _ = setup
    data = tmp_path / "data"
    newer, older = _ctx(config, data, DAYS[1]), _ctx(config, data, DAYS[0])
    for ctx in (older, newer):
        for name in steps.source_names(ctx):
            steps.extract(ctx, name)
        for name in steps.source_names(ctx):
            steps.enrich(ctx, name)
    steps.load(newer)
    steps.load(older)
    runs = query(data / "zmot.duckdb", "SELECT DISTINCT updated_run FROM source_state")
    assert runs == [(newer.run_key,)]


@pytest.mark.slow
def test_two_zmot_runs_started_together_take_turns_and_both_succeed(setup, airflow_db, tmp_path: Path) -> None:
    """Real processes through the real DAG: the newer day and the older day started at the same moment."""
    config, expected = setup
    data = tmp_path / "data"
    zmot = str(Path(sys.executable).parent / "zmot")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    runs = [
        subprocess.Popen([zmot, "run", "--date", day, "--config", str(config), "--data-dir", str(data)],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for day in DAYS[::-1]
    ]
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err[-3000:]
    assert sum("waiting for it to finish" in err for _, err in outputs) == 1  # the second waited, visibly
    assert snapshot(data / "zmot.duckdb") == expected
