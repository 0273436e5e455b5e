"""
# zmot_daily

Every day: fetch new brand mentions from each configured source, read them with spaCy, store them
in the DuckDB warehouse in one transaction together with the daily signals of the days touched.

* **extract** — one mapped task per enabled source in `sources.yaml` (named after the source in the
  UI); writes staging files only. A failing source fails its own task; the others go on. Only a
  transient failure (timeout, 429/5xx after the connector's own retries) is retried; a 404, missing
  credentials or a body that is not a feed fails at once.
* **enrich** — one mapped task per source too, so the NLP spreads across workers; each reads its
  source's staging file and writes that source's NLP files. They start once every extract has
  finished, successful or not; a source whose extract failed has nothing to read and writes nothing.
  The load waits for every enrich.
* **load → detect → notify** — the only tasks that write the warehouse. They run in the one-slot pool
  `zmot_warehouse` (or the one `ZMOT_WRITER_POOL` names), so writers never overlap, not even under a
  backfill that starts many runs at once. Create it once: `airflow pools set zmot_warehouse 1 "…"`
  (`zmot run` and the compose deployment do it for you). The load stores a run atomically:
  mentions, NLP, references, cursors, rejects and the touched days' `daily_signals` in one transaction.
  Writers work on their own file (`writer/` beside the warehouse) and, after each step commits,
  publish a copy at `ZMOT_WAREHOUSE` by an atomic rename, so analysts' connections never make them wait.
* **detect → notify** — spike detection on the days the load touched stores alerts (unique per
  brand / metric / window); notify emails the ones not yet delivered, and marks each sent only
  once the mail server accepted it (or it was written to the outbox).
* **digest** — with `digest:` in alerts.yaml, emails each brand's digest once its day or week
  (Monday to Sunday) has ended, once per brand and period; it runs even when notify failed (a
  failed alert email must not cost the week's digest), and a backfill sends none.
* **finish** — fails the run if any source failed, after everything that worked is stored; never
  retried (a retry cannot make a source succeed). To repair the run once the source is fixed, clear
  the whole run: `airflow tasks clear zmot_daily -s D -e D -y` (D = the logical date). Every step is
  idempotent, so the sources that had succeeded store nothing twice.

Every task has an `execution_timeout` and the run a `dagrun_timeout`, so nothing holds the run slot
for ever.

Paths come from the environment: `ZMOT_CONFIG_DIR`, `ZMOT_DATA_DIR`, `ZMOT_WAREHOUSE`.
Trigger with conf `{"send_alerts": false}` (as `zmot backfill` does) to store alerts without emailing them.
A run with logical date *D* takes mentions published up to *D*, however it was started (schedule,
`airflow dags trigger -l D`, REST, backfill), so a rerun or backfill of *D* sees the same slice of
time. A manual run without a logical date takes mentions up to the moment it was triggered.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING

import pendulum
from airflow.sdk import dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from zmot.pools import writer_pool_name

if TYPE_CHECKING:
    from zmot.runcontext import RunContext

WRITER_POOL = writer_pool_name()
RETRIES = int(os.environ.get("ZMOT_TASK_RETRIES", "2"))


def _run_context() -> RunContext:
    """Build the run's context from Airflow's, inside a task (imports stay out of DAG parsing)."""
    from zmot.runcontext import RunContext

    context = get_current_context()
    dag_run = context["dag_run"]
    conf = dag_run.conf or {}
    # The window ends at the logical date whatever started the run: a CLI trigger's data interval
    # ends when it was triggered, which would count the first run's backfill back from today.
    return RunContext.for_date(dag_run.logical_date or dag_run.run_after, send_alerts=bool(conf.get("send_alerts", True)))


@dag(
    dag_id="zmot_daily",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=6),
    tags=["zmot", "social-listening"],
    default_args={
        "retries": RETRIES, "retry_delay": timedelta(minutes=5), "retry_exponential_backoff": True,
        "execution_timeout": timedelta(minutes=30),
    },
    doc_md=__doc__,
)
def zmot_daily() -> None:
    @task(execution_timeout=timedelta(minutes=5))
    def list_sources() -> list[str]:
        from zmot import steps

        return steps.source_names(_run_context())

    @task(max_active_tis_per_dag=4, execution_timeout=timedelta(hours=1), map_index_template="{{ task.op_kwargs['source'] }}")
    def extract(source: str) -> dict:
        from zmot import steps

        try:
            return steps.extract(_run_context(), source)
        except steps.TerminalSourceFailed as failed:
            raise AirflowFailException(str(failed)) from failed

    @task(trigger_rule="all_done", execution_timeout=timedelta(hours=1), map_index_template="{{ task.op_kwargs['source'] }}")
    def enrich(source: str) -> dict:
        from zmot import steps

        return steps.enrich(_run_context(), source)

    # none_failed: it waits for every enrich and runs only if none failed, and still runs when no
    # source is enabled (enrich mapped over nothing is skipped), so that run is recorded as before.
    @task(pool=WRITER_POOL, trigger_rule="none_failed", execution_timeout=timedelta(hours=1))
    def load() -> dict:
        from zmot import steps

        return steps.load(_run_context())

    @task(pool=WRITER_POOL)
    def detect(load_result: dict) -> list[str]:
        from zmot import steps

        return steps.detect(_run_context(), load_result["days_touched"])

    @task(pool=WRITER_POOL)
    def notify(_new_alerts: list[str]) -> dict:
        from zmot import steps

        return steps.notify(_run_context())

    @task(pool=WRITER_POOL, trigger_rule="all_done")
    def digest(_notified: dict) -> dict:
        from zmot import steps

        return steps.digest(_run_context())

    @task(retries=0, execution_timeout=timedelta(minutes=5))
    def finish(load_result: dict, _notified: dict, _digested: dict) -> None:
        from zmot import steps

        steps.finish(load_result, _run_context())

    sources = list_sources()
    extracted = extract.expand(source=sources)
    enriched = enrich.expand(source=sources)
    extracted >> enriched
    loaded = load()
    enriched >> loaded
    notified = notify(detect(loaded))
    finish(loaded, notified, digest(notified))


zmot_daily()
