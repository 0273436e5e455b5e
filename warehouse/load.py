"""The single writer's load: one transaction stores a run's mentions, their NLP, cursors, rejects
and the daily signals of the days it touched, so a reader sees all of a run or none of it.

Upsert by stable mention id makes reruns idempotent: an unchanged mention is left exactly as it
was, an edited one (new content hash) replaces its text, NLP and references, a new one is inserted.
`mentions` and `mention_nlp` carry no index on the id (006_loader_keys.sql): this load keeps the ids
unique itself (deduplicated staging rows, an anti-join against `mentions`, and `load_guard` so that
overlapping loads conflict).
A source's cursor is written in the same transaction as its mentions, so it never runs ahead of them,
and an older run that loads after a newer one (two runs at once) never rewinds it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from connectors.records import MentionRow, Reject, SourceState
from nlp.catalog import Brand
from warehouse.cluster_rules import ClusterRules
from warehouse.clusters import assign_clusters
from warehouse.corrections import apply_corrections
from warehouse.db import judge_targets, transaction
from warehouse.signals import recompute_signals_within
from warehouse.tags import tag_mentions


@dataclass(frozen=True)
class StagedRun:
    """Files and records one run left for the loader."""

    run_key: str
    interval_end: datetime
    mention_files: list[Path]
    nlp_files: list[Path]  # one per source, beside its mention file; none when no source staged mentions
    refs_files: list[Path]
    states: list[SourceState]
    rejects: list[Reject]
    sources_ok: list[str]
    sources_failed: list[str]
    catalog: list[Brand] = field(default_factory=list)  # brands as configured, for analyst views
    retracted: list[str] = field(default_factory=list)  # mention ids their source says were deleted
    tag_rules: dict[str, str] = field(default_factory=dict)  # tags.yaml's rules: tag -> query


@dataclass(frozen=True)
class LoadSummary:
    run_key: str
    mentions_new: int
    mentions_updated: int
    rejects: int
    mentions_retracted: int = 0
    days_touched: list[date] = field(default_factory=list)
    signal_rows: int = 0


def load_run(con: duckdb.DuckDBPyConnection, staged: StagedRun, clusters: ClusterRules = ClusterRules()) -> LoadSummary:
    """Store one run atomically; on any error nothing of it is stored and the cursors stay put."""
    with transaction(con):
        summary = _load(con, staged, clusters)
    return summary


# How staged mention rows become `mentions` columns: these renames and casts, and the derived day;
# every other field of the record keeps its name.
_RENAMED = {"language": "declared_language"}
_CAST = {"metadata": "JSON"}


def _staged_as(name: str) -> str:
    cast = f"::{_CAST[name]}" if name in _CAST else ""
    return f"{name}{cast} AS {_RENAMED.get(name, name)}"


_MENTION_COLUMNS = ", ".join([*(_staged_as(f.name) for f in fields(MentionRow)), "published_at::DATE AS published_day"])


def _load(con: duckdb.DuckDBPyConnection, staged: StagedRun, clusters: ClusterRules = ClusterRules()) -> LoadSummary:
    # First statement of the transaction: two loads whose transactions overlap both update this one
    # row, and DuckDB refuses the second, so neither can insert a new id the other inserts too
    # (mentions and mention_nlp have no index that would catch it; see 006_loader_keys.sql).
    con.execute("UPDATE load_guard SET run_key = ? WHERE guard = 1", [staged.run_key])
    files = [str(p) for p in staged.mention_files]
    # The run's mentions, read from the staging files once, one row per id: when two sources
    # staged the same id, the newest fetch wins.
    if files:
        con.execute(f"CREATE OR REPLACE TEMP TABLE incoming AS SELECT {_MENTION_COLUMNS} FROM read_parquet(?, union_by_name = true)", [files])
        if _has_duplicates(con, "incoming", "mention_id"):
            con.execute(
                "CREATE OR REPLACE TEMP TABLE incoming AS SELECT * FROM incoming QUALIFY row_number() OVER "
                "(PARTITION BY mention_id ORDER BY fetched_at DESC, source_id, content_hash) = 1"
            )
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE incoming AS SELECT * EXCLUDE (first_run, last_run) FROM mentions WHERE false")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE changed AS
        SELECT i.mention_id, m.mention_id IS NULL AS is_new, m.published_day AS old_day
        FROM incoming i LEFT JOIN mentions m USING (mention_id)
        WHERE m.mention_id IS NULL OR m.content_hash <> i.content_hash
        """
    )
    new, updated, incoming = con.execute(
        "SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new), (SELECT count(*) FROM incoming) FROM changed"
    ).fetchall()[0]
    # Most runs bring only new mentions: then every incoming row is to be stored and no join is needed.
    # The NLP and reference files are always filtered: only the run's new and edited ids get rows.
    only_changed = " WHERE mention_id IN (SELECT mention_id FROM changed)"
    in_changed = "" if incoming and new + updated == incoming else only_changed
    if updated:  # edits: the row is updated in place, its old NLP, references and targets go
        _keep_first_seen_dates(con)
        for table in ("mention_targets", "mention_refs", "mention_nlp"):
            con.execute(f"DELETE FROM {table} WHERE mention_id IN (SELECT mention_id FROM changed WHERE NOT is_new)")
        con.execute(
            f"""
            UPDATE mentions SET {", ".join(f"{c} = i.{c}" for c in _EDITED)}, last_run = ?
            FROM incoming i
            WHERE mentions.mention_id = i.mention_id
              AND i.mention_id IN (SELECT mention_id FROM changed WHERE NOT is_new)
            """,
            [staged.run_key],
        )
    if new:  # only ids `changed` found absent from mentions: no duplicate can be inserted
        con.execute(
            "INSERT INTO mentions BY NAME SELECT *, ?::VARCHAR AS first_run, ?::VARCHAR AS last_run FROM incoming"
            + ("" if updated == 0 and new == incoming else " WHERE mention_id IN (SELECT mention_id FROM changed WHERE is_new)"),
            [staged.run_key, staged.run_key],
        )
    nlp, nlp_params = _staged_relation(staged.nlp_files, "mention_nlp")
    if _has_duplicates(con, nlp, "mention_id", nlp_params):
        nlp = f"(SELECT * FROM {nlp} QUALIFY row_number() OVER (PARTITION BY mention_id) = 1)"
    # NLP rows and references carry their mention's day (015_nlp_refs_day.sql), taken from the run's mentions.
    con.execute(f"INSERT INTO mention_nlp BY NAME SELECT n.*, i.published_day FROM {nlp} n JOIN incoming i USING (mention_id)"
                f"{only_changed}", nlp_params)
    refs, refs_params = _staged_relation(staged.refs_files, "mention_refs")
    con.execute(f"CREATE OR REPLACE TEMP TABLE new_refs AS SELECT r.*, i.published_day FROM {refs} r "
                f"JOIN incoming i USING (mention_id){only_changed}", refs_params)
    if _has_duplicates(con, "new_refs", "mention_id, ref_index"):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE new_refs AS SELECT * FROM new_refs "
            "QUALIFY row_number() OVER (PARTITION BY mention_id, ref_index) = 1"
        )
    con.execute("INSERT INTO mention_refs BY NAME SELECT * FROM new_refs")
    # Clusters first: each target row takes its mention's cluster number (016_cluster_numbers.sql).
    assign_clusters(con, f"SELECT mention_id, published_at, title, text FROM incoming{in_changed}", clusters)
    judge_targets(con, f"SELECT * FROM incoming{in_changed}", "SELECT * FROM new_refs")
    apply_corrections(con, f"SELECT mention_id FROM incoming{in_changed}")  # an edit or a new model never undoes one
    tag_mentions(con, staged.tag_rules, f"SELECT mention_id FROM incoming{in_changed}")
    retracted_days = _retract(con, staged.retracted)
    days = sorted(
        {
            row[0]
            for row in con.execute(
                f"""
                SELECT DISTINCT published_day FROM incoming{in_changed}
                UNION SELECT old_day FROM changed WHERE old_day IS NOT NULL
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
                [b.name, b.aliases, [p.name for p in b.products], b.competitors]
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
    # A rerun of the same run also re-judges the days its earlier attempt touched: if that attempt's
    # detect or notify never ran (a full disk, a killed worker), the rerun's do, and nothing is lost.
    earlier = con.execute("SELECT days_touched FROM runs WHERE run_key = ?", [staged.run_key]).fetchone()
    if earlier and earlier[0]:
        days = sorted(set(days) | set(earlier[0]))
    signal_rows = recompute_signals_within(con, days)
    summary = LoadSummary(staged.run_key, new, updated, len(staged.rejects), len(retracted_days), days, signal_rows)
    con.execute(
        "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            staged.run_key, staged.interval_end.replace(tzinfo=None), summary.mentions_new,
            summary.mentions_updated, summary.rejects, sorted(staged.sources_ok),
            sorted(staged.sources_failed), days,
        ],
    )
    return summary


# What an edit replaces: every column but the identity and first_run (and the date of an undated
# mention: _keep_first_seen_dates).
_EDITED = tuple(
    column
    for column in (*(_RENAMED.get(f.name, f.name) for f in fields(MentionRow)), "published_day")
    if column not in ("mention_id", "source_kind", "source_id", "native_id")
)


def _keep_first_seen_dates(con: duckdb.DuckDBPyConnection) -> None:
    """An edit never moves a mention whose date was missing, before or now: it keeps its stored date and flag.

    An undated item is dated by the run that first saw it; a later run that sees it edited (or sees
    the date vanish from a dated one) would otherwise move it to its own day.
    """
    con.execute(
        """
        UPDATE incoming SET published_at = m.published_at, published_day = m.published_day, date_missing = m.date_missing
        FROM mentions m
        WHERE incoming.mention_id = m.mention_id AND (m.date_missing OR incoming.date_missing)
          AND incoming.mention_id IN (SELECT mention_id FROM changed WHERE NOT is_new)
        """
    )


def _staged_relation(files: list[Path], table: str) -> tuple[str, list[Any]]:
    """The run's staged NLP or reference files as one relation, and its parameters.

    With no file (every source failed), an empty relation shaped like the staged rows: DuckDB's
    `read_parquet` refuses an empty list, and such a run must still store its rejects and run row.
    """
    if files:
        return "read_parquet(?)", [[str(p) for p in files]]
    return f"(SELECT * EXCLUDE (published_day) FROM {table} WHERE false)", []


def _has_duplicates(con: duckdb.DuckDBPyConnection, relation: str, key: str, params: list[Any] | None = None) -> bool:
    """Whether some key occurs twice in the relation (cheap: one hash aggregate over the key alone)."""
    return bool(con.execute(f"SELECT count(*) > count(DISTINCT ({key})) FROM {relation}", params or []).fetchall()[0][0])


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
    for table in ("mention_tags", "mention_targets", "mention_refs", "mention_nlp", "mention_lsh", "mention_clusters", "mentions"):
        con.execute(f"DELETE FROM {table} WHERE mention_id IN (SELECT mention_id FROM retracted)")
    return days


def _reject_id(run_key: str, reject: Reject) -> str:
    key = "\x1f".join([run_key, reject.source_id, reject.stage, reject.reason, reject.url or "", reject.payload_excerpt])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
