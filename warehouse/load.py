"""The single writer's load: one transaction stores a run's mentions, their NLP, cursors, rejects
and the daily signals of the days it touched, so a reader sees all of a run or none of it.

Upsert by stable mention id makes reruns idempotent: an unchanged mention is left exactly as it
was, an edited one (new content hash) replaces its text, NLP and references, a new one is inserted.
A source's cursor is written in the same transaction as its mentions, so it never runs ahead of them,
and an older run that loads after a newer one (two runs at once) never rewinds it.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from connectors.records import Reject, SourceState
from warehouse.db import judge_targets
from warehouse.signals import recompute_signals_within


@dataclass(frozen=True)
class StagedRun:
    """Files and records one run left for the loader."""

    run_key: str
    interval_end: datetime
    mention_files: list[Path]
    nlp_file: Path
    refs_file: Path
    states: list[SourceState]
    rejects: list[Reject]
    sources_ok: list[str]
    sources_failed: list[str]
    catalog: list[dict[str, Any]] = field(default_factory=list)  # brands as configured, for analyst views
    retracted: list[str] = field(default_factory=list)  # mention ids their source says were deleted


@dataclass(frozen=True)
class LoadSummary:
    run_key: str
    mentions_new: int
    mentions_updated: int
    rejects: int
    mentions_retracted: int = 0
    days_touched: list[date] = field(default_factory=list)
    signal_rows: int = 0


def load_run(con: duckdb.DuckDBPyConnection, staged: StagedRun) -> LoadSummary:
    """Store one run atomically; on any error nothing of it is stored and the cursors stay put."""
    con.execute("BEGIN TRANSACTION")
    try:
        summary = _load(con, staged)
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.TransactionException):  # a failed COMMIT (disk full) already ended it
            con.execute("ROLLBACK")
        raise
    return summary


def _load(con: duckdb.DuckDBPyConnection, staged: StagedRun) -> LoadSummary:
    files = [str(p) for p in staged.mention_files]
    if files:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE incoming AS "
            "SELECT * FROM read_parquet(?, union_by_name = true) "
            "QUALIFY row_number() OVER (PARTITION BY mention_id ORDER BY fetched_at DESC, source_id) = 1",
            [files],
        )
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE incoming AS SELECT * FROM mentions WHERE false")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE changed AS
        SELECT i.mention_id, m.mention_id IS NULL AS is_new, m.published_day AS old_day
        FROM incoming i LEFT JOIN mentions m USING (mention_id)
        WHERE m.mention_id IS NULL OR m.content_hash <> i.content_hash
        """
    )
    counts = con.execute("SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new) FROM changed").fetchall()[0]
    if counts[1]:  # edits: their old NLP and references go; new mentions have none to delete
        for table in ("mention_refs", "mention_nlp"):
            con.execute(f"DELETE FROM {table} WHERE mention_id IN (SELECT mention_id FROM changed WHERE NOT is_new)")
    con.execute(
        f"""
        INSERT INTO mentions BY NAME
        SELECT i.mention_id, i.source_kind, i.source_id, i.native_id, i.url, i.author, i.title, i.text,
               i.published_at, i.published_at::DATE AS published_day, i.fetched_at,
               i.language AS declared_language, i.rating, i.metadata::JSON AS metadata, i.raw, i.content_hash,
               ? AS first_run, ? AS last_run
        FROM incoming i JOIN changed c USING (mention_id)
        {_ON_EDIT if counts[1] else ""}
        """,
        [staged.run_key, staged.run_key],
    )
    con.execute(
        "INSERT INTO mention_nlp BY NAME SELECT n.* FROM read_parquet(?) n JOIN changed USING (mention_id)",
        [str(staged.nlp_file)],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE new_refs AS SELECT r.* FROM read_parquet(?) r JOIN changed USING (mention_id)",
        [str(staged.refs_file)],
    )
    con.execute("INSERT INTO mention_refs BY NAME SELECT * FROM new_refs")
    if counts[1]:
        con.execute("DELETE FROM mention_targets WHERE mention_id IN (SELECT mention_id FROM changed WHERE NOT is_new)")
    judge_targets(
        con,
        "SELECT i.*, i.published_at::DATE AS published_day FROM incoming i JOIN changed USING (mention_id)",
        "SELECT * FROM new_refs",
    )
    retracted_days = _retract(con, staged.retracted)
    days = sorted(
        {
            row[0]
            for row in con.execute(
                """
                SELECT i.published_at::DATE FROM incoming i JOIN changed USING (mention_id)
                UNION ALL SELECT old_day FROM changed WHERE old_day IS NOT NULL
                """
            ).fetchall()
        }
        | set(retracted_days)
    )
    for state in staged.states:
        con.execute(
            "INSERT INTO source_state VALUES (?, ?, ?, ?) ON CONFLICT (source_id) DO UPDATE SET "
            "source_kind = excluded.source_kind, state = excluded.state, updated_run = excluded.updated_run "
            "WHERE source_state.state::VARCHAR <> excluded.state::VARCHAR "
            "AND source_state.updated_run <= excluded.updated_run",  # an older run loading late never rewinds a cursor
            [state.source_id, state.source_kind, state.to_json(), staged.run_key],
        )
    if staged.catalog:
        con.execute("DELETE FROM brands")
        con.executemany(
            "INSERT INTO brands VALUES (?, ?, ?, ?)",
            [
                [b["name"], b.get("aliases", []), [p["name"] for p in b.get("products", [])], b.get("competitors", [])]
                for b in staged.catalog
            ],
        )
    for reject in staged.rejects:
        con.execute(
            "INSERT INTO rejects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [
                _reject_id(staged.run_key, reject), staged.run_key, reject.source_id, reject.source_kind,
                reject.stage, reject.reason, reject.message, reject.url, reject.payload_excerpt,
            ],
        )
    signal_rows = recompute_signals_within(con, days)
    summary = LoadSummary(staged.run_key, counts[0], counts[1], len(staged.rejects), len(retracted_days), days, signal_rows)
    con.execute(
        "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            staged.run_key, staged.interval_end.replace(tzinfo=None), summary.mentions_new,
            summary.mentions_updated, summary.rejects, sorted(staged.sources_ok),
            sorted(staged.sources_failed), days,
        ],
    )
    return summary


