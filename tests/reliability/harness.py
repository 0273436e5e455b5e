"""What the reliability cases share: a config written into a temp dir, a daily run through the real
pipeline steps in this process (the same functions the DAG's tasks call), and the warehouse read back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from tests.conftest import PROJECT
from zmot import steps
from zmot.runcontext import RunContext

SAMPLE = PROJECT / "config" / "sample"
TABLES = ["mentions", "mention_nlp", "mention_refs", "mention_targets", "daily_signals", "source_state", "rejects", "alerts"]
FAST_HTTP = "http:\n  timeout_seconds: 2\n  max_retries: 1\n  backoff_seconds: 0\n"
SAMPLE_FEEDS = (("telecom-news", "telecom-news.rss.xml"), ("mobile-forum", "mobile-forum.atom.xml"),
                ("coffee-gear-blog", "coffee-gear-blog.rss.xml"))
SAMPLE_DAYS = ["2026-11-10", "2026-11-12"]  # the second day's window holds the sample's outage: one alert


def sample_feeds_yaml() -> str:
    """sources.yaml for the sample's three feeds, read in place."""
    return "sources:\n" + "".join(
        f"  - name: {name}\n    kind: rss\n    url: {(SAMPLE / 'feeds' / file).as_uri()}\n    backfill_days: 60\n"
        for name, file in SAMPLE_FEEDS
    )


def write_config(directory: Path, sources_yaml: str, *, alerts_yaml: str | None = None) -> Path:
    """A config dir with the sample's brands, the given sources.yaml and an alerts.yaml (no SMTP unless given)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "brands.yaml").write_text((SAMPLE / "brands.yaml").read_text())
    (directory / "sources.yaml").write_text(sources_yaml)
    (directory / "alerts.yaml").write_text(alerts_yaml or "sender: zmot@example.com\nrecipients: [team@example.com]\n")
    return directory


@dataclass
class DayRun:
    """What one in-process daily run did: failed sources (with their error text), the load and notify results."""

    failed: dict[str, str] = field(default_factory=dict)
    load: dict[str, Any] = field(default_factory=dict)
    new_alerts: list[str] = field(default_factory=list)
    notify: dict[str, Any] = field(default_factory=dict)


def run_day(config: Path, data: Path, day: str, *, send_alerts: bool = True, notify: bool = True) -> DayRun:
    """extract every source, enrich every source, load, detect, notify: the DAG's order, a failed source going on alone."""
    logical = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
    ctx = RunContext.for_date(logical, config_dir=config, data_dir=data, send_alerts=send_alerts)
    run = DayRun()
    names = steps.source_names(ctx)
    for name in names:
        try:
            steps.extract(ctx, name)
        except steps.SourceFailed as exc:
            run.failed[name] = str(exc)
    for name in names:
        steps.enrich(ctx, name)
    run.load = steps.load(ctx)
    run.new_alerts = steps.detect(ctx, run.load["days_touched"])
    if notify:
        run.notify = steps.notify(ctx)
    return run


def sample_days_in_a_row(directory: Path) -> tuple[Path, dict[str, list[tuple]]]:
    """The sample feeds' config, and the warehouse its two days leave when run one after the other."""
    config = write_config(directory / "config", sample_feeds_yaml())
    for day in SAMPLE_DAYS:
        run_day(config, directory / "data", day)
    return config, snapshot(directory / "data" / "zmot.duckdb")


def query(warehouse: Path, sql: str, params: list[Any] | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def snapshot(warehouse: Path, tables: list[str] | None = None) -> dict[str, list[tuple]]:
    """Every data table, sorted; run bookkeeping columns (fetch times, run keys) left out so reruns compare."""
    columns = {"mentions": "* EXCLUDE (fetched_at, first_run, last_run)", "rejects": "source_id, stage, reason",
               "source_state": "source_id, state",
               "alerts": "brand, product, source_kind, metric, window_start, window_end, observed, expected, notified_at IS NOT NULL"}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            t: sorted(tuple(round(v, 9) if isinstance(v, float) else v for v in row)
                      for row in con.execute(f"SELECT {columns.get(t, '*')} FROM {t}").fetchall())
            for t in tables or TABLES
        }
    finally:
        con.close()
