"""A warehouse written by DuckDB 2.0.1 (zmot's engine before issue 16 pinned 1.5.5 for DuckLake) is
converted by `zmot migrate`, every row, cursor, view and macro kept; until then, opening it says what to do.

DuckDB 2.0.1 comes from the package index through uv, as `zmot migrate` gets it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.test_analyst_access import _all_tables
from warehouse.db import WarehouseError, connect
from warehouse.engine_upgrade import BACKUP_SUFFIX, NEWER_DUCKDB, is_too_new
from warehouse.publish import writer_file
from zmot import analyst
from zmot.cli import main

WRITE_AS_2 = """
import sys, duckdb
con = duckdb.connect()
con.execute("ATTACH ? AS source (READ_ONLY)", [sys.argv[1]])
con.execute("ATTACH ? AS target", [sys.argv[2]])
con.execute("COPY FROM DATABASE source TO target")
"""


def run_duckdb_2(script: str, *args: str) -> subprocess.CompletedProcess:
    uv = Path(sys.executable).with_name("uv")
    return subprocess.run([str(uv), "run", "--no-project", "--quiet", "--with", NEWER_DUCKDB, "python", "-c", script, *args],
                          capture_output=True, text=True, timeout=600)


def test_zmot_migrate_converts_a_duckdb_2_warehouse_whole(demo_warehouse: Path, tmp_path: Path, capsys) -> None:
    if run_duckdb_2("import duckdb").returncode != 0:
        pytest.skip(f"{NEWER_DUCKDB} cannot be fetched here (no package index)")
    legacy = tmp_path / "data" / "zmot.duckdb"
    legacy.parent.mkdir()
    made = run_duckdb_2(WRITE_AS_2, str(demo_warehouse), str(legacy))
    assert made.returncode == 0, made.stderr
    assert is_too_new(legacy) and not is_too_new(demo_warehouse)
    with pytest.raises(WarehouseError, match="written by a newer DuckDB.*`zmot migrate` converts it"):
        connect(legacy)
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        before = _all_tables(con)
        views = con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1").fetchall()

    assert main(["migrate", "--warehouse", str(legacy)]) == 0
    assert "converted" in capsys.readouterr().out
    assert legacy.with_name(legacy.name + BACKUP_SUFFIX).exists()  # the original, kept
    with duckdb.connect(str(writer_file(legacy)), read_only=True) as con:
        assert _all_tables(con) == before
    reader = analyst.connect(legacy)
    assert _all_tables(reader) == before and before["source_state"]
    assert reader.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1").fetchall() == views
    assert main(["migrate", "--warehouse", str(legacy)]) == 0  # again: nothing to convert
    assert "converted" not in capsys.readouterr().out
