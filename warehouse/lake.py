"""DuckLake as the published warehouse: a catalog (a SQLite file, or the deployment's PostgreSQL) and
Parquet files that any number of readers, on any host that sees the files, attach read-only.

The writer keeps its private DuckDB file, because the warehouse leans on what DuckLake lacks
(primary keys behind every upsert, a sequence, RETURNING). After each step it committed, what that
step changed (the touched days of a table with a day column, else the whole table) is rewritten in
the lake in one DuckLake transaction: a reader's query sees the
whole of that step or the snapshot before it, and a reader's open transaction keeps its snapshot
while the writer commits. Old snapshots are kept for `KEEP_SNAPSHOTS` (time travel), then expired.

Set `$ZMOT_LAKE_CATALOG` to use it (unset: the published file copy, warehouse/publish.py):
  sqlite:<file>                   a catalog file; a relative path is read from the warehouse's folder
  postgres:<libpq conninfo>       e.g. `postgres:host=db dbname=zmot_lake user=zmot` (password from
                                  $PGPASSWORD or ~/.pgpass, never from this variable)
`$ZMOT_LAKE_DATA_PATH` names where the writer puts the Parquet files (default: `lake/` beside the
warehouse file); the catalog records it, and readers find the files there, so every reader must see
them at that same path.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import duckdb

from warehouse.db import WarehouseError, transaction, views

CATALOG_ENV = "ZMOT_LAKE_CATALOG"
DATA_PATH_ENV = "ZMOT_LAKE_DATA_PATH"
LAKE_ALIAS = "zmot_lake"
# What each published table held, so a step rewrites only the tables it changed; analysts can read
# when each one was last published from it.
PUBLISHED_TABLE = "lake_published"
VIEWS_ENTRY = "(views and macros)"
# The clustering's band index (22 rows a mention, no day to rewrite it by): the writer's working
# state, which no reader needs, so it is not published.
WRITER_ONLY = ("mention_lsh",)
KEEP_SNAPSHOTS = "7 days"
# The PyPI wheels' extension files, and the name each must be loaded under (its entry point's).
EXTENSIONS = {"ducklake": ("duckdb_extension_ducklake", "ducklake"),
              "sqlite": ("duckdb_extension_sqlite", "sqlite_scanner"),
              "postgres": ("duckdb_extension_postgres", "postgres_scanner")}


@dataclass(frozen=True)
class LakeSettings:
    """Where the lake is: `kind` is 'sqlite' or 'postgres', `catalog` the rest of DuckLake's attach string."""

    kind: str
    catalog: str
    data_path: str

    @property
    def attach_target(self) -> str:
        return f"ducklake:{self.kind}:{self.catalog}"

    def describe(self) -> str:
        """For messages: the catalog without anything that looks like a password."""
        if self.kind == "postgres":
            hidden = " ".join("password=***" if part.lower().startswith("password=") else part
                              for part in self.catalog.split())
            return f"postgres:{hidden}"
        return f"sqlite:{self.catalog}"


def lake_settings(published: str | Path) -> LakeSettings | None:
    """The lake the environment names for the warehouse published at `published`; None: no lake."""
    value = os.environ.get(CATALOG_ENV, "").strip()
    if not value:
        return None
    kind, _, catalog = value.partition(":")
    catalog = catalog.strip()
    if kind not in ("sqlite", "postgres") or not catalog:
        raise WarehouseError(
            f"${CATALOG_ENV}={value!r}: expected 'sqlite:<catalog file>' or 'postgres:<libpq connection string>'"
        )
    folder = Path(published).resolve().parent
    if kind == "sqlite":
        catalog = str((folder / catalog).resolve())
    data_path = os.environ.get(DATA_PATH_ENV, "").strip() or str(folder / "lake")
    if "://" not in data_path:
        data_path = str((folder / data_path).resolve())
    return LakeSettings(kind, catalog, data_path.rstrip("/") + "/")