_ON_EDIT = """
    ON CONFLICT (mention_id) DO UPDATE SET
        url = excluded.url, author = excluded.author, title = excluded.title, text = excluded.text,
        published_at = excluded.published_at, published_day = excluded.published_day,
        fetched_at = excluded.fetched_at, declared_language = excluded.declared_language,
        rating = excluded.rating, metadata = excluded.metadata, raw = excluded.raw,
        content_hash = excluded.content_hash, last_run = excluded.last_run
"""


def _retract(con: duckdb.DuckDBPyConnection, mention_ids: list[str]) -> list[date]:
    """Forget mentions their authors deleted; returns the days whose signals must be recomputed."""
    if not mention_ids:
        return []
    con.execute("CREATE OR REPLACE TEMP TABLE retracted AS SELECT unnest(?::VARCHAR[]) AS mention_id", [mention_ids])
    days = [
        row[0]
        for row in con.execute(
            "SELECT published_day FROM mentions WHERE mention_id IN (SELECT mention_id FROM retracted)"
        ).fetchall()
    ]
    for table in ("mention_targets", "mention_refs", "mention_nlp", "mentions"):
        con.execute(f"DELETE FROM {table} WHERE mention_id IN (SELECT mention_id FROM retracted)")
    return days


def _reject_id(run_key: str, reject: Reject) -> str:
    key = "\x1f".join([run_key, reject.source_id, reject.stage, reject.reason, reject.url or "", reject.payload_excerpt])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
