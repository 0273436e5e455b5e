"""The DAG imports cleanly and has the shape the design describes."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tests.conftest import PROJECT


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT / "dags"))


def test_the_dag_folder_imports_without_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert list(dagbag.dag_ids) == ["zmot_daily"]


def test_the_daily_dag_is_scheduled_safe_and_documented(dagbag) -> None:
    dag = dagbag.dags["zmot_daily"]
    assert dag.catchup is False and dag.max_active_runs == 1
    assert dag.tags and "zmot" in dag.tags
    assert dag.doc_md and "extract" in dag.doc_md
    assert dag.timetable.expression in ("@daily", "0 0 * * *")
    for task in dag.tasks:
        assert task.retries == 0  # ZMOT_TASK_RETRIES=0 in tests; 2 by default


def test_the_steps_run_in_the_designed_order(dagbag) -> None:
    dag = dagbag.dags["zmot_daily"]
    edges = {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}
    assert edges == {
        "list_sources": ["extract"],
        "extract": ["enrich"],
        "enrich": ["load"],
        "load": ["detect", "finish"],
        "detect": ["notify"],
        "notify": ["finish"],
        "finish": [],
    }
    assert dag.get_task("enrich").trigger_rule == "all_done"  # a failed source does not stop the others
    assert dag.get_task("extract").is_mapped


def test_the_dag_file_stays_thin() -> None:
    """No project imports at module level: the scheduler parses DAG files constantly."""
    source = (PROJECT / "dags" / "zmot_daily.py").read_text()
    top_level_imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in top_level_imports if any(p in line for p in ("zmot", "nlp", "warehouse", "connectors"))]


@pytest.mark.parametrize("package", ["zmot", "connectors", "nlp", "warehouse", "alerts"])
def test_each_generic_package_name_is_ours(package: str) -> None:
    module = importlib.import_module(package)
    assert Path(module.__file__).resolve().parent == PROJECT / package
