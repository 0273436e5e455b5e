"""Prepare a private Airflow home (SQLite metadata) so the real DAG can run without a deployment."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import zmot

DAGS_FOLDER_ENV = "ZMOT_DAGS_FOLDER"


class AirflowRunError(RuntimeError):
    """The local Airflow could not be prepared or a DAG run failed."""


def dags_folder() -> Path:
    """The project's dags/ folder: beside the packages in a source checkout, or from ZMOT_DAGS_FOLDER."""
    if DAGS_FOLDER_ENV in os.environ:
        folder = Path(os.environ[DAGS_FOLDER_ENV])
    else:
        folder = Path(zmot.__file__).resolve().parents[1] / "dags"
    if not (folder / "zmot_daily.py").exists():
        raise AirflowRunError(
            f"{folder}: no zmot_daily.py here; install from a source checkout (pip install -e .) "
            f"or set {DAGS_FOLDER_ENV} to the project's dags/ folder"
        )
    return folder.resolve()


def airflow_environment(airflow_home: Path, *, config_dir: Path, data_dir: Path, warehouse: Path) -> dict[str, str]:
    """Environment for a local Airflow whose metadata lives in `airflow_home` and whose tasks use our paths."""
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder()),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": env.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
            "ZMOT_CONFIG_DIR": str(config_dir),
            "ZMOT_DATA_DIR": str(data_dir),
            "ZMOT_WAREHOUSE": str(warehouse),
            "ZMOT_TASK_RETRIES": env.get("ZMOT_TASK_RETRIES", "0"),
        }
    )
    return env


def run_dag_locally(dates: list[date], env: dict[str, str], *, send_alerts: bool = True) -> None:
    """Migrate the private metadata DB, then run the DAG for each date with dag.test()."""
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    with _one_local_run_at_a_time(home):
        _migrate_and_run(home, dates, env, send_alerts=send_alerts)


@contextmanager
def _one_local_run_at_a_time(home: Path) -> Iterator[None]:
    """Two local runs on one data dir would share a SQLite metadata DB (concurrent migrations fail) and the
    warehouse's cursors; like `max_active_runs=1` in a deployment, the second waits for the first."""
    with open(home / "run.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"another zmot run is using {home.parent}; waiting for it to finish", file=sys.stderr, flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _migrate_and_run(home: Path, dates: list[date], env: dict[str, str], *, send_alerts: bool) -> None:
    migrate = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, text=True
    )
    if migrate.returncode != 0:
        raise AirflowRunError(f"airflow db migrate failed in {home}:\n{migrate.stderr[-4000:]}")
    flags = [] if send_alerts else ["--no-alerts"]
    run = subprocess.run([sys.executable, "-m", "zmot.dagrun", *flags, *[d.isoformat() for d in dates]], env=env)
    if run.returncode != 0:
        raise AirflowRunError(
            f"some DAG runs did not succeed; task logs are under {home / 'logs'}"
        )
