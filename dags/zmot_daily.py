"""
# zmot_daily

Every day: fetch new brand mentions from each configured source, read them with spaCy, store them
in the DuckDB warehouse in one transaction together with the daily signals of the days touched.

* **extract** — one mapped task per enabled source in `sources.yaml`; writes staging files only.
  A failing source fails its own task (and is retried); the others go on.
* **enrich** — runs once every extract has finished, successful or not.
* **load → detect → notify** — the only tasks that write the warehouse, in sequence; `max_active_runs=1`
  keeps runs from overlapping, and the optional pool named by `ZMOT_WRITER_POOL` serialises them
  with other DAGs that write the same file. The load publishes a run atomically: mentions, NLP,
  references, cursors, rejects and the touched days' `daily_signals` in one transaction.
* **detect → notify** — spike detection on the days the load touched stores alerts (unique per
  brand / metric / window); notify emails the ones not yet delivered, and marks each sent only
  once the mail server accepted it (or it was written to the outbox).
* **finish** — fails the run if any source failed, after everything that worked is stored.

Paths come from the environment: `ZMOT_CONFIG_DIR`, `ZMOT_DATA_DIR`, `ZMOT_WAREHOUSE`.
Trigger with conf `{"send_alerts": false}` (as `zmot backfill` does) to store alerts without emailing them.
A run with logical date *D* takes mentions published up to *D* (the data interval's end), so a
rerun or backfill of *D* sees the same slice of time.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task

WRITER_POOL = os.environ.get("ZMOT_WRITER_POOL") or None
RETRIES = int(os.environ.get("ZMOT_TASK_RETRIES", "2"))


def _run_context():
    """Build the run's context from Airflow's, inside a task (imports stay out of DAG parsing)."""
    from zmot.runcontext import RunContext

    context = get_current_context()
    logical_date = context.get("logical_date") or context["dag_run"].run_after
    conf = context["dag_run"].conf or {}
    return RunContext.for_date(
        logical_date, context.get("data_interval_end") or logical_date, send_alerts=bool(conf.get("send_alerts", True))
    )


@dag(
    dag_id="zmot_daily",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["zmot", "social-listening"],
    default_args={"retries": RETRIES, "retry_delay": timedelta(minutes=5), "retry_exponential_backoff": True},
    doc_md=__doc__,
)
def zmot_daily():
    @task
    def list_sources() -> list[str]:
        from zmot import steps

        return steps.source_names(_run_context())

    @task(max_active_tis_per_dag=4)
    def extract(source: str) -> dict:
        from zmot import steps

        return steps.extract(_run_context(), source)

    @task(trigger_rule="all_done")
    def enrich() -> dict:
        from zmot import steps

        return steps.enrich(_run_context())

    @task(pool=WRITER_POOL or "default_pool")
    def load() -> dict:
        from zmot import steps

        return steps.load(_run_context())

    @task(pool=WRITER_POOL or "default_pool")
    def detect(load_result: dict) -> list[str]:
        from zmot import steps

        return steps.detect(_run_context(), load_result["days_touched"])

    @task(pool=WRITER_POOL or "default_pool")
    def notify(_new_alerts: list[str]) -> dict:
        from zmot import steps

        return steps.notify(_run_context())

    @task
    def finish(load_result: dict, _notified: dict) -> None:
        from zmot import steps

        steps.finish(load_result)

    extracted = extract.expand(source=list_sources())
    enriched = enrich()
    extracted >> enriched
    loaded = load()
    enriched >> loaded
    finish(loaded, notify(detect(loaded)))


zmot_daily()
