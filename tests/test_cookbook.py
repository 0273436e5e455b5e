"""Every cookbook query in docs/warehouse.md runs against a warehouse the demo built."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from zmot.analyst import run_query
from zmot.cli import main

# The demo's sources are clean: nothing is rejected, so this question has no answer there.
MAY_BE_EMPTY_ON_THE_DEMO = {"What went wrong lately: rejects by source and reason"}
QUERIES = re.findall(r"^### ([^\n]+)\n```sql\n(.*?)```", (PROJECT / "docs" / "warehouse.md").read_text(), re.S | re.M)


def test_the_cookbook_has_a_dozen_questions() -> None:
    assert len(QUERIES) >= 12


@pytest.mark.parametrize(("title", "sql"), QUERIES, ids=[t for t, _ in QUERIES])
def test_each_cookbook_query_runs(demo_warehouse: Path, title: str, sql: str) -> None:
    columns, rows = run_query(demo_warehouse, sql)
    assert columns
    if title not in MAY_BE_EMPTY_ON_THE_DEMO:
        assert rows, f"{title}: no rows on the demo warehouse"


def test_the_demo_leaves_an_alert_email_in_the_outbox(demo_warehouse: Path) -> None:
    emails = list((demo_warehouse.parent / "outbox").glob("*.eml"))
    assert len(emails) == 1
    assert b"Acme Mobile" in emails[0].read_bytes()


def test_export_writes_every_table_as_parquet_partitioned_by_day(demo_warehouse: Path, tmp_path: Path, capsys) -> None:
    import duckdb

    assert main(["export", "--warehouse", str(demo_warehouse), "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in (tmp_path / "mentions").iterdir())[0] == "published_day=2026-09-28"
    con = duckdb.connect()
    exported = con.execute(f"SELECT count(*) FROM read_parquet('{tmp_path}/mentions/*/*.parquet', hive_partitioning = true)").fetchall()
    stored = run_query(demo_warehouse, "SELECT count(*) FROM mentions")[1]
    assert exported == stored
    assert (tmp_path / "brands.parquet").exists()
    assert "daily_signals" in capsys.readouterr().out


def test_sql_can_write_parquet_with_bound_parameters(demo_warehouse: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "acme.parquet"
    query = "SELECT day, negative FROM daily_signals WHERE brand = ? AND product = '*' AND source_kind = '*'"
    assert main(["sql", "--warehouse", str(demo_warehouse), "--format", "parquet", "--output", str(out), "--param", "Acme Mobile", query]) == 0
    table = pq.read_table(out)
    assert table.column_names == ["day", "negative"] and table.num_rows > 30
    assert main(["sql", "--warehouse", str(demo_warehouse), "--format", "parquet", query]) == 1  # no --output


def test_the_demo_reads_reddit_offline_posts_and_comments_with_their_brands(demo_warehouse: Path) -> None:
    _, rows = run_query(
        demo_warehouse,
        "SELECT metadata->>'kind' AS kind, count(*) FROM mentions WHERE source_kind = 'reddit' GROUP BY 1 ORDER BY 1",
    )
    counts = dict(rows)
    assert counts.get("post", 0) > 20 and counts.get("comment", 0) > 100
    _, brands = run_query(
        demo_warehouse, "SELECT DISTINCT brand FROM v_brand_mentions WHERE source_kind = 'reddit' ORDER BY 1"
    )
    assert {"Acme Mobile", "Kettleworks", "Juniper"} <= {b for (b,) in brands}
    _, crossposts = run_query(demo_warehouse, "SELECT count(*) FROM mentions WHERE metadata->>'crosspost_of' IS NOT NULL")
    assert crossposts[0][0] == 1


def test_the_demo_stores_reviews_with_ratings_as_signals_and_implicit_product_references(demo_warehouse: Path) -> None:
    _, rows = run_query(
        demo_warehouse,
        "SELECT count(*), count(rating), min(rating), max(rating) FROM mentions WHERE source_kind = 'reviews'",
    )
    assert rows[0] == (18, 18, 0.0, 1.0)
    _, implicit = run_query(
        demo_warehouse,
        "SELECT product, count(*) FROM mention_refs WHERE implicit GROUP BY 1 ORDER BY 1",
    )
    assert implicit == [("Acme Nova", 6), ("Kettleworks K2", 12)]
    _, one_star = run_query(
        demo_warehouse,
        "SELECT DISTINCT sentiment_label FROM v_target_mentions WHERE source_kind = 'reviews' AND rating = 0",
    )
    assert one_star == [("negative",)]  # a one-star review is negative whatever its text says
    _, signals = run_query(
        demo_warehouse,
        "SELECT sum(rating_count), round(sum(avg_rating * rating_count) / sum(rating_count), 3) FROM daily_signals "
        "WHERE product = 'Kettleworks K2' AND source_kind = 'reviews'",
    )
    assert signals[0][0] == 12 and 0.5 < signals[0][1] < 0.7
