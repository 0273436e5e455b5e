"""SIGKILL at any moment of a daily run, then a rerun: the warehouse ends as one clean run leaves it.

Real processes: `zmot run` (the real DAG through dag.test) in its own process group, killed with
SIGKILL at staggered moments (extract, enrich, load, detect or notify, wherever the clock falls),
then run again. A real SMTP server on loopback counts the alert emails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import PROJECT
from tests.smtp_server import smtp_server

SAMPLE = PROJECT / "config" / "sample"
DATES = ["2026-11-10", "2026-11-12"]  # the second run's window holds the outage: one alert email
COMPARED = {
    "mentions": "* EXCLUDE (fetched_at, first_run, last_run)",
    "mention_nlp": "*",
    "mention_refs": "*",
    "mention_targets": "*",
    "daily_signals": "*",
    "alerts": "brand, product, source_kind, metric, window_start, window_end, observed, expected",
    "rejects": "source_id, stage, reason",
}
pytestmark = pytest.mark.slow


def _config(tmp_path: Path, smtp_port: int) -> Path:
    """The sample's feeds and brands (read in place), mailing a loopback SMTP server."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "brands.yaml").write_text((SAMPLE / "brands.yaml").read_text())
    feeds = "".join(
        f"  - name: {name}\n    kind: rss\n    url: {(SAMPLE / 'feeds' / file).as_uri()}\n    backfill_days: 60\n"
        for name, file in (("telecom-news", "telecom-news.rss.xml"), ("mobile-forum", "mobile-forum.atom.xml"),
                           ("coffee-gear-blog", "coffee-gear-blog.rss.xml"))
    )
    (config / "sources.yaml").write_text("sources:\n" + feeds)
    (config / "alerts.yaml").write_text(
        "sender: zmot@example.com\nrecipients: [team@example.com]\n"
        f"smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none}}\n"
    )
    return config


def _run(config: Path, data: Path, date: str, *, kill_after: float | None = None) -> int | None:
    """`zmot run --date`; with `kill_after`, SIGKILL its whole process group then (None if it was killed)."""
    command = [str(Path(sys.executable).parent / "zmot"), "run", "--date", date, "--config", str(config),
               "--data-dir", str(data)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    process = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_after is None:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()[-3000:]
        return process.returncode
    try:
        process.wait(timeout=kill_after)
        return process.returncode  # finished before the kill
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return None


def _snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    """Every compared table, floats rounded: DuckDB's parallel sums may differ in the last bit."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            t: sorted(tuple(round(v, 9) if isinstance(v, float) else v for v in row)
                      for row in con.execute(f"SELECT {cols} FROM {t}").fetchall())
            for t, cols in COMPARED.items()
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[dict[str, list[tuple]], int, float]:
    """The two runs, uninterrupted: what every killed-and-rerun history must end as, and how long run 2 took."""
    tmp = tmp_path_factory.mktemp("clean")
    with smtp_server() as (controller, mailbox):
        config = _config(tmp, controller.port)
        _run(config, tmp / "data", DATES[0])
        started = time.monotonic()
        _run(config, tmp / "data", DATES[1])
        duration = time.monotonic() - started
    return _snapshot(tmp / "data" / "zmot.duckdb"), len(mailbox.messages), duration


@pytest.mark.parametrize("moment", [0.2, 0.4, 0.6, 0.75, 0.9])
def test_a_run_killed_at_any_moment_then_rerun_ends_as_a_clean_run(clean, tmp_path: Path, moment: float) -> None:
    """`moment` is the fraction of a clean run's duration after which the run is killed."""
    expected, emails, duration = clean
    kill_after = moment * duration
    assert emails == 1 and expected["mentions"] and expected["alerts"]
    with smtp_server() as (controller, mailbox):
        config = _config(tmp_path, controller.port)
        _run(config, tmp_path / "data", DATES[0])
        killed = _run(config, tmp_path / "data", DATES[1], kill_after=kill_after)
        _run(config, tmp_path / "data", DATES[1])  # the rerun picks up what the killed run left
    assert _snapshot(tmp_path / "data" / "zmot.duckdb") == expected, f"killed={killed is None} after {kill_after}s"
    subjects = [m["Subject"] for m in mailbox.messages]
    assert len(set(subjects)) == 1 and len(subjects) == 1, subjects  # the alert was emailed, once
