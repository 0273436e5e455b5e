"""How the analysts' tools (`zmot label`, `zmot labels`, `zmot serve`) open the warehouse: one place for reads, one for writes.

A connection lives for one command or one web request and is closed after it, so a reader never holds
the file between requests and the nightly load never waits long for it.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb

from warehouse.publish import has_warehouse, open_published, writer

ANALYST_ENV = "ZMOT_ANALYST"


@contextlib.contextmanager
def reading(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection on the published copy, closed when the block ends: a load never waits for it."""
    con = open_published(warehouse)
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def writing(warehouse: Path, *, say_waiting: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """The writer's connection, closed (and what it committed published) when the block ends; it waits
    (with backoff) while a load holds the writer's file.

    With `say_waiting`, each wait is reported on standard error, so a person at a terminal knows why
    nothing happens yet.
    """
    if not has_warehouse(warehouse):
        raise FileNotFoundError(f"{warehouse}: no warehouse here yet; run `zmot demo` or the DAG first")
    handler = _WaitNotice() if say_waiting else None
    db_log = logging.getLogger("warehouse.db")
    if handler:
        db_log.addHandler(handler)
        previous = db_log.level
        db_log.setLevel(logging.INFO)
    try:
        opened = writer(warehouse)
        con = opened.__enter__()
    finally:
        if handler:
            db_log.removeHandler(handler)
            db_log.setLevel(previous)
    with contextlib.ExitStack() as stack:
        stack.push(opened)
        yield con


def analyst_name() -> str:
    """Who a correction is recorded as: $ZMOT_ANALYST, else the operating-system user."""
    return os.environ.get(ANALYST_ENV) or getpass.getuser()


class _WaitNotice(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if "locked" in record.getMessage():
            print(f"waiting for the warehouse: {record.getMessage()}", file=sys.stderr, flush=True)
