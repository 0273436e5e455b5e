"""Readers never block the writer: the writer keeps a private file, and after each step it committed
a consistent copy of it is published where analysts open the warehouse.

The published copy is written beside its final name, synced, then renamed over it in one step.
A reader that opened the previous copy keeps its open file and so its snapshot, without error;
a connection opened after the rename sees the new run; nobody ever sees half of one. The writer
never takes a lock on the published file, so an analyst holding it open delays nothing.

Layout, for the configured warehouse path `data/zmot.duckdb`:
  data/zmot.duckdb          the published copy: what every reader opens
  data/writer/zmot.duckdb   the writer's file: only load, detect, notify and `zmot migrate` open it

With `$ZMOT_LAKE_CATALOG` set, the published form is a DuckLake instead of the copy (warehouse/lake.py):
readers on other hosts attach it, and each query sees the newest published step.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from warehouse.db import WarehouseError, connect
from warehouse.lake import LakeSettings, is_published, lake_settings, open_lake, publish_to_lake

log = logging.getLogger(__name__)

WRITER_FOLDER = "writer"
READER_CATALOG = "zmot"
# A step that changed nothing (detect without new alerts, notify with nothing to send) leaves the
# writer's file untouched, and then is not copied again; its modification time tells, but only once
# it is older than the file system's timestamp granularity at the moment we look.
TIMESTAMP_MARGIN_NS = 2_000_000_000


def writer_file(published: str | Path) -> Path:
    """The writer's private file for the warehouse readers know as `published`."""
    published = Path(published)
    return published.parent / WRITER_FOLDER / published.name


@contextlib.contextmanager
def writer(published: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The writer's connection; once the block ends without error, what it committed is published.

    The first writer open of a warehouse from before this layout makes that file the writer's
    (`adopt_single_file`); migrations run on the writer's file as on any writable open.
    """
    published = Path(published)
    adopt_single_file(published)
    source = writer_file(published)
    con = connect(source)
    try:
        yield con
        publish(con, source, published)
    finally:
        con.close()


def publish(con: duckdb.DuckDBPyConnection, source: Path, published: Path) -> None:
    """Publish the writer's committed file: copy it to the published path atomically, or into the lake.

    `con` is the writer's open connection on `source`: holding it keeps every other writer out
    while the bytes are copied, and its CHECKPOINT puts every committed change into the file itself.
    """
    con.execute("CHECKPOINT")
    wal = source.with_name(source.name + ".wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise WarehouseError(f"{source}: the checkpoint left a write-ahead log behind; not publishing a partial copy")
    written = _identity(source)
    lake = lake_settings(published)
    if _already_published(source, _target(published, lake), written):
        log.info("%s is unchanged since it was published; nothing to publish", source)
        return
    if lake is not None:
        rewritten = publish_to_lake(con, lake)
        log.info("published to the lake %s: %s", lake.describe(), ", ".join(rewritten) or "nothing had changed")
    else:
        _replace_with_copy(source, published)
        # A log beside the published path could only come from someone writing to an earlier copy; DuckDB
        # would replay it onto this one.
        published.with_name(published.name + ".wal").unlink(missing_ok=True)
        log.info("published %s (%d bytes)", published, published.stat().st_size)
    _record_published(source, _target(published, lake), written)


def published_exists(published: str | Path) -> bool:
    """Whether readers have a warehouse to open: the published copy, or a lake published to at least once."""
    lake = lake_settings(published)
    return is_published(lake) if lake is not None else Path(published).exists()


def published_name(published: str | Path) -> str:
    """Where readers find the warehouse, for messages: the published file, or the lake's catalog."""
    lake = lake_settings(published)
    return f"the lake {lake.describe()}" if lake is not None else str(published)


def has_warehouse(published: str | Path) -> bool:
    """Whether there is a warehouse to write to: the writer's file, a published one, or a single file
    from before the split (which the first writer open adopts)."""
    return writer_file(published).exists() or Path(published).exists() or published_exists(published)


def _target(published: Path, lake: LakeSettings | None) -> list[int] | str:
    """What the writer's file was published to: the copy's file identity, or the lake's catalog."""
    if lake is not None:
        return lake.describe()
    try:
        return _identity(published)[:2]
    except OSError:
        return []


def _identity(path: Path) -> list[int]:
    stat = os.stat(path)
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns]


