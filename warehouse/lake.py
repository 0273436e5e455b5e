"""DuckLake as the published warehouse: a catalog (a SQLite file, or the deployment's PostgreSQL) and
Parquet files that any number of readers, on any host that sees the files, attach read-only.

The writer keeps its private DuckDB file, because the warehouse leans on what DuckLake lacks
(primary keys behind every upsert, a sequence, RETURNING). After each step it committed, the tables
that step changed are rewritten in the lake in one DuckLake transaction: a reader's query sees the
whole of that step or the snapshot before it, and a reader's open transaction keeps its snapshot
while the writer commits. Old snapshots are kept for `KEEP_SNAPSHOTS` (time travel), then expired.

Set `$ZMOT_LAKE_CATALOG` to use it (unset: the published file copy, warehouse/publish.py):
  sqlite:<file>                   a catalog file; a relative path is read from the warehouse's folder
  postgres:<libpq conninfo>       e.g. `postgres:host=db dbname=zmot_lake user=zmot` (password from
                                  $PGPASSWORD or ~/.pgpass, never from this variable)
`$ZMOT_LAKE_DATA_PATH` names where the Parquet files go (default: `lake/` beside the warehouse file);
every reader must see the same path.
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


def attach(con: duckdb.DuckDBPyConnection, settings: LakeSettings, alias: str, *, read_only: bool) -> None:
    """Attach the lake to `con` as `alias`."""
    load_extensions(con, settings.kind)
    if settings.kind == "sqlite" and not read_only and not Path(settings.catalog).exists():
        _new_wal_catalog(Path(settings.catalog))
    options = "READ_ONLY" if read_only else f"DATA_PATH '{_sql_literal(settings.data_path)}'"
    try:
        con.execute(f"ATTACH '{_sql_literal(settings.attach_target)}' AS {alias} ({options})")
    except duckdb.Error as exc:
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
    nothing_yet = f"{settings.describe()}: nothing published to this lake yet; run `zmot demo` or the DAG first"
    if settings.kind == "sqlite" and not Path(settings.catalog).exists():
        raise WarehouseError(nothing_yet)
    con = duckdb.connect()
    try:
        attach(con, settings, alias, read_only=True)
        con.execute(f"USE {alias}")
        con.execute("SET TimeZone = 'UTC'")
        if not _tables(con, alias):
            raise WarehouseError(nothing_yet)
    except BaseException:
        con.close()
        raise
    return con


def is_published(settings: LakeSettings) -> bool:
    """Whether a writer has published to this lake at least once."""
    try:
        open_lake(settings, LAKE_ALIAS).close()
    except WarehouseError:
        return False
    return True


def publish_to_lake(con: duckdb.DuckDBPyConnection, settings: LakeSettings) -> list[str]:
    """Rewrite in the lake, in one transaction, every table of the writer's file that differs from
    what was last published, and the views if views.sql changed; the names rewritten.

    `con` is the writer's connection: holding it keeps other writers out, so two publishes never race."""
    writer_db = con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
    attach(con, settings, LAKE_ALIAS, read_only=False)
    try:
        fingerprints = {table: _fingerprint(con, writer_db, table) for table in _tables(con, writer_db)}
        fingerprints[VIEWS_ENTRY] = hashlib.sha256(views().encode()).hexdigest()
        published = _published(con)
        changed = [name for name, print_ in fingerprints.items() if published.get(name) != print_]
        gone = [name for name in _tables(con, LAKE_ALIAS) if name not in fingerprints and name != PUBLISHED_TABLE]
        if not changed and not gone:
            return []
        with transaction(con):
            for table in changed:
                if table != VIEWS_ENTRY:
                    con.execute(f'CREATE OR REPLACE TABLE {LAKE_ALIAS}.main."{table}" AS '
                                f'SELECT * FROM "{writer_db}".main."{table}"')
            for table in gone:
                con.execute(f'DROP TABLE {LAKE_ALIAS}.main."{table}"')
            if VIEWS_ENTRY in changed or gone:
                con.execute(f"USE {LAKE_ALIAS}")
                try:
                    con.execute(views())
                finally:
                    con.execute(f'USE "{writer_db}"')
            con.execute(f"CREATE TABLE IF NOT EXISTS {LAKE_ALIAS}.main.{PUBLISHED_TABLE} "
                        "(name VARCHAR, fingerprint VARCHAR, published_at TIMESTAMP)")  # UTC, as every table's times
            con.execute(f"DELETE FROM {LAKE_ALIAS}.main.{PUBLISHED_TABLE} WHERE list_contains(?, name)", [changed + gone])
            con.executemany(f"INSERT INTO {LAKE_ALIAS}.main.{PUBLISHED_TABLE} VALUES (?, ?, now()::TIMESTAMP)",
                            [[name, fingerprints[name]] for name in changed])
        con.execute(f"CALL ducklake_expire_snapshots('{LAKE_ALIAS}', older_than => now() - INTERVAL '{KEEP_SNAPSHOTS}')")
        con.execute(f"CALL ducklake_cleanup_old_files('{LAKE_ALIAS}', older_than => now() - INTERVAL '{KEEP_SNAPSHOTS}')")
        return [name for name in changed + gone]
    finally:
        con.execute(f'USE "{writer_db}"')
        con.execute(f"DETACH {LAKE_ALIAS}")


def _tables(con: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    return [row[0] for row in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' AND NOT temporary "
        "ORDER BY table_name", [database]).fetchall()]


def _fingerprint(con: duckdb.DuckDBPyConnection, database: str, table: str) -> str:
    """The table's columns and the sum of its rows' hashes: a sum, not a XOR, so duplicate rows count."""
    columns = con.execute(
        "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY column_index) FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = 'main' AND table_name = ?", [database, table]).fetchone()
    rows = con.execute(f'SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM "{database}".main."{table}" t').fetchone()
    return hashlib.sha256(repr((columns, rows)).encode()).hexdigest()


def _published(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    if PUBLISHED_TABLE not in _tables(con, LAKE_ALIAS):
        return {}
    return dict(con.execute(f"SELECT name, fingerprint FROM {LAKE_ALIAS}.main.{PUBLISHED_TABLE}").fetchall())


def _sql_literal(text: str) -> str:
    return text.replace("'", "''")
