"""Warehouse files written by DuckDB 2.0.1, which zmot used before it pinned DuckDB 1.5.5 for the
DuckLake extensions (issue 16). DuckDB 1.5.5 cannot read them, and only a 2.x DuckDB can write them out
in the older format, so `zmot migrate` converts them with DuckDB 2.0.1 run in its own process by uv.
The conversion copies every table, view and macro, and the converted file must hold as many rows as
the original in every table before it replaces it; the original is kept beside it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from warehouse.db import TOO_NEW, WarehouseError

log = logging.getLogger(__name__)

NEWER_DUCKDB = "duckdb==2.0.1"
BACKUP_SUFFIX = ".duckdb-2.0.1"
# Run by DuckDB 2.0.1: copy the database into a file in 1.5's format; print each table's row count.
CONVERT = """
import json, sys, duckdb
source, target = sys.argv[1:3]
con = duckdb.connect()
con.execute("ATTACH ? AS source (READ_ONLY)", [source])
con.execute("ATTACH ? AS target (STORAGE_VERSION 'v1.5.0')", [target])
con.execute("COPY FROM DATABASE source TO target")
tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'source'").fetchall()]
print(json.dumps({t: con.execute(f'SELECT count(*) FROM source.main."{t}"').fetchone()[0] for t in tables}))
"""


def is_too_new(path: Path) -> bool:
    """Whether this DuckDB cannot read the file because a newer one wrote it."""
    if not path.exists():
        return False
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.IOException as exc:
        return TOO_NEW in str(exc)
    return False


def convert_too_new(paths: list[Path]) -> list[Path]:
    """Convert each of these files that a newer DuckDB wrote; the ones converted."""
    converted = []
    for path in paths:
        if is_too_new(path):
            convert(path)
            converted.append(path)
    return converted


def convert(path: Path) -> None:
    """Rewrite `path` in the format this DuckDB reads, keeping the original as `<path>.duckdb-2.0.1`."""
    uv = _uv()
    target = path.with_name(f".{path.name}.converting")
    target.unlink(missing_ok=True)
    log.info("%s was written by a newer DuckDB: converting it with %s", path, NEWER_DUCKDB)
    done = subprocess.run([uv, "run", "--no-project", "--quiet", "--with", NEWER_DUCKDB, "python", "-c", CONVERT,
                           str(path), str(target)], capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        raise WarehouseError(f"{path}: converting with {NEWER_DUCKDB} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    expected = json.loads(done.stdout.strip().splitlines()[-1])
    with duckdb.connect(str(target), read_only=True) as con:
        found = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in expected}  # type: ignore[index]
    if found != expected:
        target.unlink(missing_ok=True)
        raise WarehouseError(f"{path}: the converted copy's row counts {found} differ from the original's {expected}")
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    os.replace(path, backup)
    os.replace(target, path)
    log.info("%s converted (%d tables); the original is kept as %s", path, len(expected), backup)


def _uv() -> str:
    """uv beside this Python (the project's venv has it) or on PATH."""
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    if found is None:
        raise WarehouseError(
            f"converting a warehouse written by DuckDB 2 needs uv (pip install uv) to run {NEWER_DUCKDB}; "
            "or convert it by hand with DuckDB 2.0.1: ATTACH the file READ_ONLY, ATTACH a new file with "
            "(STORAGE_VERSION 'v1.5.0'), COPY FROM DATABASE, and put the new file in its place"
        )
    return found
