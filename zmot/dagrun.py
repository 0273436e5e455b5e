"""Run the real `zmot_daily` DAG with `dag.test()` for a series of logical dates, in this process.

Airflow reads AIRFLOW_HOME when it is first imported, so this module is meant to be started as
`python -m zmot.dagrun` by `zmot demo` / `zmot run` after they have prepared the environment.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import date, datetime, time, timezone

from zmot.pools import ensure_writer_pool

DAG_ID = "zmot_daily"


def run_dates(dates: list[date], *, send_alerts: bool = True) -> int:
    """Run the DAG once per date; returns how many runs did not succeed."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        for path, error in bag.import_errors.items():
            print(f"DAG import error in {path}:\n{error}", file=sys.stderr)
        return len(dates)
    dag = bag.get_dag(DAG_ID)
    ensure_writer_pool()
    failures = 0
    for index, day in enumerate(dates, 1):
        logical = datetime.combine(day, time(0), tzinfo=timezone.utc)
        print(f"[{index}/{len(dates)}] {DAG_ID} for {day.isoformat()} ...", flush=True)
        run = dag.test(logical_date=logical, run_conf={"send_alerts": send_alerts})
        state = str(getattr(run, "state", "unknown"))
        print(f"[{index}/{len(dates)}] {DAG_ID} for {day.isoformat()}: {state}", flush=True)
        failures += state != "success"
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dates", nargs="+", type=date.fromisoformat)
    parser.add_argument("--no-alerts", action="store_true", help="store alerts without emailing them (backfills)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("ZMOT_LOG_LEVEL", "WARNING"))
    return 1 if run_dates(args.dates, send_alerts=not args.no_alerts) else 0


if __name__ == "__main__":
    sys.exit(main())
