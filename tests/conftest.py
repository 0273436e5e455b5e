"""Shared test setup: a private Airflow home (set before anything imports airflow) and data paths."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT.parent / "shared" / "data"

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="zmot-test-airflow-"))
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ.update(
    {
        "AIRFLOW_HOME": str(_AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "ZMOT_TASK_RETRIES": "0",
    }
)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata DB, once per test session (dag.test() needs one)."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    return _AIRFLOW_HOME


@pytest.fixture
def dag_config(airflow_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config folder with the sample's brands, the DAG's paths pointed into tmp_path; the test writes sources.yaml."""
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(PROJECT / "config" / "sample" / "brands.yaml", config / "brands.yaml")
    monkeypatch.setenv("ZMOT_CONFIG_DIR", str(config))
    monkeypatch.setenv("ZMOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ZMOT_WAREHOUSE", str(tmp_path / "data" / "zmot.duckdb"))
    return config


@pytest.fixture(scope="session")
def demo_warehouse(airflow_db, tmp_path_factory) -> Path:
    """The warehouse `zmot demo` leaves, built once per test session; tests must not change it."""
    from zmot.cli import main

    data = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--data-dir", str(data)]) == 0
    return data / "zmot.duckdb"


def shared_data(*parts: str) -> Path:
    """A folder of ../shared/data, or a clean skip when this checkout has none beside it."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here (the shared data folder sits beside the project in CI)")
    return path


def chromium() -> str:
    """The headless browser the report and dashboard tests drive, or a clean skip without one."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if found := shutil.which(name):
            return found
    pytest.skip("no Chromium here; .ci/run installs Debian's chromium package")
