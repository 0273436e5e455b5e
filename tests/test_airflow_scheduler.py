"""The DAG under a real Airflow scheduler (LocalExecutor), set up word for word as README says:
a run triggered from the CLI with a logical date, a three-day backfill, a run whose source answers
404, and README's repair command, compared table by table with the same days run in-process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.airflow_scheduler import RUNS_MARKER, Airflow, TaskRun, readme_block
from tests.feeds_server import Route, serve
from tests.reliability.harness import TABLES, query, run_day, sample_feeds_yaml, snapshot, write_config

pytestmark = pytest.mark.slow

WRITERS = ("load", "detect", "notify")
FIRST, BACKFILL, FAILING = "2026-11-20", ["2026-11-21", "2026-11-22", "2026-11-23"], "2026-11-24"
PARTNER = "partner-news"


def partner_feed() -> bytes:
    """One Acme Mobile story a day after the first run's day, so a window too wide shows up at once."""
    items = "".join(
        f"<item><title>Acme Mobile roaming note {day}</title><link>https://partner.example/{day}</link>"
        f"<guid>partner-{day}</guid><pubDate>{pub}</pubDate>"
        f"<description>Acme Mobile changed its roaming prices on {day}.</description></item>"
        for day, pub in (("2026-11-21", "Fri, 20 Nov 2026 12:00:00 GMT"), ("2026-11-22", "Sat, 21 Nov 2026 12:00:00 GMT"),
                         ("2026-11-23", "Sun, 22 Nov 2026 12:00:00 GMT"), ("2026-11-24", "Mon, 23 Nov 2026 12:00:00 GMT"))
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Partner</title>{items}</channel></rss>'.encode()


def overlapping(runs: list[TaskRun]) -> list[tuple[TaskRun, TaskRun]]:
    spans = sorted((r for r in runs if r.start and r.end), key=lambda r: r.start)
    return [(a, b) for a, b in zip(spans, spans[1:]) if b.start < a.end]


def test_a_real_scheduler_runs_backfills_and_repairs_as_readme_says(tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash is needed to run README's commands")
    readme_runs = readme_block(RUNS_MARKER)
    trigger, backfill, repair = (next(line for line in readme_runs if line.startswith(p))
                                 for p in ("airflow dags trigger", "airflow backfill create", "airflow tasks clear"))
    assert f"-l {FIRST}" in trigger and f"--from-date {BACKFILL[0]} --to-date {BACKFILL[-1]}" in backfill
    assert f"-s {FAILING} -e {FAILING}" in repair

    route = Route(body=partner_feed())
    with serve({"/partner.xml": route}) as server:
        sources = sample_feeds_yaml() + f"  - name: {PARTNER}\n    kind: rss\n    url: {server.url('/partner.xml')}\n" \
                                        "    backfill_days: 60\n"
        config = write_config(tmp_path / "config", "http:\n  max_retries: 1\n  backoff_seconds: 0\n" + sources)

        # the same days in-process, the source never failing: what the warehouse must end up as
        reference = tmp_path / "reference"
        run_day(config, reference, FIRST)
        first_day_ids = {r[0] for r in query(reference / "zmot.duckdb", "SELECT mention_id FROM mentions")}
        for day in [*BACKFILL, FAILING]:
            run_day(config, reference, day)
        expected = snapshot(reference / "zmot.duckdb", TABLES)

        airflow = Airflow(tmp_path / "project", config)
        warehouse = airflow.data_dir / "zmot.duckdb"
        with airflow.running():
            for line in readme_runs:
                if line.startswith("airflow dags unpause"):
                    airflow.sh(line)

            airflow.sh(trigger)
            assert airflow.wait_for_runs([FIRST]) == {FIRST: "success"}
            assert query(warehouse, "SELECT interval_end::VARCHAR FROM runs") == [("2026-11-20 00:00:00",)]
            stored = {r[0] for r in query(warehouse, "SELECT mention_id FROM mentions")}
            assert stored == first_day_ids and len(stored) > 60  # the sample's history, nothing after the day

            airflow.sh(backfill)
            assert airflow.wait_for_runs(BACKFILL) == dict.fromkeys(BACKFILL, "success")

            route.status = 404
            airflow.sh(f"airflow dags trigger zmot_daily -l {FAILING}")
            assert airflow.wait_for_runs([FAILING]) == {FAILING: "failed"}
            failed_run = {(t.task_id, t.rendered_map_index): t for t in airflow.task_runs(FAILING)}
            partner = failed_run[("extract", PARTNER)]
            assert (partner.state, partner.try_number) == ("failed", 1)  # a 404 is not retried
            assert (failed_run[("finish", None)].state, failed_run[("finish", None)].try_number) == ("failed", 1)
            assert failed_run[("load", None)].state == "success"  # what worked is stored

            route.status = 200
            airflow.sh(repair)
            assert airflow.wait_for_runs([FAILING]) == {FAILING: "success"}

            everything = airflow.task_runs()
            assert not overlapping([t for t in everything if t.task_id in WRITERS])
            for mapped in ("extract", "enrich"):  # one instance per source, named after it
                names = {t.rendered_map_index for t in everything if t.task_id == mapped}
                assert names == {"telecom-news", "mobile-forum", "coffee-gear-blog", PARTNER}, mapped
            timings = {day: round(airflow.run_seconds(day), 1) for day in [FIRST, *BACKFILL, FAILING]}
            print(f"run seconds under the scheduler: {timings}")

        repaired = snapshot(warehouse, TABLES)
        # the failed attempt's 404 stays on record in rejects; everything else is as if it never failed
        assert repaired.pop("rejects") == sorted([*expected.pop("rejects"), (PARTNER, "extract", "http_404")])
        assert repaired == expected
        assert query(warehouse, "SELECT sources_failed FROM runs WHERE run_key = '2026-11-24T000000Z'") == [([],)]
