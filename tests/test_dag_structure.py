"""The DAG imports cleanly and has the shape the design describes."""

from __future__ import annotations

import importlib
import subprocess
import sys
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


def test_no_task_or_run_is_without_a_timeout(dagbag) -> None:
    dag = dagbag.dags["zmot_daily"]
    assert dag.dagrun_timeout is not None
    assert all(task.execution_timeout is not None for task in dag.tasks)


def test_finish_is_never_retried_and_the_writers_share_one_pool(monkeypatch) -> None:
    """With the default retries: a retry of `finish` cannot make a failed source succeed."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("ZMOT_TASK_RETRIES", "2")
    monkeypatch.delenv("ZMOT_WRITER_POOL", raising=False)
    dag = DagBag(dag_folder=str(PROJECT / "dags")).dags["zmot_daily"]
    retries = {task.task_id: task.retries for task in dag.tasks}
    assert retries["finish"] == 0 and retries["extract"] == 2
    assert {task.task_id for task in dag.tasks if task.pool == "zmot_warehouse"} == {"load", "detect", "notify", "digest"}


def test_mapped_extracts_are_named_after_their_source(dagbag) -> None:
    assert "source" in dagbag.dags["zmot_daily"].get_task("extract").map_index_template


def test_enrich_is_mapped_over_the_sources_and_the_load_waits_for_all_of_it(dagbag) -> None:
    """One enrich per source, over the same list as extract, so the NLP spreads across workers."""
    dag = dagbag.dags["zmot_daily"]
    extract, enrich, load = dag.get_task("extract"), dag.get_task("enrich"), dag.get_task("load")
    assert enrich.is_mapped and extract.is_mapped
    assert enrich.op_kwargs_expand_input.value.keys() == {"source"}
    mapped_over = {task_id: [t.task_id for t in dag.get_task(task_id).iter_mapped_dependencies()] for task_id in ("extract", "enrich")}
    assert mapped_over == {"extract": ["list_sources"], "enrich": ["list_sources"]}
    assert "source" in enrich.map_index_template
    assert enrich.trigger_rule == "all_done" and enrich.execution_timeout is not None
    assert enrich.upstream_task_ids == {"list_sources", "extract"}
    assert load.upstream_task_ids == {"enrich"} and load.trigger_rule == "none_failed"  # every instance, none failed


def test_the_steps_run_in_the_designed_order(dagbag) -> None:
    dag = dagbag.dags["zmot_daily"]
    edges = {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}
    assert edges == {
        "list_sources": ["enrich", "extract"],
        "extract": ["enrich"],
        "enrich": ["load"],
        "load": ["detect", "finish"],
        "detect": ["notify"],
        "notify": ["digest", "finish"],
        "digest": ["finish"],
        "finish": [],
    }
    assert dag.get_task("enrich").trigger_rule == "all_done"  # a failed source does not stop the others
    assert dag.get_task("digest").trigger_rule == "all_done"  # a failed alert email does not cost the digest
    assert dag.get_task("extract").is_mapped and dag.get_task("enrich").is_mapped


def test_the_dag_file_stays_thin() -> None:
    """No project imports at module level but the pool's name: the scheduler parses DAG files constantly."""
    source = (PROJECT / "dags" / "zmot_daily.py").read_text()
    top_level_imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    project = [line for line in top_level_imports if any(p in line for p in ("zmot", "nlp", "warehouse", "connectors"))]
    assert project == ["from zmot.pools import writer_pool_name"]
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, zmot.pools; print(sorted(m for m in sys.modules if m.split('.')[0] in "
         "('zmot', 'nlp', 'warehouse', 'connectors', 'alerts', 'spacy', 'duckdb', 'pydantic')))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert imported == "['zmot', 'zmot.pools']"


@pytest.mark.parametrize("package", ["zmot", "connectors", "nlp", "warehouse", "alerts"])
def test_each_generic_package_name_is_ours(package: str) -> None:
    module = importlib.import_module(package)
    assert Path(module.__file__).resolve().parent == PROJECT / package
