"""Where a daily run's time goes under a real Airflow scheduler (LocalExecutor), and what each task
process pays to start.

1. Import cost per task, each in a fresh interpreter (median of 3): what the task's step imports
   now, beside the baseline of every task importing the whole pipeline (spaCy, matplotlib, every
   connector), as each task did before the steps imported lazily.
2. A real `airflow standalone` set up as README says (tests/airflow_scheduler.py) over the sample's
   three feeds: the first run (60 days of history) and three daily runs triggered by logical date,
   with each run's wall time and each task's median duration from the metadata database.

    .venv/bin/python bench/airflow_tasks.py [--days 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.airflow_scheduler import Airflow  # noqa: E402
from tests.reliability.harness import sample_feeds_yaml, write_config  # noqa: E402

# what each task's step imports on its way (zmot/steps.py imports these inside the step functions)
TASK_IMPORTS = {
    "list_sources": ["zmot.steps"],
    "extract (rss)": ["zmot.steps", "connectors.http", "connectors.rss", "nlp.brands", "warehouse.db"],
    "extract (reviews)": ["zmot.steps", "connectors.http", "connectors.reviews", "nlp.brands", "warehouse.db"],
    "enrich": ["zmot.steps", "nlp.pipeline"],
    "load": ["zmot.steps", "warehouse.db", "warehouse.load"],
    "detect": ["zmot.steps", "warehouse.db", "warehouse.detect", "warehouse.spikes", "zmot.notify"],
    "notify (no alert)": ["zmot.steps", "warehouse.db", "zmot.notify"],
    "finish": ["zmot.steps"],
}
EVERYTHING = ["zmot.steps", "connectors.reddit", "connectors.reviews", "connectors.rss", "nlp.pipeline",
              "warehouse.load", "warehouse.detect", "zmot.notify", "matplotlib.pyplot"]
FIRST_DAY = date(2026, 11, 9)


def import_seconds(modules: list[str], repeats: int = 3) -> float:
    """Median wall time of a fresh interpreter importing these modules."""
    code = "import " + ", ".join(modules)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def scheduler_runs(days: int) -> None:
    with tempfile.TemporaryDirectory(prefix="zmot-airflow-bench-") as tmp:
        config = write_config(Path(tmp) / "config", sample_feeds_yaml())
        airflow = Airflow(Path(tmp) / "project", config)
        dates = [(FIRST_DAY + timedelta(days=i)).isoformat() for i in range(days + 1)]
        started = time.perf_counter()
        with airflow.running():
            print(f"airflow standalone ready in {time.perf_counter() - started:.0f} s (migrate, pool, services)")
            airflow.sh("airflow dags unpause zmot_daily")
            for day in dates:
                airflow.sh(f"airflow dags trigger zmot_daily -l {day}")
                state = airflow.wait_for_runs([day])[day]
                kind = "first run (60-day backfill)" if day == dates[0] else "daily run"
                print(f"{day} {kind}: {airflow.run_seconds(day):.1f} s, {state}")
            durations: dict[str, list[float]] = defaultdict(list)
            for run in airflow.task_runs():
                if run.start and run.end:
                    seconds = (_parse(run.end) - _parse(run.start))
                    durations[run.task_id].append(seconds)
        print("task medians over all runs (seconds, start to end of the task process):")
        for task, values in durations.items():
            print(f"  {task:<14} {statistics.median(values):6.1f}   (n={len(values)})")


def _parse(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp).timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=3, help="daily runs after the first (default 3)")
    args = parser.parse_args()
    print("import cost of a task process (fresh interpreter, median of 3):")
    baseline = import_seconds(EVERYTHING)
    print(f"  {'baseline: every task imports everything':<42} {baseline:5.2f} s")
    for task, modules in TASK_IMPORTS.items():
        print(f"  {task:<42} {import_seconds(modules):5.2f} s")
    scheduler_runs(args.days)
    return 0


if __name__ == "__main__":
    sys.exit(main())
