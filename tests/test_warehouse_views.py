"""Views and macros are defined once, in warehouse/sql/views.sql, and every writable open applies them."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb
import pytest

import warehouse.db as db
from warehouse.db import connect, migrations, schema_version
from zmot import analyst

DEFINED = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\s+|TEMPORARY\s+)?(VIEW|MACRO)\s+(\w+)", re.IGNORECASE)


def _definitions(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Each view's and macro's stored SQL, whitespace aside."""
    return [(name, " ".join(sql.split())) for name, sql in db.view_definitions(con)]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_no_migration_defines_a_view_or_a_macro() -> None:
    for _, name, sql in migrations():
        assert not DEFINED.findall(sql), f"{name}: define views and macros in warehouse/sql/views.sql"


def test_a_fresh_warehouse_has_exactly_the_views_and_macros_of_views_sql(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    assert sorted(name for name, _ in _definitions(con)) == sorted(name for _, name in DEFINED.findall(db.views()))
    assert con.execute("SELECT count(*) FROM v_mentions").fetchall() == [(0,)]


@pytest.mark.parametrize("version", [1, 8, 14])
def test_an_upgraded_warehouse_gets_the_same_definitions_as_a_fresh_one(
    version: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh = _definitions(connect(tmp_path / "fresh.duckdb"))
    all_migrations = migrations()
    with monkeypatch.context() as older_code:  # the code as of `version`: its migrations, its views
        older_code.setattr(db, "migrations", lambda: [m for m in all_migrations if m[0] <= version])
        older_code.setattr(db, "views", lambda: "CREATE VIEW v_brand_mentions AS SELECT mention_id, brand FROM mention_refs;")
        old = connect(tmp_path / "old.duckdb")
        assert schema_version(old) == version
        old.close()
    con = connect(tmp_path / "old.duckdb")
    assert schema_version(con) == all_migrations[-1][0]
    assert _definitions(con) == fresh
    assert "cluster_id" in [c[0] for c in con.execute("SELECT * FROM v_brand_mentions").description]


def test_a_view_dropped_by_hand_comes_back_and_an_open_with_nothing_to_change_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    connect(path).close()
    untouched = _digest(path)
    connect(path).close()
    assert _digest(path) == untouched  # so the writer's file is not published again (warehouse/publish.py)
    with duckdb.connect(str(path)) as con:
        con.execute("DROP VIEW v_zmot_picture")
    con = connect(path)
    assert con.execute("SELECT count(*) FROM v_zmot_picture").fetchall() == [(0,)]


def test_read_only_opens_apply_no_views(tmp_path: Path) -> None:
    path = tmp_path / "zmot.duckdb"
    connect(path).close()
    with duckdb.connect(str(path)) as con:
        con.execute("DROP VIEW v_clusters")
    before = _digest(path)
    for reader in (connect(path, read_only=True), analyst.connect(path)):
        assert "v_clusters" not in [name for name, _ in _definitions(reader)]
        assert reader.execute("SELECT count(*) FROM v_mentions").fetchall() == [(0,)]
        reader.close()
    assert _digest(path) == before