def _record(source: Path) -> Path:
    return source.with_name(source.name + ".published")


def _already_published(source: Path, target: list[int] | str, written: list[int]) -> bool:
    """What readers open was published from the writer's file as it is now."""
    try:
        record = json.loads(_record(source).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        target != [] and record.get("writer") == written and record.get("published") == target
        and record.get("seen_at_ns", 0) - written[3] > TIMESTAMP_MARGIN_NS
    )


def _record_published(source: Path, target: list[int] | str, written: list[int]) -> None:
    record = {"writer": written, "published": target, "seen_at_ns": time.time_ns()}
    _record(source).write_text(json.dumps(record), encoding="utf-8")


def adopt_single_file(published: str | Path) -> bool:
    """A warehouse from before the split (one file that the writer and analysts shared, at the
    published path) becomes the writer's file, every row and cursor with it. True if it did.

    The file is copied, not moved, while a read-only connection on it keeps writers of the old
    layout out; analysts holding it open go on reading it until the first publish replaces it.
    """
    published = Path(published)
    target = writer_file(published)
    if target.exists() or not published.exists():
        return False
    wal = published.with_name(published.name + ".wal")
    if wal.exists() and wal.stat().st_size > 0:  # last closed uncleanly: fold its log in first
        con = connect(published)
        con.execute("CHECKPOINT")
        con.close()
    holder = connect(published, read_only=True)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.adopting")
        _copy_synced(published, staging)
        try:
            os.link(staging, target)  # never replaces a writer file another process adopted meanwhile
        except FileExistsError:
            return False
        finally:
            staging.unlink(missing_ok=True)
        _sync_folder(target.parent)
    finally:
        holder.close()
    log.info("warehouse %s adopted as the writer's file %s", published, target)
    return True


def open_published(published: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection on the newest published copy.

    It attaches the file in a DuckDB instance of its own: `duckdb.connect(path)` would hand back an
    instance this process already holds on an older copy, and with it that copy's snapshot.
    """
    lake = lake_settings(published)
    if lake is not None:
        return open_lake(lake, READER_CATALOG)
    path = Path(published).resolve()
    if not path.exists():
        raise WarehouseError(f"{path}: no warehouse here yet; run `zmot demo` or the DAG first")
    con = duckdb.connect()
    try:
        _attach(con, path)
    except duckdb.Error as exc:
        con.close()
        raise WarehouseError(f"{path}: cannot open the warehouse: {exc}") from exc
    return con


def refresh(con: duckdb.DuckDBPyConnection) -> None:
    """Move a connection from `open_published` on to the newest published copy (the next run's data)."""
    path = con.execute("SELECT path, type FROM duckdb_databases() WHERE database_name = ?", [READER_CATALOG]).fetchone()
    if path is None:
        raise WarehouseError("not a connection from open_published / analyst.connect(); reconnect instead")
    if path[1] == "ducklake":
        return  # a lake's next query already reads the newest snapshot
    con.execute("USE memory")
    con.execute(f"DETACH {READER_CATALOG}")
    _attach(con, Path(path[0]))


def _attach(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    literal = str(path).replace("'", "''")
    con.execute(f"ATTACH '{literal}' AS {READER_CATALOG} (READ_ONLY)")
    con.execute(f"USE {READER_CATALOG}")
    con.execute("SET TimeZone = 'UTC'")


def _replace_with_copy(source: Path, published: Path) -> None:
    """Write the copy under a temporary name in the published folder, sync it, rename it over the old one.

    Writers are serialised (the caller holds the writer's file), so one fixed temporary name is safe,
    and a copy left by a killed publish is simply written over.
    """
    published.parent.mkdir(parents=True, exist_ok=True)
    temporary = published.with_name(f".{published.name}.publishing")
    _copy_synced(source, temporary)
    os.replace(temporary, published)
    _sync_folder(published.parent)


def _copy_synced(source: Path, target: Path) -> None:
    try:
        shutil.copyfile(source, target)
        with open(target, "rb+") as out:
            os.fsync(out.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _sync_folder(folder: Path) -> None:
    """Make a rename durable: the folder's entry is what a crash could otherwise lose."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
