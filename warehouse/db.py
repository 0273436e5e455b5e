"""Opening a DuckDB file: migrations on a writable open, waiting on the writer lock.

Which file the writer opens and which one readers open is warehouse/publish.py's business."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

SQL_PACKAGE = "warehouse.sql"
LOCK_WAIT_SECONDS = 120.0
TOO_NEW = "created with an newer version of DuckDB"  # DuckDB's wording for a file a newer DuckDB wrote

def _fill_targets(con: duckdb.DuckDBPyConnection) -> None:
    judge_targets(con, "SELECT * FROM mentions", "SELECT * FROM mention_refs", clustered=False)


def _fill_clusters(con: duckdb.DuckDBPyConnection) -> None:
    """Cluster the stored mentions (with the default rules) and count their days' unique voices."""
    from warehouse.clusters import assign_clusters  # numpy: only when a warehouse is being upgraded
    from warehouse.signals import recompute_signals_within

    assign_clusters(con, "SELECT mention_id, published_at, title, text FROM mentions")
    recompute_signals_within(con, [row[0] for row in con.execute("SELECT DISTINCT day FROM daily_signals").fetchall()])


def _fill_cluster_numbers(con: duckdb.DuckDBPyConnection) -> None:
    from warehouse.clusters import number_stored_clusters  # numpy: only when a warehouse is being upgraded

    number_stored_clusters(con)


# Derived tables a migration introduces are filled from the data already there, in its transaction.
FILL_AFTER_MIGRATION = {5: _fill_targets, 12: _fill_clusters, 16: _fill_cluster_numbers}


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All of the block or none of it. A COMMIT that failed (a full disk) has already ended the
    transaction, so the error raised is that one, not "cannot rollback - no transaction is active"."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.TransactionException):
            con.execute("ROLLBACK")
        raise


class WarehouseError(RuntimeError):
    """The warehouse file cannot be opened or is not one of ours."""


def migrations() -> list[tuple[int, str, str]]:
    """The numbered `NNN_name.sql` files shipped in warehouse/sql, in order."""
    found = []
    for entry in resources.files(SQL_PACKAGE).iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), name.removesuffix(".sql"), entry.read_text(encoding="utf-8")))
    return sorted(found)


def connect(path: str | Path, *, read_only: bool = False, lock_wait: float = LOCK_WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; a writable open brings the schema up to date first.

    DuckDB lets one process write a file at a time; another writer (or a reader while a writer
    holds it) gets a lock error, so we wait for it with backoff rather than failing the task.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(f"{path}: no warehouse here yet; run `zmot demo` or the DAG first")
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + lock_wait
    delay = 0.1
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if TOO_NEW in str(exc):
                raise WarehouseError(f"{path}: written by a newer DuckDB than this zmot's {duckdb.__version__}; "
                                     "`zmot migrate` converts it (docs/scaling.md, upgrading)") from exc
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise WarehouseError(f"{path}: cannot open the warehouse: {exc}") from exc
            log.info("warehouse %s is locked by another process; waiting %.1fs", path, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        migrate(con)
    return con


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The newest migration applied to this file (0 for an empty file)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply the migrations this file lacks, each in the same transaction as its version row, then the views.

    Any version without a row is applied, in order, not only those above the newest: two branches
    that each add a migration can land in either order, and a file migrated between them must still
    get the one numbered lower."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL)"
    )
    current = schema_version(con)
    known = migrations()
    if known and current > known[-1][0]:
        raise WarehouseError(
            f"warehouse schema is version {current}, newer than this code knows ({known[-1][0]}); upgrade zmot-monitor"
        )
    applied = {row[0] for row in con.execute("SELECT version FROM schema_version").fetchall()}
    missing = [(version, name, sql) for version, name, sql in known if version not in applied]
    for version, name, sql in missing:
        with transaction(con):
            con.execute(sql)
            if version in FILL_AFTER_MIGRATION:
                FILL_AFTER_MIGRATION[version](con)
            con.execute("INSERT INTO schema_version VALUES (?, ?)", [version, name])
        log.info("warehouse migrated to %s", name)
    apply_views(con, schema_changed=bool(missing))
    return schema_version(con)


def views() -> str:
    """views.sql: every view and macro, defined once over the newest schema (migrations never define one)."""
    return sql_text("views")


class _ViewsUnchanged(Exception):
    """Rolls back a views transaction that changed nothing."""


def apply_views(con: duckdb.DuckDBPyConnection, *, schema_changed: bool) -> None:
    """(Re)create every view and macro after the migrations, in one transaction.

    An open that migrated nothing and finds the same definitions commits nothing: the writer's file
    stays untouched, so a step that changed nothing is not published again (warehouse/publish.py)."""
    try:
        with transaction(con):
            before = view_definitions(con)
            con.execute(views())
            if not schema_changed and view_definitions(con) == before:
                raise _ViewsUnchanged
    except _ViewsUnchanged:
        return
    log.info("warehouse views applied")


# DuckDB 1.5 spells a cast's type quoted (`AS "DATE"`) in a view it has just created and unquoted in one
# it read back from the file; both mean the same.
QUOTED_TYPE = re.compile(r'AS "([A-Z][A-Z0-9_]*)"')


def view_definitions(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """The stored SQL of this file's own views and macros, to tell whether views.sql changed any."""
    rows = con.execute(
        """SELECT view_name, sql FROM duckdb_views()
           WHERE NOT internal AND NOT temporary AND database_name = current_database()
           UNION ALL
           SELECT function_name, macro_definition FROM duckdb_functions()
           WHERE function_type IN ('macro', 'table_macro') AND NOT internal AND database_name = current_database()
           ORDER BY ALL"""
    ).fetchall()
    return [(name, QUOTED_TYPE.sub(r"AS \1", sql)) for name, sql in rows]


def judge_targets(con: duckdb.DuckDBPyConnection, mentions_query: str, refs_query: str, *, clustered: bool = True) -> None:
    """Add `mention_targets` rows for the mentions and references the queries select, in the caller's transaction.

    The mentions' old rows must be gone already. The queries name the rows to judge, so a load
    judges only its own run. Each row takes its mention's cluster number, so the mention is clustered
    first (the loader does so); `clustered=False` serves a file older than the clusters (version 5's fill).
    """
    con.execute(f"CREATE OR REPLACE TEMP VIEW judge_mentions AS {mentions_query}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW judge_refs AS {refs_query}")
    judged = sql_text("targets_judge")
    if clustered:
        con.execute(f"""INSERT INTO mention_targets BY NAME
                        SELECT j.*, c.cluster_no FROM ({judged}) j
                        LEFT JOIN mention_clusters c ON c.mention_id = j.mention_id AND c.published_day = j.published_day""")
    else:
        con.execute(f"INSERT INTO mention_targets BY NAME {judged}")


def sql_text(name: str) -> str:
    """A named SQL statement file from warehouse/sql (not a migration)."""
    return resources.files(SQL_PACKAGE).joinpath(f"{name}.sql").read_text(encoding="utf-8")
