"""The one-slot Airflow pool that keeps the warehouse writers apart: DuckDB allows one writing
process per file, and a backfill starts many runs at once whatever `max_active_runs` says."""

from __future__ import annotations

import os

WRITER_POOL_ENV = "ZMOT_WRITER_POOL"
DEFAULT_WRITER_POOL = "zmot_warehouse"
WRITER_POOL_DESCRIPTION = "ZMOT Monitor: one writer for the DuckDB file"


def writer_pool_name() -> str:
    """The pool the load, detect and notify tasks run in."""
    return os.environ.get(WRITER_POOL_ENV) or DEFAULT_WRITER_POOL


def ensure_writer_pool() -> str:
    """Create the pool with one slot unless it exists (an operator's own slot count is kept).

    Runs where the metadata database may be used (a CLI process, not a task). A task in a pool that
    does not exist is never scheduled, and the scheduler says so only in its log.
    """
    from airflow.models.pool import Pool

    name = writer_pool_name()
    if Pool.get_pool(name) is None:
        Pool.create_or_update_pool(name, slots=1, description=WRITER_POOL_DESCRIPTION, include_deferred=False)
    return name
