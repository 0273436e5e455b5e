"""Where a run reads its config and keeps its files, and which slice of time it covers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from connectors.records import utc

CONFIG_DIR_ENV = "ZMOT_CONFIG_DIR"
DATA_DIR_ENV = "ZMOT_DATA_DIR"
WAREHOUSE_ENV = "ZMOT_WAREHOUSE"
WAREHOUSE_FILE = "zmot.duckdb"  # the published copy readers open; the writer's file is beside it (warehouse/publish.py)


def default_config_dir() -> Path:
    return Path(os.environ.get(CONFIG_DIR_ENV, "config"))


def default_data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV, "data"))


def default_warehouse(data_dir: Path | None = None) -> Path:
    if WAREHOUSE_ENV in os.environ:
        return Path(os.environ[WAREHOUSE_ENV])
    return (data_dir or default_data_dir()) / WAREHOUSE_FILE


@dataclass(frozen=True)
class RunContext:
    """One daily run: mentions published up to `interval_end`, the logical date, are in scope.

    The run key is the logical date, so a rerun or a backfill of the same date writes to the
    same staging folder and the same `runs` row instead of piling up new ones, and sees the same
    slice of time however it was started.
    """

    config_dir: Path
    data_dir: Path
    warehouse: Path
    logical_date: datetime
    interval_end: datetime
    send_alerts: bool = True  # False for backfills: alerts are stored, nobody is emailed about the past

    @classmethod
    def for_date(
        cls,
        logical_date: datetime,
        *,
        config_dir: Path | None = None,
        data_dir: Path | None = None,
        warehouse: Path | None = None,
        send_alerts: bool = True,
    ) -> "RunContext":
        data_dir = (data_dir or default_data_dir()).resolve()
        return cls(
            config_dir=(config_dir or default_config_dir()).resolve(),
            data_dir=data_dir,
            warehouse=(warehouse or default_warehouse(data_dir)).resolve(),
            logical_date=utc(logical_date),
            interval_end=utc(logical_date),
            send_alerts=send_alerts,
        )

    @property
    def run_key(self) -> str:
        return self.logical_date.strftime("%Y-%m-%dT%H%M%SZ")

    @property
    def staging_dir(self) -> Path:
        return self.data_dir / "staging" / self.run_key

    def backfill_start(self, days: int) -> datetime:
        return self.interval_end - timedelta(days=days)
