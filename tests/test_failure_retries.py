"""Failures decide retries by type. Through the real DAG, with task retries configured, a source answering
404 fails its extract task once and is not retried. A source answering 503 is retried by the connector and
then handed to Airflow as a transient failure (not an AirflowFailException), which Airflow's retries take."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.execution_time.context import set_current_context

from tests.conftest import PROJECT
from tests.feeds_server import Route, serve
from zmot import steps

LOGICAL_DATE = datetime(2026, 11, 11, tzinfo=timezone.utc)
SOURCES = """
http: {{timeout_seconds: 1, max_retries: 1, backoff_seconds: 0}}
sources:
  - {{name: {name}, kind: rss, url: "{url}"}}
"""
TASK_RETRIES = 2


@pytest.fixture
def dag(dag_config: Path, monkeypatch: pytest.MonkeyPatch):
    """The zmot_daily DAG parsed with task retries on (the suite turns them off), and its config folder."""
    monkeypatch.setenv("ZMOT_TASK_RETRIES", str(TASK_RETRIES))
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT / "dags")).dags["zmot_daily"], dag_config


def test_a_404_fails_its_extract_task_once_although_retries_are_configured(dag) -> None:
    dag, config = dag
    assert dag.task_dict["extract"].retries == TASK_RETRIES
    with serve({"/gone.xml": Route(b"not here", status=404)}) as server:
        (config / "sources.yaml").write_text(SOURCES.format(name="gone", url=server.url("/gone.xml")))
        run = dag.test(logical_date=LOGICAL_DATE)
    (gone,) = [ti for ti in run.get_task_instances() if ti.task_id == "extract"]
    assert (str(gone.state), gone.try_number) == ("failed", 1)
    assert len(server.requests_for("/gone.xml")) == 1  # not retried by Airflow, nor by the connector


def _run_dags_extract(dag, source: str) -> None:
    """Call the DAG's own extract task body, as Airflow would for one mapped source."""
    body = dag.task_dict["extract"].python_callable
    dag_run = SimpleNamespace(conf={}, logical_date=LOGICAL_DATE, run_after=LOGICAL_DATE)
    with set_current_context({"dag_run": dag_run}):
        body(source=source)


def test_a_503_is_retried_by_the_connector_then_left_to_airflows_retries(dag) -> None:
    dag, config = dag
    with serve({"/busy.xml": Route(b"try later", status=503)}) as server:
        (config / "sources.yaml").write_text(SOURCES.format(name="overloaded", url=server.url("/busy.xml")))
        with pytest.raises(steps.TransientSourceFailed) as failed:
            _run_dags_extract(dag, "overloaded")
    assert not isinstance(failed.value, AirflowFailException)
    assert "gave up after 2 attempts" in str(failed.value)
    assert len(server.requests_for("/busy.xml")) == 2  # the connector's own retry (max_retries: 1)


def test_a_404_reaches_airflow_as_a_failure_not_to_retry(dag) -> None:
    dag, config = dag
    with serve({"/gone.xml": Route(b"not here", status=404)}) as server:
        (config / "sources.yaml").write_text(SOURCES.format(name="gone", url=server.url("/gone.xml")))
        with pytest.raises(AirflowFailException, match="gone"):
            _run_dags_extract(dag, "gone")