def load_extensions(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """LOAD DuckLake and its catalog's extension from the installed wheels: nothing is downloaded."""
    for name in ("ducklake", kind):
        con.execute(f"LOAD '{_sql_literal(str(extension_file(name)))}'")


def extension_file(name: str) -> Path:
    """The wheel's file for extension `name` ('ducklake', 'sqlite', 'postgres'), reached through a link
    named after its entry point (DuckDB derives the init function from the file name; the sqlite and
    postgres wheels name theirs differently)."""
    package, entry = EXTENSIONS[name]
    spec = find_spec(package)
    if spec is None or spec.origin is None:
        raise WarehouseError(f"the {package.replace('_', '-')} package is not installed; it carries DuckLake's {name} extension")
    found = sorted(Path(spec.origin).parent.rglob(f"{name}.duckdb_extension"))
    if not found:
        raise WarehouseError(f"{package}: no {name}.duckdb_extension inside the installed package")
    if name == entry:
        return found[-1]
    links = Path(tempfile.gettempdir()) / f"zmot-duckdb-extensions-{os.getuid()}" / duckdb.__version__
    links.mkdir(parents=True, exist_ok=True)
    link = links / f"{entry}.duckdb_extension"
    if not (link.is_symlink() and link.resolve() == found[-1].resolve()):
        temporary = links / f".{entry}.{os.getpid()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(found[-1])
        os.replace(temporary, link)  # atomic: another process may be making the same link
    return link


class NothingPublished(WarehouseError):
    """The lake is reachable (or its SQLite file absent) but no writer has published to it yet."""

    def __init__(self, settings: LakeSettings) -> None:
        super().__init__(f"{settings.describe()}: nothing published to this lake yet; run `zmot demo` or the DAG first")


# DuckLake's wording when a read-only attach finds a catalog database no writer has initialised.
NOT_INITIALISED = "creating a new DuckLake is explicitly disabled"


def attach(con: duckdb.DuckDBPyConnection, settings: LakeSettings, alias: str, *, read_only: bool) -> None:
    """Attach the lake to `con` as `alias`."""
    load_extensions(con, settings.kind)
    if settings.kind == "sqlite" and not read_only and not Path(settings.catalog).exists():
        _new_wal_catalog(Path(settings.catalog))
    options = "READ_ONLY" if read_only else f"DATA_PATH '{_sql_literal(settings.data_path)}'"
    try:
        con.execute(f"ATTACH '{_sql_literal(settings.attach_target)}' AS {alias} ({options})")
    except duckdb.Error as exc:
        if read_only and NOT_INITIALISED in str(exc):
            raise NothingPublished(settings) from exc
        raise WarehouseError(f"{settings.describe()}: cannot attach the lake: {exc}") from exc


def _new_wal_catalog(catalog: Path) -> None:
    """An empty SQLite catalog in WAL mode: in its default mode a reader's open transaction makes the
    writer's commit fail with "database is locked". Only ever done to a file nobody has open: closing
    Python's own SQLite handle on a file would drop the locks DuckDB's SQLite holds on it in this process."""
    catalog.parent.mkdir(parents=True, exist_ok=True)
    sqlite = sqlite3.connect(catalog)
    try:
        sqlite.execute("PRAGMA journal_mode=WAL")
    finally:
        sqlite.close()


def open_lake(settings: LakeSettings, alias: str) -> duckdb.DuckDBPyConnection:
    """A read-only connection on the lake: each query sees the newest published snapshot."""
    if settings.kind == "sqlite" and not Path(settings.catalog).exists():
        raise NothingPublished(settings)
    con = duckdb.connect()
    try:
        attach(con, settings, alias, read_only=True)
        con.execute(f"USE {alias}")
        con.execute("SET TimeZone = 'UTC'")
        if not _tables(con, alias):
            raise NothingPublished(settings)
    except BaseException:
        con.close()
        raise
    return con


def is_published(settings: LakeSettings) -> bool:
    """Whether a writer has published to this lake at least once. A catalog that cannot be reached is
    an error, not a "no": an extract must not take it for a new warehouse and fetch everything again."""
    try:
        open_lake(settings, LAKE_ALIAS).close()
    except NothingPublished:
        return False
    return True


def publish_to_lake(con: duckdb.DuckDBPyConnection, settings: LakeSettings) -> list[str]:
    """Bring the lake, in one transaction, to what the writer's file holds: the tables that differ
    from what was last published, a day at a time where a table has a day column, and the views if
    views.sql changed; the names of what changed.

    `con` is the writer's connection: holding it keeps other writers out, so two publishes never race."""
    writer_db = con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
    attach(con, settings, LAKE_ALIAS, read_only=False)
    try:
        prints = {table: _table_print(con, writer_db, table) for table in _tables(con, writer_db) if table not in WRITER_ONLY}
        prints[VIEWS_ENTRY] = _TablePrint(hashlib.sha256(views().encode()).hexdigest(), None, {WHOLE: ""})
        published = _published(con)
        lake_tables = set(_tables(con, LAKE_ALIAS))
        plans = {name: plan for name, table_print in prints.items()
                 if (plan := _plan(table_print, published.get(name, {}), name in lake_tables or name == VIEWS_ENTRY))}
        gone = sorted(lake_tables - set(prints) - {PUBLISHED_TABLE})
        if not plans and not gone:
            return []
        with transaction(con):
            for name, (rewrite_whole, parts) in plans.items():
                if name != VIEWS_ENTRY:
                    _rewrite(con, writer_db, name, prints[name], rewrite_whole, parts)
            for table in gone:
                con.execute(f'DROP TABLE {LAKE_ALIAS}.main."{table}"')
            if VIEWS_ENTRY in plans or gone:
                con.execute(f"USE {LAKE_ALIAS}")
                try:
                    con.execute(views())
                finally:
                    con.execute(f'USE "{writer_db}"')
            _record(con, prints, plans, gone)
        con.execute(f"CALL ducklake_expire_snapshots('{LAKE_ALIAS}', older_than => now() - INTERVAL '{KEEP_SNAPSHOTS}')")
        con.execute(f"CALL ducklake_cleanup_old_files('{LAKE_ALIAS}', older_than => now() - INTERVAL '{KEEP_SNAPSHOTS}')")
        return sorted([*plans, *gone])
    finally:
        con.execute(f'USE "{writer_db}"')
        con.execute(f"DETACH {LAKE_ALIAS}")


# A table with one of these columns is compared and rewritten a day at a time: a load touches a few
# days of `mentions`, and rewriting the whole table each time grows with the warehouse.
DAY_COLUMNS = ("published_day", "day")
WHOLE = "*"  # the one part of a table without a day column
COLUMNS = "(columns)"  # the part that records a table's columns: when they change, it is rewritten whole


@dataclass(frozen=True)
class _TablePrint:
    """A table's columns, its day column if any, and each part's row count and sum of row hashes
    (a sum, not a XOR, so duplicate rows count)."""

    columns: str
    day_column: str | None
    parts: dict[str, str]


def _day_key(column: str) -> str:
    return f'coalesce(CAST("{column}" AS VARCHAR), \'\')'


def _table_print(con: duckdb.DuckDBPyConnection, database: str, table: str) -> _TablePrint:
    columns = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'main' "
        "AND table_name = ? ORDER BY column_index", [database, table]).fetchall()
    names = {name for name, _ in columns}
    day_column = next((c for c in DAY_COLUMNS if c in names), None)
    key = _day_key(day_column) if day_column else f"'{WHOLE}'"
    parts = con.execute(f'SELECT {key}, count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM "{database}".main."{table}" t '
                        "GROUP BY 1").fetchall()
    found = {part: hashlib.sha256(repr((rows, total)).encode()).hexdigest() for part, rows, total in parts}
    return _TablePrint(hashlib.sha256(repr(columns).encode()).hexdigest(), day_column, found or {WHOLE: "empty"})


