"""The real DAG, run with dag.test() against feeds on a loopback server: mentions, references and
signals land; bad sources fail alone with a reject row; a rerun changes nothing and uses conditional GET."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from tests.conftest import PROJECT
from tests.feeds_server import Route, serve

FIXTURES = PROJECT / "tests" / "fixtures" / "feeds"
LOGICAL_DATE = datetime(2026, 11, 11, tzinfo=timezone.utc)
DATA_TABLES = ["mentions", "mention_nlp", "mention_refs", "daily_signals", "source_state", "rejects", "alerts", "brands"]

SOURCES = """
http:
  timeout_seconds: 1
  max_retries: 1
  backoff_seconds: 0
sources:
  - {{name: acme-news, kind: rss, url: "{base}/acme.xml"}}
  - {{name: barista-forum, kind: rss, url: "{base}/forum.xml"}}
  - {{name: broken, kind: rss, url: "{base}/broken.xml"}}
  - {{name: html-page, kind: rss, url: "{base}/page.html"}}
  - {{name: truncated, kind: rss, url: "{base}/truncated.xml"}}
  - {{name: too-slow, kind: rss, url: "{base}/slow.xml"}}
"""


def _routes() -> dict[str, Route]:
    acme = (FIXTURES / "acme-news.rss.xml").read_bytes()
    return {
        "/acme.xml": Route(acme, headers={"Content-Type": "application/rss+xml"}),
        "/forum.xml": Route((FIXTURES / "juniper-forum.atom.xml").read_bytes(), headers={"Content-Type": "application/atom+xml"}),
        "/broken.xml": Route(b"upstream exploded", status=500),
        "/page.html": Route(b"<!DOCTYPE html><html><body>Sign in to continue</body></html>", headers={"Content-Type": "text/html"}),
        "/truncated.xml": Route(acme[: acme.index(b"<item>") - 20]),
        "/slow.xml": Route(acme, delay=2.5),
    }


def _snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in DATA_TABLES}
    finally:
        con.close()


def _query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def run_dag(dag_config: Path, tmp_path: Path):
    """Run the real DAG once for LOGICAL_DATE over a config written into tmp_path; returns the run state."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(PROJECT / "dags")).dags["zmot_daily"]

    def run(base_url: str) -> str:
        (dag_config / "sources.yaml").write_text(SOURCES.format(base=base_url))
        return str(dag.test(logical_date=LOGICAL_DATE).state)

    run.warehouse = tmp_path / "data" / "zmot.duckdb"  # type: ignore[attr-defined]
    return run


def test_a_daily_run_stores_mentions_refs_and_signals_and_isolates_bad_sources(run_dag) -> None:
    with serve(_routes()) as server:
        state = run_dag(server.url(""))
    warehouse = run_dag.warehouse
    assert state == "failed"  # four sources failed: the run says so, after storing the rest

    mentions = _query(warehouse, "SELECT source_id, native_id, published_at FROM mentions ORDER BY native_id")
    assert [(s, n) for s, n, _ in mentions] == [
        ("acme-news", "guid-a1"), ("acme-news", "guid-a2"),
        ("barista-forum", "tag:forum.example.net,2026:post-1"),
        ("barista-forum", "tag:forum.example.net,2026:post-2"),
        ("barista-forum", "tag:forum.example.net,2026:post-3"),
    ]
    assert mentions[0][2] == datetime(2026, 11, 10, 8, 15)  # +0100 normalised to UTC
    text = _query(warehouse, "SELECT text FROM mentions WHERE native_id = 'guid-a1'")[0][0]
    assert "Acme Mobile" in text and "<b>" not in text and "alert(1)" not in text and "& support" in text

    refs = _query(warehouse, "SELECT m.native_id, r.brand, r.product FROM mention_refs r JOIN mentions m USING (mention_id) ORDER BY ALL")
    assert ("guid-a2", "Acme Mobile", "Acme Unlimited") in refs
    assert ("tag:forum.example.net,2026:post-1", "Juniper", "Juniper Brew One") in refs
    assert not [r for r in refs if r[0].endswith("post-2")]  # "Juniper berries" is vetoed

    german = _query(warehouse, "SELECT n.language, n.sentiment_label FROM mention_nlp n JOIN mentions m USING (mention_id) WHERE m.native_id LIKE '%post-3'")
    assert german == [("de", "unscored")]

    signals = _query(warehouse, "SELECT day, mentions FROM daily_signals WHERE brand = 'Acme Mobile' AND product = '*' AND source_kind = '*'")
    assert signals == [(datetime(2026, 11, 10).date(), 2)]

    rejects = dict(_query(warehouse, "SELECT source_id, reason FROM rejects"))
    assert rejects == {"broken": "http_500", "html-page": "not_a_feed", "truncated": "malformed_feed", "too-slow": "timeout"}
    failed = _query(warehouse, "SELECT sources_failed FROM runs")[0][0]
    assert sorted(failed) == ["broken", "html-page", "too-slow", "truncated"]
    cursors = _query(warehouse, "SELECT source_id FROM source_state ORDER BY 1")
    assert cursors == [("acme-news",), ("barista-forum",)]  # failed sources keep no cursor


def test_rerunning_the_same_date_changes_nothing_and_sends_conditional_gets(run_dag) -> None:
    with serve(_routes()) as server:
        run_dag(server.url(""))
        first = _snapshot(run_dag.warehouse)
        run_dag(server.url(""))
        second = _snapshot(run_dag.warehouse)
        acme_requests = server.requests_for("/acme.xml")
    assert second == first
    assert len(acme_requests) == 2
    assert "If-None-Match" not in acme_requests[0].headers
    assert acme_requests[1].headers.get("If-None-Match", "").startswith('"')
    assert acme_requests[1].headers.get("If-Modified-Since")


def test_a_run_with_no_source_enabled_still_loads_its_run_row(dag_config: Path) -> None:
    """enrich mapped over no source is skipped; the load and the steps after it run all the same."""
    from airflow.dag_processing.dagbag import DagBag

    (dag_config / "sources.yaml").write_text("sources: []\n")
    run = DagBag(dag_folder=str(PROJECT / "dags")).dags["zmot_daily"].test(logical_date=LOGICAL_DATE)
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states["enrich"] == "skipped" and states["load"] == states["notify"] == states["finish"] == "success"
    assert _query(dag_config.parent / "data" / "zmot.duckdb", "SELECT sources_ok, sources_failed FROM runs") == [([], [])]