def _plan(table_print: _TablePrint, published: dict[str, str], in_lake: bool) -> tuple[bool, list[str]] | None:
    """(rewrite the whole table?, the parts to replace), or None when the lake already holds it."""
    if not in_lake or published.get(COLUMNS) != table_print.columns or table_print.day_column is None:
        whole = not in_lake or published.get(COLUMNS) != table_print.columns or published.get(WHOLE) != table_print.parts.get(WHOLE)
        return (True, list(table_print.parts)) if whole else None
    changed = [part for part, value in table_print.parts.items() if published.get(part) != value]
    gone = [part for part in published if part != COLUMNS and part not in table_print.parts]
    return (False, changed + gone) if changed or gone else None


def _rewrite(con: duckdb.DuckDBPyConnection, database: str, table: str, table_print: _TablePrint,
             whole: bool, parts: list[str]) -> None:
    source, target = f'"{database}".main."{table}"', f'{LAKE_ALIAS}.main."{table}"'
    if whole:
        con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {source}")
        return
    key = _day_key(table_print.day_column or "")
    con.execute(f"DELETE FROM {target} WHERE list_contains(?, {key})", [parts])
    con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM {source} WHERE list_contains(?, {key})", [parts])


def _record(con: duckdb.DuckDBPyConnection, prints: dict[str, _TablePrint], plans: dict[str, tuple[bool, list[str]]],
            gone: list[str]) -> None:
    """Store what was published: each rewritten part's fingerprint, and the columns of each table."""
    con.execute(f"CREATE TABLE IF NOT EXISTS {LAKE_ALIAS}.main.{PUBLISHED_TABLE} "
                "(name VARCHAR, part VARCHAR, fingerprint VARCHAR, published_at TIMESTAMP)")  # UTC, as every table's times
    for table in gone:
        con.execute(f"DELETE FROM {LAKE_ALIAS}.main.{PUBLISHED_TABLE} WHERE name = ?", [table])
    rows = []
    for name, (whole, parts) in plans.items():
        if whole:
            con.execute(f"DELETE FROM {LAKE_ALIAS}.main.{PUBLISHED_TABLE} WHERE name = ?", [name])
        else:
            con.execute(f"DELETE FROM {LAKE_ALIAS}.main.{PUBLISHED_TABLE} WHERE name = ? AND list_contains(?, part)",
                        [name, parts])
        rows += [[name, part, prints[name].parts[part]] for part in parts if part in prints[name].parts]
        if whole:
            rows.append([name, COLUMNS, prints[name].columns])
    if rows:
        con.executemany(f"INSERT INTO {LAKE_ALIAS}.main.{PUBLISHED_TABLE} VALUES (?, ?, ?, now()::TIMESTAMP)", rows)


def _tables(con: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    return [row[0] for row in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' AND NOT temporary "
        "ORDER BY table_name", [database]).fetchall()]


def _published(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """Each published table's parts and their fingerprints, as `_record` stored them."""
    if PUBLISHED_TABLE not in _tables(con, LAKE_ALIAS):
        return {}
    found: dict[str, dict[str, str]] = {}
    for name, part, fingerprint in con.execute(f"SELECT name, part, fingerprint FROM {LAKE_ALIAS}.main.{PUBLISHED_TABLE}").fetchall():
        found.setdefault(name, {})[part] = fingerprint
    return found


def _sql_literal(text: str) -> str:
    return text.replace("'", "''")
